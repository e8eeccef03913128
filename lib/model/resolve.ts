/**
 * The resolved model: one pure step after validation derives everything that follows from a
 * tenant's configuration and the platform (where its objects live, their names, the Kaniko cache
 * repository, the Secrets it reads). Rules, constructs, renderers and scripts all read these
 * values from here, so no name has two sources.
 */
import type { Platform, Tenant } from '../config/schema';
import { TenantLayout, tenantLayout } from './layout';
import { cacheRegistryHost } from './names';
import type { ExtraObject } from './extra-objects';
import { RunnerImages, runnerImages } from './runner-version';
import { TenantNetwork, tenantNetwork } from './enterprise-network';

/** A tenant as everything after the loader consumes it: validated, defaulted and resolved. Plain data. */
export interface TenantConfig extends Tenant {
  /** The file the tenant came from, for messages. */
  readonly file: string;
  /** Namespaces, object names and workload kind in the platform's architecture. */
  readonly layout: TenantLayout;
  /** Registry repository Kaniko uses as `--cache-repo`. */
  readonly kanikoCacheRepo: string;
  /** Secret with the runner tokens (`tokenSecretName`, or the architecture's default name). */
  readonly tokenSecretName: string;
  /** `kubernetes.io/dockerconfigjson` Secret Kaniko pushes with (prefixed in the shared namespace). */
  readonly kanikoPushSecretName: string;
  /** The tenant's own manifests from `<tenant>/extra/` (docs/extra-objects.md), validated; unset when it has none. */
  readonly extraObjects?: readonly ExtraObject[];
  /** gitlab-runner version, manager and helper images, node architecture (lib/model/runner-version.ts). */
  readonly runnerImages: RunnerImages;
  /** The CA bundle and proxy in effect, with NO_PROXY computed (lib/model/enterprise-network.ts). */
  readonly network: TenantNetwork;
}

/** A cluster's validated and resolved configuration (what the loader returns). */
export interface LoadedConfig {
  readonly platform: Platform;
  /** Sorted by name, so output order never depends on the file system. */
  readonly tenants: readonly TenantConfig[];
}

/** One cluster's configuration; `cluster` is unset for the single-cluster layout. */
export interface ClusterConfig extends LoadedConfig {
  readonly cluster?: string;
}

/** Derives a tenant's layout, names, cache repository, Secret names, runner images and the CA bundle and proxy in effect, once. */
export function resolveTenant(platform: Platform, tenant: Tenant, file: string): TenantConfig {
  const layout = tenantLayout(platform, tenant);
  return {
    ...tenant,
    file,
    layout,
    kanikoCacheRepo: kanikoCacheRepo(platform, tenant, layout),
    tokenSecretName: tenant.tokenSecretName ?? layout.names.tokenSecret,
    kanikoPushSecretName: layout.names.kanikoPushSecret,
    runnerImages: runnerImages(platform.runner, { runnerVersion: tenant.runnerVersion, architecture: tenant.nodes.architecture }),
    network: tenantNetwork(platform, tenant, layout),
  };
}

/**
 * Kaniko's `--cache-repo`: in `registry` mode the configured repo or `<registry.host>/<tenant>/cache`
 * (a project per tenant); in `s3` mode the tenant's own cache registry Service, next to its job pods.
 */
function kanikoCacheRepo(platform: Platform, tenant: Tenant, layout: TenantLayout): string {
  if (tenant.cache.kaniko.mode === 's3') return `${cacheRegistryHost(layout.jobNamespace, layout.names)}/cache`;
  return tenant.cache.kaniko.repo ?? `${platform.registry.host}/${tenant.name}/cache`;
}
