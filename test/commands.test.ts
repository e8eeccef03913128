/**
 * Every npm script starts its command through scripts/run.mjs, which builds a bundle only when a
 * source changed and runs it as the main module. Each command answers --help from its bundle.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './support/synth';

const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
const launched = Object.entries(scripts).flatMap(([name, line]) => {
  const match = /^node scripts\/run\.mjs (\S+)/.exec(line);
  return match ? [[name, match[1]] as [string, string]] : [];
});

test('the commands go through the launcher, and npm ci builds every bundle once', () => {
  expect(launched.map(([name]) => name).sort()).toEqual(['bench', 'buckets', 'diff', 'docs', 'runners', 'schema', 'secrets', 'synth']);
  expect(scripts.prepare).toBe('node scripts/build.mjs');
});

test.each([
  ['synth', /^usage: synth /],
  ['buckets', /^usage: npm run buckets /],
  ['runners', /^usage: npm run runners /],
  ['schema', /^usage: npm run schema /],
  ['docs', /^usage: npm run docs/],
])('%s --help runs its bundle and prints its usage', (command, usage) => {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'run.mjs'), command, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(usage);
});

test('an unknown command is a usage error', () => {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'run.mjs'), 'deploy'], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/^usage: node scripts\/run\.mjs </);
});
