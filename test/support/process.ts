/**
 * The synth as users run it: a separate Node process of the real bundle (scripts/run.mjs builds it
 * when a source changed), in a workspace folder of its own.
 */
import { execFileSync, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './synth';

export const RUN = path.join(ROOT, 'scripts', 'run.mjs');

/** Builds the synth bundle once per test file (run.mjs would, but not in parallel safely). */
export function buildSynth(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), 'synth'], { cwd: ROOT });
}

export interface Workspace {
  readonly dir: string;
  readonly config: string;
  readonly dist: string;
}

/** A temporary folder with a copy of the example config/ (and of the committed dist/ if asked). */
export function workspace(options: { dist?: boolean } = {}): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-ws-'));
  fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
  if (options.dist) fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  return { dir, config: path.join(dir, 'config'), dist: path.join(dir, 'dist') };
}

/** Runs `node scripts/run.mjs synth …` in `cwd` and waits for it. */
export function synthProcess(cwd: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [RUN, 'synth', ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
}

/**
 * Starts a synth that stops at `step` (TENANT_RUNNERS_PAUSE_AT), kills it there with SIGKILL and
 * resolves once it is dead, with what it printed.
 */
export function killSynthAt(cwd: string, step: string, args: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, 'synth', ...args], { cwd, env: { ...process.env, CI: 'true', TENANT_RUNNERS_PAUSE_AT: step } });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`synth never paused at ${step}: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes(`paused at ${step}`)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(stderr);
      else reject(new Error(`synth ended (${code}) before it paused at ${step}: ${stderr}`));
    });
  });
}

/** The entries of `dir` (names only), sorted. */
export function entries(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
