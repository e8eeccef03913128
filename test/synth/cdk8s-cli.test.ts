/**
 * `npx cdk8s synth`, the stock cdk8s CLI from node_modules, as the main command: on a fresh copy of
 * the repository with no build/ it writes the same dist/ as `npm run synth`, keeps the removal
 * guard (also when dist/ was deleted: then Git's committed dist/ counts), and leaves dist/ as it
 * was on bad input.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../support/synth';
import { treeHash } from '../support/tree';

const CDK8S = path.join(ROOT, 'node_modules', '.bin', 'cdk8s');
// What a fresh clone holds (besides node_modules, linked): sources, cdk8s.yaml, config/, dist/, and
// reference/ (the loader checks configOverrides against the runner's config.toml schema there).
const CLONED = ['cdk8s.yaml', 'main.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'lib', 'imports', 'scripts', 'reference', 'config', 'dist'];

let repo: string;
beforeAll(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-clone-'));
  for (const entry of CLONED) fs.cpSync(path.join(ROOT, entry), path.join(repo, entry), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-qm', 'clone');
});
afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

function cdk8sSynth(env: NodeJS.ProcessEnv = {}) {
  // No upgrade check: it asks the npm registry on every run and is no part of what we test.
  return spawnSync(CDK8S, ['synth'], { cwd: repo, encoding: 'utf8', env: { ...process.env, CI: 'true', CDK8S_CHECK_UPGRADE: 'false', ...env } });
}

function restoreConfig(): void {
  execFileSync('git', ['checkout', '-q', '--', 'config', 'dist'], { cwd: repo });
  execFileSync('git', ['clean', '-qfd', '--', 'config', 'dist'], { cwd: repo });
}

test('on a fresh clone without build/, writes dist/ identical to the committed one', () => {
  expect(fs.existsSync(path.join(repo, 'build'))).toBe(false);
  fs.rmSync(path.join(repo, 'dist'), { recursive: true });
  const run = cdk8sSynth();
  expect(run.status).toBe(0);
  // Compared with Git's committed dist/ (the folder is gone), the tenants are not new.
  expect(run.stderr).toMatch(/^dist\/: \d+ files for 2 tenants; changed: tenant-1, tenant-2$/m);
  expect(treeHash(path.join(repo, 'dist'))).toBe(treeHash(path.join(ROOT, 'dist')));
  // The CLI's own output folder is a scratch folder under build/, never dist/.
  expect(fs.readdirSync(path.join(repo, 'build', 'cdk8s.out'))).toEqual(['tenant-runners.k8s.yaml']);
});

test('fails on bad input with file:line:col, exit non-zero, and dist/ keeps its content', () => {
  restoreConfig();
  const before = treeHash(path.join(repo, 'dist'));
  const file = path.join(repo, 'config', 'tenants', 'tenant-2.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('concurrent: 20', 'concurrent: 900'));
  const run = cdk8sSynth();
  expect(run.status).not.toBe(0);
  expect(run.stderr).toContain('config/tenants/tenant-2.yaml:3:13 concurrent: must be at most 500, got 900');
  expect(run.stderr).toContain('dist/ was not changed.');
  expect(treeHash(path.join(repo, 'dist'))).toBe(before);
});

test('fails to remove a tenant unless TENANT_RUNNERS_ALLOW_REMOVAL=1', () => {
  restoreConfig();
  const before = treeHash(path.join(repo, 'dist'));
  fs.rmSync(path.join(repo, 'config', 'tenants', 'tenant-2.yaml'));
  const refused = cdk8sSynth();
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/refusing to remove tenant tenant-2 from dist\//);
  expect(treeHash(path.join(repo, 'dist'))).toBe(before);

  const allowed = cdk8sSynth({ TENANT_RUNNERS_ALLOW_REMOVAL: '1' });
  expect(allowed.status).toBe(0);
  expect(allowed.stderr).toContain('removed: tenant-2');
  expect(fs.existsSync(path.join(repo, 'dist', 'tenant-2'))).toBe(false);
});

test.each([
  ['deleted', () => fs.rmSync(path.join(repo, 'dist'), { recursive: true })],
  ['emptied', () => {
    fs.rmSync(path.join(repo, 'dist'), { recursive: true });
    fs.mkdirSync(path.join(repo, 'dist'));
  }],
])('fails to remove a tenant when dist/ was %s: the tenants committed in Git count', (_how, wipe) => {
  restoreConfig();
  wipe();
  fs.rmSync(path.join(repo, 'config', 'tenants', 'tenant-2.yaml'));
  const refused = cdk8sSynth();
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/refusing to remove tenant tenant-2 from dist\//);
});
