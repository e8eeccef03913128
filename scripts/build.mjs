// Bundles each command into build/ with esbuild: transpile-only (type checking is `npm run
// typecheck`, part of `npm test`), so commands start in milliseconds and load no TypeScript
// compiler. Run once by `npm ci` (the `prepare` script) and again by scripts/run.mjs when a source
// of a command changed: never on every command.
//
//   node scripts/build.mjs            every command
//   node scripts/build.mjs synth …    only these
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Each command's bundles: entry point → output file. */
export const COMMANDS = {
  // The worker threads of lib/synth/workers.ts (large configurations), next to build/synth.js.
  synth: [['main.ts', 'build/synth.js'], ['lib/synth/worker.ts', 'build/synth-worker.js']],
  secrets: [['scripts/secrets.ts', 'build/secrets.js']],
  schema: [['scripts/schema.ts', 'build/schema.js']],
  docs: [['scripts/docs.ts', 'build/docs.js']],
  buckets: [['scripts/buckets/cli.ts', 'build/buckets.js']],
  runners: [['scripts/runners.ts', 'build/runners.js']],
  bench: [['bench/run.ts', 'build/bench/run.js'], ['bench/floor.ts', 'build/bench/floor.js']],
};

/** Where a command's build records what it was built from (source files with mtime and size). */
export function stampFile(command) {
  return path.join(ROOT, 'build', `.${command}.inputs.json`);
}

// Dependencies are covered by the lock file; build.mjs itself by its own entry.
const ALWAYS = ['package-lock.json', 'scripts/build.mjs'];

/** Builds the given commands (all by default) and records their inputs. */
export async function buildCommands(commands = Object.keys(COMMANDS)) {
  const { build } = await import('esbuild');
  await Promise.all(
    commands.map(async (command) => {
      const entries = COMMANDS[command];
      if (!entries) throw new Error(`unknown command '${command}'; known: ${Object.keys(COMMANDS).join(', ')}`);
      const inputs = new Set(ALWAYS);
      for (const [entry, outfile] of entries) {
        const result = await build({
          absWorkingDir: ROOT,
          entryPoints: [entry],
          outfile,
          bundle: true,
          platform: 'node',
          target: 'node20',
          format: 'cjs',
          sourcemap: 'linked',
          logLevel: 'warning',
          metafile: true,
          write: false,
        });
        // Written aside and renamed: a command (or a test) running the old bundle meanwhile never
        // reads a half-written file.
        for (const file of result.outputFiles) {
          fs.mkdirSync(path.dirname(file.path), { recursive: true });
          const temporary = `${file.path}.${process.pid}.tmp`;
          fs.writeFileSync(temporary, file.contents);
          fs.renameSync(temporary, file.path);
        }
        for (const input of Object.keys(result.metafile.inputs)) if (!input.includes('node_modules/')) inputs.add(input);
      }
      const stamp = [...inputs].sort().map((file) => {
        const stat = fs.statSync(path.join(ROOT, file));
        return [file, stat.mtimeMs, stat.size];
      });
      fs.writeFileSync(stampFile(command), JSON.stringify(stamp));
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildCommands(process.argv.length > 2 ? process.argv.slice(2) : undefined);
}
