// Entry point of the synth command (`npx cdk8s synth`, `npm run synth`): everything it does lives
// in lib/ (importing lib/ never synthesizes).
import { runSynth } from './lib/cli/synth';
import { keepHeapsNearLiveSize } from './lib/synth/heap';

keepHeapsNearLiveSize();
process.exitCode = runSynth(process.argv.slice(2));
