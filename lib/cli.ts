/**
 * The synth command: `node build/synth.js [--config DIR] [--out DIR] [--allow-removal]`.
 * Exit codes: 0 written, 1 configuration problems, secret material in the output or refused
 * removal (nothing written), 2 usage error or internal failure.
 */
import { loadConfig } from './config/load';
import { ConfigError } from './config/errors';
import { RemovalRefusedError, SecretMaterialError, synthesize, writeOutput } from './synth';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const USAGE = 'usage: synth [--config DIR] [--out DIR] [--allow-removal]';

export function runSynth(argv: readonly string[], io: CliIo = { out: console.log, err: console.error }): number {
  let configDir = 'config';
  let outDir = 'dist';
  let allowRemoval = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config' && argv[i + 1]) configDir = argv[++i];
    else if (arg === '--out' && argv[i + 1]) outDir = argv[++i];
    else if (arg === '--allow-removal') allowRemoval = true;
    else if (arg === '--help' || arg === '-h') {
      io.out(USAGE);
      return 0;
    } else {
      io.err(`unknown argument '${arg}'\n${USAGE}`);
      return 2;
    }
  }

  try {
    const config = loadConfig(configDir);
    const files = synthesize(config);
    const result = writeOutput(outDir, files, { allowRemoval });
    const summary = (label: string, list: string[]) => (list.length ? `${label}: ${list.join(', ')}` : undefined);
    const lines = [summary('added', result.added), summary('changed', result.changed), summary('removed', result.removed)].filter(Boolean);
    io.out(`${outDir}/: ${files.length} files for ${config.tenants.length} tenant${config.tenants.length === 1 ? '' : 's'}; ${lines.length ? lines.join('; ') : 'no changes'}`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RemovalRefusedError || error instanceof SecretMaterialError) {
      io.err(error.message);
      io.err(`${outDir}/ was not changed.`);
      return 1;
    }
    io.err(`synth failed: ${(error as Error).stack ?? error}`);
    io.err(`${outDir}/ was not changed.`);
    return 2;
  }
}
