import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { editorSchemas } from '../../lib/config/json-schema';
import { ROOT } from '../support/synth';

const schemaFile = (name: string) => path.join(ROOT, 'config', 'schema', `${name}.schema.json`);

test('the committed editor schemas are generated from lib/config/schema.ts (run `npm run schema`)', () => {
  for (const [name, schema] of Object.entries(editorSchemas())) {
    expect(JSON.parse(fs.readFileSync(schemaFile(name), 'utf8'))).toEqual(schema);
  }
});

test('the shipped example files validate against the editor schemas, and point editors at them', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const platform = ajv.compile(editorSchemas().platform);
  const tenant = ajv.compile(editorSchemas().tenant);
  const platformText = fs.readFileSync(path.join(ROOT, 'config', 'platform.yaml'), 'utf8');
  expect(platformText).toMatch(/^# yaml-language-server: \$schema=\.\/schema\/platform\.schema\.json$/m);
  expect(platform(parse(platformText))).toBe(true);
  for (const file of fs.readdirSync(path.join(ROOT, 'config', 'tenants'))) {
    const text = fs.readFileSync(path.join(ROOT, 'config', 'tenants', file), 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/tenant\.schema\.json$/m);
    expect(tenant(parse(text))).toBe(true);
  }
});

test('fails when a tenant file has an unknown key or leaves out a required one (editor view)', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const tenant = ajv.compile(editorSchemas().tenant);
  expect(tenant({ name: 'x', concurent: 1 })).toBe(false);
  expect(JSON.stringify(tenant.errors)).toMatch(/additionalProperties|required/);
  // Keys with defaults are optional for editors.
  const required = (editorSchemas().tenant as { required: string[] }).required;
  expect(required).not.toContain('tokenSecretName');
  expect(required).not.toContain('quota');
});

const fixtureTenants = path.join(ROOT, 'test', 'fixtures', 'valid', 'external-secrets', 'tenants');

test('the external-secrets fixture tenants (both secrets.source variants) validate against the editor schema', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const tenant = ajv.compile(editorSchemas().tenant);
  const files = fs.readdirSync(fixtureTenants).sort();
  expect(files).toHaveLength(4);
  for (const file of files) expect([file, tenant(parse(fs.readFileSync(path.join(fixtureTenants, file), 'utf8')))]).toEqual([file, true]);
});

test('fails when a key of the other secrets.source variant is set (editor view)', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const tenant = ajv.compile(editorSchemas().tenant);
  const existingWithStore = parse(fs.readFileSync(path.join(fixtureTenants, 'es-opt-out.yaml'), 'utf8'));
  expect(tenant(existingWithStore)).toBe(true);
  existingWithStore.secrets.store = { name: 'x' };
  expect(tenant(existingWithStore)).toBe(false);
});
