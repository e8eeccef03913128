/**
 * GitOps delivery: the Argo CD or Flux objects that point at the tenant folders of `dist/`,
 * written to `dist/_gitops/` (per cluster), plus the annotations tenant objects need so that
 * syncing is ordered and pruning can never delete a tenant Namespace by accident.
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Application } from '../../imports/argocd-application-argoproj.io';
import { AppProject } from '../../imports/argocd-appproject-argoproj.io';
import { Kustomization, KustomizationSpecSourceRefKind } from '../../imports/kustomize.toolkit.fluxcd.io';
import { GitRepository } from '../../imports/source.toolkit.fluxcd.io';
import { Platform } from '../config/schema';

/** Folder of `dist/` (per cluster) that holds the delivery objects, apart from the sync roots. */
export const GITOPS_DIR = '_gitops';

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

// Objects whose kind comes from a CRD apply after the core objects (Argo CD sync waves).
const CRD_GROUPS = new Set(['monitoring.coreos.com', 'external-secrets.io']);

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

/** Adds the delivery annotations to every API object below `scope`. */
export function annotateForDelivery(scope: Construct, tool: GitOpsTool): void {
  if (tool === 'none') return;
  for (const child of scope.node.findAll()) {
    if (!(child instanceof ApiObject)) continue;
    for (const [key, value] of Object.entries(deliveryAnnotations(tool, child.apiVersion, child.kind))) child.metadata.addAnnotation(key, value);
  }
}

export interface GitOpsChartProps {
  readonly platform: Platform;
  /** Cluster name in a multi-cluster repository; names the objects apart. */
  readonly cluster?: string;
  readonly tenants: readonly DeliveredTenant[];
}

/**
 * The delivery objects of one cluster. Argo CD: an AppProject limited to the tenant namespaces and
 * the kinds the tenant folders contain (no cluster-scoped kind but Namespace), one Application per
 * tenant folder, and a root Application for this folder. Flux: a GitRepository, one Kustomization
 * per tenant folder with a health check on the runner, and a root Kustomization for this folder.
 */
export class GitOpsChart extends Chart {
  constructor(scope: Construct, id: string, props: GitOpsChartProps) {
    super(scope, id, { disableResourceNameHashes: true, labels: { 'app.kubernetes.io/managed-by': 'tenant-runners' } });
    const { platform, cluster, tenants } = props;
    const gitops = platform.gitops;
    if (gitops.tool === 'none' || !gitops.repoUrl) return;
    const prefix = cluster ? `tenant-runners-${cluster}` : 'tenant-runners';
    const rootPath = [gitops.distPath, cluster, GITOPS_DIR].filter(Boolean).join('/');
    if (gitops.tool === 'argocd') this.argocd(platform, prefix, rootPath, tenants);
    else this.flux(platform, prefix, rootPath, tenants);
  }

  private argocd(platform: Platform, prefix: string, rootPath: string, tenants: readonly DeliveredTenant[]): void {
    const { argocd, repoUrl, revision } = platform.gitops;
    const collect = (pick: (t: DeliveredTenant) => readonly { group: string; kind: string }[]) => {
      const kinds = new Map<string, { group: string; kind: string }>();
      for (const t of tenants) for (const k of pick(t)) kinds.set(`${k.group}/${k.kind}`, k);
      return [...kinds.values()].sort((a, b) => `${a.group}/${a.kind}`.localeCompare(`${b.group}/${b.kind}`));
    };
    const destinations = new Set(tenants.flatMap((t) => t.namespaces));
    new AppProject(this, 'Project', {
      metadata: { name: argocd.project, namespace: argocd.namespace },
      spec: {
        description: 'GitLab Runner tenants synthesized by tenant-runners',
        sourceRepos: [repoUrl!],
        destinations: [...destinations].sort().map((namespace) => ({ server: argocd.destinationServer, namespace })),
        // Only the cluster-scoped kinds the folders contain (Namespace; PriorityClass in the shared
        // variant): a tenant folder can never grant itself a ClusterRole.
        clusterResourceWhitelist: collect((t) => t.clusterKinds),
        namespaceResourceWhitelist: collect((t) => t.namespacedKinds),
      },
    });
    const application = (id: string, name: string, path: string, project: string, namespace: string) =>
      new Application(this, id, {
        metadata: { name, namespace: argocd.namespace },
        spec: {
          project,
          source: { repoUrl: repoUrl!, targetRevision: revision, path, directory: { recurse: false } },
          destination: { server: argocd.destinationServer, namespace },
          syncPolicy: {
            automated: { prune: true, selfHeal: true },
            // The tenant folder holds its Namespace; PruneLast deletes removed objects after the rest syncs.
            syncOptions: ['CreateNamespace=false', 'PruneLast=true'],
          },
        },
      });
    for (const t of tenants) application(`App-${t.name}`, `${prefix}-${t.name}`, t.repoPath, argocd.project, t.namespaces[0]);
    // The root Application keeps this folder (project and tenant Applications) in sync; it lives in
    // Argo CD's own project because it manages Argo CD objects.
    application('Root', prefix, rootPath, 'default', argocd.namespace);
  }

  private flux(platform: Platform, prefix: string, rootPath: string, tenants: readonly DeliveredTenant[]): void {
    const { flux, repoUrl, revision } = platform.gitops;
    new GitRepository(this, 'Source', {
      metadata: { name: prefix, namespace: flux.namespace },
      spec: { interval: '1m', url: repoUrl!, ref: { branch: revision } },
    });
    const sourceRef = { kind: KustomizationSpecSourceRefKind.GIT_REPOSITORY, name: prefix };
    // In the shared-namespace variant the first folder holds the namespace every tenant needs.
    const shared = tenants.find((t) => !t.workload);
    for (const t of tenants) {
      const dependsOn = [...flux.dependsOn, ...(shared && t !== shared ? [`${prefix}-${shared.name}`] : [])];
      new Kustomization(this, `Kustomization-${t.name}`, {
        metadata: { name: `${prefix}-${t.name}`, namespace: flux.namespace },
        spec: {
          interval: flux.interval,
          path: `./${t.repoPath}`,
          prune: true,
          sourceRef,
          timeout: '5m',
          healthChecks: t.workload ? [t.workload] : undefined,
          dependsOn: dependsOn.length > 0 ? dependsOn.map((name) => ({ name })) : undefined,
        },
      });
    }
    new Kustomization(this, 'Root', {
      metadata: { name: prefix, namespace: flux.namespace },
      spec: { interval: flux.interval, path: `./${rootPath}`, prune: true, sourceRef },
    });
  }
}
