import { loadClusters } from '../../lib/config/load';
import { SharedValues } from '../../lib/config/shared-values';
import { CONFIG_DIRS } from '../support/synth';

describe('SharedValues', () => {
  const tenant = (name: string) => ({
    name,
    labels: { tenant: name, workload: 'gitlab-runner' },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    pullPolicy: ['if-not-present'],
    volumes: { emptyDir: [], secret: [] },
  });

  test('equal parts of different values are one frozen object; what differs stays apart', () => {
    const shared = new SharedValues();
    const a = shared.shareParts(tenant('a'));
    const b = shared.shareParts(tenant('b'));
    expect(a).toEqual(tenant('a'));
    expect(b).toEqual(tenant('b'));
    expect(a.resources).toBe(b.resources);
    expect(a.pullPolicy).toBe(b.pullPolicy);
    expect(a.volumes).toBe(b.volumes);
    expect(a.volumes.emptyDir).toBe(a.volumes.secret);
    expect(a.labels).not.toBe(b.labels);
    expect(a.labels).toEqual({ tenant: 'a', workload: 'gitlab-runner' });
    expect(Object.isFrozen(a.resources)).toBe(true);
    expect(Object.isFrozen(a.resources.requests)).toBe(true);
    expect(Object.isFrozen(a.pullPolicy)).toBe(true);
  });

  test('the outer object is a fresh, unfrozen copy: two equal values are still two identities', () => {
    const shared = new SharedValues();
    const input = tenant('a');
    const one = shared.shareParts(input);
    const two = shared.shareParts(tenant('a'));
    expect(one).not.toBe(input);
    expect(one).not.toBe(two);
    expect(Object.isFrozen(one)).toBe(false);
    expect(one.resources).toBe(two.resources);
  });

  test('a shared part cannot be changed, so no tenant can change what another reads', () => {
    const shared = new SharedValues();
    const a = shared.shareParts(tenant('a'));
    const b = shared.shareParts(tenant('b'));
    expect(() => {
      (a.pullPolicy as string[]).push('always');
    }).toThrow(TypeError);
    expect(() => {
      (a.resources.limits as Record<string, string>).cpu = '64';
    }).toThrow(TypeError);
    expect(b.pullPolicy).toEqual(['if-not-present']);
    expect(b.resources.limits.cpu).toBe('500m');
  });

  test('equal means the same keys in the same order, the same kinds and the same primitives', () => {
    const shared = new SharedValues();
    const v = shared.shareParts({
      ab: { a: 1, b: 2 },
      ba: { b: 2, a: 1 },
      list: ['x'],
      indexed: { 0: 'x' },
      one: { n: 1 },
      oneString: { n: '1' },
      zero: { n: 0 },
      minusZero: { n: -0 },
      empty: {},
      emptyList: [],
      withUndefined: { a: 1, b: undefined },
      withoutUndefined: { a: 1 },
      nothing: { n: null },
      no: { n: false },
      split: ['a,b'],
      joined: ['a', 'b'],
    });
    expect(v.ab).not.toBe(v.ba);
    expect(Object.keys(v.ba)).toEqual(['b', 'a']);
    expect(v.list).not.toBe(v.indexed);
    expect(Array.isArray(v.list)).toBe(true);
    expect(Array.isArray(v.indexed)).toBe(false);
    expect(v.one).not.toBe(v.oneString);
    expect(v.zero).not.toBe(v.minusZero);
    expect(Object.is(v.minusZero.n, -0)).toBe(true);
    expect(v.empty).not.toBe(v.emptyList);
    expect(v.withUndefined).not.toBe(v.withoutUndefined);
    expect('b' in v.withUndefined).toBe(true);
    expect(v.nothing).not.toBe(v.no);
    expect(v.split).not.toBe(v.joined);
  });

  test('a value holding anything but plain data is kept as it was, unshared and unfrozen', () => {
    class Custom {
      constructor(public readonly x = 1) {}
    }
    const shared = new SharedValues();
    const date = new Date(0);
    const v = shared.shareParts({ withDate: { at: date }, withClass: { c: new Custom() }, withMap: { m: new Map([[1, 2]]) }, plain: { p: 1 } });
    const w = shared.shareParts({ withDate: { at: date }, plain: { p: 1 } });
    expect(v.withDate.at).toBe(date);
    expect(v.withDate).not.toBe(w.withDate);
    expect(Object.isFrozen(v.withDate)).toBe(false);
    expect(v.withClass.c).toBeInstanceOf(Custom);
    expect(v.withMap.m.get(1)).toBe(2);
    expect(v.plain).toBe(w.plain);
    // A function: the part holding it stays as it is.
    const f = { task: { run: () => 1, p: 1 }, plain: { p: 1 } };
    const g = shared.shareParts(f);
    expect(g.task).toBe(f.task);
    expect(g.plain).toBe(w.plain);
    // Not plain data at the top: nothing to copy.
    expect(shared.shareParts(date)).toBe(date);
  });

  test('objects without a prototype keep none', () => {
    const shared = new SharedValues();
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const v = shared.shareParts({ bare, plain: { a: 1 } });
    expect(Object.getPrototypeOf(v.bare)).toBeNull();
    expect(Object.getPrototypeOf(v.plain)).toBe(Object.prototype);
    expect(v.bare).not.toBe(v.plain);
  });

  test('strings come out equal, including keys that look like numbers or __proto__', () => {
    const shared = new SharedValues();
    const text = 'registry.example.com/team/kaniko-cache:'.repeat(3);
    const slice = text.slice(5, 60);
    const key = JSON.parse('{"__proto__": {"x": 1}, "007": "7", "7": "007"}') as Record<string, unknown>;
    const v = shared.shareParts({ slice, nested: { slice }, key });
    expect(v.slice).toBe(slice);
    expect(v.nested.slice).toBe(slice);
    expect(Object.keys(v.key)).toEqual(Object.keys(key));
    expect(Object.getPrototypeOf(v.key)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(v.key, '__proto__')?.value).toEqual({ x: 1 });
    expect(v.key['007']).toBe('7');
    expect(v.key['7']).toBe('007');
  });
});

describe('the loader shares equal parts of resolved tenants', () => {
  test('two tenants of a shipped configuration share their defaults, not their own values', () => {
    const [cluster] = loadClusters(CONFIG_DIRS.example);
    expect(cluster.tenants.length).toBeGreaterThanOrEqual(2);
    const [a, b] = cluster.tenants;
    expect(a.runnerImages).toBe(b.runnerImages);
    expect(a.layout.names).toBe(b.layout.names);
    expect(Object.isFrozen(a.layout.names)).toBe(true);
    expect(a.layout).not.toBe(b.layout);
    expect(a.layout.managerNamespace).not.toBe(b.layout.managerNamespace);
    expect(a.cache.s3.bucket).not.toBe(b.cache.s3.bucket);
  });
});
