/**
 * Worker thread of workers.ts (bundled as build/synth-worker.js): synthesizes the tenants
 * it is sent, in order, and answers with their outputs or with the first tenant that failed. Given
 * a staging target, it stages the files itself and answers with their paths and statuses.
 * Whatever happens, it answers and signals, so the waiting main thread never hangs.
 */
import { workerData } from 'node:worker_threads';
import type { StagedFile } from './staged-writer';
import type { TenantOutput } from './tenant-output';
import type { SynthAnswer, SynthTask, WorkerData } from './workers';

const { port, signal, batch } = workerData as WorkerData;

function answer(message: SynthAnswer): void {
  port.postMessage(message);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

port.on('message', (task: SynthTask) => {
  let index = task.tenants[0]?.index ?? 0;
  try {
    // Loaded here, not at the top, so even a failure to load answers instead of hanging the caller.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { synthesizeTenantOutput } = require('./tenant-output') as typeof import('./tenant-output');
    const { stageFile } = require('./staged-writer') as typeof import('./staged-writer');
    const madeDirs = new Set<string>();
    let outputs: { index: number; output: TenantOutput; staged?: StagedFile[] }[] = [];
    task.tenants.forEach((entry, i) => {
      index = entry.index;
      const output = synthesizeTenantOutput(task.platform, entry.tenant, task.prefix);
      if (!task.stage) {
        outputs.push({ index: entry.index, output });
      } else {
        // Staged here, contents stay here. A tenant with secret material is never written, even
        // into the staging folder (the synth fails on it anyway).
        const files = output.findings.length > 0 ? [] : output.files;
        const staged = files.map((file) => ({ path: file.path, unit: file.unit, status: stageFile(task.stage!, file, madeDirs) }));
        outputs.push({ index: entry.index, output: { ...output, files: [] }, staged });
      }
      if ((i + 1) % batch === 0 && i + 1 < task.tenants.length) {
        answer({ outputs, done: false });
        outputs = [];
      }
    });
    answer({ outputs, done: true });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    answer({ error: { index, message: e.message, stack: e.stack, limit: e.name === 'OutputLimitError' } });
  }
});
