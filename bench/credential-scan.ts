/**
 * How long the credential guard takes on the synth hot path: `scanForCredentials` over every
 * synthesized object of the example configuration, N times (default 1000, as for 1000 tenants).
 *
 *   npx esbuild bench/credential-scan.ts --bundle --platform=node --outfile=build/bench/credential-scan.js
 *   node build/bench/credential-scan.js [N]
 */
import * as path from 'node:path';
import { loadClusters } from '../lib/config/load';
import { scanForCredentials } from '../lib/guards/credentials';
import { synthesizeTenant } from '../lib/synth/engine';

const root = path.join(__dirname, '..', '..');
const rounds = Number(process.argv[2] ?? 1000);
const objects = loadClusters(path.join(root, 'config')).flatMap((c) => c.tenants.flatMap((t) => synthesizeTenant(c.platform, t)));
let strings = 0;
const count = (v: unknown): void => {
  if (typeof v === 'string') strings++;
  else if (Array.isArray(v)) v.forEach(count);
  else if (v && typeof v === 'object') for (const c of Object.values(v)) { strings++; count(c); }
};
objects.forEach(count);
for (const object of objects) scanForCredentials(object); // warm up
// CPU time (user + system) as well as wall time: the machine is shared, wall time varies with load.
const times: number[] = [];
const cpu: number[] = [];
for (let run = 0; run < 5; run++) {
  const start = process.hrtime.bigint();
  const startCpu = process.cpuUsage();
  let hits = 0;
  for (let i = 0; i < rounds; i++) for (const object of objects) hits += scanForCredentials(object).length;
  const used = process.cpuUsage(startCpu);
  cpu.push((used.user + used.system) / 1000);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (hits) throw new Error(`${hits} findings on the example`);
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
console.log(
  `${objects.length} objects, ${strings} strings (keys included) × ${rounds}: ` +
    `CPU median ${cpu[2].toFixed(0)} ms, min ${cpu[0].toFixed(0)} ms (${((cpu[2] * 1000) / rounds / strings).toFixed(2)} µs per string); ` +
    `wall median ${times[2].toFixed(0)} ms`,
);
