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
import type { LoadedConfig, TenantConfig } from './config/load';
import { Platform } from './config/schema';
import { ciTemplatePath, kanikoCiTemplate } from './ci-template';
import { TenantChart } from './tenant-chart';

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
}

/** The API objects of one tenant, in cdk8s's dependency order. */
export function synthesizeTenant(platform: Platform, tenant: TenantConfig): ManifestObject[] {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new TenantChart(app, tenant.name, { platform, tenant });
  try {
    return chart.toJson() as ManifestObject[];
  } catch (error) {
    throw new Error(`tenant '${tenant.name}' (${tenant.file}): ${(error as Error).message}`);
  }
}

/**
 * Every file of `dist/`, sorted by path: `<tenant>/<kind>-<name>.yaml` (one object per file, what
 * GitOps applies) and `ci/<tenant>/kaniko.gitlab-ci.yml` (the tenant's CI template, outside the
 * synced tenant folders).
 */
export function synthesize(config: LoadedConfig): OutputFile[] {
  const files: OutputFile[] = [];
  for (const tenant of config.tenants) {
    for (const object of synthesizeTenant(config.platform, tenant)) {
      assertNoSecretMaterial(object, tenant.name);
      files.push({ path: `${tenant.name}/${objectFileName(object)}`, content: toYaml(object) });
    }
    files.push({ path: ciTemplatePath(tenant.name), content: kanikoCiTemplate(config.platform, tenant) });
  }
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two objects would be written to ${file.path}; object names must be unique per kind`);
    seen.add(file.path);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function objectFileName(object: ManifestObject): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

export function toYaml(object: unknown): string {
  // lineWidth 0: never fold long strings, so a diff shows whole values.
  return stringify(object, { lineWidth: 0 });
}

/**
 * `dist/` is public to everyone with access to the Git repository: it may reference Secrets,
 * never contain them.
 */
function assertNoSecretMaterial(object: ManifestObject, tenant: string): void {
  if (object.kind === 'Secret' || ('data' in object && object.kind !== 'ConfigMap') || 'stringData' in object) {
    throw new Error(`tenant '${tenant}': refusing to write ${object.kind} ${object.metadata.name}: Secret values never go into dist/`);
  }
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
}

export class RemovalRefusedError extends Error {
  constructor(public readonly tenants: readonly string[]) {
    super(
      `refusing to remove tenant${tenants.length === 1 ? '' : 's'} ${tenants.join(', ')} from dist/: GitOps would prune ` +
        `${tenants.length === 1 ? 'its namespace' : 'their namespaces'} and every job running there. ` +
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
  const previous = readTree(outDir);
  const next = new Map(files.map((f) => [f.path, f.content]));
  const result = compareTenants(previous, next);
  if (result.removed.length > 0 && !options.allowRemoval) throw new RemovalRefusedError(result.removed);

  const parent = path.dirname(path.resolve(outDir));
  const base = path.basename(path.resolve(outDir));
  const staging = fs.mkdtempSync(path.join(parent, `.${base}-next-`));
  try {
    for (const file of files) {
      const target = path.join(staging, file.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.content);
    }
    const retired = `${staging.replace(/-next-/, '-old-')}`;
    if (fs.existsSync(outDir)) fs.renameSync(outDir, retired);
    fs.renameSync(staging, outDir);
    fs.rmSync(retired, { recursive: true, force: true });
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return result;
}

function readTree(dir: string): Map<string, string> {
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

const CI_DIR = 'ci';

/**
 * The tenant a file of `dist/` belongs to: its top-level folder, except `ci/<tenant>/…` (the CI
 * templates), which belongs to `<tenant>`. `ci` is a reserved tenant name.
 */
export function tenantOfPath(file: string): string {
  const [top, second] = file.split('/');
  return top === CI_DIR && second !== undefined ? second : top;
}

/** Tenants added, changed, removed and unchanged between two trees. */
function compareTenants(previous: Map<string, string>, next: Map<string, string>): WriteResult {
  const group = (tree: Map<string, string>) => {
    const byTenant = new Map<string, Map<string, string>>();
    for (const [file, content] of tree) {
      const tenant = tenantOfPath(file);
      if (!byTenant.has(tenant)) byTenant.set(tenant, new Map());
      byTenant.get(tenant)!.set(file, content);
    }
    return byTenant;
  };
  const before = group(previous);
  const after = group(next);
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
