/**
 * The least-privilege IAM policy a tenant's runner role needs for its cache bucket: what the
 * GitLab Runner S3 cache and a registry's S3 storage driver call, and nothing for any other bucket.
 */
import type { Platform } from '../../lib/config/schema';
import type { TenantConfig } from '../../lib/model/resolve';
import { bucketArn, partitionOf, PolicyDocument } from './desired';

/** Thrown when the configuration does not say enough to write an exact policy. */
export class PolicyInputError extends Error {}

/**
 * IAM policy for the tenant's runner role.
 *
 * Object actions on `arn:…:s3:::<bucket>/*`, ListBucket on the bucket; with SSE-KMS and a
 * customer managed key also kms:Decrypt and kms:GenerateDataKey on that key, because S3 calls KMS
 * with the caller's permissions. The AWS managed key `aws/s3` needs no grant.
 *
 * @throws PolicyInputError when `kmsKeyId` is neither a key ARN nor a key id that can be
 *   completed into one with the account of the tenant's IAM role.
 */
export function runnerPolicy(tenant: TenantConfig, platform: Platform): PolicyDocument {
  const { s3 } = tenant.cache;
  const region = platform.s3.region;
  const arn = bucketArn(s3.bucket, region);
  const statements: PolicyDocument['Statement'][number][] = [
    {
      Sid: 'CacheObjects',
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
      Resource: `${arn}/*`,
    },
    { Sid: 'CacheBucketList', Effect: 'Allow', Action: 's3:ListBucket', Resource: arn },
  ];
  if (s3.encryption.type === 'KMS' && s3.encryption.kmsKeyId !== undefined) {
    statements.push({
      Sid: 'CacheEncryptionKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: kmsKeyArn(tenant, region, s3.encryption.kmsKeyId),
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;
const KEY_ID = /^(mrk-)?[A-Za-z0-9-]{32,}$/;

function kmsKeyArn(tenant: TenantConfig, region: string, keyId: string): string {
  if (KEY_ARN.test(keyId)) return keyId;
  const account = tenant.cache.s3.auth.type === 'iamRole' ? /^arn:[^:]+:iam::([0-9]{12}):/.exec(tenant.cache.s3.auth.roleArn)?.[1] : undefined;
  if (KEY_ID.test(keyId) && account !== undefined) return `arn:${partitionOf(region)}:kms:${region}:${account}:key/${keyId}`;
  // IAM matches key ARNs only; an alias in Resource grants nothing.
  throw new PolicyInputError(
    `${tenant.file}: cache.s3.encryption.kmsKeyId: cannot build an IAM resource from ${JSON.stringify(keyId)}; ` +
      'use the key ARN (arn:aws:kms:<region>:<account>:key/<id>), or a key id together with auth type iamRole',
  );
}
