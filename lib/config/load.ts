/**
 * Reads `config/platform.yaml` and `config/tenants/*.yaml`, validates them against the schema and
 * the cross-tenant rules, and returns typed, fully defaulted configuration, or throws a
 * ConfigError listing every problem with file, line, column and key path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { checkPlatform, checkTenants } from './rules';
import { ConfigError, ConfigProblem, formatKeyPath } from './errors';
import { Platform, PlatformSchema, Tenant, TenantSchema } from './schema';
import { hasPath, problemAt, readSource, SourceFile } from './source';
import { describeIssue } from './issues';
import { CredentialMatch, findCredential, scanForCredentials } from '../credentials';
import { names } from '../names';

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
  const platformDefaults = isPlainObject(platformSource?.value) ? platformSource.value.defaults : undefined;
  const platformCredentials = platformSource ? checkCredentials(platformSource, platformDefaults, problems) : new Set<string>();
  const platform = platformSource
    ? validate(PlatformSchema, platformSource.value, [{ ...platformSource, credentials: platformCredentials }], problems)
    : undefined;

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
    const credentials = checkCredentials(source, merged, problems);
    const locations: Location[] = platformSource
      ? [{ ...source, credentials }, { ...platformSource, prefix: ['defaults'], credentials: platformCredentials }]
      : [{ ...source, credentials }];
    const tenant = validate(TenantSchema, merged, locations, problems);
    if (!tenant || !platform) continue;
    tenants.push({
      source,
      config: {
        ...tenant,
        file: source.file,
        kanikoCacheRepo: tenant.cache.kaniko.repo ?? `${platform.registry.host}/${tenant.name}/cache`,
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
  /** Key paths of values that look like credentials: reported once, as such, and never echoed. */
  readonly credentials?: ReadonlySet<string>;
}

/**
 * config/ is reviewed and public like dist/: a value that looks like a credential is an error
 * that says where the value belongs instead. `tenant` is the tenant (merged with the platform
 * defaults) the file configures, for Secret names and the secret source in messages. Returns the
 * key paths of the hits.
 */
function checkCredentials(source: SourceFile, tenant: unknown, problems: ConfigProblem[]): Set<string> {
  const hits = scanForCredentials(source.value);
  for (const hit of hits) problems.push(problemAt(source, hit.path, credentialMessage(hit, tenant)));
  for (const comment of source.comments) {
    const match = findCredential(comment.text);
    if (!match) continue;
    const pos = source.lineCounter.linePos(comment.offset);
    problems.push({ file: source.file, line: pos.line, column: pos.col, keyPath: '', message: `a comment ${credentialMessage(match, tenant)}` });
  }
  return new Set(hits.map((hit) => formatKeyPath(hit.path)));
}

function credentialMessage(match: CredentialMatch, tenant: unknown): string {
  const raw = isPlainObject(tenant) ? tenant : {};
  // The tenant's own token Secret name, if it is a plain name (it may itself be the credential).
  const tokenSecret = typeof raw.tokenSecretName === 'string' && /^[a-z0-9][-a-z0-9.]*$/.test(raw.tokenSecretName) && !findCredential(raw.tokenSecretName)
    ? raw.tokenSecretName
    : 'gitlab-runner-tokens';
  const external = isPlainObject(raw.secrets) && raw.secrets.source === 'externalSecret';
  // With externalSecret the value goes into the secret store; the ExternalSecret fills the Secret.
  const into = (secret: string) => (external ? `in the secret store that fills Secret ${secret}` : `in Secret ${secret}`);
  const never = '(see README, Secrets), never in config/';
  switch (match.kind) {
    case 'gitlab-runner-token':
      return `looks like ${match.description}; put it ${into(tokenSecret)} ${never}`;
    case 'gitlab-registration-token':
      return `looks like ${match.description}, which new runners no longer use; create the runner in GitLab and put its glrt- token ${into(tokenSecret)} ${never}`;
    case 'gitlab-token':
      return `looks like ${match.description}; the runner needs none: registry credentials go ${into(names.kanikoPushSecret)}, job credentials in GitLab CI/CD variables ${never}`;
    case 'aws-access-key-id':
      return `looks like ${match.description}; use cache.s3.auth type iamRole or podIdentity, or type staticKeys with the keys ${external ? 'in the secret store that fills' : 'in'} the Secret named by cache.s3.auth.secretName ${never}`;
    case 'private-key':
      return `looks like ${match.description}; keys go in a Secret or GitLab CI/CD variables ${never}`;
    case 'docker-config':
      return `looks like ${match.description}; put them ${into(names.kanikoPushSecret)} or an imagePullSecrets Secret ${never}`;
    case 'url-credentials':
      return `looks like ${match.description}; remove the credentials from the URL: runners authenticate with their token ${into(tokenSecret)} ${never}`;
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, locations: readonly Location[], problems: ConfigProblem[]): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    for (const { path: issuePath, message, at } of describeIssue(schema, issue, value)) {
      // The first file that holds the key is where the value came from; if none does (a missing
      // key), point at the parent mapping in the primary file.
      const where = locations.find((loc) => hasPath(loc, [...(loc.prefix ?? []), ...issuePath])) ?? locations[0];
      const fullPath = [...(where.prefix ?? []), ...issuePath];
      // A credential is already reported as such; a schema message would only repeat its value.
      if (where.credentials?.has(formatKeyPath(fullPath))) continue;
      problems.push(problemAt(where, fullPath, message, at));
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

/** Keys that select a variant (`secrets.source`, `cache.s3.auth.type`): other variants' keys must not leak in. */
const DISCRIMINATORS = ['source', 'type'];

/**
 * Objects merge key by key; lists and scalars from `override` replace those of `base`. An object
 * that chooses another variant than the default (a different `source` or `type`) replaces it.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  if (DISCRIMINATORS.some((key) => key in override && key in base && override[key] !== base[key])) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}
