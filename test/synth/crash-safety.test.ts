/**
 * dist/ as a killed, concurrent or failing synth leaves it: never missing, never half-replaced by
 * a run that failed, leftovers cleaned by the next run, one writer at a time, modes from the umask.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSynth, entries, killSynthAt, RUN, synthProcess, workspace } from '../support/process';
import { treeHash } from '../support/tree';
import { ROOT } from '../support/synth';

beforeAll(buildSynth);

/** A workspace (with the committed dist/ unless told otherwise) whose config now changes tenant-1. */
function changedWorkspace(dist = true) {
  const ws = workspace({ dist });
  const tenantFile = path.join(ws.config, 'tenants', 'tenant-1.yaml');
  fs.writeFileSync(tenantFile, fs.readFileSync(tenantFile, 'utf8').replace('concurrent: 20', 'concurrent: 25'));
  return ws;
}

describe.each(['locked', 'staged', 'applying', 'applied'])('killed at step %s', (step) => {
  test('dist/ still exists; the next run removes the leftovers and writes the new output', async () => {
    const ws = changedWorkspace();
    const before = treeHash(ws.dist);
    await killSynthAt(ws.dir, step);

    expect(fs.statSync(ws.dist).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(ws.dist, 'tenant-2', 'namespace-tenant-2.yaml'))).toBe(true);
    if (step === 'locked' || step === 'staged') expect(treeHash(ws.dist)).toBe(before);

    const again = synthProcess(ws.dir);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    // Leftovers (staging folder, stale lock) are gone.
    expect(entries(ws.dir)).toEqual(['config', 'dist']);
    const fresh = changedWorkspace(false);
    expect(synthProcess(fresh.dir).status).toBe(0);
    expect(treeHash(ws.dist)).toBe(treeHash(fresh.dist));
  });
});

// A first synth (no dist/ yet) moves whole folders into dist/, one rename each, staged by worker
// threads with --jobs 2: killed between two folder renames, the next run still completes it.
describe.each([
  ['applying', []],
  ['applying', ['--jobs', '2']],
  ['applied', ['--jobs', '2']],
])('a first synth killed at step %s (%j)', (step, args) => {
  test('the next run removes the leftovers and writes the whole output', async () => {
    const ws = workspace();
    await killSynthAt(ws.dir, step, args);
    // Killed after the first folder moved: part of the output is there, and nothing else.
    expect(fs.readdirSync(ws.dist).length).toBeGreaterThan(0);
    expect(entries(ws.dir).filter((name) => name !== '.dist.lock')).toEqual(expect.arrayContaining(['config', 'dist']));

    const again = synthProcess(ws.dir, args);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(entries(ws.dir)).toEqual(['config', 'dist']);
    const fresh = workspace();
    expect(synthProcess(fresh.dir).status).toBe(0);
    expect(treeHash(ws.dist)).toBe(treeHash(fresh.dist));
  });
});

test('a second synth waits for the first one’s lock, then writes', async () => {
  const ws = changedWorkspace();
  const first = spawn(process.execPath, [RUN, 'synth'], { cwd: ws.dir, env: { ...process.env, CI: 'true', TENANT_RUNNERS_PAUSE_AT: 'staged' } });
  await new Promise<void>((resolve) => first.stderr.on('data', (c: Buffer) => c.toString().includes('paused at staged') && resolve()));
  // While the first one holds the lock, the second one waits; it goes on once the holder is gone.
  const second = spawn(process.execPath, [RUN, 'synth'], { cwd: ws.dir, env: { ...process.env, CI: 'true' } });
  let secondErr = '';
  second.stderr.on('data', (c: Buffer) => (secondErr += c.toString()));
  await new Promise<void>((resolve) => second.stderr.on('data', () => secondErr.includes('waiting for another synth') && resolve()));
  first.kill('SIGKILL');
  const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
  expect(secondErr).toMatch(/waiting for another synth \(pid \d+\)/);
  expect(code).toBe(0);
  expect(entries(ws.dir)).toEqual(['config', 'dist']);
});

test('fails clearly when another live synth holds the lock for too long', () => {
  const ws = workspace({ dist: true });
  // A lock held by a live process (this test's own), as a synth that hangs would hold it.
  fs.writeFileSync(path.join(ws.dir, '.dist.lock'), `${process.pid}\n`);
  const before = treeHash(ws.dist);
  const run = spawnSyncWithLockWait(ws.dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/\.dist\.lock: another synth \(pid \d+\) is writing the output; waited 1 s/);
  expect(run.stderr).toContain('dist/ was not changed.');
  expect(treeHash(ws.dist)).toBe(before);
});

function spawnSyncWithLockWait(cwd: string) {
  return synthProcess(cwd, [], { TENANT_RUNNERS_LOCK_WAIT_MS: '1000' });
}

test('a stale lock (its process is gone) is taken over', () => {
  const ws = workspace({ dist: true });
  fs.writeFileSync(path.join(ws.dir, '.dist.lock'), '999999999\n');
  const run = synthProcess(ws.dir);
  expect(run.status).toBe(0);
  expect(entries(ws.dir)).toEqual(['config', 'dist']);
});

test('new folders and files follow the umask (no 0700 dist/)', () => {
  const ws = workspace();
  const run = synthProcess(ws.dir);
  expect(run.status).toBe(0);
  const umask = process.umask();
  expect(fs.statSync(ws.dist).mode & 0o777).toBe(0o777 & ~umask);
  expect(fs.statSync(path.join(ws.dist, 'tenant-1')).mode & 0o777).toBe(0o777 & ~umask);
  expect(fs.statSync(path.join(ws.dist, 'tenant-1', 'namespace-tenant-1.yaml')).mode & 0o777).toBe(0o666 & ~umask);
});

test('fails when a staged file cannot be put in place, and says how far it got', () => {
  const ws = changedWorkspace();
  // A folder where a changed file must go: rename() of a file onto a non-empty folder fails.
  const target = path.join(ws.dist, 'tenant-1', 'configmap-gitlab-runner-config.yaml');
  fs.rmSync(target);
  fs.mkdirSync(path.join(target, 'blocker'), { recursive: true });
  const run = synthProcess(ws.dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^could not update dist\/ after \d+ of \d+ changes: .*dist\/ now mixes old and new files/m);
  expect(run.stderr).not.toContain('was not changed');
  expect(run.stderr).not.toMatch(/^\s+at /m);
});

test('the committed dist/ of the repository is never touched by these tests', () => {
  expect(fs.existsSync(path.join(ROOT, '.dist.lock'))).toBe(false);
});
