/**
 * Checks each runner's `configOverrides`, the escape hatch into its `[[runners]]` section of
 * config.toml, before anything is synthesized (docs/overrides.md):
 *
 * 1. Keys that have a typed setting are refused with the setting to use: one way to say each
 *    thing, and the typed setting is what the quota, the summary and the rules see.
 * 2. Keys the isolation depends on are refused with the reason they are fixed. This is a deny
 *    list of key patterns, not an allow list: gitlab-runner grows settings every release and most
 *    (timeouts, retries, scripts, resource ceilings for jobs) are the tenant's own
 *    business. What makes a key dangerous is known and stable: where job pods run and with what
 *    identity, privileges, network, scheduling and cache; whether jobs may override it.
 * 3. Everything else must be valid for gitlab-runner 19.3: the `[[runners]]` item of
 *    reference/gitlab-runner-config.schema.json (the runner's own schema), so a misspelled key or
 *    a wrong type is an error with its key path and position, not a setting the runner ignores.
 *
 * Overrides only add keys; lib/runner-config/overrides.ts merges them and refuses to replace a
 * rendered key. The schema validator (ajv, and the schema file) is loaded on first use: a
 * configuration without overrides never pays for it at start-up.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Entry } from './entry';
import { ConfigProblem } from './errors';
import { closest } from './issues';
import { Platform } from './schema';
import { problemAt } from './source';

/** A key path inside the `[[runners]]` section, segments may hold `*` (any characters). */
interface Rule {
  readonly pattern: string;
  /** The typed setting to use instead (with `#` standing for the runner index). */
  readonly use?: string;
  /** Why the key is fixed. */
  readonly reason?: string;
  /** Only in this architecture variant. */
  readonly variant?: Platform['architecture']['variant'];
}

const ISOLATION_NAMESPACE = "job pods run in the tenant's own namespace, where its NetworkPolicies, ResourceQuota and Pod Security level apply";
const ISOLATION_NODES = "job pods must run only on the tenant's own nodes (nodes.labels and nodes.taints set the node selector and tolerations)";
const ISOLATION_PRIVILEGE = 'job containers run unprivileged, without privilege escalation and with capabilities dropped (Kaniko gets exactly the ones it needs); the namespace enforces Pod Security baseline';
const ISOLATION_IDENTITY = 'job pods run as a ServiceAccount without an API token; only the manager talks to the API server, with its own ServiceAccount';
const OTHER_EXECUTOR = 'it configures another executor; these runners use the kubernetes executor';

/**
 * Checked in order; the first rule that matches a key path decides, and nothing under it is
 * looked at. Typed settings first, so a key that is both says which setting to use.
 */
export const OVERRIDE_RULES: readonly Rule[] = [
  // Typed settings.
  { pattern: 'name', use: 'runners[#].name' },
  { pattern: 'url', use: 'gitlab.url in platform.yaml' },
  { pattern: 'limit', use: 'runners[#].limit' },
  { pattern: 'environment', use: 'runners[#].environment' },
  { pattern: 'feature_flags', use: 'runners[#].featureFlags (or runner.featureFlags in platform.yaml)' },
  { pattern: 'kubernetes.image', use: 'runners[#].image' },
  { pattern: 'kubernetes.helper_image', use: 'runner.version, runner.helperImageRepository or runner.helperImage in platform.yaml and nodes.architecture' },
  { pattern: 'kubernetes.helper_image_flavor', use: 'runner.helperImage in platform.yaml' },
  { pattern: 'kubernetes.helper_image_autoset_arch_and_os', use: 'nodes.architecture' },
  { pattern: 'kubernetes.cpu_request', use: 'runners[#].resources.build.requests.cpu' },
  { pattern: 'kubernetes.cpu_limit', use: 'runners[#].resources.build.limits.cpu' },
  { pattern: 'kubernetes.memory_request', use: 'runners[#].resources.build.requests.memory' },
  { pattern: 'kubernetes.memory_limit', use: 'runners[#].resources.build.limits.memory' },
  { pattern: 'kubernetes.ephemeral_storage_request', use: 'runners[#].resources.build.requests.ephemeralStorage' },
  { pattern: 'kubernetes.ephemeral_storage_limit', use: 'runners[#].resources.build.limits.ephemeralStorage' },
  ...['helper', 'service'].flatMap((c) => [
    { pattern: `kubernetes.${c}_cpu_request`, use: `runners[#].resources.${c}.requests.cpu` },
    { pattern: `kubernetes.${c}_cpu_limit`, use: `runners[#].resources.${c}.limits.cpu` },
    { pattern: `kubernetes.${c}_memory_request`, use: `runners[#].resources.${c}.requests.memory` },
    { pattern: `kubernetes.${c}_memory_limit`, use: `runners[#].resources.${c}.limits.memory` },
    { pattern: `kubernetes.${c}_ephemeral_storage_request`, use: `runners[#].resources.${c}.requests.ephemeralStorage` },
    { pattern: `kubernetes.${c}_ephemeral_storage_limit`, use: `runners[#].resources.${c}.limits.ephemeralStorage` },
  ]),
  { pattern: 'kubernetes.pull_policy', use: 'runners[#].pullPolicy' },
  { pattern: 'kubernetes.allowed_pull_policies', use: 'runners[#].pullPolicy (jobs may choose among exactly those)' },
  { pattern: 'kubernetes.allowed_images', use: 'runners[#].allowedImages' },
  { pattern: 'kubernetes.allowed_services', use: 'runners[#].allowedServices' },
  { pattern: 'kubernetes.poll_timeout', use: 'runners[#].pollTimeoutSeconds' },
  { pattern: 'kubernetes.image_pull_secrets', use: 'imagePullSecrets (of the tenant)' },
  // Pod settings and job volumes have typed, checked settings (docs/pod-settings.md): through
  // configOverrides they would skip the checks (reserved label and annotation prefixes, affinity
  // limited to the tenant's namespaces, mount paths, hostPath and Secret names).
  { pattern: 'kubernetes.priority_class_name', variant: 'sharedNamespace', reason: "in the shared namespace the PriorityClass scopes this tenant's ResourceQuota" },
  { pattern: 'kubernetes.priority_class_name', use: 'pods.jobs.priorityClassName' },
  { pattern: 'kubernetes.pod_annotations', use: 'pods.jobs.annotations' },
  { pattern: 'kubernetes.pod_labels', use: 'pods.jobs.labels (the NetworkPolicies and the ResourceQuota select job pods by the labels tenant-runners sets, which always win)' },
  { pattern: 'kubernetes.host_aliases', use: 'pods.jobs.hostAliases' },
  { pattern: 'kubernetes.affinity', use: 'pods.jobs.affinity' },
  { pattern: 'kubernetes.volumes.empty_dir', use: 'runners[#].volumes.emptyDir' },
  { pattern: 'kubernetes.volumes.secret', use: "runners[#].volumes.secret (never the runner token or S3 key Secret)" },
  { pattern: 'kubernetes.volumes.config_map', use: 'runners[#].volumes.configMap' },
  { pattern: 'kubernetes.volumes.pvc', use: 'runners[#].volumes.pvc' },
  { pattern: 'kubernetes.volumes.csi', use: 'runners[#].volumes.csi (drivers the platform allows in runner.allowedCsiDrivers)' },
  { pattern: 'tls-ca-file', use: 'caBundle (in platform.yaml or the tenant file, docs/enterprise-network.md)' },

  // The runner's identity and connection.
  { pattern: 'token', reason: 'the token comes from the tenant token Secret as ${RUNNER_TOKEN_…} and is never written to config/ or dist/' },
  { pattern: 'executor', reason: 'the isolation is built for the kubernetes executor' },
  { pattern: 'id', reason: 'gitlab-runner writes it itself' },
  { pattern: 'token_*', reason: 'gitlab-runner writes it itself' },
  { pattern: 'clone_url', reason: 'job pods would clone, sending the job token, from another host than gitlab.url (and their egress reaches only GitLab)' },
  { pattern: 'tls-*', reason: 'these are files of the manager container, which the platform provides' },
  { pattern: 'cache', reason: "the runner cache is the tenant's own bucket under cache/<runner>/ with the tenant's credentials; bucket, credentials, Type, Path and Shared come from cache.s3" },
  ...['docker', 'machine', 'ssh', 'virtualbox', 'parallels', 'custom', 'autoscaler', 'instance'].map((pattern) => ({ pattern, reason: OTHER_EXECUTOR })),

  // Where job pods run.
  { pattern: 'kubernetes.namespace*', reason: ISOLATION_NAMESPACE },
  { pattern: 'kubernetes.node_selector*', reason: ISOLATION_NODES },
  { pattern: 'kubernetes.node_tolerations*', reason: ISOLATION_NODES },
  { pattern: 'kubernetes.scheduler_name', reason: "the default scheduler keeps job pods off nodes whose taints they do not tolerate; another scheduler may not, and could place them on other tenants' nodes" },
  { pattern: 'kubernetes.runtime_class_name', reason: "a RuntimeClass can add tolerations and a node selector to the pod (its scheduling field), reaching other tenants' nodes, or pick a weaker runtime; ask the platform team" },
  { pattern: 'kubernetes.pod_spec', reason: 'pod_spec patches can change any field of job pods: namespace, security contexts, tolerations, host namespaces' },

  // Privileges and identity of job pods.
  { pattern: 'kubernetes.privileged', reason: ISOLATION_PRIVILEGE },
  { pattern: 'kubernetes.allow_privilege_escalation', reason: ISOLATION_PRIVILEGE },
  { pattern: 'kubernetes.cap_add', reason: ISOLATION_PRIVILEGE },
  { pattern: 'kubernetes.cap_drop', reason: ISOLATION_PRIVILEGE },
  { pattern: 'kubernetes.*security_context*', reason: ISOLATION_PRIVILEGE },
  { pattern: 'kubernetes.service_account*', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.automount_service_account_token', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.bearer_token*', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.host', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.cert_file', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.key_file', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.ca_file', reason: ISOLATION_IDENTITY },
  { pattern: 'kubernetes.context', reason: ISOLATION_IDENTITY },
  // Jobs must not gain overrides (KUBERNETES_* CI variables) of what the configuration fixes.
  // The *_overwrite_max_allowed ceilings stay open: jobs raise resources only up to them, and the
  // ResourceQuota still bounds the tenant.
  { pattern: 'kubernetes.*_overwrite_allowed', reason: 'jobs must not gain overrides (KUBERNETES_* CI variables) of what this configuration fixes' },

  // Network and selection.
  { pattern: 'kubernetes.dns_policy', reason: 'the NetworkPolicies allow DNS only to the cluster DNS pods' },
  { pattern: 'kubernetes.dns_config', reason: 'the NetworkPolicies allow DNS only to the cluster DNS pods' },

  // Volumes without a typed setting.
  { pattern: 'kubernetes.volumes.host_path', reason: "a hostPath volume exposes the node's file system (and other tenants' data on it); Pod Security baseline refuses it too" },
  { pattern: 'kubernetes.volumes.nfs', reason: 'the node mounts NFS shares itself, past the NetworkPolicies of the job pods' },
];

const compiled = OVERRIDE_RULES.map((rule) => ({
  rule,
  segments: rule.pattern.split('.').map((s) => new RegExp(`^${s.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)),
}));

/** The rule deciding a key path (dotted segments of the section), if any. */
export function overrideRule(path: readonly string[], variant: Platform['architecture']['variant']): Rule | undefined {
  return compiled.find(({ rule, segments }) =>
    segments.length === path.length && segments.every((re, i) => re.test(path[i])) && (!rule.variant || rule.variant === variant))?.rule;
}

/** The message of a refused key. */
function refusal(rule: Rule, index: number): string {
  if (rule.use) return `cannot be set in configOverrides: use ${rule.use.replace('#', String(index))}`;
  return `cannot be overridden: ${rule.reason}`;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refused key paths of one runner's overrides, outermost first. */
function refusedPaths(overrides: Record<string, unknown>, variant: Platform['architecture']['variant']): { path: string[]; rule: Rule }[] {
  const found: { path: string[]; rule: Rule }[] = [];
  const walk = (table: Record<string, unknown>, prefix: string[]) => {
    for (const [key, value] of Object.entries(table)) {
      const path = [...prefix, key];
      const rule = overrideRule(path, variant);
      if (rule) found.push({ path, rule });
      else if (isTable(value)) walk(value, path);
    }
  };
  walk(overrides, []);
  return found;
}

interface JsonSchema {
  $ref?: string;
  properties?: Record<string, JsonSchema | boolean>;
  items?: JsonSchema;
  required?: string[];
  [key: string]: unknown;
}

interface RunnerSchema {
  readonly defs: Record<string, JsonSchema>;
  readonly ajv: import('ajv').default;
  /** Validators by the top-level keys they check. */
  readonly validators: Map<string, ValidateFunction>;
}

let runnerSchema: RunnerSchema | undefined;

/**
 * A validator of the `[[runners]]` item of gitlab-runner's config.toml schema, for overrides with
 * these top-level keys. Loaded here, not at the top, so only configurations with overrides pay for
 * ajv and the schema; and compiled for the keys present only (the other properties accept
 * anything, and the overrides do not have them), because compiling `[runners.kubernetes]` and its
 * dozens of types costs far more than a synth of the example.
 */
function runnerValidator(overrides: Readonly<Record<string, unknown>>): ValidateFunction {
  if (!runnerSchema) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv2020 = (require('ajv/dist/2020') as typeof import('ajv/dist/2020')).default;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = require('../../reference/gitlab-runner-config.schema.json') as { $defs: Record<string, JsonSchema> };
    runnerSchema = { defs: schema.$defs, ajv: new Ajv2020({ allErrors: true, strict: false, validateFormats: false, inlineRefs: false }), validators: new Map() };
  }
  const { defs, ajv, validators } = runnerSchema;
  const keys = Object.keys(overrides);
  const kubernetes = isTable(overrides.kubernetes) ? Object.keys(overrides.kubernetes) : undefined;
  const id = `${[...keys].sort().join(',')};${[...(kubernetes ?? [])].sort().join(',')}`;
  let validate = validators.get(id);
  if (!validate) {
    // Properties the overrides do not have accept anything; [runners.kubernetes] likewise.
    const only = (schema: JsonSchema, present: readonly string[], deeper: Record<string, JsonSchema | boolean> = {}) => ({
      ...schema,
      properties: Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, k in deeper ? deeper[k] : present.includes(k) ? v : true])),
    });
    // The section's own required keys (url, token, executor) are rendered by the synth.
    const { required: _rendered, ...runner } = defs.runner;
    validate = ajv.compile({ $defs: defs, ...only(runner, keys, kubernetes ? { kubernetes: only(defs.kubernetes, kubernetes) } : {}) });
    validators.set(id, validate);
  }
  return validate;
}

/** The keys the schema knows at a key path of the section (for "did you mean"). */
function knownKeys(path: readonly (string | number)[]): string[] {
  const defs = runnerSchema?.defs ?? {};
  const deref = (s: JsonSchema | boolean | undefined): JsonSchema | undefined => {
    let schema = typeof s === 'object' ? s : undefined;
    for (let i = 0; schema?.$ref && i < 10; i++) schema = defs[schema.$ref.replace('#/$defs/', '')];
    return schema;
  };
  let schema = deref(defs.runner);
  for (const segment of path) schema = deref(typeof segment === 'number' ? schema?.items : schema?.properties?.[segment]);
  return Object.keys(schema?.properties ?? {});
}

/** A JSON pointer as a key path; list indices become numbers (printed as [0]). */
function pointerToPath(pointer: string): (string | number)[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A schema error as a key path (inside the section) and a message. */
function describe(error: ErrorObject, overrides: unknown): { path: (string | number)[]; message: string; at: 'key' | 'value' } | undefined {
  const path = pointerToPath(error.instancePath);
  const value = path.reduce<unknown>((v, k) => (isTable(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[k] : undefined), overrides);
  const where = path.length === 0 ? '[[runners]]' : `[runners.${path.filter((s) => typeof s === 'string').join('.')}]`;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      const suggestion = closest(key, knownKeys(path));
      return { path: [...path, key], message: `is not a key of ${where} in gitlab-runner 19.3${suggestion ? `; did you mean '${suggestion}'?` : ''}`, at: 'key' };
    }
    case 'propertyNames':
      return undefined; // reported by the nested error on the name itself
    case 'enum':
      return { path, message: `must be one of ${(error.params.allowedValues as unknown[]).map(show).join(', ')}, got ${show(value)}`, at: 'value' };
    case 'required':
      return { path, message: `needs ${show(error.params.missingProperty)} (gitlab-runner 19.3 config.toml schema)`, at: 'value' };
    default:
      return { path, message: `${error.message ?? 'is invalid'}, got ${show(value)} (gitlab-runner 19.3 config.toml schema)`, at: 'value' };
  }
}

/** Problems of every runner's configOverrides of one tenant, with positions in its file. */
export function checkRunnerOverrides(platform: Platform, { config: t, source }: Entry): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const variant = platform.architecture.variant;
  t.runners.forEach((runner, i) => {
    const overrides = runner.configOverrides;
    if (!overrides || Object.keys(overrides).length === 0) return;
    const base = ['runners', i, 'configOverrides'];
    const refused = refusedPaths(overrides, variant);
    for (const { path, rule } of refused) problems.push(problemAt(source, [...base, ...path], refusal(rule, i), 'key'));
    const validate = runnerValidator(overrides);
    if (validate(overrides)) return;
    const under = (path: readonly (string | number)[]) => refused.some((r) => r.path.every((s, j) => path[j] === s));
    for (const error of validate.errors ?? []) {
      const described = describe(error, overrides);
      if (!described || under(described.path)) continue;
      problems.push(problemAt(source, [...base, ...described.path], described.message, described.at));
    }
  });
  return problems;
}

/** Whether the schema validator was loaded (for the test that keeps start-up lean). */
export function validatorLoaded(): boolean {
  return runnerSchema !== undefined;
}
