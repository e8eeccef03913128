/**
 * docs/configuration.md is generated from the zod schemas (`npm run docs`): it must equal what the
 * generator writes today, and it must name every key a user can write in platform.yaml and the
 * tenant files, found here by walking the zod schemas themselves (not the generator's JSON Schema
 * walk), so a key the generator skipped fails.
 */
import { z } from 'zod';
import { PlatformSchema, TenantSchema } from '../../lib/config/schema';
import { configurationReference } from '../../scripts/docs';
import { expectGenerated } from './generated';

const FILE = 'docs/configuration.md';

type AnyDef = { type: string; [key: string]: unknown };
const defOf = (schema: unknown): AnyDef => (schema as { _zod: { def: AnyDef } })._zod.def;

/** Key paths (`a.b`, `list[].c`, `map.<name>.d`) of every key below `schema`. */
function keyPaths(schema: unknown, prefix = ''): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return keyPaths(def.innerType, prefix);
    case 'pipe':
      return keyPaths(def.in, prefix);
    case 'object':
      return Object.entries(def.shape as Record<string, unknown>).flatMap(([key, child]) => {
        const at = prefix ? `${prefix}.${key}` : key;
        return [at, ...keyPaths(child, at)];
      });
    case 'array':
      return keyPaths(def.element, `${prefix}[]`);
    case 'record':
      return keyPaths(def.valueType, `${prefix}.<name>`);
    case 'union':
      return [...new Set((def.options as unknown[]).flatMap((option) => keyPaths(option, prefix)))];
    default:
      return [];
  }
}

const reference = configurationReference();

test(`${FILE} is what \`npm run docs\` generates from lib/config/schema.ts`, () => {
  expectGenerated(FILE, reference);
});

describe.each([
  ['config/platform.yaml', PlatformSchema, ['gitops.flux.dependsOn', 'kaniko.cacheRegistry.resources.limits.ephemeralStorage']],
  ['config/tenants/<tenant>.yaml', TenantSchema, ['cache.s3.auth.roleArn', 'secrets.imagePullSecrets.<name>.property', 'runners[].resources.service.requests.cpu', 'egress.extra[].cidr']],
] as Array<[string, z.ZodType, string[]]>)('%s', (file, schema, deepKeys) => {
  const section = reference.split(/^## /m).find((part) => part.startsWith(`\`${file}\``))!;
  const paths = keyPaths(schema);

  test('has its own section', () => {
    expect(section).toBeDefined();
  });

  test('names every key of the schema', () => {
    expect(paths).toEqual(expect.arrayContaining(deepKeys));
    expect(paths.filter((key) => !section.includes(`\`${key}\``))).toEqual([]);
  });

  test('explains every key (a .describe() text in the schema)', () => {
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    const meaning = (row: string) => row.split(/(?<!\\)\|/)[4].trim();
    expect(rows.filter((row) => meaning(row) === '').map((row) => row.split(' | ')[0])).toEqual([]);
  });
});

test('defaults come from the schema: a changed default changes the reference', () => {
  // The leaf defaults below are only in the schema; the generator must have read them there.
  for (const row of [
    '| `runner.checkInterval` | integer, 1–60 | `3` |',
    '| `runners[].resources.build.limits.memory` | string or number | `4Gi` |',
    '| `kubernetes.dns.podLabels` | map of strings | `{k8s-app: kube-dns}` |',
    '| `cache.s3.auth.accessKeyIdKey` (type `staticKeys`) | string, at most 253 characters | `AWS_ACCESS_KEY_ID` |',
    '| `secrets.source` | `existing`, `externalSecret` | `existing` |',
  ]) {
    expect(reference).toContain(row);
  }
  const parsed = TenantSchema.parse({
    name: 't', concurrent: 1, nodes: { labels: { a: 'b' } }, runners: [{ name: 'r' }],
    cache: { s3: { bucket: 'b', auth: { type: 'podIdentity' } } },
  });
  expect(reference).toContain(`| \`runners[].pollTimeoutSeconds\` | integer, 30–3600 | \`${parsed.runners[0].pollTimeoutSeconds}\` |`);
  expect(reference).toContain(`| \`cache.s3.expireAfterDays\` | integer, 1–3650 | \`${parsed.cache.s3.expireAfterDays}\` |`);
});
