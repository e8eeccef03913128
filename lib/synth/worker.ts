/**
 * Worker thread of workers.ts (bundled as build/synth-worker.js): synthesizes the tenants of each
 * task it is sent, in order, and answers each task with one message: every tenant's output or
 * error. Given a staging target, it stages the files itself and answers with their paths and
 * statuses. Once the main thread cancels, the rest of a task is skipped. Whatever happens, it
 * answers and signals, so the waiting main thread never hangs.
 */
import { workerData } from 'node:worker_threads';
import type { Platform } from '../config/schema';
import type { SynthAnswer, SynthTask, WorkerData } from './workers';

const { port, signal } = workerData as WorkerData;
const platforms = new Map<number, Platform>();

function answer(taskId: number, message: SynthAnswer): void {
  port.postMessage({ taskId, answer: message });
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

port.on('message', ({ taskId, task }: { taskId: number; task: SynthTask }) => {
  const outputs: SynthAnswer['outputs'][number][] = [];
  const errors: SynthAnswer['errors'][number][] = [];
  for (const { key, platform } of task.platforms) platforms.set(key, platform);
  // Each tenant has folders of its own: a set per task is enough.
  const madeDirs = new Set<string>();
  let synth: { synthesizeTenantOutput: typeof import('./tenant-output').synthesizeTenantOutput; stageFile: typeof import('./staged-writer').stageFile } | undefined;
  for (const entry of task.tenants) {
    if (Atomics.load(signal, 1) !== 0) break;
    try {
      // Loaded here, not at the top, so even a failure to load answers instead of hanging the caller.
      /* eslint-disable @typescript-eslint/no-require-imports */
      synth ??= {
        synthesizeTenantOutput: (require('./tenant-output') as typeof import('./tenant-output')).synthesizeTenantOutput,
        stageFile: (require('./staged-writer') as typeof import('./staged-writer')).stageFile,
      };
      /* eslint-enable @typescript-eslint/no-require-imports */
      const output = synth.synthesizeTenantOutput(platforms.get(entry.platform)!, entry.tenant, entry.prefix);
      if (!task.stage) {
        outputs.push({ id: entry.id, output });
      } else {
        // Staged here, contents stay here. A tenant with secret material is never written, even
        // into the staging folder (the synth fails on it anyway).
        const files = output.findings.length > 0 ? [] : output.files;
        const staged = files.map((file) => ({ path: file.path, unit: file.unit, status: synth!.stageFile(task.stage!, file, madeDirs) }));
        outputs.push({ id: entry.id, output: { ...output, files: [] }, staged });
      }
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      errors.push({ id: entry.id, message: e.message, stack: e.stack, limit: e.name === 'OutputLimitError' });
    }
  }
  answer(taskId, { outputs, errors });
});
