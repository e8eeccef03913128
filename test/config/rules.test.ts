/**
 * The node-label subset rule, checked against the obvious all-pairs definition on label sets
 * that overlap in every way (subsets, supersets, identical sets, disjoint sets).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Composer } from 'yaml';
import { PLATFORM_YAML, tenantName, tenantYaml, writeConfig } from '../../bench/generate';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { tempDir } from '../bench/support';

// Deterministic pseudo-random label sets from a small universe, so many sets contain others.
function labelSets(count: number): Record<string, string>[] {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const universe = [['pool', 'a'], ['pool', 'b'], ['zone', 'x'], ['disk', 'ssd'], ['arch', 'arm64']];
  return Array.from({ length: count }, () => {
    const set: Record<string, string> = {};
    for (const [k, v] of universe) if (next() < 0.45 && !(k in set)) set[k] = v;
    if (Object.keys(set).length === 0) set.pool = 'a';
    return set;
  });
}

function expectedSubsetPairs(sets: Record<string, string>[]): string[] {
  const key = (s: Record<string, string>) => Object.keys(s).sort().map((k) => `${k}=${s[k]}`).join(',');
  const out: string[] = [];
  sets.forEach((a, i) =>
    sets.forEach((b, j) => {
      if (i !== j && key(a) !== key(b) && Object.entries(a).every(([k, v]) => b[k] === v)) out.push(`${tenantName(i)} < ${tenantName(j)}`);
    }),
  );
  return out.sort();
}

test('fails for exactly the tenants whose node labels are a strict subset of another tenant\'s', () => {
  const dir = tempDir('rules');
  try {
    const sets = labelSets(40);
    fs.mkdirSync(path.join(dir, 'tenants'));
    fs.writeFileSync(path.join(dir, 'platform.yaml'), PLATFORM_YAML);
    sets.forEach((set, i) => {
      const labels = Object.entries(set).map(([k, v]) => `    ${k}: ${v}`).join('\n');
      const yaml = tenantYaml(i).replace(/  labels:\n    tenant: \S+\n    workload: gitlab-runner\n/, `  labels:\n${labels}\n`);
      expect(yaml).not.toMatch(/workload: gitlab-runner/);
      fs.writeFileSync(path.join(dir, 'tenants', `${tenantName(i)}.yaml`), yaml);
    });
    const expected = expectedSubsetPairs(sets);
    expect(expected.length).toBeGreaterThan(20);

    let error: unknown;
    try {
      loadConfig(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    const subset = problems
      .map((p) => ({ file: p.file, m: /node labels are a subset of tenant '(\S+)'/.exec(p.message) }))
      .filter((p) => p.m)
      .map((p) => `${path.basename(p.file, '.yaml')} < ${p.m![1]}`)
      .sort();
    expect(subset).toEqual(expected);
    // Identical sets are reported by the identical-labels rule instead.
    expect(problems.some((p) => /node labels are identical to tenant/.test(p.message))).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('tenant files are parsed once; the cross-tenant rules parse a file again only to point at a problem', () => {
  const compose = () => jest.spyOn(Composer.prototype, 'compose');

  test('a valid configuration: one parse per file', () => {
    const dir = tempDir('parse-once');
    const spy = compose();
    try {
      writeConfig(dir, 12);
      spy.mockClear();
      expect(loadConfig(dir).tenants).toHaveLength(12);
      // platform.yaml and 12 tenant files.
      expect(spy).toHaveBeenCalledTimes(13);
    } finally {
      spy.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a problem between two tenants is reported at the line of the second file, parsed again for it', () => {
    const dir = tempDir('parse-again');
    const spy = compose();
    try {
      writeConfig(dir, 12);
      const file = path.join(dir, 'tenants', `${tenantName(11)}.yaml`);
      const text = fs.readFileSync(file, 'utf8');
      const bucket = /bucket: (\S+)/.exec(fs.readFileSync(path.join(dir, 'tenants', `${tenantName(3)}.yaml`), 'utf8'))![1];
      fs.writeFileSync(file, text.replace(/bucket: \S+/, `bucket: ${bucket}`));
      const line = text.split('\n').findIndex((l) => /bucket: /.test(l)) + 1;
      spy.mockClear();
      const error = (() => {
        try {
          loadConfig(dir, { displayBase: dir });
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error('loaded');
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`tenants/${tenantName(11)}.yaml:${line}:`);
      expect(error.message).toContain(`bucket '${bucket}' is already used by tenant '${tenantName(3)}'`);
      expect(spy).toHaveBeenCalledTimes(14);
    } finally {
      spy.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
