import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { TenantConfig } from '../model/resolve';
import { ContainerResources, Platform } from '../config/schema';
import { NAMESPACE_NAME_LABEL, podSelectorLabels, tenantLabels } from '../model/labels';
import { TenantLayout } from '../model/layout';
import { ObjectNames, networkPolicyName } from '../model/names';
import { formatCpu, formatMemory, parseQuantity } from '../config/quantity';
import { exceptsFor, LINK_LOCAL_CIDRS } from '../model/network';

/** Port of the runner manager's Prometheus endpoint (`listen_address`). */
export const METRICS_PORT = 9252;

/**
 * Where a tenant's pods may run, derived once from the tenant's `nodes`. The manager pod's
 * nodeSelector/tolerations and config.toml's `node_selector`/`node_tolerations` are both rendered
 * from this one object, so the two can never drift apart.
 */
export class TenantScheduling {
  constructor(private readonly nodes: TenantConfig['nodes']) {}

  /** Pod `nodeSelector`: every label of the tenant's nodes. */
  public get nodeSelector(): Record<string, string> {
    return sortedRecord(this.nodes.labels);
  }

  /**
   * Pod `tolerations`: exactly the tenant's taints, nothing broader. Always operator Equal: a
   * taint value is required, since `Exists` would tolerate every tenant's taint of that key.
   */
  public get tolerations(): k8s.Toleration[] {
    return this.nodes.taints.map((taint) => ({ key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect }));
  }

  /**
   * config.toml `node_tolerations`: `"key=value" = "Effect"` (operator Equal), as the Kubernetes
   * executor parses them (https://docs.gitlab.com/runner/executors/kubernetes/#configure-pod-tolerations).
   */
  public get runnerNodeTolerations(): Record<string, string> {
    return Object.fromEntries(this.nodes.taints.map((taint) => [`${taint.key}=${taint.value}`, taint.effect]));
  }
}

export interface TenantIsolationProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
}

type PodSecurityLevel = 'baseline' | 'restricted';

/**
 * The isolation boundary of one tenant: its Namespace(s) with Pod Security labels,
 * NetworkPolicies (default deny, then DNS, runner manager and job egress, metrics ingress from the
 * monitoring namespace only), ResourceQuota and LimitRange sized from `concurrent` and the job
 * sizes, and the layout and scheduling objects the runner uses for its manager and job pods.
 *
 * Variant 1 owns `<tenant>` (plus `<tenant>-build` with `separateBuildNamespace`, where the
 * manager namespace enforces `restricted`). Variant 2 shares one namespace, emitted once by
 * SharedNamespaceChart; here only the tenant's own policies, a PriorityClass and a quota scoped to
 * it are defined. Variant 3 is laid out like variant 1 with a manager per node.
 */
export class TenantIsolation extends Construct {
  public readonly layout: TenantLayout;
  /** Namespace of the runner manager (its token Secret, ConfigMap and workload). */
  public readonly namespace: string;
  /** Namespace the runner creates job pods in. */
  public readonly jobNamespace: string;
  public readonly names: ObjectNames;
  public readonly scheduling: TenantScheduling;
  /** PriorityClass of the tenant's pods in the shared namespace, which scopes its quota. */
  public readonly priorityClassName?: string;

  constructor(scope: Construct, id: string, props: TenantIsolationProps) {
    super(scope, id);
    const { platform, tenant } = props;
    this.layout = tenant.layout;
    this.namespace = this.layout.managerNamespace;
    this.jobNamespace = this.layout.jobNamespace;
    this.names = this.layout.names;
    this.scheduling = new TenantScheduling(tenant.nodes);

    if (this.layout.shared) {
      this.priorityClassName = this.names.priorityClass;
      new k8s.KubePriorityClass(this, 'PriorityClass', {
        metadata: { name: this.priorityClassName },
        // Exists only to scope the tenant's quota in the shared namespace: default priority, and
        // it never preempts anybody.
        value: 0,
        preemptionPolicy: 'Never',
        globalDefault: false,
        description: `Pods of tenant ${tenant.name} in the shared runner namespace (quota scope)`,
      });
    } else if (this.layout.separateBuildNamespace) {
      // The manager holds the runner tokens: nothing in its namespace runs as root.
      this.addNamespace('Namespace', this.namespace, tenant, 'restricted');
      this.addNamespace('BuildNamespace', this.jobNamespace, tenant, 'baseline');
    } else {
      // Kaniko job containers run as root with added capabilities: baseline is the strictest level
      // they pass. warn/audit at restricted make every other deviation visible.
      this.addNamespace('Namespace', this.namespace, tenant, 'baseline');
    }

    this.addNetworkPolicies(platform, tenant);
    this.addQuotas(platform, tenant);
  }

  /** Every namespace this tenant owns (none in the shared variant). */
  public get ownNamespaces(): string[] {
    if (this.layout.shared) return [];
    return [...new Set([this.namespace, this.jobNamespace])];
  }

  private addNamespace(id: string, name: string, tenant: TenantConfig, enforce: PodSecurityLevel): void {
    new k8s.KubeNamespace(this, id, { metadata: { name, labels: { ...tenantLabels(tenant.name), ...podSecurityLabels(enforce) } } });
  }

  private addNetworkPolicies(platform: Platform, tenant: TenantConfig): void {
    const policy = (id: string, name: string, namespace: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, id, { metadata: { name: networkPolicyName(this.names, name), namespace }, spec });
    const manager = { matchLabels: podSelectorLabels(tenant.name, 'manager') };
    const jobs = { matchLabels: podSelectorLabels(tenant.name, 'job') };
    // Every ipBlock excepts the cluster networks, link-local and the API server where it contains them.
    const blocked = blockedRanges(platform);
    const gitlab = egressTo(platform.gitlab.egressCidrs, [httpsPort(platform.gitlab.url)], 'TCP', blocked);
    const s3 = egressTo(platform.s3.egressCidrs, platform.s3.egressPorts, 'TCP', blocked);

    for (const [i, namespace] of this.ownNamespaces.entries()) {
      const suffix = i === 0 ? '' : 'Build';
      policy(`DefaultDeny${suffix}`, 'default-deny-all', namespace, defaultDenySpec());
      policy(`AllowDns${suffix}`, 'allow-dns', namespace, dnsEgressSpec(platform));
    }
    // The manager polls GitLab, creates job pods through the API server, and signs cache URLs
    // (with IRSA it also calls STS, which sits behind the S3/STS addresses).
    policy('ManagerEgress', 'runner-manager-egress', this.namespace, {
      podSelector: manager,
      policyTypes: ['Egress'],
      egress: [
        gitlab, egressTo(platform.kubernetes.apiServerCidrs, platform.kubernetes.apiServerPorts, 'TCP', blockedRanges(platform, false)), s3,
        // EKS Pod Identity: the SDK fetches credentials from the node's Pod Identity Agent
        // (link-local, port 80), which the default deny would block.
        // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
        ...(tenant.cache.s3.auth.type === 'podIdentity' ? [egressTo([EKS_POD_IDENTITY_AGENT_CIDR], [80])] : []),
      ],
    });
    // Job pods clone from GitLab, upload artifacts and cache (presigned S3 URLs), and push images.
    policy('JobEgress', 'runner-jobs-egress', this.jobNamespace, {
      podSelector: jobs,
      policyTypes: ['Egress'],
      egress: [
        gitlab,
        egressTo(platform.registry.egressCidrs, platform.registry.egressPorts, 'TCP', blocked),
        s3,
        ...tenant.egress.extra.map((extra) => egressTo([extra.cidr], extra.ports, extra.protocol, blocked)),
      ],
    });
    // GitLab never calls into the cluster (runners poll); the only ingress is Prometheus scraping.
    policy('MetricsIngress', 'allow-metrics-from-monitoring', this.namespace, {
      podSelector: manager,
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: platform.monitoring.namespace } } }],
        ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
      }],
    });
  }

  private addQuotas(platform: Platform, tenant: TenantConfig): void {
    const managers = this.layout.workloadKind === 'DaemonSet' ? tenant.nodes.maxNodes : 1;
    const jobs = computeJobQuota(tenant, managers, platform.kaniko.cacheRegistry.resources);
    const manager = computeManagerQuota(platform, managers);
    // `hard` already holds the tenant's quota.hard overrides (withOverrides).
    const quota = (id: string, namespace: string, hard: Record<string, string>, scopeSelector?: k8s.ScopeSelector, name: string = this.names.resourceQuota) =>
      new k8s.KubeResourceQuota(this, id, {
        metadata: { name, namespace },
        spec: { hard: mapValues(sortedRecord(hard), (v) => k8s.Quantity.fromString(v)), scopeSelector },
      });
    const withOverrides = (hard: Record<string, string>) => ({ ...hard, ...tenant.quota.hard });
    const jobContainers = tenant.runners.flatMap((r) => [r.resources.build, r.resources.helper, r.resources.service]);
    if (tenant.cache.kaniko.mode === 's3') jobContainers.push(platform.kaniko.cacheRegistry.resources);

    if (this.layout.shared) {
      // One namespace, many tenants: a quota can only be told apart by a scope. The PriorityClass
      // of the tenant's manager and job pods is that scope. The API server accepts a scoped quota
      // only on pod count, CPU and memory ("unsupported scope applied to resource"), so every other
      // entry (no NodePort/LoadBalancer Services, other quota.hard overrides) goes to a second,
      // unscoped quota, which holds for the whole shared namespace.
      const hard = withOverrides(addQuotas(jobs, manager));
      const scoped = (key: string) => PRIORITY_CLASS_SCOPED_RESOURCES.includes(key);
      quota('ResourceQuota', this.namespace, filterKeys(hard, scoped), {
        matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [this.priorityClassName!] }],
      });
      quota('UnscopedResourceQuota', this.namespace, filterKeys(hard, (key) => !scoped(key)), undefined, `${this.names.resourceQuota}-unscoped`);
    } else if (this.layout.separateBuildNamespace) {
      quota('ResourceQuota', this.jobNamespace, withOverrides(jobs));
      this.addLimitRange('LimitRange', this.jobNamespace, jobContainers, largestBuild([tenant]));
      quota('ManagerResourceQuota', this.namespace, withOverrides(manager));
      this.addLimitRange('ManagerLimitRange', this.namespace, [platform.runner.resources], platform.runner.resources);
    } else {
      quota('ResourceQuota', this.namespace, withOverrides(addQuotas(jobs, manager)));
      this.addLimitRange('LimitRange', this.namespace, [...jobContainers, platform.runner.resources], largestBuild([tenant]));
    }
  }

  private addLimitRange(id: string, namespace: string, containers: readonly ContainerResources[], defaults: ContainerResources): void {
    new k8s.KubeLimitRange(this, id, { metadata: { name: this.names.limitRange, namespace }, spec: limitRangeSpec(containers, defaults) });
  }
}

/** Pod Security Admission labels, pinned to the 1.28 rules. */
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

export function defaultDenySpec(): k8s.NetworkPolicySpec {
  return { podSelector: {}, policyTypes: ['Ingress', 'Egress'] };
}

export function dnsEgressSpec(platform: Platform): k8s.NetworkPolicySpec {
  return {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{
      to: [{
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: platform.kubernetes.dns.namespace } },
        podSelector: { matchLabels: platform.kubernetes.dns.podLabels },
      }],
      ports: [
        { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
        { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
      ],
    }],
  };
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
export function largestBuild(tenants: readonly TenantConfig[]): ContainerResources {
  return maxBy(tenants.flatMap((t) => t.runners.map((r) => r.resources.build)), (res) => parseQuantity(res.limits.memory));
}

/**
 * Quota for a tenant's jobs: `concurrent` jobs of the largest configured size (build + helper +
 * `servicesPerJob` services) per manager, plus the Kaniko cache registry in `s3` mode. No
 * LoadBalancer or NodePort Services: nothing in a runner namespace is exposed outside the cluster.
 */
export function computeJobQuota(tenant: TenantConfig, managers = 1, registryResources?: ContainerResources): Record<string, string> {
  const jobSize = (r: TenantConfig['runners'][number], side: 'requests' | 'limits', key: 'cpu' | 'memory') =>
    parseQuantity(r.resources.build[side][key]) +
    parseQuantity(r.resources.helper[side][key]) +
    tenant.quota.servicesPerJob * parseQuantity(r.resources.service[side][key]);
  // The Kaniko cache registry (cache.kaniko.mode s3) is one more long-running pod next to the jobs.
  const registry = tenant.cache.kaniko.mode === 's3' ? registryResources : undefined;
  const total = (side: 'requests' | 'limits', key: 'cpu' | 'memory') =>
    managers * tenant.concurrent * Math.max(...tenant.runners.map((r) => jobSize(r, side, key))) + (registry ? parseQuantity(registry[side][key]) : 0);
  return quotaEntries(managers * tenant.concurrent + (registry ? 1 : 0), total);
}

/** Quota for the runner manager pods themselves. */
export function computeManagerQuota(platform: Platform, managers = 1): Record<string, string> {
  const total = (side: 'requests' | 'limits', key: 'cpu' | 'memory') => managers * parseQuantity(platform.runner.resources[side][key]);
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

/**
 * The only resources a ResourceQuota scoped by PriorityClass may limit: the API server rejects any
 * other standard resource with "unsupported scope applied to resource"
 * (k8s.io/kubernetes pkg/apis/core/helper IsResourceQuotaScopeValidForResource).
 */
export const PRIORITY_CLASS_SCOPED_RESOURCES: readonly string[] = ['pods', 'cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/** The quota of jobs and manager in one namespace. */
export function computeQuota(platform: Platform, tenant: TenantConfig, managers = 1): Record<string, string> {
  return addQuotas(computeJobQuota(tenant, managers, platform.kaniko.cacheRegistry.resources), computeManagerQuota(platform, managers));
}

function addQuotas(a: Record<string, string>, b: Record<string, string>): Record<string, string> {
  const key = (side: 'requests' | 'limits', resource: 'cpu' | 'memory') => `${side}.${resource}`;
  return quotaEntries(Number(a.pods) + Number(b.pods), (side, resource) => parseQuantity(a[key(side, resource)]) + parseQuantity(b[key(side, resource)]));
}

/** Address of the EKS Pod Identity Agent on every node (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
export const EKS_POD_IDENTITY_AGENT_CIDR = '169.254.170.23/32';

/**
 * Address ranges no ipBlock of a tenant's pods may include: the cluster's pod, Service and node
 * networks (other tenants' pods, kubelets), link-local (cloud metadata, Pod Identity Agent) and,
 * unless the rule is the manager's own API server rule, the API server endpoints.
 */
export function blockedRanges(platform: Platform, apiServer = true): string[] {
  return [...platform.kubernetes.clusterCidrs, ...LINK_LOCAL_CIDRS, ...(apiServer ? platform.kubernetes.apiServerCidrs : [])];
}

/**
 * An egress rule to these CIDRs on these ports (one protocol). A block that contains any of
 * `excluded` gets it as `except` (the rules refuse blocks that lie inside an excluded range).
 */
export function egressTo(cidrs: readonly string[], ports: readonly number[], protocol = 'TCP', excluded: readonly string[] = []): k8s.NetworkPolicyEgressRule {
  return {
    to: cidrs.map((cidr) => {
      const except = exceptsFor(cidr, excluded);
      return { ipBlock: except.length > 0 ? { cidr, except } : { cidr } };
    }),
    ports: ports.map((port) => ({ protocol, port: k8s.IntOrString.fromNumber(port) })),
  };
}

function httpsPort(url: string): number {
  const port = new URL(url).port;
  return port ? Number(port) : 443;
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
}

function filterKeys<T>(record: Record<string, T>, keep: (key: string) => boolean): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => keep(key)));
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)]));
}

function maxBy(items: readonly ContainerResources[], score: (item: ContainerResources) => number): ContainerResources {
  return items.reduce((best, item) => (score(item) > score(best) ? item : best));
}
