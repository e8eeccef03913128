/** writeOutput: what it reports, what it refuses, and that it swaps the tree atomically. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputFile, RemovalRefusedError, writeOutput } from '../lib/synth/engine';
import { readTreeMap, tempDir } from './bench/support';

/** A tenant folder as the synth writes it: a Namespace file plus the given files, all of the tenant. */
const tenant = (name: string, extra: Record<string, string> = {}): OutputFile[] => [
  { path: `${name}/namespace-${name}.yaml`, content: `ns ${name}`, unit: name },
  ...Object.entries(extra).map(([file, content]) => ({ path: `${name}/${file}`, content, unit: name })),
];

let dir: string;
let out: string;
beforeEach(() => {
  dir = tempDir('write');
  out = path.join(dir, 'dist');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('reports added, changed, unchanged and removed tenants, and leaves exactly the new files', () => {
  writeOutput(out, [...tenant('a'), ...tenant('b', { 'x.yaml': '1' }), ...tenant('c'), ...tenant('d', { 'y.yaml': '1' })]);
  const result = writeOutput(out, [...tenant('a'), ...tenant('b', { 'x.yaml': '2' }), ...tenant('d'), ...tenant('e')], { allowRemoval: true });
  expect(result).toEqual({ added: ['e'], changed: ['b', 'd'], removed: ['c'], unchanged: ['a'] });
  expect([...readTreeMap(out).keys()].sort()).toEqual(['a/namespace-a.yaml', 'b/namespace-b.yaml', 'b/x.yaml', 'd/namespace-d.yaml', 'e/namespace-e.yaml']);
  expect(readTreeMap(out).get('b/x.yaml')).toBe('2');
  expect(fs.readdirSync(dir)).toEqual(['dist']);
});

test('fails when a tenant would be removed without allowRemoval, and changes nothing', () => {
  writeOutput(out, [...tenant('a'), ...tenant('b')]);
  const before = readTreeMap(out);
  expect(() => writeOutput(out, tenant('a', { 'x.yaml': '2' }))).toThrow(RemovalRefusedError);
  expect(readTreeMap(out)).toEqual(before);
  expect(fs.readdirSync(dir)).toEqual(['dist']);
});

test('a folder without a Namespace file is no tenant: never reported as removed, and replaced', () => {
  writeOutput(out, tenant('a'));
  fs.mkdirSync(path.join(out, 'ghost'));
  fs.writeFileSync(path.join(out, 'ghost', 'stray.yaml'), 'x');
  const result = writeOutput(out, [...tenant('a'), ...tenant('b')]);
  expect(result).toEqual({ added: ['b'], changed: [], removed: [], unchanged: ['a'] });
  expect(fs.existsSync(path.join(out, 'ghost'))).toBe(false);
});

test('files of no tenant (summary, delivery objects) are written but never counted as tenants', () => {
  writeOutput(out, [...tenant('a'), { path: 'README.md', content: 'r' }, { path: '_gitops/app.yaml', content: 'g' }]);
  const result = writeOutput(out, [...tenant('a'), { path: 'README.md', content: 'r2' }, { path: '_gitops/app.yaml', content: 'g2' }]);
  expect(result).toEqual({ added: [], changed: [], removed: [], unchanged: ['a'] });
  expect(readTreeMap(out).get('README.md')).toBe('r2');
  expect(readTreeMap(out).get('_gitops/app.yaml')).toBe('g2');
});

describe('folders dist/ does not have yet are moved with one rename each', () => {
  /** The targets in dist/ of every rename a write makes, relative to dist/. */
  function renamesOf(write: () => void): string[] {
    // The module object itself: the writer's `import * as fs` reads its properties through getters.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const spy = jest.spyOn(require('node:fs') as typeof fs, 'renameSync');
    try {
      write();
      return spy.mock.calls.map(([, to]) => path.relative(out, String(to))).sort();
    } finally {
      spy.mockRestore();
    }
  }

  test('a first write renames each top-level folder and file once, not each file', () => {
    const files = [...tenant('a', { 'x.yaml': '1' }), ...tenant('b'), { path: 'ci/a/t.yml', content: 'a', unit: 'a' }, { path: 'ci/b/t.yml', content: 'b', unit: 'b' }, { path: 'README.md', content: 'r' }];
    expect(renamesOf(() => writeOutput(out, files))).toEqual(['README.md', 'a', 'b', 'ci']);
    expect(readTreeMap(out)).toEqual(new Map(files.map((f) => [f.path, f.content])));
    expect(fs.readdirSync(dir)).toEqual(['dist']);
  });

  test('a new tenant beside existing ones: its folders move whole, changed files one by one', () => {
    writeOutput(out, [...tenant('a', { 'x.yaml': '1' }), { path: 'ci/a/t.yml', content: 'a', unit: 'a' }]);
    const next = [...tenant('a', { 'x.yaml': '2' }), { path: 'ci/a/t.yml', content: 'a', unit: 'a' }, ...tenant('b', { 'deep/y.yaml': 'y' }), { path: 'ci/b/t.yml', content: 'b', unit: 'b' }];
    let result;
    expect(renamesOf(() => (result = writeOutput(out, next)))).toEqual(['a/x.yaml', 'b', 'ci/b']);
    expect(result).toEqual({ added: ['b'], changed: ['a'], removed: [], unchanged: [] });
    expect(readTreeMap(out)).toEqual(new Map(next.map((f) => [f.path, f.content])));
    expect(fs.readdirSync(dir)).toEqual(['dist']);
  });

  test('an empty folder of that name is replaced; one holding empty folders gets the files one by one', () => {
    writeOutput(out, tenant('a'));
    fs.mkdirSync(path.join(out, 'b'));
    fs.mkdirSync(path.join(out, 'c', 'empty'), { recursive: true });
    const next = [...tenant('a'), ...tenant('b'), ...tenant('c', { 'x.yaml': 'x' })];
    expect(renamesOf(() => writeOutput(out, next))).toEqual(['b', 'c', 'c/namespace-c.yaml', 'c/x.yaml']);
    expect(readTreeMap(out)).toEqual(new Map(next.map((f) => [f.path, f.content])));
    expect(fs.readdirSync(path.join(out, 'c')).sort()).toEqual(['empty', 'namespace-c.yaml', 'x.yaml']);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
  });
});
