// Entry point of `npm run synth`: everything it does lives in lib/ (importing lib/ never synthesizes).
import { runSynth } from './lib/cli/synth';

process.exitCode = runSynth(process.argv.slice(2));
