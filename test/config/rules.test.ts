/**
 * The node-label subset rule, checked against the obvious all-pairs definition on label sets
 * that overlap in every way (subsets, supersets, identical sets, disjoint sets).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PLATFORM_YAML, tenantName, tenantYaml } from '../../bench/generate';
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
