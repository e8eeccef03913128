/**
 * ResourceQuota and LimitRange arithmetic: how much a tenant's jobs and managers may use, from
 * `concurrent`, the configured container sizes and the number of managers. Plain functions.
 * https://kubernetes.io/docs/concepts/policy/resource-quotas/
 * https://kubernetes.io/docs/concepts/policy/limit-range/
 */
import { k8s } from 'cdk8s-plus-28';
import type { TenantConfig } from '../model/resolve';
import { ContainerResources, Platform } from '../config/schema';
import { formatCpu, formatMemory, parseQuantity } from '../config/quantity';

/** The containers of one job of a runner: build, helper and each service. */
export interface JobResources {
  readonly build: ContainerResources;
  readonly helper: ContainerResources;
  readonly service: ContainerResources;
}

/** What sizes a tenant's job quota. */
export interface JobSizing {
  /** Jobs one manager runs at once (config.toml `concurrent`). */
  readonly concurrent: number;
  /** Service containers budgeted per job. */
  readonly servicesPerJob: number;
  /** The job sizes of every runner; the largest counts. */
  readonly jobs: readonly JobResources[];
}

/** The job sizing of a configured tenant. */
export function jobSizing(tenant: TenantConfig): JobSizing {
  return { concurrent: tenant.concurrent, servicesPerJob: tenant.quota.servicesPerJob, jobs: tenant.runners.map((r) => r.resources) };
}

/**
 * Container defaults and maximum of a namespace. Defaults only apply to containers that set
 * nothing (the runner sets every job container); the maximum is the largest configured limit.
 */
export function limitRangeSpec(containers: readonly ContainerResources[], defaults: ContainerResources): k8s.LimitRangeSpec {
  const max = (key: 'cpu' | 'memory') => Math.max(...containers.map((res) => parseQuantity(res.limits[key])));
  return {
    limits: [{
      type: 'Container',
      default: { cpu: k8s.Quantity.fromString(defaults.limits.cpu), memory: k8s.Quantity.fromString(defaults.limits.memory) },
      defaultRequest: { cpu: k8s.Quantity.fromString(defaults.requests.cpu), memory: k8s.Quantity.fromString(defaults.requests.memory) },
      max: { cpu: k8s.Quantity.fromString(formatCpu(max('cpu'))), memory: k8s.Quantity.fromString(formatMemory(max('memory'))) },
    }],
  };
}

/** The build container with the largest memory limit: the default for containers that set nothing. */
export function largestBuild(tenants: readonly { readonly runners: readonly { readonly resources: { readonly build: ContainerResources } }[] }[]): ContainerResources {
  return largestOf(tenants.flatMap((t) => t.runners.map((r) => r.resources.build)));
}

/** The container with the largest memory limit. */
export function largestOf(containers: readonly ContainerResources[]): ContainerResources {
  return containers.reduce((best, item) => (parseQuantity(item.limits.memory) > parseQuantity(best.limits.memory) ? item : best));
}

/** Every container of these jobs (build, helper, service of each), plus the cache registry when given. */
export function jobContainers(jobs: readonly JobResources[], registryResources?: ContainerResources): ContainerResources[] {
  const containers = jobs.flatMap((r) => [r.build, r.helper, r.service]);
  if (registryResources) containers.push(registryResources);
  return containers;
}

/**
 * Quota for a tenant's jobs: `concurrent` jobs of the largest configured size (build + helper +
 * `servicesPerJob` services) per manager, plus the Kaniko cache registry (given only in
 * cache.kaniko.mode s3). No LoadBalancer or NodePort Services: nothing in a runner namespace is
 * exposed outside the cluster.
 */
export function computeJobQuota(sizing: JobSizing, managers = 1, registryResources?: ContainerResources): Record<string, string> {
  const jobSize = (r: JobResources, side: 'requests' | 'limits', key: 'cpu' | 'memory') =>
    parseQuantity(r.build[side][key]) + parseQuantity(r.helper[side][key]) + sizing.servicesPerJob * parseQuantity(r.service[side][key]);
  // The Kaniko cache registry (cache.kaniko.mode s3) is one more long-running pod next to the jobs.
  const registry = registryResources;
  const total = (side: 'requests' | 'limits', key: 'cpu' | 'memory') =>
    managers * sizing.concurrent * Math.max(...sizing.jobs.map((r) => jobSize(r, side, key))) + (registry ? parseQuantity(registry[side][key]) : 0);
  return quotaEntries(managers * sizing.concurrent + (registry ? 1 : 0), total);
}

/** Quota for the runner manager pods themselves. */
export function computeManagerQuota(managerResources: ContainerResources, managers = 1): Record<string, string> {
  const total = (side: 'requests' | 'limits', key: 'cpu' | 'memory') => managers * parseQuantity(managerResources[side][key]);
  return quotaEntries(managers, total);
}

type Totals = (side: 'requests' | 'limits', key: 'cpu' | 'memory') => number;

/** The ResourceQuota `hard` entries for a pod count and resource totals (cores, bytes). */
function quotaEntries(pods: number, total: Totals): Record<string, string> {
  return {
    'pods': String(pods),
    'requests.cpu': formatCpu(total('requests', 'cpu')),
    'limits.cpu': formatCpu(total('limits', 'cpu')),
    'requests.memory': formatMemory(total('requests', 'memory')),
    'limits.memory': formatMemory(total('limits', 'memory')),
    'services.loadbalancers': '0',
    'services.nodeports': '0',
  };
}

/** The quota of a configured tenant's jobs and manager in one namespace. */
export function computeQuota(platform: Platform, tenant: TenantConfig, managers = 1): Record<string, string> {
  const registry = tenant.cache.kaniko.mode === 's3' ? platform.kaniko.cacheRegistry.resources : undefined;
  return addQuotas(computeJobQuota(jobSizing(tenant), managers, registry), computeManagerQuota(platform.runner.resources, managers));
}

/** Two quotas in one namespace. */
export function addQuotas(a: Record<string, string>, b: Record<string, string>): Record<string, string> {
  const key = (side: 'requests' | 'limits', resource: 'cpu' | 'memory') => `${side}.${resource}`;
  return quotaEntries(Number(a.pods) + Number(b.pods), (side, resource) => parseQuantity(a[key(side, resource)]) + parseQuantity(b[key(side, resource)]));
}

/** Computed `hard` entries with the configured overrides (tenant `quota.hard`) replacing them. */
export function withOverrides(computed: Record<string, string>, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...computed, ...overrides };
}

/** The final `hard` entries: computed ones replaced by the configured overrides, sorted by key. */
export function quotaHard(computed: Record<string, string>, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const merged = withOverrides(computed, overrides);
  return Object.fromEntries(Object.keys(merged).sort().map((key) => [key, merged[key]]));
}

/**
 * The only resources a ResourceQuota scoped by PriorityClass may limit: the API server rejects any
 * other standard resource with "unsupported scope applied to resource"
 * (k8s.io/kubernetes pkg/apis/core/helper IsResourceQuotaScopeValidForResource).
 */
export const PRIORITY_CLASS_SCOPED_RESOURCES: readonly string[] = ['pods', 'cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/**
 * `hard` entries split for the shared namespace: what a PriorityClass-scoped quota may hold
 * (`scoped`) and every other entry (`unscoped`: Service limits, other overrides), key order kept.
 */
export function splitByPriorityClassScope(hard: Record<string, string>): { scoped: Record<string, string>; unscoped: Record<string, string> } {
  const scoped = (key: string) => PRIORITY_CLASS_SCOPED_RESOURCES.includes(key);
  const pick = (keep: (key: string) => boolean) => Object.fromEntries(Object.entries(hard).filter(([key]) => keep(key)));
  return { scoped: pick(scoped), unscoped: pick((key) => !scoped(key)) };
}
