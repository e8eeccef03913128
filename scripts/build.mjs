// Bundles main.ts into build/synth.js with esbuild: transpile-only (type checking is `npm run
// typecheck`, part of `npm test`), so `npm run synth` starts in milliseconds and loads no
// TypeScript compiler.
import { build } from 'esbuild';

await build({
  entryPoints: ['main.ts'],
  outfile: 'build/synth.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
});
