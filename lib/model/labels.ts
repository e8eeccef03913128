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

/** `app.kubernetes.io/managed-by`: the tool that writes an object. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** `app.kubernetes.io/part-of`: the application an object belongs to. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
/** Value of the managed-by and part-of labels. */
export const APP_NAME = 'tenant-runners';

/** Labels on every object this project writes that belongs to no tenant (the shared namespace). */
export function projectLabels(): Record<string, string> {
  return { [MANAGED_BY_LABEL]: APP_NAME, [PART_OF_LABEL]: APP_NAME };
}

/** Labels of the delivery objects (Argo CD / Flux): managed-by only. */
export function managedByLabels(): Record<string, string> {
  return { [MANAGED_BY_LABEL]: APP_NAME };
}

/** Labels on every object of a tenant. */
export function tenantLabels(tenant: string): Record<string, string> {
  return { ...projectLabels(), [TENANT_LABEL]: tenant };
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

/** Pod Security Admission levels this project enforces on namespaces. */
export type PodSecurityLevel = 'baseline' | 'restricted';

/** Pod Security Admission labels of a namespace, pinned to the 1.28 rules. */
export function podSecurityLabels(enforce: PodSecurityLevel): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': enforce,
    'pod-security.kubernetes.io/enforce-version': 'v1.28',
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/warn-version': 'v1.28',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/audit-version': 'v1.28',
  };
}

/** Label Kubernetes puts on every namespace (1.21+); NetworkPolicies select namespaces by it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
