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
import type { TenantOutput } from './tenant-output';

/** What a tenant contributes to the cluster-level files, without its files. */
export type TenantFacts = Omit<TenantOutput, 'files'>;

interface CachedUnit {
  readonly input: string;
  /** Each file: path relative to the output folder, size, mtime in ms. */
  readonly files: readonly (readonly [string, number, number])[];
  readonly facts: TenantFacts;
}

interface CacheContent {
  readonly format: 1;
  readonly code: string;
  readonly units: Record<string, CachedUnit>;
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
    const file = path.join(path.dirname(bundle), 'synth-cache', `${createHash('sha256').update(absolute).digest('hex').slice(0, 32)}.json`);
    let units: Record<string, CachedUnit> = {};
    try {
      const content = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheContent;
      if (content.format === 1 && content.code === code) units = content.units;
    } catch {
      // no cache yet, or an unreadable one: synthesize everything
    }
    return new SynthCache(file, absolute, code, units);
  }

  /** Per tenant of this run; `stats` when the files were stat'ed already (a reused tenant's, unchanged). */
  private readonly next: Record<string, { input: string; files: string[]; facts: TenantFacts; stats?: CachedUnit['files'] }> = {};

  private constructor(
    private readonly file: string,
    private readonly outDir: string,
    private readonly code: string,
    private readonly previous: Record<string, CachedUnit>,
  ) {}

  /** Whether the last synth into this folder, by this build, left a record of its tenants. */
  public get isEmpty(): boolean {
    return Object.keys(this.previous).length === 0;
  }

  /** The hash of everything a tenant's files depend on besides the code. */
  public inputHash(prefix: string, platformJson: string, tenant: unknown): string {
    return createHash('sha256').update(this.code).update('\0').update(prefix).update('\0').update(platformJson).update('\0').update(JSON.stringify(tenant)).digest('hex');
  }

  /** The cached facts and file paths of `unit` if its input is unchanged and its files are intact. */
  public reusable(unit: string, input: string): { facts: TenantFacts; files: string[] } | undefined {
    const cached = this.previous[unit];
    if (!cached || cached.input !== input) return undefined;
    for (const [file, size, mtimeMs] of cached.files) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(path.join(this.outDir, file));
      } catch {
        return undefined;
      }
      if (!stat.isFile() || stat.size !== size || stat.mtimeMs !== mtimeMs) return undefined;
    }
    const files = cached.files.map(([file]) => file);
    this.next[unit] = { input, files, facts: cached.facts, stats: cached.files };
    return { facts: cached.facts, files };
  }

  /** Records a tenant synthesized in this run (its files as handed to the writer). */
  public record(unit: string, input: string, files: readonly string[], facts: TenantFacts): void {
    this.next[unit] = { input, files: [...files], facts };
  }

  /** After a successful write: stores what is now on disk for every recorded tenant. */
  public save(): void {
    const units: Record<string, CachedUnit> = {};
    for (const [unit, entry] of Object.entries(this.next)) {
      units[unit] = {
        input: entry.input,
        facts: entry.facts,
        // A reused tenant's files were stat'ed by reusable() and not written since: not again.
        files: entry.stats ?? entry.files.map((file) => {
          const stat = fs.statSync(path.join(this.outDir, file));
          return [file, stat.size, stat.mtimeMs] as const;
        }),
      };
    }
    const content: CacheContent = { format: 1, code: this.code, units };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // Written aside and renamed, so a killed run never leaves half a cache (which would be ignored anyway).
    const temporary = `${this.file}.${process.pid}`;
    fs.writeFileSync(temporary, JSON.stringify(content));
    fs.renameSync(temporary, this.file);
  }
}
