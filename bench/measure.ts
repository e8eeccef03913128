/**
 * Measuring whole processes for the benchmark: wall time, CPU time and peak RSS of a command,
 * hashes of output trees, and the artificial load (`--under-load`).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TIME = '/usr/bin/time';

export interface Run {
  /** Wall time of the whole process (with its children), in seconds. */
  wall: number;
  /** User + system CPU time of the process and its children (all threads), in seconds. */
  cpu: number;
  /** Peak resident set size of the largest process, in MB. */
  rssMb: number;
  stdout: string;
}

export function hasGnuTime(): boolean {
  return fs.existsSync(TIME);
}

/**
 * Runs `command ARGS` as a whole process and measures it. Peak RSS and CPU time come from GNU
 * time (%M, %U, %S) when /usr/bin/time exists; else, for node only, from
 * process.resourceUsage() of the child, reported by a preloaded exit hook.
 */
export function runCommand(command: string, args: readonly string[], cwd: string, scratch: string, env?: NodeJS.ProcessEnv): Run {
  const useTime = hasGnuTime();
  const rssFile = path.join(scratch, 'maxrss');
  let file: string;
  let fileArgs: string[];
  if (useTime) {
    file = TIME;
    fileArgs = ['-f', 'BENCH_MAXRSS_KB=%M BENCH_CPU=%U+%S', command, ...args];
  } else {
    if (command !== process.execPath) throw new Error(`measuring ${command} needs ${TIME} (apt-get install time)`);
    const hook = path.join(scratch, 'maxrss-hook.js');
    fs.writeFileSync(
      hook,
      `process.on('exit', () => { const u = process.resourceUsage(); require('fs').writeFileSync(${JSON.stringify(rssFile)}, ` +
        '`${u.maxRSS} ${(u.userCPUTime + u.systemCPUTime) / 1e6}`); });\n',
    );
    file = process.execPath;
    fileArgs = ['-r', hook, ...args];
  }
  // Untimed: what earlier runs wrote goes to disk now, not in the middle of this run (the kernel
  // writes dirty pages back after 30 s, and tens of thousands of small files take seconds).
  spawnSync('sync');
  const start = process.hrtime.bigint();
  const result = spawnSync(file, fileArgs, { cwd, env: env ?? process.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${result.status ?? result.signal}:\n${(result.stderr ?? '').slice(-4000)}`);
  }
  let rssKb: number;
  let cpu: number;
  if (useTime) {
    const m = /BENCH_MAXRSS_KB=(\d+) BENCH_CPU=([\d.]+)\+([\d.]+)/.exec(result.stderr);
    rssKb = Number(m?.[1]);
    cpu = Number(m?.[2]) + Number(m?.[3]);
  } else {
    [rssKb, cpu] = fs.readFileSync(rssFile, 'utf8').split(' ').map(Number);
  }
  if (!Number.isFinite(rssKb) || !Number.isFinite(cpu)) throw new Error(`no peak RSS / CPU time reported for ${command} ${args.join(' ')}`);
  return { wall, cpu, rssMb: rssKb / 1024, stdout: result.stdout };
}

/** `node ARGS`, measured. */
export function runNode(args: readonly string[], cwd: string, scratch: string, env?: NodeJS.ProcessEnv): Run {
  return runCommand(process.execPath, args, cwd, scratch, env);
}

/** Every file under `dir`, by `/`-separated path relative to it, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(rel ? path.join(dir, rel) : dir, { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** SHA-256 over every file of a tree (sorted paths, each path and its bytes): equal hashes, equal trees. */
export function treeHash(dir: string): { hash: string; files: number; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const files = listFiles(dir);
  for (const file of files) {
    const content = fs.readFileSync(path.join(dir, file));
    bytes += content.length;
    hash.update(`${file}\0${content.length}\0`);
    hash.update(content);
  }
  return { hash: hash.digest('hex'), files: files.length, bytes };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface Summary {
  /** Median wall time, seconds. */
  wall: number;
  /** Every run's wall time, seconds. */
  walls: number[];
  /** Median CPU time (user + system, all threads), seconds. */
  cpu: number;
  /** Largest peak RSS over the runs, MB. */
  rssMb: number;
}

export function summarize(runs: readonly { wall: number; cpu: number; rssMb: number }[]): Summary {
  return {
    wall: median(runs.map((r) => r.wall)),
    walls: runs.map((r) => r.wall),
    cpu: median(runs.map((r) => r.cpu)),
    rssMb: Math.max(...runs.map((r) => r.rssMb)),
  };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

/**
 * Artificial load: one busy-loop process per core, each bounded by `maxSeconds` (it exits by
 * itself then, even if this process is killed) and killed by `stop()`, by this process's exit,
 * and on SIGINT/SIGTERM.
 */
export class CpuBurners {
  public static start(count: number, maxSeconds: number): CpuBurners {
    return new CpuBurners(count, maxSeconds);
  }

  private readonly children: ChildProcess[] = [];
  private readonly onExit = () => this.stop();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.stop();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  private constructor(count: number, maxSeconds: number) {
    const code = `const end = Date.now() + ${Math.round(maxSeconds * 1000)}; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e6; i++) x += i; }`;
    for (let i = 0; i < count; i++) this.children.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
    process.on('exit', this.onExit);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  public get pids(): number[] {
    return this.children.map((c) => c.pid!).filter(Boolean);
  }

  public stop(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }
}
