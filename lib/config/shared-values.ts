/**
 * Resolved tenants share what they have in common. A tenant's resolved configuration is ~4 KB of
 * plain data, most of it the same for every tenant (defaults of runners, resources, volumes, pod
 * settings, layout names, runner images): at thousands of tenants, the copies were most of the
 * synth's memory. SharedValues hands out one frozen instance per distinct value, so equal parts
 * of different tenants are one object, and a tenant keeps only what is its own.
 *
 * - Equal means the same JSON-like structure: same keys in the same order (the order is output
 *   order), same primitives. A class instance, a function or a symbol is not plain data: the value
 *   holding it is kept as it was, unshared.
 * - Shared objects are frozen, so no tenant's synthesis can change a value another tenant reads:
 *   code that tried would throw (modules are strict), which the tests would show.
 * - Strings are copied flat: a value parsed from YAML is often a slice of its file's text and
 *   would otherwise keep that whole text alive.
 * - The tables are bounded (cleared when full): a cleared table only shares less until it fills again.
 */

const TABLE_MAX = 4096;

/** What share returns for a value that is not plain data. */
const NOT_PLAIN: unique symbol = Symbol('not plain data');

/** What a value is known by in the tables: a primitive's own encoding, `s<id>` for a string, `#<id>` for a shared object. */
type Token = string;

export class SharedValues {
  /** Each distinct string: its flat copy and a number for the keys of the objects holding it. */
  private readonly strings = new Map<string, { readonly flat: string; readonly token: Token }>();
  /** Each distinct object by its key, with its token. */
  private readonly objects = new Map<string, { readonly instance: object; readonly token: Token }>();
  private nextId = 0;

  /**
   * `value` with every nested object and array replaced by its shared, frozen instance (a part
   * holding anything but plain data stays as it is). The outermost object is a new unfrozen copy
   * (callers may treat it as their own identity), or `value` itself when it is not plain data.
   */
  public shareParts<T>(value: T): T {
    if (!isPlain(value)) return value;
    const copy = (Array.isArray(value) ? [] : emptyLike(value)) as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      const part = (value as Record<string, unknown>)[key];
      const shared = this.share(part);
      // A part that is not plain data stays as it is.
      setOwn(copy, this.string(key), shared === NOT_PLAIN ? part : shared);
    }
    return copy as T;
  }

  /** The token of the value `share` returned last (an out parameter: no object per value). */
  private token: Token = '';

  /** The shared instance of `value` (its token in `this.token`), or NOT_PLAIN when it holds anything that is not plain data. */
  private share(value: unknown): unknown {
    switch (typeof value) {
      case 'string': {
        const known = this.stringEntry(value);
        this.token = known.token;
        return known.flat;
      }
      case 'number':
        this.token = `n${Object.is(value, -0) ? '-0' : String(value)}`;
        return value;
      case 'boolean':
        this.token = value ? 't' : 'f';
        return value;
      case 'undefined':
        this.token = 'u';
        return value;
      case 'object':
        if (value === null) {
          this.token = 'z';
          return value;
        }
        break;
      default:
        return NOT_PLAIN;
    }
    // No table from object to token (a WeakMap costs every collection an ephemeron per entry): a
    // value that is already shared is keyed again, which finds it.
    if (!isPlain(value)) return NOT_PLAIN;
    const array = Array.isArray(value);
    const keys = Object.keys(value);
    // A sparse array or one with extra properties is not plain data.
    if (array && keys.length !== (value as unknown[]).length) return NOT_PLAIN;
    const values: unknown[] = new Array(keys.length);
    let key = array ? '[' : Object.getPrototypeOf(value) === null ? '{0' : '{';
    for (let i = 0; i < keys.length; i++) {
      const shared = this.share((value as Record<string, unknown>)[keys[i]]);
      if (shared === NOT_PLAIN) return NOT_PLAIN;
      values[i] = shared;
      key += array ? `${this.token},` : `${keys[i].length}:${keys[i]}=${this.token},`;
    }
    const existing = this.objects.get(key);
    if (existing !== undefined) {
      this.token = existing.token;
      return existing.instance;
    }
    let instance: Record<string, unknown> | unknown[];
    if (array) {
      instance = values;
    } else {
      instance = emptyLike(value);
      for (let i = 0; i < keys.length; i++) setOwn(instance, this.string(keys[i]), values[i]);
    }
    Object.freeze(instance);
    const token = `#${this.nextId++}`;
    if (this.objects.size >= TABLE_MAX) this.objects.clear();
    // The key is a rope of every part's text: kept flat, it is one string.
    this.objects.set(flatCopy(key), { instance, token });
    this.token = token;
    return instance;
  }

  /** One flat copy per distinct string. */
  private string(value: string): string {
    return this.stringEntry(value).flat;
  }

  private stringEntry(value: string): { readonly flat: string; readonly token: Token } {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    // Ids are never reused, so after a clear an equal string gets a new one: less sharing, never a wrong one.
    const entry = { flat: flatCopy(value), token: `s${this.nextId++}` };
    if (this.strings.size >= TABLE_MAX) this.strings.clear();
    this.strings.set(entry.flat, entry);
    return entry;
  }
}

/** Plain data: an array, or an object whose prototype is Object.prototype or null. */
function isPlain(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `object[key] = value`, as an own property even for `__proto__` (a key like any other in configuration). */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

/** An empty object with the prototype of `value` (Object.prototype or null). */
function emptyLike(value: object): Record<string, unknown> {
  return Object.getPrototypeOf(value) === null ? (Object.create(null) as Record<string, unknown>) : {};
}

/**
 * A copy of `value` that holds its own characters: one sequential string, never a slice of, or a
 * rope over, other strings. Through UTF-8 and back (a string UTF-8 cannot carry, with a lone
 * surrogate, is kept as it is); interning it as a property key would be as exact but ~5× slower.
 */
export function flatCopy(value: string): string {
  // V8 makes no slice or rope shorter than 13 characters: those are flat already.
  if (value.length < 13) return value;
  const copy = Buffer.from(value, 'utf8').toString('utf8');
  return copy === value ? copy : value;
}
