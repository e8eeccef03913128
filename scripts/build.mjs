// Bundles the entry points into build/ with esbuild: transpile-only (type checking is `npm run
// typecheck`, part of `npm test`), so `npm run synth` and `npm run buckets` start in milliseconds
// and load no TypeScript compiler.
import { build } from 'esbuild';

const entries = [
  ['scripts/secrets.ts', 'build/secrets.js'],
  ['main.ts', 'build/synth.js'],
  // The worker threads of lib/synth-parallel.ts (large configurations), next to build/synth.js.
  ['lib/synth-worker.ts', 'build/synth-worker.js'],
  ['scripts/schema.ts', 'build/schema.js'],
  ['scripts/docs.ts', 'build/docs.js'],
  ['scripts/buckets/cli.ts', 'build/buckets.js'],
];

await Promise.all(
  entries.map(([entry, outfile]) =>
    build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      logLevel: 'warning',
    }),
  ),
);
