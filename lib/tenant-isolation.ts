import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { TenantConfig } from './config/load';
import { ContainerResources, Platform } from './config/schema';
import { NAMESPACE_NAME_LABEL, podSelectorLabels, tenantLabels } from './labels';
import { names } from './names';
import { formatCpu, formatMemory, parseQuantity } from './quantity';

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

  /** Pod `tolerations`: exactly the tenant's taints, nothing broader. */
  public get tolerations(): k8s.Toleration[] {
    return this.nodes.taints.map((taint) =>
      taint.value === undefined
        ? { key: taint.key, operator: 'Exists', effect: taint.effect }
        : { key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect },
    );
  }

  /**
   * config.toml `node_tolerations`: `"key=value" = "Effect"` (operator Equal) or `"key" = "Effect"`
   * (operator Exists), as the Kubernetes executor parses them
   * (https://docs.gitlab.com/runner/executors/kubernetes/#configure-pod-tolerations).
   */
  public get runnerNodeTolerations(): Record<string, string> {
    return Object.fromEntries(
      this.nodes.taints.map((taint) => [taint.value === undefined ? taint.key : `${taint.key}=${taint.value}`, taint.effect]),
    );
  }
}

export interface TenantIsolationProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
}

/**
 * The isolation boundary of one tenant: a Namespace with Pod Security labels, NetworkPolicies
 * (default deny, then DNS, runner manager and job egress, metrics ingress from the monitoring
 * namespace only), a ResourceQuota and a LimitRange sized from `concurrent` and the job sizes,
 * and the scheduling object the runner uses for its manager and job pods.
 */
export class TenantIsolation extends Construct {
  /** Namespace of the runner manager and its job pods. */
  public readonly namespace: string;
  public readonly scheduling: TenantScheduling;

  constructor(scope: Construct, id: string, props: TenantIsolationProps) {
    super(scope, id);
    const { platform, tenant } = props;
    this.namespace = tenant.name;
    this.scheduling = new TenantScheduling(tenant.nodes);

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: this.namespace,
        labels: {
          ...tenantLabels(tenant.name),
          // Kaniko job containers run as root with added capabilities: baseline is the strictest
          // level they pass. warn/audit at restricted make every other deviation visible.
          'pod-security.kubernetes.io/enforce': 'baseline',
          'pod-security.kubernetes.io/enforce-version': 'v1.28',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': 'v1.28',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/audit-version': 'v1.28',
        },
      },
    });

    this.addNetworkPolicies(platform, tenant);
    this.addQuota(platform, tenant);
  }

  private addNetworkPolicies(platform: Platform, tenant: TenantConfig): void {
    const policy = (id: string, name: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, id, { metadata: { name, namespace: this.namespace }, spec });
    const manager = { matchLabels: podSelectorLabels(tenant.name, 'manager') };
    const jobs = { matchLabels: podSelectorLabels(tenant.name, 'job') };
    const gitlab = egressTo(platform.gitlab.egressCidrs, [httpsPort(platform.gitlab.url)]);
    const s3 = egressTo(platform.s3.egressCidrs, platform.s3.egressPorts);

    policy('DefaultDeny', 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    policy('AllowDns', 'allow-dns', {
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
    });
    // The manager polls GitLab, creates job pods through the API server, and signs cache URLs
    // (with IRSA it also calls STS, which sits behind the S3/STS addresses).
    policy('ManagerEgress', 'runner-manager-egress', {
      podSelector: manager,
      policyTypes: ['Egress'],
      egress: [
        gitlab, egressTo(platform.kubernetes.apiServerCidrs, platform.kubernetes.apiServerPorts), s3,
        // EKS Pod Identity: the SDK fetches credentials from the node's Pod Identity Agent
        // (link-local, port 80), which the default deny would block.
        // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
        ...(tenant.cache.s3.auth.type === 'podIdentity' ? [egressTo([EKS_POD_IDENTITY_AGENT_CIDR], [80])] : []),
      ],
    });
    // Job pods clone from GitLab, upload artifacts and cache (presigned S3 URLs), and push images.
    policy('JobEgress', 'runner-jobs-egress', {
      podSelector: jobs,
      policyTypes: ['Egress'],
      egress: [
        gitlab,
        egressTo(platform.registry.egressCidrs, platform.registry.egressPorts),
        s3,
        ...tenant.egress.extra.map((extra) => egressTo([extra.cidr], extra.ports, extra.protocol)),
      ],
    });
    // GitLab never calls into the cluster (runners poll); the only ingress is Prometheus scraping.
    policy('MetricsIngress', 'allow-metrics-from-monitoring', {
      podSelector: { matchLabels: podSelectorLabels(tenant.name, 'manager') },
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: platform.monitoring.namespace } } }],
        ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
      }],
    });
  }

  private addQuota(platform: Platform, tenant: TenantConfig): void {
    const computed = computeQuota(platform, tenant);
    const hard = { ...computed, ...tenant.quota.hard };
    new k8s.KubeResourceQuota(this, 'ResourceQuota', {
      metadata: { name: names.resourceQuota, namespace: this.namespace },
      spec: { hard: mapValues(sortedRecord(hard), (v) => k8s.Quantity.fromString(v)) },
    });

    const all = tenant.runners.flatMap((r) => [r.resources.build, r.resources.helper, r.resources.service]).concat(platform.runner.resources);
    const max = (key: 'cpu' | 'memory') => Math.max(...all.map((res) => parseQuantity(res.limits[key])));
    const largestBuild = maxBy(tenant.runners.map((r) => r.resources.build), (res) => parseQuantity(res.limits.memory));
    new k8s.KubeLimitRange(this, 'LimitRange', {
      metadata: { name: names.limitRange, namespace: this.namespace },
      spec: {
        limits: [{
          type: 'Container',
          // Defaults only apply to containers that set nothing; the runner sets every job container.
          default: { cpu: k8s.Quantity.fromString(largestBuild.limits.cpu), memory: k8s.Quantity.fromString(largestBuild.limits.memory) },
          defaultRequest: { cpu: k8s.Quantity.fromString(largestBuild.requests.cpu), memory: k8s.Quantity.fromString(largestBuild.requests.memory) },
          max: { cpu: k8s.Quantity.fromString(formatCpu(max('cpu'))), memory: k8s.Quantity.fromString(formatMemory(max('memory'))) },
        }],
      },
    });
  }
}

/**
 * The ResourceQuota a tenant needs: `concurrent` jobs of the largest configured size (build +
 * helper + `servicesPerJob` services), plus the runner manager. No LoadBalancer or NodePort
 * Services: nothing in a runner namespace is exposed outside the cluster.
 */
export function computeQuota(platform: Platform, tenant: TenantConfig): Record<string, string> {
  const jobSize = (r: TenantConfig['runners'][number], side: 'requests' | 'limits', key: 'cpu' | 'memory') =>
    parseQuantity(r.resources.build[side][key]) +
    parseQuantity(r.resources.helper[side][key]) +
    tenant.quota.servicesPerJob * parseQuantity(r.resources.service[side][key]);
  const total = (side: 'requests' | 'limits', key: 'cpu' | 'memory') =>
    tenant.concurrent * Math.max(...tenant.runners.map((r) => jobSize(r, side, key))) + parseQuantity(platform.runner.resources[side][key]);
  return {
    'pods': String(tenant.concurrent + 1),
    'requests.cpu': formatCpu(total('requests', 'cpu')),
    'limits.cpu': formatCpu(total('limits', 'cpu')),
    'requests.memory': formatMemory(total('requests', 'memory')),
    'limits.memory': formatMemory(total('limits', 'memory')),
    'services.loadbalancers': '0',
    'services.nodeports': '0',
  };
}

/** Address of the EKS Pod Identity Agent on every node (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
export const EKS_POD_IDENTITY_AGENT_CIDR = '169.254.170.23/32';

function egressTo(cidrs: readonly string[], ports: readonly number[], protocol = 'TCP'): k8s.NetworkPolicyEgressRule {
  return {
    to: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
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

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)]));
}

function maxBy(items: readonly ContainerResources[], score: (item: ContainerResources) => number): ContainerResources {
  return items.reduce((best, item) => (score(item) > score(best) ? item : best));
}
