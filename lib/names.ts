/**
 * Names of the objects in a tenant namespace. Anything referred to by name (ServiceAccounts in
 * config.toml, the ConfigMap in the Deployment, the token Secret) gets its name here, so a
 * rename is one change and never a dangling reference.
 */
export const names = {
  managerServiceAccount: 'gitlab-runner',
  jobServiceAccount: 'gitlab-runner-jobs',
  role: 'gitlab-runner',
  roleBinding: 'gitlab-runner',
  configMap: 'gitlab-runner-config',
  deployment: 'gitlab-runner',
  podMonitor: 'gitlab-runner',
  resourceQuota: 'gitlab-runner-jobs',
  limitRange: 'gitlab-runner-jobs',
  /** Deployment, Service and ServiceAccount of the Kaniko cache registry (cache.kaniko.mode s3). */
  cacheRegistry: 'kaniko-cache-registry',
  cacheRegistryConfigMap: 'kaniko-cache-registry-config',
} as const;

/** Port of the Kaniko cache registry Service and container (the distribution registry's default). */
export const CACHE_REGISTRY_PORT = 5000;

/**
 * `host:port` of a tenant's Kaniko cache registry, as job pods reach it. `<service>.<namespace>.svc`
 * resolves through every pod's DNS search path without assuming the cluster domain.
 */
export function cacheRegistryHost(namespace: string): string {
  return `${names.cacheRegistry}.${namespace}.svc:${CACHE_REGISTRY_PORT}`;
}

/** Environment variable that carries a runner's token into config.toml (`token = "${...}"`). */
export function runnerTokenEnv(runner: string): string {
  return `RUNNER_TOKEN_${runner.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
