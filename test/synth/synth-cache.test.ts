/**
 * The synth cache (lib/synth/synth-cache.ts) skips tenants whose input did not change, and the
 * output stays byte for byte what a full synth writes: after input changes, hand edits, deleted
 * files and a corrupt cache.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSynth, synthProcess, workspace, Workspace } from '../support/process';
import { ROOT } from '../support/synth';
import { treeHash } from '../support/tree';

beforeAll(buildSynth);

function cacheFile(ws: Workspace): string {
  return path.join(ROOT, 'build', 'synth-cache', `${createHash('sha256').update(fs.realpathSync(ws.dir) + '/dist').digest('hex').slice(0, 32)}.jsonl`);
}

/** What a synth without any cache writes for the workspace's configuration. */
function fullSynthHash(ws: Workspace): string {
  const fresh = workspace();
  fs.rmSync(fresh.config, { recursive: true });
  fs.cpSync(ws.config, fresh.config, { recursive: true });
  expect(synthProcess(fresh.dir, [], { TENANT_RUNNERS_NO_CACHE: '1' }).status).toBe(0);
  return treeHash(fresh.dist);
}

function edit(file: string, from: string, to: string): void {
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain(from);
  fs.writeFileSync(file, text.replace(from, to));
}

test('a re-synth with nothing changed reuses every tenant and writes nothing', () => {
  const ws = workspace();
  expect(synthProcess(ws.dir).status).toBe(0);
  expect(fs.existsSync(cacheFile(ws))).toBe(true);
  const mtimes = fs.readdirSync(path.join(ws.dist, 'tenant-1')).map((f) => fs.statSync(path.join(ws.dist, 'tenant-1', f)).mtimeMs);
  const again = synthProcess(ws.dir);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('no tenant changes');
  expect(fs.readdirSync(path.join(ws.dist, 'tenant-1')).map((f) => fs.statSync(path.join(ws.dist, 'tenant-1', f)).mtimeMs)).toEqual(mtimes);
  expect(treeHash(ws.dist)).toBe(treeHash(path.join(ROOT, 'dist')));
});

test('a changed tenant is synthesized again; the output equals a full synth', () => {
  const ws = workspace();
  expect(synthProcess(ws.dir).status).toBe(0);
  edit(path.join(ws.config, 'tenants', 'tenant-1.yaml'), 'concurrent: 20', 'concurrent: 25');
  const run = synthProcess(ws.dir);
  expect(run.stdout).toMatch(/changed: tenant-1$/m);
  expect(treeHash(ws.dist)).toBe(fullSynthHash(ws));
});

test('a platform change reaches every tenant', () => {
  const ws = workspace();
  expect(synthProcess(ws.dir).status).toBe(0);
  edit(path.join(ws.config, 'platform.yaml'), 'checkInterval: 3', 'checkInterval: 4');
  const run = synthProcess(ws.dir);
  expect(run.stdout).toMatch(/changed: tenant-1, tenant-2$/m);
  expect(treeHash(ws.dist)).toBe(fullSynthHash(ws));
});

test.each([
  ['edited by hand', (file: string) => fs.appendFileSync(file, '# hand edit\n')],
  ['edited by hand, same size', (file: string) => {
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('gitlab-runner', 'gitlab-runnex'));
  }],
  ['deleted', (file: string) => fs.rmSync(file)],
])('a tenant file %s is written again', (_how, tamper) => {
  const ws = workspace();
  expect(synthProcess(ws.dir).status).toBe(0);
  const file = path.join(ws.dist, 'tenant-2', 'deployment-gitlab-runner.yaml');
  const before = fs.readFileSync(file, 'utf8');
  tamper(file);
  const run = synthProcess(ws.dir);
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/changed: tenant-2$/m);
  expect(fs.readFileSync(file, 'utf8')).toBe(before);
  expect(treeHash(ws.dist)).toBe(treeHash(path.join(ROOT, 'dist')));
});

test('a corrupt cache is ignored', () => {
  const ws = workspace();
  expect(synthProcess(ws.dir).status).toBe(0);
  fs.writeFileSync(cacheFile(ws), '{"format":2,"code":');
  edit(path.join(ws.config, 'tenants', 'tenant-2.yaml'), 'concurrent: 20', 'concurrent: 22');
  expect(synthProcess(ws.dir).status).toBe(0);
  expect(treeHash(ws.dist)).toBe(fullSynthHash(ws));
});

/** A workspace whose config/ is a fixture's (`fixture` relative to test/fixtures/valid). */
function fixtureWorkspace(fixture: string): Workspace {
  const ws = workspace();
  fs.rmSync(ws.config, { recursive: true });
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'valid', fixture), ws.config, { recursive: true });
  return ws;
}

/** The cache file's tenants: unit → its files (one line per tenant after the header). */
function cachedUnits(ws: Workspace): Map<string, string[]> {
  const [header, ...lines] = fs.readFileSync(cacheFile(ws), 'utf8').trim().split('\n');
  expect(JSON.parse(header)).toMatchObject({ format: 2 });
  return new Map(lines.map((line) => {
    const [unit, , files] = JSON.parse(line) as [string, string, [string, number, number][]];
    return [unit, files.map(([file]) => file)];
  }));
}

// Flux delivers each tenant through files in _gitops/ that belong to the tenant's folder (they go
// with it when it is removed) but are the cluster's, written after every tenant: the cache must
// record a tenant's own files only, or a re-synth would keep them and write them again.
test.each([
  ['flux', 'mixed', 'tenants/beta.yaml'],
  ['several clusters, one of them flux', 'clusters', 'clusters/staging/tenants/tenant-1.yaml'],
])('%s: a re-synth reuses every tenant, and a changed tenant gives the full synth', (_label, fixture, tenantFile) => {
  const ws = fixtureWorkspace(fixture);
  expect(synthProcess(ws.dir).status).toBe(0);
  const units = cachedUnits(ws);
  expect(units.size).toBeGreaterThanOrEqual(2);
  for (const [unit, files] of units) {
    const tenant = unit.split('/').pop()!;
    // The tenant folder and its CI template (dist/[<cluster>/]ci/<tenant>/), nothing of _gitops/.
    expect(files.filter((file) => !file.startsWith(`${unit}/`) && !file.includes(`ci/${tenant}/`))).toEqual([]);
    expect(files.length).toBeGreaterThan(5);
    expect(files.every((file) => fs.statSync(path.join(ws.dist, file)).isFile())).toBe(true);
  }
  const again = synthProcess(ws.dir);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('no tenant changes');
  expect(cachedUnits(ws)).toEqual(units);
  expect(treeHash(ws.dist)).toBe(fullSynthHash(ws));
  const file = path.join(ws.config, tenantFile);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toMatch(/^concurrent: \d+$/m);
  fs.writeFileSync(file, text.replace(/^concurrent: \d+$/m, 'concurrent: 3'));
  const changed = synthProcess(ws.dir);
  expect(changed.status).toBe(0);
  expect(changed.stdout).toMatch(/changed: \S+$/m);
  expect(treeHash(ws.dist)).toBe(fullSynthHash(ws));
});
