// Bundles main.ts into build/synth.js (and the helper commands into build/) with esbuild: transpile-only (type checking is `npm run
// typecheck`, part of `npm test`), so `npm run synth` starts in milliseconds and loads no
// TypeScript compiler.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['main.ts'], outfile: 'build/synth.js' }),
  build({ ...common, entryPoints: ['scripts/schema.ts'], outfile: 'build/schema.js' }),
  build({ ...common, entryPoints: ['scripts/secrets.ts'], outfile: 'build/secrets.js' }),
]);
