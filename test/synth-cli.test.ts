/**
 * The real synth command, run as a process the way CI and users run it: output is deterministic,
 * bad input changes nothing, and removing a tenant must be deliberate.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './support/synth';
import { treeHash } from './support/tree';

const SYNTH = path.join(ROOT, 'build', 'synth.js');

beforeAll(() => {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
});

function workspace(): { dir: string; config: string; dist: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-cli-'));
  fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
  return { dir, config: path.join(dir, 'config'), dist: path.join(dir, 'dist') };
}

function synth(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [SYNTH, ...args], { cwd, encoding: 'utf8' });
}

test('the same configuration gives byte-identical dist/, and says so', () => {
  const ws = workspace();
  const first = synth(ws.dir);
  expect(first.status).toBe(0);
  expect(first.stdout).toMatch(/added: tenant-1, tenant-2$/m);
  const before = treeHash(ws.dist);
  const second = synth(ws.dir);
  expect(second.status).toBe(0);
  expect(second.stdout).toContain('no tenant changes');
  expect(treeHash(ws.dist)).toBe(before);
});

test('the committed dist/ is what the committed config/ synthesizes', () => {
  const ws = workspace();
  expect(synth(ws.dir).status).toBe(0);
  expect(treeHash(ws.dist)).toBe(treeHash(path.join(ROOT, 'dist')));
});

test('fails when the configuration is invalid: exit 1, every problem on stderr, dist/ untouched', () => {
  const ws = workspace();
  expect(synth(ws.dir).status).toBe(0);
  const before = treeHash(ws.dist);
  const tenantFile = path.join(ws.config, 'tenants', 'tenant-2.yaml');
  fs.writeFileSync(tenantFile, fs.readFileSync(tenantFile, 'utf8').replace('concurrent: 20', 'concurrent: 900').replace('bucket: tenant-2-cache', 'bucket: tenant-1-cache'));
  const result = synth(ws.dir);
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('config/tenants/tenant-2.yaml:3:13 concurrent: must be at most 500, got 900');
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain('dist/ was not changed.');
  expect(treeHash(ws.dist)).toBe(before);
  expect(fs.readdirSync(ws.dir).sort()).toEqual(['config', 'dist']);
});

test('fails to remove a tenant without --allow-removal; removes exactly its folder with it', () => {
  const ws = workspace();
  expect(synth(ws.dir).status).toBe(0);
  const before = treeHash(ws.dist);
  fs.rmSync(path.join(ws.config, 'tenants', 'tenant-2.yaml'));

  const refused = synth(ws.dir);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/refusing to remove tenant tenant-2 from dist\/.*--allow-removal/s);
  expect(treeHash(ws.dist)).toBe(before);

  const accepted = synth(ws.dir, '--allow-removal');
  expect(accepted.status).toBe(0);
  expect(accepted.stdout).toContain('removed: tenant-2');
  // The tenant's manifests and its CI template go; the CI folder is not a tenant.
  expect(fs.readdirSync(ws.dist).sort()).toEqual(['README.md', '_gitops', '_monitoring', 'ci', 'tenant-1']);
  expect(fs.readdirSync(path.join(ws.dist, 'ci'))).toEqual(['tenant-1']);
  expect(accepted.stdout).not.toContain('ci');
  expect(fs.readdirSync(path.join(ws.dist, '_gitops')).filter((f) => f.includes('tenant-2'))).toEqual([]);
});

test('a changed tenant is reported as changed, the other as unchanged', () => {
  const ws = workspace();
  expect(synth(ws.dir).status).toBe(0);
  const tenantFile = path.join(ws.config, 'tenants', 'tenant-1.yaml');
  fs.writeFileSync(tenantFile, fs.readFileSync(tenantFile, 'utf8').replace('concurrent: 20', 'concurrent: 25'));
  const result = synth(ws.dir);
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('changed: tenant-1');
  expect(result.stdout).not.toContain('tenant-2');
});
