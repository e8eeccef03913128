/**
 * Keeping the synth process's heaps near their live size. Left to its defaults, V8 lets the old
 * generation grow to several times what survived the last full collection before it collects
 * again: hundreds of MB at thousands of tenants for some tens of MB of live data (bench/README.md).
 * A lower growing factor makes V8 itself collect sooner, with its concurrent and incremental
 * marking; forcing full collections from the synth instead (what it did before) kept the heap
 * as small but blocked the thread for each one: 1-2 s more at 2,000 tenants.
 */
import * as v8 from 'node:v8';

/** Old generation allowed to grow 20 % past its live size before V8 collects (V8 otherwise picks 1.1× to 4×). */
export const HEAP_GROWING_FLAG = '--heap-growing-percent=20';

/**
 * Sets the growing factor for every heap of this process (the main thread's, and the worker
 * threads' started afterwards). Process-wide, so only the synth command's entry point calls it.
 */
export function keepHeapsNearLiveSize(setFlags: (flags: string) => void = v8.setFlagsFromString): void {
  setFlags(HEAP_GROWING_FLAG);
}
