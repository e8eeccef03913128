// Summarizes V8 CPU profiles of the synth (`node --cpu-prof --cpu-prof-dir DIR build/synth.js …`,
// one file per thread) by area: self time of every sample, attributed to the innermost frame
// that names an area (source-mapped through build/*.js.map to lib/ and node_modules/), and the
// top self-time functions of each area.
//
//   node bench/profile-summary.mjs DIR [--top 5]
import * as fs from 'node:fs';
import { SourceMap } from 'node:module';
import * as path from 'node:path';

const args = process.argv.slice(2);
const dir = args[0];
const top = Number(args[args.indexOf('--top') + 1]) || 5;
if (!dir) {
  console.error('usage: node bench/profile-summary.mjs PROFILE_DIR [--top N]');
  process.exit(2);
}

const maps = new Map();
function sourceMapOf(url) {
  if (!url.startsWith('file://')) return undefined;
  if (!maps.has(url)) {
    const file = new URL(url).pathname;
    let map;
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = undefined;
    }
    maps.set(url, map);
  }
  return maps.get(url);
}

/** Original source file (relative, `lib/…` or `node_modules/…`) of a call frame. */
function sourceOf(frame) {
  const map = sourceMapOf(frame.url);
  if (!map || frame.lineNumber < 0) return frame.url;
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
  const source = entry?.originalSource ?? frame.url;
  const i = source.search(/(node_modules|lib|bench|scripts)\//);
  return i >= 0 ? source.slice(i).replace(/^.*node_modules\//, 'node_modules/') : source;
}

const FS_NATIVE = /^(writeFileSync|readFileSync|mkdirSync|renameSync|unlinkSync|rmdirSync|readdirSync|openSync|closeSync|writeSync|readSync|statSync|lstatSync|existsSync|tryStatSync|tryReadSync|tryCreateBuffer|fstatSync)$/;

/** The area a frame names, or undefined (library internals: keep looking outwards). */
function areaOf(frame, source, leaf) {
  const fn = frame.functionName;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8/native (program)';
  if (frame.url === 'node:fs' || FS_NATIVE.test(fn)) return 'fs: syscalls (write/read/mkdir/rename/unlink)';
  if (source.startsWith('lib/guards/')) return 'credential scan (lib/guards)';
  // blockYaml (and the `yaml` calls it makes for the scalars it leaves to it) is the synth's YAML writer.
  if (fn === 'toYaml' || source === 'lib/synth/output.ts' || source === 'lib/render/block-yaml.ts' || source === 'bench/floor.ts') return 'yaml stringify';
  if (source.startsWith('node_modules/zod/')) return 'config: zod';
  if (source.startsWith('node_modules/yaml/dist/parse/') || source.startsWith('node_modules/yaml/dist/compose/')) return 'config: YAML parse';
  if (source.startsWith('node_modules/smol-toml/')) return 'runner config.toml (smol-toml stringify)';
  if (source.startsWith('lib/config/')) return 'config: load/rules (lib/config)';
  if (fn === 'toJson' && source.startsWith('node_modules/cdk8s/')) return 'cdk8s toJson (resolve, validate)';
  if (source.startsWith('lib/constructs/') || source.startsWith('lib/model/') || source.startsWith('lib/runner-config/') || source.startsWith('node_modules/cdk8s-plus-')) {
    return 'cdk8s construct (lib/constructs, cdk8s-plus)';
  }
  if (source.startsWith('lib/gitops/') || source.startsWith('lib/render/')) return 'delivery objects, CI template, summary';
  if (source === 'lib/synth/staged-writer.ts' || source === 'lib/synth/tree.ts') return 'fs: staged writer (JS)';
  // The main thread blocks in Atomics.wait inside SynthWorkers.synthesize: sampled as its self time.
  if (leaf && fn === 'synthesize' && source === 'lib/synth/workers.ts') return 'idle';
  if (source === 'lib/synth/workers.ts' || source === 'lib/synth/worker.ts' || /receiveMessageOnPort|postMessage|deserialize|serialize/.test(fn)) return 'worker messaging (clone)';
  if (source === 'lib/synth/engine.ts' || source === 'lib/synth/tenant-output.ts' || source.startsWith('lib/cli/')) return 'synth engine glue (lib/synth, lib/cli)';
  if (/^(require_|init_)/.test(fn) || fn === 'compileFunction' || fn === 'wrapSafe' || (leaf && source.startsWith('node:internal/modules'))) return 'start-up (module load, bundle init)';
  return undefined;
}

function summarize(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  // The sampled node's own frame first (`self`: Atomics.wait and module loading count only
  // there), then its callers outwards; areas of callers are cached.
  const areaCache = new Map();
  const callerArea = (id) => {
    if (areaCache.has(id)) return areaCache.get(id);
    const node = byId.get(id);
    let area = areaOf(node.callFrame, sourceOf(node.callFrame), false);
    if (!area) {
      const p = parent.get(id);
      area = p === undefined || byId.get(p).callFrame.functionName === '(root)' ? 'other' : callerArea(p);
    }
    areaCache.set(id, area);
    return area;
  };
  const areaOfNode = (id) => {
    const node = byId.get(id);
    return areaOf(node.callFrame, sourceOf(node.callFrame), true) ?? callerArea(id);
  };
  const areas = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    const area = areaOfNode(id);
    total += us;
    const a = areas.get(area) ?? { us: 0, fns: new Map() };
    const source = sourceOf(node.callFrame);
    const key = `${node.callFrame.functionName || '(anonymous)'} ${source.startsWith('file://') ? path.basename(source) : source}`;
    a.us += us;
    a.fns.set(key, (a.fns.get(key) ?? 0) + us);
    areas.set(area, a);
  }
  return { total, areas };
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
const all = { total: 0, areas: new Map() };
for (const f of files) {
  const { total, areas } = summarize(path.join(dir, f));
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread.
  const thread = f.split('.')[4] === '0' ? 'main thread' : `worker ${f.split('.')[4]}`;
  const busy = total - (areas.get('idle')?.us ?? 0);
  console.log(`\n## ${thread} (${f}): ${(total / 1e6).toFixed(2)} s of samples, ${(busy / 1e6).toFixed(2)} s not idle (idle: waiting for work or, in the main thread, for the workers)`);
  for (const [area, a] of [...areas].sort((x, y) => y[1].us - x[1].us)) {
    const pct = ((100 * a.us) / total).toFixed(1);
    const fns = [...a.fns].sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, us]) => `${k} ${(100 * us / total).toFixed(1)}%`).join('; ');
    console.log(`${pct.padStart(5)} %  ${(a.us / 1e6).toFixed(2).padStart(6)} s  ${area}  —  ${fns}`);
    const t = all.areas.get(area) ?? 0;
    all.areas.set(area, t + a.us);
  }
  all.total += total;
}
if (files.length > 1) {
  const idle = all.areas.get('idle') ?? 0;
  console.log(`\n## all threads: ${(all.total / 1e6).toFixed(2)} s of samples, ${((all.total - idle) / 1e6).toFixed(2)} s not idle (shares of the not-idle time)`);
  for (const [area, us] of [...all.areas].sort((x, y) => y[1] - x[1])) {
    if (area === 'idle') continue;
    console.log(`${((100 * us) / (all.total - idle)).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s  ${area}`);
  }
}
