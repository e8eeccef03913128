/**
 * The synth command.
 *
 *   node build/synth.js [--config DIR] [--out DIR] [--allow-removal]   write dist/
 *   node build/synth.js diff [--config DIR] [--out DIR]                 show what would change
 *
 * Exit codes: synth 0 written, 1 configuration problems, secret material in the output or refused
 * removal (nothing written); diff 0 no changes, 1 changes; both 2 on a usage error or an internal
 * failure.
 */
import { loadClusters } from './config/load';
import { ConfigError } from './config/errors';
import { diffTrees } from './diff';
import { architectureWarnings } from './layout';
import { readTree, RemovalRefusedError, SecretMaterialError, synthesizeClusters, writeOutput } from './synth';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const USAGE = 'usage: synth [diff] [--config DIR] [--out DIR] [--allow-removal]';

export function runSynth(argv: readonly string[], io: CliIo = { out: console.log, err: console.error }): number {
  const args = [...argv];
  const command = args[0] === 'diff' ? (args.shift(), 'diff') : 'synth';
  let configDir = 'config';
  let outDir = 'dist';
  let allowRemoval = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--config' && args[i + 1]) configDir = args[++i];
    else if (arg === '--out' && args[i + 1]) outDir = args[++i];
    else if (arg === '--allow-removal' && command === 'synth') allowRemoval = true;
    else if (arg === '--help' || arg === '-h') {
      io.out(USAGE);
      return 0;
    } else {
      io.err(`unknown argument '${arg}'\n${USAGE}`);
      return 2;
    }
  }

  try {
    const clusters = loadClusters(configDir);
    for (const cluster of clusters) {
      for (const warning of architectureWarnings(cluster.platform)) io.err(cluster.cluster ? `${cluster.cluster}: ${warning}` : warning);
    }
    const files = synthesizeClusters(clusters);
    if (command === 'diff') {
      const diff = diffTrees(readTree(outDir), files);
      io.out(diff.text);
      return diff.changed ? 1 : 0;
    }
    const result = writeOutput(outDir, files, { allowRemoval });
    const tenants = clusters.reduce((n, c) => n + c.tenants.length, 0);
    const summary = (label: string, list: string[]) => (list.length ? `${label}: ${list.join(', ')}` : undefined);
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
  }
}
