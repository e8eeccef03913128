/**
 * The synth writes YAML with blockYaml instead of `yaml`'s stringify (for speed); `dist/` must not
 * change by a byte. Checked on every file every shipped configuration writes, and on generated
 * documents that put awkward strings at every depth and position.
 */
import { parse, stringify } from 'yaml';
import { blockYaml, writesStringsDirectly, YAML_OPTIONS } from '../../lib/render/block-yaml';
import { synthesizeClusters } from '../../lib/synth/engine';
import { loadClusters } from '../../lib/config/load';
import { allTenants, CONFIG_DIRS, ROOT } from '../support/synth';

const yamlText = (value: unknown) => stringify(value, YAML_OPTIONS);
// The module object blockYaml calls into (an `import * as` namespace cannot be spied on).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yamlModule: typeof import('yaml') = require('yaml');

/** Strings `yaml` writes in every style it has: plain, single and double quoted, `|` blocks, escapes. */
const AWKWARD_STRINGS = [
  '', ' ', 'plain', 'with space', ' leading', 'trailing ', 'a: b', 'a:b', 'a #b', 'a#b', '#comment', '- item', '-c', '-', '?', '? x', ':', 'x:',
  'true', 'false', 'True', 'null', 'Null', '~', 'yes', 'no', 'on', 'off', '42', '-7', '0x1F', '0o17', '1e3', '1.5', '.5', '.inf', '-.inf', '.nan', '1.2.3', '0.9e-3',
  '2026-12-02', '12:30', '@at', '`tick', '!tag', '&anchor', '*alias', '|', '>', '%dir', '---', '...', '...x', '--- x', 'a\n---\nb', '[a]', '{a}', 'a,b', '"quoted"', "it's",
  'line\nline', 'line\n', 'line\n\n', 'line\n\n\n', '\nline', '\n\nline', '  indented\nline', 'a\n  b\n', 'a\n\n  b', 'a\n  \nb', 'a\nb  ', 'trailing\n  ', ' \n',
  'tab\there', '\ttab', 'bell\u0007', 'nul\u0000', 'é unicode ✓', 'emoji 🚀', '\u{D800}', 'a'.repeat(300), `${'word '.repeat(30)}\n${'more '.repeat(30)}`,
  '   spaced\nmore text here is long enough to exceed forty characters\n  ', 'x\r\ny', 'key=value', 'registry.example.com/group/image:1.2.3@sha256:abc',
  'https://gitlab.example.com/', '*.svc', 'app.kubernetes.io/name', '${VAR}', '$(cmd)', 'a\\b', '[[runners]]\n  name = "x"\n',
];

const AWKWARD_KEYS = ['plain', 'app.kubernetes.io/name', '.dockerconfigjson', 'true', '42', 'a b', 'a: b', '-x', '- x', '#k', '', 'null', '"q"', '---', '...', 'tab\tkey'];

const OTHER_SCALARS = [0, 1, -1, 1.5, 1e21, 2 ** 53, -0, NaN, Infinity, -Infinity, true, false, null];

/** The same value at every position the block layout has. */
function placements(value: unknown): unknown[] {
  return [
    { key: value },
    { a: 1, key: value, z: 'end' },
    { outer: { inner: { key: value } } },
    { list: [value] },
    { list: [value, value] },
    [value],
    { list: [{ key: value, other: value }] },
    { list: [{ first: 1, key: value }] },
    { list: [[value, { key: value }]] },
    { deep: [{ deeper: [{ deepest: { key: value } }] }] },
    { list: [{ nested: [value] }, { nested: { key: value } }] },
  ];
}

describe('blockYaml writes what yaml writes', () => {
  it.each(Object.entries(CONFIG_DIRS))('for every file the %s configuration synthesizes', (_label, dir) => {
    const files = synthesizeClusters(loadClusters(dir, { displayBase: ROOT })).filter((f) => f.path.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const object = parse(file.content);
      // The file as synthesized is exactly what `yaml` writes for its object…
      expect({ path: file.path, text: yamlText(object) }).toEqual({ path: file.path, text: file.content });
      // …and what blockYaml writes for it.
      expect({ path: file.path, text: blockYaml(object) }).toEqual({ path: file.path, text: file.content });
    }
  });

  // The objects themselves, not read back from their files: objects shared between two places of
  // one manifest (resolved tenants share their equal parts) must not change the text.
  it.each(allTenants())('for every object of %s as synthesized', (_label, { objects }) => {
    expect(objects.length).toBeGreaterThan(5);
    for (const object of objects) expect({ object: `${object.kind}/${object.metadata.name}`, text: blockYaml(object) }).toEqual({ object: `${object.kind}/${object.metadata.name}`, text: yamlText(object) });
  });

  it.each(AWKWARD_STRINGS.map((s) => [JSON.stringify(s).slice(0, 40), s]))('for the string %s in every position', (_label, value) => {
    for (const document of placements(value)) expect(blockYaml(document)).toBe(yamlText(document));
  });

  it.each(AWKWARD_KEYS.map((k) => [JSON.stringify(k), k]))('for the key %s at every depth', (_label, key) => {
    for (const document of placements({ [key]: 'v' })) expect(blockYaml(document)).toBe(yamlText(document));
    expect(blockYaml({ [key]: { [key]: ['x'] } })).toBe(yamlText({ [key]: { [key]: ['x'] } }));
  });

  it.each(OTHER_SCALARS.map((v) => [String(Object.is(v, -0) ? '-0' : v), v]))('for the scalar %s in every position', (_label, value) => {
    for (const document of placements(value)) expect(blockYaml(document)).toBe(yamlText(document));
  });

  it('for empty collections, undefined values and values yaml treats specially', () => {
    const documents: unknown[] = [
      {}, [], { a: {} }, { a: [] }, { a: [{}] }, { a: [[]] }, { a: [[], {}] }, { a: undefined }, { a: undefined, b: 1 }, { a: { b: undefined } },
      { a: [undefined, 1] }, { a: new Date(0) }, { a: new Map([['k', 'v']]) }, { a: new Set(['x']) }, 'top-level string', 42, null,
      { a: 'x\n\n', b: 'after keep-chomped block' }, { a: ['x\n\n', 'y'] }, Object.assign(Object.create(null), { a: 1 }),
      { [`${'k'.repeat(1100)}`]: 1 }, { 'multi\nline key': 1 },
    ];
    for (const document of documents) expect(blockYaml(document)).toBe(yamlText(document));
  });

  it('for a value that ends in blank lines (a |+ block, as config.toml is), without handing the whole document to yaml', () => {
    const configMap = (toml: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'runner-config', labels: { a: 'b' } }, data: { 'config.toml': toml, 'z-after': 'x' } });
    for (const toml of ['concurrent = 1\n\n', '# header\n[[runners]]\n  name = "a"\n\n\n', '  indented first line\n\n']) {
      const document = configMap(toml);
      const spy = jest.spyOn(yamlModule, 'stringify');
      let text: string;
      try {
        text = blockYaml(document);
        // The whole document never goes to yaml's stringify (at most the string, as a one-key map).
        expect(spy.mock.calls.filter(([value]) => Object.keys(value as object).join() !== 'k')).toEqual([]);
      } finally {
        spy.mockRestore();
      }
      expect(text).toBe(yamlText(document));
      expect(text).toMatch(/config\.toml: \|[0-9]?\+\n/);
    }
  });

  it("writes strings through yaml's own string writer, whose context matches what yaml's stringify gives it", () => {
    // Otherwise every non-plain string would go through a whole yaml document (correct, but slow).
    expect(writesStringsDirectly()).toBe(true);
  });

  it('writes an object or list met twice in full, as if it were two equal ones: never an anchor and alias', () => {
    const shared = { name: 'shared', labels: { a: 'b' } };
    const list = ['x', 'y'];
    const filler = (n: number) => Array.from({ length: n }, (_, i) => ({ i, nested: { i } }));
    const documents: Record<string, unknown>[] = [
      { a: shared, b: shared },
      { a: list, b: [list] },
      { a: { b: shared }, c: [shared] },
      { items: filler(200), a: shared, b: shared },
      { a: shared, items: filler(200), b: [{ again: shared }] },
      { a: list, items: filler(200), b: list },
      { items: Array.from({ length: 3 }, () => shared) },
    ];
    for (const document of documents) {
      const text = blockYaml(document);
      // The same text as for a copy in which nothing is shared…
      const unshared = JSON.parse(JSON.stringify(document)) as unknown;
      expect(text).toBe(blockYaml(unshared));
      expect(text).toBe(yamlText(unshared));
      // …which is what `yaml` writes with the options blockYaml follows.
      expect(text).toBe(yamlText(document));
      expect(text).not.toMatch(/[&*]a1/);
    }
    // `yaml`'s default would write an alias: the option matters.
    expect(stringify({ a: shared, b: shared }, { lineWidth: 0 })).toMatch(/\*a1/);
  });

  it('for 3,000 random documents of the strings, keys and scalars above (seeded, so reproducible)', () => {
    let seed = 20261202;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 4 || r < 0.45) return random() < 0.8 ? pick(AWKWARD_STRINGS) : pick(OTHER_SCALARS);
      if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(AWKWARD_KEYS), value(depth + 1)]));
    };
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const document = value(0);
      expect(blockYaml(document)).toBe(yamlText(document));
      checked++;
    }
    expect(checked).toBe(3000);
  });
});
