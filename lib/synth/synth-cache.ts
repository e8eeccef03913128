/**
 * Skipping tenants whose input did not change since the last synth into the same output folder.
 *
 * A tenant's files are a pure function of (synth code, platform, resolved tenant, cluster folder).
 * After a successful write the cache records, per tenant folder, a hash of that input, the size and
 * mtime of each file written for it, and the plain facts the cluster-level files need. The next
 * synth into the same folder reuses a tenant when its input hash is the same and every one of its
 * files is still on disk with the same size and mtime (the test `make` trusts): nothing is
 * synthesized, read or written for it. Anything else (a changed input, a file edited or removed
 * by hand, another build of the synth, an unreadable cache) synthesizes the tenant as usual, so
 * the output is byte for byte what a full synth writes (test/synth/synth-cache.test.ts).
 *
 * The cache lives next to the synth bundle (`build/synth-cache/`, never committed); synths run from
 * sources (tests) have no bundle and no cache.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { sharedFacts, TenantOutput } from './tenant-output';

/** What a tenant contributes to the cluster-level files, without its files. */
export type TenantFacts = Omit<TenantOutput, 'files'>;

/**
 * A tenant as the last synth left it, compact: at thousands of tenants the cache is read and
 * written whole, so it holds one string of paths and two lists of numbers per tenant, not an
 * object per file.
 */
interface CachedUnit {
  readonly input: string;
  /** The tenant's files, relative to the output folder, one per line. */
  readonly paths: string;
  readonly sizes: readonly number[];
  readonly mtimes: readonly number[];
  readonly facts: TenantFacts;
}

/**
 * The file: JSON Lines, so it is read and written a tenant at a time, never as one document.
 * The first line is the header; each further line one tenant: `[unit, input, [[path, size,
 * mtimeMs], …], facts]`.
 */
const FORMAT = 2;
type UnitLine = [string, string, [string, number, number][], TenantFacts];

/** The paths of a `paths` string (one per line; none when empty). */
function linesOf(paths: string): string[] {
  return paths === '' ? [] : paths.split('\n');
}

/** Lines of a file, read in chunks (the last line may lack its newline). */
function* readLines(file: string): Generator<string> {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) {
      rest += decoder.write(buffer.subarray(0, read));
      let start = 0;
      for (let end = rest.indexOf('\n'); end >= 0; end = rest.indexOf('\n', start)) {
        yield rest.slice(start, end);
        start = end + 1;
      }
      rest = rest.slice(start);
    }
    rest += decoder.end();
    if (rest) yield rest;
  } finally {
    fs.closeSync(fd);
  }
}

export class SynthCache {
  /**
   * The cache of `outDir` for this build of the synth (`bundle`: the running bundle's path), or
   * undefined when there is no bundle to version it by.
   */
  public static open(outDir: string, bundle: string | undefined): SynthCache | undefined {
    if (!bundle || !bundle.endsWith('.js')) return undefined;
    let code: string;
    try {
      code = createHash('sha256').update(fs.readFileSync(bundle)).digest('hex');
    } catch {
      return undefined;
    }
    const absolute = path.resolve(outDir);
    const file = path.join(path.dirname(bundle), 'synth-cache', `${createHash('sha256').update(absolute).digest('hex').slice(0, 32)}.jsonl`);
    let units = new Map<string, CachedUnit>();
    try {
      let header = true;
      for (const line of readLines(file)) {
        if (header) {
          const content = JSON.parse(line) as { format?: unknown; code?: unknown };
          // Another format or another build: nothing to reuse.
          if (content.format !== FORMAT || content.code !== code) break;
          header = false;
          continue;
        }
        const [unit, input, files, unitFacts] = JSON.parse(line) as UnitLine;
        // A path with a line break cannot be kept one per line: that tenant is synthesized again.
        if (files.some(([file]) => file.includes('\n'))) continue;
        units.set(unit, {
          input,
          paths: files.map(([file]) => file).join('\n'),
          sizes: files.map(([, size]) => size),
          mtimes: files.map(([, , mtimeMs]) => mtimeMs),
          facts: sharedFacts.shareParts(unitFacts),
        });
      }
    } catch {
      // no cache yet, or an unreadable one: synthesize everything
      units = new Map();
    }
    return new SynthCache(file, absolute, code, units);
  }

  /**
   * Per tenant of this run: its input and facts (synthesized: its files are in the writer's index
   * until `save`), or its unchanged cached entry (reused).
   */
  private readonly next = new Map<string, { readonly input: string; readonly facts: TenantFacts; readonly fileCount: number } | CachedUnit>();

  private constructor(
    private readonly file: string,
    private readonly outDir: string,
    private readonly code: string,
    private readonly previous: ReadonlyMap<string, CachedUnit>,
  ) {}

  /** Whether the last synth into this folder, by this build, left a record of its tenants. */
  public get isEmpty(): boolean {
    return this.previous.size === 0;
  }

  /** The hash of everything a tenant's files depend on besides the code. */
  public inputHash(prefix: string, platformJson: string, tenant: unknown): string {
    return createHash('sha256').update(this.code).update('\0').update(prefix).update('\0').update(platformJson).update('\0').update(JSON.stringify(tenant)).digest('hex');
  }

  /** The cached facts and file paths of `unit` if its input is unchanged and its files are intact. */
  public reusable(unit: string, input: string): { facts: TenantFacts; files: string[] } | undefined {
    const cached = this.previous.get(unit);
    if (!cached || cached.input !== input) return undefined;
    const files = linesOf(cached.paths);
    for (let i = 0; i < files.length; i++) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(path.join(this.outDir, files[i]));
      } catch {
        return undefined;
      }
      if (!stat.isFile() || stat.size !== cached.sizes[i] || stat.mtimeMs !== cached.mtimes[i]) return undefined;
    }
    this.next.set(unit, cached);
    return { facts: cached.facts, files };
  }

  /**
   * Records a tenant synthesized in this run: its files are the first `fileCount` files of `unit`
   * that `save` is given (a tenant's own files are written before the cluster's files of the same
   * folder, such as its Flux Kustomization in `_gitops/`).
   */
  public record(unit: string, input: string, fileCount: number, facts: TenantFacts): void {
    this.next.set(unit, { input, facts: sharedFacts.shareParts(facts), fileCount });
  }

  /**
   * After a successful write: stores what is now on disk for every recorded tenant, a tenant at a
   * time. `written` is every file of the output with its tenant folder (the writer's index).
   */
  public save(written: Iterable<readonly [path: string, unit: string | undefined]>): void {
    // The files of the tenants synthesized in this run: references to the index's paths, no copies.
    const filesOf = new Map<string, string[]>();
    for (const [file, unit] of written) {
      const entry = unit === undefined ? undefined : this.next.get(unit);
      if (!entry || 'sizes' in entry) continue;
      let files = filesOf.get(unit!);
      if (!files) filesOf.set(unit!, (files = []));
      if (files.length < entry.fileCount) files.push(file);
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // Written aside and renamed, so a killed run never leaves half a cache (which would be ignored anyway).
    const temporary = `${this.file}.${process.pid}`;
    const fd = fs.openSync(temporary, 'w');
    try {
      let chunk = `${JSON.stringify({ format: FORMAT, code: this.code })}\n`;
      for (const [unit, entry] of this.next) {
        let files: [string, number, number][];
        if ('sizes' in entry) {
          // A reused tenant's files were stat'ed by reusable() and not written since: not again.
          files = linesOf(entry.paths).map((file, i) => [file, entry.sizes[i], entry.mtimes[i]]);
        } else {
          const written = filesOf.get(unit) ?? [];
          // Not all of its files written (cannot happen after a successful write): not recorded.
          if (written.length !== entry.fileCount) continue;
          files = written.map((file) => {
            const stat = fs.statSync(path.join(this.outDir, file));
            return [file, stat.size, stat.mtimeMs];
          });
        }
        const line: UnitLine = [unit, entry.input, files, entry.facts];
        chunk += `${JSON.stringify(line)}\n`;
        if (chunk.length >= 1 << 20) {
          fs.writeSync(fd, chunk);
          chunk = '';
        }
      }
      fs.writeSync(fd, chunk);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, this.file);
  }
}
