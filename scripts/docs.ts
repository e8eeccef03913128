// `npm run docs`: writes the generated documentation.
//
// - docs/configuration.md: the configuration reference, generated from the zod schemas in
//   lib/config/schema.ts (their `.describe()` texts, types, constraints and defaults), so the
//   reference cannot drift from what the loader accepts;
// - docs/architecture.svg: the architecture diagram, rendered from its declarative source in
//   scripts/diagram.ts.
//
// test/docs/ fails when a committed file differs from what this generates.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT, parseCommandLine, processIo, runCommand } from '../lib/cli/io';
import { z } from 'zod';
import { PlatformSchema, TenantSchema } from '../lib/config/schema';
import { architectureSvg } from './diagram';

/** A JSON Schema node as `z.toJSONSchema` writes it (the subset the reference reads). */
interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  items?: Node;
  oneOf?: Node[];
  anyOf?: Node[];
  minItems?: number;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}

interface Row {
  /** Key path: `a.b`, `list[].c`, `map.<name>.d`. */
  key: string;
  /** The variant the key exists in, e.g. "type `staticKeys`". */
  variant?: string;
  type: string;
  default: string;
  description: string;
}

/**
 * Both sides of the schema: the input side says what a user writes (required keys, types), the
 * output side holds the defaults of keys whose input goes through a transform (quantities).
 */
function jsonSchemas(schema: z.ZodType): { input: Node; output: Node } {
  return {
    input: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Node,
    output: z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Node,
  };
}

const variantsOf = (node: Node | undefined): Node[] | undefined => node?.oneOf ?? node?.anyOf;
const isObject = (node: Node): boolean => node.properties !== undefined;
const isMap = (node: Node): boolean => node.type === 'object' && node.properties === undefined;
const mapValue = (node: Node): Node | undefined => (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);

/** The key whose value is a different constant in every variant of a union. */
function discriminator(variants: Node[]): string {
  const candidates = Object.keys(variants[0].properties ?? {}).filter((key) => variants.every((v) => v.properties?.[key]?.const !== undefined));
  if (candidates.length !== 1) throw new Error(`cannot document a union without exactly one discriminator key (found ${candidates.join(', ') || 'none'})`);
  return candidates[0];
}

/** A value in YAML flow style, as a user would write it. */
function flow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
  return String(value);
}

const code = (text: string): string => `\`${text}\``;

function typeOf(node: Node): string {
  const variants = variantsOf(node);
  if (variants) return 'one of the variants below';
  if (node.const !== undefined) return code(String(node.const));
  if (node.enum) return node.enum.map((value) => code(String(value))).join(', ');
  if (node.type === 'array') {
    const item = node.items ?? {};
    const of = isObject(item) ? 'objects' : isMap(item) ? 'maps' : plural(typeOf(item));
    return `${(node.minItems ?? 0) >= 1 ? 'non-empty list' : 'list'} of ${of}`;
  }
  if (isObject(node)) return 'object';
  if (isMap(node)) {
    const value = mapValue(node);
    return value === undefined ? 'map' : `map of ${isObject(value) ? 'objects' : plural(typeOf(value))}`;
  }
  const types = Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'any');
  if (node.minimum !== undefined && node.maximum !== undefined) return `${types}, ${node.minimum}–${node.maximum}`;
  return node.maxLength !== undefined ? `${types}, at most ${node.maxLength} characters` : types;
}

const plural = (type: string): string => type.replace(/\b(string|integer|number|boolean)\b/g, '$1s');

function defaultOf(input: Node, output: Node | undefined, required: boolean): string {
  const value = input.default !== undefined ? input.default : output?.default;
  if (value === undefined) return required ? '**required**' : 'optional';
  // An object defaulting to {} takes the defaults of its keys, listed in their own rows.
  if (isObject(input) && typeof value === 'object' && value !== null && Object.keys(value).length === 0) return 'see its keys';
  return code(flow(value));
}

/**
 * Words that are literal configuration, not English, become code so Markdown shows them as
 * written: placeholders (`<tenant>`, `cache/<runner>/`), flags (`--cache-ttl`), config.toml
 * keys (`check_interval`), key paths (`cache.s3.auth.type`), `[[runners]]` and folders (`dist/`).
 * A docs/ page named in a description becomes a link.
 */
const LITERAL = [
  /<[^>\s]+>/, // a placeholder anywhere in the word
  /^--[a-z][-a-z]*$/,
  /^[a-z]+(_[a-z]+)+$/,
  /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/,
  /^\[\[[a-z.]+\]\]$/,
  /^[a-z_][\w.-]*\/([\w.-]+\/)*$/,
];
const NOT_LITERAL = new Set(['e.g', 'i.e']);

function prose(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/[^\s(),;]+/g, (token) => {
            const [, word, end] = /^(.*?)([.:]?)$/.exec(token)!;
            // Another page of docs/ (this reference lives in docs/ too): a link.
            if (/^docs\/[\w-]+\.md$/.test(word)) return `[${word.slice('docs/'.length)}](${word.slice('docs/'.length)})${end}`;
            return word && !NOT_LITERAL.has(word) && LITERAL.some((pattern) => pattern.test(word)) ? code(word) + end : token;
          }),
    )
    .join('');
}

/** Text for a table cell: prose with the pipes escaped. */
const cell = (text: string): string => prose(text).replace(/\|/g, '\\|');

function sentence(text: string | undefined): string {
  if (!text) return '';
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Every key below `input` (an object node), depth first, in schema order. */
function walk(input: Node, output: Node | undefined, prefix: string, variant: string | undefined, rows: Row[]): void {
  const variants = variantsOf(input);
  if (variants) {
    const outVariants = variantsOf(output);
    const key = discriminator(variants);
    const defaultValue = (input.default as Record<string, unknown> | undefined)?.[key];
    rows.push({
      key: `${prefix}.${key}`,
      variant,
      type: variants.map((v) => code(String(v.properties![key].const))).join(', '),
      default: defaultValue === undefined ? '**required**' : code(flow(defaultValue)),
      description: variants
        .map((v) => `${code(String(v.properties![key].const))}: ${sentence(v.properties![key].description)}`)
        .join(' '),
    });
    variants.forEach((v, i) => {
      const name = `${key} ${code(String(v.properties![key].const))}`;
      const only = { ...v, properties: Object.fromEntries(Object.entries(v.properties ?? {}).filter(([k]) => k !== key)) };
      walk(only, outVariants?.[i], prefix, variant ? `${variant}, ${name}` : name, rows);
    });
    return;
  }
  for (const [name, child] of Object.entries(input.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    const childOutput = output?.properties?.[name];
    rows.push({
      key,
      variant,
      type: typeOf(child),
      default: defaultOf(child, childOutput, input.required?.includes(name) ?? false),
      description: sentence(child.description),
    });
    descend(child, childOutput, key, variant, rows);
  }
}

function descend(node: Node, output: Node | undefined, key: string, variant: string | undefined, rows: Row[]): void {
  if (isObject(node) || variantsOf(node)) walk(node, output, key, variant, rows);
  else if (node.type === 'array' && node.items && (isObject(node.items) || variantsOf(node.items))) walk(node.items, output?.items, `${key}[]`, variant, rows);
  else if (isMap(node)) {
    const value = mapValue(node);
    if (value && (isObject(value) || variantsOf(value))) {
      const outValue = output && typeof output.additionalProperties === 'object' ? output.additionalProperties : undefined;
      walk(value, outValue, `${key}.<name>`, variant, rows);
    }
  }
}

function table(rows: Row[]): string[] {
  return [
    '| Key | Type | Default | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${code(row.key)}${row.variant ? ` (${row.variant})` : ''} | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`),
  ];
}

/** One section per file: top-level plain keys in a first table, then one subsection per nested top-level key. */
function fileSection(title: string, intro: string, schema: z.ZodType): string[] {
  const { input, output } = jsonSchemas(schema);
  const lines = [`## ${code(title)}`, '', intro, ''];
  const plain: Row[] = [];
  const nested: string[] = [];
  for (const [name, child] of Object.entries(input.properties ?? {})) {
    const childOutput = output.properties?.[name];
    const required = input.required?.includes(name) ?? false;
    const below: Row[] = [];
    descend(child, childOutput, name, undefined, below);
    if (below.length === 0) {
      plain.push({ key: name, type: typeOf(child), default: defaultOf(child, childOutput, required), description: sentence(child.description) });
      continue;
    }
    const presence = defaultOf(child, childOutput, required);
    const note = presence === '**required**' ? 'Required.' : presence === 'optional' ? 'Optional.' : presence === 'see its keys' ? 'Optional; its keys have defaults.' : `Default ${presence}.`;
    const kind = child.type === 'array' ? `A ${typeOf(child)}. ` : '';
    nested.push(`### ${code(name)}`, '', prose(`${kind}${sentence(child.description)} ${note}`.trim()), '', ...table(below), '');
  }
  if (plain.length > 0) lines.push(...table(plain), '');
  return [...lines, ...nested];
}

/** docs/configuration.md: every key of config/platform.yaml and config/tenants/<tenant>.yaml. */
export function configurationReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs` from lib/config/schema.ts: edit the schema\'s .describe() texts, not this file. -->',
    '',
    '`config/platform.yaml` holds what all tenants of a cluster share; `config/tenants/<tenant>.yaml` holds one',
    'tenant each (the file name is the tenant name). For several clusters in one repository see',
    '[GitOps: many clusters](gitops.md#many-clusters-from-one-repository).',
    '',
    '- Keys are camelCase; unknown keys are errors.',
    '- Every key is **required**, has the default shown, or is optional (unset unless given; the',
    '  meaning says what unset does). A key below an optional object is required only when that',
    '  object is given; "see its keys" means the object may be left out and each of its keys takes',
    '  its own default.',
    '- A key marked (type `x`) or (source `x`) exists only in that variant of its object.',
    '- `list[].key` is a key of each list item; `map.<name>.key` a key of each map entry.',
    '- Besides the schema, the [rules checked before anything is written](operations.md#rules-checked-before-anything-is-written)',
    '  apply (file names, uniqueness across tenants, credentials, …).',
    '',
    'Editors with the YAML language server validate and complete both files from the JSON Schemas in',
    '`config/schema/`, generated from the same schema by `npm run schema`.',
    '',
    ...fileSection('config/platform.yaml', 'What every tenant of the cluster shares.', PlatformSchema),
    ...fileSection(
      'config/tenants/<tenant>.yaml',
      'One tenant. Anything here can also be set for every tenant under `defaults` in platform.yaml.',
      TenantSchema,
    ),
  ];
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** The generated files, by path relative to the repository root. */
export function generatedDocs(): Record<string, string> {
  return {
    'docs/configuration.md': configurationReference(),
    'docs/architecture.svg': architectureSvg(),
  };
}

if (require.main === module) {
  const USAGE = `usage: npm run docs
  writes ${Object.keys(generatedDocs()).join(' and ')} from the schema and the diagram source
  --help  this text`;
  const io = processIo();
  process.exitCode = runCommand('docs', USAGE, io, () => undefined, () => {
    const { values } = parseCommandLine(process.argv.slice(2), { help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      io.out(USAGE);
      return EXIT.ok;
    }
    for (const [file, content] of Object.entries(generatedDocs())) {
      const target = path.join(process.cwd(), file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const before = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
      fs.writeFileSync(target, content);
      io.out(`${before === content ? 'unchanged' : 'wrote'} ${file}`);
    }
    return EXIT.ok;
  });
}
