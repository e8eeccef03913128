/**
 * The one way the synth writes `dist/`.
 *
 * Files are staged as they are synthesized into a sibling folder (`.dist-next-<pid>-<n>`), each
 * compared with the file already in `dist/`: an unchanged file is not written at all. Only after
 * every tenant synthesized and every check passed (secret material, duplicate paths, the removal
 * guard) does `commit()` move the staged files into `dist/` (rename replaces a file atomically) and
 * delete the files that are gone. A folder `dist/` does not have yet (a new tenant, or every folder
 * of a first synth) is moved with one rename of its staged folder, not file by file.
 *
 * Worker threads stage their tenants' files themselves (`stageFile` into the `StageTarget`) and
 * hand the writer only paths and statuses (`addStaged`): no file content passes through, or stays
 * in, the thread that holds the index.
 *
 * Why not swap whole trees: Node has no atomic directory exchange (renameat2 RENAME_EXCHANGE), so a
 * swap by two renames leaves `dist/` missing for an instant, and a process killed there leaves no
 * `dist/` at all. Here `dist/` itself is never removed: a run killed while staging leaves `dist/`
 * as it was; one killed while applying leaves a mix of old and new files, which the next run
 * (which rewrites every file that differs) completes. Leftover staging folders are removed by the
 * next run. A lock file (`.dist.lock` beside `dist/`) keeps two synths from writing at once.
 * Directories and files are created with the process umask.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GitOpsTool } from '../gitops/gitops-chart';
import { flatCopy } from '../config/shared-values';
import { DuplicatePathError, OutputFile } from './output';
import { committedFiles, RemovalRefusedError, tenantUnits, unitOfPath } from './removal-guard';
import { listTree, removeTree } from './tree';

/** Receives the files of `dist/` as they are synthesized, in any order. */
export interface OutputSink {
  add(files: readonly OutputFile[]): void;
  /**
   * Files known to be unchanged in the output folder (a tenant the synth cache reused): kept as
   * they are, without being read. Only a sink that writes a folder supports it.
   */
  keep?(files: readonly { readonly path: string; readonly unit?: string }[]): void;
  /** Where another thread may stage files itself (then it hands them over with `addStaged`). */
  readonly stageTarget?: StageTarget;
  /** Files another thread staged into `stageTarget` with `stageFile`: paths and statuses only. */
  addStaged?(files: readonly StagedFile[]): void;
}

/** The output folder and the staging folder beside it, as `stageFile` needs them. */
export interface StageTarget {
  /** The output folder, absolute. */
  readonly dist: string;
  /** The staging folder, absolute. */
  readonly staging: string;
  /** True when `dist/` held no file when the writer opened it: nothing to compare with. */
  readonly distEmpty: boolean;
}

/** A file staged by `stageFile`: its path, tenant folder, and whether it differs from `dist/`. */
export interface StagedFile {
  readonly path: string;
  readonly unit?: string;
  readonly status: FileStatus;
}

/**
 * Compares `file` with the same path in `dist/` and writes it into the staging folder when it is
 * new or differs (an unchanged file is not written). `inDist`: whether `dist/` holds the path, when
 * known (else it is read to find out). `madeDirs` remembers the staging folders already created.
 */
export function stageFile(target: StageTarget, file: OutputFile, madeDirs: Set<string>, inDist?: boolean): FileStatus {
  let status: FileStatus = 'added';
  if (inDist ?? !target.distEmpty) {
    try {
      status = fs.readFileSync(path.join(target.dist, file.path), 'utf8') === file.content ? 'same' : 'changed';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  if (status === 'same') return status;
  const staged = path.join(target.staging, file.path);
  // One mkdir per directory, not per file: thousands of tenants write tens of thousands of files.
  const dir = path.dirname(staged);
  if (!madeDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    // Flat: the folder name is a slice of the file's path, which would otherwise stay alive with it.
    madeDirs.add(flat(dir));
  }
  fs.writeFileSync(staged, file.content);
  return status;
}

/** Tenant folders added, changed, removed and unchanged by a write. */
export interface WriteResult {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  readonly unchanged: string[];
}

export interface WriteOptions {
  /** Allow tenants that exist in `dist/` but no longer in the configuration to be deleted. */
  readonly allowRemoval?: boolean;
  /** The delivery tool, for the removal guard's message (what it would do with a removed tenant). */
  readonly tool?: GitOpsTool;
}

export interface StagedWriterOptions {
  /** How long to wait for another synth's lock before giving up. @default 30 s */
  readonly lockWaitMs?: number;
  /** Told once when the lock is held by another process and this one waits. */
  readonly onWait?: (message: string) => void;
}

/** Thrown when another synth holds the lock for longer than we wait. */
export class OutputLockedError extends Error {
  constructor(lockFile: string, pid: string, waitedMs: number) {
    super(`${lockFile}: another synth (pid ${pid}) is writing the output; waited ${Math.round(waitedMs / 1000)} s. Run again when it is done (or delete the lock file if that process is gone).`);
    this.name = 'OutputLockedError';
  }
}

/** Thrown when moving staged files into place failed; says how far it got. */
export class OutputApplyError extends Error {
  constructor(outDir: string, applied: number, total: number, cause: Error) {
    super(
      applied === 0
        ? `could not update ${outDir}/: ${cause.message}. ${outDir}/ was not changed.`
        : `could not update ${outDir}/ after ${applied} of ${total} changes: ${cause.message}. ${outDir}/ now mixes old and new files: fix the cause and run the synth again (it rewrites every file that differs).`,
    );
    this.name = 'OutputApplyError';
  }
}

type FileStatus = 'added' | 'changed' | 'same';

const STATUSES: readonly FileStatus[] = ['same', 'added', 'changed'];
const STATUS_CODES: Readonly<Record<FileStatus, number>> = { same: 0, added: 1, changed: 2 };

/**
 * A flat copy of `text`. A path put together from parts (`${unit}/${kind}-${name}.yaml`) is a V8
 * rope of several string objects, and a Map keeps the whole rope as its key: for the index of tens
 * of thousands of files that is most of its memory.
 */
const flat = flatCopy;

export class StagedWriter implements OutputSink {
  /** Locks `outDir`, removes what earlier killed runs left, and indexes the files it holds. */
  public static open(outDir: string, options: StagedWriterOptions = {}): StagedWriter {
    const absolute = path.resolve(outDir);
    const parent = path.dirname(absolute);
    const base = path.basename(absolute);
    fs.mkdirSync(parent, { recursive: true });
    const release = acquireLock(path.join(parent, `.${base}.lock`), options);
    try {
      for (const entry of fs.readdirSync(parent)) {
        if (entry.startsWith(`.${base}-next-`) || entry.startsWith(`.${base}-old-`)) removeTree(path.join(parent, entry));
      }
      checkpoint('locked');
      return new StagedWriter(outDir, absolute, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  private readonly staging: string;
  /**
   * The files `dist/` holds now, each path mapped to itself: the index of the next output keys a
   * file that is still there with this same string, so a path is held once, not twice.
   */
  private readonly previous: Map<string, string>;
  public readonly stageTarget: StageTarget;
  /**
   * The index of the next output: every file's path, with its status and tenant folder packed into
   * one small integer (`unit id × 4 + status code`): no object per file, one string per folder.
   */
  private readonly next = new Map<string, number>();
  private readonly units: (string | undefined)[] = [undefined];
  private readonly unitIds = new Map<string, number>();
  private readonly madeDirs = new Set<string>();
  private released = false;

  private constructor(
    private readonly outDir: string,
    private readonly absolute: string,
    private readonly release: () => void,
  ) {
    this.previous = new Map(
      listTree(absolute).map((file) => {
        const copy = flat(file);
        return [copy, copy] as const;
      }),
    );
    this.staging = path.join(path.dirname(absolute), `.${path.basename(absolute)}-next-${process.pid}-${Date.now().toString(36)}`);
    this.stageTarget = { dist: absolute, staging: this.staging, distEmpty: this.previous.size === 0 };
  }

  /** Stages the files that differ from `dist/`; throws on a path given twice. */
  public add(files: readonly OutputFile[]): void {
    for (const file of files) {
      if (this.next.has(file.path)) throw new DuplicatePathError(file.path);
      const status = stageFile(this.stageTarget, file, this.madeDirs, this.previous.has(file.path));
      this.index(file.path, file.unit, status);
    }
  }

  public addStaged(files: readonly StagedFile[]): void {
    for (const file of files) {
      if (this.next.has(file.path)) throw new DuplicatePathError(file.path);
      this.index(file.path, file.unit, file.status);
    }
  }

  public keep(files: readonly { readonly path: string; readonly unit?: string }[]): void {
    for (const file of files) {
      if (this.next.has(file.path)) throw new DuplicatePathError(file.path);
      if (!this.previous.has(file.path)) throw new Error(`kept file ${file.path} is not in ${this.outDir}/`);
      this.index(file.path, file.unit, 'same');
    }
  }

  private index(file: string, unit: string | undefined, status: FileStatus): void {
    let id = 0;
    if (unit !== undefined) {
      id = this.unitIds.get(unit) ?? 0;
      if (id === 0) {
        id = this.units.push(unit) - 1;
        this.unitIds.set(unit, id);
      }
    }
    this.next.set(this.previous.get(file) ?? flat(file), id * 4 + STATUS_CODES[status]);
  }

  private unitOf(entry: number): string | undefined {
    return this.units[entry >> 2];
  }

  private statusOf(entry: number): FileStatus {
    return STATUSES[entry & 3];
  }

  /** Files staged so far (written or unchanged). */
  public get fileCount(): number {
    return this.next.size;
  }

  /** Every file staged so far with its tenant folder (`unit`), in the order they were added. */
  public *files(): IterableIterator<readonly [path: string, unit: string | undefined]> {
    for (const [file, entry] of this.next) yield [file, this.unitOf(entry)];
  }

  /**
   * Checks the removal guard, then applies the staged files to `dist/` and deletes the files of
   * the previous output that are gone. Releases the lock.
   */
  public commit(options: WriteOptions = {}): WriteResult {
    try {
      const result = this.compare();
      if (result.removed.length > 0 && !options.allowRemoval) throw new RemovalRefusedError(result.removed, options.tool);
      checkpoint('staged');
      this.apply();
      checkpoint('applied');
      removeTree(this.staging);
      return result;
    } finally {
      this.abort();
    }
  }

  /** Removes the staging folder and releases the lock; `dist/` stays as it is. */
  public abort(): void {
    if (this.released) return;
    this.released = true;
    try {
      removeTree(this.staging);
    } finally {
      this.release();
    }
  }

  private compare(): WriteResult {
    // A missing or emptied dist/ (deleted by hand, wiped by a tool) must not hide a removal:
    // then the tenants are those Git has committed.
    const oldUnits = tenantUnits(this.previous.size > 0 ? this.previous.keys() : committedFiles(this.outDir));
    const newUnits = new Set<string>();
    const changed = new Set<string>();
    for (const entry of this.next.values()) {
      const unit = this.unitOf(entry);
      if (!unit) continue;
      newUnits.add(unit);
      if (this.statusOf(entry) !== 'same') changed.add(unit);
    }
    for (const file of this.previous.keys()) {
      const unit = unitOfPath(file, oldUnits);
      if (unit && !this.next.has(file)) changed.add(unit);
    }
    const result: WriteResult = { added: [], changed: [], removed: [], unchanged: [] };
    for (const unit of newUnits) {
      if (!oldUnits.has(unit)) result.added.push(unit);
      else if (changed.has(unit)) result.changed.push(unit);
      else result.unchanged.push(unit);
    }
    for (const unit of oldUnits) if (!newUnits.has(unit)) result.removed.push(unit);
    for (const list of Object.values(result)) list.sort();
    return result;
  }

  private apply(): void {
    const moves = [...this.next].filter(([, entry]) => this.statusOf(entry) !== 'same').map(([file]) => file);
    const deletions = [...this.previous.keys()].filter((file) => !this.next.has(file));
    const total = moves.length + deletions.length;
    let applied = 0;
    try {
      // A staged file whose folder dist/ lacks goes with that folder: one rename of the shallowest
      // such folder moves all its files (they are all new, so all staged). The others one by one.
      const oldDirs = new Set<string>();
      for (const file of this.previous.keys()) {
        for (let dir = path.posix.dirname(file); dir !== '.' && !oldDirs.has(dir); dir = path.posix.dirname(dir)) oldDirs.add(dir);
      }
      const folders = new Map<string, string[]>();
      const single: string[] = [];
      for (const file of moves) {
        const folder = newFolderOf(file, oldDirs);
        if (folder === undefined) single.push(file);
        else {
          const list = folders.get(folder);
          if (list) list.push(file);
          else folders.set(folder, [file]);
        }
      }
      const made = new Set<string>();
      const moveFile = (file: string) => {
        const target = path.join(this.absolute, file);
        const dir = path.dirname(target);
        if (!made.has(dir)) {
          fs.mkdirSync(dir, { recursive: true });
          made.add(dir);
        }
        fs.renameSync(path.join(this.staging, file), target);
        if (++applied === 1) checkpoint('applying');
      };
      if (folders.size > 0) fs.mkdirSync(this.absolute, { recursive: true });
      for (const [folder, files] of folders) {
        try {
          // Replaces an empty folder of the same name, which dist/ may hold (no file in it).
          fs.renameSync(path.join(this.staging, folder), path.join(this.absolute, folder));
        } catch (error) {
          // A folder that holds only empty folders: move its files one by one instead.
          if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          files.forEach(moveFile);
          continue;
        }
        const first = applied === 0;
        applied += files.length;
        if (first) checkpoint('applying');
      }
      single.forEach(moveFile);
      const emptied = new Set<string>();
      for (const file of deletions) {
        fs.unlinkSync(path.join(this.absolute, file));
        applied++;
        for (let dir = path.posix.dirname(file); dir !== '.'; dir = path.posix.dirname(dir)) emptied.add(dir);
      }
      // Deepest first, so a folder is tried after its subfolders.
      for (const dir of [...emptied].sort((a, b) => b.split('/').length - a.split('/').length)) {
        try {
          fs.rmdirSync(path.join(this.absolute, dir));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    } catch (error) {
      throw new OutputApplyError(this.outDir, applied, total, error as Error);
    }
  }
}

/** The shallowest folder of `file` (a `/`-separated path) that holds no file of `dist/`, if any. */
function newFolderOf(file: string, oldDirs: ReadonlySet<string>): string | undefined {
  for (let end = file.indexOf('/'); end !== -1; end = file.indexOf('/', end + 1)) {
    const dir = file.slice(0, end);
    if (!oldDirs.has(dir)) return dir;
  }
  return undefined;
}

/**
 * Takes `lockFile` (created exclusively, holding our pid), waiting while a live process holds it;
 * a lock whose process is gone is taken over. Returns the release function.
 */
function acquireLock(lockFile: string, options: StagedWriterOptions): () => void {
  const waitMs = options.lockWaitMs ?? 30_000;
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        try {
          fs.unlinkSync(lockFile);
        } catch {
          // already gone
        }
      };
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = '';
    try {
      holder = fs.readFileSync(lockFile, 'utf8').trim();
    } catch {
      continue; // released in between: try again
    }
    if (!isAlive(Number(holder))) {
      // The holder was killed: its lock is stale.
      try {
        fs.unlinkSync(lockFile);
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= waitMs) throw new OutputLockedError(lockFile, holder, waited);
    if (!told) {
      options.onWait?.(`waiting for another synth (pid ${holder}) to finish writing the output…`);
      told = true;
    }
    sleep(100);
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Crash tests (test/synth-crash.test.ts) stop a real synth at a named step and kill it there:
 * with TENANT_RUNNERS_PAUSE_AT=<step>, the process says so on stderr and waits to be killed.
 */
function checkpoint(step: 'locked' | 'staged' | 'applying' | 'applied'): void {
  if (process.env.TENANT_RUNNERS_PAUSE_AT !== step) return;
  fs.writeSync(2, `paused at ${step}\n`);
  sleep(60_000);
}
