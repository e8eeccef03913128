/**
 * Synthesizing many tenants at once (in one thread or in worker threads) changes nothing: the
 * files are byte for byte those of each tenant synthesized alone, and a failing tenant still
 * fails the whole synth, named. Speed is measured by `npm run bench`, never asserted here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tenantName, writeConfig } from '../../bench/generate';
import { runSynth } from '../../lib/cli/synth';
import { loadClusters, loadConfig } from '../../lib/config/load';
import type { LoadedConfig } from '../../lib/model/resolve';
import type { TenantConfig } from '../../lib/model/resolve';
import { OutputFile, synthesize, synthesizeClusters, synthesizeToDirectory } from '../../lib/synth/engine';
import { StagedWriter } from '../../lib/synth/staged-writer';
import { OnDemandWorkers, SynthWorkers } from '../../lib/synth/workers';
import { RemovalRefusedError } from '../../lib/synth/engine';
import { buildWorker, fileMap, readTreeMap, ROOT, tempDir } from './support';

const TENANTS = 50;
let dir: string;
let configDir: string;
let config: LoadedConfig;
let alone: Map<string, string>;
let workerFile: string;

beforeAll(() => {
  dir = tempDir('scale');
  configDir = path.join(dir, 'config');
  writeConfig(configDir, TENANTS);
  config = loadConfig(configDir);
  // Each tenant's own files (its folder and CI template) when it is synthesized alone.
  alone = new Map();
  for (const tenant of config.tenants) {
    for (const file of tenantFiles(synthesize({ platform: config.platform, tenants: [tenant] }))) alone.set(file.path, file.content);
  }
  workerFile = buildWorker(dir);
});

/** The files that belong to a tenant (its folder with its README.md, and CI template), not the cluster-level ones. */
function tenantFiles(files: readonly OutputFile[]): OutputFile[] {
  return files.filter((f) => f.unit !== undefined);
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of the configuration where the given tenants carry a quantity no construct can parse. */
function withBrokenTenants(indexes: number[]): LoadedConfig {
  const tenants = config.tenants.map((t, i) => {
    if (!indexes.includes(i)) return t;
    const copy = JSON.parse(JSON.stringify(t)) as TenantConfig;
    copy.runners[0].resources.build.limits.memory = 'lots';
    return copy;
  });
  return { platform: config.platform, tenants };
}

describe('a generated configuration of 50 tenants', () => {
  test('loads without problems: 50 tenants, 16 objects (the PrometheusRule included), a CI template and a README.md summary each', () => {
    expect(config.tenants.map((t) => t.name)).toEqual(Array.from({ length: TENANTS }, (_, i) => tenantName(i)));
    expect(alone.size).toBe(TENANTS * 18);
  });

  test('synthesized at once, gives the files of every tenant synthesized alone, byte for byte, sorted by path', () => {
    const files = synthesize(config);
    expect(fileMap(tenantFiles(files))).toEqual(alone);
    expect(tenantFiles(files).map((f) => f.path)).toEqual([...alone.keys()].sort());
  });

  test.each([
    ['3 worker threads answering every 7 tenants', 3, 7, false],
    ['this thread and 2 workers answering every 4 tenants (the synth command\'s way)', 2, 4, true],
  ])('synthesized by %s, gives the same files in the same order', (_label, count, batch, thisThreadToo) => {
    const workers = SynthWorkers.start(count, TENANTS, { workerFile, batch, thisThreadToo });
    expect(workers).toBeDefined();
    try {
      const handedOn: OutputFile[] = [];
      const outputs = workers!.synthesize(config, '', (answers) => handedOn.push(...answers.flatMap((o) => o.files)));
      expect(outputs.map((o) => o.delivered.name)).toEqual(config.tenants.map((t) => t.name));
      expect(fileMap(handedOn)).toEqual(alone);
      // Files are handed on, not kept.
      expect(outputs.flatMap((o) => o.files)).toEqual([]);
      // Put together, the same dist/ as in one thread, in the same order.
      expect(synthesizeClusters([config], workers)).toEqual(synthesize(config));
    } finally {
      workers!.close();
    }
  });

  test('OnDemandWorkers start workers only once enough tenants are to be synthesized, with the same files either way', () => {
    let starts = 0;
    const start = () => {
      starts++;
      return SynthWorkers.start(1, TENANTS, { workerFile, thisThreadToo: true });
    };
    const few = new OnDemandWorkers(start, TENANTS + 1);
    const many = new OnDemandWorkers(start, TENANTS);
    try {
      expect(synthesizeClusters([config], few)).toEqual(synthesize(config));
      expect(few.started).toBe(false);
      expect(starts).toBe(0);
      expect(synthesizeClusters([config], many)).toEqual(synthesize(config));
      expect(synthesizeClusters([config], many)).toEqual(synthesize(config));
      expect(many.started).toBe(true);
      // Started once, then reused.
      expect(starts).toBe(1);
    } finally {
      few.close();
      many.close();
    }
  });

  test('the synth command writes exactly these files to the output directory', () => {
    const out = path.join(dir, 'dist');
    const lines: string[] = [];
    const code = runSynth(['--config', configDir, '--out', out], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(new RegExp(`${synthesize(config).length} files for 50 tenants`));
    expect(code).toBe(0);
    expect(readTreeMap(out)).toEqual(fileMap(synthesize(config)));
  });

  test('fails when one tenant makes a construct throw, naming that tenant', () => {
    expect(() => synthesize(withBrokenTenants([31]))).toThrow(/^tenant 't000031' \(.*t000031\.yaml\): not a Kubernetes quantity: 'lots'/);
  });

  // With this thread and 2 workers, tenants 2, 5, 8, 11, … are this thread's share: 11 fails here, 31 and 44 in workers.
  test.each([
    [1, false, [12, 31, 44], 't000012'],
    [3, false, [12, 31, 44], 't000012'],
    [2, true, [12, 31, 44], 't000012'],
    [2, true, [11, 31, 44], 't000011'],
    [2, true, [47, 30, 49], 't000030'],
  ])('fails in %i worker thread(s) (this thread too: %s; broken: %j) with the first failing tenant, %s, in configuration order', (jobs, thisThreadToo, brokenAt, first) => {
    const broken = withBrokenTenants(brokenAt);
    expect(() => synthesize(broken)).toThrow(new RegExp(`^tenant '${first}'`));
    const workers = SynthWorkers.start(jobs, TENANTS, { workerFile, batch: 5, thisThreadToo });
    try {
      expect(() => workers!.synthesize(broken, '', () => undefined)).toThrow(new RegExp(`^tenant '${first}' \\(.*\\): not a Kubernetes quantity: 'lots'`));
    } finally {
      workers!.close();
    }
  });
});

describe('synthesizeToDirectory with workers (files staged while they go on)', () => {
  const noStaging = (out: string) => fs.readdirSync(path.dirname(out)).filter((name) => name.startsWith(`.${path.basename(out)}-`));

  test('writes exactly the files of every tenant synthesized alone', () => {
    const out = path.join(dir, 'dist-workers');
    const workers = SynthWorkers.start(2, TENANTS, { workerFile, batch: 9 })!;
    try {
      const { files, result } = synthesizeToDirectory([config], out, { synthesizer: workers });
      expect(files).toBe(synthesize(config).length);
      expect(result.added).toHaveLength(TENANTS);
      expect(readTreeMap(out)).toEqual(fileMap(synthesize(config)));
      expect(noStaging(out)).toEqual([]);
    } finally {
      workers.close();
    }
  });

  test('over an existing output, workers stage only what differs and the main thread receives paths, no contents', () => {
    const out = path.join(dir, 'dist-update');
    const workers = SynthWorkers.start(2, TENANTS, { workerFile, batch: 4 })!;
    const add = jest.spyOn(StagedWriter.prototype, 'add');
    try {
      synthesizeToDirectory([config], out, { synthesizer: workers });
      // t000003 is new again, t000005 was edited by hand, the others are as synthesized.
      fs.rmSync(path.join(out, 't000003'), { recursive: true });
      const edited = path.join(out, 't000005', 'namespace-t000005.yaml');
      fs.writeFileSync(edited, 'edited');
      const untouched = path.join(out, 't000007', 'namespace-t000007.yaml');
      fs.utimesSync(untouched, new Date(0), new Date(0));
      add.mockClear();
      const { result } = synthesizeToDirectory([config], out, { synthesizer: workers });
      expect(result.added).toEqual(['t000003']);
      expect(result.changed).toEqual(['t000005']);
      expect(result.unchanged).toHaveLength(TENANTS - 2);
      expect(readTreeMap(out)).toEqual(fileMap(synthesize(config)));
      // An unchanged file is not written again.
      expect(fs.statSync(untouched).mtimeMs).toBe(0);
      // Only the cluster-level files (delivery objects, summary) reach the main thread's writer with contents.
      const handed = add.mock.calls.flatMap(([files]) => files.map((f) => f.path));
      expect(handed).toContain('README.md');
      expect(handed.filter((file) => /^(ci\/)?t\d{6}\//.test(file))).toEqual([]);
      expect(noStaging(out)).toEqual([]);
    } finally {
      add.mockRestore();
      workers.close();
    }
  });

  test('fails when a tenant fails, and leaves the output directory and no staging directory behind', () => {
    const out = path.join(dir, 'dist-failing');
    fs.mkdirSync(path.join(out, 't000000'), { recursive: true });
    fs.writeFileSync(path.join(out, 't000000', 'marker.yaml'), 'old');
    const workers = SynthWorkers.start(2, TENANTS, { workerFile, batch: 3 })!;
    try {
      expect(() => synthesizeToDirectory([withBrokenTenants([40])], out, { synthesizer: workers })).toThrow(/^tenant 't000040'/);
    } finally {
      workers.close();
    }
    expect(readTreeMap(out)).toEqual(new Map([['t000000/marker.yaml', 'old']]));
    expect(noStaging(out)).toEqual([]);
  });

  test('fails when a tenant would be removed, and changes nothing', () => {
    const out = path.join(dir, 'dist-removal');
    fs.mkdirSync(path.join(out, 'gone'), { recursive: true });
    fs.writeFileSync(path.join(out, 'gone', 'namespace-gone.yaml'), 'old');
    const workers = SynthWorkers.start(2, TENANTS, { workerFile })!;
    try {
      expect(() => synthesizeToDirectory([config], out, { synthesizer: workers })).toThrow(RemovalRefusedError);
    } finally {
      workers.close();
    }
    expect(readTreeMap(out)).toEqual(new Map([['gone/namespace-gone.yaml', 'old']]));
    expect(noStaging(out)).toEqual([]);
  });
});

describe('prefetch: workers start on tenants while the configuration loads', () => {
  const noStaging = (out: string) => fs.readdirSync(path.dirname(out)).filter((name) => name.startsWith(`.${path.basename(out)}-`));

  test('every tenant loaded is synthesized once, by whichever thread, and the output is that of one thread', () => {
    const workers = SynthWorkers.start(1, TENANTS, { workerFile, batch: 3, thisThreadToo: true })!;
    try {
      const loaded = loadConfig(configDir, { onTenant: workers.prefetch(undefined) });
      expect(workers.prefetchedCount).toBe(TENANTS);
      expect(synthesizeClusters([loaded], workers)).toEqual(synthesize(config));
      // Every prefetched tenant was asked for by its own object, none synthesized a second time.
      expect(workers.prefetchedCount).toBe(0);
      // The same workers serve a later synth of the same tenants from scratch.
      expect(synthesizeClusters([loaded], workers)).toEqual(synthesize(config));
    } finally {
      workers.close();
    }
  });

  test('with several clusters, each tenant is synthesized with its own cluster\'s platform and folder', () => {
    const fixture = path.join(ROOT, 'test', 'fixtures', 'valid', 'clusters');
    const expected = synthesizeClusters(loadClusters(fixture));
    const workers = SynthWorkers.start(2, 10, { workerFile, batch: 1, thisThreadToo: true })!;
    try {
      const clusters = loadClusters(fixture, { onTenant: workers.prefetch(undefined) });
      expect(clusters.length).toBeGreaterThan(1);
      expect(workers.prefetchedCount).toBe(clusters.reduce((n, c) => n + c.tenants.length, 0));
      expect(synthesizeClusters(clusters, workers)).toEqual(expected);
      expect(workers.prefetchedCount).toBe(0);
    } finally {
      workers.close();
    }
  });

  test('a configuration that fails to load after tenants were staged leaves the output and no staging folder behind', () => {
    const out = path.join(dir, 'dist-prefetch-failing');
    fs.mkdirSync(path.join(out, 'kept'), { recursive: true });
    fs.writeFileSync(path.join(out, 'kept', 'marker.yaml'), 'old');
    // The last tenant file takes the name of the first: the cross-tenant rules fail after every file was read.
    const broken = path.join(dir, 'config-duplicate');
    fs.cpSync(configDir, broken, { recursive: true });
    const last = path.join(broken, 'tenants', `${tenantName(TENANTS - 1)}.yaml`);
    fs.writeFileSync(last, fs.readFileSync(last, 'utf8').replace(`name: ${tenantName(TENANTS - 1)}`, `name: ${tenantName(0)}`));
    const workers = SynthWorkers.start(2, TENANTS, { workerFile, batch: 2, thisThreadToo: true })!;
    const writer = StagedWriter.open(out);
    let staged = 0;
    try {
      const onTenant = workers.prefetch(writer.stageTarget);
      let loaded = 0;
      expect(() =>
        loadConfig(broken, {
          onTenant: (tenant, platform, cluster) => {
            onTenant(tenant, platform, cluster);
            // Before the last file, give the workers time to stage some tenants (they start in ~0.3 s).
            if (++loaded === TENANTS - 1) staged = waitFor(() => countFiles(writer.stageTarget.staging));
          },
        }),
      ).toThrow(/name/);
      workers.cancel();
    } finally {
      writer.abort();
      workers.close();
    }
    // Workers had staged files before the configuration failed.
    expect(staged).toBeGreaterThan(0);
    expect(readTreeMap(out)).toEqual(new Map([['kept/marker.yaml', 'old']]));
    expect(noStaging(out)).toEqual([]);
  });
});

/** Polls `count` until it is above 0, for at most 20 s; returns the last count. */
function waitFor(count: () => number): number {
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 20_000; waited += 20) {
    const n = count();
    if (n > 0) return n;
    Atomics.wait(sleep, 0, 0, 20);
  }
  return count();
}

function countFiles(folder: string): number {
  if (!fs.existsSync(folder)) return 0;
  return fs.readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

test('without the worker bundle (running from sources), no workers are started', () => {
  expect(SynthWorkers.start(2, 10, { workerFile: path.join(dir, 'missing.js') })).toBeUndefined();
});
