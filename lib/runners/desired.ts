/**
 * The runners `npm run runners` manages, derived from the loaded configuration: every runner with a
 * `registration` block, with the description that identifies it in GitLab and the place its token
 * must be stored (the same Secret, key and remote key the synth makes the runner read).
 */
import type { Registration } from '../config/schema-registration';
import type { ClusterConfig, TenantConfig } from '../model/resolve';
import { requiredSecrets, runnerTokenKey } from '../model/secrets';

/** Prefix of every description this command gives a runner; GitLab shows it in the runner list. */
export const DESCRIPTION_PREFIX = 'tenant-runners:';

export interface TokenLocation {
  /** The tenant's token Secret in its manager namespace (the shared namespace in that variant). */
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  /** With `secrets.source: externalSecret`: where External Secrets Operator reads the value from. */
  readonly remoteRef?: { readonly key: string; readonly property: string };
}

export interface DesiredRunner {
  readonly cluster?: string;
  readonly tenant: string;
  readonly runner: string;
  /** `tenant-runners:[<cluster>/]<tenant>/<runner>`: how the command finds the runner again. */
  readonly description: string;
  readonly registration: Registration;
  readonly token: TokenLocation;
  /** The runner manager workload, which reads its tokens once, at start. */
  readonly manager: { readonly namespace: string; readonly kind: 'Deployment' | 'DaemonSet'; readonly name: string };
}

/** `[<cluster>/]<tenant>/<runner>`, for messages. */
export function runnerLabel(r: { cluster?: string; tenant: string; runner: string }): string {
  return `${r.cluster !== undefined ? `${r.cluster}/` : ''}${r.tenant}/${r.runner}`;
}

export function runnerDescription(cluster: string | undefined, tenant: string, runner: string): string {
  return `${DESCRIPTION_PREFIX}${runnerLabel({ cluster, tenant, runner })}`;
}

/** The managed runners of one tenant, in configuration order. */
export function desiredRunners(cluster: string | undefined, tenant: TenantConfig): DesiredRunner[] {
  const layout = tenant.layout;
  const [tokens] = requiredSecrets(tenant, tenant.kanikoPushSecretName, { manager: layout.managerNamespace, jobs: layout.jobNamespace });
  return tenant.runners.flatMap((runner) => {
    if (runner.registration === undefined) return [];
    const key = runnerTokenKey(runner);
    const remoteRef = tokens!.keys.find((k) => k.key === key)?.remoteRef;
    return [{
      ...(cluster !== undefined ? { cluster } : {}),
      tenant: tenant.name,
      runner: runner.name,
      description: runnerDescription(cluster, tenant.name, runner.name),
      registration: runner.registration,
      token: { namespace: layout.managerNamespace, name: tenant.tokenSecretName, key, ...(remoteRef ? { remoteRef } : {}) },
      manager: { namespace: layout.managerNamespace, kind: layout.workloadKind, name: layout.names.workload },
    }];
  });
}

/** Every managed runner of the given clusters; `unmanaged` counts runners without `registration`. */
export function desiredFromClusters(clusters: readonly ClusterConfig[]): { runners: DesiredRunner[]; unmanaged: string[] } {
  const runners: DesiredRunner[] = [];
  const unmanaged: string[] = [];
  for (const c of clusters) {
    for (const t of c.tenants) {
      runners.push(...desiredRunners(c.cluster, t));
      for (const r of t.runners) if (r.registration === undefined) unmanaged.push(runnerLabel({ cluster: c.cluster, tenant: t.name, runner: r.name }));
    }
  }
  return { runners, unmanaged };
}
