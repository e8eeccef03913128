/**
 * One tenant's part of `dist/`: its chart synthesized in an App of its own, the files it becomes,
 * and the plain facts the cluster-level files need. Runs in the main thread or in a worker.
 */
import { App } from 'cdk8s';
import type { TenantConfig } from '../model/resolve';
import { OutputLimitError } from '../config/errors';
import type { Platform } from '../config/schema';
import { TenantChart } from '../constructs/tenant-chart';
import { DeliveredTenant } from '../gitops/gitops-chart';
import { secretMaterialIn } from '../guards/secret-material';
import { ciTemplatePath, kanikoCiTemplate } from '../render/ci-template';
import { TenantSummaryFacts, tenantSummaryFile } from '../render/summary';
import { ManifestObject, objectFileName, OutputFile, toYaml } from './output';

/**
 * The API objects of one tenant, in cdk8s's dependency order. `Chart.toJson()` validates and
 * resolves its whole App, so one App per tenant keeps the cost linear in the number of tenants.
 */
export function synthesizeTenant(platform: Platform, tenant: TenantConfig): ManifestObject[] {
  const app = new App({ outdir: '/nonexistent' });
  try {
    // Construction is inside: a construct that throws names its tenant, as a failed validation does.
    const chart = new TenantChart(app, tenant.name, { platform, tenant });
    return chart.toJson() as ManifestObject[];
  } catch (error) {
    const message = `tenant '${tenant.name}' (${tenant.file}): ${(error as Error).message}`;
    throw error instanceof OutputLimitError ? new OutputLimitError(message) : new Error(message);
  }
}

/**
 * Everything one tenant contributes to `dist/`: its files (tenant folder and CI template), what
 * the secret guard found in them, and the facts the cluster-level files need (delivery objects,
 * summary). Plain data, so worker threads can produce it.
 */
export interface TenantOutput {
  readonly files: OutputFile[];
  readonly findings: string[];
  readonly delivered: DeliveredTenant;
  readonly summary: TenantSummaryFacts;
}

/** The output of one tenant, `prefix` being `<cluster>/` in a multi-cluster repository. */
export function synthesizeTenantOutput(platform: Platform, tenant: TenantConfig, prefix = ''): TenantOutput {
  const objects = synthesizeTenant(platform, tenant);
  const unit = `${prefix}${tenant.name}`;
  const primaryNamespace = tenant.layout.managerNamespace;
  const files: OutputFile[] = [];
  const findings: string[] = [];
  for (const object of objects) {
    findings.push(...secretMaterialIn(object).map((finding) => `tenant '${tenant.name}': ${finding}`));
    files.push({ path: `${unit}/${objectFileName(object, primaryNamespace)}`, content: toYaml(object), unit });
  }
  // The CI template stays outside the synced tenant folder (Argo CD and Flux would apply it).
  files.push({ path: `${prefix}${ciTemplatePath(tenant.name)}`, content: kanikoCiTemplate(platform, tenant), unit });
  const summary = summaryFacts(objects);
  files.push(tenantSummaryFile(platform, tenant, summary, prefix));
  return { files, findings, delivered: deliveredFacts(platform, tenant.name, unit, objects), summary };
}

function summaryFacts(objects: readonly ManifestObject[]): TenantSummaryFacts {
  const namespaces = new Set<string>();
  for (const o of objects) {
    if (o.kind === 'Namespace') namespaces.add(o.metadata.name);
    else if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
  }
  // The quota of the job pods (in a split layout the one that is not the manager's).
  const quotas = objects.filter((o) => o.kind === 'ResourceQuota') as unknown as { spec?: { hard?: Record<string, string> } }[];
  const jobs = quotas.reduce<Record<string, string>>((best, q) => {
    const hard = q.spec?.hard ?? {};
    return Number(hard.pods ?? 0) > Number(best.pods ?? 0) ? hard : best;
  }, {});
  return { namespaces: [...namespaces].sort(), quota: jobs };
}

const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'PriorityClass']);

/** What the delivery objects need to know of a folder of objects (a tenant's, or the shared namespace's). */
export function deliveredFacts(platform: Platform, name: string, unit: string, objects: readonly ManifestObject[]): DeliveredTenant {
  const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');
  const kinds = (clusterScoped: boolean) => {
    const found = new Map<string, { group: string; kind: string }>();
    for (const o of objects) {
      if (CLUSTER_SCOPED_KINDS.has(o.kind) !== clusterScoped) continue;
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      found.set(`${group}/${o.kind}`, { group, kind: o.kind });
    }
    return [...found.values()];
  };
  const namespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  for (const o of objects) if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
  return {
    name,
    repoPath: `${platform.gitops.distPath}/${unit}`,
    namespaces: [...namespaces],
    namespacedKinds: kinds(false),
    clusterKinds: kinds(true),
    workload: workload && { apiVersion: workload.apiVersion, kind: workload.kind, name: workload.metadata.name, namespace: workload.metadata.namespace! },
  };
}
