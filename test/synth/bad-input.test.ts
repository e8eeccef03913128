/**
 * No stack traces for any input: every failure of the synth process is one line naming the file
 * (and line:col where there is one), exit 1 for bad input and 2 for usage, dist/ untouched.
 * Non-regular files under config/ are refused without being read.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSynth, synthProcess, workspace, Workspace } from '../support/process';
import { treeHash } from '../support/tree';

beforeAll(buildSynth);

const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

function expectRefused(ws: Workspace, expected: RegExp, args: string[] = []) {
  const before = treeHash(ws.dist);
  const run = synthProcess(ws.dir, args);
  expect(run.stderr).toMatch(expected);
  expect(run.stderr).not.toMatch(STACK_LINE);
  expect(run.stderr).not.toMatch(/internal error/);
  expect(run.status).toBe(1);
  expect(treeHash(ws.dist)).toBe(before);
  return run;
}

test('fails on a YAML alias bomb with file:line:col instead of running out of memory', () => {
  const ws = workspace({ dist: true });
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 9; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
  fs.writeFileSync(path.join(ws.config, 'tenants', 'tenant-2.yaml'), `${lines.join('\n')}\n`);
  expectRefused(ws, /^config\/tenants\/tenant-2\.yaml:2:\d+ YAML aliases expand to more than 100 copies/m);
});

test('fails when config/tenants is a file, naming it', () => {
  const ws = workspace({ dist: true });
  fs.rmSync(path.join(ws.config, 'tenants'), { recursive: true });
  fs.writeFileSync(path.join(ws.config, 'tenants'), 'name: x\n');
  expectRefused(ws, /^config\/tenants is a file; it must be a folder of tenant files/m);
});

test('fails on a FIFO as a tenant file without reading it (no hang)', () => {
  const ws = workspace({ dist: true });
  execFileSync('mkfifo', [path.join(ws.config, 'tenants', 'tenant-3.yaml')]);
  expectRefused(ws, /^config\/tenants\/tenant-3\.yaml is a FIFO, not a regular file/m);
});

test('fails on a symbolic link as a tenant file (its target was never reviewed)', () => {
  const ws = workspace({ dist: true });
  fs.symlinkSync('/etc/hostname', path.join(ws.config, 'tenants', 'tenant-3.yaml'));
  expectRefused(ws, /^config\/tenants\/tenant-3\.yaml is a symbolic link, not a regular file/m);
});

test('fails when config/clusters is a file, naming it', () => {
  const ws = workspace({ dist: true });
  fs.writeFileSync(path.join(ws.config, 'clusters'), '');
  expectRefused(ws, /^config\/clusters is a file; it must be a folder with one folder per cluster/m);
});

test('fails on a tenant file over 1 MiB without parsing it', () => {
  const ws = workspace({ dist: true });
  fs.writeFileSync(path.join(ws.config, 'tenants', 'tenant-3.yaml'), `# ${'x'.repeat(1024 * 1024)}\n`);
  expectRefused(ws, /^config\/tenants\/tenant-3\.yaml is \d+ bytes; configuration files may be at most 1048576 bytes/m);
});

describe('arguments', () => {
  test.each([
    [['--jobs', '0'], /--jobs must be a whole number from 1 to 64, got '0'/],
    [['--jobs=two'], /--jobs must be a whole number from 1 to 64, got 'two'/],
    [['--frobnicate'], /synth: Unknown option '--frobnicate'/],
    [['deploy'], /synth: unknown command 'deploy'/],
    [['diff', '--allow-removal'], /--allow-removal is for synth, not diff/],
  ])('fails with exit 2 and the usage on %j', (args, expected) => {
    const ws = workspace();
    const run = synthProcess(ws.dir, args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr).toContain('usage: synth');
    expect(fs.existsSync(ws.dist)).toBe(false);
  });

  test('--help prints the usage on stdout and exits 0', () => {
    const run = synthProcess(workspace().dir, ['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: synth \[diff\]/);
    expect(run.stdout).toContain('TENANT_RUNNERS_ALLOW_REMOVAL=1');
  });

  test('--flag=value, --flag value and a doubled npm separator are all understood', () => {
    const ws = workspace();
    expect(synthProcess(ws.dir, ['--jobs=2', '--out=out-a']).status).toBe(0);
    expect(synthProcess(ws.dir, ['--jobs', '2', '--out', 'out-b']).status).toBe(0);
    fs.rmSync(path.join(ws.config, 'tenants', 'tenant-2.yaml'));
    const removal = synthProcess(ws.dir, ['--allow-removal', '--', '--out', 'out-b']);
    expect(removal.status).toBe(0);
    expect(removal.stdout).toContain('removed: tenant-2');
    expect(treeHash(path.join(ws.dir, 'out-a'))).not.toBe(treeHash(path.join(ws.dir, 'out-b')));
  });

  test('TENANT_RUNNERS_JOBS is read like --jobs, and checked like it', () => {
    const ws = workspace();
    const run = synthProcess(ws.dir, [], { TENANT_RUNNERS_JOBS: '0' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/TENANT_RUNNERS_JOBS must be a whole number from 1 to 64, got '0'/);
  });
});
