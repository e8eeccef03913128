/**
 * `npm run bench [-- --sizes 10,100,1000,2000 --runs 5 --results bench/results --keep]`
 *
 * For each N: generates N synthetic tenants (bench/generate.ts) in a temporary directory, runs the
 * real synth command as a whole process (`node build/synth.js --config … --out …`), into a fresh
 * output directory and again over its own output (the everyday case: dist/ is committed), then
 * the floor (bench/floor.ts: the same objects and bytes written with the `yaml` package alone) in
 * a process of its own. Reports medians of wall time, peak RSS, objects and bytes written, the
 * ratio to the floor and the growth between successive N, as Markdown, JSON and an SVG chart.
 *
 * Not part of `npm test`: speed is measured here, never asserted in tests.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { writeConfig } from './generate';

const ROOT = path.resolve(__dirname, '..', '..');
const SYNTH = path.join(ROOT, 'build', 'synth.js');
const FLOOR = path.join(ROOT, 'build', 'bench', 'floor.js');
const TIME = '/usr/bin/time';

interface Options {
  sizes: number[];
  runs: number;
  results: string;
  keep: boolean;
}

interface Run {
  /** Wall time of the whole process, in seconds. */
  wall: number;
  /** User + system CPU time of the process (all its threads), in seconds. */
  cpu: number;
  /** Peak resident set size, in MB. */
  rssMb: number;
  stdout: string;
}

interface Row {
  tenants: number;
  objects: number;
  bytes: number;
  synth: Summary;
  /** The same, single-threaded (`--jobs 1`). */
  single: Summary;
  resynth: Summary;
  floor: Summary;
  floorBytes: number;
}

interface Summary {
  /** Median wall time, seconds. */
  wall: number;
  /** Every run's wall time, seconds. */
  walls: number[];
  /** Median CPU time (user + system), seconds. */
  cpu: number;
  /** Largest peak RSS over the runs, MB. */
  rssMb: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { sizes: [10, 100, 1000, 2000], runs: 5, results: path.join(ROOT, 'bench', 'results'), keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--sizes') options.sizes = value().split(',').map((s) => positiveInt(s, arg));
    else if (arg === '--runs') options.runs = positiveInt(value(), arg);
    else if (arg === '--results') options.results = path.resolve(value());
    else if (arg === '--keep') options.keep = true;
    else throw new Error(`unknown argument '${arg}'; usage: bench [--sizes 10,100,1000,2000] [--runs 5] [--results DIR] [--keep]`);
  }
  return options;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected positive integers, got '${text}'`);
  return n;
}

/**
 * Runs `node ARGS` as a whole process and measures it. Peak RSS comes from GNU time's %M when
 * /usr/bin/time exists, else from process.resourceUsage().maxRSS of the child, reported by a
 * preloaded exit hook.
 */
function runNode(args: string[], cwd: string, scratch: string): Run {
  const useTime = fs.existsSync(TIME);
  let command: string;
  let commandArgs: string[];
  const rssFile = path.join(scratch, 'maxrss');
  if (useTime) {
    command = TIME;
    commandArgs = ['-f', 'BENCH_MAXRSS_KB=%M BENCH_CPU=%U+%S', process.execPath, ...args];
  } else {
    const hook = path.join(scratch, 'maxrss-hook.js');
    fs.writeFileSync(
      hook,
      `process.on('exit', () => { const u = process.resourceUsage(); require('fs').writeFileSync(${JSON.stringify(rssFile)}, ` +
        '`${u.maxRSS} ${(u.userCPUTime + u.systemCPUTime) / 1e6}`); });\n',
    );
    command = process.execPath;
    commandArgs = ['-r', hook, ...args];
  }
  const start = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited with ${result.status ?? result.signal}:\n${result.stderr.slice(-4000)}`);
  }
  let rssKb: number;
  let cpu: number;
  if (useTime) {
    const m = /BENCH_MAXRSS_KB=(\d+) BENCH_CPU=([\d.]+)\+([\d.]+)/.exec(result.stderr);
    rssKb = Number(m?.[1]);
    cpu = Number(m?.[2]) + Number(m?.[3]);
  } else {
    [rssKb, cpu] = fs.readFileSync(rssFile, 'utf8').split(' ').map(Number);
  }
  if (!Number.isFinite(rssKb) || !Number.isFinite(cpu)) throw new Error(`no peak RSS / CPU time reported for node ${args.join(' ')}`);
  return { wall, cpu, rssMb: rssKb / 1024, stdout: result.stdout };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarize(runs: { wall: number; cpu: number; rssMb: number }[]): Summary {
  return {
    wall: median(runs.map((r) => r.wall)),
    walls: runs.map((r) => r.wall),
    cpu: median(runs.map((r) => r.cpu)),
    rssMb: Math.max(...runs.map((r) => r.rssMb)),
  };
}

/** Every file under `dir`, by path relative to it, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

function benchSize(tenants: number, options: Options): Row {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `tenant-runners-bench-${tenants}-`));
  try {
    const config = path.join(scratch, 'config');
    const dist = path.join(scratch, 'dist');
    const floorOut = path.join(scratch, 'floor');
    writeConfig(config, tenants);

    // The floor's input: our output, parsed back into plain objects (not timed).
    const synthArgs = [SYNTH, '--config', config, '--out', dist];
    runNode(synthArgs, ROOT, scratch);
    const files = listFiles(dist);
    let bytes = 0;
    const objects: [string, unknown][] = files.map((file) => {
      const text = fs.readFileSync(path.join(dist, file), 'utf8');
      bytes += Buffer.byteLength(text);
      // Manifests are parsed back into objects; the summary and the CI templates are plain text.
      return [file, file.endsWith('.yaml') ? parse(text) : text];
    });
    const floorInput = path.join(scratch, 'floor-input.json');
    fs.writeFileSync(floorInput, JSON.stringify(objects));

    const synth: Run[] = [];
    const single: Run[] = [];
    const resynth: Run[] = [];
    const floor: { wall: number; cpu: number; rssMb: number }[] = [];
    let floorBytes = 0;
    for (let r = 0; r < options.runs; r++) {
      fs.rmSync(dist, { recursive: true, force: true });
      synth.push(runNode(synthArgs, ROOT, scratch));
      resynth.push(runNode(synthArgs, ROOT, scratch));
      fs.rmSync(dist, { recursive: true, force: true });
      single.push(runNode([...synthArgs, '--jobs', '1'], ROOT, scratch));

      fs.rmSync(floorOut, { recursive: true, force: true });
      const run = runNode([FLOOR, floorInput, floorOut], ROOT, scratch);
      const report = JSON.parse(run.stdout) as { inputMs: number; objects: number; bytes: number };
      if (report.objects !== files.length) throw new Error(`floor wrote ${report.objects} objects, synth ${files.length}`);
      floorBytes = report.bytes;
      floor.push({ wall: run.wall - report.inputMs / 1000, cpu: run.cpu - report.inputMs / 1000, rssMb: run.rssMb });
    }
    const after = listFiles(dist);
    if (after.length !== files.length) throw new Error(`synth wrote ${after.length} files on a later run, ${files.length} on the first`);
    return {
      tenants,
      objects: files.length,
      bytes,
      synth: summarize(synth),
      single: summarize(single),
      resynth: summarize(resynth),
      floor: summarize(floor),
      floorBytes,
    };
  } finally {
    if (options.keep) console.error(`kept ${scratch}`);
    else fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The two example tenants, synthesized over a copy of the committed dist/: start-up cost. */
function benchExample(options: Options): Summary {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-bench-example-'));
  try {
    const dist = path.join(scratch, 'dist');
    fs.cpSync(path.join(ROOT, 'dist'), dist, { recursive: true });
    const runs: Run[] = [];
    for (let r = 0; r < options.runs; r++) runs.push(runNode([SYNTH, '--config', 'config', '--out', dist], ROOT, scratch));
    return summarize(runs);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'} (os.cpus(); \`nproc\` may differ under a CPU quota: ${nproc()})`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`,
    `- Node ${process.version}, ${os.type()} ${os.release()}`,
    `- Peak RSS from ${fs.existsSync(TIME) ? '`/usr/bin/time -f %M`' : 'process.resourceUsage().maxRSS in the child'}`,
  ];
}

function nproc(): string {
  const result = spawnSync('nproc', { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

const s = (seconds: number) => `${seconds.toFixed(2)} s`;
const mb = (value: number) => `${value.toFixed(0)} MB`;

function markdown(rows: Row[], example: Summary, options: Options, date: string, load: string[]): string {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const lines = [
    '# Benchmark results',
    '',
    `\`npm run bench -- --sizes ${options.sizes.join(',')} --runs ${options.runs}\`, ${date}. Wall and CPU times are medians of ${options.runs} runs`,
    'of the whole process; peak RSS is the largest of those runs. What is measured: bench/README.md.',
    '',
    ...machine(),
    `- Load average (1, 5, 15 min) at start: ${load[0]}; at end: ${load[1]}. Other work on the machine inflates wall times; the`,
    '  synth and floor runs are interleaved, so their ratio suffers least.',
    '',
    '| tenants | objects | MB written | synth | floor | synth / floor | growth synth | growth floor | synth --jobs 1 (/ floor) | re-synth | CPU synth / floor | peak RSS synth / floor |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  rows.forEach((row, i) => {
    const prev = rows[i - 1];
    const growth = (now: number, before?: number) => (before ? `${(now / before).toFixed(2)}× (N ×${(row.tenants / prev!.tenants).toFixed(0)})` : '–');
    const rss = Math.max(row.synth.rssMb, row.resynth.rssMb);
    lines.push(
      `| ${row.tenants} | ${row.objects} | ${(row.bytes / 1e6).toFixed(1)} | ${s(row.synth.wall)} | ${s(row.floor.wall)} | **${ratio(row.synth.wall, row.floor.wall)}** | ` +
        `${growth(row.synth.wall, prev?.synth.wall)} | ${growth(row.floor.wall, prev?.floor.wall)} | ${s(row.single.wall)} (${ratio(row.single.wall, row.floor.wall)}) | ` +
        `${s(row.resynth.wall)} | ${s(row.synth.cpu)} / ${s(row.floor.cpu)} | ${mb(rss)} / ${mb(row.floor.rssMb)} |`,
    );
  });
  lines.push(
    '',
    '- synth: `node build/synth.js --config <generated> --out <empty>` (default `--jobs`: one worker thread per core from 250 tenants on).',
    '- floor: the same objects and bytes, written one file per object with the `yaml` package alone (bench/floor.ts).',
    '- re-synth: synth again over its own output (the everyday case: dist/ is committed and unchanged).',
    '',
    `Example configuration (2 tenants, \`node build/synth.js\` over a copy of the committed dist/): **${s(example.wall)}** wall, peak RSS ${mb(example.rssMb)}.`,
    '',
    'Every run, wall seconds (synth / synth --jobs 1 / re-synth / floor):',
    '',
    ...rows.map((r) => `- ${r.tenants}: ${[r.synth, r.single, r.resynth, r.floor].map((x) => x.walls.map((w) => w.toFixed(2)).join(' ')).join(' / ')}`),
    '',
    rows.every((r) => r.bytes === r.floorBytes) ? 'The floor wrote exactly the bytes the synth wrote at every N.' : `Floor bytes: ${rows.map((r) => `${r.tenants}: ${r.floorBytes}`).join(', ')} (synth bytes in the table).`,
    '',
    '![time vs N](results.svg)',
    '',
  );
  return lines.join('\n');
}

/** A small line chart, time vs N, synth and floor; plain SVG text. */
function svg(rows: Row[]): string {
  const width = 640;
  const height = 400;
  const m = { left: 60, right: 150, top: 30, bottom: 50 };
  const maxN = Math.max(...rows.map((r) => r.tenants));
  const maxT = Math.max(...rows.flatMap((r) => [r.synth.wall, r.single.wall, r.floor.wall, r.resynth.wall])) * 1.1;
  const x = (n: number) => m.left + (n / maxN) * (width - m.left - m.right);
  const y = (t: number) => height - m.bottom - (t / maxT) * (height - m.top - m.bottom);
  const series = [
    { label: 'synth', color: '#d62728', pick: (r: Row) => r.synth.wall },
    { label: 'synth --jobs 1', color: '#9467bd', pick: (r: Row) => r.single.wall },
    { label: 're-synth', color: '#ff7f0e', pick: (r: Row) => r.resynth.wall },
    { label: 'floor (yaml only)', color: '#1f77b4', pick: (r: Row) => r.floor.wall },
  ];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2 - 60}" y="18" font-size="14">Wall time vs tenants</text>`,
    `<line x1="${m.left}" y1="${y(0)}" x2="${x(maxN)}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${y(0)}" x2="${m.left}" y2="${m.top}" stroke="black"/>`,
    `<text x="${(m.left + x(maxN)) / 2 - 20}" y="${height - 12}">tenants</text>`,
    `<text x="14" y="${(m.top + y(0)) / 2}" transform="rotate(-90 14 ${(m.top + y(0)) / 2})">seconds</text>`,
  ];
  for (const r of rows) {
    out.push(`<line x1="${x(r.tenants)}" y1="${y(0)}" x2="${x(r.tenants)}" y2="${y(0) + 5}" stroke="black"/>`);
    out.push(`<text x="${x(r.tenants)}" y="${y(0) + 18}" text-anchor="middle">${r.tenants}</text>`);
  }
  const step = maxT > 20 ? 5 : maxT > 8 ? 2 : maxT > 3 ? 1 : 0.5;
  for (let t = 0; t <= maxT; t += step) {
    out.push(`<line x1="${m.left - 5}" y1="${y(t)}" x2="${x(maxN)}" y2="${y(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 8}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  series.forEach((serie, i) => {
    const points = rows.map((r) => `${x(r.tenants).toFixed(1)},${y(serie.pick(r)).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${points}" fill="none" stroke="${serie.color}" stroke-width="2"/>`);
    for (const r of rows) out.push(`<circle cx="${x(r.tenants).toFixed(1)}" cy="${y(serie.pick(r)).toFixed(1)}" r="3" fill="${serie.color}"/>`);
    const ly = m.top + 10 + i * 20;
    out.push(`<line x1="${width - m.right + 15}" y1="${ly}" x2="${width - m.right + 35}" y2="${ly}" stroke="${serie.color}" stroke-width="2"/>`);
    out.push(`<text x="${width - m.right + 40}" y="${ly + 4}">${serie.label}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  for (const file of [SYNTH, FLOOR]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run node scripts/build.mjs && node bench/build.mjs`);
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(', ');
  const load = [loadAverage()];

  const example = benchExample(options);
  console.log(`example (2 tenants): ${s(example.wall)}, ${mb(example.rssMb)}`);
  const rows: Row[] = [];
  for (const tenants of options.sizes) {
    const row = benchSize(tenants, options);
    rows.push(row);
    console.log(`${tenants} tenants: synth ${s(row.synth.wall)} (${mb(row.synth.rssMb)}), --jobs 1 ${s(row.single.wall)}, re-synth ${s(row.resynth.wall)}, ` +
      `floor ${s(row.floor.wall)} (${mb(row.floor.rssMb)}), ratio ${(row.synth.wall / row.floor.wall).toFixed(2)}×, load ${loadAverage()}`);
  }

  load.push(loadAverage());
  fs.mkdirSync(options.results, { recursive: true });
  const md = markdown(rows, example, options, date, load);
  fs.writeFileSync(path.join(options.results, 'results.md'), md);
  fs.writeFileSync(path.join(options.results, 'results.svg'), svg(rows));
  fs.writeFileSync(path.join(options.results, 'results.json'), `${JSON.stringify({ date, options, machine: machine(), load, example, rows }, null, 2)}\n`);
  console.log(`\n${md}`);
  console.log(`written to ${path.relative(process.cwd(), options.results) || '.'}/results.{md,svg,json}`);
}

main();
