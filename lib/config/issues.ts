/**
 * Turns zod issues into messages a platform engineer can act on: the rule, the value given, and
 * for an unknown key the closest known one.
 */
import { z } from 'zod';
import { findCredential, looksSecretName, redact } from '../guards/credentials';

export interface DescribedIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** Point at the key (unknown keys) or at the value. */
  readonly at: 'key' | 'value';
}

type Issue = z.core.$ZodIssue;

export function describeIssue(schema: z.ZodType, issue: Issue, root: unknown): DescribedIssue[] {
  const path = issue.path;
  const value = hidden(path, valueAt(root, path));
  const got = value === undefined ? '' : `, got ${show(value)}`;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        // A key of another variant of a discriminated union (e.g. secrets.store with source: existing).
        const variant = variantHint(schema, path, key, value);
        if (variant) return { path: [...path, key], message: `unknown key '${key}'${variant}`, at: 'key' as const };
        const known = knownKeys(schema, path);
        const suggestion = closest(key, known);
        const hint = suggestion ? `; did you mean '${suggestion}'?` : known.length ? `; known keys: ${known.join(', ')}` : '';
        return { path: [...path, key], message: `unknown key '${key}'${hint}`, at: 'key' as const };
      });
    case 'invalid_type':
      if (value === undefined) return [{ path, message: 'is required', at: 'value' }];
      return [{ path, message: `must be ${article(issue.expected)}${got}`, at: 'value' }];
    case 'too_small':
      return [{ path, message: `${bound('at least', issue.minimum, issue.origin, issue.inclusive)}${sizeGot(value)}`, at: 'value' }];
    case 'too_big':
      return [{ path, message: `${bound('at most', issue.maximum, issue.origin, issue.inclusive)}${sizeGot(value)}`, at: 'value' }];
    case 'invalid_value':
      return [{ path, message: `must be ${issue.values.length === 1 ? show(issue.values[0]) : `one of ${issue.values.map(show).join(', ')}`}${got}`, at: 'value' }];
    case 'invalid_union': {
      // A discriminated union (e.g. cache.s3.auth.type) reports the discriminator's path and options.
      const options = (issue as { options?: unknown[] }).options;
      if (options) {
        const given = value === undefined ? 'is required' : `got ${show(value)}`;
        return [{ path, message: `must be one of ${options.map(show).join(', ')}; ${given}`, at: 'value' }];
      }
      return [{ path, message: `${issue.message}${got}`, at: 'value' }];
    }
    case 'invalid_key': {
      // The path ends with the offending key itself (a record key such as a label name).
      const key = path[path.length - 1];
      return issue.issues.map((inner) => ({ path, message: `key ${show(String(key))} ${inner.message}`, at: 'key' as const }));
    }
    default:
      // Custom rules may already show the value (and a suggestion after it).
      return [{ path, message: issue.message.includes(show(value)) ? issue.message : `${issue.message}${got}`, at: 'value' }];
  }
}

function bound(word: string, limit: number | bigint, origin: string, inclusive?: boolean): string {
  const n = Number(limit);
  switch (origin) {
    case 'array':
    case 'set':
      return `must have ${word} ${n} item${n === 1 ? '' : 's'}`;
    case 'string':
      return `must be ${word} ${n} character${n === 1 ? '' : 's'}`;
    default:
      return inclusive === false ? `must be ${word === 'at least' ? 'greater' : 'less'} than ${n}` : `must be ${word} ${n}`;
  }
}

/** Stands in for the value of a key that looks secret (show() prints it as is). */
const HIDDEN = Symbol('hidden');

/**
 * A value under a key that looks secret (DB_PASSWORD, api_token, tokenSecretName) is never shown,
 * whatever its type; only a mapping or list under a schema key (secrets:) still is.
 */
function hidden(path: readonly PropertyKey[], value: unknown): unknown {
  const key = path[path.length - 1];
  if (!looksSecretName(key)) return value;
  if (value !== null && typeof value === 'object' && /^[a-z][A-Za-z]*$/.test(String(key))) return value;
  return HIDDEN;
}

function sizeGot(value: unknown): string {
  if (value === HIDDEN) return '';
  if (Array.isArray(value)) return `, got ${value.length}`;
  if (typeof value === 'string') return `, got ${show(value)} (${value.length})`;
  return value === undefined ? '' : `, got ${show(value)}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

export function show(value: unknown): string {
  if (value === HIDDEN) return '<redacted: the key looks secret>';
  // Control characters are escaped so a hostile value can neither break the one-line message
  // format nor forge further lines in a CI log; very long values are cut.
  if (typeof value === 'string') return `'${escapeControl(truncate(redact(value), 200))}'`;
  const json = JSON.stringify(value);
  if (json && findCredential(json)) return redact(json);
  return json && json.length > 60 ? `${json.slice(0, 57)}...` : String(json);
}

/** `\n`, `\t`, … and other control characters as escapes: a message is always one line. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/** The object schema reached by following `path` through wrappers, arrays and records. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (!current) return undefined;
    if (current instanceof z.ZodObject) current = unwrap(current.shape[String(segment)] as z.ZodType | undefined);
    else if (current instanceof z.ZodArray) current = unwrap(current.element as z.ZodType);
    else if (current instanceof z.ZodRecord) current = unwrap(current.valueType as z.ZodType);
    else return undefined;
  }
  return current;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** For a key that only other variants of a discriminated union have: which variants those are. */
function variantHint(schema: z.ZodType, path: readonly PropertyKey[], key: string, value: unknown): string | undefined {
  const target = schemaAt(schema, path);
  if (!(target instanceof z.ZodDiscriminatedUnion)) return undefined;
  const discriminator = (target._zod.def as { discriminator: string }).discriminator;
  const given = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[discriminator] : undefined;
  const owners = target.options.flatMap((option) => {
    if (!(option instanceof z.ZodObject) || !(key in option.shape)) return [];
    const literal = option.shape[discriminator] as z.ZodType | undefined;
    return literal instanceof z.ZodLiteral ? [...literal.values].map((v) => show(v)) : [];
  });
  if (owners.length === 0) return undefined;
  return `; it is only used with ${discriminator}: ${owners.join(' or ')}, not ${show(given)}`;
}

function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const target = schemaAt(schema, path);
  if (target instanceof z.ZodObject) return Object.keys(target.shape);
  if (target instanceof z.ZodDiscriminatedUnion) {
    return [...new Set(target.options.flatMap((option) => (option instanceof z.ZodObject ? Object.keys(option.shape) : [])))];
  }
  return [];
}

/** The known key within edit distance 2 (or a case-insensitive match), if there is one. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = name.toLowerCase() === key.toLowerCase() ? 0 : levenshtein(key, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
