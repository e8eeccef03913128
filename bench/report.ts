/**
 * The benchmark's report: the targets of the performance issue (met / missed), results.md and
 * the SVG chart (time and peak RSS vs tenants, log-scale N). No absolute path of the machine is
 * written: options.results is relative to the repository.
 */
import type { Summary } from './measure';

export interface Options {
  sizes: number[];
  runs: number;
  largeRuns: number;
  floorMax: number;
  singleMax: number;
  underLoad: number;
  loadRuns: number;
  exampleRuns: number;
  /** Relative to the repository root. */
  results: string;
  keep: boolean;
}

export interface Row {
  tenants: number;
  runs: number;
  objects: number;
  bytes: number;
  synth: Summary;
  /** `--jobs 1`; absent above --single-max. */
  single?: Summary;
  resynth: Summary;
  /** Absent above --floor-max. */
  floor?: Summary;
  floorBytes?: number;
  /** Whether each tree equals the first fresh synth's (SHA-256 over all files); undefined when not run. */
  identical: { hash: string; fresh: boolean; resynth: boolean; single?: boolean; floor?: boolean };
  /** Load average (1, 5, 15 min) before and after this N. */
  load: [string, string];
}

export interface LoadRow {
  tenants: number;
  burners: number;
  runs: number;
  synth: Summary;
  single: Summary;
  floor?: Summary;
  load: [string, string];
}

export interface Example {
  direct: Summary;
  npm: Summary;
  cdk8s: Summary;
  /**
   * `npx cdk8s --version`: the cdk8s CLI starting (npx, then the CLI loading all its commands) and
   * exiting without running the app, the part of `npx cdk8s synth` that is not ours.
   */
  cliAlone: Summary;
  /** Wall seconds of one run each (direct, npm, cdk8s) without the synth cache. */
  cold: [number, number, number];
  /** Load average before → after. */
  load: string;
  /** The copy of dist/ is byte-identical to the committed one after the runs. */
  unchanged: boolean;
}

export interface Check {
  target: string;
  measured: string;
  met: boolean | undefined;
  load: string;
  note?: string;
}

/** Peak RSS may grow with N by at most this much per output file: an index entry, never the file's content. */
export const INDEX_KB_PER_FILE = 0.5;

const x2 = (v: number) => `${v.toFixed(2)}×`;
const sec = (v: number) => `${v.toFixed(2)} s`;
const mb = (v: number) => `${v.toFixed(0)} MB`;

/** Peak RSS slope between the smallest N ≥ 1,000 and the largest N, in KB per tenant and per file. */
export function rssSlope(rows: readonly Row[], pick: (r: Row) => number | undefined): { from: number; to: number; kbPerTenant: number; kbPerFile: number } | undefined {
  const big = rows.filter((r) => r.tenants >= 1000 && pick(r) !== undefined);
  if (big.length < 2) return undefined;
  const a = big[0];
  const b = big[big.length - 1];
  const kbPerTenant = ((pick(b)! - pick(a)!) * 1024) / (b.tenants - a.tenants);
  const filesPerTenant = (b.objects - a.objects) / (b.tenants - a.tenants);
  return { from: a.tenants, to: b.tenants, kbPerTenant, kbPerFile: kbPerTenant / filesPerTenant };
}

export function targets(rows: readonly Row[], underLoad: LoadRow | undefined, example: Example | undefined): Check[] {
  const checks: Check[] = [];
  const at = (n: number) => rows.find((r) => r.tenants === n);
  const r2 = at(2000);
  const r1 = at(1000);
  const loadOf = (r?: Row) => (r ? `${r.load[0]} → ${r.load[1]}` : '');
  const missing = (target: string) => checks.push({ target, measured: 'not measured', met: undefined, load: '' });
  if (r2?.floor) {
    const ratio = r2.synth.wall / r2.floor.wall;
    checks.push({ target: '2,000 tenants: synth ≤ 1.5× floor', measured: `${x2(ratio)} (${sec(r2.synth.wall)} / ${sec(r2.floor.wall)})`, met: ratio <= 1.5, load: loadOf(r2) });
  } else missing('2,000 tenants: synth ≤ 1.5× floor');
  if (r2?.floor && r2.single) {
    const ratio = r2.single.wall / r2.floor.wall;
    checks.push({ target: '2,000 tenants: synth --jobs 1 ≤ 2× floor', measured: `${x2(ratio)} (${sec(r2.single.wall)} / ${sec(r2.floor.wall)})`, met: ratio <= 2, load: loadOf(r2) });
  } else missing('2,000 tenants: synth --jobs 1 ≤ 2× floor');
  if (r1 && r2) {
    const growth = r2.synth.wall / r1.synth.wall;
    checks.push({ target: 'growth 2,000 / 1,000 tenants ≤ 2.1', measured: `${x2(growth)} (${sec(r2.synth.wall)} / ${sec(r1.synth.wall)})`, met: growth <= 2.1, load: `${r1.load[0]} → ${r2.load[1]}` });
  } else missing('growth 2,000 / 1,000 tenants ≤ 2.1');
  if (r2) {
    const modes: [string, number | undefined][] = [['synth', r2.synth.rssMb], ['--jobs 1', r2.single?.rssMb], ['re-synth', r2.resynth.rssMb]];
    const worst = Math.max(...modes.map(([, v]) => v ?? 0));
    checks.push({
      target: 'peak RSS ≤ 250 MB at 2,000 tenants (every mode)',
      measured: modes.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${mb(v!)}`).join(', '),
      met: worst <= 250,
      load: loadOf(r2),
    });
  } else missing('peak RSS ≤ 250 MB at 2,000 tenants');
  const slopes: [string, ReturnType<typeof rssSlope>][] = [
    ['synth', rssSlope(rows, (r) => r.synth.rssMb)],
    ['--jobs 1', rssSlope(rows, (r) => r.single?.rssMb)],
    ['re-synth', rssSlope(rows, (r) => r.resynth.rssMb)],
  ];
  const measuredSlopes = slopes.filter(([, s]) => s) as [string, NonNullable<ReturnType<typeof rssSlope>>][];
  if (measuredSlopes.length > 0) {
    checks.push({
      target: `peak RSS grows by ≤ ${INDEX_KB_PER_FILE} KB per output file (an index entry, not the content)`,
      measured: measuredSlopes.map(([k, s]) => `${k} ${s.kbPerFile.toFixed(2)} KB/file (${s.kbPerTenant.toFixed(1)} KB/tenant, ${s.from}→${s.to})`).join('; '),
      met: measuredSlopes.every(([, s]) => s.kbPerFile <= INDEX_KB_PER_FILE),
      load: `${rows[0].load[0]} → ${rows[rows.length - 1].load[1]}`,
      note: `a file's content averages ${((rows[rows.length - 1].bytes / rows[rows.length - 1].objects) / 1024).toFixed(2)} KB`,
    });
  } else missing('peak RSS growth per file');
  if (r2?.floor) {
    const ratio = r2.resynth.wall / r2.floor.wall;
    checks.push({ target: '2,000 tenants: re-synth (nothing changed) ≤ 1.0× floor', measured: `${x2(ratio)} (${sec(r2.resynth.wall)} / ${sec(r2.floor.wall)})`, met: ratio <= 1.0, load: loadOf(r2) });
  } else missing('2,000 tenants: re-synth ≤ 1.0× floor');
  const identical = rows.every((r) => r.identical.fresh && r.identical.resynth && r.identical.single !== false && r.identical.floor !== false);
  checks.push({
    target: 're-synth output byte-identical to the fresh synth (and --jobs 1, floor), every N',
    measured: rows.map((r) => `${r.tenants}: ${r.identical.resynth && r.identical.fresh ? 'same' : 'DIFFERENT'}${r.identical.single === false ? ' (--jobs 1 DIFFERENT)' : ''}${r.identical.floor === false ? ' (floor DIFFERENT)' : ''}`).join(', '),
    met: identical,
    load: '',
  });
  if (example) {
    checks.push({
      target: 'example: `npm run synth` ≤ 1 s',
      measured: `${sec(example.npm.wall)} (without the synth cache ${sec(example.cold[1])}; the launcher alone, node scripts/run.mjs synth: ${sec(example.direct.wall)})`,
      met: example.npm.wall <= 1,
      load: example.load,
    });
    checks.push({
      target: 'example: `npx cdk8s synth` ≤ 1.5 s',
      measured:
        `${sec(example.cdk8s.wall)} (without the synth cache ${sec(example.cold[2])}); of which the cdk8s CLI's own start, ` +
        `\`npx cdk8s --version\` (no app run): ${sec(example.cliAlone.wall)}`,
      met: example.cdk8s.wall <= 1.5,
      load: example.load,
      note: example.cliAlone.wall > 1.5 ? 'the CLI alone, before it runs the app, takes longer than the target' : undefined,
    });
  } else {
    missing('example: `npm run synth` ≤ 1 s');
    missing('example: `npx cdk8s synth` ≤ 1.5 s');
  }
  if (underLoad?.floor) {
    const ratio = underLoad.synth.wall / underLoad.floor.wall;
    const single = underLoad.single.wall / underLoad.floor.wall;
    checks.push({
      target: `under load (${underLoad.burners} busy loops), ${underLoad.tenants.toLocaleString('en')} tenants: synth ≤ 1.5× and --jobs 1 ≤ 2× floor`,
      measured: `${x2(ratio)} and ${x2(single)} (${sec(underLoad.synth.wall)}, ${sec(underLoad.single.wall)} / ${sec(underLoad.floor.wall)})`,
      met: ratio <= 1.5 && single <= 2,
      load: `${underLoad.load[0]} → ${underLoad.load[1]}`,
    });
  }
  return checks;
}

export interface Report {
  rows: Row[];
  underLoad?: LoadRow;
  example?: Example;
  options: Options;
  date: string;
  load: string[];
  minutes: number;
  machine: string[];
  checks: Check[];
}

export function markdown(report: Report): string {
  const { rows, underLoad, example, options, date, load, machine, checks } = report;
  const ratio = (a: number, b?: number) => (b ? x2(a / b) : '–');
  const opt = (s?: Summary) => (s ? sec(s.wall) : '–');
  const lines = [
    '# Benchmark results',
    '',
    `\`npm run bench -- --sizes ${options.sizes.join(',')} --runs ${options.runs} --large-runs ${options.largeRuns} --floor-max ${options.floorMax} ` +
      `--single-max ${options.singleMax} --under-load ${options.underLoad} --load-runs ${options.loadRuns} --example-runs ${options.exampleRuns}\`, ${date}, ` +
      `${report.minutes.toFixed(1)} minutes. Wall and CPU times are medians of ${options.runs} runs per N up to 2,000 tenants and ${options.largeRuns} above;`,
    'peak RSS is the largest of those runs (`/usr/bin/time -f %M`). What is measured: bench/README.md.',
    '',
    ...machine.map((m) => `- ${m}`),
    `- Load average (1, 5, 15 min) at start: ${load[0]}; at end: ${load[1]}; per N in the last column.`,
    '',
    '## Targets',
    '',
    '| target | measured | | load average (1, 5, 15 min) |',
    '|---|---|---|---|',
    ...checks.map((c) => `| ${c.target} | ${c.measured}${c.note ? `; ${c.note}` : ''} | **${c.met === undefined ? 'not measured' : c.met ? 'met' : 'MISSED'}** | ${c.load} |`),
    '',
    '## Time and memory per N',
    '',
    '| tenants | files | MB written | synth | --jobs 1 | re-synth | floor | synth / floor | --jobs 1 / floor | re-synth / floor | growth synth | growth floor | CPU synth / floor | peak RSS synth / --jobs 1 / re-synth / floor | load before → after |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  rows.forEach((row, i) => {
    const prev = rows[i - 1];
    const growth = (now?: number, before?: number) => (now && before ? `${x2(now / before)} (N ×${(row.tenants / prev!.tenants).toFixed(1).replace(/\.0$/, '')})` : '–');
    lines.push(
      `| ${row.tenants.toLocaleString('en')} | ${row.objects} | ${(row.bytes / 1e6).toFixed(1)} | ${sec(row.synth.wall)} | ${opt(row.single)} | ${sec(row.resynth.wall)} | ${opt(row.floor)} | ` +
        `**${ratio(row.synth.wall, row.floor?.wall)}** | ${row.single ? ratio(row.single.wall, row.floor?.wall) : '–'} | ${ratio(row.resynth.wall, row.floor?.wall)} | ` +
        `${growth(row.synth.wall, prev?.synth.wall)} | ${growth(row.floor?.wall, prev?.floor?.wall)} | ${sec(row.synth.cpu)} / ${row.floor ? sec(row.floor.cpu) : '–'} | ` +
        `${mb(row.synth.rssMb)} / ${row.single ? mb(row.single.rssMb) : '–'} / ${mb(row.resynth.rssMb)} / ${row.floor ? mb(row.floor.rssMb) : '–'} | ${row.load[0]} → ${row.load[1]} |`,
    );
  });
  lines.push(
    '',
    '- synth: `node scripts/run.mjs synth --config <generated> --out <empty>`, the whole command as `npm run synth` starts it (default `--jobs`: from 250 tenants on, one thread per core, the main thread and workers), without a synth cache; --jobs 1: the same, single-threaded.',
    '- re-synth: synth again over its own, unchanged output, with the synth cache the previous run left (the everyday case: dist/ is committed).',
    '- floor: the same objects and bytes, written one file per object with the `yaml` package alone (bench/floor.ts); the time to read its input is subtracted.',
    '- identical: SHA-256 over every file of the tree after each fresh synth, re-synth, --jobs 1 and floor run, compared with the first fresh synth.',
    '- between runs, the previous output tree is set aside with one rename and deleted only when the bench ends (a run right after deleting tens of thousands of files pays for the file system freeing them), and `sync` (untimed) writes what earlier runs left in the page cache to disk before each run (bench/README.md).',
    '',
  );
  if (underLoad) {
    lines.push(
      `## Under load: ${underLoad.burners} busy-loop processes (one per core) running throughout`,
      '',
      '| tenants | synth | --jobs 1 | floor | synth / floor | --jobs 1 / floor | same without load | load before → after |',
      '|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    const base = rows.find((r) => r.tenants === underLoad.tenants);
    lines.push(
      `| ${underLoad.tenants.toLocaleString('en')} | ${sec(underLoad.synth.wall)} | ${sec(underLoad.single.wall)} | ${opt(underLoad.floor)} | **${ratio(underLoad.synth.wall, underLoad.floor?.wall)}** | ` +
        `${ratio(underLoad.single.wall, underLoad.floor?.wall)} | ${base?.floor ? `${ratio(base.synth.wall, base.floor.wall)} / ${base.single ? ratio(base.single.wall, base.floor.wall) : '–'}` : '–'} | ${underLoad.load[0]} → ${underLoad.load[1]} |`,
      '',
      `Medians of ${underLoad.runs} runs; every run (synth / --jobs 1 / floor): ${[underLoad.synth, underLoad.single, underLoad.floor].map((x) => (x ? x.walls.map((w) => w.toFixed(2)).join(' ') : '–')).join(' / ')}.`,
      '',
    );
  }
  if (example) {
    lines.push(
      '## Example configuration (2 tenants), whole commands',
      '',
      'In a copy of the repository\'s config/ and dist/ (nothing changes: the copy of dist/ is ' +
        `${example.unchanged ? 'byte-identical to the committed one after the runs' : '**not** identical to the committed one after the runs'}); ` +
        '`npx cdk8s synth` with `CDK8S_CHECK_UPGRADE=false` (else the CLI asks the npm registry for a newer version on every run).',
      '',
      '| command | wall (median, synth cache warm) | every run | without the cache (one run) | peak RSS |',
      '|---|---:|---|---:|---:|',
      ...([['`node scripts/run.mjs synth`', example.direct, 0], ['`npm run synth`', example.npm, 1], ['`npx cdk8s synth`', example.cdk8s, 2]] as const).map(
        ([name, x, i]) => `| ${name} | ${sec(x.wall)} | ${x.walls.map((w) => w.toFixed(2)).join(' ')} | ${sec(example.cold[i])} | ${mb(x.rssMb)} |`,
      ),
      `| \`npx cdk8s --version\` (the CLI alone, no app) | ${sec(example.cliAlone.wall)} | ${example.cliAlone.walls.map((w) => w.toFixed(2)).join(' ')} | – | ${mb(example.cliAlone.rssMb)} |`,
      '',
    );
  }
  lines.push(
    'Every run, wall seconds (synth / --jobs 1 / re-synth / floor):',
    '',
    ...rows.map((r) => `- ${r.tenants}: ${[r.synth, r.single, r.resynth, r.floor].map((x) => (x ? x.walls.map((w) => w.toFixed(2)).join(' ') : '–')).join(' / ')}`),
    '',
    rows.every((r) => r.floorBytes === undefined || r.bytes === r.floorBytes)
      ? 'The floor wrote exactly the bytes the synth wrote at every N where it ran.'
      : `Floor bytes: ${rows.map((r) => `${r.tenants}: ${r.floorBytes}`).join(', ')} (synth bytes in the table).`,
    '',
    '![time and peak RSS vs tenants](results.svg)',
    '',
  );
  return lines.join('\n');
}

interface Serie {
  label: string;
  color: string;
  dash?: string;
  /** No point markers (a derived line, like the target). */
  plain?: boolean;
  pick: (r: Row) => number | undefined;
}

/** Two charts in one SVG: wall time (log-log) and peak RSS (log N) against tenants. */
export function svg(rows: readonly Row[], underLoad: LoadRow | undefined, date: string, load: readonly string[]): string {
  const width = 900;
  const panel = 340;
  const height = 2 * panel + 90;
  const m = { left: 70, right: 230, top: 50, bottom: 50 };
  const ns = rows.map((r) => r.tenants);
  const lx0 = Math.log10(Math.min(...ns)) - 0.15;
  const lx1 = Math.log10(Math.max(...ns)) + 0.15;
  const plotW = width - m.left - m.right;
  const x = (n: number) => m.left + ((Math.log10(n) - lx0) / (lx1 - lx0)) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="22" font-size="15" font-weight="bold">tenant-runners synth vs floor</text>`,
    `<text x="${m.left}" y="40" font-size="11" fill="#555">${date}; load average ${load[0]} at start, ${load[1] ?? ''} at end</text>`,
  ];
  const nLabel = (n: number) => n.toLocaleString('en');

  const drawPanel = (top: number, title: string, unit: string, y: (v: number) => number, ticks: number[], series: Serie[], extra: (y: (v: number) => number) => void) => {
    const bottom = top + panel - m.bottom;
    out.push(`<text x="${m.left}" y="${top - 8}" font-size="13" font-weight="bold">${title}</text>`);
    for (const t of ticks) {
      out.push(`<line x1="${m.left}" y1="${y(t).toFixed(1)}" x2="${m.left + plotW}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`);
      out.push(`<text x="${m.left - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
    }
    for (const n of ns) {
      out.push(`<line x1="${x(n).toFixed(1)}" y1="${top}" x2="${x(n).toFixed(1)}" y2="${bottom}" stroke="#f0f0f0"/>`);
      out.push(`<line x1="${x(n).toFixed(1)}" y1="${bottom}" x2="${x(n).toFixed(1)}" y2="${bottom + 5}" stroke="black"/>`);
      out.push(`<text x="${x(n).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${nLabel(n)}</text>`);
    }
    out.push(`<rect x="${m.left}" y="${top}" width="${plotW}" height="${bottom - top}" fill="none" stroke="black"/>`);
    out.push(`<text x="${m.left + plotW / 2}" y="${bottom + 38}" text-anchor="middle">tenants (log scale)</text>`);
    out.push(`<text x="18" y="${(top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + bottom) / 2})">${unit}</text>`);
    extra(y);
    series.forEach((serie, i) => {
      const pts = rows.filter((r) => serie.pick(r) !== undefined).map((r) => [x(r.tenants), y(serie.pick(r)!)] as const);
      if (pts.length > 1) {
        out.push(`<polyline points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}" fill="none" stroke="${serie.color}" stroke-width="2"${serie.dash ? ` stroke-dasharray="${serie.dash}"` : ''}/>`);
      }
      if (!serie.plain) for (const [a, b] of pts) out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${serie.color}"/>`);
      const ly = top + 12 + i * 20;
      const lx = m.left + plotW + 15;
      out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${serie.color}" stroke-width="2"${serie.dash ? ` stroke-dasharray="${serie.dash}"` : ''}/>`);
      if (!serie.plain) out.push(`<circle cx="${lx + 12}" cy="${ly}" r="3.5" fill="${serie.color}"/>`);
      out.push(`<text x="${lx + 30}" y="${ly + 4}">${serie.label}</text>`);
    });
    return { legendNext: top + 12 + series.length * 20, bottom };
  };

  // Time: log-log.
  const times = rows.flatMap((r) => [r.synth.wall, r.single?.wall, r.resynth.wall, r.floor?.wall, r.floor ? r.floor.wall * 1.5 : undefined]).filter((v): v is number => v !== undefined);
  if (underLoad) times.push(underLoad.synth.wall, underLoad.single.wall, ...(underLoad.floor ? [underLoad.floor.wall] : []));
  const ly0 = Math.log10(Math.min(...times)) - 0.1;
  const ly1 = Math.log10(Math.max(...times)) + 0.1;
  const top1 = m.top + 20;
  const bottom1 = top1 + panel - m.bottom;
  const yT = (v: number) => bottom1 - ((Math.log10(v) - ly0) / (ly1 - ly0)) * (bottom1 - top1);
  const tTicks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].filter((t) => Math.log10(t) >= ly0 && Math.log10(t) <= ly1);
  const timeSeries: Serie[] = [
    { label: 'synth (default --jobs)', color: '#d62728', pick: (r) => r.synth.wall },
    { label: 'synth --jobs 1', color: '#9467bd', dash: '6 3', pick: (r) => r.single?.wall },
    { label: 're-synth (no change)', color: '#ff7f0e', pick: (r) => r.resynth.wall },
    { label: 'floor (yaml only)', color: '#1f77b4', pick: (r) => r.floor?.wall },
    { label: '1.5 × floor (target)', color: '#1f77b4', dash: '2 3', plain: true, pick: (r) => (r.floor ? r.floor.wall * 1.5 : undefined) },
  ];
  const p1 = drawPanel(top1, 'Wall time of the whole process (median)', 'seconds (log scale)', yT, tTicks, timeSeries, () => undefined);
  if (underLoad) {
    const lx = m.left + plotW + 15;
    const marks: [string, string, number | undefined][] = [
      ['synth, under load', '#d62728', underLoad.synth.wall],
      ['--jobs 1, under load', '#9467bd', underLoad.single.wall],
      ['floor, under load', '#1f77b4', underLoad.floor?.wall],
    ];
    marks.forEach(([label, color, v], i) => {
      if (v === undefined) return;
      // Side by side (synth, --jobs 1, floor), so equal times do not hide each other.
      const mx = x(underLoad.tenants) + (i - 1) * 9;
      out.push(`<rect x="${(mx - 4).toFixed(1)}" y="${(yT(v) - 4).toFixed(1)}" width="8" height="8" fill="white" stroke="${color}" stroke-width="2"/>`);
      const ly = p1.legendNext + i * 20;
      out.push(`<rect x="${lx + 8}" y="${ly - 4}" width="8" height="8" fill="white" stroke="${color}" stroke-width="2"/>`);
      out.push(`<text x="${lx + 30}" y="${ly + 4}">${label}</text>`);
    });
    out.push(`<text x="${lx}" y="${p1.legendNext + marks.length * 20 + 4}" font-size="11" fill="#555">(${underLoad.burners} busy loops, ${nLabel(underLoad.tenants)} tenants)</text>`);
  }

  // Peak RSS: log N, linear MB.
  const rss = rows.flatMap((r) => [r.synth.rssMb, r.single?.rssMb, r.resynth.rssMb, r.floor?.rssMb]).filter((v): v is number => v !== undefined);
  const maxR = Math.max(250, ...rss) * 1.1;
  const top2 = top1 + panel + 10;
  const bottom2 = top2 + panel - m.bottom;
  const yR = (v: number) => bottom2 - (v / maxR) * (bottom2 - top2);
  const step = maxR > 1500 ? 250 : maxR > 600 ? 100 : 50;
  const rTicks: number[] = [];
  for (let t = 0; t <= maxR; t += step) rTicks.push(t);
  const rssSeries: Serie[] = [
    { label: 'synth (default --jobs)', color: '#d62728', pick: (r) => r.synth.rssMb },
    { label: 'synth --jobs 1', color: '#9467bd', dash: '6 3', pick: (r) => r.single?.rssMb },
    { label: 're-synth (no change)', color: '#ff7f0e', pick: (r) => r.resynth.rssMb },
    { label: 'floor (yaml only)', color: '#1f77b4', pick: (r) => r.floor?.rssMb },
  ];
  drawPanel(top2, 'Peak RSS of the whole process (largest run)', 'MB', yR, rTicks, rssSeries, (y) => {
    out.push(`<line x1="${m.left}" y1="${y(250).toFixed(1)}" x2="${m.left + plotW}" y2="${y(250).toFixed(1)}" stroke="#888" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${m.left + plotW - 6}" y="${(y(250) - 6).toFixed(1)}" fill="#555" text-anchor="end">250 MB target at 2,000 tenants</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
