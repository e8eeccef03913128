/**
 * The credential guard (lib/guards/): every class of credential it must find, typical values it
 * must leave alone, the secretlint rule set behind its prechecks, and no finding on any string
 * of any synthesized object of the example and the valid fixtures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CredentialKind, findCredential, isLiteral, looksSecretName, mayHoldCredential, scanForCredentials } from '../../lib/guards/credentials';
import { ANCHORS, ANCHORS_REVIEWED_FOR, PRESET_RULE_IDS, RULE_SET, scanWithRuleSet } from '../../lib/guards/rule-set';
import { allTenants, ROOT } from '../support/synth';
import { RULE_SET_SAMPLES } from './samples';

const j = (...parts: string[]) => parts.join('');
const b64 = (text: string) => Buffer.from(text).toString('base64');
const PEM = j('-----BEGIN RSA PRIVATE', ' KEY-----\nMIIEowIBAAKCAQEA', 'x'.repeat(40), '\n-----END RSA PRIVATE KEY-----\n');
const AWS_SECRET = j('wJalrXUtnFEMI/K7MDENG/', 'bPxRfiCYEXAMPLEKEY');

describe('finds', () => {
  test.each<[string, string, CredentialKind]>([
    // GitLab: routable runner tokens and instance prefixes glued in front
    ['glrtr- runner token', j('glrtr', '-t1_fakeEXAMPLEfake00'), 'gitlab-runner-token'],
    ['glrtr- in config.toml', j('token = "glrtr', '-fakeEXAMPLEfake00.01.1a2b3c4d5"'), 'gitlab-runner-token'],
    ['runner token with a glued prefix', j('xglrt', '-t1_fakeEXAMPLEfake00'), 'gitlab-runner-token'],
    ['runner token with an instance prefix', j('mycompany-glrt', '-t1_fakeEXAMPLEfake00'), 'gitlab-runner-token'],
    ['access token with a glued prefix', j('tokenglpat', '-fakeEXAMPLEfake00'), 'gitlab-token'],
    ['deploy token with a glued prefix', j('SIEgldt', '-fakeEXAMPLEfake00'), 'gitlab-token'],
    ['registration token with a glued prefix', j('xGR1348941', 'fakeEXAMPLEfake00'), 'gitlab-registration-token'],
    // AWS secret access keys
    ['an AWS secret access key alone', AWS_SECRET, 'aws-secret-access-key'],
    ['an AWS secret access key in a line', j('secret: ', 'Zk3/pQ9rT2vX8mB1nC4dE6fG7hJ0kL5sA+uW2yR8'), 'aws-secret-access-key'],
    ['an AWS secret access key assigned', j('AWS_SECRET_ACCESS_KEY=', AWS_SECRET), 'aws-secret-access-key'],
    ['an AWS secret access key in TOML', j('SecretKey = "', 'Zk3pQ9rT2vX8mB1nC4dE6fG7hJ0kL5sAuW2yR8Tq', '"'), 'aws-secret-access-key'],
    // base64-encoded registry configs, user:password, private keys
    ['a base64 Docker config', b64(JSON.stringify({ auths: { 'registry.local': { auth: b64('ci:hunter22') } } })), 'docker-config'],
    ['a base64 Docker config with password', b64(JSON.stringify({ auths: { r: { username: 'ci', password: 'hunter22' } } }, null, 2)), 'docker-config'],
    ['base64 user:password', b64('ci:hunter22'), 'basic-auth'],
    ['a Basic auth header', j('Authorization: Basic ', b64('deploy:s3cr3t-pass')), 'basic-auth'],
    ['base64 user:password after =', j('REGISTRY_AUTH=', b64('ci:hunter22')), 'basic-auth'],
    ['a base64 PEM private key', b64(PEM), 'private-key'],
    ['an OpenSSH key body without header', j('b3BlbnNzaC1rZX', 'ktdjEAAAAABG5vbmU'), 'private-key'],
    // credentials in URLs
    ['a token as userinfo', j('https://', 'ghx9Tq2LmZ8pRv4KwY7s', '@gitlab.example.com/group/project.git'), 'url-credentials'],
    ['a token as userinfo (git+https)', j('git+https://', 'a1b2c3d4e5f6a7b8c9d0', '@example.com/x.git'), 'url-credentials'],
    ['user:password@host without scheme', j('ci:s3', 'cret@proxy.internal:3128'), 'url-credentials'],
    ['user:password@host after =', j('HTTPS_PROXY=ci:s3', 'cret@proxy.internal'), 'url-credentials'],
    ['user:password@host in a list', j('proxies: [deploy:pa55', 'word@10.0.0.1:8080]'), 'url-credentials'],
    // JWTs
    ['a JWT', j('eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiJjaSJ9.', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'), 'jwt'],
    ['a JWT as bearer', j('Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9', '.eyJpc3MiOiJrOHMifQ.', 'c2lnbmF0dXJlc2lnbmF0dXJl'), 'jwt'],
    // webhook URLs
    ['a Slack webhook', j('https://hooks.slack.com/services/', 'T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'), 'webhook-url'],
    ['a Slack workflow webhook', j('https://hooks.slack.com/workflows/', 'T00000000/A00000000/123456789/abcdefghij'), 'webhook-url'],
    ['a Teams webhook', j('https://contoso.webhook.office.com/webhookb2/', '1a2b3c4d-0000-0000-0000-000000000000@x/IncomingWebhook/abc/def'), 'webhook-url'],
    ['a Teams workflow (Power Automate) URL', j('https://prod-01.westeurope.logic.azure.com:443/workflows/0123/triggers/manual/paths/invoke?api-version=2016-06-01&sig=', 'AbCdEfGhIjKlMnOpQrSt'), 'webhook-url'],
    ['a Discord webhook', j('https://discord.com/api/webhooks/', '123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'), 'webhook-url'],
    ['a Google Chat webhook', j('https://chat.googleapis.com/v1/spaces/AAAA/messages?key=', 'AIzaSyDdI0hCZtE6vySjMm&token=abc'), 'webhook-url'],
    ['a token in a query string', j('https://api.example.com/notify?access_token=', 'abcdef0123456789'), 'webhook-url'],
    // npm tokens and other services (the secretlint rule set)
    ['an npm token', j('npm', '_', 'a1B2'.repeat(9)), 'token'],
    ['an npm token in .npmrc', j('//registry.npmjs.org/:_authToken=npm', '_', 'Z9y8'.repeat(9)), 'token'],
    ['a GitHub token', j('gh', 'p_', 'a1B2'.repeat(9)), 'token'],
    ['a Slack bot token', ['xox' + 'b', '1234567890', '1234567890', 'aBcDeFgHiJkLmNoPqRsTuVwX'].join('-'), 'token'],
    ['a Vault token', j('VAULT_ADDR=https://vault hv', 's.', 'a1B2'.repeat(24)), 'token'],
    // NAME=literal in a text (config.toml environment, shell)
    ['a literal password assigned', 'environment = ["DB_PASSWORD=hunter2"]', 'secret-variable'],
    ['a literal token exported', 'export API_TOKEN=abc123', 'secret-variable'],
  ])('%s', (_name, text, kind) => {
    expect(findCredential(text)?.kind).toBe(kind);
    // The same, found by the object scan (the synth) in a string and in a key.
    expect(scanForCredentials({ a: [{ b: text }] }).map((h) => [h.path, h.kind])).toEqual([[['a', 0, 'b'], kind]]);
  });
});

describe('does not flag', () => {
  test.each([
    'registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v17.7.0',
    'gcr.io/kaniko-project/executor:v1.23.2-debug@sha256:c3109d5926a997b100c4343944e06c6b30a6804b2f9abe0994d3de6ef92b028e',
    'maven:3.9-eclipse-temurin-21@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'sha256:c3109d5926a997b100c4343944e06c6b30a6804b2f9abe0994d3de6ef92b028e',
    'arn:aws:iam::111122223333:role/tenant-1-runner-cache',
    'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'https://gitlab.example.com', 'https://gitlab.example.com:8443/api/v4', 'https://s3.eu-central-1.amazonaws.com/bucket/path',
    'git@gitlab.example.com:group/project.git', 'ssh://git@gitlab.example.com/group/project.git', 'ci@example.com',
    '500m', '1Gi', '2.5Gi', '100Mi', '0.5',
    '123e4567-e89b-12d3-a456-426614174000', 'c3109d5926a997b100c4343944e06c6b30a6804b', 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    '${RUNNER_TOKEN_JAVA_BUILDS}', 'token = "${RUNNER_TOKEN_JAVA_BUILDS}"', 'DB_PASSWORD=$DB_PASSWORD', 'environment = ["API_TOKEN=${API_TOKEN}"]',
    'FF_DISABLE_AUTOMATIC_TOKEN_ROTATION = true', 'automountServiceAccountToken', 'tenant-runners/es-static/kaniko-push-credentials',
    '{{ .dockerconfigjson | toString }}', '{"auths":{}}', 'AKIA-short', 'glrt-builds', 'runner-glrt',
    'kubernetes.io/dockerconfigjson', 'eks.amazonaws.com/role-arn', 'app.kubernetes.io/managed-by',
    '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----',
    'ServerSideEncryptionKeyID', 'cache/java-builds', '/var/run/secrets/kubernetes.io/serviceaccount/token',
    'http://169.254.170.23/v1/credentials', 'minio.storage.svc:9000', '10.96.0.0/12', '0.0.0.0/0',
    'registry.local/tenant-1/cache', 'tenant1cacheBucketName2024',
  ])('%j', (text) => {
    expect(findCredential(text)).toBeUndefined();
    expect(scanForCredentials({ [text]: text })).toEqual([]);
  });
});

describe('by name: literal values of variables whose name looks secret', () => {
  test('in an environment map: literals (strings, numbers) are hits, references and empty values are not', () => {
    const config = {
      runners: [{
        environment: {
          DB_PASSWORD: 'hunter2', API_TOKEN: 'x', client_secret: 'abc', OPENAI_API_KEY: 'k-123', DEPLOY_PRIVATE_KEY: 'path', PIN_PASSWD: 1234,
          REF_TOKEN: '$REF_TOKEN', BRACED_SECRET: '${VAULT_SECRET}', BOTH_PASSWORD: '${A}${B}', EMPTY_TOKEN: '', NULL_SECRET: null,
          GIT_DEPTH: '10', HTTP_PROXY: 'http://proxy.internal:3128',
        },
      }],
    };
    expect(scanForCredentials(config).map((h) => `${h.path.join('.')}: ${h.description}`)).toEqual([
      'runners.0.environment.DB_PASSWORD: a literal secret (the variable name contains PASSWORD)',
      'runners.0.environment.API_TOKEN: a literal secret (the variable name contains TOKEN)',
      'runners.0.environment.client_secret: a literal secret (the variable name contains SECRET)',
      'runners.0.environment.OPENAI_API_KEY: a literal secret (the variable name contains API_KEY)',
      'runners.0.environment.DEPLOY_PRIVATE_KEY: a literal secret (the variable name contains PRIVATE_KEY)',
      'runners.0.environment.PIN_PASSWD: a literal secret (the variable name contains PASSWD)',
    ]);
  });

  test('in a Kubernetes env list: a literal value is a hit, valueFrom is not', () => {
    const pod = { spec: { containers: [{ env: [
      { name: 'RUNNER_TOKEN_JAVA', valueFrom: { secretKeyRef: { name: 'gitlab-runner-tokens', key: 'java' } } },
      { name: 'DB_PASSWORD', value: 'hunter2' },
      { name: 'LOG_LEVEL', value: 'info' },
    ] }] } };
    expect(scanForCredentials(pod).map((h) => [h.path, h.kind])).toEqual([[['spec', 'containers', 0, 'env', 1, 'value'], 'secret-variable']]);
  });

  test('a pattern hit wins over the name (its message says where the value belongs)', () => {
    expect(scanForCredentials({ environment: { RUNNER_TOKEN: j('glrt', '-t1_fakeEXAMPLEfake') } }).map((h) => h.kind)).toEqual(['gitlab-runner-token']);
  });

  test('outside environment maps, names like tokenSecretName or secretName are not variables', () => {
    expect(scanForCredentials({ tokenSecretName: 'zeta-tokens', cache: { s3: { auth: { secretName: 'minio' } } } })).toEqual([]);
  });

  test('looksSecretName and isLiteral', () => {
    expect(['DB_PASSWORD', 'db_password', 'MY_SECRET_X', 'GITLAB_TOKEN', 'OPENAI_APIKEY', 'SSH_PRIVATE_KEY', 'PASSWD'].filter(looksSecretName)).toHaveLength(7);
    expect(['GIT_DEPTH', 'HTTP_PROXY', 'AWS_REGION', 'KEY_ID'].filter(looksSecretName)).toEqual([]);
    expect(['x', '$', 'a$B', 0, false].map(isLiteral)).toEqual([true, false, true, true, true]);
    expect(['', '$A', '${A}', '${A}${B}', '$A $B', null, undefined].map(isLiteral)).toEqual([false, false, false, false, false, false, false]);
  });
});

describe(`the rule set: ${RULE_SET.name}`, () => {
  const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies[RULE_SET.name];

  test('the installed version is the pinned one, and the one ANCHORS was reviewed for', () => {
    expect(RULE_SET.version).toBe(pinned);
    // After an update: read the rules again, adjust ANCHORS (lib/guards/rule-set.ts) and samples, then this version.
    expect(ANCHORS_REVIEWED_FOR).toBe(RULE_SET.version);
  });

  test('every rule of the preset has an anchor entry, and every scanning rule a sample', () => {
    expect([...PRESET_RULE_IDS].sort()).toEqual(Object.keys(ANCHORS).sort());
    expect(PRESET_RULE_IDS.filter((id) => ANCHORS[id] !== null).sort()).toEqual(Object.keys(RULE_SET_SAMPLES).sort());
  });

  test.each(Object.entries(RULE_SET_SAMPLES))('%s finds its sample, which passes every precheck, and the guard refuses it', (id, sample) => {
    expect(scanWithRuleSet(sample).map((h) => h.ruleId)).toContain(id);
    expect(ANCHORS[id]!.test(sample)).toBe(true);
    expect(mayHoldCredential(sample)).toBe(true);
    expect(findCredential(sample)).toBeDefined();
    expect(scanForCredentials({ padding: ['a', 'b'], value: sample })).toHaveLength(1);
  });

  test('hits of the rule set in one object are attributed to their own strings', () => {
    const object = { a: 'nothing here', b: RULE_SET_SAMPLES['@secretlint/secretlint-rule-github'], c: ['x', RULE_SET_SAMPLES['@secretlint/secretlint-rule-stripe']] };
    expect(scanForCredentials(object).map((h) => h.path)).toEqual([['b'], ['c', 1]]);
  });

  test('a secretlint-disable comment does not switch the guard off', () => {
    expect(findCredential(`# secretlint-disable\n${RULE_SET_SAMPLES['@secretlint/secretlint-rule-github']}`)?.kind).toBe('token');
  });
});

describe('no false positives on the example and the valid fixtures', () => {
  test.each(allTenants())('%s: no finding in any synthesized object, and none in any of its strings alone', (_label, { objects }) => {
    expect(objects.flatMap((object) => scanForCredentials(object).map((h) => `${object.kind}/${object.metadata.name} ${h.path.join('.')}: ${h.description}`))).toEqual([]);
    const strings: string[] = [];
    const walk = (node: unknown): void => {
      if (typeof node === 'string') strings.push(node);
      else if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object') for (const [key, child] of Object.entries(node)) { strings.push(key); walk(child); }
    };
    objects.forEach(walk);
    expect(strings.filter((s) => findCredential(s))).toEqual([]);
  });
});
