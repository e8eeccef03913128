/**
 * GitOps delivery: the Argo CD or Flux objects that point at the tenant folders of `dist/`, plus
 * the annotations tenant objects need so that syncing is ordered and pruning can never delete a
 * tenant Namespace by accident.
 *
 * Adding a tenant must add files of that tenant only, never change a shared file: two merge
 * requests that add two tenants then never conflict, and a reviewer sees one tenant's change.
 * - Argo CD: `_gitops/` holds an AppProject limited by namespace *patterns*, one ApplicationSet
 *   whose git directory generator finds the tenant folders itself, and the root Application.
 * - Flux (which has no generator): `_gitops/` holds the GitRepository and the root Kustomization;
 *   each tenant's Kustomization is a file of its own in `_gitops/tenants/<tenant>/`, which the root
 *   Kustomization includes because kustomize-controller collects manifests recursively.
 */
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { blockYaml } from '../render/block-yaml';
import { Application } from '../../imports/argocd-application-argoproj.io';
import { ApplicationSet } from '../../imports/argocd-applicationset-argoproj.io';
import { AppProject } from '../../imports/argocd-appproject-argoproj.io';
import { Kustomization, KustomizationSpecSourceRefKind } from '../../imports/kustomize.toolkit.fluxcd.io';
import { GitRepository } from '../../imports/source.toolkit.fluxcd.io';
import { Platform } from '../config/schema';
import { deniedNamespaces } from '../model/delivery-namespaces';
import { managedByLabels } from '../model/labels';
import { EXTRA_OBJECT_KINDS } from '../model/extra-objects';

/** Folder of `dist/` (per cluster) that holds the delivery objects, apart from the sync roots. */
export const GITOPS_DIR = '_gitops';
/** Folder of `_gitops/` with one folder per tenant for its Flux Kustomization. */
export const TENANT_DELIVERY_DIR = 'tenants';
/** Top-level folders of a cluster's `dist/` that are not tenant folders (never synced as one). */
/** Folder of `dist/` (per cluster) with the Grafana dashboard: synced with the monitoring stack, not by the tenant delivery. */
export const MONITORING_DIR = '_monitoring';

export const NON_TENANT_DIRS = [GITOPS_DIR, MONITORING_DIR, 'ci'];

export type GitOpsTool = Platform['gitops']['tool'];

/** A tenant as the delivery objects see it: where its folder is and what it contains. */
export interface DeliveredTenant {
  readonly name: string;
  /** Folder of the tenant inside the repository, e.g. `dist/tenant-1` or `dist/prod/tenant-1`. */
  readonly repoPath: string;
  readonly namespaces: readonly string[];
  /** API group and kind of every namespaced object in the folder. */
  readonly namespacedKinds: readonly { group: string; kind: string }[];
  /** API group and kind of every cluster-scoped object in the folder (Namespace, PriorityClass). */
  readonly clusterKinds: readonly { group: string; kind: string }[];
  /** The runner workload, for health checks (none in the shared-namespace folder). */
  readonly workload?: { apiVersion: string; kind: string; name: string; namespace: string };
}

/**
 * Every namespaced kind a tenant folder can hold, whatever the configuration: the AppProject
 * allows this fixed list, so a tenant that is the first to use a kind (an ExternalSecret, the
 * Kaniko cache registry's Service) does not change the shared project. test/gitops.test.ts checks
 * that every synthesized kind is listed.
 */
const SYNTHESIZED_NAMESPACED_KINDS: readonly { group: string; kind: string }[] = [
  { group: '', kind: 'ConfigMap' },
  { group: '', kind: 'LimitRange' },
  { group: '', kind: 'ResourceQuota' },
  { group: '', kind: 'Service' },
  { group: '', kind: 'ServiceAccount' },
  { group: 'apps', kind: 'DaemonSet' },
  { group: 'apps', kind: 'Deployment' },
  { group: 'external-secrets.io', kind: 'ExternalSecret' },
  { group: 'monitoring.coreos.com', kind: 'PodMonitor' },
  { group: 'monitoring.coreos.com', kind: 'PrometheusRule' },
  { group: 'networking.k8s.io', kind: 'NetworkPolicy' },
  { group: 'rbac.authorization.k8s.io', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
];
export const TENANT_NAMESPACED_KINDS: readonly { group: string; kind: string }[] = [
  ...SYNTHESIZED_NAMESPACED_KINDS,
  // The kinds a tenant's own manifests may add (docs/extra-objects.md), when not listed already.
  ...EXTRA_OBJECT_KINDS.filter((k) => !SYNTHESIZED_NAMESPACED_KINDS.some((s) => s.group === k.group && s.kind === k.kind)).map(({ group, kind }) => ({ group, kind })),
];

/** The cluster-scoped kinds of a variant: Namespace, and the shared variant's PriorityClass. */
export function tenantClusterKinds(platform: Platform): { group: string; kind: string }[] {
  const kinds = [{ group: '', kind: 'Namespace' }];
  if (platform.architecture.variant === 'sharedNamespace') kinds.push({ group: 'scheduling.k8s.io', kind: 'PriorityClass' });
  return kinds;
}

// Objects whose kind comes from a CRD apply after the core objects (Argo CD sync waves).
const CRD_GROUPS = new Set(['monitoring.coreos.com', 'external-secrets.io']);

/** Argo CD's cascading-delete finalizer: deleting the Application deletes what it deployed. */
export const ARGOCD_RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
/** Where Argo CD itself runs, as every Argo CD knows it: the delivery objects live there. */
export const ARGOCD_IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * Annotations a tenant object needs for the chosen tool. Argo CD: the Namespace syncs first
 * (wave -1) and is never pruned or deleted with its Application; CRD kinds sync last (wave 1).
 * Flux: kustomize-controller orders by kind itself; the Namespace is excluded from pruning.
 */
export function deliveryAnnotations(tool: GitOpsTool, apiVersion: string, kind: string): Record<string, string> {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  if (tool === 'argocd') {
    if (kind === 'Namespace') return { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'argocd.argoproj.io/sync-wave': '-1' };
    if (CRD_GROUPS.has(group)) return { 'argocd.argoproj.io/sync-wave': '1' };
  }
  if (tool === 'flux' && kind === 'Namespace') return { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' };
  return {};
}

/**
 * What the chosen GitOps tool needs on the objects a tenant folder contains. Constructs that
 * create a Namespace or an object of a CRD kind ask it for that object's annotations when they
 * create it (there is no pass over the tree afterwards).
 */
export class DeliveryPolicy {
  /** No GitOps tool: no annotations. */
  public static readonly NONE = new DeliveryPolicy('none');

  constructor(public readonly tool: GitOpsTool) {}

  /** Annotations of an object of this API version and kind; undefined when it needs none. */
  public annotationsFor(apiVersion: string, kind: string): Record<string, string> | undefined {
    if (this.tool === 'none') return undefined;
    const annotations = deliveryAnnotations(this.tool, apiVersion, kind);
    return Object.keys(annotations).length > 0 ? annotations : undefined;
  }
}

/**
 * What removing a tenant from `dist/` does with the given tool, for the removal guard: its objects
 * are deleted (the runner and every job running), its Namespace is kept.
 */
export function removalConsequence(tool: GitOpsTool | undefined, count: number): string {
  const its = count === 1 ? 'its' : 'their';
  if (tool === 'argocd') {
    return `the ApplicationSet deletes ${its} Application${count === 1 ? '' : 's'}, whose ${ARGOCD_RESOURCES_FINALIZER} finalizer deletes every object ` +
      `${count === 1 ? 'it' : 'they'} deployed: the runner and every job running there stop (the Namespace stays: Delete=false)`;
  }
  if (tool === 'flux') {
    return `the root Kustomization prunes ${its} Kustomization${count === 1 ? '' : 's'}, which garbage-collects every object ` +
      `${count === 1 ? 'it' : 'they'} applied: the runner and every job running there stop (the Namespace stays: prune disabled)`;
  }
  return `whoever applies dist/ stops managing ${its} objects (with pruning: deletes them, and every job running there)`;
}

/** Names of a cluster's delivery objects: apart per cluster, so that clusters sharing one Argo CD never clash. */
export function deliveryNames(platform: Platform, cluster?: string): { prefix: string; project: string } {
  return {
    prefix: cluster ? `tenant-runners-${cluster}` : 'tenant-runners',
    project: cluster ? `${platform.gitops.argocd.project}-${cluster}` : platform.gitops.argocd.project,
  };
}

export interface GitOpsChartProps {
  readonly platform: Platform;
  /** Cluster name in a multi-cluster repository; names the objects apart. */
  readonly cluster?: string;
  readonly tenants: readonly DeliveredTenant[];
}

const ARGOCD_SYNC_RETRY = { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } };

/**
 * The delivery objects of one cluster. Argo CD: an AppProject limited to namespace patterns and to
 * the kinds tenant folders can contain (no cluster-scoped kind but Namespace), an ApplicationSet
 * that makes one Application per tenant folder, and a root Application for `_gitops/`. Flux: a
 * GitRepository, a root Kustomization for `_gitops/`, and one Kustomization per tenant folder with a
 * health check on the runner (in `_gitops/tenants/<tenant>/`).
 */
export class GitOpsChart extends Chart {
  /** Name of each tenant's own delivery object → the tenant folder's name (`tenant-1`, `_shared`). */
  public readonly tenantObjects = new Map<string, string>();

  constructor(scope: Construct, id: string, props: GitOpsChartProps) {
    super(scope, id, { disableResourceNameHashes: true, labels: managedByLabels() });
    const { platform, cluster, tenants } = props;
    const gitops = platform.gitops;
    if (gitops.tool === 'none' || !gitops.repoUrl) return;
    const base = [gitops.distPath, cluster].filter(Boolean).join('/');
    if (gitops.tool === 'argocd') this.argocd(platform, cluster, base);
    else this.flux(platform, cluster, base, tenants);
  }

  private argocd(platform: Platform, cluster: string | undefined, base: string): void {
    const { argocd, repoUrl, revision } = platform.gitops;
    const { prefix, project } = deliveryNames(platform, cluster);
    const shared = platform.architecture.variant === 'sharedNamespace';
    new AppProject(this, 'Project', {
      metadata: { name: project, namespace: argocd.namespace },
      spec: {
        description: `GitLab Runner tenants synthesized by tenant-runners${cluster ? ` (cluster ${cluster})` : ''}`,
        sourceRepos: [repoUrl!],
        // Patterns, never a list of tenants: denied namespaces first (Argo CD 2.5+: a `!` entry
        // wins over any allowing one), then the allowed globs.
        destinations: [
          ...deniedNamespaces(platform).map((namespace) => ({ server: argocd.destinationServer, namespace: `!${namespace}` })),
          ...argocd.namespaces.map((namespace) => ({ server: argocd.destinationServer, namespace })),
        ],
        // Only the cluster-scoped kinds tenant folders contain: a folder can never grant itself a ClusterRole.
        clusterResourceWhitelist: tenantClusterKinds(platform),
        namespaceResourceWhitelist: [...TENANT_NAMESPACED_KINDS],
      },
    });
    const syncPolicy = {
      automated: { prune: true, selfHeal: true },
      // The tenant folder holds its Namespace; PruneLast deletes removed objects after the rest syncs.
      syncOptions: ['CreateNamespace=false', 'PruneLast=true'],
      retry: ARGOCD_SYNC_RETRY,
    };
    new ApplicationSet(this, 'Tenants', {
      metadata: { name: prefix, namespace: argocd.namespace },
      spec: {
        goTemplate: true,
        goTemplateOptions: ['missingkey=error'],
        generators: [
          {
            git: {
              repoUrl: repoUrl!,
              revision,
              // Every folder of this cluster's dist/ is a tenant (or the shared namespace, `_shared`),
              // except the delivery objects and the CI templates.
              directories: [{ path: `${base}/*` }, ...NON_TENANT_DIRS.map((dir) => ({ path: `${base}/${dir}`, exclude: true }))],
            },
          },
        ],
        template: {
          metadata: {
            // `_shared` → `<prefix>-shared`: Application names are DNS subdomains.
            name: `${prefix}-{{ trimPrefix "_" .path.basename }}`,
            labels: managedByLabels(),
            // Removing a tenant folder deletes its Application, and with it the tenant's objects
            // (never its Namespace: Delete=false on the Namespace).
            finalizers: [ARGOCD_RESOURCES_FINALIZER],
          },
          spec: {
            project,
            source: { repoUrl: repoUrl!, targetRevision: revision, path: '{{ .path.path }}', directory: { recurse: false } },
            // A tenant's namespace is its folder's name; in the shared variant every folder deploys to the shared namespace.
            destination: { server: argocd.destinationServer, namespace: shared ? platform.architecture.sharedNamespace : '{{ .path.basename }}' },
            syncPolicy,
          },
        },
      },
    });
    // The root Application keeps `_gitops/` in sync. Argo CD objects live in Argo CD's namespace on
    // the cluster Argo CD runs in, whichever cluster the tenants are on; the `default` project
    // because it manages Argo CD objects. No finalizer: deleting it must not delete every tenant.
    new Application(this, 'Root', {
      metadata: { name: prefix, namespace: argocd.namespace },
      spec: {
        project: 'default',
        source: { repoUrl: repoUrl!, targetRevision: revision, path: `${base}/${GITOPS_DIR}`, directory: { recurse: false } },
        destination: { server: ARGOCD_IN_CLUSTER, namespace: argocd.namespace },
        syncPolicy,
      },
    });
  }

  private flux(platform: Platform, cluster: string | undefined, base: string, tenants: readonly DeliveredTenant[]): void {
    const { flux, repoUrl, revision } = platform.gitops;
    const { prefix } = deliveryNames(platform, cluster);
    new GitRepository(this, 'Source', {
      metadata: { name: prefix, namespace: flux.namespace },
      spec: { interval: '1m', url: repoUrl!, ref: { branch: revision }, secretRef: flux.secretRef ? { name: flux.secretRef } : undefined },
    });
    const common = {
      interval: flux.interval,
      retryInterval: flux.retryInterval,
      timeout: flux.timeout,
      // Every Kustomization prunes: tenant Namespaces carry kustomize.toolkit.fluxcd.io/prune:
      // disabled, so pruning removes a tenant's objects but never its namespace.
      prune: true,
      sourceRef: { kind: KustomizationSpecSourceRefKind.GIT_REPOSITORY, name: prefix },
    };
    // In the shared-namespace variant the `_shared` folder holds the namespace every tenant needs.
    const shared = tenants.find((t) => !t.workload);
    for (const t of tenants) {
      const dependsOn = [...flux.dependsOn, ...(shared && t !== shared ? [`${prefix}-${shared.name}`] : [])];
      const name = `${prefix}-${t.name}`;
      new Kustomization(this, `Kustomization-${t.name}`, {
        metadata: { name, namespace: flux.namespace },
        spec: {
          ...common,
          path: `./${t.repoPath}`,
          healthChecks: t.workload ? [t.workload] : undefined,
          dependsOn: dependsOn.length > 0 ? dependsOn.map((n) => ({ name: n })) : undefined,
        },
      });
      this.tenantObjects.set(name, t.repoPath.slice(t.repoPath.lastIndexOf('/') + 1));
    }
    // Applies `_gitops/` recursively: the GitRepository, itself, and every tenant's Kustomization.
    new Kustomization(this, 'Root', {
      metadata: { name: prefix, namespace: flux.namespace },
      spec: { ...common, path: `./${base}/${GITOPS_DIR}` },
    });
  }
}

/** A file of `dist/` written by the delivery: its path, YAML, tenant folder (if it is a tenant's), and object. */
export interface DeliveryFile {
  readonly path: string;
  readonly content: string;
  readonly unit?: string;
  readonly object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
}

/**
 * Every delivery file of one cluster, paths relative to `dist/`: the shared objects in
 * `[<cluster>/]_gitops/`, and (Flux) each tenant's Kustomization in
 * `[<cluster>/]_gitops/tenants/<tenant>/`, counted as part of that tenant.
 */
export function clusterDeliveryFiles(platform: Platform, cluster: string | undefined, delivered: readonly DeliveredTenant[]): DeliveryFile[] {
  const prefix = cluster ? `${cluster}/` : '';
  const chart = new GitOpsChart(new App({ outdir: '/nonexistent' }), 'gitops', { platform, cluster, tenants: delivered });
  return (chart.toJson() as DeliveryFile['object'][]).map((object) => {
    const file = `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
    const folder = chart.tenantObjects.get(object.metadata.name);
    const content = blockYaml(object);
    if (folder === undefined) return { path: `${prefix}${GITOPS_DIR}/${file}`, content, object };
    return { path: `${prefix}${GITOPS_DIR}/${TENANT_DELIVERY_DIR}/${folder}/${file}`, content, unit: `${prefix}${folder}`, object };
  });
}

/** The tenant folder of a delivery file (`[<cluster>/]_gitops/tenants/<tenant>/…`), else undefined. */
export function deliveryUnitOfPath(file: string): string | undefined {
  const match = new RegExp(`^((?:[^/]+/)?)${GITOPS_DIR}/${TENANT_DELIVERY_DIR}/([^/]+)/[^/]+$`).exec(file);
  return match ? `${match[1]}${match[2]}` : undefined;
}
