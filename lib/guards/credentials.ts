/**
 * What a credential looks like, defined once: the loader rejects configuration values that match
 * (config/ is reviewed and public), and the synth refuses to write an object that contains one
 * (dist/ is public). Patterns are deliberately specific (known prefixes and formats) so ordinary
 * values such as image names or ARNs never match.
 */

export type CredentialKind =
  | 'gitlab-runner-token'
  | 'gitlab-registration-token'
  | 'gitlab-token'
  | 'aws-access-key-id'
  | 'private-key'
  | 'docker-config'
  | 'url-credentials';

export interface CredentialMatch {
  readonly kind: CredentialKind;
  /** Completes "looks like …", e.g. "a GitLab runner authentication token (glrt-…)". */
  readonly description: string;
}

// https://docs.gitlab.com/security/tokens/#token-prefixes
const GITLAB_TOKEN_PREFIXES: readonly [string, string][] = [
  ['glpat-', 'a GitLab personal, project or group access token (glpat-…)'],
  ['gldt-', 'a GitLab deploy token (gldt-…)'],
  ['glptt-', 'a GitLab pipeline trigger token (glptt-…)'],
  ['glcbt-', 'a GitLab CI/CD job token (glcbt-…)'],
  ['glft-', 'a GitLab feed token (glft-…)'],
  ['glimt-', 'a GitLab incoming mail token (glimt-…)'],
  ['gloas-', 'a GitLab OAuth application secret (gloas-…)'],
  ['glsoat-', 'a GitLab SCIM OAuth token (glsoat-…)'],
  ['glagent-', 'a GitLab agent for Kubernetes token (glagent-…)'],
  ['glffct-', 'a GitLab feature flags client token (glffct-…)'],
];

const TOKEN_BODY = '[0-9A-Za-z_.-]{16,}';
const RUNNER_TOKEN = new RegExp(`(^|[^0-9A-Za-z])glrt-${TOKEN_BODY}`);
// Legacy runner registration tokens carry this prefix (deprecated since GitLab 15.6).
const REGISTRATION_TOKEN = /(^|[^0-9A-Za-z])GR1348941[0-9A-Za-z_-]{16,}/;
const GITLAB_TOKENS = GITLAB_TOKEN_PREFIXES.map(([prefix, description]) => ({
  pattern: new RegExp(`(^|[^0-9A-Za-z])${prefix.replace(/-/g, '\\-')}${TOKEN_BODY}`),
  description,
}));
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
const AWS_ACCESS_KEY_ID = /(^|[^0-9A-Z])(AKIA|ASIA)[0-9A-Z]{16}($|[^0-9A-Z])/;
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
// A Docker config.json with registry credentials: "auths" plus "auth", "password" or "identitytoken".
const DOCKER_AUTHS = /"auths"\s*:/;
const DOCKER_SECRET_FIELD = /"(auth|password|identitytoken|registrytoken)"\s*:\s*"[^"{]/;
// scheme://user:password@host
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;

// Every pattern below needs one of these substrings; most strings (names, labels, quantities)
// contain none, and one test rules them out (the synth scans every string of every object).
const MAY_HOLD_CREDENTIAL = /gl[a-z]{1,6}-|GR1348941|A[KS]IA|PRIVATE KEY|"auths"|:\/\//;

/** The first kind of credential `text` looks like, or undefined. */
export function findCredential(text: string): CredentialMatch | undefined {
  if (!MAY_HOLD_CREDENTIAL.test(text)) return undefined;
  if (RUNNER_TOKEN.test(text)) return { kind: 'gitlab-runner-token', description: 'a GitLab runner authentication token (glrt-…)' };
  if (REGISTRATION_TOKEN.test(text)) return { kind: 'gitlab-registration-token', description: 'a GitLab runner registration token (GR1348941…)' };
  for (const { pattern, description } of GITLAB_TOKENS) if (pattern.test(text)) return { kind: 'gitlab-token', description };
  if (AWS_ACCESS_KEY_ID.test(text)) return { kind: 'aws-access-key-id', description: 'an AWS access key ID (AKIA…/ASIA…)' };
  if (PRIVATE_KEY.test(text)) return { kind: 'private-key', description: 'a private key (-----BEGIN … PRIVATE KEY-----)' };
  if (DOCKER_AUTHS.test(text) && DOCKER_SECRET_FIELD.test(text)) {
    return { kind: 'docker-config', description: 'registry credentials (a Docker config.json with "auths")' };
  }
  if (URL_CREDENTIALS.test(text)) return { kind: 'url-credentials', description: 'a URL with a user name and password' };
  return undefined;
}

/** One string found somewhere in a value, with its path (`['spec', 'template', 0]`). */
export interface CredentialHit extends CredentialMatch {
  readonly path: readonly PropertyKey[];
}

/** Every string (mapping keys included) below `value` that looks like a credential. */
export function scanForCredentials(value: unknown, path: readonly PropertyKey[] = []): CredentialHit[] {
  const hits: CredentialHit[] = [];
  // One path stack for the whole walk; a hit copies it (hits are rare, objects are many).
  const stack = [...path];
  const check = (text: string) => {
    const match = findCredential(text);
    if (match) hits.push({ ...match, path: [...stack] });
  };
  const walk = (node: unknown) => {
    if (typeof node === 'string') {
      check(node);
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => {
        stack.push(i);
        walk(item);
        stack.pop();
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        stack.push(key);
        check(key);
        walk(child);
        stack.pop();
      }
    }
  };
  walk(value);
  return hits;
}

/** A value fit for messages: credentials are never echoed, not even into CI logs. */
export function redact(value: string): string {
  const match = findCredential(value);
  return match ? `<redacted: looks like ${match.description}>` : value;
}
