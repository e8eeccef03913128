/**
 * `npm run buckets` against a real S3-compatible server (s3rver) on 127.0.0.1.
 *
 * s3rver stores buckets (create, head, list, delete) but answers 501 NotImplemented to public
 * access block, encryption, lifecycle and tagging, 405 to GET ?policy, and takes a PUT
 * ?ownershipControls for CreateBucket (409). For those settings these tests assert by name that
 * the server refused them, and assert the exact request the code sent (bucket, subresource, body)
 * through SDK middleware. Drift of those settings runs through an in-client emulator
 * (`support/settings-emulator.ts`), and the tests using it say so.
 */
import { CreateBucketCommand, DeleteBucketCommand, HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../scripts/buckets/cli';
import { desiredBucket } from '../../scripts/buckets/desired';
import { runBuckets, RunOptions, RunResult } from '../../scripts/buckets/run';
import { readBucket } from '../../scripts/buckets/s3';
import { loadConfig } from '../../lib/config/load';
import type { LoadedConfig } from '../../lib/model/resolve';
import { isWrite, loadFixture, recordRequests, removeConfigs, SentRequest, TenantFixture, useCredentials, writeConfig } from './support/fixtures';
import { ACCOUNT, OTHER_ACCOUNT, SeenRequest, startS3Server, TestS3Server } from './support/s3-server';
import { emulateSettings, EmulatedBucket, EmulatedCall } from './support/settings-emulator';

const KMS_KEY = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const ALL_STORED_BY_CLIENT_ONLY = ['publicAccessBlock', 'ownership', 'encryption', 'lifecycle', 'policy', 'tags'];

let server: TestS3Server;
let restoreCredentials: () => void;

beforeAll(async () => {
  restoreCredentials = useCredentials(ACCOUNT);
  server = await startS3Server();
});

afterAll(async () => {
  await server.stop();
  restoreCredentials();
  removeConfigs();
});

beforeEach(() => {
  server.reset();
  server.setLatency(0);
});

interface Outcome {
  run: RunResult;
  sent: SentRequest[];
  emulated: EmulatedCall[];
}

/** Runs plan or apply the way the CLI does, with request recording (and optionally the emulator). */
async function buckets(
  command: 'plan' | 'apply',
  config: LoadedConfig,
  options: { emulate?: Map<string, EmulatedBucket>; extra?: Partial<RunOptions> } = {},
): Promise<Outcome> {
  let sent: SentRequest[] = [];
  let emulated: EmulatedCall[] = [];
  const run = await runBuckets({
    command,
    platform: config.platform,
    tenants: config.tenants,
    endpoint: server.endpoint,
    pathStyle: true,
    configureClient: (client) => {
      sent = recordRequests(client);
      if (options.emulate) emulated = emulateSettings(client, options.emulate).calls;
    },
    ...options.extra,
  });
  return { run, sent, emulated };
}

function clientFor(account: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({
    region: 'eu-central-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: account,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

async function withClient<T>(account: { accessKeyId: string; secretAccessKey: string }, use: (client: S3Client) => Promise<T>): Promise<T> {
  const client = clientFor(account);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

async function headStatus(client: S3Client, bucket: string): Promise<number> {
  try {
    return (await client.send(new HeadBucketCommand({ Bucket: bucket }))).$metadata.httpStatusCode ?? 0;
  } catch (error) {
    return (error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode;
  }
}

function outcomes(run: RunResult): Record<string, string> {
  return Object.fromEntries(run.results.map((r) => [r.tenant, r.outcome]));
}

/** Runs the CLI in-process; with `emulate`, its clients keep what s3rver cannot store in that map. */
async function cli(args: string[], emulate?: Map<string, EmulatedBucket>): Promise<{ code: number; out: string; err: string; emulated: EmulatedCall[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const emulated: EmulatedCall[][] = [];
  const configureClient = (client: S3Client) => {
    if (emulate) emulated.push(emulateSettings(client, emulate).calls);
  };
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, { configureClient });
  return { code, out: out.join('\n'), err: err.join('\n'), emulated: emulated.flat() };
}

describe('fresh apply', () => {
  test('creates every bucket in the configured region, and reads back what s3rver stores', async () => {
    // GIVEN
    const config = loadFixture([{ name: 'fresh-a' }, { name: 'fresh-b', expireAfterDays: 7 }, { name: 'fresh-kms', encryption: { type: 'KMS', kmsKeyId: KMS_KEY } }]);
    // WHEN
    const { run, sent } = await buckets('apply', config);
    // THEN
    expect(run.failed).toBe(false);
    expect(outcomes(run)).toEqual({ 'fresh-a': 'created', 'fresh-b': 'created', 'fresh-kms': 'created' });
    await withClient(ACCOUNT, async (client) => {
      const names = ((await client.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name);
      expect(names).toEqual(expect.arrayContaining(['fresh-a-cache', 'fresh-b-cache', 'fresh-kms-cache']));
      for (const bucket of ['fresh-a-cache', 'fresh-b-cache', 'fresh-kms-cache']) expect(await headStatus(client, bucket)).toBe(200);
    });
    for (const create of sent.filter((r) => r.command === 'CreateBucketCommand')) {
      expect(create.body).toBe(`<?xml version="1.0" encoding="UTF-8"?><CreateBucketConfiguration ${XMLNS}><LocationConstraint>eu-central-1</LocationConstraint></CreateBucketConfiguration>`);
    }
    // s3rver cannot store these six; each tenant reports them by name instead of pretending.
    for (const result of run.results) expect(result.unsupported.map((u) => u.setting)).toEqual(ALL_STORED_BY_CLIENT_ONLY);
  });

  test('omits LocationConstraint in us-east-1, the one region S3 rejects it for', async () => {
    const config = loadFixture([{ name: 'virginia' }], { region: 'us-east-1' });
    const { run, sent } = await buckets('apply', config);
    expect(outcomes(run)).toEqual({ virginia: 'created' });
    const create = sent.find((r) => r.command === 'CreateBucketCommand')!;
    expect(create.path).toBe('/virginia-cache/');
    expect(create.body).toBe('');
  });

  describe('sends the exact request for each setting s3rver cannot store', () => {
    let sent: SentRequest[];
    let seen: SeenRequest[];
    beforeAll(async () => {
      server.reset();
      const config = loadFixture([
        { name: 'req-s3', expireAfterDays: 7, layersExpireAfterDays: 45 },
        { name: 'req-kms', encryption: { type: 'KMS', kmsKeyId: KMS_KEY } },
      ]);
      ({ sent } = await buckets('apply', config));
      // The top-level beforeEach clears the server log before each test below.
      seen = [...server.requests];
    });

    const only = (bucket: string, command: string) => {
      const found = sent.filter((r) => r.path === `/${bucket}/` && r.command === command);
      expect(found).toHaveLength(1);
      return found[0]!;
    };
    /** What s3rver answered to the PUT of a subresource: proof it did not store the setting. */
    const serverStatus = (bucket: string, subresource: string) =>
      seen.filter((r) => r.method === 'PUT' && r.bucket === bucket && r.query === `${subresource}=`).map((r) => r.status);

    test('in order: head, create, then one PUT per setting, per bucket', () => {
      for (const bucket of ['req-s3-cache', 'req-kms-cache']) {
        expect(sent.filter((r) => r.path === `/${bucket}/`).map((r) => r.command)).toEqual([
          'HeadBucketCommand',
          'CreateBucketCommand',
          'PutPublicAccessBlockCommand',
          'PutBucketOwnershipControlsCommand',
          'PutBucketEncryptionCommand',
          'PutBucketLifecycleConfigurationCommand',
          'PutBucketPolicyCommand',
          'PutBucketTaggingCommand',
        ]);
      }
    });

    test('public access block (s3rver: 501): all four flags on', () => {
      const request = only('req-s3-cache', 'PutPublicAccessBlockCommand');
      expect(request.query).toEqual({ publicAccessBlock: '' });
      expect(request.body).toBe(
        `<?xml version="1.0" encoding="UTF-8"?><PublicAccessBlockConfiguration ${XMLNS}><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`,
      );
      expect(serverStatus('req-s3-cache', 'publicAccessBlock')).toEqual([501]);
    });

    test('object ownership (s3rver: ignores the subresource, 409): BucketOwnerEnforced', () => {
      const request = only('req-s3-cache', 'PutBucketOwnershipControlsCommand');
      expect(request.query).toEqual({ ownershipControls: '' });
      expect(request.body).toBe(`<?xml version="1.0" encoding="UTF-8"?><OwnershipControls ${XMLNS}><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>`);
      expect(serverStatus('req-s3-cache', 'ownershipControls')).toEqual([409]);
    });

    test('default encryption (s3rver: 501): SSE-S3, or SSE-KMS with the tenant key and a bucket key', () => {
      expect(only('req-s3-cache', 'PutBucketEncryptionCommand').body).toBe(
        `<?xml version="1.0" encoding="UTF-8"?><ServerSideEncryptionConfiguration ${XMLNS}><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
      );
      expect(only('req-kms-cache', 'PutBucketEncryptionCommand').body).toBe(
        `<?xml version="1.0" encoding="UTF-8"?><ServerSideEncryptionConfiguration ${XMLNS}><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>${KMS_KEY}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
      );
      expect(serverStatus('req-s3-cache', 'encryption')).toEqual([501]);
      expect(serverStatus('req-kms-cache', 'encryption')).toEqual([501]);
    });

    test('lifecycle (s3rver: 501): cache/ and layers/ expiry from the tenant, abort incomplete uploads after 1 day', () => {
      const request = only('req-s3-cache', 'PutBucketLifecycleConfigurationCommand');
      expect(request.query).toEqual({ lifecycle: '' });
      expect(request.body).toBe(
        `<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration ${XMLNS}>` +
          '<Rule><Status>Enabled</Status><ID>tenant-runners-abort-incomplete-multipart</ID><Filter><Prefix></Prefix></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>' +
          '<Rule><Status>Enabled</Status><Expiration><Days>7</Days></Expiration><ID>tenant-runners-cache-expiry</ID><Filter><Prefix>cache/</Prefix></Filter></Rule>' +
          '<Rule><Status>Enabled</Status><Expiration><Days>45</Days></Expiration><ID>tenant-runners-layers-expiry</ID><Filter><Prefix>layers/</Prefix></Filter></Rule>' +
          '</LifecycleConfiguration>',
      );
      // Defaults: 14 days for cache/, 30 for layers/.
      expect(only('req-kms-cache', 'PutBucketLifecycleConfigurationCommand').body).toMatch(
        /<Days>14<\/Days><\/Expiration><ID>tenant-runners-cache-expiry<\/ID>.*<Days>30<\/Days><\/Expiration><ID>tenant-runners-layers-expiry<\/ID>/,
      );
      expect(serverStatus('req-s3-cache', 'lifecycle')).toEqual([501]);
    });

    test('bucket policy (s3rver: 501): deny every request without TLS, on the bucket and its objects', () => {
      const request = only('req-s3-cache', 'PutBucketPolicyCommand');
      expect(request.query).toEqual({ policy: '' });
      expect(JSON.parse(request.body)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: ['arn:aws:s3:::req-s3-cache', 'arn:aws:s3:::req-s3-cache/*'],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      });
      expect(serverStatus('req-s3-cache', 'policy')).toEqual([501]);
    });

    test('tags (s3rver: 501): tenant and managed-by', () => {
      const request = only('req-kms-cache', 'PutBucketTaggingCommand');
      expect(request.query).toEqual({ tagging: '' });
      expect(request.body).toBe(
        `<?xml version="1.0" encoding="UTF-8"?><Tagging ${XMLNS}><TagSet><Tag><Key>managed-by</Key><Value>tenant-runners</Value></Tag><Tag><Key>tenant</Key><Value>req-kms</Value></Tag></TagSet></Tagging>`,
      );
      expect(serverStatus('req-kms-cache', 'tagging')).toEqual([501]);
    });

    test('versioning: no request on a new bucket, which has it off already', () => {
      expect(sent.filter((r) => r.command === 'PutBucketVersioningCommand')).toEqual([]);
    });
  });
});

describe('idempotence', () => {
  test('a second apply reports "no changes" and makes no write call (in-client emulator keeps the tags that prove ownership)', async () => {
    // GIVEN a configuration applied once
    const store = new Map<string, EmulatedBucket>();
    const dir = writeConfig([{ name: 'again-a' }, { name: 'again-b' }]);
    const args = ['apply', '--config', dir, '--endpoint', server.endpoint, '--path-style'];
    expect((await cli(args, store)).code).toBe(0);
    server.reset();
    // WHEN
    const second = await cli(args, store);
    const { run, sent } = await buckets('apply', loadConfig(dir), { emulate: store });
    // THEN
    expect(second.code).toBe(0);
    expect(second.err).toMatch(/^again-a: again-a-cache: no changes$/m);
    expect(second.err).toMatch(/^no changes: all 2 buckets are as configured$/m);
    expect(second.emulated.filter((c) => c.command.startsWith('Put'))).toEqual([]);
    expect(outcomes(run)).toEqual({ 'again-a': 'no-changes', 'again-b': 'no-changes' });
    expect(sent.filter(isWrite)).toEqual([]);
    expect(server.writes()).toEqual([]);
    expect(server.requests.length).toBeGreaterThan(0);
  });

  test('with every setting stored (in-client emulator for what s3rver lacks), a second apply writes nothing', async () => {
    const store = new Map<string, EmulatedBucket>();
    const config = loadFixture([{ name: 'full-a' }, { name: 'full-kms', encryption: { type: 'KMS', kmsKeyId: KMS_KEY } }]);
    const first = await buckets('apply', config, { emulate: store });
    expect(outcomes(first.run)).toEqual({ 'full-a': 'created', 'full-kms': 'created' });
    expect(first.run.results.flatMap((r) => r.unsupported)).toEqual([]);
    server.reset();

    const second = await buckets('apply', config, { emulate: store });
    expect(outcomes(second.run)).toEqual({ 'full-a': 'no-changes', 'full-kms': 'no-changes' });
    expect(second.emulated.filter((c) => c.command.startsWith('Put'))).toEqual([]);
    expect(second.sent.filter(isWrite)).toEqual([]);
    expect(server.writes()).toEqual([]);
  });
});

describe('drift', () => {
  test('a bucket deleted behind our back (settings in the in-client emulator): plan says create, apply recreates only it', async () => {
    const store = new Map<string, EmulatedBucket>();
    const config = loadFixture([{ name: 'gone' }, { name: 'stays' }]);
    await buckets('apply', config, { emulate: store });
    await withClient(ACCOUNT, (client) => client.send(new DeleteBucketCommand({ Bucket: 'gone-cache' })));
    store.delete('gone-cache');
    server.reset();

    const plan = await buckets('plan', config, { emulate: store });
    expect(outcomes(plan.run)).toEqual({ gone: 'create', stays: 'no-changes' });
    expect(server.writes()).toEqual([]);

    const apply = await buckets('apply', config, { emulate: store });
    expect(outcomes(apply.run)).toEqual({ gone: 'created', stays: 'no-changes' });
    expect(server.writes('stays-cache')).toEqual([]);
    await withClient(ACCOUNT, async (client) => expect(await headStatus(client, 'gone-cache')).toBe(200));
    expect(outcomes((await buckets('plan', config, { emulate: store })).run)).toEqual({ gone: 'no-changes', stays: 'no-changes' });
  });

  test('a deleted tenant tag and lifecycle rule, and versioning turned on (in-client emulator): plan names them, apply fixes exactly those', async () => {
    // GIVEN buckets converged once, then changed by hand
    const store = new Map<string, EmulatedBucket>();
    const config = loadFixture([{ name: 'drift-a' }, { name: 'drift-b' }]);
    await buckets('apply', config, { emulate: store });
    const drifted = store.get('drift-a-cache')!;
    drifted.tags = [
      { Key: 'managed-by', Value: 'tenant-runners' },
      { Key: 'cost-center', Value: 'cc-42' },
    ];
    drifted.lifecycle = drifted.lifecycle!.filter((rule) => rule.ID !== 'tenant-runners-layers-expiry');
    drifted.versioning = 'Enabled';
    server.reset();

    // WHEN planned
    const plan = await buckets('plan', config, { emulate: store });
    // THEN the differences are named, and nothing is written
    expect(outcomes(plan.run)).toEqual({ 'drift-a': 'update', 'drift-b': 'no-changes' });
    expect(plan.run.results[0]!.changes).toEqual([
      {
        setting: 'lifecycle',
        details: ['rule tenant-runners-layers-expiry: missing, want enabled, prefix "layers/", expire after 30 days'],
      },
      { setting: 'versioning', details: ['Enabled, want Suspended (cache buckets keep no object versions)'] },
      { setting: 'tags', details: ['tag tenant: missing, want "drift-a"'] },
    ]);
    expect(plan.emulated.filter((c) => c.command.startsWith('Put'))).toEqual([]);
    expect(server.writes()).toEqual([]);

    // WHEN applied
    const apply = await buckets('apply', config, { emulate: store });
    // THEN only the three drifted settings of the drifted bucket are written
    expect(outcomes(apply.run)).toEqual({ 'drift-a': 'updated', 'drift-b': 'no-changes' });
    expect(apply.emulated.filter((c) => c.command.startsWith('Put')).map((c) => `${c.bucket} ${c.command}`)).toEqual([
      'drift-a-cache PutBucketLifecycleConfigurationCommand',
      'drift-a-cache PutBucketVersioningCommand',
      'drift-a-cache PutBucketTaggingCommand',
    ]);
    // A tag someone else added survives: PutBucketTagging replaces the whole set.
    expect(store.get('drift-a-cache')!.tags).toEqual([
      { Key: 'cost-center', Value: 'cc-42' },
      { Key: 'managed-by', Value: 'tenant-runners' },
      { Key: 'tenant', Value: 'drift-a' },
    ]);
    expect(store.get('drift-a-cache')!.versioning).toBe('Suspended');
    expect(outcomes((await buckets('plan', config, { emulate: store })).run)).toEqual({ 'drift-a': 'no-changes', 'drift-b': 'no-changes' });
  });

  test('a policy that allows plain HTTP and SSE-S3 swapped for KMS (in-client emulator) are detected and replaced', async () => {
    const store = new Map<string, EmulatedBucket>();
    const config = loadFixture([{ name: 'drift-p' }]);
    await buckets('apply', config, { emulate: store });
    const bucket = store.get('drift-p-cache')!;
    bucket.policy = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    bucket.encryption = { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: false }] };
    bucket.publicAccessBlock = { ...bucket.publicAccessBlock, RestrictPublicBuckets: false };

    const plan = await buckets('plan', config, { emulate: store });
    expect(plan.run.results[0]!.changes.map((c) => c.setting)).toEqual(['publicAccessBlock', 'encryption', 'policy']);
    const apply = await buckets('apply', config, { emulate: store });
    expect(apply.emulated.filter((c) => c.command.startsWith('Put')).map((c) => c.command)).toEqual([
      'PutPublicAccessBlockCommand',
      'PutBucketEncryptionCommand',
      'PutBucketPolicyCommand',
    ]);
    expect(JSON.parse(store.get('drift-p-cache')!.policy!).Statement[0].Sid).toBe('DenyInsecureTransport');
  });
});

describe('safety', () => {
  test('fails when a bucket belongs to another account (403 on HeadBucket), and the other tenants still proceed', async () => {
    // GIVEN a bucket of another account with the name a tenant wants
    await withClient(OTHER_ACCOUNT, (client) => client.send(new CreateBucketCommand({ Bucket: 'taken-cache' })));
    const dir = writeConfig([{ name: 'mine-a' }, { name: 'taken' }, { name: 'mine-b' }]);
    server.reset();
    // WHEN
    const result = await cli(['apply', '--config', dir, '--endpoint', server.endpoint, '--path-style']);
    // THEN
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^taken: taken-cache: FAILED$/m);
    expect(result.err).toMatch(/bucket taken-cache exists but this identity may not read it \(403\): it belongs to another account/);
    expect(result.err).toMatch(/^taken\s+taken-cache\s+FAILED \(foreign-bucket\)/m);
    expect(result.err).toMatch(/^mine-a\s+mine-a-cache\s+created/m);
    expect(result.err).toMatch(/^mine-b\s+mine-b-cache\s+created/m);
    expect(result.err).toMatch(/^1 of 3 tenants failed$/m);
    expect(server.writes('taken-cache')).toEqual([]);
    await withClient(OTHER_ACCOUNT, async (client) => expect(await headStatus(client, 'taken-cache')).toBe(200));
    await withClient(ACCOUNT, async (client) => expect(await headStatus(client, 'mine-b-cache')).toBe(200));
  });

  test('fails when the name is taken between HeadBucket and CreateBucket (BucketAlreadyExists), writing nothing to it', async () => {
    await withClient(OTHER_ACCOUNT, (client) => client.send(new CreateBucketCommand({ Bucket: 'raced-cache' })));
    server.hideFromHead('raced-cache');
    server.reset();
    const { run } = await buckets('apply', loadFixture([{ name: 'raced' }, { name: 'unraced' }]));
    expect(outcomes(run)).toEqual({ raced: 'failed', unraced: 'created' });
    expect(run.results[0]!.error).toEqual({
      kind: 'foreign-bucket',
      message: 'bucket name raced-cache is taken by another account (BucketAlreadyExists); bucket names are global, choose another cache.s3.bucket',
    });
    expect(server.writes('raced-cache').map((r) => [r.method, r.query, r.status])).toEqual([['PUT', '', 409]]);
    expect(run.failed).toBe(true);
  });

  test('a bucket created in this account between HeadBucket and CreateBucket (BucketAlreadyOwnedByYou) is read again and refused, not configured (in-client emulator)', async () => {
    // GIVEN another team of the same account creates the name right after our HeadBucket
    await withClient(ACCOUNT, (client) => client.send(new CreateBucketCommand({ Bucket: 'late-cache' })));
    server.hideFromHead('late-cache', 1);
    server.reset();
    // WHEN
    const store = new Map<string, EmulatedBucket>();
    const { run, sent } = await buckets('apply', loadFixture([{ name: 'late' }]), { emulate: store });
    // THEN
    expect(sent.filter((r) => r.path === '/late-cache/').map((r) => r.command)).toEqual(['HeadBucketCommand', 'CreateBucketCommand', 'HeadBucketCommand']);
    expect(server.writes('late-cache').map((r) => [r.method, r.query, r.status])).toEqual([['PUT', '', 409]]);
    expect(run.results[0]).toMatchObject({ outcome: 'failed', error: { kind: 'not-managed', message: expect.stringMatching(/^bucket late-cache exists but tenant-runners did not create it/) } });
    expect(store.get('late-cache')?.tags).toBeUndefined();
  });

  test('fails when AWS (no endpoint configured) answers a setting as not implemented, instead of skipping it', async () => {
    // GIVEN an existing bucket, read as if the client talked to AWS
    const config = loadFixture([{ name: 'strict' }]);
    await buckets('apply', config);
    const spec = desiredBucket(config.tenants[0]!, config.platform);
    // WHEN / THEN
    await withClient(ACCOUNT, async (client) => {
      await expect(readBucket(client, spec, undefined)).rejects.toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/public access block of strict-cache: not implemented/) });
      // The same answers from a configured S3-compatible endpoint are tolerated and reported.
      const actual = await readBucket(client, spec, server.endpoint);
      expect(actual!.publicAccessBlock).toEqual({ state: 'unsupported', detail: `${server.endpoint} does not implement public access block (NotImplemented, HTTP 501)` });
    });
  });
});

describe('buckets tenant-runners did not create (settings in the in-client emulator)', () => {
  const THEIR_KEY = 'arn:aws:kms:eu-central-1:111122223333:key/9999aaaa-12ab-34cd-56ef-1234567890ab';
  const partnerGrant = {
    Sid: 'PartnerRead',
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::444455556666:role/partner' },
    Action: ['s3:GetObject', 's3:ListBucket'],
    Resource: ['arn:aws:s3:::shared-cache', 'arn:aws:s3:::shared-cache/*'],
  };
  const archiveRule = {
    ID: 'archive-reports',
    Status: 'Enabled',
    Filter: { And: { Prefix: 'reports/', Tags: [{ Key: 'class', Value: 'archive' }] } },
    Transitions: [{ Days: 30, StorageClass: 'GLACIER' }],
    NoncurrentVersionExpiration: { NoncurrentDays: 90 },
  };
  /** A bucket of the same account, set up by another team: the incident's bucket. */
  const theirBucket = (): EmulatedBucket => ({
    publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    ownership: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    encryption: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: THEIR_KEY }, BucketKeyEnabled: true }] },
    lifecycle: [structuredClone(archiveRule)],
    lifecycleTransitionDefault: 'varies_by_storage_class',
    policy: JSON.stringify({ Version: '2012-10-17', Statement: [partnerGrant] }),
    versioning: 'Enabled',
    tags: [{ Key: 'team', Value: 'reports' }],
  });
  let dir: string;
  let store: Map<string, EmulatedBucket>;
  let args: string[];

  beforeEach(async () => {
    await withClient(ACCOUNT, async (client) => {
      for (const Bucket of ['shared-cache', 'fresh-one-cache']) await client.send(new DeleteBucketCommand({ Bucket })).catch(() => undefined);
      await client.send(new CreateBucketCommand({ Bucket: 'shared-cache' }));
    });
    // The tenant's bucket setting is configured SSE-S3, which is weaker than the bucket's KMS key.
    dir = writeConfig([{ name: 'shared' }, { name: 'fresh-one' }]);
    store = new Map([['shared-cache', theirBucket()]]);
    args = ['--config', dir, '--endpoint', server.endpoint, '--path-style'];
    server.reset();
  });

  test('fails when apply meets a bucket without the managed-by tag: refused, exit 1, not one write to it; the other tenant proceeds', async () => {
    const result = await cli(['apply', ...args], store);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^shared: shared-cache: FAILED$/m);
    expect(result.err).toMatch(/error: bucket shared-cache exists but tenant-runners did not create it \(no tag managed-by=tenant-runners\); it is not touched; pass --adopt shared-cache/);
    expect(result.err).toMatch(/^shared\s+shared-cache\s+FAILED \(not-managed\)/m);
    expect(result.err).toMatch(/^fresh-one\s+fresh-one-cache\s+created/m);
    expect(result.emulated.filter((c) => c.bucket === 'shared-cache' && !c.command.startsWith('Get'))).toEqual([]);
    expect(server.writes('shared-cache')).toEqual([]);
    expect(store.get('shared-cache')).toEqual(theirBucket());
  });

  test('plan --adopt shows the merge and what is kept, exits 1 (changes pending), and writes nothing', async () => {
    const result = await cli(['plan', '--adopt', 'shared-cache', ...args], store);
    expect(result.code).toBe(1);
    const lines = result.err.split('\n');
    const block = lines.slice(lines.indexOf('shared: shared-cache: would update (3 settings) [adopted: merged, nothing of others removed]'));
    expect(block.slice(0, 11)).toEqual([
      'shared: shared-cache: would update (3 settings) [adopted: merged, nothing of others removed]',
      '    lifecycle rules: rule tenant-runners-abort-incomplete-multipart: missing, want enabled, prefix "", abort incomplete multipart uploads after 1 days',
      '    lifecycle rules: rule tenant-runners-cache-expiry: missing, want enabled, prefix "cache/", expire after 14 days',
      '    lifecycle rules: rule tenant-runners-layers-expiry: missing, want enabled, prefix "layers/", expire after 30 days',
      '    bucket policy: add statement DenyInsecureTransport (deny all requests without TLS (DenyInsecureTransport)); statements kept: PartnerRead',
      '    tags: tag managed-by: missing, want "tenant-runners"',
      '    tags: tag tenant: missing, want "shared"',
      '    tags: tag tenant-runners-adopted: missing, want "true"',
      `    kept: default encryption: SSE-KMS key ${THEIR_KEY} with bucket key, want SSE-S3: kept (adopted bucket: never changed to a weaker default encryption); new objects are encrypted with key ${THEIR_KEY}, so the runner role needs kms:Decrypt and kms:GenerateDataKey on it`,
      '    kept: lifecycle rules: rules not written by tenant-runners, written back unchanged: archive-reports',
      "    kept: versioning: Enabled: kept (adopted bucket: versioning is never suspended); noncurrent versions are not expired by tenant-runners' rules",
    ]);
    expect(result.emulated.filter((c) => !c.command.startsWith('Get'))).toEqual([]);
    expect(server.writes('shared-cache')).toEqual([]);
  });

  test('apply --adopt merges: their statement, rule (verbatim), tags, KMS key and versioning survive; a later plan without --adopt has no changes', async () => {
    // WHEN
    const result = await cli(['apply', '--adopt', 'shared-cache', ...args], store);
    // THEN only lifecycle, policy and tags are written to it, each keeping what was there
    expect(result.code).toBe(0);
    expect(result.emulated.filter((c) => c.bucket === 'shared-cache' && c.command.startsWith('Put')).map((c) => c.command)).toEqual([
      'PutBucketLifecycleConfigurationCommand',
      'PutBucketPolicyCommand',
      'PutBucketTaggingCommand',
    ]);
    const bucket = store.get('shared-cache')!;
    expect(bucket.lifecycle).toEqual([
      archiveRule,
      { ID: 'tenant-runners-abort-incomplete-multipart', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
      { ID: 'tenant-runners-cache-expiry', Status: 'Enabled', Filter: { Prefix: 'cache/' }, Expiration: { Days: 14 } },
      { ID: 'tenant-runners-layers-expiry', Status: 'Enabled', Filter: { Prefix: 'layers/' }, Expiration: { Days: 30 } },
    ]);
    expect(bucket.lifecycleTransitionDefault).toBe('varies_by_storage_class');
    expect(JSON.parse(bucket.policy!).Statement).toEqual([
      partnerGrant,
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: ['arn:aws:s3:::shared-cache', 'arn:aws:s3:::shared-cache/*'],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
    expect(bucket.tags).toEqual([
      { Key: 'managed-by', Value: 'tenant-runners' },
      { Key: 'team', Value: 'reports' },
      { Key: 'tenant', Value: 'shared' },
      { Key: 'tenant-runners-adopted', Value: 'true' },
    ]);
    expect(bucket.versioning).toBe('Enabled');
    expect(bucket.encryption).toEqual(theirBucket().encryption);
    expect(bucket.publicAccessBlock).toEqual(theirBucket().publicAccessBlock);
    expect(server.writes('shared-cache')).toEqual([]);

    // WHEN planned again, without --adopt: the adopted tag keeps it in merge mode
    server.reset();
    const again = await cli(['plan', ...args], store);
    expect(again.err).toMatch(/^shared: shared-cache: no changes \[adopted: merged, nothing of others removed\]$/m);
    expect(again.err).toMatch(/^no changes: all 2 buckets are as configured$/m);
    expect(again.code).toBe(0);
  });

  test('fails when the bucket is tagged for another tenant, even with --adopt', async () => {
    store.get('shared-cache')!.tags = [{ Key: 'managed-by', Value: 'tenant-runners' }, { Key: 'tenant', Value: 'someone-else' }];
    const result = await cli(['apply', '--adopt', 'shared-cache', ...args], store);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/bucket shared-cache is tagged tenant="someone-else", not "shared": it holds another tenant's cache/);
    expect(result.emulated.filter((c) => c.bucket === 'shared-cache' && c.command.startsWith('Put'))).toEqual([]);
  });

  test('fails when s3rver cannot report tags (no emulator): an existing bucket is refused, since ownership cannot be proven', async () => {
    const { run, sent } = await buckets('apply', loadConfig(dir));
    expect(outcomes(run)).toEqual({ shared: 'failed', 'fresh-one': 'created' });
    expect(run.results.find((r) => r.tenant === 'shared')!.error!.message).toMatch(/^cannot tell whether bucket shared-cache is tenant-runners' \(its tags cannot be read: http:\/\/127\.0\.0\.1:\d+ does not implement tags \(NotImplemented, HTTP 501\)\)/);
    expect(sent.filter((r) => r.path === '/shared-cache/' && isWrite(r))).toEqual([]);
    expect(server.writes('shared-cache')).toEqual([]);
  });
});

describe('multi-cluster layout (config/clusters/<cluster>/)', () => {
  const FIXTURE = path.join(__dirname, '..', 'fixtures', 'valid', 'clusters');
  const copies: string[] = [];
  afterAll(() => copies.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  /** A copy of the clusters fixture with files edited: `edits[relativePath] = (text) => newText`. */
  function fixtureCopy(edits: Record<string, (text: string) => string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buckets-clusters-'));
    copies.push(dir);
    fs.cpSync(FIXTURE, dir, { recursive: true });
    for (const [file, edit] of Object.entries(edits)) fs.writeFileSync(path.join(dir, file), edit(fs.readFileSync(path.join(dir, file), 'utf8')));
    return dir;
  }
  const withEndpoint = (region: string) => (text: string) => text.replace(/s3:\n  region: eu-central-1\n/, `s3:\n  region: ${region}\n  endpoint: ${server.endpoint}\n  pathStyle: true\n`);

  beforeEach(async () => {
    await withClient(ACCOUNT, async (client) => {
      for (const Bucket of ['tenant-1-cache', 'tenant-2-cache', 'staging-tenant-1-cache']) await client.send(new DeleteBucketCommand({ Bucket })).catch(() => undefined);
    });
    server.reset();
  });

  test('plan reads every cluster of test/fixtures/valid/clusters and groups the output by cluster', async () => {
    const result = await cli(['plan', '--config', FIXTURE, '--endpoint', server.endpoint, '--path-style'], new Map());
    expect(result.code).toBe(1);
    const lines = result.err.split('\n');
    const at = (line: string) => lines.indexOf(line);
    expect(at(`cluster prod: region eu-central-1, endpoint ${server.endpoint}`)).toBe(0);
    expect(lines.filter((l) => /^(cluster |\S+\/tenant-\d: )/.test(l))).toEqual([
      `cluster prod: region eu-central-1, endpoint ${server.endpoint}`,
      'prod/tenant-1: tenant-1-cache: would create (6 settings)',
      'prod/tenant-2: tenant-2-cache: would create (6 settings)',
      `cluster staging: region eu-central-1, endpoint ${server.endpoint}`,
      'staging/tenant-1: tenant-1-cache: would create (6 settings)',
    ]);
    expect(result.err).toMatch(/^CLUSTER\s+TENANT\s+BUCKET\s+RESULT/m);
    expect(result.err).toMatch(/^staging\s+tenant-1\s+tenant-1-cache\s+would create/m);
    expect(server.writes()).toEqual([]);
  });

  test('--cluster selects one cluster; an unknown one is a usage error; policy needs it when the tenant is in several', async () => {
    const staging = await cli(['plan', '--cluster', 'staging', '--json', '--config', FIXTURE, '--endpoint', server.endpoint, '--path-style'], new Map());
    expect(JSON.parse(staging.out).results.map((r: { cluster: string; tenant: string }) => `${r.cluster}/${r.tenant}`)).toEqual(['staging/tenant-1']);
    expect(staging.err).not.toMatch(/^prod/m);
    const unknown = await cli(['plan', '--cluster=qa', '--config', FIXTURE]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no cluster named qa/);
    const ambiguous = await cli(['policy', '--tenant', 'tenant-1', '--config', FIXTURE]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toMatch(/tenant tenant-1 is in clusters prod, staging; choose one with --cluster NAME/);
    const chosen = await cli(['policy', '--tenant', 'tenant-2', '--config', FIXTURE]);
    expect(chosen.code).toBe(0);
    expect(JSON.parse(chosen.out).Statement[0].Resource).toBe('arn:aws:s3:::tenant-2-cache/cache/*');
  });

  test("apply uses each cluster's own s3 settings: region (LocationConstraint) and endpoint from its platform.yaml", async () => {
    const dir = fixtureCopy({
      'clusters/prod/platform.yaml': withEndpoint('eu-central-1'),
      'clusters/staging/platform.yaml': withEndpoint('us-east-1'),
      'clusters/staging/tenants/tenant-1.yaml': (text) => text.replace('bucket: tenant-1-cache', 'bucket: staging-tenant-1-cache'),
    });
    // Each cluster gets its own client; collect what every one of them sent.
    const perClient: SentRequest[][] = [];
    const store = new Map<string, EmulatedBucket>();
    const out: string[] = [];
    const code = await main(['apply', '--config', dir], { out: (t) => out.push(t), err: (t) => out.push(t) }, {
      configureClient: (client) => {
        perClient.push(recordRequests(client));
        emulateSettings(client, store);
      },
    });
    const all = perClient.flat();
    expect(perClient).toHaveLength(2);
    expect(code).toBe(0);
    const creates = Object.fromEntries(all.filter((r) => r.command === 'CreateBucketCommand').map((r) => [r.path, r.body]));
    expect(creates).toEqual({
      '/tenant-1-cache/': expect.stringContaining('<LocationConstraint>eu-central-1</LocationConstraint>'),
      '/tenant-2-cache/': expect.stringContaining('<LocationConstraint>eu-central-1</LocationConstraint>'),
      '/staging-tenant-1-cache/': '',
    });
    expect(out.join('\n')).toMatch(/^staging\/tenant-1: staging-tenant-1-cache: created/m);
  });

  test('fails when two clusters configure one bucket differently: neither is touched, the others proceed', async () => {
    const dir = fixtureCopy({
      'clusters/staging/tenants/tenant-1.yaml': (text) => text.replace('bucket: tenant-1-cache', 'bucket: tenant-1-cache\n    expireAfterDays: 3'),
    });
    const result = await cli(['apply', '--config', dir, '--endpoint', server.endpoint, '--path-style'], new Map());
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^prod\/tenant-1: tenant-1-cache: FAILED\n {4}error: bucket tenant-1-cache is also the cache\.s3\.bucket of staging\/tenant-1, configured differently/m);
    expect(result.err).toMatch(/^staging\/tenant-1: tenant-1-cache: FAILED\n {4}error: bucket tenant-1-cache is also the cache\.s3\.bucket of prod\/tenant-1/m);
    expect(result.err).toMatch(/^prod\/tenant-2: tenant-2-cache: created/m);
    expect(server.requests.filter((r) => r.bucket === 'tenant-1-cache')).toEqual([]);
  });
});

describe('robustness', () => {
  const many = (prefix: string, count: number): TenantFixture[] => Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}` }));

  test.each([
    ['1', 1, 1],
    ['3', 3, 3],
    ['the default, 4,', undefined, 4],
  ])('never has more than --concurrency %s tenants in flight (measured on the server)', async (_label, concurrency, expected) => {
    server.setLatency(25);
    const config = loadFixture(many(`conc${concurrency ?? 'd'}`, 6));
    const { run } = await buckets('apply', config, { extra: concurrency === undefined ? {} : { concurrency } });
    expect(run.failed).toBe(false);
    // Each tenant sends one request at a time, so requests in flight are tenants in flight; with
    // 6 tenants and 25 ms per request, every worker is busy at once.
    expect(server.maxInFlight).toBe(expected);
  });

  test('retries throttling (503 SlowDown) with backoff and succeeds', async () => {
    server.failNext('throttled-cache', 2);
    const { run } = await buckets('apply', loadFixture([{ name: 'throttled' }]));
    expect(outcomes(run)).toEqual({ throttled: 'created' });
    expect(server.requests.filter((r) => r.bucket === 'throttled-cache' && r.method === 'HEAD').map((r) => r.status)).toEqual([503, 503, 404]);
  });

  test('fails when a bucket is in another region (301 PermanentRedirect), saying both regions', async () => {
    server.placeInRegion('elsewhere-cache', 'us-west-2');
    const { run } = await buckets('plan', loadFixture([{ name: 'elsewhere' }, { name: 'here' }]));
    expect(outcomes(run)).toEqual({ elsewhere: 'failed', here: 'create' });
    expect(run.results[0]!.error!.kind).toBe('wrong-region');
    expect(run.results[0]!.error!.message).toMatch(/bucket elsewhere-cache is in region us-west-2, but s3.region in platform.yaml is eu-central-1/);
  });

  test('fails when the endpoint is unreachable, with a clear message', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const { run } = await buckets('plan', loadFixture([{ name: 'unreachable' }]), { extra: { endpoint: `http://127.0.0.1:${closedPort}` } });
    expect(run.results[0]!.error!.kind).toBe('endpoint');
    expect(run.results[0]!.error!.message).toMatch(new RegExp(`cannot reach http://127.0.0.1:${closedPort} \\(ECONNREFUSED\\) after 5 attempts`));
  });

  test('fails when the default chain finds no credentials, before any request', async () => {
    const restore = useCredentials(undefined);
    try {
      const dir = writeConfig([{ name: 'nocreds' }]);
      const result = await cli(['plan', '--config', dir, '--endpoint', server.endpoint, '--path-style']);
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/^error: no AWS credentials found \(.*\)\. Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/m);
      expect(server.requests).toEqual([]);
    } finally {
      restore();
    }
  });

  test('fails when the access key is unknown, as a credentials error rather than a foreign bucket', async () => {
    // s3rver checks that the access key exists (it does not verify SigV4 signatures).
    const restore = useCredentials({ accessKeyId: 'NOSUCHKEY', secretAccessKey: 'whatever' });
    try {
      const { run } = await buckets('plan', loadFixture([{ name: 'badkey' }]));
      expect(run.results[0]!.error).toEqual({
        kind: 'credentials',
        message: 'HeadBucket badkey-cache: the credentials were rejected (InvalidAccessKeyId); check AWS_PROFILE / AWS_ACCESS_KEY_ID or the role session',
      });
    } finally {
      restore();
    }
  });
});

describe('--json', () => {
  test('prints one machine-readable document on stdout with each tenant outcome', async () => {
    const dir = writeConfig([{ name: 'json-a' }]);
    const result = await cli(['plan', '--json', '--config', dir, '--endpoint', server.endpoint, '--path-style']);
    // Changes are pending (a bucket to create): plan exits 1, like diff.
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.out);
    expect(doc).toMatchObject({ command: 'plan', failed: false, results: [{ tenant: 'json-a', bucket: 'json-a-cache', outcome: 'create' }] });
    expect(doc.results[0].changes.map((c: { setting: string }) => c.setting)).toEqual(ALL_STORED_BY_CLIENT_ONLY);
  });
});
