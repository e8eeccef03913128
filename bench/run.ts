/**
 * `npm run bench [-- options]` (bench/README.md): for each N, generates N synthetic tenants
 * (bench/generate.ts) in a temporary directory and measures, as whole processes:
 *
 *   synth      `node scripts/run.mjs synth --config … --out …` (the launcher `npm run synth` and
 *              `npx cdk8s synth` start, which runs build/synth.js) into an empty output directory
 *   --jobs 1   the same, single-threaded
 *   re-synth   synth again over its own, unchanged output (the everyday case: dist/ is committed)
 *   floor      bench/floor.ts: the same objects and bytes written with the `yaml` package alone
 *
 * checks that the fresh, re-synthesized, single-threaded and floor trees are byte-identical
 * (SHA-256 over every file), optionally repeats synth and floor while one busy loop per core
 * burns the CPU (`--under-load`), times the example configuration as whole commands
 * (`npm run synth`, `npx cdk8s synth`), and writes Markdown, JSON and an SVG chart with every
 * target of the performance issue marked met or missed.
 *
 * Not part of `npm test`: speed is measured here, never asserted in tests.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { writeConfig } from './generate';
import { CpuBurners, listFiles, loadAverage, runCommand, runNode, Run, summarize, Summary, treeHash } from './measure';
import { Example, LoadRow, markdown, Options, Row, svg, targets } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
/** The synth as users start it: the launcher (`npm run synth` and cdk8s.yaml run it), which runs build/synth.js. */
const LAUNCHER = path.join(ROOT, 'scripts', 'run.mjs');
const SYNTH = path.join(ROOT, 'build', 'synth.js');
const FLOOR = path.join(ROOT, 'build', 'bench', 'floor.js');
/** The synth cache (lib/synth/synth-cache.ts) lives next to the bundle, one file per output folder. */
const CACHE_DIR = path.join(ROOT, 'build', 'synth-cache');

/**
 * Removes the synth cache of `outDir` (named as lib/synth/synth-cache.ts names it): before each
 * fresh synth (a fresh synth, as in a new clone or CI, has no cache) and after each N (they are
 * tens of MB at thousands of tenants). Other folders' caches are left alone.
 */
function dropCache(outDir: string): void {
  const name = `${createHash('sha256').update(path.resolve(outDir)).digest('hex').slice(0, 32)}.json`;
  fs.rmSync(path.join(CACHE_DIR, name), { force: true });
}

/** A burner exits by itself after this long, even if the bench is killed without cleanup. */
const BURNER_MAX_SECONDS = 30 * 60;

const USAGE = `usage: npm run bench -- [options]
  --sizes 10,100,1000,2000,5000,10000  tenant counts
  --runs 3              runs per N up to 2,000 tenants (medians are reported)
  --large-runs 1        runs per N above 2,000 tenants
  --floor-max 5000      largest N with a floor (the floor needs the whole output as JSON in memory)
  --single-max 5000     largest N with a --jobs 1 run
  --under-load 2000     N measured again with one busy-loop process per core (0: none)
  --load-runs 1         runs under load
  --example-runs 5      runs of the example configuration (0: none)
  --results DIR         where results.{md,json,svg} go (default bench/results)
  --keep                keep the temporary directories`;

function parseArgs(argv: string[]): Options {
  const options: Options = {
    sizes: [10, 100, 1000, 2000, 5000, 10000],
    runs: 3,
    largeRuns: 1,
    floorMax: 5000,
    singleMax: 5000,
    underLoad: 2000,
    loadRuns: 1,
    exampleRuns: 5,
    results: path.join('bench', 'results'),
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--sizes') options.sizes = value().split(',').map((s) => whole(s, arg, 1));
    else if (arg === '--runs') options.runs = whole(value(), arg, 1);
    else if (arg === '--large-runs') options.largeRuns = whole(value(), arg, 1);
    else if (arg === '--floor-max') options.floorMax = whole(value(), arg, 0);
    else if (arg === '--single-max') options.singleMax = whole(value(), arg, 0);
    else if (arg === '--under-load') options.underLoad = whole(value(), arg, 0);
    else if (arg === '--load-runs') options.loadRuns = whole(value(), arg, 1);
    else if (arg === '--example-runs') options.exampleRuns = whole(value(), arg, 0);
    else if (arg === '--results') options.results = path.relative(ROOT, path.resolve(value())) || '.';
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument '${arg}'\n${USAGE}`);
  }
  if (options.underLoad > 0 && !options.sizes.includes(options.underLoad)) options.sizes = [...options.sizes, options.underLoad].sort((a, b) => a - b);
  return options;
}

function whole(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected a whole number ≥ ${min}, got '${text}'`);
  return n;
}

/** Writes the floor's input: our output parsed back into plain objects (never timed). */
function writeFloorInput(dist: string, target: string): void {
  const objects: [string, unknown][] = listFiles(dist).map((file) => {
    const text = fs.readFileSync(path.join(dist, file), 'utf8');
    // Manifests are parsed back into objects; the summary and the CI templates are plain text.
    return [file, file.endsWith('.yaml') ? parse(text) : text];
  });
  fs.writeFileSync(target, JSON.stringify(objects));
}

interface Scratch {
  dir: string;
  config: string;
  dist: string;
  floorOut: string;
  floorInput: string;
}

/**
 * Output trees of earlier runs are set aside (one rename), not deleted, until the bench ends.
 * Deleting tens of thousands of files right before a timed run made that run pay for it: on an
 * ext4 without a journal (this machine's) the inode allocator skips every inode freed in the last
 * minutes, block by block, and a synth or floor after a deletion spent up to 3-6× the system time
 * of one after none (bench/README.md). Removed at the end, untimed; a few GB at the default sizes.
 */
class SetAside {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-bench-old-'));
  private count = 0;

  /** Moves `target` (if it exists) out of the way. */
  public put(target: string): void {
    if (fs.existsSync(target)) fs.renameSync(target, path.join(this.dir, String(this.count++)));
  }

  public removeAll(): void {
    if (this.count > 0) console.error(`removing the ${this.count} output trees set aside (untimed; minutes at the default sizes)…`);
    this.count = 0;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const setAside = new SetAside();
process.on('exit', () => setAside.removeAll());

function runFloor(s: Scratch, objects: number): { wall: number; cpu: number; rssMb: number; bytes: number } {
  setAside.put(s.floorOut);
  const run = runNode([FLOOR, s.floorInput, s.floorOut], ROOT, s.dir);
  const report = JSON.parse(run.stdout) as { inputMs: number; objects: number; bytes: number };
  if (report.objects !== objects) throw new Error(`floor wrote ${report.objects} objects, synth ${objects}`);
  // Reading and parsing the input stands in for building the objects: subtracted.
  return { wall: run.wall - report.inputMs / 1000, cpu: run.cpu - report.inputMs / 1000, rssMb: run.rssMb, bytes: report.bytes };
}

function benchSize(tenants: number, options: Options): { row: Row; underLoad?: LoadRow } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tenant-runners-bench-${tenants}-`));
  const s: Scratch = { dir, config: path.join(dir, 'config'), dist: path.join(dir, 'dist'), floorOut: path.join(dir, 'floor'), floorInput: path.join(dir, 'floor-input.json') };
  const loadBefore = loadAverage();
  try {
    writeConfig(s.config, tenants);
    const synthArgs = [LAUNCHER, 'synth', '--config', s.config, '--out', s.dist];
    const singleArgs = [...synthArgs, '--jobs', '1'];
    const runs = tenants > 2000 ? options.largeRuns : options.runs;
    const withFloor = tenants <= options.floorMax;
    const withSingle = tenants <= options.singleMax;

    const synth: Run[] = [];
    const single: Run[] = [];
    const resynth: Run[] = [];
    const floor: { wall: number; cpu: number; rssMb: number }[] = [];
    let fresh: { hash: string; files: number; bytes: number } | undefined;
    const hashes = { resynth: new Set<string>(), single: new Set<string>(), floor: new Set<string>(), fresh: new Set<string>() };
    let floorBytes: number | undefined;
    for (let r = 0; r < runs; r++) {
      setAside.put(s.dist);
      dropCache(s.dist);
      synth.push(runNode(synthArgs, ROOT, dir));
      const h = treeHash(s.dist);
      fresh ??= h;
      hashes.fresh.add(h.hash);
      if (r === 0 && withFloor) writeFloorInput(s.dist, s.floorInput);
      resynth.push(runNode(synthArgs, ROOT, dir));
      hashes.resynth.add(treeHash(s.dist).hash);
      if (withSingle) {
        setAside.put(s.dist);
        dropCache(s.dist);
        single.push(runNode(singleArgs, ROOT, dir));
        hashes.single.add(treeHash(s.dist).hash);
      }
      if (withFloor) {
        const f = runFloor(s, fresh.files);
        floor.push(f);
        floorBytes = f.bytes;
        hashes.floor.add(treeHash(s.floorOut).hash);
      }
    }
    const same = (set: Set<string>) => (set.size === 0 ? undefined : set.size === 1 && set.has(fresh!.hash));
    const row: Row = {
      tenants,
      runs,
      objects: fresh!.files,
      bytes: fresh!.bytes,
      synth: summarize(synth),
      single: withSingle ? summarize(single) : undefined,
      resynth: summarize(resynth),
      floor: withFloor ? summarize(floor) : undefined,
      floorBytes,
      identical: { hash: fresh!.hash.slice(0, 16), fresh: same(hashes.fresh)!, resynth: same(hashes.resynth)!, single: same(hashes.single), floor: same(hashes.floor) },
      load: [loadBefore, loadAverage()],
    };

    let underLoad: LoadRow | undefined;
    if (tenants === options.underLoad) {
      const count = os.availableParallelism?.() ?? os.cpus().length;
      const loadStart = loadAverage();
      const burners = CpuBurners.start(count, BURNER_MAX_SECONDS);
      const ls: Run[] = [];
      const l1: Run[] = [];
      const lf: { wall: number; cpu: number; rssMb: number }[] = [];
      try {
        for (let r = 0; r < options.loadRuns; r++) {
          setAside.put(s.dist);
          dropCache(s.dist);
          ls.push(runNode(synthArgs, ROOT, dir));
          setAside.put(s.dist);
          dropCache(s.dist);
          l1.push(runNode(singleArgs, ROOT, dir));
          if (withFloor) lf.push(runFloor(s, fresh!.files));
        }
      } finally {
        burners.stop();
      }
      underLoad = { tenants, burners: count, runs: options.loadRuns, synth: summarize(ls), single: summarize(l1), floor: lf.length ? summarize(lf) : undefined, load: [loadStart, loadAverage()] };
    }
    return { row, underLoad };
  } finally {
    dropCache(s.dist);
    if (options.keep) console.error(`kept ${dir}`);
    else setAside.put(dir);
  }
}

/**
 * The example configuration (2 tenants) as whole commands, in a copy of the repository's
 * config/ and dist/ (scripts/ and node_modules/ are linked, so the launcher and its bundles
 * are the repository's own): `node build/synth.js`, `npm run synth`, `npx cdk8s synth` (with
 * CDK8S_CHECK_UPGRADE=false: otherwise the CLI asks the npm registry for a newer version on
 * every run).
 */
function benchExample(options: Options): Example {
  const loadBefore = loadAverage();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-bench-example-'));
  try {
    for (const file of ['package.json', 'cdk8s.yaml']) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    for (const link of ['scripts', 'node_modules']) fs.symlinkSync(path.join(ROOT, link), path.join(dir, link));
    fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    const committed = treeHash(path.join(ROOT, 'dist')).hash;
    const env = { ...process.env, CDK8S_CHECK_UPGRADE: 'false' };
    const direct: Run[] = [];
    const npm: Run[] = [];
    const cdk8s: Run[] = [];
    const cliAlone: Run[] = [];
    // Once each without the synth cache (a new clone, or after the code changed), then with it.
    const cold: Run[] = [];
    for (const command of [() => runNode([LAUNCHER, 'synth'], dir, dir, env), () => runCommand('npm', ['run', 'synth'], dir, dir, env), () => runCommand('npx', ['cdk8s', 'synth'], dir, dir, env)]) {
      dropCache(path.join(dir, 'dist'));
      cold.push(command());
    }
    for (let r = 0; r < options.exampleRuns; r++) {
      direct.push(runNode([LAUNCHER, 'synth'], dir, dir, env));
      npm.push(runCommand('npm', ['run', 'synth'], dir, dir, env));
      cdk8s.push(runCommand('npx', ['cdk8s', 'synth'], dir, dir, env));
      cliAlone.push(runCommand('npx', ['cdk8s', '--version'], dir, dir, env));
    }
    const after = treeHash(path.join(dir, 'dist')).hash;
    return { direct: summarize(direct), npm: summarize(npm), cdk8s: summarize(cdk8s), cliAlone: summarize(cliAlone), cold: cold.map((r) => r.wall) as [number, number, number], load: `${loadBefore} → ${loadAverage()}`, unchanged: after === committed };
  } finally {
    dropCache(path.join(dir, 'dist'));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'} (os.availableParallelism() = ${os.availableParallelism?.() ?? 'n/a'})`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`,
    `Node ${process.version}, ${os.type()} ${os.release()}`,
  ];
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  // Builds the synth bundle if a source changed (not timed: the first command after an edit is not the case measured).
  runNode([LAUNCHER, 'synth', '--help'], ROOT, os.tmpdir());
  for (const file of [SYNTH, FLOOR]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run node scripts/build.mjs`);
  const started = Date.now();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const load = [loadAverage()];
  console.log(`bench: sizes ${options.sizes.join(', ')}; load average ${load[0]}`);

  let example: Example | undefined;
  if (options.exampleRuns > 0) {
    example = benchExample(options);
    console.log(`example (2 tenants): node scripts/run.mjs synth ${example.direct.wall.toFixed(2)} s, npm run synth ${example.npm.wall.toFixed(2)} s, npx cdk8s synth ${example.cdk8s.wall.toFixed(2)} s (the CLI alone ${example.cliAlone.wall.toFixed(2)} s); load ${loadAverage()}`);
  }
  const rows: Row[] = [];
  let underLoad: LoadRow | undefined;
  for (const tenants of options.sizes) {
    const result = benchSize(tenants, options);
    const row = result.row;
    rows.push(row);
    underLoad ??= result.underLoad;
    const f = (x?: Summary) => (x ? `${x.wall.toFixed(2)} s` : '–');
    console.log(
      `${tenants} tenants: synth ${f(row.synth)} (${row.synth.rssMb.toFixed(0)} MB), --jobs 1 ${f(row.single)}, re-synth ${f(row.resynth)} (${row.resynth.rssMb.toFixed(0)} MB), ` +
        `floor ${f(row.floor)}${row.floor ? `, ratio ${(row.synth.wall / row.floor.wall).toFixed(2)}×` : ''}; identical ${JSON.stringify(row.identical)}; load ${loadAverage()}`,
    );
    if (result.underLoad) {
      const u = result.underLoad;
      console.log(`${tenants} tenants under load (${u.burners} burners): synth ${f(u.synth)}, --jobs 1 ${f(u.single)}, floor ${f(u.floor)}; load ${loadAverage()}`);
    }
  }
  load.push(loadAverage());
  const minutes = (Date.now() - started) / 60000;

  const dir = path.resolve(ROOT, options.results);
  fs.mkdirSync(dir, { recursive: true });
  const checks = targets(rows, underLoad, example);
  const md = markdown({ rows, underLoad, example, options, date, load, minutes, machine: machine(), checks });
  fs.writeFileSync(path.join(dir, 'results.md'), md);
  fs.writeFileSync(path.join(dir, 'results.svg'), svg(rows, underLoad, date, load));
  fs.writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify({ date, minutes, options, machine: machine(), load, example, rows, underLoad, targets: checks }, null, 2)}\n`);
  console.log(`\n${md}`);
  console.log(`written to ${options.results}/results.{md,svg,json}`);
}

main();
