/**
 * Keeping the synth process's heap near its live size. V8 lets the old generation fill with
 * promoted garbage long before it collects (hundreds of MB at thousands of tenants, for some tens
 * of MB of live data: bench/README.md). The main thread cannot be given a heap limit once it runs
 * (worker threads are, see workers.ts), so the synth command asks for a full collection itself
 * at a few points: after loading the configuration and, while workers synthesize, every so many
 * tenants (in one thread the collections would cost more CPU than they are worth).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let gc: (() => void) | undefined | null = null;

/** A full garbage collection, when the runtime lets us ask for one (else nothing). */
export function collectGarbage(): void {
  if (gc === null) {
    try {
      // The flag exposes `gc` to contexts created from now on; this process's own global is untouched.
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
  }
  gc?.();
}

/** Calls `collect` each time the count of tenants done passes another multiple of `every`. */
export function collectingEvery(every: number, collect: () => void = collectGarbage): (before: number, after: number) => void {
  return (before, after) => {
    if (Math.floor(after / every) > Math.floor(before / every)) collect();
  };
}
