/**
 * YAML text of plain JSON-like data, byte-identical to `yaml`'s `stringify(value, YAML_OPTIONS)`
 * (`lineWidth: 0`, no anchors) and several times faster on API objects (bench/README.md, hot spot 7).
 *
 * A file's text depends on values alone: an object met twice is written twice, never as an anchor
 * and alias (`aliasDuplicateObjects: false`). Resolved tenants share their equal parts
 * (lib/config/shared-values.ts), and a tenant's own manifests may come from YAML with aliases;
 * neither may change what a reviewer reads in `dist/`.
 *
 * `yaml` builds a document tree of node objects for every value before it prints it: at thousands
 * of tenants that was a quarter of the synth's CPU and much of its garbage. The block layout of a
 * document without comments or anchors is simple and fixed (`key: value`, `- item`, two spaces per
 * level, sequences indented under their key, `{}` and `[]` for empty collections); the hard part,
 * how each scalar must be written (plain, quoted, `|` block, escapes), stays with `yaml`: a one-line
 * string is written plain where `yaml`'s own plain-scalar rules allow it (its patterns and its
 * schema's tests, `isPlain`), and every other string is rendered by `yaml` itself, as the value of a
 * one-key map, and its continuation lines moved to the depth where it lands (the text of a scalar
 * does not depend on its depth, only its indentation does). Renderings repeat across objects and
 * tenants, so they are remembered.
 *
 * A `|+` block (a value that ends in a blank line, as every `config.toml` does) needs nothing
 * special: `yaml` writes its trailing empty lines unindented, and whatever follows starts on the
 * next line at its own depth, which is what the block layout does anyway.
 *
 * Anything else (values `yaml` would treat specially: `undefined` in unusual places, Dates, Maps,
 * class instances, keys that need the explicit `? ` form) falls back to `yaml` for the whole document, so the output is `yaml`'s in every case.
 * test/render/block-yaml.test.ts compares both on every file of every fixture and on generated
 * documents of awkward strings at every depth and position.
 */
import { Document, Scalar, stringify } from 'yaml';
import { stringifyString, type StringifyContext } from 'yaml/util';

/** Long strings are never folded (a diff shows whole values); a repeated object is written out again. */
export const YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** Thrown inside the emitter when a value needs `yaml`'s general path. */
class NeedsGeneralPath extends Error {}
const NEEDS_GENERAL_PATH = new NeedsGeneralPath();

/**
 * When `yaml` writes a one-line string plain, as its plainString does: no control character
 * (those force double quotes), none of the indicator patterns below, and not a string that would
 * read back as something else (`42`, `true`, `null`, `.inf`: checked with the schema's own tests).
 */
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Document markers, which `yaml` treats differently for keys of the top level: left to it. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

/** The core schema's tests for scalars that do not read back as strings. */
let nonStringTests: RegExp[] | undefined;

function isPlain(value: string): boolean {
  if (value.length > 1000 || value.includes('\n') || CONTROL_CHARACTERS.test(value) || NOT_PLAIN.test(value) || DOCUMENT_MARKER.test(value)) return false;
  if (!nonStringTests) {
    // The schema of the document VALUE_CONTEXT writes strings for: the same tests yaml applies.
    const schema = VALUE_CONTEXT.doc.schema as unknown as { tags: { default?: boolean; tag: string; test?: RegExp }[] };
    nonStringTests = schema.tags.filter((t) => t.default && t.tag !== 'tag:yaml.org,2002:str' && t.test).map((t) => t.test!);
  }
  for (const test of nonStringTests) if (test.test(value)) return false;
  return true;
}

/**
 * Remembered renderings, bounded: short values repeat across tenants; long ones (a config.toml, a
 * script) are unique per tenant and not remembered, so the memo never keeps a tenant's texts alive.
 */
const MEMO_LIMIT = 10_000;
const MEMO_MAX_LENGTH = 200;
const valueTexts = new Map<string, string>();
const keyTexts = new Map<string, string>();

function remember(memo: Map<string, string>, key: string, text: string): string {
  if (key.length > MEMO_MAX_LENGTH) return text;
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, text);
  return text;
}

/**
 * The context `yaml`'s stringify (with YAML_OPTIONS) hands its string writer for the value of a
 * top-level `k: value` pair: the option defaults of its createStringifyContext, the pair's value
 * indentation, and `actualString` from its string tag. Calling the writer (`stringifyString`, public
 * in `yaml/util`) with it spares a document per string: a config.toml 53 → 37 µs, an alert
 * description 7 → 2 µs. Checked against `stringify` itself before first use (`contextWorks`).
 */
const VALUE_CONTEXT: StringifyContext = {
  actualString: true,
  anchors: new Set(),
  doc: new Document(),
  flowCollectionPadding: ' ',
  implicitKey: false,
  indent: '  ',
  indentAtStart: 'k: '.length,
  indentStep: '  ',
  inFlow: null,
  options: {
    blockQuote: true,
    // Our scalars carry no comments; were one ever written, the general path writes it.
    commentString: () => {
      throw NEEDS_GENERAL_PATH;
    },
    defaultKeyType: null,
    defaultStringType: 'PLAIN',
    directives: null,
    doubleQuotedAsJSON: false,
    doubleQuotedMinMultiLineLength: 40,
    falseStr: 'false',
    flowCollectionPadding: true,
    indentSeq: true,
    lineWidth: YAML_OPTIONS.lineWidth,
    minContentWidth: 20,
    nullStr: 'null',
    simpleKeys: false,
    singleQuote: null,
    trailingComma: false,
    trueStr: 'true',
    verifyAliasOrder: true,
  },
};

/** `yaml`'s rendering of a pair's string value through its whole document path. */
function documentText(value: string): string {
  const document = stringify({ k: value }, YAML_OPTIONS);
  if (!document.startsWith('k: ')) throw NEEDS_GENERAL_PATH;
  return document.slice(3, -1);
}

/** The same through `yaml`'s string writer with VALUE_CONTEXT. */
function contextText(value: string): string {
  const text = stringifyString(new Scalar(value), VALUE_CONTEXT);
  // The pair writes `k:` and a space before the value, except before an empty one or a newline.
  if (text === '' || text.startsWith('\n')) throw NEEDS_GENERAL_PATH;
  return text;
}

/**
 * Whether contextText writes what documentText writes, on a string of each style (plain, single
 * and double quoted, `|`, `|-`, `|+`, indentation indicator, escapes). Were a `yaml` upgrade to
 * change its context, strings would go the document path instead of being written wrongly.
 */
let contextWorks: boolean | undefined;
const CONTEXT_PROBES = ['a: b', "it's: x", '"q": x', 'tab\there', 'x\ny', 'x\ny\n', 'x\n\n', '  lead\nx', 'true', '- item', '#c', 'bell\u0007', ' ', ''];

/** Whether strings are written through `yaml`'s string writer directly (the probes agreed). */
export function writesStringsDirectly(): boolean {
  // A probe neither writes as `k: …` (left to the general path) counts as agreeing.
  const attempt = (write: (value: string) => string, probe: string) => {
    try {
      return write(probe);
    } catch (error) {
      if (error !== NEEDS_GENERAL_PATH) throw error;
      return undefined;
    }
  };
  contextWorks ??= CONTEXT_PROBES.every((probe) => attempt(documentText, probe) === attempt(contextText, probe));
  return contextWorks;
}

/** How `yaml` writes `value` as a map value at the second level: continuation lines indented by two. */
function stringText(value: string): string {
  // The memo first: most strings repeat (names, labels, images), and isPlain runs a dozen patterns.
  const known = valueTexts.get(value);
  if (known !== undefined) return known;
  if (isPlain(value)) return remember(valueTexts, value, value);
  return remember(valueTexts, value, writesStringsDirectly() ? contextText(value) : documentText(value));
}

/** How `yaml` writes `key` as an implicit key; keys that need more fall back to `yaml` entirely. */
function keyText(key: string): string {
  const known = keyTexts.get(key);
  if (known !== undefined) return known;
  if (isPlain(key)) return remember(keyTexts, key, key);
  const document = stringify({ [key]: null }, YAML_OPTIONS);
  if (!document.endsWith(': null\n') || document.startsWith('? ')) throw NEEDS_GENERAL_PATH;
  const text = document.slice(0, -': null\n'.length);
  // A key `yaml` writes over several lines, or one it would write differently at the top level
  // (document markers), is left to `yaml`.
  if (text.includes('\n') || DOCUMENT_MARKER.test(key)) throw NEEDS_GENERAL_PATH;
  return remember(keyTexts, key, text);
}

/** `text` (second-level rendering) moved so its continuation lines sit under `indent`. */
function reindent(text: string, indent: string): string {
  if (indent === '' || !text.includes('\n')) return text;
  // `yaml` leaves empty lines of a scalar unindented and indents every other line.
  return text.replace(/\n(?!\n|$)/g, `\n${indent}`);
}

function scalarText(value: unknown, indent: string): string {
  switch (typeof value) {
    case 'string':
      return reindent(stringText(value), indent);
    case 'number':
      // Finite numbers other than -0 are written as JSON writes them; the rest (`.nan`, `-0`) by `yaml`.
      if (Number.isFinite(value) && !Object.is(value, -0)) return JSON.stringify(value);
      throw NEEDS_GENERAL_PATH;
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      throw NEEDS_GENERAL_PATH;
  }
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** ` value` after `key:`, or a newline and the nested block, for a value whose key is at `indent`. */
function afterKey(value: unknown, indent: string): string {
  if (typeof value !== 'object' || value === null) return ` ${scalarText(value, indent)}\n`;
  if (Array.isArray(value)) return value.length === 0 ? ' []\n' : `\n${sequence(value, `${indent}  `)}`;
  if (!isPlainObject(value)) throw NEEDS_GENERAL_PATH;
  const body = mapping(value, `${indent}  `);
  return body ? `\n${body}` : ' {}\n';
}

/** The `key: value` lines of `value` at `indent`; empty when it has no key `yaml` would write. */
function mapping(value: Record<string, unknown>, indent: string): string {
  let out = '';
  for (const key of Object.keys(value)) {
    const item = value[key];
    // `yaml` leaves out keys whose value is undefined.
    if (item === undefined) continue;
    if (typeof item === 'function' || typeof item === 'symbol') throw NEEDS_GENERAL_PATH;
    out += `${indent}${keyText(key)}:${afterKey(item, indent)}`;
  }
  return out;
}

function sequence(items: readonly unknown[], indent: string): string {
  let out = '';
  for (const raw of items) {
    // An undefined item is written as null.
    const item = raw === undefined ? null : raw;
    if (typeof item !== 'object' || item === null) {
      out += `${indent}- ${scalarText(item, indent)}\n`;
    } else if (Array.isArray(item)) {
      out += item.length === 0 ? `${indent}- []\n` : `${indent}- ${sequence(item, `${indent}  `).slice(indent.length + 2)}`;
    } else {
      if (!isPlainObject(item)) throw NEEDS_GENERAL_PATH;
      const body = mapping(item, `${indent}  `);
      out += body ? `${indent}- ${body.slice(indent.length + 2)}` : `${indent}- {}\n`;
    }
  }
  return out;
}

/** `stringify(value, YAML_OPTIONS)` of the `yaml` package, byte for byte. */
export function blockYaml(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && isPlainObject(value)) {
    try {
      // An empty document (`{}`) is left to `yaml`.
      const body = mapping(value, '');
      if (body) return body;
    } catch (error) {
      if (error !== NEEDS_GENERAL_PATH) throw error;
    }
  }
  return stringify(value, YAML_OPTIONS);
}
