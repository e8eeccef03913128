import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ContainerResources, Tenant } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { NAMESPACE_NAME_LABEL, podSecurityLabels, PodSecurityLevel, podSelectorLabels, tenantLabels } from '../model/labels';
import { ObjectNames, networkPolicyName, objectNames } from '../model/names';
import { EnterpriseNetwork } from './enterprise-network';
import { DnsEndpoint, defaultDenySpec, dnsEgressSpec, EgressDestination, egressTo, EKS_POD_IDENTITY_AGENT_CIDR } from './network-policies';
import { addQuotas, computeJobQuota, computeManagerQuota, jobContainers, JobResources, largestOf, limitRangeSpec, quotaHard, splitByPriorityClassScope } from './quota';

/** Port of the runner manager's Prometheus endpoint (`listen_address`). */
export const METRICS_PORT = 9252;

/** A taint of the tenant's nodes. */
export type NodeTaint = Tenant['nodes']['taints'][number];
/** An extra destination job pods may reach. */
export type ExtraEgress = Tenant['egress']['extra'][number];

/** The tenant's nodes as scheduling sees them. */
export interface TenantNodes {
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly NodeTaint[];
}

/**
 * Where a tenant's pods may run, derived once from the tenant's nodes. The manager pod's
 * nodeSelector/tolerations and config.toml's `node_selector`/`node_tolerations` are both rendered
 * from this one object, so the two can never drift apart.
 */
export class TenantScheduling {
  constructor(private readonly nodes: TenantNodes) {}

  /** Pod `nodeSelector`: every label of the tenant's nodes. */
  public get nodeSelector(): Record<string, string> {
    return Object.fromEntries(Object.keys(this.nodes.labels).sort().map((key) => [key, this.nodes.labels[key]]));
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
  /**
   * Tenant name.
   *
   * Labels every object and selects the tenant's pods in the NetworkPolicies.
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
   */
  readonly tenantName: string;
  /**
   * Namespace of the runner manager.
   *
   * Created here unless `sharedNamespace` is set.
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/
   */
  readonly namespace: string;
  /**
   * Namespace the runner creates job pods in.
   *
   * A different name creates a second namespace (Pod Security baseline) and the manager's
   * namespace enforces restricted.
   * @default - the manager's namespace
   * @see https://docs.gitlab.com/runner/executors/kubernetes/#configuration-settings
   */
  readonly jobNamespace?: string;
  /**
   * The namespace is shared with other tenants (sharedNamespace variant).
   *
   * No Namespace, default-deny or DNS policy is created here (SharedNamespaceChart owns them); a
   * PriorityClass scopes the tenant's quota instead.
   * @default false
   * @see https://kubernetes.io/docs/concepts/policy/resource-quotas/#quota-scopes
   */
  readonly sharedNamespace?: boolean;
  /**
   * Names of the tenant's objects.
   *
   * Prefixed with the tenant name in a shared namespace.
   * @default - unprefixed names (`objectNames('')`)
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
   */
  readonly names?: ObjectNames;
  /**
   * Labels of the tenant's nodes.
   *
   * Manager and job pods get them as nodeSelector.
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodeselector
   */
  readonly nodeLabels: Readonly<Record<string, string>>;
  /**
   * Taints of the tenant's nodes.
   *
   * Pods tolerate exactly these.
   * @default []
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
   */
  readonly nodeTaints?: readonly NodeTaint[];
  /**
   * Runner managers of the tenant.
   *
   * One per node in the daemonSet variant; every quota allows all of them.
   * @default 1
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/
   */
  readonly managers?: number;
  /**
   * GitLab: CIDRs and port the manager and job pods reach.
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runners-section
   */
  readonly gitlabEgress: EgressDestination;
  /**
   * S3 (and STS): CIDRs and ports the manager and job pods reach for the distributed cache.
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscaches3-section
   */
  readonly s3Egress: EgressDestination;
  /**
   * Container registry: CIDRs and ports job pods push images to.
   *
   * @see https://github.com/chainguard-dev/kaniko#pushing-to-different-registries
   */
  readonly registryEgress: EgressDestination;
  /**
   * Kubernetes API server endpoints the manager creates job pods through.
   *
   * NetworkPolicies see the endpoint port, not the Service port.
   * @see https://docs.gitlab.com/runner/executors/kubernetes/#configure-runner-api-permissions
   */
  readonly apiServerEgress: EgressDestination;
  /**
   * Address ranges no ipBlock may include: the cluster's pod, Service and node networks and
   * link-local (cloud metadata, Pod Identity Agent).
   *
   * Every ipBlock that contains one of them gets it as `except`; so do the API server's CIDRs
   * (`apiServerEgress`), except in the manager's own API server rule.
   * @default []
   * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
   */
  readonly excludedRanges?: readonly string[];
  /**
   * The cluster DNS every pod may reach.
   *
   * @default - namespace kube-system, pods labelled k8s-app: kube-dns
   * @see https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/
   */
  readonly dns?: DnsEndpoint;
  /**
   * Extra destinations job pods may reach (artifact proxies, package mirrors).
   *
   * @default []
   * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
   */
  readonly extraEgress?: readonly ExtraEgress[];
  /**
   * Let the manager reach the EKS Pod Identity Agent on its node.
   *
   * Needed when the cache authenticates with EKS Pod Identity.
   * @default false
   * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
   */
  readonly podIdentityAgentEgress?: boolean;
  /**
   * Namespace of Prometheus, the only source allowed to scrape the manager.
   *
   * @default 'monitoring'
   * @see https://docs.gitlab.com/runner/monitoring/
   */
  readonly monitoringNamespace?: string;
  /**
   * Jobs one manager runs at once (config.toml `concurrent`); sizes the quota.
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-global-section
   */
  readonly concurrent: number;
  /**
   * The job containers of every runner (build, helper, service); the largest job sizes the quota.
   *
   * @see https://docs.gitlab.com/runner/executors/kubernetes/#overwrite-container-resources
   */
  readonly jobResources: readonly JobResources[];
  /**
   * Service containers budgeted per job in the ResourceQuota.
   *
   * @default 1
   * @see https://kubernetes.io/docs/concepts/policy/resource-quotas/
   */
  readonly servicesPerJob?: number;
  /**
   * ResourceQuota entries that replace the computed ones.
   *
   * @default {}
   * @see https://kubernetes.io/docs/concepts/policy/resource-quotas/
   */
  readonly quotaOverrides?: Readonly<Record<string, string>>;
  /**
   * Requests and limits of the runner manager container.
   *
   * @see https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
   */
  readonly managerResources: ContainerResources;
  /**
   * Requests and limits of the Kaniko cache registry, which the job quota then includes.
   *
   * @default - no cache registry (cache.kaniko.mode registry)
   * @see https://distribution.github.io/distribution/
   */
  readonly cacheRegistryResources?: ContainerResources;
  /**
   * Annotations the GitOps tool needs on the Namespaces.
   *
   * @default - none
   * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
   */
  readonly delivery?: DeliveryPolicy;
  /**
   * HTTP(S) proxy: with one, the manager and job pods reach the proxy, and GitLab, the registry
   * and S3 directly only when their host is in its noProxy.
   *
   * @default - no proxy: direct egress to GitLab, the registry and S3
   * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
   */
  readonly network?: EnterpriseNetwork;
}

/**
 * The isolation boundary of one tenant: its Namespace(s) with Pod Security labels,
 * NetworkPolicies (default deny, then DNS, runner manager and job egress, metrics ingress from the
 * monitoring namespace only), ResourceQuota and LimitRange sized from `concurrent` and the job
 * sizes, and the namespace and scheduling objects the runner uses for its manager and job pods.
 *
 * Variant 1 owns `<tenant>` (plus `<tenant>-build` with a separate job namespace, where the
 * manager namespace enforces `restricted`). Variant 2 shares one namespace, emitted once by
 * SharedNamespaceChart; here only the tenant's own policies, a PriorityClass and a quota scoped to
 * it are defined. Variant 3 is laid out like variant 1 with a manager per node.
 */
export class TenantIsolation extends Construct {
  public readonly tenantName: string;
  /** Namespace of the runner manager (its token Secret, ConfigMap and workload). */
  public readonly namespace: string;
  /** Namespace the runner creates job pods in. */
  public readonly jobNamespace: string;
  /** The namespace is shared with other tenants (variant 2). */
  public readonly shared: boolean;
  public readonly names: ObjectNames;
  public readonly scheduling: TenantScheduling;
  /** PriorityClass of the tenant's pods in the shared namespace, which scopes its quota. */
  public readonly priorityClassName?: string;
  /** `hard` of the ResourceQuota that bounds the job pods (with the manager's when they share a namespace). */
  public readonly jobQuota: Readonly<Record<string, string>>;
  /** Every ResourceQuota of the tenant (namespace and name), for alerts that watch them. */
  public readonly quotas: { readonly namespace: string; readonly name: string }[] = [];

  constructor(scope: Construct, id: string, props: TenantIsolationProps) {
    super(scope, id);
    const jobNamespace = props.jobNamespace ?? props.namespace;
    const shared = props.sharedNamespace ?? false;
    const names = props.names ?? objectNames('');
    const nodeTaints = props.nodeTaints ?? [];
    const managers = props.managers ?? 1;
    const dns = props.dns ?? { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
    const extraEgress = props.extraEgress ?? [];
    const excludedRanges = props.excludedRanges ?? [];
    const podIdentityAgentEgress = props.podIdentityAgentEgress ?? false;
    const monitoringNamespace = props.monitoringNamespace ?? 'monitoring';
    const servicesPerJob = props.servicesPerJob ?? 1;
    const quotaOverrides = props.quotaOverrides ?? {};
    const delivery = props.delivery ?? DeliveryPolicy.NONE;

    this.tenantName = props.tenantName;
    this.namespace = props.namespace;
    this.jobNamespace = jobNamespace;
    this.shared = shared;
    this.names = names;
    this.scheduling = new TenantScheduling({ labels: props.nodeLabels, taints: nodeTaints });

    if (shared) {
      this.priorityClassName = names.priorityClass;
      new k8s.KubePriorityClass(this, 'PriorityClass', {
        metadata: { name: this.priorityClassName },
        // Exists only to scope the tenant's quota in the shared namespace: default priority, and
        // it never preempts anybody.
        value: 0,
        preemptionPolicy: 'Never',
        globalDefault: false,
        description: `Pods of tenant ${props.tenantName} in the shared runner namespace (quota scope)`,
      });
    } else if (this.separateBuildNamespace) {
      // The manager holds the runner tokens: nothing in its namespace runs as root.
      this.addNamespace('Namespace', this.namespace, 'restricted', delivery);
      this.addNamespace('BuildNamespace', this.jobNamespace, 'baseline', delivery);
    } else {
      // Kaniko job containers run as root with added capabilities: baseline is the strictest level
      // they pass. warn/audit at restricted make every other deviation visible.
      this.addNamespace('Namespace', this.namespace, 'baseline', delivery);
    }

    this.addNetworkPolicies({ ...props, dns, extraEgress, excludedRanges, podIdentityAgentEgress, monitoringNamespace });
    this.jobQuota = this.addQuotas({ ...props, managers, servicesPerJob, quotaOverrides });
  }

  /** Job pods run in a namespace of their own, apart from the manager and its tokens. */
  public get separateBuildNamespace(): boolean {
    return this.jobNamespace !== this.namespace;
  }

  /** Every namespace this tenant owns (none in the shared variant). */
  public get ownNamespaces(): string[] {
    if (this.shared) return [];
    return [...new Set([this.namespace, this.jobNamespace])];
  }

  /** Every namespace the tenant's objects live in, the manager's first. */
  public get namespaces(): string[] {
    return [...new Set([this.namespace, this.jobNamespace])];
  }

  private addNamespace(id: string, name: string, enforce: PodSecurityLevel, delivery: DeliveryPolicy): void {
    new k8s.KubeNamespace(this, id, {
      metadata: {
        name,
        labels: { ...tenantLabels(this.tenantName), ...podSecurityLabels(enforce) },
        annotations: delivery.annotationsFor(k8s.KubeNamespace.GVK.apiVersion, k8s.KubeNamespace.GVK.kind),
      },
    });
  }

  private addNetworkPolicies(props: TenantIsolationProps & Required<Pick<TenantIsolationProps, 'dns' | 'extraEgress' | 'excludedRanges' | 'podIdentityAgentEgress' | 'monitoringNamespace'>>): void {
    const policy = (id: string, name: string, namespace: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, id, { metadata: { name: networkPolicyName(this.names, name), namespace }, spec });
    const manager = { matchLabels: podSelectorLabels(this.tenantName, 'manager') };
    const jobs = { matchLabels: podSelectorLabels(this.tenantName, 'job') };
    // Every ipBlock excepts the cluster networks, link-local and the API server where it contains them.
    const blocked = [...props.excludedRanges, ...props.apiServerEgress.cidrs];
    const to = (destination: EgressDestination, excluded: readonly string[] = blocked) => egressTo(destination.cidrs, destination.ports, 'TCP', excluded);
    const gitlab = to(props.gitlabEgress);
    const s3 = to(props.s3Egress);
    // With a proxy, GitLab, the registry and S3 are reached through it unless NO_PROXY lists them.
    const network = props.network ?? EnterpriseNetwork.NONE;
    const direct = network.direct;
    const proxy = network.proxyEgressRule ? [network.proxyEgressRule] : [];

    for (const [i, namespace] of this.ownNamespaces.entries()) {
      const suffix = i === 0 ? '' : 'Build';
      policy(`DefaultDeny${suffix}`, 'default-deny-all', namespace, defaultDenySpec());
      policy(`AllowDns${suffix}`, 'allow-dns', namespace, dnsEgressSpec(props.dns));
    }
    // The manager polls GitLab, creates job pods through the API server, and signs cache URLs
    // (with IRSA it also calls STS, which sits behind the S3/STS addresses).
    policy('ManagerEgress', 'runner-manager-egress', this.namespace, {
      podSelector: manager,
      policyTypes: ['Egress'],
      egress: [
        ...(direct.gitlab ? [gitlab] : []), to(props.apiServerEgress, props.excludedRanges), ...(direct.s3 ? [s3] : []), ...proxy,
        // EKS Pod Identity: the SDK fetches credentials from the node's Pod Identity Agent
        // (link-local, port 80), which the default deny would block.
        // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
        ...(props.podIdentityAgentEgress ? [egressTo([EKS_POD_IDENTITY_AGENT_CIDR], [80])] : []),
      ],
    });
    // Job pods clone from GitLab, upload artifacts and cache (presigned S3 URLs), and push images.
    policy('JobEgress', 'runner-jobs-egress', this.jobNamespace, {
      podSelector: jobs,
      policyTypes: ['Egress'],
      egress: [
        ...(direct.gitlab ? [gitlab] : []),
        ...(direct.registry ? [to(props.registryEgress)] : []),
        ...(direct.s3 ? [s3] : []),
        ...proxy,
        ...props.extraEgress.map((extra) => egressTo([extra.cidr], extra.ports, extra.protocol, blocked)),
      ],
    });
    // GitLab never calls into the cluster (runners poll); the only ingress is Prometheus scraping.
    policy('MetricsIngress', 'allow-metrics-from-monitoring', this.namespace, {
      podSelector: manager,
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: props.monitoringNamespace } } }],
        ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
      }],
    });
  }

  /** The quotas and LimitRanges; returns the `hard` of the job pods' quota (the one with the most pods). */
  private addQuotas(props: TenantIsolationProps & Required<Pick<TenantIsolationProps, 'managers' | 'servicesPerJob' | 'quotaOverrides'>>): Record<string, string> {
    const { managers, managerResources, cacheRegistryResources, quotaOverrides } = props;
    const jobs = computeJobQuota({ concurrent: props.concurrent, servicesPerJob: props.servicesPerJob, jobs: props.jobResources }, managers, cacheRegistryResources);
    const manager = computeManagerQuota(managerResources, managers);
    // `hard` already holds the tenant's quota.hard overrides (quotaHard), sorted by key.
    const hards: Record<string, string>[] = [];
    const quota = (id: string, namespace: string, hard: Record<string, string>, scopeSelector?: k8s.ScopeSelector, name: string = this.names.resourceQuota) => {
      this.quotas.push({ namespace, name });
      new k8s.KubeResourceQuota(this, id, {
        metadata: { name, namespace },
        spec: { hard: Object.fromEntries(Object.entries(hard).map(([k, v]) => [k, k8s.Quantity.fromString(v)])), scopeSelector },
      });
      hards.push(hard);
    };
    const containers = jobContainers(props.jobResources, cacheRegistryResources);
    const largestBuild = largestOf(props.jobResources.map((r) => r.build));

    if (this.shared) {
      // One namespace, many tenants: a quota can only be told apart by a scope. The PriorityClass
      // of the tenant's manager and job pods is that scope. The API server accepts a scoped quota
      // only on pod count, CPU and memory ("unsupported scope applied to resource"), so every other
      // entry (no NodePort/LoadBalancer Services, other quota.hard overrides) goes to a second,
      // unscoped quota, which holds for the whole shared namespace.
      const { scoped, unscoped } = splitByPriorityClassScope(quotaHard(addQuotas(jobs, manager), quotaOverrides));
      quota('ResourceQuota', this.namespace, scoped, {
        matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [this.priorityClassName!] }],
      });
      quota('UnscopedResourceQuota', this.namespace, unscoped, undefined, `${this.names.resourceQuota}-unscoped`);
    } else if (this.separateBuildNamespace) {
      quota('ResourceQuota', this.jobNamespace, quotaHard(jobs, quotaOverrides));
      this.addLimitRange('LimitRange', this.jobNamespace, containers, largestBuild);
      quota('ManagerResourceQuota', this.namespace, quotaHard(manager, quotaOverrides));
      this.addLimitRange('ManagerLimitRange', this.namespace, [managerResources], managerResources);
    } else {
      quota('ResourceQuota', this.namespace, quotaHard(addQuotas(jobs, manager), quotaOverrides));
      this.addLimitRange('LimitRange', this.namespace, [...containers, managerResources], largestBuild);
    }
    // The job pods' quota is the one with the most pods (the manager's has one per manager; the
    // shared variant's unscoped quota none); the first of equals. `{}` if no quota counts a pod.
    return hards.reduce<Record<string, string>>((best, hard) => (Number(hard.pods ?? 0) > Number(best.pods ?? 0) ? hard : best), {});
  }

  private addLimitRange(id: string, namespace: string, containers: readonly ContainerResources[], defaults: ContainerResources): void {
    new k8s.KubeLimitRange(this, id, { metadata: { name: this.names.limitRange, namespace }, spec: limitRangeSpec(containers, defaults) });
  }
}
