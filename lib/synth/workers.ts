/**
 * Synthesis on several cores: tenant charts are independent (one cdk8s App each), so worker
 * threads synthesize disjoint sets of tenants with `synthesizeTenantOutput`, and the main thread
 * puts them together exactly as `synthesizeClusters` does. Same files, same bytes, same first error.
 * Writing into `dist/`, the workers also stage their tenants' files (compare with `dist/`, write
 * what differs into the staging folder) and answer with paths and statuses only, so writing is
 * spread over the workers and the main thread never holds a tenant's file contents.
 *
 * The synth command stays synchronous: the main thread blocks in `Atomics.wait` until a worker
 * signals that its answer is on its port, then takes it with `receiveMessageOnPort`.
 * For a fresh synth the command starts workers before the configuration is loaded, so loading
 * their code overlaps it; for a re-synth (a synth cache exists) OnDemandWorkers starts them only
 * when enough tenants need synthesizing. With `thisThreadToo` the main thread takes a share.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { OutputLimitError } from '../config/errors';
import type { ClusterConfig } from '../model/resolve';
import type { TenantConfig } from '../model/resolve';
import { Platform } from '../config/schema';
import { inThisThread, StagedTenantOutput, TenantSynthesizer } from './engine';
import type { StagedFile, StageTarget } from './staged-writer';
import type { TenantFacts } from './synth-cache';
import { synthesizeTenantOutput, TenantOutput } from './tenant-output';

/** The worker bundle next to the synth bundle (scripts/build.mjs writes both into build/). */
export const WORKER_FILE = path.join(__dirname, 'synth-worker.js');

/** Below this many tenants one thread is faster than starting workers (measured: bench/README.md). */
export const PARALLEL_MIN_TENANTS = 250;

/** What the main thread sends a worker: tenants with their position in the configuration. */
export interface SynthTask {
  readonly platform: Platform;
  /** `<cluster>/` in a multi-cluster repository, else empty. */
  readonly prefix: string;
  readonly tenants: readonly { readonly index: number; readonly tenant: TenantConfig }[];
  /**
   * Where the worker stages the tenants' files itself (`stageFile`): it then answers with their
   * paths and statuses, not their contents. Without it (diff, tests) it answers with the files.
   */
  readonly stage?: StageTarget;
}

/**
 * What a worker answers, in one or more messages: the outputs of the next tenants (`done` on the
 * last message), or the first tenant (by position) that failed, which is its last message.
 */
export type SynthAnswer =
  | { readonly outputs: { readonly index: number; readonly output: TenantOutput; readonly staged?: StagedFile[] }[]; readonly done: boolean }
  | { readonly error: { readonly index: number; readonly message: string; readonly stack?: string; readonly limit?: boolean } };

export interface WorkerData {
  readonly port: MessagePort;
  /** Element 0 counts the messages all workers have posted: the main thread waits for it to change. */
  readonly signal: Int32Array;
  /** Tenants per message. */
  readonly batch: number;
}

// Workers answer in batches, so neither they nor the clone of their answer hold all their files.
const BATCH_TENANTS = 50;
// A worker answers every few hundred milliseconds; this long without a message, it has died
// (out of memory, say) and will never answer: fail instead of waiting forever.
const SILENCE_LIMIT_MS = 120_000;

/**
 * Heap limits of a worker. Its live data is small (code, its tenants' configuration, one batch
 * of files) but V8 grows a heap far beyond it when let be: 8 MB of young generation and an old
 * generation sized to the tenants (about four times their configuration) keep each worker's RSS
 * near its live size. Measured: bench/README.md.
 */
function workerHeap(tenantsPerWorker: number): { maxYoungGenerationSizeMb: number; maxOldGenerationSizeMb: number } {
  return { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 + Math.ceil(tenantsPerWorker / 50) };
}

/** How many worker threads to use for `tenants` tenants when `--jobs` is not given. */
export function defaultJobs(tenants: number): number {
  if (tenants < PARALLEL_MIN_TENANTS) return 1;
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

/** Tenant files in a configuration directory (all clusters), counted before it is loaded (to start workers early). */
export function countTenantFiles(configDir: string): number {
  const count = (dir: string) => {
    try {
      return fs.readdirSync(path.join(dir, 'tenants')).filter((name) => /\.ya?ml$/.test(name)).length;
    } catch {
      return 0;
    }
  };
  let clusters: string[] = [];
  try {
    clusters = fs.readdirSync(path.join(configDir, 'clusters')).map((name) => path.join(configDir, 'clusters', name));
  } catch {
    // single-cluster layout
  }
  return count(configDir) + clusters.reduce((n, dir) => n + count(dir), 0);
}

export interface SynthWorkersOptions {
  /** The worker bundle. @default build/synth-worker.js next to this bundle */
  readonly workerFile?: string;
  /** Tenants per answer message. @default 50 */
  readonly batch?: number;
  /**
   * This thread synthesizes a share of the tenants too, as one more worker would (the synth
   * command: `--jobs N` is this thread and N-1 workers). Each worker is an isolate of its own with
   * the whole synth code loaded (tens of MB), while this thread would otherwise only wait.
   * @default false
   */
  readonly thisThreadToo?: boolean;
}

/** An error of one tenant, as a worker reports it. */
type TenantError = { readonly index: number; readonly message: string; readonly stack?: string; readonly limit?: boolean; readonly error?: Error };

/** Worker threads that synthesize tenants; `close()` them when done. */
export class SynthWorkers implements TenantSynthesizer {
  /**
   * Starts `count` workers for about `tenants` tenants, or returns undefined when the worker
   * bundle is not there (running from TypeScript sources, as under Jest).
   */
  public static start(count: number, tenants: number, options: SynthWorkersOptions = {}): SynthWorkers | undefined {
    const workerFile = options.workerFile ?? WORKER_FILE;
    if (count < 1 || !fs.existsSync(workerFile)) return undefined;
    return new SynthWorkers(count, tenants, workerFile, options.batch ?? BATCH_TENANTS, options.thisThreadToo ?? false);
  }

  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly workers: { worker: Worker; port: MessagePort }[] = [];

  private constructor(count: number, tenants: number, workerFile: string, batch: number, private readonly thisThreadToo: boolean) {
    const threads = count + (thisThreadToo ? 1 : 0);
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      const data: WorkerData = { port: port2, signal: this.signal, batch };
      const worker = new Worker(workerFile, { workerData: data, transferList: [port2], resourceLimits: workerHeap(tenants / threads) });
      worker.unref();
      this.workers.push({ worker, port: port1 });
    }
  }

  /**
   * The outputs of a cluster's tenants, in configuration order, as `inThisThread` returns them;
   * `onOutputs` gets each batch as it arrives (in no particular order), e.g. to stage its files
   * while the workers go on. If it throws, synthesis stops with that error.
   */
  public synthesize(config: ClusterConfig, prefix: string, onOutputs: (outputs: readonly StagedTenantOutput[]) => void, stage?: StageTarget): TenantOutput[] {
    const n = this.workers.length + (this.thisThreadToo ? 1 : 0);
    const tenants: readonly TenantConfig[] = config.tenants;
    // Round-robin, so neighbours (often similar in size) spread over all threads; this thread's
    // share (when it takes one) is the last.
    this.workers.forEach(({ port }, w) => {
      const task: SynthTask = { platform: config.platform, prefix, stage, tenants: tenants.flatMap((tenant, index) => (index % n === w ? [{ index, tenant }] : [])) };
      port.postMessage(task);
    });
    const outputs: TenantOutput[] = new Array(tenants.length);
    let firstError: TenantError | undefined;
    const failed = (error: TenantError) => {
      if (!firstError || error.index < firstError.index) firstError = error;
    };
    const pending = new Set(this.workers.map((w) => w.port));
    const receive = () => {
      for (const port of [...pending]) {
        for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
          const answer = m.message as SynthAnswer;
          if ('error' in answer) {
            failed(answer.error);
            pending.delete(port);
          } else {
            // Files are handed on, not kept: memory holds one batch of files, not all of them.
            for (const { index, output } of answer.outputs) outputs[index] = { ...output, files: [] };
            if (answer.done) pending.delete(port);
            // Nothing is handed on once a tenant has failed: the synth fails anyway.
            if (!firstError) onOutputs(answer.outputs.map((o) => (o.staged ? { ...o.output, staged: o.staged } : o.output)));
          }
        }
      }
    };
    if (this.thisThreadToo) {
      // This thread's share, as inThisThread does it; the workers' answers are taken in between,
      // so their files are handed on while they go on.
      for (let index = n - 1; index < tenants.length && !firstError; index += n) {
        let output: TenantOutput;
        try {
          output = synthesizeTenantOutput(config.platform, tenants[index], prefix);
        } catch (error) {
          const e = error as Error;
          failed({ index, message: e.message, error: e });
          break;
        }
        outputs[index] = { ...output, files: [] };
        onOutputs([output]);
        receive();
      }
    }
    while (pending.size > 0) {
      const seen = Atomics.load(this.signal, 0);
      receive();
      if (pending.size > 0 && Atomics.wait(this.signal, 0, seen, SILENCE_LIMIT_MS) === 'timed-out') {
        throw new Error(`synth workers sent nothing for ${SILENCE_LIMIT_MS / 1000} s; a worker has stopped (out of memory?). Try --jobs 1.`);
      }
    }
    const first = firstError as TenantError | undefined;
    if (first) {
      // The error of the first failing tenant in configuration order, as a single thread reports it.
      if (first.error) throw first.error;
      const error = first.limit ? new OutputLimitError(first.message) : new Error(first.message);
      if (first.stack) error.stack = first.stack;
      throw error;
    }
    return outputs;
  }

  public close(): void {
    for (const { worker, port } of this.workers) {
      port.close();
      void worker.terminate();
    }
  }
}

/**
 * Workers started on first use, and only for at least PARALLEL_MIN_TENANTS tenants to synthesize:
 * for a synth whose cache will likely reuse most tenants (a re-synth), where starting workers
 * early would load the synth code again in each for nothing. Fewer tenants go to this thread.
 */
export class OnDemandWorkers implements TenantSynthesizer {
  private workers: SynthWorkers | undefined | null = null;

  constructor(
    private readonly start: () => SynthWorkers | undefined,
    private readonly minTenants = PARALLEL_MIN_TENANTS,
  ) {}

  public synthesize(config: ClusterConfig, prefix: string, onOutputs: (outputs: readonly StagedTenantOutput[]) => void, stage?: StageTarget): TenantFacts[] {
    if (config.tenants.length < this.minTenants) return inThisThread.synthesize(config, prefix, onOutputs, stage);
    if (this.workers === null) this.workers = this.start();
    return (this.workers ?? inThisThread).synthesize(config, prefix, onOutputs, stage);
  }

  /** Whether workers were started. */
  public get started(): boolean {
    return !!this.workers;
  }

  public close(): void {
    this.workers?.close();
  }
}
