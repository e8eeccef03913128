/**
 * One tenant's part of `dist/`: its chart synthesized in an App of its own, the files it becomes,
 * and the plain facts the cluster-level files need. Runs in the main thread or in a worker.
 */
import { App } from 'cdk8s';
import type { TenantConfig } from '../model/resolve';
import { OutputLimitError } from '../config/errors';
import type { Platform } from '../config/schema';
import { TenantChart, TenantChartFacts } from '../constructs/tenant-chart';
import { DeliveredTenant } from '../gitops/gitops-chart';
import { secretMaterialIn } from '../guards/secret-material';
import { ciTemplatePath, kanikoCiTemplate } from '../render/ci-template';
import { TenantSummaryFacts, tenantSummaryFile } from '../render/summary';
import { ManifestObject, objectFileName, OutputFile, toYaml } from './output';
import { extraManifests } from './extra-objects';
import { SharedValues } from '../config/shared-values';

/**
 * What the main thread keeps of every tenant until the end of a synth (delivery and summary facts,
 * the cache's record) shares its equal parts across tenants: the kinds of a folder, quotas and
 * workloads repeat from tenant to tenant. Process-wide (bounded), so the workers' answers, this
 * thread's tenants and the cache's entries use one copy of each.
 */
export const sharedFacts = new SharedValues();

/** `output` with its facts shared (sharedFacts); its files, unique to the tenant, stay as they are. */
export function withSharedFacts<T extends TenantOutput>(output: T): T {
  return { ...output, findings: sharedFacts.shareParts(output.findings), delivered: sharedFacts.shareParts(output.delivered), summary: sharedFacts.shareParts(output.summary) };
}

/**
 * The API objects of one tenant, in cdk8s's dependency order. `Chart.toJson()` validates and
 * resolves its whole App, so one App per tenant keeps the cost linear in the number of tenants.
 */
export function synthesizeTenant(platform: Platform, tenant: TenantConfig): ManifestObject[] {
  return synthesizeTenantChart(platform, tenant).objects;
}

/** The API objects of one tenant and the facts its chart hands the engine. */
function synthesizeTenantChart(platform: Platform, tenant: TenantConfig): { objects: ManifestObject[]; facts: TenantChartFacts } {
  const app = new App({ outdir: '/nonexistent' });
  try {
    // Construction is inside: a construct that throws names its tenant, as a failed validation does.
    const chart = new TenantChart(app, tenant.name, { platform, tenant });
    const objects = chart.toJson() as ManifestObject[];
    // The tenant's own manifests follow its synthesized objects (docs/extra-objects.md).
    return { objects: [...objects, ...extraManifests(platform, tenant, objects)], facts: chart.facts };
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
  const { objects, facts } = synthesizeTenantChart(platform, tenant);
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
  const summary: TenantSummaryFacts = { namespaces: [...facts.namespaces].sort(), quota: facts.jobQuota };
  files.push(tenantSummaryFile(platform, tenant, summary, prefix));
  return { files, findings, delivered: deliveredFacts(platform, tenant.name, unit, objects, facts), summary };
}

const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'PriorityClass']);

/** What a chart states about its folder: its namespaces, the primary one first. */
export interface FolderFacts {
  readonly namespaces: readonly string[];
}

/**
 * What the delivery objects need to know of a folder of objects (a tenant's, or the shared
 * namespace's). The namespaces are the chart's own facts. The kinds are read from the
 * synthesized objects on purpose: they are what the folder holds, which test/gitops.test.ts checks
 * against the AppProject's fixed kind lists (a new construct's kinds show up without anybody
 * keeping a second list here).
 */
export function deliveredFacts(platform: Platform, name: string, unit: string, objects: readonly ManifestObject[], facts: FolderFacts): DeliveredTenant {
  // The health-checked workload stays what it was: the folder's first Deployment or DaemonSet.
  // Note: with cache.kaniko.mode s3 that is the Kaniko cache registry, not the runner manager
  // (TenantChart's `runner.workload`); changing it changes Flux output, so not in this refactor.
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
  return {
    name,
    repoPath: `${platform.gitops.distPath}/${unit}`,
    namespaces: [...facts.namespaces],
    namespacedKinds: kinds(false),
    clusterKinds: kinds(true),
    workload: workload && { apiVersion: workload.apiVersion, kind: workload.kind, name: workload.metadata.name, namespace: workload.metadata.namespace! },
  };
}
