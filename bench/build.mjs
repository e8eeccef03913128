// Bundles the benchmark (bench/run.ts, bench/floor.ts) into build/bench/ with esbuild, like
// scripts/build.mjs does for the synth: plain Node at run time, no TypeScript compiler.
import { build } from 'esbuild';

await build({
  entryPoints: { run: 'bench/run.ts', floor: 'bench/floor.ts' },
  outdir: 'build/bench',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
