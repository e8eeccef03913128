/**
 * Names of a tenant's objects. Anything referred to by name (ServiceAccounts in config.toml, the
 * ConfigMap in the pod spec, the token Secret) gets its name here, so a rename is one change and
 * never a dangling reference. In a namespace of its own a tenant's objects need no prefix; in the
 * shared namespace (variant 2) every name starts with the tenant name.
 */
export function objectNames(prefix: string) {
  return {
    /** Put in front of every name: empty, or `<tenant>-` in the shared namespace. */
    prefix,
    managerServiceAccount: `${prefix}gitlab-runner`,
    jobServiceAccount: `${prefix}gitlab-runner-jobs`,
    role: `${prefix}gitlab-runner`,
    roleBinding: `${prefix}gitlab-runner`,
    configMap: `${prefix}gitlab-runner-config`,
    workload: `${prefix}gitlab-runner`,
    podMonitor: `${prefix}gitlab-runner`,
    prometheusRule: `${prefix}gitlab-runner`,
    resourceQuota: `${prefix}gitlab-runner-jobs`,
    limitRange: `${prefix}gitlab-runner-jobs`,
    priorityClass: `${prefix}gitlab-runner`,
    tokenSecret: `${prefix}gitlab-runner-tokens`,
    kanikoPushSecret: `${prefix}kaniko-push-credentials`,
    /** Deployment, Service and ServiceAccount of the Kaniko cache registry (cache.kaniko.mode s3). */
    cacheRegistry: `${prefix}kaniko-cache-registry`,
    cacheRegistryConfigMap: `${prefix}kaniko-cache-registry-config`,
  } as const;
}

// Plain data (no functions), so a resolved tenant can be sent to a worker thread.
export type ObjectNames = ReturnType<typeof objectNames>;

/** A NetworkPolicy's name for this tenant (policies have fixed names, prefixed like everything else). */
export function networkPolicyName(names: ObjectNames, name: string): string {
  return `${names.prefix}${name}`;
}

/** Names in a namespace of the tenant's own. */
export const names = objectNames('');

/** Port of the Kaniko cache registry Service and container (the distribution registry's default). */
export const CACHE_REGISTRY_PORT = 5000;

/**
 * `host:port` of a tenant's Kaniko cache registry, as job pods reach it. `<service>.<namespace>.svc`
 * resolves through every pod's DNS search path without assuming the cluster domain.
 */
export function cacheRegistryHost(namespace: string, objectNamesOfTenant: ObjectNames = names): string {
  return `${objectNamesOfTenant.cacheRegistry}.${namespace}.svc:${CACHE_REGISTRY_PORT}`;
}

/** Environment variable that carries a runner's token into config.toml (`token = "${...}"`). */
export function runnerTokenEnv(runner: string): string {
  return `RUNNER_TOKEN_${runner.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
