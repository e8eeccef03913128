/**
 * The synth command (`npx cdk8s synth`, `npm run synth`) and `npm run diff`:
 *
 *   synth [--config DIR] [--out DIR] [--allow-removal] [--jobs N]   write dist/
 *   synth diff [--config DIR] [--out DIR] [--jobs N]                 show what would change
 *
 * The cdk8s CLI passes no arguments, so the environment can say the same:
 * TENANT_RUNNERS_ALLOW_REMOVAL=1 and TENANT_RUNNERS_JOBS=N (a flag wins over its variable);
 * TENANT_RUNNERS_LOCK_WAIT_MS sets how long to wait for another synth's lock (default 30 s);
 * TENANT_RUNNERS_NO_CACHE=1 synthesizes every tenant even when its input did not change.
 * Exit codes: synth 0 written, 1 bad input or refused (dist/ unchanged); diff 0 no changes,
 * 1 changes; both 2 on a usage error and 3 on an internal error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, OutputLimitError } from '../config/errors';
import { loadClusters, TenantLoaded } from '../config/load';
import { SecretMaterialError } from '../guards/secret-material';
import { architectureWarnings } from '../model/layout';
import { diffTrees } from '../synth/diff';
import { synthesizeAndCommit, synthesizeClusters } from '../synth/engine';
import { DuplicatePathError } from '../synth/output';
import { RemovalRefusedError } from '../synth/removal-guard';
import { OutputApplyError, OutputLockedError, StagedWriter } from '../synth/staged-writer';
import { SynthCache } from '../synth/synth-cache';
import { readTree } from '../synth/tree';
import { countTenantFiles, defaultJobs, OnDemandWorkers, SynthWorkers } from '../synth/workers';
import { EXIT, Io, parseCommandLine, processIo, runCommand, UsageError, wholeNumber } from './io';

const USAGE = `usage: synth [diff] [--config DIR] [--out DIR] [--allow-removal] [--jobs N]
  diff             print what a synth would change (exit 1 when something would), write nothing
  --config DIR     configuration folder (default: config)
  --out DIR        output folder (default: dist)
  --allow-removal  let tenants removed from the configuration be removed from the output
                   (environment: TENANT_RUNNERS_ALLOW_REMOVAL=1)
  --jobs N         threads synthesizing tenants, 1 to 64: this one and N-1 workers (environment:
                   TENANT_RUNNERS_JOBS; default: one per core from 250 tenants on, else 1 = no workers)
  --help           this text`;

const MAX_JOBS = 64;

/** Failures that are the input's or the environment's, not ours: their message, exit 1. */
function refusal(error: unknown): string | undefined {
  const known =
    error instanceof ConfigError ||
    error instanceof OutputLimitError ||
    error instanceof RemovalRefusedError ||
    error instanceof SecretMaterialError ||
    error instanceof OutputLockedError ||
    error instanceof OutputApplyError ||
    error instanceof DuplicatePathError;
  return known ? (error as Error).message : undefined;
}

export function runSynth(argv: readonly string[], io: Io = processIo(), env: NodeJS.ProcessEnv = process.env): number {
  let outDir = 'dist';
  let command = 'synth';
  let applyFailed = false;
  return runCommand('synth', USAGE, io, (error) => {
    applyFailed = error instanceof OutputApplyError;
    return refusal(error);
  }, () => {
    const { values, positionals } = parseCommandLine(
      argv,
      {
        config: { type: 'string' },
        out: { type: 'string' },
        'allow-removal': { type: 'boolean' },
        jobs: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      1,
    );
    if (values.help) {
      io.out(USAGE);
      return EXIT.ok;
    }
    if (positionals[0] !== undefined && positionals[0] !== 'diff') throw new UsageError(`unknown command '${positionals[0]}'`);
    command = positionals[0] ?? 'synth';
    if (command === 'diff' && values['allow-removal']) throw new UsageError('--allow-removal is for synth, not diff');
    const configDir = values.config ?? 'config';
    outDir = values.out ?? 'dist';
    const allowRemoval = values['allow-removal'] ?? isSet(env.TENANT_RUNNERS_ALLOW_REMOVAL);
    const jobs = wholeNumber('--jobs', values.jobs, MAX_JOBS) ?? wholeNumber('TENANT_RUNNERS_JOBS', env.TENANT_RUNNERS_JOBS, MAX_JOBS);

    const tenantFiles = countTenantFiles(configDir);
    // The main thread takes a share of the tenants too: one isolate fewer than one worker per core.
    const threads = jobs ?? defaultJobs(tenantFiles);
    const startWorkers = () => (threads > 1 ? SynthWorkers.start(threads - 1, tenantFiles, { thisThreadToo: true }) : undefined);
    // Versioned by this bundle (esbuild keeps __filename as build/synth.js); none from sources.
    const cache = command === 'synth' && !isSet(env.TENANT_RUNNERS_NO_CACHE) ? SynthCache.open(outDir, __filename) : undefined;
    // Workers are started before the configuration is loaded: they load their code and then
    // synthesize the first tenants while the rest loads (SynthWorkers.prefetch). When the synth
    // cache holds this output's last synth, most tenants are usually reused: then workers start
    // only once enough tenants turn out to need synthesizing.
    const workers = threads <= 1 ? undefined : cache && !cache.isEmpty ? new OnDemandWorkers(startWorkers) : startWorkers();
    try {
      const load = (onTenant?: TenantLoaded) => {
        const clusters = loadClusters(configDir, { onTenant });
        for (const cluster of clusters) {
          for (const warning of architectureWarnings(cluster.platform)) io.err(cluster.cluster ? `${cluster.cluster}: ${warning}` : warning);
        }
        return clusters;
      };
      if (command === 'diff') {
        const diff = diffTrees(readTree(outDir), synthesizeClusters(load(), workers));
        io.out(diff.text);
        return diff.changed ? 1 : 0;
      }
      // Opened (locked) before the configuration is loaded: workers started early stage the first
      // tenants into it while the rest loads. A configuration that fails to load removes it again.
      const writer = StagedWriter.open(outDir, {
        onWait: (message) => io.err(message),
        lockWaitMs: wholeNumber('TENANT_RUNNERS_LOCK_WAIT_MS', env.TENANT_RUNNERS_LOCK_WAIT_MS, 3_600_000),
      });
      const prefetching = workers instanceof SynthWorkers ? workers : undefined;
      try {
        const clusters = load(prefetching?.prefetch(writer.stageTarget));
        const total = clusters.reduce((n, c) => n + c.tenants.length, 0);
        // The removal guard says what the delivery tool does with a removed tenant (one tool for all clusters, or none named).
        const tools = new Set(clusters.map((c) => c.platform.gitops.tool));
        const { files, result } = synthesizeAndCommit(writer, clusters, {
          allowRemoval,
          tool: tools.size === 1 ? [...tools][0] : undefined,
          cache,
          synthesizer: workers,
          onProgress: io.progress && throttled((done) => io.progress!(`synthesizing: ${done}/${total} tenants`)),
        });
        io.progress?.('');
        // Under the cdk8s CLI stdout is captured and never shown: the summary goes to stderr there.
        (env.CDK8S_OUTDIR ? io.err : io.out)(`${outDir}/: ${files} files for ${total} tenant${total === 1 ? '' : 's'}; ${describe(result)}`);
        markCdk8sOutput(env.CDK8S_OUTDIR, outDir);
        return EXIT.ok;
      } finally {
        // No worker may still be writing into the staging folder when it is removed.
        prefetching?.cancel();
        writer.abort();
      }
    } finally {
      workers?.close();
    }
  },
  // Every other failure happens before the staged files are applied (OutputApplyError says itself how far it got).
  () => (command === 'synth' && !applyFailed ? `${outDir}/ was not changed.` : undefined));
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no'].includes(value.toLowerCase());
}

/** A long list (thousands of tenants on a first synth) is cut; the diff has every name. */
function describe(result: { added: string[]; changed: string[]; removed: string[] }): string {
  const list = (label: string, names: string[]) =>
    names.length === 0 ? undefined : `${label}: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`;
  const parts = [list('added', result.added), list('changed', result.changed), list('removed', result.removed)].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : 'no tenant changes';
}

/** At most ten progress updates a second, and always the last one. */
function throttled(update: (done: number, total: number) => void): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done === total || now - last >= 100) {
      last = now;
      update(done, total);
    }
  };
}

/**
 * Under the stock cdk8s CLI (`npx cdk8s synth`): the CLI deletes its output folder before it runs
 * the app and then lists the YAML files it finds there. That folder is a scratch folder under
 * build/ (cdk8s.yaml), never dist/, so the CLI can never wipe dist/; the app writes dist/ itself
 * through the staged writer and leaves one file in the scratch folder saying where the output is.
 */
function markCdk8sOutput(cdk8sOutDir: string | undefined, outDir: string): void {
  if (!cdk8sOutDir) return;
  fs.mkdirSync(cdk8sOutDir, { recursive: true });
  fs.writeFileSync(
    path.join(cdk8sOutDir, 'tenant-runners.k8s.yaml'),
    `# tenant-runners wrote its manifests to ${outDir}/ (not to this folder: see cdk8s.yaml).\n`,
  );
}
