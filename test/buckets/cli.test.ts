/** Command-line parsing, the policy command end to end, and the human-readable report. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { main, parseCli, UsageError } from '../../scripts/buckets/cli';
import { jsonReport, progressLines, summaryTable } from '../../scripts/buckets/report';
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
    expect(parseCli([])).toEqual({ command: 'plan', configDir: 'config', pathStyle: false, concurrency: 4, json: false, adopt: [], help: false });
  });

  test('every option', () => {
    const expected = {
      command: 'apply',
      tenant: 'a',
      cluster: 'prod',
      configDir: 'c',
      endpoint: 'http://127.0.0.1:9000',
      pathStyle: true,
      concurrency: 2,
      json: true,
      adopt: ['a-cache', 'b-cache'],
      help: false,
    };
    expect(
      parseCli(['apply', '--tenant', 'a', '--cluster', 'prod', '--config', 'c', '--endpoint', 'http://127.0.0.1:9000', '--path-style', '--concurrency', '2', '--json', '--adopt', 'a-cache', '--adopt', 'b-cache']),
    ).toEqual(expected);
    // --flag=value is the same as --flag value
    expect(
      parseCli(['apply', '--tenant=a', '--cluster=prod', '--config=c', '--endpoint=http://127.0.0.1:9000', '--path-style', '--concurrency=2', '--json', '--adopt=a-cache', '--adopt=b-cache']),
    ).toEqual(expected);
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
    [['--adopt', 'Not_A_Bucket'], /--adopt takes a bucket name, got "Not_A_Bucket"/],
    [['--tenant'], /argument missing/],
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
    expect(JSON.parse(result.out).Statement[1]).toMatchObject({ Sid: 'CacheList', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::two-cache' });
  });

  test('fails when the tenant is unknown: exit code 2, naming it', async () => {
    const dir = writeConfig([{ name: 'one' }]);
    const result = await cli(['plan', '--tenant', 'nobody', '--config', dir]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/no tenant named nobody/);
  });

  test('fails when the configuration is invalid: exit code 1 and the loader message with file:line:col', async () => {
    const dir = writeConfig([{ name: 'one', expireAfterDays: 0 }]);
    const result = await cli(['plan', '--config', dir]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^1 configuration problem:\n.*tenants\/one\.yaml:\d+:\d+ cache\.s3\.expireAfterDays: /m);
  });

  test('--help wins over a missing --tenant, and -h is the same', async () => {
    for (const args of [['policy', '--help'], ['-h']]) {
      const result = await cli(args);
      expect(result.code).toBe(0);
      expect(result.out).toMatch(/--adopt BUCKET/);
      expect(result.err).toBe('');
    }
  });

  test('fails when platform.yaml has an endpoint with credentials: exit 1, the loader names the place, never the password', async () => {
    const dir = writeConfig([{ name: 'one' }], { endpoint: 'http://admin:hunter2secret@127.0.0.1:9000' });
    const result = await cli(['plan', '--config', dir]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/platform\.yaml:\d+:\d+ s3\.endpoint/);
    expect(`${result.out}${result.err}`).not.toMatch(/hunter2secret/);
  });

  test('fails when --adopt names a bucket no selected tenant has: exit code 2', async () => {
    const dir = writeConfig([{ name: 'one' }]);
    const result = await cli(['plan', '--config', dir, '--adopt', 'someone-elses-bucket']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--adopt someone-elses-bucket: not the cache\.s3\.bucket of any selected tenant/);
  });

  test('never prints the user name and password of an --endpoint URL (usage error, exit 2)', async () => {
    for (const args of [['--endpoint', 'http://admin:hunter2secret@127.0.0.1:9000'], ['--endpoint=https://admin:hunter2secret@minio.example:9000/path']]) {
      const result = await cli(['plan', ...args]);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/--endpoint must not carry credentials \(https?:\/\/\*\*\*@/);
      expect(`${result.out}${result.err}`).not.toMatch(/hunter2secret|admin:/);
    }
  });

  test('--help prints the usage on stdout and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^usage: npm run buckets -- \[plan\|apply\|policy\]/);
  });

  test('the bundle behind `npm run buckets` / `npm run secrets` runs, directly and through scripts/run.mjs (the npm scripts)', () => {
    const root = path.join(__dirname, '..', '..');
    execFileSync(process.execPath, ['scripts/build.mjs', 'buckets', 'secrets'], { cwd: root });
    for (const start of [['build/buckets.js'], ['scripts/run.mjs', 'buckets']]) {
      const out = execFileSync(process.execPath, [...start, 'policy', '--tenant', 'tenant-1'], { cwd: root, encoding: 'utf8' });
      expect(JSON.parse(out).Statement[0].Resource).toBe('arn:aws:s3:::tenant-1-cache/cache/*');
    }
    for (const start of [['build/secrets.js'], ['scripts/run.mjs', 'secrets']]) {
      const out = execFileSync(process.execPath, [...start, '--help'], { cwd: root, encoding: 'utf8' });
      expect(out).toMatch(/^usage: npm run --silent secrets --/);
    }
  });

  test('fails when an option is bad: exit code 2 and the usage', async () => {
    const result = await cli(['--concurrency', '-1']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/usage: npm run buckets/);
  });
});

describe('report', () => {
  const result = (over: Partial<TenantResult>): TenantResult => ({ tenant: 't', bucket: 't-cache', outcome: 'no-changes', changes: [], unsupported: [], kept: [], durationMs: 1234, ...over });

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

  test('never prints URL credentials: progress lines, summary and JSON report redact user:password@', () => {
    const leaky = result({
      outcome: 'failed',
      bucket: 'http://u:hunter2secret@x',
      unsupported: [{ setting: 'tags', detail: 'http://admin:hunter2secret@minio:9000 does not implement tags' }],
      error: { kind: 'endpoint', message: 'cannot reach https://admin:hunter2secret@minio.example:9000 (ECONNREFUSED)' },
    });
    const run: RunResult = { command: 'plan', failed: true, results: [leaky] };
    const printed = [...progressLines(leaky), summaryTable(run), jsonReport(run)].join('\n');
    expect(printed).not.toMatch(/hunter2secret|admin:|u:/);
    expect(progressLines(leaky)).toContain('    error: cannot reach https://***@minio.example:9000 (ECONNREFUSED)');
    expect(JSON.parse(jsonReport(run)).results[0].error.message).toBe('cannot reach https://***@minio.example:9000 (ECONNREFUSED)');
  });

  test('the verdict says "no changes" when nothing differs, and names settings the endpoint lacks', () => {
    const run: RunResult = { command: 'apply', failed: false, results: [result({ unsupported: [{ setting: 'tags', detail: '' }] })] };
    expect(summaryTable(run).split('\n').slice(-2)).toEqual(['no changes: the bucket is as configured', 'not managed, the endpoint does not implement them: tags']);
  });
});
