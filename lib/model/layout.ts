/**
 * Where a tenant's objects live for the chosen architecture (docs/architectures.md):
 *
 * | variant              | manager namespace | job namespace              | names          | workload   |
 * | namespacePerTenant   | <tenant>          | <tenant> or <tenant>-build | unprefixed     | Deployment |
 * | sharedNamespace      | shared            | shared                     | <tenant>-…     | Deployment |
 * | daemonSet            | <tenant>          | <tenant> or <tenant>-build | unprefixed     | DaemonSet  |
 */
import type { Platform } from '../config/schema';
import { objectNames, ObjectNames } from './names';

export type Variant = Platform['architecture']['variant'];

export interface TenantLayout {
  readonly variant: Variant;
  /** All managers share one namespace (variant 2). */
  readonly shared: boolean;
  /** Job pods run in `<tenant>-build`, apart from the manager and its tokens. */
  readonly separateBuildNamespace: boolean;
  readonly managerNamespace: string;
  readonly jobNamespace: string;
  readonly names: ObjectNames;
  readonly workloadKind: 'Deployment' | 'DaemonSet';
}

export function tenantLayout(platform: Platform, tenant: { name: string; separateBuildNamespace?: boolean }): TenantLayout {
  const { variant } = platform.architecture;
  const shared = variant === 'sharedNamespace';
  const separateBuildNamespace = !shared && (tenant.separateBuildNamespace ?? platform.architecture.separateBuildNamespace);
  const managerNamespace = shared ? platform.architecture.sharedNamespace : tenant.name;
  return {
    variant,
    shared,
    separateBuildNamespace,
    managerNamespace,
    jobNamespace: separateBuildNamespace ? `${tenant.name}-build` : managerNamespace,
    names: objectNames(shared ? `${tenant.name}-` : ''),
    workloadKind: variant === 'daemonSet' ? 'DaemonSet' : 'Deployment',
  };
}

/** What the synth says about a weaker architecture before it writes anything. */
export function architectureWarnings(platform: Platform): string[] {
  if (platform.architecture.variant !== 'sharedNamespace') return [];
  return [
    `warning: architecture.variant sharedNamespace puts every tenant's runner manager and jobs in namespace ` +
      `'${platform.architecture.sharedNamespace}'. Roles cannot be limited to one tenant's pods or Secrets there: each tenant's ` +
      'runner can read every Secret (all runner tokens) and exec into every job pod in that namespace. Use namespacePerTenant ' +
      'unless all tenants trust each other (README, "Architectures").',
  ];
}
