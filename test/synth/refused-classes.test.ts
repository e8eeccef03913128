/**
 * Every class of hostile or careless configuration, refused by the real synth process: exit 1,
 * the exact `file:line:col key: message` lines of the fixture on stderr, and dist/ byte for byte
 * as it was (no leftovers beside it). The in-process fixture test (test/config/invalid.test.ts)
 * checks every case's messages; this one proves the process path for each class.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assembleCase, FIXTURES } from '../config/assemble';
import { buildSynth, RUN } from '../support/process';
import { treeHash } from '../support/tree';

// One or more fixtures per class of the isolation review (injection, scheduling, namespaces,
// egress, global names, values and limits, credentials).
const CASES = [
  'injection-kaniko-repo-newline', 'injection-kaniko-repo-shell', 'injection-kaniko-repo-markdown', 'injection-egress-description', 'injection-platform-urls',
  'node-labels-other-tenant-identity', 'node-labels-control-plane', 'taint-without-value', 'taint-other-tenant-value', 'tenant-label-key-well-known',
  'tenant-name-addon-namespaces', 'tenant-name-platform-namespaces', 'tenant-build-namespace-reserved',
  'cluster-cidrs-missing', 'egress-metadata-service', 'egress-api-server', 'egress-node-ports', 'egress-ipv6-metadata',
  'bucket-shared', 'kaniko-repo-other-tenant-project',
  'resources-request-above-limit', 'resources-absurd', 'quota-hard-unknown-keys', 'environment-reserved',
  'credential-gitlab-token-prefixes', 'credential-jwt', 'credential-secret-named-variables',
];

let baseDist: string;
beforeAll(() => {
  buildSynth();
  const base = assembleCase(fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-empty-case-')));
  const run = spawnSync(process.execPath, [RUN, 'synth'], { cwd: base, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  expect(run.stderr).toBe('');
  baseDist = path.join(base, 'dist');
});

function synth(cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, 'synth'], { cwd, env: { ...process.env, CI: 'true' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': stderr is fully read only once the streams are closed.
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test.concurrent.each(CASES)('fails when %s: exit 1, the fixture\'s messages, dist/ unchanged', async (name) => {
  const caseDir = path.join(FIXTURES, 'invalid', name);
  const expected = fs.readFileSync(path.join(caseDir, 'expected.txt'), 'utf8').split('\n').filter(Boolean);
  const project = assembleCase(caseDir);
  fs.cpSync(baseDist, path.join(project, 'dist'), { recursive: true });
  const before = treeHash(path.join(project, 'dist'));
  const run = await synth(project);
  expect(run.code).toBe(1);
  for (const line of expected) expect(run.stderr).toContain(line);
  expect(run.stderr).toContain('dist/ was not changed.');
  expect(treeHash(path.join(project, 'dist'))).toBe(before);
  expect(fs.readdirSync(project).sort()).toEqual(['config', 'dist']);
});
