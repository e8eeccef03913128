import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { OutputFile, readTree } from '../../lib/synth/engine';

export const ROOT = path.join(__dirname, '..', '..');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tenant-runners-${prefix}-`));
}

/** The worker bundle of lib/synth/workers.ts, built from the sources as scripts/build.mjs does. */
export function buildWorker(dir: string): string {
  const outfile = path.join(dir, 'build', 'synth-worker.js');
  buildSync({ entryPoints: [path.join(ROOT, 'lib', 'synth', 'worker.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' });
  return outfile;
}

export function fileMap(files: readonly OutputFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, f.content]));
}

/** Every file under `dir` with its content, by path relative to it. */
export function readTreeMap(dir: string): Map<string, string> {
  return readTree(dir);
}
