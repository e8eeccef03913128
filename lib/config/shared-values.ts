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

const TABLE_MAX = 8192;

/** What a value is known by in the tables: a primitive's own encoding, or `#<id>` for a shared object. */
type Token = string;

export class SharedValues {
  private readonly strings = new Map<string, string>();
  private readonly objects = new Map<string, object>();
  private readonly tokens = new WeakMap<object, Token>();
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
      // A part that is not plain data stays as it is.
      setOwn(copy, this.string(key), this.share(part)?.value ?? part);
    }
    return copy as T;
  }

  /** The shared instance of `value` and its token; undefined when it holds anything that is not plain data. */
  private share(value: unknown): { value: unknown; token: Token } | undefined {
    switch (typeof value) {
      case 'string': {
        const flat = this.string(value);
        return { value: flat, token: `s${flat.length}:${flat}` };
      }
      case 'number':
        return { value, token: `n${Object.is(value, -0) ? '-0' : String(value)}` };
      case 'boolean':
        return { value, token: value ? 't' : 'f' };
      case 'undefined':
        return { value, token: 'u' };
      case 'object':
        if (value === null) return { value, token: 'z' };
        break;
      default:
        return undefined;
    }
    const known = this.tokens.get(value);
    if (known !== undefined) return { value, token: known };
    if (!isPlain(value)) return undefined;
    const array = Array.isArray(value);
    const keys = Object.keys(value);
    const values: unknown[] = new Array(keys.length);
    let key = array ? '[' : Object.getPrototypeOf(value) === null ? '{0' : '{';
    for (let i = 0; i < keys.length; i++) {
      const shared = this.share((value as Record<string, unknown>)[keys[i]]);
      if (shared === undefined) return undefined;
      values[i] = shared.value;
      key += array ? `${shared.token},` : `${keys[i].length}:${keys[i]}=${shared.token},`;
    }
    // A sparse array or one with extra properties is not plain data.
    if (array && keys.length !== (value as unknown[]).length) return undefined;
    const existing = this.objects.get(key);
    if (existing !== undefined) return { value: existing, token: this.tokens.get(existing)! };
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
    this.objects.set(key, instance);
    this.tokens.set(instance, token);
    return { value: instance, token };
  }

  /** One flat copy per distinct string. */
  private string(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    const flat = flatCopy(value);
    if (this.strings.size >= TABLE_MAX) this.strings.clear();
    this.strings.set(flat, flat);
    return flat;
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
 * A copy of `value` that holds its own characters. A property key is stored as an internalized
 * string: one sequential copy, never a slice of, or a rope over, other strings.
 */
export function flatCopy(value: string): string {
  return Object.keys({ [value]: 0 })[0];
}
