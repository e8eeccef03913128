/**
 * A construct validation (`node.addValidation`) that fails inside one tenant's chart fails the
 * whole synth, names that tenant, and leaves the output directory as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tenantName, writeConfig } from '../../bench/generate';
import { runSynth } from '../../lib/cli/synth';
import { loadConfig } from '../../lib/config/load';
import type { LoadedConfig } from '../../lib/model/resolve';
import { synthesize } from '../../lib/synth/engine';
import { readTreeMap, tempDir } from './support';

// Tenant charts get a validation that fails for the tenant named here (none when undefined).
let mockFailingTenant: string | undefined;
jest.mock('../../lib/constructs/tenant-chart', () => {
  const actual = jest.requireActual('../../lib/constructs/tenant-chart');
  class ValidatedTenantChart extends actual.TenantChart {
    constructor(scope: never, id: string, props: { tenant: { name: string } }) {
      super(scope, id, props);
      const runner = (this as unknown as { runner: { node: { addValidation(v: { validate(): string[] }): void } } }).runner;
      runner.node.addValidation({
        validate: () => (props.tenant.name === mockFailingTenant ? [`test validation failed for ${props.tenant.name}`] : []),
      });
    }
  }
  return { ...actual, TenantChart: ValidatedTenantChart };
});

const TENANTS = 30;
let dir: string;
let configDir: string;
let config: LoadedConfig;

beforeAll(() => {
  dir = tempDir('validation');
  configDir = path.join(dir, 'config');
  writeConfig(configDir, TENANTS);
  config = loadConfig(configDir);
});

afterEach(() => {
  mockFailingTenant = undefined;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('with the validation passing for every tenant, all tenants synthesize', () => {
  expect(synthesize(config).filter((f) => f.unit !== undefined && f.path.endsWith('.yaml'))).toHaveLength(TENANTS * 16);
});

test.each([0, 17, TENANTS - 1])('fails when tenant %i fails a construct validation, naming that tenant', (index) => {
  mockFailingTenant = tenantName(index);
  expect(() => synthesize(config)).toThrow(new RegExp(`^tenant '${tenantName(index)}' \\(.*${tenantName(index)}\\.yaml\\): .*test validation failed for ${tenantName(index)}`, 's'));
});

test('fails the synth command with that tenant named, leaving the output directory unchanged', () => {
  const out = path.join(dir, 'dist');
  const io = { out: () => undefined, err: () => undefined };
  expect(runSynth(['--config', configDir, '--out', out], io)).toBe(0);
  const before = readTreeMap(out);

  mockFailingTenant = tenantName(23);
  const errors: string[] = [];
  const code = runSynth(['--config', configDir, '--out', out], { out: () => undefined, err: (line) => errors.push(line) });
  // A construct that throws after the configuration passed validation is our bug, not the input's.
  expect(code).toBe(3);
  expect(errors.join('\n')).toMatch(/^synth: internal error: tenant 't000023' .*test validation failed for t000023/ms);
  expect(errors.join('\n')).toMatch(/This is a bug in tenant-runners/);
  expect(errors.join('\n')).toMatch(/was not changed/);
  expect(readTreeMap(out)).toEqual(before);
  expect(fs.readdirSync(dir).filter((name) => name.startsWith('.dist-'))).toEqual([]);
});
