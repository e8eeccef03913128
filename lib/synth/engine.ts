/**
 * Synthesis: configuration → manifests (in memory) → `dist/` (atomically).
 *
 * Each tenant chart is synthesized in an App of its own. `Chart.toJson()` validates and resolves
 * its whole App, so one App per tenant keeps the cost linear in the number of tenants while every
 * construct is still validated and objects keep cdk8s's dependency order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import type { ClusterConfig, LoadedConfig, TenantConfig } from '../config/load';
import { Platform } from '../config/schema';
import { clusterDeliveryFiles, DeliveredTenant, deliveryUnitOfPath, GitOpsTool, removalConsequence } from '../gitops/gitops-chart';
import { tenantLayout } from '../model/layout';
import { ClusterSummary, renderSummary, TenantSummaryFacts, tenantSummaryFile } from '../render/summary';
import { SHARED_DIR, SharedNamespaceChart } from '../constructs/shared-namespace-chart';
import { ciTemplatePath, kanikoCiTemplate } from '../render/ci-template';
import { TenantChart } from '../constructs/tenant-chart';
import { formatKeyPath } from '../config/errors';
import { scanForCredentials } from '../guards/credentials';

export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** One file of `dist/`, by its path relative to `dist/`. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
  /**
   * The tenant folder the file belongs to (`tenant-1`, or `prod/tenant-1` with several clusters),
   * for the added/changed/removed report and the removal guard; unset for other files.
   */
  readonly unit?: string;
}

/** The API objects of one tenant, in cdk8s's dependency order. */
export function synthesizeTenant(platform: Platform, tenant: TenantConfig): ManifestObject[] {
  const app = new App({ outdir: '/nonexistent' });
  try {
    // Construction is inside: a construct that throws names its tenant, as a failed validation does.
    const chart = new TenantChart(app, tenant.name, { platform, tenant });
    return chart.toJson() as ManifestObject[];
  } catch (error) {
    throw new Error(`tenant '${tenant.name}' (${tenant.file}): ${(error as Error).message}`);
  }
}

/**
 * Everything one tenant contributes to `dist/`: its files (tenant folder and CI template), what
 * the secret guard found in them, and the facts the cluster-level files need (delivery objects,
 * summary). Plain data, so worker threads can produce it (workers.ts).
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
  const primaryNamespace = tenantLayout(platform, tenant).managerNamespace;
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
  return { files, findings, delivered: deliveredTenant(platform, tenant.name, unit, objects), summary };
}

/** Produces the outputs of a cluster's tenants, in configuration order. */
export type TenantSynthesizer = (config: ClusterConfig, prefix: string) => TenantOutput[];

/** The default: every tenant in this thread, one after the other. */
export const synthesizeInThisThread: TenantSynthesizer = (config, prefix) =>
  config.tenants.map((tenant) => synthesizeTenantOutput(config.platform, tenant, prefix));

/** Every file of `dist/` for a single-cluster configuration. */
export function synthesize(config: LoadedConfig): OutputFile[] {
  return synthesizeClusters([config]);
}

/**
 * Every file of `dist/`: per cluster (a folder of its own when there are several), one folder per
 * tenant with one object per file (`<kind>-<name>.yaml`), the tenant's Kaniko CI template in
 * `ci/<tenant>/`, the delivery objects in `_gitops/`, and a `README.md` summary. Sorted by path.
 * Throws before returning when any object holds secret material.
 */
export function synthesizeClusters(clusters: readonly ClusterConfig[], synthesizeTenants: TenantSynthesizer = synthesizeInThisThread): OutputFile[] {
  const files: OutputFile[] = [];
  const summaries: ClusterSummary[] = [];
  const findings: string[] = [];
  for (const config of clusters) {
    const prefix = config.cluster ? `${config.cluster}/` : '';
    const outputs = synthesizeTenants(config, prefix);
    const delivered = outputs.map((o) => o.delivered);
    for (const output of outputs) {
      files.push(...output.files);
      findings.push(...output.findings);
    }
    if (config.platform.architecture.variant === 'sharedNamespace') {
      const unit = `${prefix}${SHARED_DIR}`;
      const shared = new SharedNamespaceChart(new App({ outdir: '/nonexistent' }), 'shared', { platform: config.platform, tenants: config.tenants });
      const objects = shared.toJson() as ManifestObject[];
      for (const object of objects) files.push({ path: `${unit}/${objectFileName(object)}`, content: toYaml(object), unit });
      // The shared namespace comes first: every tenant's objects live in it.
      delivered.unshift(deliveredTenant(config.platform, 'shared', unit, objects));
    }
    for (const { path: file, content, unit, object } of clusterDeliveryFiles(config.platform, config.cluster, delivered)) {
      findings.push(...secretMaterialIn(object as ManifestObject).map((finding) => `${file}: ${finding}`));
      files.push({ path: file, content, unit });
    }
    summaries.push({
      cluster: config.cluster,
      platform: config.platform,
      tenants: config.tenants,
      facts: Object.fromEntries(config.tenants.map((t, i) => [t.name, outputs[i].summary])),
    });
  }
  // Checked before anything is written: one finding anywhere and dist/ stays as it was.
  if (findings.length > 0) throw new SecretMaterialError(findings);
  files.push({ path: 'README.md', content: renderSummary(summaries) });
  return checkAndSortFiles(files);
}

/** Fails on two files with one path; returns the files sorted by path. */
export function checkAndSortFiles(files: OutputFile[]): OutputFile[] {
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two objects would be written to ${file.path}; object names must be unique per kind`);
    seen.add(file.path);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
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

function deliveredTenant(platform: Platform, name: string, unit: string, objects: readonly ManifestObject[]): DeliveredTenant {
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

/**
 * `<kind>-<name>.yaml`; an object in a folder's second namespace (`<tenant>-build`) also names its
 * namespace, `<kind>-<namespace>-<name>.yaml`, since the same policy exists in both.
 */
export function objectFileName(object: ManifestObject, primaryNamespace?: string): string {
  const namespace = object.metadata.namespace;
  const qualifier = namespace && primaryNamespace && namespace !== primaryNamespace ? `${namespace}-` : '';
  return `${object.kind.toLowerCase()}-${qualifier}${object.metadata.name}.yaml`;
}

export function toYaml(object: unknown): string {
  // lineWidth 0: never fold long strings, so a diff shows whole values.
  return stringify(object, { lineWidth: 0 });
}

/** Thrown when an object that would be written to `dist/` holds or looks like secret material. */
export class SecretMaterialError extends Error {
  constructor(public readonly findings: readonly string[]) {
    super(
      `refusing to write dist/: secret material in ${findings.length} place${findings.length === 1 ? '' : 's'} ` +
        `(dist/ is readable by everyone with access to the Git repository):\n${findings.join('\n')}\n` +
        'Reference Secrets by name (secretKeyRef, volumes) or let ExternalSecrets fill them (README, Secrets).',
    );
    this.name = 'SecretMaterialError';
  }
}

// A template value that only references fetched keys, e.g. `{{ .dockerconfigjson | toString }}`.
const TEMPLATE_REFERENCE = /^(\s*\{\{[^{}]*\}\}\s*)+$/;

/**
 * `dist/` is public to everyone with access to the Git repository: it may reference Secrets,
 * never contain them. Returns one line per problem, naming the object and the key path (never
 * the value): a Secret object, Secret `data`/`stringData`, a literal value in an ExternalSecret
 * template, or any string that looks like a credential (lib/credentials.ts).
 */
export function secretMaterialIn(object: ManifestObject): string[] {
  const what = `${object.kind} ${object.metadata?.name ?? '(unnamed)'}`;
  const findings: string[] = [];
  if (object.kind === 'Secret') findings.push(`${what}: is a Secret object; Secrets are referenced or filled by an ExternalSecret, never written to dist/`);
  if ('data' in object && object.kind !== 'ConfigMap' && object.kind !== 'Secret') findings.push(`${what} data: Secret-style data never goes into dist/`);
  if ('stringData' in object) findings.push(`${what} stringData: Secret values never go into dist/`);
  if (object.kind === 'ExternalSecret') {
    const templateData = (object.spec as { target?: { template?: { data?: Record<string, unknown> } } } | undefined)?.target?.template?.data ?? {};
    for (const [key, value] of Object.entries(templateData)) {
      if (typeof value !== 'string' || !TEMPLATE_REFERENCE.test(value)) {
        findings.push(`${what} spec.target.template.data.${key}: is a literal value, which would be committed; templates may only reference fetched keys ({{ .key }})`);
      }
    }
  }
  for (const hit of scanForCredentials(object)) findings.push(`${what} ${formatKeyPath(hit.path)}: looks like ${hit.description}`);
  return findings;
}

export interface WriteResult {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  readonly unchanged: string[];
}

export interface WriteOptions {
  /** Allow tenants that exist in `dist/` but no longer in the configuration to be deleted. */
  readonly allowRemoval?: boolean;
  /** The delivery tool, for the removal guard's message. */
  readonly tool?: GitOpsTool;
}

export class RemovalRefusedError extends Error {
  constructor(public readonly tenants: readonly string[], tool?: GitOpsTool) {
    super(
      `refusing to remove tenant${tenants.length === 1 ? '' : 's'} ${tenants.join(', ')} from dist/: ${removalConsequence(tool, tenants.length)}. ` +
        'Run again with --allow-removal if that is intended.',
    );
    this.name = 'RemovalRefusedError';
  }
}

/**
 * Replaces `outDir` with exactly `files`: written into a sibling temporary directory first, then
 * swapped in with renames, so a reader (or a failed run) never sees a half-written tree.
 */
export function writeOutput(outDir: string, files: readonly OutputFile[], options: WriteOptions = {}): WriteResult {
  const result = compareOutput(outDir, files, options);
  const staged = new StagedOutput(outDir);
  try {
    staged.write(files);
    staged.swap();
  } catch (error) {
    staged.abort();
    throw error;
  }
  return result;
}

/**
 * What writing `files` to `outDir` would add, change, keep and remove; throws RemovalRefusedError
 * when it would remove a tenant and `allowRemoval` is not set.
 */
export function compareOutput(outDir: string, files: readonly OutputFile[], options: WriteOptions = {}): WriteResult {
  const result = compareTenants(readTree(outDir), files);
  if (result.removed.length > 0 && !options.allowRemoval) throw new RemovalRefusedError(result.removed, options.tool);
  return result;
}

/**
 * A sibling temporary directory of `outDir` that files are written into (in any order, as they
 * are synthesized), then swapped in for `outDir` at once, or removed.
 */
export class StagedOutput {
  private readonly staging: string;
  private readonly made = new Set<string>();
  private readonly written = new Set<string>();

  constructor(private readonly outDir: string) {
    const parent = path.dirname(path.resolve(outDir));
    const base = path.basename(path.resolve(outDir));
    this.staging = fs.mkdtempSync(path.join(parent, `.${base}-next-`));
  }

  /** Writes the files not written yet. */
  public write(files: readonly OutputFile[]): void {
    for (const file of files) {
      if (this.written.has(file.path)) continue;
      const target = path.join(this.staging, file.path);
      // One mkdir per directory, not per file: thousands of tenants write tens of thousands of files.
      const dir = path.dirname(target);
      if (!this.made.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        this.made.add(dir);
      }
      fs.writeFileSync(target, file.content);
      this.written.add(file.path);
    }
  }

  /** Puts the staged tree in place of `outDir` (renames), then removes the old tree. */
  public swap(): void {
    const retired = `${this.staging.replace(/-next-/, '-old-')}`;
    if (fs.existsSync(this.outDir)) fs.renameSync(this.outDir, retired);
    fs.renameSync(this.staging, this.outDir);
    removeTree(retired);
  }

  public abort(): void {
    removeTree(this.staging);
  }
}

/**
 * `fs.rmSync(dir, { recursive: true, force: true })` for a tree of directories and files, with one
 * readdir per directory instead of an lstat per entry (a third of the time at 30,000 files).
 * Anything that is not a directory (a file, a symlink) is unlinked, never followed.
 */
function removeTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) removeTree(child);
    else fs.unlinkSync(child);
  }
  fs.rmdirSync(dir);
}

export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else out.set(child, fs.readFileSync(path.join(dir, child), 'utf8'));
    }
  };
  walk('');
  return out;
}

/**
 * Tenant folders of an existing tree: the folders that hold a Namespace object (the layout is
 * `<tenant>/` or `<cluster>/<tenant>/`).
 */
export function tenantUnits(tree: Map<string, string>): Set<string> {
  const units = new Set<string>();
  for (const file of tree.keys()) {
    const match = /^(.+)\/namespace-[^/]+\.yaml$/.exec(file);
    if (match) units.add(match[1]);
  }
  return units;
}

/**
 * The tenant folder a file belongs to: its own folder, or for `[<cluster>/]ci/<tenant>/…` (the CI
 * templates) and `[<cluster>/]_gitops/tenants/<tenant>/…` (its Flux Kustomization) the tenant's folder. Undefined for files of no tenant.
 */
export function unitOfPath(file: string, units: ReadonlySet<string>): string | undefined {
  const delivery = deliveryUnitOfPath(file);
  if (delivery && units.has(delivery)) return delivery;
  const ci = /^((?:[^/]+\/)?)ci\/([^/]+)\/[^/]+$/.exec(file);
  if (ci && units.has(`${ci[1]}${ci[2]}`)) return `${ci[1]}${ci[2]}`;
  const folder = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  return units.has(folder) ? folder : undefined;
}

/** Tenants added, changed, removed and unchanged between two trees. */
function compareTenants(previous: Map<string, string>, next: readonly OutputFile[]): WriteResult {
  const oldUnits = tenantUnits(previous);
  const group = (entries: Iterable<[string, string, string | undefined]>) => {
    const byTenant = new Map<string, Map<string, string>>();
    for (const [file, content, unit] of entries) {
      if (!unit) continue;
      if (!byTenant.has(unit)) byTenant.set(unit, new Map());
      byTenant.get(unit)!.set(file, content);
    }
    return byTenant;
  };
  const before = group([...previous].map(([f, c]) => [f, c, unitOfPath(f, oldUnits)] as [string, string, string | undefined]));
  const after = group(next.map((f) => [f.path, f.content, f.unit] as [string, string, string | undefined]));
  const result: WriteResult = { added: [], changed: [], removed: [], unchanged: [] };
  for (const [tenant, files] of after) {
    const old = before.get(tenant);
    if (!old) result.added.push(tenant);
    else if (old.size !== files.size || [...files].some(([f, c]) => old.get(f) !== c)) result.changed.push(tenant);
    else result.unchanged.push(tenant);
  }
  for (const tenant of before.keys()) if (!after.has(tenant)) result.removed.push(tenant);
  for (const list of Object.values(result)) list.sort();
  return result;
}
