/**
 * What a credential looks like, defined once: the loader rejects configuration values that match
 * (config/ is reviewed and public), and the synth refuses to write an object that contains one
 * (dist/ is public). Three layers:
 * - our own patterns, for what the runner stacks handle (GitLab tokens with specific messages,
 *   AWS keys, private keys, registry credentials, credentials in URLs, webhooks, JWTs), including
 *   their base64-encoded forms;
 * - the maintained rule set of secretlint's recommended preset (lib/guards/rule-set.ts) for
 *   provider tokens (GitHub, Slack, npm, Stripe, OpenAI, Vault, …);
 * - by name: a literal value of a variable whose name says it is secret (`*PASSWORD*`,
 *   `*SECRET*`, `*TOKEN*`, `*API_KEY*`, `*PRIVATE_KEY*`) in an environment map or `env` list.
 * Cheap prechecks (NEEDS_CONTEXT, tokenRuns) rule most strings out before any of them run.
 */
import { mayMatchRuleSet, RuleSetHit, scanWithRuleSet } from './rule-set';
import { flatCopy } from '../config/shared-values';

export type CredentialKind =
  | 'gitlab-runner-token'
  | 'gitlab-registration-token'
  | 'gitlab-token'
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'private-key'
  | 'docker-config'
  | 'url-credentials'
  | 'basic-auth'
  | 'webhook-url'
  | 'jwt'
  | 'token'
  | 'secret-variable';

export interface CredentialMatch {
  readonly kind: CredentialKind;
  /** Completes "looks like …", e.g. "a GitLab runner authentication token (glrt-…)". */
  readonly description: string;
}

// https://docs.gitlab.com/security/tokens/#token-prefixes. No boundary on the left: an instance
// token prefix (https://docs.gitlab.com/administration/settings/account_and_limit_settings/#instance-token-prefix)
// is glued in front (`mycompany-glpat-…`, `xglrt-…`).
const GITLAB_TOKEN_PREFIXES: readonly [string, CredentialKind, string][] = [
  ['glrtr-', 'gitlab-runner-token', 'a GitLab runner authentication token (glrtr-…)'],
  ['glrt-', 'gitlab-runner-token', 'a GitLab runner authentication token (glrt-…)'],
  ['glpat-', 'gitlab-token', 'a GitLab personal, project or group access token (glpat-…)'],
  ['gldt-', 'gitlab-token', 'a GitLab deploy token (gldt-…)'],
  ['glptt-', 'gitlab-token', 'a GitLab pipeline trigger token (glptt-…)'],
  ['glcbt-', 'gitlab-token', 'a GitLab CI/CD job token (glcbt-…)'],
  ['glft-', 'gitlab-token', 'a GitLab feed token (glft-…)'],
  ['glimt-', 'gitlab-token', 'a GitLab incoming mail token (glimt-…)'],
  ['gloas-', 'gitlab-token', 'a GitLab OAuth application secret (gloas-…)'],
  ['glsoat-', 'gitlab-token', 'a GitLab SCIM OAuth token (glsoat-…)'],
  ['glagent-', 'gitlab-token', 'a GitLab agent for Kubernetes token (glagent-…)'],
  ['glffct-', 'gitlab-token', 'a GitLab feature flags client token (glffct-…)'],
  ['glwt-', 'gitlab-token', 'a GitLab workspace token (glwt-…)'],
];
const TOKEN_BODY = '[0-9A-Za-z_.-]{16,}';
const GITLAB_TOKENS = GITLAB_TOKEN_PREFIXES.map(([prefix, kind, description]) => ({
  pattern: new RegExp(`${prefix.replace(/-/g, '\\-')}${TOKEN_BODY}`),
  match: { kind, description } as CredentialMatch,
}));
// Runner tokens first (their message names the tenant's token Secret), then registration tokens.
const RUNNER_TOKENS = GITLAB_TOKENS.slice(0, 2);
const OTHER_GITLAB_TOKENS = GITLAB_TOKENS.slice(2);
// Legacy runner registration tokens carry this prefix (deprecated since GitLab 15.6).
const REGISTRATION_TOKEN = /GR1348941[0-9A-Za-z_-]{16,}/;
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
const AWS_ACCESS_KEY_ID = /(^|[^0-9A-Z])(AKIA|ASIA)[0-9A-Z]{16}($|[^0-9A-Z])/;
// A secret access key: exactly 40 characters of base64 (no padding), standing alone or after `=`
// (a segment of a run, below).
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
// The body of an OpenSSH private key starts with b3BlbnNzaC1rZXktdjE (base64 of
// "openssh-key-v1\0"), with or without its header: findTokenInRun.
// A Docker config.json with registry credentials: "auths" plus "auth", "password" or "identitytoken".
const DOCKER_AUTHS = /"auths"\s*:/;
const DOCKER_SECRET_FIELD = /"(auth|password|identitytoken|registrytoken)"\s*:\s*"[^"{]/;
// scheme://user:password@host
const URL_CREDENTIALS = /:\/\/[^\s/:@]+:[^\s/@]+@/;
// scheme://token@host: a user name no person has (16+ characters with letters and digits).
const URL_TOKEN_USERINFO = /:\/\/([^\s/:@]{16,})@/g;
// user:password@host without a scheme (proxy settings, connection strings); not image@sha256:…
const BARE_USERINFO = /(?:^|[\s"'=,;(<[])[A-Za-z0-9._~%!*+-]+:[^\s@/:"']+@(?!sha\d+:)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d+)?(?=$|[\s/"',;)>\]])/;
// Webhook URLs are credentials: whoever has one can post.
const WEBHOOKS: readonly [RegExp, string][] = [
  [/hooks\.slack\.com\/(services|workflows|triggers)\/[A-Za-z0-9_/-]{16,}/i, 'a Slack webhook URL'],
  [/\.webhook\.office\.com\/webhookb2\/|outlook\.office(365)?\.com\/webhook\/[0-9a-f-]{16,}/i, 'a Microsoft Teams webhook URL'],
  [/discord(app)?\.com\/api\/webhooks\/\d+\/[A-Za-z0-9_-]{16,}/i, 'a Discord webhook URL'],
  [/chat\.googleapis\.com\/v1\/spaces\/[^\s/]+\/messages\?\S*(key|token)=/i, 'a Google Chat webhook URL'],
  [/:\/\/[^\s/]+\/hooks\/[a-z0-9]{26}(?![A-Za-z0-9])/, 'a Mattermost webhook URL'],
  // Azure SAS / Power Automate (Teams workflows) signatures and credentials in a query string.
  [/[?&](sig|signature|token|access_token|api_?key|apikey|secret|password|passwd)=(?!\$)[^\s&#"']{8,}/i, 'a URL with a credential in its query string'],
];
// npm: access tokens, and a literal auth token in an .npmrc line (a reference is `${NPM_TOKEN}`).
const NPM_TOKEN = /npm_[A-Za-z0-9]{30,}/;
const NPM_AUTH_TOKEN = /_auth(Token)?\s*=\s*(?![$"'\s]|$)/;
// header.payload.signature, both parts base64url JSON objects ("{" is "eyJ").
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
// Standard base64 in whole quads (16+ characters, or 12+ with padding), standing alone or after
// `=`: decoded and checked again.
const BASE64_CHARS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CHARS[c.charCodeAt(0)] = 1;

/** The parts of a run between `.`, `_`, `-` and inner `=` (padding stays with its part), of 12+ characters. */
function base64Segments(run: string): string[] {
  const segments: string[] = [];
  let start = 0;
  for (let i = 0, n = run.length; i <= n; i++) {
    const c = i < n ? run.charCodeAt(i) : 0;
    if (c < 128 && BASE64_CHARS[c] === 1) continue;
    if (c === 61 /* = */) {
      let end = i;
      while (end < n && run.charCodeAt(end) === 61) end++;
      // Padding ends the run or a part; an `=` followed by more base64 is an assignment.
      const next = end < n ? run.charCodeAt(end) : 0;
      if (next < 128 && BASE64_CHARS[next] === 1) {
        if (i - start >= 12) segments.push(run.slice(start, i));
        start = end;
        i = end - 1;
        continue;
      }
      if (end - start >= 12) segments.push(run.slice(start, end));
      start = end + 1;
      i = end;
      continue;
    }
    if (i - start >= 12) segments.push(run.slice(start, i));
    start = i + 1;
  }
  return segments;
}
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PRINTABLE = /^[\t\n\r\x20-\x7e]+$/;
const HEX = /^[0-9a-f]+$/;
// user:password, decoded (a Basic auth value or a Docker config "auth").
const USER_PASSWORD = /^[^\s:]{1,128}:\S{3,}$/;

/** A variable name that says its value is secret (environment maps, `env` lists, `NAME=value`). */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY/i;
// NAME=value in a text (config.toml `environment`, shell): an upper-case name, a literal value.
const SECRET_ASSIGNMENT = /(?:^|[\s"'`;,[{(])[A-Z][A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY)[A-Z0-9_]*=(?![$"'`\s,\]})]|$)/m;

// Cheap prechecks (the synth scans every string of every object; most are names, labels and
// quantities). Checks that look beyond one run of token characters need one of these literals:
const NEEDS_CONTEXT = /:\/\/|@|PRIVATE KEY|"auths"|_auth|PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY/;
// Every token (GitLab, AWS, JWT, base64, and every token of the rule set) lies within a run of
// 16+ of these characters; the checks for tokens only look at such runs.
const RUN_MIN = 16;
const RUN_CHARS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.') RUN_CHARS[c.charCodeAt(0)] = 1;

/** The runs of 16+ token characters in `text`, or undefined (one pass, no allocation on most strings). */
function tokenRuns(text: string): string[] | undefined {
  if (text.length < RUN_MIN) return undefined;
  let runs: string[] | undefined;
  let start = -1;
  for (let i = 0, n = text.length; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0;
    if (c < 128 && RUN_CHARS[c] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= RUN_MIN) (runs ??= []).push(text.slice(start, i));
      start = -1;
    }
  }
  return runs;
}

/** Whether `text` may hold anything any check looks for (exported for the tests of the precheck). */
export function mayHoldCredential(text: string): boolean {
  return NEEDS_CONTEXT.test(text) || tokenRuns(text) !== undefined;
}

// The runs of the text findOwn looked at last (for the rule set's precheck, without a second pass).
let lastRuns: string[] | undefined;

/**
 * Our own patterns (not the rule set); `depth` limits base64 inside base64. Null: the text
 * fails the precheck (nothing, the rule set included, can match).
 */
function findOwn(text: string, depth = 0): CredentialMatch | undefined | null {
  const context = NEEDS_CONTEXT.test(text);
  const runs = tokenRuns(text);
  if (depth === 0) lastRuns = runs;
  if (!context && !runs) return null;
  // Specific tokens first, then structures (keys, registry configs, URLs), then the generic ones
  // (40 characters of base64, anything base64-encoded).
  for (const run of runs ?? []) {
    const match = findTokenInRun(run);
    if (match) return match;
  }
  if (context) {
    const match = findInContext(text);
    if (match) return match;
  }
  for (const run of runs ?? []) {
    const match = findEncodedInRun(run, depth);
    if (match) return match;
  }
  if (context && text.includes('=') && SECRET_ASSIGNMENT.test(text)) return { kind: 'secret-variable', description: 'a literal value assigned to a variable whose name says it is secret (NAME=value)' };
  return undefined;
}

function findInContext(text: string): CredentialMatch | undefined {
  if (PRIVATE_KEY.test(text)) return { kind: 'private-key', description: 'a private key (-----BEGIN … PRIVATE KEY-----)' };
  if (DOCKER_AUTHS.test(text) && DOCKER_SECRET_FIELD.test(text)) {
    return { kind: 'docker-config', description: 'registry credentials (a Docker config.json with "auths")' };
  }
  if (URL_CREDENTIALS.test(text)) return { kind: 'url-credentials', description: 'a URL with a user name and password' };
  for (const m of matches(URL_TOKEN_USERINFO, text)) {
    if (/[0-9]/.test(m[1]) && /[A-Za-z]/.test(m[1])) return { kind: 'url-credentials', description: 'a URL with a token as its user name' };
  }
  if (text.includes('@') && BARE_USERINFO.test(text)) return { kind: 'url-credentials', description: 'a user name and password in front of a host name, without a scheme' };
  if (NPM_AUTH_TOKEN.test(text)) return { kind: 'token', description: 'an npm registry auth token (an .npmrc _authToken line)' };
  if (text.includes('://')) for (const [pattern, description] of WEBHOOKS) if (pattern.test(text)) return { kind: 'webhook-url', description };
  return undefined;
}

/** Tokens of a known format within one run of token characters. */
function findTokenInRun(run: string): CredentialMatch | undefined {
  if (run.includes('gl') || run.includes('GR1348941')) {
    for (const { pattern, match } of RUNNER_TOKENS) if (pattern.test(run)) return match;
    if (REGISTRATION_TOKEN.test(run)) return { kind: 'gitlab-registration-token', description: 'a GitLab runner registration token (GR1348941…)' };
    for (const { pattern, match } of OTHER_GITLAB_TOKENS) if (pattern.test(run)) return match;
  }
  // String#includes first: far cheaper than a pattern on the many runs that hold none.
  if ((run.includes('AKIA') || run.includes('ASIA')) && AWS_ACCESS_KEY_ID.test(run)) return { kind: 'aws-access-key-id', description: 'an AWS access key ID (AKIA…/ASIA…)' };
  if (run.includes('b3BlbnNzaC1rZXktdjE')) return { kind: 'private-key', description: 'a private key (-----BEGIN … PRIVATE KEY-----)' };
  if (run.includes('eyJ') && JWT.test(run)) return { kind: 'jwt', description: 'a JSON Web Token (eyJ….eyJ….…)' };
  if (run.includes('npm_') && NPM_TOKEN.test(run)) return { kind: 'token', description: 'an npm access token (npm_…)' };
  return undefined;
}

/** An AWS secret access key or something base64-encoded within one run of token characters. */
function findEncodedInRun(run: string, depth: number): CredentialMatch | undefined {
  // Base64 segments: split at `.`, `_`, `-` and at `=` inside (an assignment), not at padding.
  // (A loop, not String#split or a global pattern: both clone a regex per call, on the hot path.)
  for (const segment of base64Segments(run)) {
    if (segment.length < 16 && !(segment.length >= 12 && segment.endsWith('='))) continue;
    if (segment.length === 40 && looksRandom(segment)) {
      return { kind: 'aws-secret-access-key', description: 'an AWS secret access key (40 characters of base64)' };
    }
    // Hex (digests, checksums) decodes to binary, never to text.
    if (depth >= 2 || segment.length % 4 !== 0 || HEX.test(segment) || !BASE64.test(segment)) continue;
    const decoded = Buffer.from(segment, 'base64').toString('latin1');
    if (!PRINTABLE.test(decoded)) continue;
    const inner = findOwn(decoded, depth + 1);
    if (inner) return { kind: inner.kind, description: `${inner.description}, base64-encoded` };
    if (USER_PASSWORD.test(decoded)) return { kind: 'basic-auth', description: 'a base64-encoded user:password (HTTP Basic auth)' };
  }
  return undefined;
}

/**
 * The matches of a global regex, without String#matchAll (which clones the regex per call: 4×
 * slower on the synth's hot path). Not reentrant per regex: callers finish or return.
 */
function matches(pattern: RegExp, text: string): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) found.push(m);
  return found;
}

/** Mixed case and digits, and no path (a key, not `a/b/c/d`). */
function looksRandom(text: string): boolean {
  return /[a-z]/.test(text) && /[A-Z]/.test(text) && /[0-9]/.test(text) && (text.match(/[/+]/g)?.length ?? 0) <= 4;
}

function fromRuleSet(hit: RuleSetHit): CredentialMatch {
  const rule = hit.ruleId.replace('@secretlint/secretlint-rule-', '');
  if (hit.ruleId.endsWith('-aws')) return { kind: 'aws-secret-access-key', description: 'an AWS secret access key (secretlint aws: AWSSecretAccessKey)' };
  if (hit.ruleId.endsWith('-privatekey')) return { kind: 'private-key', description: `a private key (secretlint privatekey: ${hit.messageId})` };
  return { kind: 'token', description: `a secret (secretlint ${rule}: ${hit.messageId})` };
}

/** The first kind of credential `text` looks like, or undefined. */
export function findCredential(text: string): CredentialMatch | undefined {
  const own = findOwn(text);
  if (own) return own;
  if (own === null || !mayMatchRuleSet(text, lastRuns)) return undefined;
  const [hit] = scanWithRuleSet(text);
  return hit ? fromRuleSet(hit) : undefined;
}

/** Whether a key (an environment variable name) says its value is secret. */
export function looksSecretName(key: unknown): boolean {
  return typeof key === 'string' && SECRET_NAME.test(key);
}

/** A value given literally: not empty, not only `$VAR`/`${VAR}` references. */
export function isLiteral(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return true;
  if (typeof value !== 'string') return false;
  return /[A-Za-z0-9]/.test(value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, ''));
}

/** One string found somewhere in a value, with its path (`['spec', 'template', 0]`). */
export interface CredentialHit extends CredentialMatch {
  readonly path: readonly PropertyKey[];
}

// Mappings of environment variables (runners[].environment, CI variables) and Kubernetes `env` lists.
const ENV_MAP = /^(environment|env|variables|vars)$/i;

function secretVariable(key: string): CredentialMatch {
  const word = (SECRET_NAME.exec(key)?.[0] ?? '').toUpperCase().replace(/^APIKEY$/, 'API_KEY').replace(/^PRIVATEKEY$/, 'PRIVATE_KEY');
  return { kind: 'secret-variable', description: `a literal secret (the variable name contains ${word})` };
}

/**
 * Every string (mapping keys included) below `value` that looks like a credential, and every
 * literal value of a secret-looking variable in an environment map or `env` list.
 */
// The same strings come back in every object and every tenant (keys, labels, names, images):
// what our own patterns found in a string (nothing; or nothing but a candidate for the rule set) is
// remembered per thread, so each distinct string is checked once. A string with a hit is not
// remembered (hits are rare, and each is reported with its own path). Bounded: cleared when full,
// and long strings (a config.toml, a script: unique per tenant) are not remembered at all; the
// strings remembered are flat copies (a value parsed from YAML is a slice of its file's text), so
// the memo never keeps a tenant's texts alive.
const CLEAN = 0;
const FOR_RULE_SET = 1;
const SCANNED_MAX = 20_000;
const SCANNED_MAX_LENGTH = 200;
const SCANNED = new Map<string, typeof CLEAN | typeof FOR_RULE_SET>();

export function scanForCredentials(value: unknown, path: readonly PropertyKey[] = []): CredentialHit[] {
  // Hits with the position of their string in the walk, to report them in that order.
  const hits: { at: number; hit: CredentialHit }[] = [];
  let position = 0;
  // Strings that passed the precheck but none of our patterns: for the rule set, in one text.
  const pending: { text: string; path: PropertyKey[]; at: number }[] = [];
  const named: { key: string; path: PropertyKey[]; at: number }[] = [];
  // One path stack for the whole walk; a hit copies it (hits are rare, objects are many).
  const stack = [...path];
  const check = (text: string) => {
    position++;
    const known = SCANNED.get(text);
    if (known === CLEAN) return;
    if (known === FOR_RULE_SET) {
      pending.push({ text, path: [...stack], at: position });
      return;
    }
    const match = findOwn(text);
    if (match) {
      hits.push({ at: position, hit: { ...match, path: [...stack] } });
      return;
    }
    const forRuleSet = match !== null && mayMatchRuleSet(text, lastRuns);
    if (forRuleSet) pending.push({ text, path: [...stack], at: position });
    if (text.length > SCANNED_MAX_LENGTH) return;
    if (SCANNED.size >= SCANNED_MAX) SCANNED.clear();
    SCANNED.set(flatCopy(text), forRuleSet ? FOR_RULE_SET : CLEAN);
  };
  const walk = (node: unknown, parentKey: PropertyKey | undefined) => {
    if (typeof node === 'string') {
      check(node);
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => {
        stack.push(i);
        // Kubernetes: env: [{ name: DB_PASSWORD, value: literal }]
        if (parentKey === 'env' && item !== null && typeof item === 'object' && looksSecretName((item as { name?: unknown }).name) && isLiteral((item as { value?: unknown }).value)) {
          named.push({ key: (item as { name: string }).name, path: [...stack, 'value'], at: position });
        }
        walk(item, undefined);
        stack.pop();
      });
    } else if (node !== null && typeof node === 'object') {
      const envMap = typeof parentKey === 'string' && ENV_MAP.test(parentKey);
      for (const [key, child] of Object.entries(node)) {
        stack.push(key);
        check(key);
        if (envMap && looksSecretName(key) && isLiteral(child)) named.push({ key, path: [...stack], at: position + 1 });
        walk(child, key);
        stack.pop();
      }
    }
  };
  walk(value, path[path.length - 1]);
  if (pending.length > 0) {
    // One pass of the rule set over all candidates, separated by newlines; a hit belongs to the
    // string it starts in.
    const starts: number[] = [];
    let offset = 0;
    for (const { text } of pending) {
      starts.push(offset);
      offset += text.length + 1;
    }
    const seen = new Set<number>();
    for (const hit of scanWithRuleSet(pending.map((p) => p.text).join('\n'))) {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= hit.start) lo = mid;
        else hi = mid - 1;
      }
      if (seen.has(lo)) continue;
      seen.add(lo);
      hits.push({ at: pending[lo].at, hit: { ...fromRuleSet(hit), path: pending[lo].path } });
    }
  }
  // By name, where no pattern found the value already.
  const found = new Set(hits.map(({ hit }) => hit.path.join('\u0000')));
  for (const { key, path: where, at } of named) {
    if (!found.has(where.join('\u0000'))) hits.push({ at, hit: { ...secretVariable(key), path: where } });
  }
  return hits.sort((a, b) => a.at - b.at).map(({ hit }) => hit);
}

/** A value fit for messages: credentials are never echoed, not even into CI logs. */
export function redact(value: string): string {
  const match = findCredential(value);
  return match ? `<redacted: looks like ${match.description}>` : value;
}
