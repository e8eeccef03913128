/**
 * Generated text embeds configuration values only through the escaping helpers: a value that got
 * past the schema (these tests hand them in directly) stays one Markdown cell, one shell word,
 * one comment.
 */
import { spawnSync } from 'node:child_process';
import { renderTenantSummary } from '../lib/render/summary';
import { commentText, markdownCell, markdownCode, shellQuote, shellWord, yamlComment } from '../lib/render/text';
import { secretSetupCommands } from '../lib/render/secret-commands';
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

test('a tenant summary keeps one row per fact whatever its values hold', () => {
  const tenants = synthesizeDir(CONFIG_DIRS.example);
  for (const t of tenants) {
    const hostile = {
      ...t.tenant,
      kanikoCacheRepo: 'registry.local/x\n| forged | row |',
      nodes: { ...t.tenant.nodes, labels: { ...t.tenant.nodes.labels, 'a|b': '`x`' } },
    };
    const honest = renderTenantSummary(t.config.platform, undefined, t.tenant, { namespaces: [t.tenant.name], quota: {} });
    const text = renderTenantSummary(t.config.platform, undefined, hostile, { namespaces: [t.tenant.name], quota: {} });
    const rows = (doc: string) => doc.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| --- |'));
    expect(rows(text)).toHaveLength(rows(honest).length);
    expect(text).not.toContain('| forged |');
    for (const row of rows(text)) expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(4);
  }
});

test('printed secret commands quote names and refuse keys that are not plain Secret keys', () => {
  const t = synthesizeDir(CONFIG_DIRS['fixture mixed']).find((x) => x.tenant.name === 'alpha')!;
  const withKey = (key: string) => ({ ...t.tenant, cache: { ...t.tenant.cache, s3: { ...t.tenant.cache.s3, auth: { type: 'staticKeys' as const, secretName: 'alpha-minio', accessKeyIdKey: key, secretAccessKeyKey: 'SECRET' } } } });
  expect(() => secretSetupCommands(withKey('KEY$(touch /tmp/x)'), 'harbor.internal.example')).toThrow(/not a plain Secret key/);
  expect(() => secretSetupCommands(withKey('KEY\nEOF\nrm -rf /'), 'harbor.internal.example')).toThrow(/not a plain Secret key/);
  // A Secret name that got past the schema is one quoted shell word.
  const named = { ...withKey('KEY'), cache: { ...withKey('KEY').cache, s3: { ...withKey('KEY').cache.s3, auth: { type: 'staticKeys' as const, secretName: "minio; touch /tmp/x", accessKeyIdKey: 'KEY', secretAccessKeyKey: 'SECRET' } } } };
  expect(secretSetupCommands(named, 'harbor.internal.example').join('\n')).toContain("create secret generic 'minio; touch /tmp/x' --from-env-file=/dev/stdin");
});
