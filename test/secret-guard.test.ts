/**
 * Guard rails against secrets in Git, run as processes the way CI runs the synth:
 * - config/: `node build/synth.js` rejects every kind of credential planted in the configuration,
 *   says where it belongs, never echoes it, and leaves dist/ byte-identical;
 * - dist/: the same CLI code with an object changed after rendering (a construct bug) refuses to
 *   write, names tenant, object and key path, and leaves dist/ byte-identical.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './support/synth';
import { treeHash } from './support/tree';

const SYNTH = path.join(ROOT, 'build', 'synth.js');
const PLANTED = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-planted-')), 'planted-synth.js');

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
  await build({
    entryPoints: [path.join(ROOT, 'test', 'support', 'planted-synth.ts')],
    outfile: PLANTED, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
  });
});

// Credentials of the documented example formats, assembled so this file itself holds none whole.
const RUNNER_TOKEN = ['glrt', 't1_fakeEXAMPLEfake'].join('-');
const ACCESS_TOKEN = ['glpat', 'fakeEXAMPLEfake00'].join('-');
const DEPLOY_TOKEN = ['gldt', 'fakeEXAMPLEfake00'].join('-');
const AWS_KEY_ID = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const AWS_SESSION_KEY_ID = ['ASIA', 'IOSFODNN7EXAMPLE'].join('');
const PRIVATE_KEY = ['-----BEGIN OPENSSH PRIVATE', 'KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n'].join(' ');
const DOCKER_CONFIG = JSON.stringify({ auths: { 'registry.local': { auth: Buffer.from('ci:password').toString('base64') } } });
const ROUTABLE_RUNNER_TOKEN = ['xglrtr', 't1_fakeEXAMPLEfake00.01.1a2b3c'].join('-');
const DOCKER_CONFIG_BASE64 = Buffer.from(DOCKER_CONFIG).toString('base64');
const LITERAL_PASSWORD = 'hunter2-fakeEXAMPLE';
const SLACK_WEBHOOK = ['https://hooks.slack.com/services', 'T00000000/B00000000/fakeEXAMPLEfakeEXAMPLE00'].join('/');
const JWT = ['eyJhbGciOiJIUzI1NiJ9', 'eyJpc3MiOiJmYWtlIn0', 'fakeEXAMPLEsignature'].join('.');
const AWS_SECRET_KEY = ['fakeEXAMPLE0fakeEXAMPLE1', 'fakeEXAMPLE2abc'].join('/');
const GITHUB_TOKEN = ['ghp', 'fakeEXAMPLEfakeEXAMPLEfakeEXAMPLE000'].join('_');
const BASIC_AUTH = Buffer.from('ci:fakeEXAMPLE').toString('base64');

function workspace(): { dir: string; config: string; dist: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-guard-'));
  fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
  return { dir, config: path.join(dir, 'config'), dist: path.join(dir, 'dist') };
}

function run(script: string, ws: { dir: string; config: string; dist: string }, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [script, '--config', ws.config, '--out', ws.dist], { cwd: ws.dir, encoding: 'utf8', env: { ...process.env, ...env } });
}

let goodDist: string | undefined;

/** A workspace whose dist/ holds a good synth of the example configuration (synthesized once). */
function synthesizedWorkspace() {
  const ws = workspace();
  if (!goodDist) {
    expect(run(SYNTH, ws).status).toBe(0);
    goodDist = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-good-dist-'));
    fs.cpSync(ws.dist, goodDist, { recursive: true });
  } else {
    fs.cpSync(goodDist, ws.dist, { recursive: true });
  }
  return { ws, before: treeHash(ws.dist) };
}

describe('config/: credentials planted in the configuration', () => {
  const edit = (file: string, from: string, to: string) => (config: string) => {
    const target = path.join(config, file);
    const text = fs.readFileSync(target, 'utf8');
    if (!text.includes(from)) throw new Error(`'${from}' not in ${file}`);
    fs.writeFileSync(target, text.replace(from, to));
  };
  const tenant1 = 'tenants/tenant-1.yaml';
  const inEnvironment = (name: string, value: string) =>
    edit(tenant1, '    image: maven:3.9-eclipse-temurin-21\n', `    image: maven:3.9-eclipse-temurin-21\n    environment:\n      ${name}: ${JSON.stringify(value)}\n`);

  test.each([
    ['a GitLab runner token in a job variable', inEnvironment('RUNNER_TOKEN', RUNNER_TOKEN), RUNNER_TOKEN,
      'config/tenants/tenant-1.yaml:15:21 runners[0].environment.RUNNER_TOKEN: looks like a GitLab runner authentication token (glrt-…); put it in Secret gitlab-runner-tokens (see README, Secrets), never in config/'],
    ['a personal access token in the GitLab URL', edit('platform.yaml', 'url: https://gitlab.example.com', `url: https://oauth2:${ACCESS_TOKEN}@gitlab.example.com`), ACCESS_TOKEN,
      'config/platform.yaml:4:8 gitlab.url: looks like a GitLab personal, project or group access token (glpat-…); the runner needs none: registry credentials go in Secret kaniko-push-credentials, job credentials in GitLab CI/CD variables (see README, Secrets), never in config/'],
    ['a deploy token as the token Secret name', edit(tenant1, 'concurrent: 20\n', `concurrent: 20\ntokenSecretName: ${DEPLOY_TOKEN}\n`), DEPLOY_TOKEN,
      'config/tenants/tenant-1.yaml:4:18 tokenSecretName: looks like a GitLab deploy token (gldt-…); the runner needs none: registry credentials go in Secret kaniko-push-credentials, job credentials in GitLab CI/CD variables (see README, Secrets), never in config/'],
    ['an AWS access key ID in a job variable', inEnvironment('AWS_ACCESS_KEY_ID', AWS_KEY_ID), AWS_KEY_ID,
      'config/tenants/tenant-1.yaml:15:26 runners[0].environment.AWS_ACCESS_KEY_ID: looks like an AWS access key ID (AKIA…/ASIA…); use cache.s3.auth type iamRole or podIdentity, or type staticKeys with the keys in the Secret named by cache.s3.auth.secretName (see README, Secrets), never in config/'],
    ['a private key in a job variable', inEnvironment('DEPLOY_KEY', PRIVATE_KEY), 'b3BlbnNzaC1rZXktdjE',
      'config/tenants/tenant-1.yaml:15:19 runners[0].environment.DEPLOY_KEY: looks like a private key (-----BEGIN … PRIVATE KEY-----); keys go in a Secret or GitLab CI/CD variables (see README, Secrets), never in config/'],
    ['a Docker config.json in a job variable', inEnvironment('DOCKER_AUTH_CONFIG', DOCKER_CONFIG), 'Y2k6cGFzc3dvcmQ=',
      'config/tenants/tenant-1.yaml:15:27 runners[0].environment.DOCKER_AUTH_CONFIG: looks like registry credentials (a Docker config.json with "auths"); put them in Secret kaniko-push-credentials or an imagePullSecrets Secret (see README, Secrets), never in config/'],
    ['a routable runner token with a glued prefix', inEnvironment('RUNNER_TOKEN', ROUTABLE_RUNNER_TOKEN), ROUTABLE_RUNNER_TOKEN,
      'config/tenants/tenant-1.yaml:15:21 runners[0].environment.RUNNER_TOKEN: looks like a GitLab runner authentication token (glrtr-…); put it in Secret gitlab-runner-tokens (see README, Secrets), never in config/'],
    ['a base64-encoded Docker config.json in a job variable', inEnvironment('DOCKER_AUTH_CONFIG', DOCKER_CONFIG_BASE64), DOCKER_CONFIG_BASE64,
      'config/tenants/tenant-1.yaml:15:27 runners[0].environment.DOCKER_AUTH_CONFIG: looks like registry credentials (a Docker config.json with "auths"), base64-encoded; put them in Secret kaniko-push-credentials or an imagePullSecrets Secret (see README, Secrets), never in config/'],
    ['a literal password in a job variable', inEnvironment('DB_PASSWORD', LITERAL_PASSWORD), LITERAL_PASSWORD,
      'config/tenants/tenant-1.yaml:15:20 runners[0].environment.DB_PASSWORD: looks like a literal secret (the variable name contains PASSWORD); reference a variable ($NAME) and set it in GitLab CI/CD variables (masked) or a Secret (see README, Secrets), never in config/'],
    ['a Slack webhook in a job variable', inEnvironment('SLACK_HOOK', SLACK_WEBHOOK), SLACK_WEBHOOK,
      'config/tenants/tenant-1.yaml:15:19 runners[0].environment.SLACK_HOOK: looks like a Slack webhook URL; it goes in GitLab CI/CD variables (masked) or a Secret (see README, Secrets), never in config/'],
  ])('fails when config/ holds %s: exit 1, says where it belongs, never echoes it, dist/ untouched', (_name, plant, secret, expected) => {
    const { ws, before } = synthesizedWorkspace();
    plant(ws.config);
    const result = run(SYNTH, ws);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')).toContain(expected);
    expect(result.stderr).toContain('dist/ was not changed.');
    expect(result.stderr + result.stdout).not.toContain(secret);
    expect(treeHash(ws.dist)).toBe(before);
    expect(fs.readdirSync(ws.dir).sort()).toEqual(['config', 'dist']);
  });
});

describe('dist/: secret material in a synthesized object (a construct bug)', () => {
  test('the planted build writes the same dist/ as the real one when nothing is planted', () => {
    const { ws, before } = synthesizedWorkspace();
    fs.rmSync(ws.dist, { recursive: true });
    expect(run(PLANTED, ws).status).toBe(0);
    expect(treeHash(ws.dist)).toBe(before);
  });

  const env0 = ['spec', 'template', 'spec', 'containers', 0, 'env', 0];
  test.each([
    ['a Secret object', { add: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'gitlab-runner-tokens', namespace: 'tenant-1' }, stringData: { 'java-builds': 'x' } } }, undefined,
      ["tenant 'tenant-1': Secret gitlab-runner-tokens: is a Secret object; Secrets are referenced or filled by an ExternalSecret, never written to dist/",
        "tenant 'tenant-1': Secret gitlab-runner-tokens stringData: Secret values never go into dist/"]],
    ['Secret data on another kind', { set: { kind: 'ServiceAccount', name: 'gitlab-runner', path: ['data'], value: { token: 'eA==' } } }, undefined,
      ["tenant 'tenant-1': ServiceAccount gitlab-runner data: Secret-style data never goes into dist/"]],
    ['a runner token as an env value', { set: { kind: 'Deployment', name: 'gitlab-runner', path: env0, value: { name: 'RUNNER_TOKEN_JAVA_BUILDS', value: RUNNER_TOKEN } } }, RUNNER_TOKEN,
      ["tenant 'tenant-1': Deployment gitlab-runner spec.template.spec.containers[0].env[0].value: looks like a GitLab runner authentication token (glrt-…)"]],
    ['an access token in config.toml', { replace: { kind: 'ConfigMap', name: 'gitlab-runner-config', path: ['data', 'config.toml'], from: 'url = "https://gitlab.example.com"', to: `url = "https://oauth2:${ACCESS_TOKEN}@gitlab.example.com"` } }, ACCESS_TOKEN,
      ["tenant 'tenant-1': ConfigMap gitlab-runner-config data.config.toml: looks like a GitLab personal, project or group access token (glpat-…)"]],
    ['a deploy token in an annotation', { set: { kind: 'PodMonitor', name: 'gitlab-runner', path: ['metadata', 'annotations'], value: { note: DEPLOY_TOKEN } } }, DEPLOY_TOKEN,
      ["tenant 'tenant-1': PodMonitor gitlab-runner metadata.annotations.note: looks like a GitLab deploy token (gldt-…)"]],
    ['an AWS access key ID on the ServiceAccount', { set: { kind: 'ServiceAccount', name: 'gitlab-runner', path: ['metadata', 'annotations', 'aws-key'], value: AWS_KEY_ID } }, AWS_KEY_ID,
      ["tenant 'tenant-1': ServiceAccount gitlab-runner metadata.annotations.aws-key: looks like an AWS access key ID (AKIA…/ASIA…)"]],
    ['an AWS session key ID as an env value', { set: { kind: 'Deployment', name: 'gitlab-runner', path: env0, value: { name: 'AWS_ACCESS_KEY_ID', value: AWS_SESSION_KEY_ID } } }, AWS_SESSION_KEY_ID,
      ["tenant 'tenant-1': Deployment gitlab-runner spec.template.spec.containers[0].env[0].value: looks like an AWS access key ID (AKIA…/ASIA…)"]],
    ['a private key in a ConfigMap', { set: { kind: 'ConfigMap', name: 'gitlab-runner-config', path: ['data', 'id_ed25519'], value: PRIVATE_KEY } }, 'b3BlbnNzaC1rZXktdjE',
      ["tenant 'tenant-1': ConfigMap gitlab-runner-config data.id_ed25519: looks like a private key (-----BEGIN … PRIVATE KEY-----)"]],
    ['a Docker config.json in an annotation', { set: { kind: 'Deployment', name: 'gitlab-runner', path: ['metadata', 'annotations', 'docker'], value: DOCKER_CONFIG } }, 'Y2k6cGFzc3dvcmQ=',
      ["tenant 'tenant-1': Deployment gitlab-runner metadata.annotations.docker: looks like registry credentials (a Docker config.json with \"auths\")"]],
    ['a literal value in an ExternalSecret template', {
      add: {
        apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'kaniko-push-credentials', namespace: 'tenant-1' },
        spec: { secretStoreRef: { kind: 'SecretStore', name: 's' }, target: { name: 'kaniko-push-credentials', template: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': '{"auths":{"r":{"password":"hunter2"}}}' } } } },
      },
    }, 'hunter2',
    ["tenant 'tenant-1': ExternalSecret kaniko-push-credentials spec.target.template.data..dockerconfigjson: is a literal value, which would be committed; templates may only reference fetched keys ({{ .key }})",
      "tenant 'tenant-1': ExternalSecret kaniko-push-credentials spec.target.template.data..dockerconfigjson: looks like registry credentials (a Docker config.json with \"auths\")"]],
    ['a JWT in an annotation', { set: { kind: 'PodMonitor', name: 'gitlab-runner', path: ['metadata', 'annotations'], value: { note: JWT } } }, JWT,
      ["tenant 'tenant-1': PodMonitor gitlab-runner metadata.annotations.note: looks like a JSON Web Token (eyJ….eyJ….…)"]],
    ['a literal password as an env value', { set: { kind: 'Deployment', name: 'gitlab-runner', path: env0, value: { name: 'DB_PASSWORD', value: LITERAL_PASSWORD } } }, LITERAL_PASSWORD,
      ["tenant 'tenant-1': Deployment gitlab-runner spec.template.spec.containers[0].env[0].value: looks like a literal secret (the variable name contains PASSWORD)"]],
    ['a Slack webhook in config.toml', { replace: { kind: 'ConfigMap', name: 'gitlab-runner-config', path: ['data', 'config.toml'], from: 'url = "https://gitlab.example.com"', to: `url = "https://gitlab.example.com"\n# ${SLACK_WEBHOOK}` } }, SLACK_WEBHOOK,
      ["tenant 'tenant-1': ConfigMap gitlab-runner-config data.config.toml: looks like a Slack webhook URL"]],
    ['an AWS secret access key on the ServiceAccount', { set: { kind: 'ServiceAccount', name: 'gitlab-runner', path: ['metadata', 'annotations', 'aws-secret'], value: AWS_SECRET_KEY } }, AWS_SECRET_KEY,
      ["tenant 'tenant-1': ServiceAccount gitlab-runner metadata.annotations.aws-secret: looks like an AWS secret access key (40 characters of base64)"]],
    ['a GitHub token (found by the secretlint rule set) in an annotation', { set: { kind: 'Deployment', name: 'gitlab-runner', path: ['metadata', 'annotations', 'gh'], value: GITHUB_TOKEN } }, GITHUB_TOKEN,
      ["tenant 'tenant-1': Deployment gitlab-runner metadata.annotations.gh: looks like a secret (secretlint github: GITHUB_TOKEN)"]],
    ['base64 user:password in an annotation', { set: { kind: 'Deployment', name: 'gitlab-runner', path: ['metadata', 'annotations', 'auth'], value: BASIC_AUTH } }, BASIC_AUTH,
      ["tenant 'tenant-1': Deployment gitlab-runner metadata.annotations.auth: looks like a base64-encoded user:password (HTTP Basic auth)"]],
  ])('fails when the output holds %s: exit 1, names tenant/object/path, never the value, dist/ untouched', (_name, plant, secret, expected) => {
    const { ws, before } = synthesizedWorkspace();
    const result = run(PLANTED, ws, { PLANT: JSON.stringify({ tenant: 'tenant-1', ...plant }) });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(`refusing to write dist/: secret material in ${expected.length} place${expected.length === 1 ? '' : 's'} (dist/ is readable by everyone with access to the Git repository):`);
    expect(lines.filter((line) => line.startsWith("tenant '"))).toEqual(expected);
    expect(result.stderr).toContain('dist/ was not changed.');
    if (secret) expect(result.stderr).not.toContain(secret);
    expect(treeHash(ws.dist)).toBe(before);
    expect(fs.readdirSync(ws.dir).sort()).toEqual(['config', 'dist']);
  });

  test('fails when the output holds a token on a fresh checkout: no dist/ is created', () => {
    const ws = workspace();
    const result = run(PLANTED, ws, { PLANT: JSON.stringify({ tenant: 'tenant-2', set: { kind: 'Deployment', name: 'gitlab-runner', path: env0, value: { name: 'T', value: RUNNER_TOKEN } } }) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("tenant 'tenant-2': Deployment gitlab-runner spec.template.spec.containers[0].env[0].value: looks like a GitLab runner authentication token");
    expect(fs.existsSync(ws.dist)).toBe(false);
    expect(fs.readdirSync(ws.dir)).toEqual(['config']);
  });
});

describe('npm run secrets', () => {
  test('prints the setup commands of the named tenant only, from the configuration', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'build', 'secrets.js'), '--config', path.join(ROOT, 'config'), 'tenant-2'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('# tenant-2: Secrets to create in namespace tenant-2');
    expect(result.stdout).toContain('kubectl -n tenant-2 create secret generic gitlab-runner-tokens \\\n  --from-literal=java-builds="$JAVA_BUILDS_TOKEN" --from-literal=dotnet-builds="$DOTNET_BUILDS_TOKEN"');
    expect(result.stdout).not.toContain('tenant-1');
  });

  test('fails when the tenant does not exist', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'build', 'secrets.js'), '--config', path.join(ROOT, 'config'), 'tenant-9'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no tenant tenant-9');
  });
});
