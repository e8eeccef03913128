import { k8s } from 'cdk8s-plus-28';
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { TenantConfig } from '../model/resolve';
import { Platform } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { podSecurityLabels, projectLabels } from '../model/labels';
import { defaultDenySpec, dnsEgressSpec } from './network-policies';
import { largestBuild, limitRangeSpec } from './quota';

/** Folder of `dist/` (per cluster) with the shared namespace of variant 2. */
export const SHARED_DIR = '_shared';

export interface SharedNamespaceChartProps {
  readonly platform: Platform;
  readonly tenants: readonly TenantConfig[];
}

/**
 * Variant 2's one namespace for every tenant's runner manager and jobs: the Namespace (Pod
 * Security baseline, because Kaniko jobs run there), the namespace-wide default deny and DNS
 * policies, and a LimitRange whose maximum is the largest container any tenant configures. Each
 * tenant chart adds its own policies, PriorityClass and quota scoped to it.
 */
export class SharedNamespaceChart extends Chart {
  /** The shared namespace. */
  public readonly sharedNamespace: string;

  constructor(scope: Construct, id: string, props: SharedNamespaceChartProps) {
    super(scope, id, { disableResourceNameHashes: true, labels: projectLabels() });
    const { platform, tenants } = props;
    const namespace = platform.architecture.sharedNamespace;
    const delivery = new DeliveryPolicy(platform.gitops.tool);
    this.sharedNamespace = namespace;
    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: podSecurityLabels('baseline'),
        annotations: delivery.annotationsFor(k8s.KubeNamespace.GVK.apiVersion, k8s.KubeNamespace.GVK.kind),
      },
    });
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', { metadata: { name: 'default-deny-all', namespace }, spec: defaultDenySpec() });
    new k8s.KubeNetworkPolicy(this, 'AllowDns', { metadata: { name: 'allow-dns', namespace }, spec: dnsEgressSpec(platform.kubernetes.dns) });
    const containers = tenants.flatMap((t) => t.runners.flatMap((r) => [r.resources.build, r.resources.helper, r.resources.service]));
    if (tenants.some((t) => t.cache.kaniko.mode === 's3')) containers.push(platform.kaniko.cacheRegistry.resources);
    new k8s.KubeLimitRange(this, 'LimitRange', {
      metadata: { name: 'gitlab-runner-jobs', namespace },
      spec: limitRangeSpec([...containers, platform.runner.resources], largestBuild(tenants)),
    });
  }

  /** The facts the engine's delivery objects need: the one namespace, no workload. */
  public get facts(): { readonly namespaces: readonly string[] } {
    return { namespaces: [this.sharedNamespace] };
  }
}
