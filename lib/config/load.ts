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
import { Platform, PlatformSchema, TenantSchema } from './schema';
import { fileKind, hasPath, parseSource, problemAt, readSource, readText, reparsedOnDemand, SourceFile } from './source';
import { describeIssue } from './issues';
import { names } from '../model/names';
import { ClusterConfig, LoadedConfig, resolveTenant, TenantConfig } from '../model/resolve';
import { CredentialMatch, findCredential, scanForCredentials } from '../guards/credentials';
import { checkAcrossClusters } from './isolation-rules';
import { checkTenantFolders, readExtraObjects } from './extra-objects';
import { SharedValues } from './shared-values';


export interface LoadOptions {
  /** How file names are printed; default: relative to the working directory. */
  readonly displayBase?: string;
  /** Where `npm run schema` writes the editor schemas; default `<configDir>/schema` (`config/schema` for every cluster). */
  readonly schemaDir?: string;
  /**
   * Called with each tenant as soon as its file is valid, while no problem has been found so far
   * (the synth command's workers start on it while the rest loads). The configuration may still
   * fail to load: the cross-tenant rules come after the last file.
   */
  readonly onTenant?: TenantLoaded;
  /** Equal parts of resolved tenants are one object (every cluster of a configuration uses one table). */
  readonly sharedValues?: SharedValues;
}

/** Called with a tenant as soon as its file is valid (LoadOptions.onTenant). */
export type TenantLoaded = (tenant: TenantConfig, platform: Platform, cluster?: string) => void;

const MODELINE = /yaml-language-server:\s*\$schema=(\S+)/;

/**
 * A `# yaml-language-server: $schema=…` modeline with a relative path must point at the schema
 * file: copied into `config/clusters/<cluster>/` unchanged it points nowhere, and the editor
 * silently stops validating. Names the path that works from where the file is.
 */
function checkSchemaModeline(file: string, source: SourceFile, schemaFile: string, problems: ConfigProblem[]): void {
  for (const comment of source.comments) {
    const match = MODELINE.exec(comment.text);
    if (!match || /^[a-z]+:\/\//.test(match[1]) || fs.existsSync(path.resolve(path.dirname(file), match[1]))) continue;
    const expected = path.relative(path.dirname(file), schemaFile).split(path.sep).join('/');
    const { line, col } = source.lineCounter.linePos(comment.offset);
    problems.push({
      file: source.file,
      line,
      column: col,
      keyPath: '',
      message: `the $schema modeline points at ${match[1]}, which does not exist from this file; use '# yaml-language-server: $schema=${expected}' (npm run schema writes it)`,
    });
  }
}

export function loadConfig(configDir: string, options: LoadOptions = {}): LoadedConfig {
  const problems: ConfigProblem[] = [];
  const display = (file: string) => path.relative(options.displayBase ?? process.cwd(), file) || file;

  const platformFile = path.join(configDir, 'platform.yaml');
  const platformSource = readSource(platformFile, display(platformFile), problems);
  const schemaDir = options.schemaDir ?? path.join(configDir, 'schema');
  if (platformSource) checkSchemaModeline(platformFile, platformSource, path.join(schemaDir, 'platform.schema.json'), problems);
  const platformDefaults = isPlainObject(platformSource?.value) ? platformSource.value.defaults : undefined;
  const platformCredentials = platformSource ? checkCredentials(platformSource, platformDefaults, problems) : new Set<string>();
  const platform = platformSource
    ? validate(PlatformSchema, platformSource.value, [{ ...platformSource, credentials: platformCredentials }], problems)
    : undefined;

  const tenantDir = path.join(configDir, 'tenants');
  const tenantFiles = listYamlFiles(tenantDir, display(tenantDir), problems);
  if (tenantFiles?.length === 0) {
    problems.push({ file: display(tenantDir), line: 0, column: 0, keyPath: '', message: 'holds no tenant files (*.yaml); add one per tenant' });
  }

  const tenants: { config: TenantConfig; source: SourceFile }[] = [];
  const sharedValues = options.sharedValues ?? new SharedValues();
  for (const file of tenantFiles ?? []) {
    const text = readText(file, display(file), problems);
    const source = text === undefined ? undefined : parseSource(display(file), text, problems);
    if (!source) continue;
    checkSchemaModeline(file, source, path.join(schemaDir, 'tenant.schema.json'), problems);
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
    const resolved = resolveTenant(platform, tenant, source.file);
    // The tenant's own manifests (docs/extra-objects.md): part of the resolved tenant, so workers and the synth cache see them.
    const extraObjects = readExtraObjects(resolved, file.replace(/\.ya?ml$/, ''), display, problems);
    // Thousands of tenants hold mostly the same defaults: one shared copy of each (shared-values.ts).
    const config = sharedValues.shareParts(extraObjects.length > 0 ? { ...resolved, extraObjects } : resolved);
    // The parsed document is dropped here: the rules after the last file parse it again only to point at a problem.
    tenants.push({ source: reparsedOnDemand(source.file, text!), config });
    if (problems.length === 0) options.onTenant?.(config, platform);
  }
  if (tenantFiles) checkTenantFolders(tenantDir, tenantFiles, display, problems);

  if (platform && platformSource) {
    for (const problem of checkPlatform(platform)) problems.push(problemAt(platformSource, problem.path, problem.message));
    problems.push(...checkTenants(platform, tenants));
  }
  if (problems.length > 0 || !platform) throw new ConfigError(dedupe(problems));
  return { platform, tenants: tenants.map((t) => t.config).sort((a, b) => a.name.localeCompare(b.name)) };
}

/**
 * The clusters of a configuration folder: `config/platform.yaml` + `config/tenants/` is one
 * cluster (written to `dist/<tenant>/`); `config/clusters/<cluster>/{platform.yaml,tenants/}` is
 * one cluster each (written to `dist/<cluster>/<tenant>/`). Cross-tenant rules apply per cluster,
 * so a tenant name may repeat across clusters. Problems of all clusters are reported together.
 */
export function loadClusters(configDir: string, options: LoadOptions = {}): ClusterConfig[] {
  const clustersDir = path.join(configDir, 'clusters');
  const clustersStat = fs.lstatSync(clustersDir, { throwIfNoEntry: false });
  if (!clustersStat) return [loadConfig(configDir, options)];
  const display = (file: string) => path.relative(options.displayBase ?? process.cwd(), file) || file;
  const problems: ConfigProblem[] = [];
  if (!clustersStat.isDirectory()) {
    throw new ConfigError([{ file: display(clustersDir), line: 0, column: 0, keyPath: '', message: `is ${fileKind(clustersStat)}; it must be a folder with one folder per cluster` }]);
  }
  for (const stray of ['platform.yaml', 'tenants']) {
    if (fs.existsSync(path.join(configDir, stray))) {
      problems.push({ file: display(path.join(configDir, stray)), line: 0, column: 0, keyPath: '', message: `cannot be used together with ${display(clustersDir)}/: move it into a cluster folder` });
    }
  }
  const clusters: ClusterConfig[] = [];
  const sharedValues = options.sharedValues ?? new SharedValues();
  const names = fs.readdirSync(clustersDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (names.length === 0) problems.push({ file: display(clustersDir), line: 0, column: 0, keyPath: '', message: 'holds no cluster folders' });
  for (const name of names) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.startsWith('_')) {
      problems.push({ file: display(path.join(clustersDir, name)), line: 0, column: 0, keyPath: '', message: 'cluster folder names must be DNS-1123 labels' });
      continue;
    }
    try {
      const onTenant = options.onTenant && problems.length === 0 ? (tenant: TenantConfig, platform: Platform) => options.onTenant!(tenant, platform, name) : undefined;
      clusters.push({ ...loadConfig(path.join(clustersDir, name), { schemaDir: path.join(configDir, 'schema'), ...options, onTenant, sharedValues }), cluster: name });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  // Bucket names and external cache repos are global: unique across every cluster, too.
  if (problems.length === 0) problems.push(...checkAcrossClusters(clusters, options.displayBase ?? process.cwd()));
  if (problems.length > 0) throw new ConfigError(problems);
  return clusters;
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
    case 'aws-secret-access-key':
      return `looks like ${match.description}; use cache.s3.auth type iamRole or podIdentity, or type staticKeys with the keys ${external ? 'in the secret store that fills' : 'in'} the Secret named by cache.s3.auth.secretName ${never}`;
    case 'private-key':
      return `looks like ${match.description}; keys go in a Secret or GitLab CI/CD variables ${never}`;
    case 'docker-config':
    case 'basic-auth':
      return `looks like ${match.description}; put them ${into(names.kanikoPushSecret)} or an imagePullSecrets Secret ${never}`;
    case 'url-credentials':
      return `looks like ${match.description}; remove the credentials from the URL: runners authenticate with their token ${into(tokenSecret)} ${never}`;
    case 'secret-variable':
      return `looks like ${match.description}; reference a variable ($NAME) and set it in GitLab CI/CD variables (masked) or a Secret ${never}`;
    default: // webhook URLs, JWTs, tokens of other services
      return `looks like ${match.description}; it goes in GitLab CI/CD variables (masked) or a Secret ${never}`;
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

/** The YAML files of a folder, sorted; undefined (with a problem) when it is not a folder. */
function listYamlFiles(dir: string, displayName: string, problems: ConfigProblem[]): string[] | undefined {
  const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) {
    problems.push({ file: displayName, line: 0, column: 0, keyPath: '', message: `is ${fileKind(stat)}; it must be a folder of tenant files (one <tenant>.yaml each)` });
    return undefined;
  }
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
