/** Command-line parsing, the policy command end to end, and the human-readable report. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { main, parseCli, UsageError } from '../../scripts/buckets/cli';
import { progressLines, summaryTable } from '../../scripts/buckets/report';
import type { RunResult, TenantResult } from '../../scripts/buckets/run';
import { removeConfigs, writeConfig } from './support/fixtures';

afterAll(removeConfigs);

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('parseCli', () => {
  test('defaults: plan, config/, concurrency 4, human output', () => {
    expect(parseCli([])).toEqual({ command: 'plan', configDir: 'config', pathStyle: false, concurrency: 4, json: false });
  });

  test('every option', () => {
    expect(parseCli(['apply', '--tenant', 'a', '--config', 'c', '--endpoint', 'http://127.0.0.1:9000', '--path-style', '--concurrency', '2', '--json'])).toEqual({
      command: 'apply',
      tenant: 'a',
      configDir: 'c',
      endpoint: 'http://127.0.0.1:9000',
      pathStyle: true,
      concurrency: 2,
      json: true,
    });
  });

  test('--dry-run turns apply into plan, never the reverse', () => {
    expect(parseCli(['apply', '--dry-run']).command).toBe('plan');
    expect(parseCli(['plan', '--dry-run']).command).toBe('plan');
  });

  test.each([
    [['destroy'], /unknown command destroy; use plan, apply or policy/],
    [['policy'], /policy needs --tenant NAME/],
    [['--concurrency', '0'], /--concurrency must be an integer from 1 to 64, got 0/],
    [['--concurrency', 'many'], /--concurrency must be an integer from 1 to 64, got many/],
    [['--endpoint', 'minio:9000'], /--endpoint must be an http\(s\):\/\/ URL without a path/],
    [['--bucket', 'x'], /Unknown option '--bucket'/],
    [['plan', 'apply'], /expected one command, got plan apply/],
  ])('fails when given %p', (args, message) => {
    expect(() => parseCli(args)).toThrow(UsageError);
    expect(() => parseCli(args)).toThrow(message);
  });
});

describe('main', () => {
  test('policy --tenant prints the policy JSON on stdout and exits 0', async () => {
    const dir = writeConfig([{ name: 'one' }, { name: 'two' }]);
    const result = await cli(['policy', '--tenant', 'two', '--config', dir]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out).Statement[1]).toEqual({ Sid: 'CacheBucketList', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::two-cache' });
  });

  test('fails when the tenant is unknown: exit code 2, naming it', async () => {
    const dir = writeConfig([{ name: 'one' }]);
    const result = await cli(['plan', '--tenant', 'nobody', '--config', dir]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/no tenant named nobody/);
  });

  test('fails when the configuration is invalid: exit code 2 and the loader message', async () => {
    const dir = writeConfig([{ name: 'one', expireAfterDays: 0 }]);
    const result = await cli(['plan', '--config', dir]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/cache\.s3\.expireAfterDays/);
  });

  test('--help prints the usage on stdout and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^usage: npm run buckets -- \[plan\|apply\|policy\]/);
  });

  test('the esbuild bundle behind `npm run buckets` runs: policy for the shipped example tenant', () => {
    const root = path.join(__dirname, '..', '..');
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root });
    const out = execFileSync(process.execPath, ['build/buckets.js', 'policy', '--tenant', 'tenant-1'], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out).Statement[0].Resource).toBe('arn:aws:s3:::tenant-1-cache/*');
  });

  test('fails when an option is bad: exit code 2 and the usage', async () => {
    const result = await cli(['--concurrency', '-1']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/usage: npm run buckets/);
  });
});

describe('report', () => {
  const result = (over: Partial<TenantResult>): TenantResult => ({ tenant: 't', bucket: 't-cache', outcome: 'no-changes', changes: [], unsupported: [], durationMs: 1234, ...over });

  test('a progress line per tenant, with one indented line per difference, warning and error', () => {
    expect(
      progressLines(
        result({
          outcome: 'update',
          changes: [{ setting: 'tags', details: ['tag tenant: missing, want "t"'] }],
          unsupported: [{ setting: 'policy', detail: 'minio does not implement bucket policy' }],
        }),
      ),
    ).toEqual(['t: t-cache: would update (1 setting)', '    tags: tag tenant: missing, want "t"', '    warning: bucket policy not managed: minio does not implement bucket policy']);
    expect(progressLines(result({ outcome: 'failed', error: { kind: 'foreign-bucket', message: 'taken' } }))).toEqual(['t: t-cache: FAILED', '    error: taken']);
  });

  test('the summary table aligns columns and ends with a verdict', () => {
    const run: RunResult = {
      command: 'apply',
      failed: true,
      results: [
        result({ tenant: 'alpha', bucket: 'alpha-cache', outcome: 'created', changes: [{ setting: 'tags', details: [] }] }),
        result({ tenant: 'b', bucket: 'b-cache', outcome: 'failed', error: { kind: 'foreign-bucket', message: 'x' } }),
      ],
    };
    expect(summaryTable(run)).toBe(
      [
        'TENANT  BUCKET       RESULT                   CHANGES  UNSUPPORTED  TIME',
        'alpha   alpha-cache  created                  tags     -            1.2s',
        'b       b-cache      FAILED (foreign-bucket)  -        -            1.2s',
        '',
        '1 of 2 tenants failed',
      ].join('\n'),
    );
  });

  test('the verdict says "no changes" when nothing differs, and names settings the endpoint lacks', () => {
    const run: RunResult = { command: 'apply', failed: false, results: [result({ unsupported: [{ setting: 'tags', detail: '' }] })] };
    expect(summaryTable(run).split('\n').slice(-2)).toEqual(['no changes: the bucket is as configured', 'not managed, the endpoint does not implement them: tags']);
  });
});
