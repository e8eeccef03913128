/** `npm run buckets -- policy --tenant NAME`: the runner role's least-privilege IAM policy. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACCESS_MODEL, AccessNeed, PolicyInputError, runnerPolicy } from '../../scripts/buckets/iam';
import type { PolicyStatement } from '../../scripts/buckets/desired';
import { loadConfig } from '../../lib/config/load';
import { removeConfigs, loadFixture, TenantFixture } from './support/fixtures';

afterAll(removeConfigs);

function policyFor(tenant: Partial<TenantFixture> = {}, s3: Record<string, unknown> = {}) {
  const { platform, tenants } = loadFixture([{ name: 'acme', ...tenant }], s3);
  return runnerPolicy(tenants[0]!, platform);
}

const OBJECTS = {
  Sid: 'CacheObjects',
  Effect: 'Allow',
  Action: ['s3:DeleteObject', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
  Resource: 'arn:aws:s3:::acme-cache/cache/*',
};
const LIST = {
  Sid: 'CacheList',
  Effect: 'Allow',
  Action: 's3:ListBucket',
  Resource: 'arn:aws:s3:::acme-cache',
  Condition: { StringLike: { 's3:prefix': ['cache', 'cache/*'] } },
};

test('SSE-S3, registry mode: the runner cache\'s object actions on cache/* and ListBucket limited to cache/, nothing else', () => {
  expect(policyFor()).toEqual({ Version: '2012-10-17', Statement: [OBJECTS, LIST] });
});

test('no statement grants anything beyond the tenant bucket', () => {
  for (const policy of [policyFor(), policyFor({ kanikoMode: 's3' })]) {
    const resources = policy.Statement.flatMap((s) => [s.Resource].flat());
    expect(resources.every((r) => ['arn:aws:s3:::acme-cache', 'arn:aws:s3:::acme-cache/cache/*', 'arn:aws:s3:::acme-cache/layers/*'].includes(r))).toBe(true);
    expect(policy.Statement.every((s) => s.Effect === 'Allow' && ![s.Action].flat().some((a) => a.includes('*')))).toBe(true);
  }
});

/** Actions a policy allows on a resource (with or without a condition), sorted. */
function allowed(statements: readonly PolicyStatement[], resource: string): string[] {
  return statements.filter((s) => [s.Resource].flat().includes(resource)).flatMap((s) => [s.Action].flat()).sort();
}

describe('mode s3: the policy is the model of the runner cache and the cache registry, nothing more', () => {
  const policy = policyFor({ kanikoMode: 's3' });
  const bucket = 'arn:aws:s3:::acme-cache';
  const expectFromModel = (need: AccessNeed) => {
    expect(allowed(policy.Statement, `${bucket}/${need.prefix}*`)).toEqual([...need.objectActions].sort());
    const list = policy.Statement.find((s) => s.Sid === `${need.sid}List`)!;
    expect(list).toEqual({ Sid: `${need.sid}List`, Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket, Condition: { StringLike: { 's3:prefix': [need.prefix.slice(0, -1), `${need.prefix}*`] } } });
  };

  test('runner cache: its object actions on cache/*, listing limited to cache/', () => expectFromModel(ACCESS_MODEL.runnerCache));
  test('cache registry: its object actions on layers/*, listing limited to layers/', () => expectFromModel(ACCESS_MODEL.cacheRegistry));

  test('bucket-level actions are exactly ListBucket and the registry\'s GetBucketLocation and ListBucketMultipartUploads', () => {
    expect(allowed(policy.Statement, bucket)).toEqual(['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucket', 's3:ListBucketMultipartUploads']);
  });

  test('holds the multipart and location actions docs/buckets.md says mode s3 needs', () => {
    // "In mode `s3` the role (or keys) must also allow the registry on `layers/*`: … and on the bucket …"
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'buckets.md'), 'utf8');
    const sentence = /In mode `s3` the role \(or keys\) must also allow the registry on `layers\/\*`:([\s\S]*?)and\s+on the bucket([\s\S]*?)\./.exec(readme);
    expect(sentence).not.toBeNull();
    const actions = (text: string) => [...text.matchAll(/`(s3:[A-Za-z]+)`/g)].map((m) => m[1]!).sort();
    expect(actions(sentence![1]!)).toEqual([...ACCESS_MODEL.cacheRegistry.objectActions].sort());
    expect(actions(sentence![2]!)).toEqual(['s3:ListBucket', ...ACCESS_MODEL.cacheRegistry.bucketActions].sort());
    expect(allowed(policy.Statement, `${bucket}/layers/*`)).toEqual(expect.arrayContaining(['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts']));
    expect(allowed(policy.Statement, bucket)).toEqual(expect.arrayContaining(['s3:GetBucketLocation', 's3:ListBucketMultipartUploads']));
  });

  test('registry mode grants the cache registry nothing', () => {
    expect(policyFor().Statement.some((s) => s.Sid!.startsWith('Layers'))).toBe(false);
  });
});

test('docs/buckets.md shows exactly the policy printed for the example tenant-1', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'buckets.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## IAM policy for the runner role'));
  const shown = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!);
  const { platform, tenants } = loadConfig(path.join(__dirname, '..', '..', 'config'));
  expect(shown).toEqual(runnerPolicy(tenants.find((t) => t.name === 'tenant-1')!, platform));
});

test('SSE-KMS with a key ARN: kms:Decrypt and kms:GenerateDataKey on exactly that key', () => {
  const key = 'arn:aws:kms:eu-central-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  expect(policyFor({ encryption: { type: 'KMS', kmsKeyId: key } }).Statement).toEqual([
    OBJECTS,
    LIST,
    { Sid: 'CacheEncryptionKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key },
  ]);
});

test('SSE-KMS with a bare key id: the ARN is completed from the region and the runner role account', () => {
  const statement = policyFor({ encryption: { type: 'KMS', kmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' } }).Statement[2]!;
  expect(statement.Resource).toBe('arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
});

test('fails when the key is an alias, which IAM cannot match as a resource', () => {
  expect(() => policyFor({ encryption: { type: 'KMS', kmsKeyId: 'alias/cache' } })).toThrow(PolicyInputError);
  expect(() => policyFor({ encryption: { type: 'KMS', kmsKeyId: 'alias/cache' } })).toThrow(/kmsKeyId: cannot build an IAM resource from "alias\/cache"; use the key ARN/);
});

test('fails when a bare key id has no account to complete it (static keys auth)', () => {
  expect(() =>
    policyFor({ encryption: { type: 'KMS', kmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }, auth: { type: 'staticKeys', secretName: 'acme-s3' } }),
  ).toThrow(PolicyInputError);
});

test('GovCloud buckets use the aws-us-gov partition', () => {
  expect(policyFor({}, { region: 'us-gov-west-1' }).Statement[1]!.Resource).toBe('arn:aws-us-gov:s3:::acme-cache');
});
