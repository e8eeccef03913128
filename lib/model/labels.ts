/**
 * Label keys and label sets, defined once. NetworkPolicies, the PodMonitor and the Deployment
 * selector all select pods by these, so they must come from one place.
 */

/** Tenant a pod or object belongs to. */
export const TENANT_LABEL = 'tenant-runners.io/tenant';
/**
 * `manager` for the runner manager pod, `job` for job pods (build, helper and service containers),
 * `cache-registry` for the Kaniko cache registry (cache.kaniko.mode s3).
 */
export const ROLE_LABEL = 'tenant-runners.io/role';
/** Runner (the [[runners]] name) that created a job pod. */
export const RUNNER_LABEL = 'tenant-runners.io/runner';

export type PodRole = 'manager' | 'job' | 'cache-registry';

/** Labels on every object of a tenant. */
export function tenantLabels(tenant: string): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'tenant-runners',
    'app.kubernetes.io/part-of': 'tenant-runners',
    [TENANT_LABEL]: tenant,
  };
}

/** The labels that select a tenant's pods of one role; used in selectors, so keep it minimal. */
export function podSelectorLabels(tenant: string, role: PodRole): Record<string, string> {
  return { [TENANT_LABEL]: tenant, [ROLE_LABEL]: role };
}

export function managerPodLabels(tenant: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'gitlab-runner',
    'app.kubernetes.io/instance': tenant,
    'app.kubernetes.io/component': 'manager',
    ...podSelectorLabels(tenant, 'manager'),
  };
}

export function cacheRegistryPodLabels(tenant: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'kaniko-cache-registry',
    'app.kubernetes.io/instance': tenant,
    'app.kubernetes.io/component': 'cache-registry',
    ...podSelectorLabels(tenant, 'cache-registry'),
  };
}

/** Labels the runner puts on every job pod through config.toml `pod_labels`. */
export function jobPodLabels(tenant: string, runner: string): Record<string, string> {
  return { ...podSelectorLabels(tenant, 'job'), [RUNNER_LABEL]: runner };
}

/** Label Kubernetes puts on every namespace (1.21+); NetworkPolicies select namespaces by it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
