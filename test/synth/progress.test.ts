/**
 * Progress on long work: on a terminal the synth shows tenants done / total as it goes; where the
 * output is a log (CI, a pipe: no `progress` in the Io) it prints only the final summary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSynth } from '../../lib/cli/synth';
import { ROOT } from '../support/synth';

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-progress-'));
  fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
  return dir;
}

test('on a terminal, progress counts the tenants up to the total, then clears', () => {
  const dir = workspace();
  const progress: string[] = [];
  const out: string[] = [];
  const code = runSynth(['--config', path.join(dir, 'config'), '--out', path.join(dir, 'dist')], {
    out: (line) => out.push(line),
    err: (line) => out.push(line),
    progress: (text) => progress.push(text),
  });
  expect(code).toBe(0);
  expect(progress[progress.length - 2]).toBe('synthesizing: 2/2 tenants');
  expect(progress[progress.length - 1]).toBe('');
  expect(out).toHaveLength(1);
});

test('in a log, only the final summary is printed', () => {
  const dir = workspace();
  const out: string[] = [];
  const code = runSynth(['--config', path.join(dir, 'config'), '--out', path.join(dir, 'dist')], { out: (line) => out.push(line), err: (line) => out.push(line) });
  expect(code).toBe(0);
  expect(out).toEqual([expect.stringMatching(/^.*dist\/: \d+ files for 2 tenants; added: tenant-1, tenant-2$/)]);
});
