/**
 * The real synth command (lib/cli/synth.ts: load → synthesize → guard → write) with one object of one
 * tenant changed after the constructs rendered it, as a bug in a construct would. Bundled and run
 * as a process by test/secret-guard.test.ts, to prove the output guard stops it before dist/ is
 * touched. Never part of the product: the plant comes from the PLANT environment variable.
 */
import { runSynth } from '../../lib/cli/synth';
import { TenantChart } from '../../lib/constructs/tenant-chart';

interface Plant {
  readonly tenant: string;
  /** An object to add to the tenant's output. */
  readonly add?: Record<string, unknown>;
  /** A value to set at `path` in the object of this kind and name. */
  readonly set?: { kind: string; name: string; path: (string | number)[]; value: unknown };
  /** A string replacement inside the string at `path`. */
  readonly replace?: { kind: string; name: string; path: (string | number)[]; from: string; to: string };
}

const plant = JSON.parse(process.env.PLANT ?? 'null') as Plant | null;
const original = TenantChart.prototype.toJson;
TenantChart.prototype.toJson = function plantedToJson(this: TenantChart): unknown[] {
  const objects = original.call(this) as Record<string, any>[];
  if (!plant || this.node.id !== plant.tenant) return objects;
  if (plant.add) objects.push(plant.add);
  const edit = plant.set ?? plant.replace;
  if (edit) {
    const target = objects.find((o) => o.kind === edit.kind && o.metadata.name === edit.name);
    if (!target) throw new Error(`plant: no ${edit.kind} ${edit.name}`);
    const parent = edit.path.slice(0, -1).reduce((node: any, key) => (node[key] ??= {}), target);
    const last = edit.path[edit.path.length - 1];
    if (plant.set) parent[last] = plant.set.value;
    else if (plant.replace) {
      if (!String(parent[last]).includes(plant.replace.from)) throw new Error(`plant: '${plant.replace.from}' not found`);
      parent[last] = String(parent[last]).replace(plant.replace.from, plant.replace.to);
    }
  }
  return objects;
};

process.exitCode = runSynth(process.argv.slice(2));
