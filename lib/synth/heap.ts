/**
 * Keeping the synth process's heap near its live size. V8 lets the old generation fill with
 * promoted garbage long before it collects (hundreds of MB at thousands of tenants, for some tens
 * of MB of live data: bench/README.md). The main thread cannot be given a heap limit once it runs
 * (worker threads are, see workers.ts), so the synth command asks for a full collection itself,
 * but only when the heap has grown past a budget: checking costs nothing, a collection tens of
 * milliseconds, and collecting on a schedule instead cost seconds at 2,000 tenants in one thread.
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

/**
 * The old generation in use: what survived young-generation collections (promoted garbage
 * included, which only a full collection frees). The young generation is left out: it is
 * collected cheaply and often by V8 itself.
 */
export function oldGenerationUsed(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'old_space' || space.space_name === 'large_object_space') used += space.space_used_size;
  }
  return used;
}

/**
 * A check to call often (after each tenant file loaded, each tenant synthesized): it collects
 * when the old generation in use has grown `budgetBytes` past what the last collection left.
 */
export function heapBudget(budgetBytes: number, collect: () => void = collectGarbage, used: () => number = oldGenerationUsed): () => void {
  let floor = used();
  return () => {
    if (used() - floor < budgetBytes) return;
    collect();
    floor = used();
  };
}
