/**
 * Synthesis on several cores: tenant charts are independent (one cdk8s App each), so worker
 * threads synthesize tenants with `synthesizeTenantOutput`, and the main thread puts them together
 * exactly as `synthesizeClusters` does. Same files, same bytes, same first error.
 * Writing into `dist/`, the workers also stage their tenants' files (compare with `dist/`, write
 * what differs into the staging folder) and answer with paths and statuses only, so writing is
 * spread over the workers and the main thread never holds a tenant's file contents.
 *
 * Work is handed out in small tasks, as the workers ask for it: each worker is kept at most
 * LOW_WATER tasks ahead, the main thread (`thisThreadToo`) takes tenants from the other end of the
 * queue, so all threads finish together whatever each tenant costs. With `prefetch`, tenants are
 * queued while the configuration is still loading: the workers synthesize the first tenants while
 * the main thread reads the rest (a configuration that then fails to load discards their work
 * with the staging folder).
 *
 * The synth command stays synchronous: the main thread blocks in `Atomics.wait` until a worker
 * signals that its answer is on its port, then takes it with `receiveMessageOnPort`, and polls
 * the ports between its own tenants. For a fresh synth the command starts workers before the
 * configuration is loaded; for a re-synth (a synth cache exists) OnDemandWorkers starts them only
 * when enough tenants need synthesizing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { OutputLimitError } from '../config/errors';
import type { TenantLoaded } from '../config/load';
import type { ClusterConfig, TenantConfig } from '../model/resolve';
import { Platform } from '../config/schema';
import { inThisThread, StagedTenantOutput, TenantSynthesizer } from './engine';
import type { StagedFile, StageTarget } from './staged-writer';
import type { TenantFacts } from './synth-cache';
import { synthesizeTenantOutput, TenantOutput, withSharedFacts } from './tenant-output';

/** The worker bundle next to the synth bundle (scripts/build.mjs writes both into build/). */
export const WORKER_FILE = path.join(__dirname, 'synth-worker.js');

/** Below this many tenants one thread is faster than starting workers (measured: bench/README.md). */
export const PARALLEL_MIN_TENANTS = 250;

/** What the main thread sends a worker: a few tenants, each with an id the answer refers to. */
export interface SynthTask {
  /** The platforms (by number) of these tenants that this worker has not been sent yet. */
  readonly platforms: readonly { readonly key: number; readonly platform: Platform }[];
  /** `prefix`: `<cluster>/` in a multi-cluster repository, else empty; `platform`: its number. */
  readonly tenants: readonly { readonly id: number; readonly prefix: string; readonly platform: number; readonly tenant: TenantConfig }[];
  /**
   * Where the worker stages the tenants' files itself (`stageFile`): it then answers with their
   * paths and statuses, not their contents. Without it (diff, tests) it answers with the files.
   */
  readonly stage?: StageTarget;
}

/** An error of one tenant, as a worker reports it. */
export interface TenantFailure {
  readonly message: string;
  readonly stack?: string;
  readonly limit?: boolean;
}

/** What a worker answers to a task, in one message: every tenant's output or error (none after a cancel). */
export interface SynthAnswer {
  readonly outputs: readonly { readonly id: number; readonly output: TenantOutput; readonly staged?: StagedFile[] }[];
  readonly errors: readonly ({ readonly id: number } & TenantFailure)[];
}

export interface WorkerData {
  readonly port: MessagePort;
  /**
   * Element 0 counts the messages all workers have posted: the main thread waits for it to
   * change. Element 1 is set to cancel: workers skip the rest of their tasks.
   */
  readonly signal: Int32Array;
}

// Tenants per task, and tasks a worker is kept ahead: ~8 tenants are ~30 ms of a worker's time,
// two tasks bridge the main thread's longest step between two polls.
const BATCH_TENANTS = 8;
const LOW_WATER = 2;
// A worker answers every few hundred milliseconds; this long without a message, it has died
// (out of memory, say) and will never answer: fail instead of waiting forever.
const SILENCE_LIMIT_MS = 120_000;

/**
 * Heap limits of a worker. Its live data is small (code, one task's tenants and files) but V8
 * grows a heap far beyond it when let be: 8 MB of young generation and an old generation of
 * 64 MB and 1 MB per 50 tenants keep each worker's RSS near its live size. Measured: bench/README.md.
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
  /** Tenants per task. @default 8 */
  readonly batch?: number;
  /**
   * This thread synthesizes tenants too, as one more worker would (the synth command: `--jobs N`
   * is this thread and N-1 workers). Each worker is an isolate of its own with the whole synth
   * code loaded (tens of MB), while this thread would otherwise only wait.
   * @default false
   */
  readonly thisThreadToo?: boolean;
}

/** A tenant on its way: queued, sent to a worker, or done. */
interface Job {
  readonly id: number;
  readonly prefix: string;
  readonly platform: Platform;
  readonly tenant: TenantConfig;
  readonly stage?: StageTarget;
}

/** A tenant's failure; `thrown` when this thread caught it itself. */
type Failure = TenantFailure & { readonly thrown?: Error };

type JobResult = { readonly output: TenantOutput; readonly staged?: StagedFile[] } | { readonly error: Failure };

/** The synthesize call in progress: where results of its tenants go. */
interface Call {
  readonly positions: Map<number, number>;
  readonly outputs: TenantOutput[];
  readonly onOutputs: (outputs: readonly StagedTenantOutput[]) => void;
  /** Tenants of this call not done yet. */
  left: number;
  /** Position of the first tenant (in configuration order) that failed, and its error. */
  failed?: { position: number; error: Failure };
}

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

  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private readonly workers: { worker: Worker; port: MessagePort; tasks: Set<number>; platforms: Set<number> }[] = [];
  /** Each platform object is cloned to a worker once, then referred to by number. */
  private readonly platformKeys = new Map<Platform, number>();
  private nextId = 0;
  private nextTask = 0;
  /** Tenants not handed to any thread yet, in the order they came. */
  private queue: Job[] = [];
  /** Prefetched tenants (by object) not yet asked for by `synthesize`. */
  private readonly prefetched = new Map<TenantConfig, Job>();
  /** Results of prefetched tenants that arrived before `synthesize` asked for them. */
  private readonly early = new Map<number, JobResult>();
  private call: Call | undefined;
  /** While draining after a failure or cancel: answers are dropped. */
  private discard = false;
  private cancelled = false;

  private constructor(count: number, tenants: number, workerFile: string, private readonly batch: number, private readonly thisThreadToo: boolean) {
    const threads = count + (thisThreadToo ? 1 : 0);
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      const data: WorkerData = { port: port2, signal: this.signal };
      const worker = new Worker(workerFile, { workerData: data, transferList: [port2], resourceLimits: workerHeap(tenants / threads) });
      worker.unref();
      this.workers.push({ worker, port: port1, tasks: new Set(), platforms: new Set() });
    }
  }

  /**
   * Lets the workers start on tenants while the configuration loads: returns the loader's
   * `onTenant` callback. Files are staged into `stage`, which the `synthesize` calls must pass too.
   * If loading fails, `close()` (or `cancel()`) before the staging folder is removed.
   */
  public prefetch(stage: StageTarget | undefined): TenantLoaded {
    return (tenant, platform, cluster) => {
      if (this.cancelled) return;
      const job: Job = { id: this.nextId++, prefix: cluster ? `${cluster}/` : '', platform, tenant, stage };
      this.prefetched.set(tenant, job);
      this.queue.push(job);
      // Whole tasks only: the rest waits for the next tenants or for `synthesize`.
      this.pump(false);
    };
  }

  /** Tenants prefetched and not yet asked for by `synthesize`. */
  public get prefetchedCount(): number {
    return this.prefetched.size;
  }

  /**
   * The outputs of a cluster's tenants, in configuration order, as `inThisThread` returns them;
   * `onOutputs` gets them as they are done (in no particular order), e.g. to stage their files
   * while the workers go on. If it throws, synthesis stops with that error. A failing tenant
   * fails the call with the error of the first failing tenant in configuration order.
   */
  public synthesize(config: ClusterConfig, prefix: string, onOutputs: (outputs: readonly StagedTenantOutput[]) => void, stage?: StageTarget): TenantOutput[] {
    if (this.cancelled) throw new Error('synth workers were cancelled');
    const call: Call = { positions: new Map(), outputs: new Array(config.tenants.length), onOutputs, left: config.tenants.length };
    this.call = call;
    try {
      const ready: [number, JobResult][] = [];
      config.tenants.forEach((tenant, position) => {
        let job = this.prefetched.get(tenant);
        if (job && job.prefix === prefix) {
          this.prefetched.delete(tenant);
          if (job.stage?.staging !== stage?.staging) throw new Error('prefetched tenants were staged into another folder');
        } else {
          job = { id: this.nextId++, prefix, platform: config.platform, tenant, stage };
          this.queue.push(job);
        }
        call.positions.set(job.id, position);
        const result = this.early.get(job.id);
        if (result) {
          this.early.delete(job.id);
          ready.push([job.id, result]);
        }
      });
      for (const [id, result] of ready) this.settle(id, result);
      while (call.left > 0) {
        const seen = Atomics.load(this.signal, 0);
        this.pump(true);
        if (call.left === 0) break;
        const own = this.thisThreadToo ? this.takeOwn(call) : undefined;
        if (own) {
          this.settle(own.id, this.runHere(own));
        } else if (this.outstanding() > 0) {
          if (Atomics.wait(this.signal, 0, seen, SILENCE_LIMIT_MS) === 'timed-out') {
            throw new Error(`synth workers sent nothing for ${SILENCE_LIMIT_MS / 1000} s; a worker has stopped (out of memory?). Try --jobs 1.`);
          }
        } else if (this.queue.length === 0) {
          throw new Error('synth workers: tenants left that no thread has');
        }
      }
    } catch (error) {
      // Nothing may still be writing into the staging folder when the caller removes it.
      this.queue = this.queue.filter((job) => !call.positions.has(job.id));
      this.drain();
      throw error;
    } finally {
      this.call = undefined;
    }
    if (call.failed) {
      const { thrown, message, stack, limit } = call.failed.error;
      if (thrown) throw thrown;
      const error = limit ? new OutputLimitError(message) : new Error(message);
      if (stack) error.stack = stack;
      throw error;
    }
    return call.outputs;
  }

  /** Stops handing out work and waits until no worker is busy (before a staging folder is removed). */
  public cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue = [];
    this.prefetched.clear();
    Atomics.store(this.signal, 1, 1);
    this.drain();
  }

  public close(): void {
    this.cancel();
    for (const { worker, port } of this.workers) {
      port.close();
      void worker.terminate();
    }
  }

  private outstanding(): number {
    return this.workers.reduce((n, w) => n + w.tasks.size, 0);
  }

  /** Takes every answer that arrived, then keeps each worker LOW_WATER tasks ahead (`partial`: also with a short last task). */
  private pump(partial: boolean): void {
    this.receive();
    for (const w of this.workers) {
      while (w.tasks.size < LOW_WATER && !this.cancelled && (this.queue.length >= this.batch || (partial && this.queue.length > 0))) {
        // One stage per task (prefetched tenants and a later call share the writer's).
        const stage = this.queue[0].stage;
        const other = this.queue.findIndex((job) => job.stage !== stage);
        const jobs = this.queue.splice(0, Math.min(this.batch, other < 0 ? this.queue.length : other));
        const platforms: { key: number; platform: Platform }[] = [];
        const tenants = jobs.map((job) => {
          let key = this.platformKeys.get(job.platform);
          if (key === undefined) this.platformKeys.set(job.platform, (key = this.platformKeys.size));
          if (!w.platforms.has(key)) {
            w.platforms.add(key);
            platforms.push({ key, platform: job.platform });
          }
          return { id: job.id, prefix: job.prefix, platform: key, tenant: job.tenant };
        });
        const taskId = this.nextTask++;
        w.tasks.add(taskId);
        const task: SynthTask = { platforms, stage, tenants };
        w.port.postMessage({ taskId, task });
      }
    }
  }

  private receive(): void {
    for (const w of this.workers) {
      for (let m = receiveMessageOnPort(w.port); m; m = receiveMessageOnPort(w.port)) {
        const { taskId, answer } = m.message as { taskId: number; answer: SynthAnswer };
        w.tasks.delete(taskId);
        for (const { id, output, staged } of answer.outputs) this.settle(id, { output, staged });
        for (const { id, ...error } of answer.errors) this.settle(id, { error });
      }
    }
  }

  /** The tenant this thread synthesizes next: the last queued one of the current call (workers take from the front). */
  private takeOwn(call: Call): Job | undefined {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i];
      const position = call.positions.get(job.id);
      if (position === undefined) continue;
      this.queue.splice(i, 1);
      // A tenant after the first failure would not change the outcome.
      if (call.failed && position > call.failed.position) {
        call.left--;
        continue;
      }
      return job;
    }
    return undefined;
  }

  private runHere(job: Job): JobResult {
    try {
      return { output: synthesizeTenantOutput(job.platform, job.tenant, job.prefix) };
    } catch (error) {
      const e = error as Error;
      return { error: { message: e.message, thrown: e } };
    }
  }

  /** A tenant is done: handed on (while nothing failed) and kept for the call's result, or kept for a later call. */
  private settle(id: number, result: JobResult): void {
    if (this.discard) return;
    // Kept until the end of the synth, for every tenant: one copy of what tenants have in common.
    if ('output' in result) result = { ...result, output: withSharedFacts(result.output) };
    const call = this.call;
    const position = call?.positions.get(id);
    if (!call || position === undefined) {
      this.early.set(id, result);
      return;
    }
    call.left--;
    if ('error' in result) {
      if (!call.failed || position < call.failed.position) call.failed = { position, error: result.error };
      return;
    }
    // Files are handed on, not kept: memory holds one tenant's files, not all of them.
    call.outputs[position] = { ...result.output, files: [] };
    // Nothing is handed on once a tenant has failed: the synth fails anyway.
    if (!call.failed) call.onOutputs([result.staged ? { ...result.output, staged: result.staged } : result.output]);
  }

  /** Waits until every task sent has been answered; their answers are dropped. */
  private drain(): void {
    this.discard = true;
    try {
      while (this.outstanding() > 0) {
        const seen = Atomics.load(this.signal, 0);
        this.receive();
        if (this.outstanding() > 0 && Atomics.wait(this.signal, 0, seen, SILENCE_LIMIT_MS) === 'timed-out') return;
      }
    } finally {
      this.discard = false;
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
