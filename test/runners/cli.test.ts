/**
 * `npm run runners` end to end against a local GitLab API and a local Kubernetes API (both
 * node:http on 127.0.0.1): the real GitLab client (@gitbeaker/rest), the real kubeconfig reader and
 * Secret client. Every run asserts that no runner token reaches stdout or stderr.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../lib/runners/cli';
import { ROOT } from '../support/synth';
import { FakeGitLab, startFakeGitLab } from './support/fake-gitlab';
import { FakeKube, startFakeKube } from './support/fake-kube';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'valid', 'runner-registration');
const GITLAB_TOKEN = 'glpat-test-registrar-0123456789';
const KUBE_TOKEN = 'kube-bearer-for-tests';

let work: string;
let gitlab: FakeGitLab;
let kube: FakeKube;

beforeEach(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'runners-cli-'));
  fs.cpSync(FIXTURE, path.join(work, 'config'), { recursive: true });
  kube = await startFakeKube({ token: KUBE_TOKEN });
});

afterEach(async () => {
  await gitlab?.close();
  await kube.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function withGitLab(options: Partial<Parameters<typeof startFakeGitLab>[0]> = {}) {
  gitlab = await startFakeGitLab({ token: GITLAB_TOKEN, groups: { platform: 7, 'platform/reg-acme': 42 }, projects: { 'platform/reg-acme/deploy': 4242 }, ...options });
}

async function run(args: string[], env: NodeJS.ProcessEnv = { GITLAB_TOKEN }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    [...args, '--config', path.join(work, 'config'), '--gitlab-url', gitlab.url, '--kubeconfig', kube.kubeconfig(work)],
    { out: (t) => out.push(t), err: (t) => err.push(t) },
    env,
  );
  const all = `${out.join('\n')}\n${err.join('\n')}`;
  // The one property that must never fail: no token, GitLab's or a runner's, in what the command printed.
  for (const token of [...gitlab.issued, GITLAB_TOKEN]) expect(all).not.toContain(token);
  expect(all).not.toMatch(/glrt-/);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const posts = () => gitlab.requests.filter((r) => r.method === 'POST');
/** Writes to Secrets (dry runs, which store nothing, left out). */
const secretWrites = () => kube.requests.filter((r) => r.method !== 'GET' && !r.dryRun);
const ACME = ['--tenant', 'reg-acme'];
const BUILDS_BODY = {
  runner_type: 'group_type',
  group_id: 42,
  description: 'tenant-runners:reg-acme/builds',
  tag_list: ['kaniko', 'linux'],
  run_untagged: false,
  paused: false,
};
const DEPLOY_BODY = {
  runner_type: 'project_type',
  project_id: 4242,
  description: 'tenant-runners:reg-acme/deploy',
  tag_list: ['deploy'],
  run_untagged: false,
  paused: false,
  locked: true,
  access_level: 'ref_protected',
  maximum_timeout: 3600,
};

test('plan on an empty GitLab lists the runners to create and exits 1, creating nothing', async () => {
  await withGitLab();
  const { code, out, err } = await run(['plan', ...ACME]);
  expect(code).toBe(1);
  expect(out.split('\n')).toEqual([
    '+ reg-acme/builds: create in group platform/reg-acme (#42) (tags kaniko,linux); token to Secret reg-acme/gitlab-runner-tokens key builds',
    '+ reg-acme/deploy: create in project #4242 (tags deploy, protected refs only); token to Secret reg-acme/gitlab-runner-tokens key deploy-token',
  ]);
  expect(err).toContain('without registration (not managed here): reg-acme/manual');
  expect(err).toContain('plan: 2 of 2 runners pending');
  expect(posts()).toEqual([]);
  expect(secretWrites()).toEqual([]);
  // Every GitLab call authenticates with the PRIVATE-TOKEN header, and the group path was resolved once.
  expect(gitlab.requests.every((r) => r.headers['private-token'] === GITLAB_TOKEN)).toBe(true);
  expect(gitlab.requests.filter((r) => r.path === '/api/v4/groups/platform%2Freg-acme' || r.path === '/api/v4/groups/platform/reg-acme')).toHaveLength(1);
});

test('apply creates each runner with the documented request body and stores its token in the tenant Secret; a second apply changes nothing', async () => {
  await withGitLab();
  const first = await run(['apply', ...ACME]);
  expect(first.code).toBe(0);
  expect(posts().map((r) => [r.path, r.body])).toEqual([
    ['/api/v4/user/runners', BUILDS_BODY],
    ['/api/v4/user/runners', DEPLOY_BODY],
  ]);
  expect(posts().every((r) => String(r.headers['content-type']).startsWith('application/json'))).toBe(true);
  expect(first.out.split('\n')).toEqual([
    '+ reg-acme/builds: created runner #1000 in group platform/reg-acme (#42), token stored in Secret reg-acme/gitlab-runner-tokens key builds',
    '+ reg-acme/deploy: created runner #1001 in project #4242, token stored in Secret reg-acme/gitlab-runner-tokens key deploy-token',
  ]);
  // The Secret did not exist: created once, labelled, then only the second key patched in.
  const secret = kube.secrets.get('reg-acme/gitlab-runner-tokens')!;
  expect(secret.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'tenant-runners', 'tenant-runners.io/tenant': 'reg-acme' });
  expect(secret.type).toBe('Opaque');
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'builds')).toBe(gitlab.issued[0]);
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'deploy-token')).toBe(gitlab.issued[1]);
  expect(secretWrites().map((r) => [r.method, r.path, r.contentType])).toEqual([
    ['POST', '/api/v1/namespaces/reg-acme/secrets', 'application/json'],
    ['PATCH', '/api/v1/namespaces/reg-acme/secrets/gitlab-runner-tokens', 'application/merge-patch+json'],
  ]);
  expect(secretWrites()[1]!.body).toEqual({ data: { 'deploy-token': Buffer.from(gitlab.issued[1]!).toString('base64') } });

  const before = gitlab.requests.length;
  const second = await run(['apply', ...ACME]);
  expect(second.code).toBe(0);
  expect(gitlab.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);
  expect(second.out.split('\n')).toEqual(['= reg-acme/builds: runner #1000 kept', '= reg-acme/deploy: runner #1001 kept']);
  const plan = await run(['plan', ...ACME]);
  expect(plan.code).toBe(0);
  expect(plan.err).toContain('plan: nothing to do');
});

test('an existing Secret keeps its other keys: only the runner key is patched', async () => {
  await withGitLab();
  kube.secrets.set('reg-acme/gitlab-runner-tokens', {
    metadata: { name: 'gitlab-runner-tokens', namespace: 'reg-acme', labels: { owner: 'platform' } },
    data: { manual: Buffer.from('glrt-set-by-hand-elsewhere').toString('base64') },
  });
  const { code } = await run(['apply', ...ACME]);
  expect(code).toBe(0);
  expect(secretWrites().filter((r) => r.method === 'POST')).toEqual([]);
  const secret = kube.secrets.get('reg-acme/gitlab-runner-tokens')!;
  expect(Object.keys(secret.data).sort()).toEqual(['builds', 'deploy-token', 'manual']);
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'manual')).toBe('glrt-set-by-hand-elsewhere');
  expect(secret.metadata.labels).toEqual({ owner: 'platform' });
});

test('a runner found by its description on a later page is kept, not created again (pagination)', async () => {
  const others = Array.from({ length: 5 }, (_, i) => ({ id: 10 + i, description: `someone-else-${i}`, runner_type: 'group_type' as const, groups: [42], projects: [] }));
  await withGitLab({
    maxPerPage: 2,
    runners: [...others, { id: 77, description: 'tenant-runners:reg-acme/builds', runner_type: 'group_type', groups: [42], projects: [] }],
  });
  kube.secrets.set('reg-acme/gitlab-runner-tokens', { metadata: { name: 'gitlab-runner-tokens', namespace: 'reg-acme' }, data: { builds: Buffer.from('stored-before').toString('base64') } });
  const { code, out } = await run(['apply', ...ACME]);
  expect(code).toBe(0);
  const lists = gitlab.requests.filter((r) => r.path === '/api/v4/groups/42/runners');
  expect(lists.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
  expect(lists.every((r) => r.query.type === 'group_type')).toBe(true);
  expect(out).toContain('= reg-acme/builds: runner #77 kept');
  expect(posts().map((r) => (r.body as { description: string }).description)).toEqual(['tenant-runners:reg-acme/deploy']);
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'builds')).toBe('stored-before');
});

test('a runner that exists without a stored token is reported; apply refuses, --reset-token reissues and stores it', async () => {
  await withGitLab({ runners: [{ id: 55, description: 'tenant-runners:reg-acme/builds', runner_type: 'group_type', groups: [42], projects: [] }] });
  const plan = await run(['plan', ...ACME]);
  expect(plan.code).toBe(1);
  expect(plan.out).toContain("! reg-acme/builds: runner #55 in group platform/reg-acme (#42) exists but its token is not in Secret reg-acme/gitlab-runner-tokens key builds: apply --reset-token");

  const refused = await run(['apply', ...ACME]);
  expect(refused.code).toBe(1);
  expect(refused.out).toContain('! reg-acme/builds: runner #55 exists but its token is not in Secret reg-acme/gitlab-runner-tokens key builds; nothing done');
  expect(posts().map((r) => r.path)).toEqual(['/api/v4/user/runners']); // only deploy was created
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'builds')).toBeUndefined();

  const reset = await run(['apply', ...ACME, '--reset-token']);
  expect(reset.code).toBe(0);
  expect(posts().map((r) => r.path)).toEqual(['/api/v4/user/runners', '/api/v4/runners/55/reset_authentication_token']);
  expect(reset.out).toContain('~ reg-acme/builds: reset the token of runner #55, token stored in Secret reg-acme/gitlab-runner-tokens key builds (expires 2027-03-01T00:00:00.000Z)');
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'builds')).toBe(gitlab.issued[1]);
  expect(reset.out).toContain('restart it:\n  kubectl -n reg-acme rollout restart deployment/gitlab-runner');
});

test("a runner with the description in an ancestor group is a conflict, not this group's runner", async () => {
  await withGitLab({ runners: [{ id: 60, description: 'tenant-runners:reg-acme/builds', runner_type: 'group_type', groups: [7], projects: [], listedIn: [42] }] });
  const { code, out } = await run(['apply', ...ACME]);
  expect(code).toBe(1);
  expect(out).toContain('! reg-acme/builds: runner #60 with this description is registered to another group, not group platform/reg-acme (#42)');
  expect(posts().map((r) => (r.body as { description: string }).description)).toEqual(['tenant-runners:reg-acme/deploy']);
});

test('GitLab 401: exit 2 with a clear message, nothing created, no token printed', async () => {
  await withGitLab();
  const { code, out, err } = await run(['apply', ...ACME], { GITLAB_TOKEN: 'glpat-wrong-wrong-wrong' });
  expect(code).toBe(2);
  expect(out).toBe('');
  expect(err).toContain('runners: group platform/reg-acme: GitLab answered 401 Unauthorized: GITLAB_TOKEN is not a valid token');
  expect(err).not.toContain('glpat-wrong-wrong-wrong');
  expect(err).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
  expect(posts()).toEqual([]);
});

test('a failed creation is not retried (a retried POST could leave a second runner): exit 1, one request, the run stops', async () => {
  await withGitLab({ failCreate: 502 });
  const { code, out } = await run(['apply', ...ACME]);
  expect(code).toBe(1);
  expect(posts().map((r) => r.path)).toEqual(['/api/v4/user/runners']);
  expect(out).toBe("! reg-acme/builds: create runner 'tenant-runners:reg-acme/builds': GitLab answered 502 (<html><body><h1>502 Bad Gateway</h1></body></html>)");
  expect(secretWrites()).toEqual([]);
});

test('without GITLAB_TOKEN: exit 2 before any request', async () => {
  await withGitLab();
  const { code, err } = await run(['plan', ...ACME], {});
  expect(code).toBe(2);
  expect(err).toContain('GITLAB_TOKEN is not set');
  expect(gitlab.requests).toEqual([]);
});

test('a group path GitLab does not know: exit 1 naming the group', async () => {
  await withGitLab({ groups: { platform: 7 } });
  const { code, err } = await run(['plan', ...ACME]);
  expect(code).toBe(1);
  expect(err).toContain('runners: group platform/reg-acme: GitLab answered 404 (404 Group Not Found)');
});

test('instance runners need an administrator: 403 is exit 2 with the reason', async () => {
  await withGitLab({ admin: false });
  const { code, err } = await run(['plan', '--tenant', 'reg-vault']);
  expect(code).toBe(2);
  expect(err).toContain('instance runners: GitLab answered 403 Forbidden');
  expect(err).toContain('instance runners need an administrator');
});

test('the Kubernetes API refusing to read the Secret: exit 1 with its Status message, before any GitLab request', async () => {
  await kube.close();
  kube = await startFakeKube({ token: KUBE_TOKEN, forbid: (verb) => verb === 'get' });
  await withGitLab();
  const { code, err } = await run(['apply', ...ACME]);
  expect(code).toBe(1);
  expect(err).toContain('runners: read Secret reg-acme/gitlab-runner-tokens: Kubernetes API answered 403 (secrets "gitlab-runner-tokens" is forbidden: User "system:serviceaccount:ops:registrar" cannot get resource "secrets"');
  expect(gitlab.requests).toEqual([]);
});

test('no permission to write the Secret: a dry run before GitLab issues a token, so no runner is created', async () => {
  await kube.close();
  kube = await startFakeKube({ token: KUBE_TOKEN, forbid: (verb) => verb === 'create' });
  await withGitLab();
  const { code, out } = await run(['apply', ...ACME]);
  expect(code).toBe(1);
  expect(out).toContain('! reg-acme/builds: check (dry run) creating Secret reg-acme/gitlab-runner-tokens: Kubernetes API answered 403 (secrets is forbidden: User "system:serviceaccount:ops:registrar" cannot create resource "secrets"');
  expect(out).toContain('the token could not be stored, so nothing was done');
  expect(posts()).toEqual([]);
  expect(secretWrites()).toEqual([]);
  expect(kube.requests.filter((r) => r.dryRun).map((r) => `${r.method} ${r.path}`)).toEqual([
    'POST /api/v1/namespaces/reg-acme/secrets',
    'POST /api/v1/namespaces/reg-acme/secrets',
  ]);
});

test("a tenant whose namespace does not exist yet (not merged): no runner is created", async () => {
  await kube.close();
  kube = await startFakeKube({ token: KUBE_TOKEN, namespaces: ['other'] });
  await withGitLab();
  const { code, out } = await run(['apply', ...ACME]);
  expect(code).toBe(1);
  expect(out).toContain('! reg-acme/builds: check (dry run) creating Secret reg-acme/gitlab-runner-tokens: Kubernetes API answered 404 (namespaces "reg-acme" not found)');
  expect(posts()).toEqual([]);
});

describe('secrets.source externalSecret', () => {
  test('apply refuses without --token-command and creates nothing for the tenant', async () => {
    await withGitLab({ admin: true });
    const { code, out } = await run(['apply', '--tenant', 'reg-vault']);
    expect(code).toBe(1);
    expect(out).toContain('! reg-vault/shared: tenant reg-vault reads its tokens through an ExternalSecret: the token must go to the external store (remote key tenant-runners/reg-vault/gitlab-runner-tokens property shared); give --token-command');
    expect(posts()).toEqual([]);
  });

  test('--token-command gets the token on stdin and the remote key in its environment; the cluster Secret is not written', async () => {
    await withGitLab({ admin: true });
    const sink = path.join(work, 'sink');
    // A command that echoes the token to stderr and fails would leak it: the command output is masked (next test).
    const command = `cat > '${sink}.token'; printf '%s %s %s %s' "$TENANT_RUNNERS_REMOTE_KEY" "$TENANT_RUNNERS_REMOTE_PROPERTY" "$TENANT_RUNNERS_TENANT" "$TENANT_RUNNERS_RUNNER" > '${sink}.env'`;
    const { code, out } = await run(['apply', '--tenant', 'reg-vault', '--token-command', command]);
    expect(code).toBe(0);
    expect(posts().map((r) => r.body)).toEqual([{ runner_type: 'instance_type', description: 'tenant-runners:reg-vault/shared', tag_list: [], run_untagged: true, paused: true }]);
    expect(fs.readFileSync(`${sink}.token`, 'utf8')).toBe(gitlab.issued[0]);
    expect(fs.readFileSync(`${sink}.env`, 'utf8')).toBe('tenant-runners/reg-vault/gitlab-runner-tokens shared reg-vault shared');
    expect(out).toContain('+ reg-vault/shared: created runner #1000 in instance, token stored in remote key tenant-runners/reg-vault/gitlab-runner-tokens property shared');
    expect(secretWrites()).toEqual([]);
  });

  test('a failing --token-command is reported with its stderr, the token masked, and the way to recover', async () => {
    await withGitLab({ admin: true });
    const { code, out } = await run(['apply', '--tenant', 'reg-vault', '--token-command', 'cat >&2; echo "vault: permission denied" >&2; exit 3']);
    expect(code).toBe(1);
    expect(out).toContain('! reg-vault/shared: created runner #1000 in instance, but its token could not be stored: --token-command exited with 3');
    expect(out).toContain('vault: permission denied');
    expect(out).toContain('run apply --reset-token to issue a new one for runner #1000');
  });
});

test('usage errors exit 2 with the usage; --help exits 0', async () => {
  await withGitLab();
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  expect(await main(['destroy'], io, {})).toBe(2);
  expect(err.join('\n')).toMatch(/^runners: unknown command 'destroy'; use plan or apply\nusage: npm run runners/);
  expect(await main(['--gitlab-url', 'https://user:pw@gitlab.example.com'], io, {})).toBe(2);
  expect(await main(['--help'], io, {})).toBe(0);
  expect(out.join('\n')).toMatch(/^usage: npm run runners -- \[plan\|apply\]/);
});

test('several clusters: one run handles one, chosen with --cluster', async () => {
  await withGitLab();
  const err: string[] = [];
  const io = { out: () => undefined, err: (t: string) => err.push(t) };
  const clusters = path.join(ROOT, 'test', 'fixtures', 'valid', 'clusters');
  expect(await main(['plan', '--config', clusters], io, { GITLAB_TOKEN })).toBe(2);
  expect(err.join('\n')).toContain('has several clusters (prod, staging); choose one with --cluster NAME and the matching --context');
  expect(await main(['plan', '--config', clusters, '--cluster', 'prod'], io, { GITLAB_TOKEN })).toBe(0);
  expect(gitlab.requests).toEqual([]);
});

test('the bundled command, as a process: stdout and stderr hold no token, exit codes as documented', async () => {
  await withGitLab();
  const args = [path.join(ROOT, 'scripts', 'run.mjs'), 'runners', 'apply', '--tenant', 'reg-acme', '--config', path.join(work, 'config'), '--gitlab-url', gitlab.url, '--kubeconfig', kube.kubeconfig(work)];
  // Asynchronous: the fake servers answer from this process's event loop.
  const spawnRun = (env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }));
    });
  const applied = await spawnRun({ GITLAB_TOKEN, TENANT_RUNNERS_DEBUG: '1' });
  expect(applied.code).toBe(0);
  expect(applied.stdout).toContain('+ reg-acme/builds: created runner #1000');
  expect(gitlab.issued).toHaveLength(2);
  for (const token of [...gitlab.issued, GITLAB_TOKEN]) expect(applied.stdout + applied.stderr).not.toContain(token);
  expect(kube.value('reg-acme', 'gitlab-runner-tokens', 'builds')).toBe(gitlab.issued[0]);
  const denied = await spawnRun({ GITLAB_TOKEN: 'glpat-not-the-right-one', TENANT_RUNNERS_DEBUG: '1' });
  expect(denied.code).toBe(2);
  expect(denied.stderr).toContain('401 Unauthorized');
  expect(denied.stdout + denied.stderr).not.toContain('glpat-not-the-right-one');
});
