/**
 * The synth command.
 *
 *   node build/synth.js [--config DIR] [--out DIR] [--allow-removal] [--jobs N]   write dist/
 *   node build/synth.js diff [--config DIR] [--out DIR]                 show what would change
 *
 * Exit codes: synth 0 written, 1 configuration problems, secret material in the output or refused
 * removal (nothing written); diff 0 no changes, 1 changes; both 2 on a usage error or an internal
 * failure.
 */
import { loadClusters } from '../config/load';
import { ConfigError } from '../config/errors';
import { diffTrees } from '../render/diff';
import { architectureWarnings } from '../model/layout';
import { OutputFile, readTree, RemovalRefusedError, SecretMaterialError, synthesizeClusters, writeOutput, WriteResult } from '../synth/engine';
import { countTenantFiles, defaultJobs, synthesizeAndWrite, SynthWorkers } from '../synth/workers';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const USAGE =
  'usage: synth [diff] [--config DIR] [--out DIR] [--allow-removal] [--jobs N]\n' +
  '  --jobs N  worker threads synthesizing tenants (default: one per core from 250 tenants on, else 1 = no workers)';

export function runSynth(argv: readonly string[], io: CliIo = { out: console.log, err: console.error }): number {
  const args = [...argv];
  const command = args[0] === 'diff' ? (args.shift(), 'diff') : 'synth';
  let configDir = 'config';
  let outDir = 'dist';
  let allowRemoval = false;
  let jobs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--config' && args[i + 1]) configDir = args[++i];
    else if (arg === '--out' && args[i + 1]) outDir = args[++i];
    else if (arg === '--allow-removal' && command === 'synth') allowRemoval = true;
    else if (arg === '--jobs' && /^[1-9][0-9]*$/.test(args[i + 1] ?? '')) jobs = Number(args[++i]);
    else if (arg === '--help' || arg === '-h') {
      io.out(USAGE);
      return 0;
    } else {
      io.err(`unknown argument '${arg}'\n${USAGE}`);
      return 2;
    }
  }

  let workers: SynthWorkers | undefined;
  try {
    // Started before the configuration is loaded, so loading their code overlaps loading it.
    const tenantFiles = countTenantFiles(configDir);
    const count = jobs ?? defaultJobs(tenantFiles);
    if (count > 1) workers = SynthWorkers.start(count, tenantFiles);
    const clusters = loadClusters(configDir);
    for (const cluster of clusters) {
      for (const warning of architectureWarnings(cluster.platform)) io.err(cluster.cluster ? `${cluster.cluster}: ${warning}` : warning);
    }
    if (command === 'diff') {
      const files = synthesizeClusters(clusters, workers && ((config, prefix) => workers!.synthesize(config, prefix)));
      const diff = diffTrees(readTree(outDir), files);
      io.out(diff.text);
      return diff.changed ? 1 : 0;
    }
    let files: OutputFile[];
    let result: WriteResult;
    // The removal guard says what the delivery tool does with a removed tenant (one tool for all clusters, or none named).
    const tools = new Set(clusters.map((c) => c.platform.gitops.tool));
    const tool = tools.size === 1 ? [...tools][0] : undefined;
    if (workers) {
      ({ files, result } = synthesizeAndWrite(workers, clusters, outDir, { allowRemoval, tool }));
    } else {
      files = synthesizeClusters(clusters);
      result = writeOutput(outDir, files, { allowRemoval, tool });
    }
    const tenants = clusters.reduce((n, c) => n + c.tenants.length, 0);
    // A long list (thousands of tenants on a first synth) is cut; the diff has every name.
    const summary = (label: string, list: string[]) =>
      list.length === 0 ? undefined : `${label}: ${list.slice(0, 20).join(', ')}${list.length > 20 ? ` and ${list.length - 20} more` : ''}`;
    const lines = [summary('added', result.added), summary('changed', result.changed), summary('removed', result.removed)].filter(Boolean);
    io.out(`${outDir}/: ${files.length} files for ${tenants} tenant${tenants === 1 ? '' : 's'}; ${lines.length ? lines.join('; ') : 'no tenant changes'}`);
    return 0;
  } catch (error) {
    const untouched = command === 'synth' ? `${outDir}/ was not changed.` : '';
    if (error instanceof ConfigError || error instanceof RemovalRefusedError || error instanceof SecretMaterialError) {
      io.err(error.message);
      if (untouched) io.err(untouched);
      return command === 'diff' ? 2 : 1;
    }
    io.err(`${command} failed: ${(error as Error).stack ?? error}`);
    if (untouched) io.err(untouched);
    return 2;
  } finally {
    workers?.close();
  }
}
