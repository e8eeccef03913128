/**
 * YAML files with source positions: parse once with the `yaml` document API and a LineCounter,
 * then map any key path back to the nearest node that exists in the file.
 */
import * as fs from 'node:fs';
import { Composer, Document, isMap, isPair, isScalar, isSeq, LineCounter, Node, Pair, Parser, visit, YAMLMap } from 'yaml';
import { ConfigProblem, formatKeyPath } from './errors';

export interface SourceFile {
  /** The path as it is printed in messages. */
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** The parsed value (plain objects and arrays). */
  readonly value: unknown;
  /** Every comment (`# …`) with its offset: reviewed and public like the values. */
  readonly comments: readonly { readonly offset: number; readonly text: string }[];
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Larger configuration files are refused unread: a tenant file is a few hundred bytes. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Aliases a file may expand; more is refused (a "billion laughs" file would exhaust memory). */
export const MAX_YAML_ALIASES = 100;

/**
 * Reads and parses `file`; messages name it as `displayName`. Only regular files are read: a FIFO
 * would block, a device or a symlink would read something nobody reviewed.
 */
export function readSource(file: string, displayName: string, problems: ConfigProblem[]): SourceFile | undefined {
  const text = readText(file, displayName, problems);
  return text === undefined ? undefined : parseSource(displayName, text, problems);
}

/**
 * A source that keeps only its text and is parsed again the first time anything but its name is
 * asked for. The cross-tenant rules hold every tenant's source until the last file has been read
 * but need positions only to report a problem: a parsed document with its positions takes
 * ~14 KB a tenant, its text ~4 KB (bench/README.md). `text` must have parsed without problems.
 */
export function reparsedOnDemand(file: string, text: string): SourceFile {
  return new ReparsedSource(file, text);
}

// A class, not an object literal with getters: each such literal has closures and a hidden class
// of its own (~1 KB a tenant while the configuration loads), an instance of a class two fields.
class ReparsedSource implements SourceFile {
  private parsed: SourceFile | undefined;

  constructor(
    public readonly file: string,
    private readonly text: string,
  ) {}

  public get doc(): SourceFile['doc'] {
    return this.source().doc;
  }

  public get lineCounter(): SourceFile['lineCounter'] {
    return this.source().lineCounter;
  }

  public get value(): unknown {
    return this.source().value;
  }

  public get comments(): SourceFile['comments'] {
    return this.source().comments;
  }

  private source(): SourceFile {
    this.parsed ??= parseSource(this.file, this.text, []);
    if (!this.parsed) throw new Error(`${this.file}: parsed once, not the second time`);
    return this.parsed;
  }
}

/** The text of a configuration file, or undefined (with a problem) when it is not a regular file of at most 1 MiB. */
export function readText(file: string, displayName: string, problems: ConfigProblem[]): string | undefined {
  const problem = (message: string) => {
    problems.push({ file: displayName, line: 0, column: 0, keyPath: '', message });
    return undefined;
  };
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    return problem((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(error as Error).message}`);
  }
  if (!stat.isFile()) return problem(`is ${fileKind(stat)}, not a regular file; configuration files must be plain YAML files`);
  if (stat.size > MAX_CONFIG_FILE_BYTES) return problem(`is ${stat.size} bytes; configuration files may be at most ${MAX_CONFIG_FILE_BYTES} bytes (1 MiB)`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    return problem(`cannot be read: ${(error as Error).message}`);
  }
  return text;
}

/**
 * Like readSource, for a file of Kubernetes manifests: several documents separated by `---` are
 * allowed, each returned with its own positions and comments. A document with nothing but
 * comments (or the empty space after a trailing `---`) has `doc.contents` null.
 * Same limits: regular files only, 1 MiB, aliases, duplicate keys.
 */
export function readDocuments(file: string, displayName: string, problems: ConfigProblem[]): SourceFile[] | undefined {
  const text = readText(file, displayName, problems);
  return text === undefined ? undefined : parseDocuments(displayName, text, problems);
}

/** What a file-system entry is, for messages: "a directory", "a FIFO", … */
export function fileKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isBlockDevice() || stat.isCharacterDevice()) return 'a device';
  return stat.isFile() ? 'a file' : 'not a file';
}

export function parseSource(file: string, text: string, problems: ConfigProblem[]): SourceFile | undefined {
  return parseYaml(file, text, problems, false)?.[0];
}

/** Every document of a multi-document file (`---`), in order; undefined (with problems) on any error. */
export function parseDocuments(file: string, text: string, problems: ConfigProblem[]): SourceFile[] | undefined {
  return parseYaml(file, text, problems, true);
}

function parseYaml(file: string, text: string, problems: ConfigProblem[], multiple: boolean): SourceFile[] | undefined {
  const lineCounter = new LineCounter();
  // One lexer/parser pass feeds both the document (composed as yaml's parseDocument does) and the
  // comment scan, which needs the concrete syntax tree: config loading is most of a cached synth.
  const tokens: unknown[] = [];
  const recorded = function* (source: Iterable<unknown>) {
    for (const token of source) {
      tokens.push(token);
      yield token;
    }
  };
  // A duplicate key is an error instead of a silent override. The yaml library's own check
  // (uniqueKeys) compares every key with every other (quadratic: minutes for a map of 20,000
  // keys), so duplicates are found here with one Set per map instead.
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false });
  const docs: Document.Parsed[] = [];
  for (const next of composer.compose(recorded(new Parser(lineCounter.addNewLine).parse(text)) as never, true, text.length)) {
    if (docs.length === 0 || multiple) docs.push(next as Document.Parsed);
    else {
      const pos = lineCounter.linePos(next.range[0]);
      problems.push({ file, line: pos.line, column: pos.col, keyPath: '', message: 'YAML syntax error: a configuration file holds one document; remove the second (---)' });
      return undefined;
    }
  }
  // compose(…, forceDoc = true) yields a document even for an empty file.
  if (docs.length === 0) throw new Error(`${file}: the YAML composer returned no document`);
  const errors = docs.flatMap((doc) => [
    ...doc.errors.map((error) => ({ offset: error.pos[0], message: yamlErrorMessage(error.code, error.message) })),
    ...duplicateKeys(doc).map((offset) => ({ offset, message: yamlErrorMessage('DUPLICATE_KEY', 'Map keys must be unique') })),
  ]).sort((a, b) => a.offset - b.offset);
  if (errors.length > 0) {
    for (const error of errors) {
      const pos = lineCounter.linePos(error.offset);
      problems.push({ file, line: pos.line, column: pos.col, keyPath: '', message: error.message });
    }
    return undefined;
  }
  const comments = commentsOf(tokens);
  const sources: SourceFile[] = [];
  for (const [index, doc] of docs.entries()) {
    // Each document keeps the comments from its start to the next document's start.
    const start = index === 0 ? 0 : doc.range[0];
    const end = index + 1 < docs.length ? docs[index + 1].range[0] : Infinity;
    const source = documentSource(file, text, doc, lineCounter, multiple ? comments.filter((c) => c.offset >= start && c.offset < end) : comments, problems);
    if (!source) return undefined;
    sources.push(source);
  }
  return sources;
}

function documentSource(
  file: string,
  text: string,
  doc: Document.Parsed,
  lineCounter: LineCounter,
  comments: SourceFile['comments'],
  problems: ConfigProblem[],
): SourceFile | undefined {
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    // The yaml package throws (a ReferenceError) when aliases expand past maxAliasCount.
    const alias = /alias/i.test((error as Error).message) ? firstAliasOffset(text) : 0;
    const pos = lineCounter.linePos(alias);
    problems.push({
      file,
      line: pos.line,
      column: pos.col,
      keyPath: '',
      message: /alias/i.test((error as Error).message)
        ? `YAML aliases expand to more than ${MAX_YAML_ALIASES} copies; write the values out instead of nesting aliases`
        : `YAML cannot be read: ${(error as Error).message.split('\n')[0]}`,
    });
    return undefined;
  }
  return { file, doc, lineCounter, value: value ?? {}, comments };
}

function firstAliasOffset(text: string): number {
  const match = /(^|[\s\[{,:-])\*[^\s,\]}]+/.exec(text);
  return match ? match.index + match[1].length : 0;
}

/** Offsets of keys that repeat an earlier key of the same mapping (scalar keys; linear). */
function duplicateKeys(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const item of map.items) {
        if (!isScalar(item.key)) continue;
        if (seen.has(item.key.value)) offsets.push(item.key.range?.[0] ?? 0);
        else seen.add(item.key.value);
      }
    },
  });
  return offsets;
}

/** Comments from the concrete syntax tree (the document model keeps them without positions). */
function commentsOf(tokens: readonly unknown[]): { offset: number; text: string }[] {
  const comments: { offset: number; text: string }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const token = node as { type?: string; offset?: number; source?: string };
      if (token.type === 'comment' && typeof token.offset === 'number') comments.push({ offset: token.offset, text: token.source ?? '' });
      for (const child of Object.values(node)) if (child && typeof child === 'object') walk(child);
    }
  };
  for (const token of tokens) walk(token);
  return comments;
}

function yamlErrorMessage(code: string, message: string): string {
  const firstLine = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return `duplicate key: ${firstLine}`;
    case 'TAB_AS_INDENT':
      return 'YAML syntax error: tabs are not allowed for indentation, use spaces';
    default:
      return `YAML syntax error: ${firstLine}`;
  }
}

/** Whether the file itself holds a node at this path (rather than a default filling it in). */
export function hasPath(source: SourceFile, path: readonly PropertyKey[]): boolean {
  return findNode(source, path).depth === path.length;
}

/**
 * Position of the node at `path`, or of the deepest existing ancestor. With `at: 'key'` the
 * position of the mapping key is returned (used for unknown keys).
 */
export function positionOf(source: SourceFile, path: readonly PropertyKey[], at: 'key' | 'value' = 'value'): Position {
  const found = findNode(source, path);
  const target = at === 'key' && found.pair && found.depth === path.length ? found.pair.key : found.node;
  const offset = rangeStart(target) ?? rangeStart(source.doc.contents) ?? 0;
  const pos = source.lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

export function problemAt(
  source: SourceFile,
  path: readonly PropertyKey[],
  message: string,
  at: 'key' | 'value' = 'value',
  printedPath: readonly PropertyKey[] = path,
): ConfigProblem {
  const pos = positionOf(source, path, at);
  return { file: source.file, line: pos.line, column: pos.column, keyPath: formatKeyPath(printedPath), message };
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (range) return range[0];
  }
  return undefined;
}

interface Found {
  node: unknown;
  pair?: Pair;
  depth: number;
}

/** Pairs of a mapping by key, built once per mapping: looking up every problem's path stays linear overall. */
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairByKey(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) if (isPair(item) && isScalar(item.key) && !index.has(String(item.key.value))) index.set(String(item.key.value), item as Pair);
    pairIndex.set(map, index);
  }
  return index.get(key);
}

function findNode(source: SourceFile, path: readonly PropertyKey[]): Found {
  let node: unknown = source.doc.contents;
  let pair: Pair | undefined;
  let depth = 0;
  for (const segment of path) {
    if (isMap(node)) {
      const match = pairByKey(node as YAMLMap, String(segment));
      if (!match) break;
      pair = match as Pair;
      node = match.value ?? match.key;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      pair = undefined;
      node = node.items[segment];
    } else {
      break;
    }
    depth++;
  }
  return { node, pair: depth === path.length ? pair : undefined, depth };
}
