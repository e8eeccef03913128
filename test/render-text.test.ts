/**
 * Generated text embeds configuration values only through the escaping helpers: a value that got
 * past the schema (these tests hand them in directly) stays one Markdown cell, one shell word,
 * one comment.
 */
import { spawnSync } from 'node:child_process';
import { renderSummary } from '../lib/render/summary';
import { commentText, markdownCell, markdownCode, shellQuote, shellWord, yamlComment } from '../lib/render/text';
import { secretSetupCommands } from '../lib/model/secrets';
import { parse as parseYaml } from 'yaml';
import { CONFIG_DIRS, synthesizeDir } from './support/synth';

const HOSTILE = ['a|b', 'x\n| injected | row |', '`code`', '[link](javascript:alert(1))', '<script>', 'a\r\nb', 'a\u2028b', "it's $(id) `id`"];

test.each(HOSTILE)('shellQuote(%j) is one word the shell gives back unchanged', (value) => {
  const out = spawnSync('sh', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
  expect(out.stdout).toBe(value);
  const word = spawnSync('sh', ['-c', `printf '%s' ${shellWord(value)}`], { encoding: 'utf8' });
  expect(word.stdout).toBe(value);
});

test.each(HOSTILE)('yamlComment(%j) parses as a comment only', (value) => {
  expect(parseYaml(`${yamlComment([`value: ${value}`])}\nkey: 1\n`)).toEqual({ key: 1 });
  expect(commentText(value)).not.toMatch(/[\r\n\u2028]/);
});

test.each(HOSTILE)('markdownCell(%j) stays in its cell and row', (value) => {
  const cell = markdownCell(value);
  expect(cell).not.toMatch(/[\r\n\u2028\u2029]/);
  expect(cell.replace(/\\./g, '')).not.toMatch(/[|`<>[\]]/);
  expect(markdownCode(value).split('\n')).toHaveLength(1);
});

test('the summary keeps one row per tenant whatever its values hold', () => {
  const tenants = synthesizeDir(CONFIG_DIRS.example);
  const hostile = tenants.map((t) => ({
    ...t.tenant,
    kanikoCacheRepo: 'registry.local/x\n| forged | row |',
    nodes: { ...t.tenant.nodes, labels: { ...t.tenant.nodes.labels, 'a|b': '`x`' } },
  }));
  const text = renderSummary([{ platform: tenants[0].config.platform, tenants: hostile, facts: {} }]);
  const rows = text.split('\n').filter((l) => l.startsWith('| ['));
  expect(rows).toHaveLength(hostile.length);
  expect(text).not.toContain('| forged |');
  for (const row of rows) expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(11);
});

test('printed secret commands quote anything that is not a plain shell word', () => {
  const t = synthesizeDir(CONFIG_DIRS['fixture mixed']).find((x) => x.tenant.name === 'alpha')!;
  const tenant = { ...t.tenant, cache: { ...t.tenant.cache, s3: { ...t.tenant.cache.s3, auth: { type: 'staticKeys' as const, secretName: 'alpha-minio', accessKeyIdKey: 'KEY"; touch /tmp/x; "', secretAccessKeyKey: 'SECRET' } } } };
  const lines = secretSetupCommands(tenant, 'harbor.internal.example');
  expect(lines.join('\n')).toContain(`'--from-literal=KEY"; touch /tmp/x; "='`);
});
