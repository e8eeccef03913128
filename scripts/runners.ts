// Entry of `npm run runners` (lib/runners/cli.ts): started directly (node build/runners.js) or
// through scripts/run.mjs, which runs the bundle as the main module.
import { runMain } from '../lib/runners/cli';

if (require.main === module) runMain();
