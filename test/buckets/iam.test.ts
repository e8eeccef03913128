/** `npm run buckets -- policy --tenant NAME`: the runner role's least-privilege IAM policy. */
import { PolicyInputError, runnerPolicy } from '../../scripts/buckets/iam';
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
  Resource: 'arn:aws:s3:::acme-cache/*',
};
const LIST = { Sid: 'CacheBucketList', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::acme-cache' };

test('SSE-S3: object actions on the bucket contents and ListBucket on the bucket, nothing else', () => {
  expect(policyFor()).toEqual({ Version: '2012-10-17', Statement: [OBJECTS, LIST] });
});

test('no statement grants anything beyond the tenant bucket', () => {
  const resources = policyFor().Statement.flatMap((s) => [s.Resource].flat());
  expect(resources.every((r) => r === 'arn:aws:s3:::acme-cache' || r === 'arn:aws:s3:::acme-cache/*')).toBe(true);
  expect(policyFor().Statement.every((s) => s.Effect === 'Allow' && ![s.Action].flat().some((a) => a.includes('*')))).toBe(true);
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
