// Runs a command's bundle (`node scripts/run.mjs synth [args…]`), building it first only when it is
// missing or a file it was built from changed since (mtime or size; see scripts/build.mjs). This is
// what `npx cdk8s synth` (cdk8s.yaml `app:`) and the npm scripts start, so a fresh clone works
// without a build step and an unchanged tree starts without esbuild.
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLES = { synth: 'build/synth.js', secrets: 'build/secrets.js', schema: 'build/schema.js', docs: 'build/docs.js', buckets: 'build/buckets.js', runners: 'build/runners.js', bench: 'build/bench/run.js' };

const [command, ...args] = process.argv.slice(2);
if (!BUNDLES[command]) {
  process.stderr.write(`usage: node scripts/run.mjs <${Object.keys(BUNDLES).join('|')}> [arguments]\n`);
  process.exit(2);
}

function isFresh() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(ROOT, 'build', `.${command}.inputs.json`), 'utf8'));
  } catch {
    return false;
  }
  return stamp.every(([file, mtimeMs, size]) => {
    try {
      const stat = fs.statSync(path.join(ROOT, file));
      return stat.mtimeMs === mtimeMs && stat.size === size;
    } catch {
      return false;
    }
  });
}

if (!isFresh()) {
  const { buildCommands } = await import('./build.mjs');
  await buildCommands([command]);
}
const bundle = path.join(ROOT, BUNDLES[command]);
// The bundle runs as the main module, as if it had been started directly: it reads its arguments
// from process.argv, and `require.main === module` holds in it.
process.argv = [process.argv[0], bundle, ...args];
Module.runMain();
