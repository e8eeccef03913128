/**
 * Reads `config/platform.yaml` and `config/tenants/*.yaml`, validates them against the schema and
 * the cross-tenant rules, and returns typed, fully defaulted configuration, or throws a
 * ConfigError listing every problem with file, line, column and key path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { checkPlatform, checkTenants } from './rules';
import { ConfigError, ConfigProblem } from './errors';
import { Platform, PlatformSchema, Tenant, TenantSchema } from './schema';
import { hasPath, problemAt, readSource, SourceFile } from './source';
import { describeIssue } from './issues';
import { cacheRegistryHost } from '../names';

/** A tenant as the constructs consume it: validated, defaults applied, derived values resolved. */
export interface TenantConfig extends Tenant {
  /** The file the tenant came from, for messages. */
  readonly file: string;
  /** Registry repository Kaniko uses as `--cache-repo`. */
  readonly kanikoCacheRepo: string;
}

export interface LoadedConfig {
  readonly platform: Platform;
  /** Sorted by name, so output order never depends on the file system. */
  readonly tenants: readonly TenantConfig[];
}

export interface LoadOptions {
  /** How file names are printed; default: relative to the working directory. */
  readonly displayBase?: string;
}

export function loadConfig(configDir: string, options: LoadOptions = {}): LoadedConfig {
  const problems: ConfigProblem[] = [];
  const display = (file: string) => path.relative(options.displayBase ?? process.cwd(), file) || file;

  const platformFile = path.join(configDir, 'platform.yaml');
  const platformSource = readSource(platformFile, display(platformFile), problems);
  const platform = platformSource ? validate(PlatformSchema, platformSource.value, [platformSource], problems) : undefined;

  const tenantDir = path.join(configDir, 'tenants');
  const tenantFiles = listYamlFiles(tenantDir);
  if (tenantFiles.length === 0) {
    problems.push({ file: display(tenantDir), line: 0, column: 0, keyPath: '', message: 'holds no tenant files (*.yaml); add one per tenant' });
  }

  const tenants: { config: TenantConfig; source: SourceFile }[] = [];
  for (const file of tenantFiles) {
    const source = readSource(file, display(file), problems);
    if (!source) continue;
    if (!isPlainObject(source.value)) {
      problems.push(problemAt(source, [], 'must be a mapping of tenant settings'));
      continue;
    }
    // Platform defaults sit under the tenant's own values; problems are reported where the value
    // came from: the tenant file, or platform.yaml's `defaults` when the tenant does not set it.
    const defaults = platformSource && isPlainObject(platform?.defaults) ? platform!.defaults : {};
    const merged = deepMerge(defaults, source.value);
    const locations = platformSource ? [source, { ...platformSource, prefix: ['defaults'] }] : [source];
    const tenant = validate(TenantSchema, merged, locations, problems);
    if (!tenant || !platform) continue;
    tenants.push({
      source,
      config: {
        ...tenant,
        file: source.file,
        kanikoCacheRepo: kanikoCacheRepo(platform, tenant),
      },
    });
  }

  if (platform && platformSource) {
    for (const problem of checkPlatform(platform)) problems.push(problemAt(platformSource, problem.path, problem.message));
    problems.push(...checkTenants(platform, tenants));
  }
  if (problems.length > 0 || !platform) throw new ConfigError(dedupe(problems));
  return { platform, tenants: tenants.map((t) => t.config).sort((a, b) => a.name.localeCompare(b.name)) };
}

interface Location extends SourceFile {
  /** Where the validated object sits inside this file (e.g. platform.yaml's `defaults`). */
  readonly prefix?: readonly PropertyKey[];
}

/**
 * Kaniko's `--cache-repo`: in `registry` mode the configured repo or `<registry.host>/<tenant>/cache`
 * (a project per tenant); in `s3` mode the tenant's own cache registry Service.
 */
function kanikoCacheRepo(platform: Platform, tenant: Tenant): string {
  if (tenant.cache.kaniko.mode === 's3') return `${cacheRegistryHost(tenant.name)}/cache`;
  return tenant.cache.kaniko.repo ?? `${platform.registry.host}/${tenant.name}/cache`;
}

function validate<S extends z.ZodType>(schema: S, value: unknown, locations: readonly Location[], problems: ConfigProblem[]): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    for (const { path: issuePath, message, at } of describeIssue(schema, issue, value)) {
      // The first file that holds the key is where the value came from; if none does (a missing
      // key), point at the parent mapping in the primary file.
      const where = locations.find((loc) => hasPath(loc, [...(loc.prefix ?? []), ...issuePath])) ?? locations[0];
      problems.push(problemAt(where, [...(where.prefix ?? []), ...issuePath], message, at));
    }
  }
  return undefined;
}

/** A bad value in platform.yaml's `defaults` is reported once, not once per tenant. */
function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.column}:${p.keyPath}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function listYamlFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; lists and scalars from `override` replace those of `base`. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}
