/**
 * The least-privilege IAM policy a tenant's runner role needs for its cache bucket, derived from
 * one model of who uses the bucket and what each one calls ({@link ACCESS_MODEL}): the GitLab
 * Runner S3 cache under `cache/`, and with `cache.kaniko.mode: s3` the Kaniko cache registry (CNCF
 * distribution's S3 storage driver) under `layers/`. Nothing for any other bucket or prefix.
 */
import type { Platform } from '../../lib/config/schema';
import type { TenantConfig } from '../../lib/model/resolve';
import { bucketArn, partitionOf, PolicyDocument, PolicyStatement } from './desired';

/** Thrown when the configuration does not say enough to write an exact policy. */
export class PolicyInputError extends Error {}

/** What one user of the bucket calls, on its own prefix only. */
export interface AccessNeed {
  /** Who calls, for docs and Sids. */
  readonly user: string;
  /** Sid prefix of its statements. */
  readonly sid: string;
  /** Key prefix it reads and writes, with the trailing slash (`cache/`). */
  readonly prefix: string;
  /** Actions on `arn:…:s3:::<bucket>/<prefix>*`. */
  readonly objectActions: readonly string[];
  /** `s3:ListBucket`, limited to keys under the prefix by an `s3:prefix` condition. */
  readonly list: boolean;
  /** Other actions on the bucket itself, which take no prefix condition. */
  readonly bucketActions: readonly string[];
}

/**
 * The model the policy is derived from.
 *
 * - `runnerCache`: the runner manager signs presigned GET/PUT URLs for `cache/<runner>/…`
 *   (config.toml `Path = "cache/<runner>"`); the actions GitLab documents for the S3 cache.
 * - `cacheRegistry`: distribution's S3 driver with `rootdirectory: /layers`; the actions its
 *   documentation lists ("S3 permission scopes"): object reads and writes, multipart uploads
 *   (list parts, abort), and on the bucket listing, its location and in-progress multipart uploads.
 */
export const ACCESS_MODEL = {
  runnerCache: {
    user: 'GitLab Runner S3 cache (the runner manager)',
    sid: 'Cache',
    prefix: 'cache/',
    objectActions: ['s3:DeleteObject', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
    list: true,
    bucketActions: [],
  },
  cacheRegistry: {
    user: 'Kaniko cache registry (distribution S3 driver, cache.kaniko.mode: s3)',
    sid: 'Layers',
    prefix: 'layers/',
    objectActions: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
    list: true,
    bucketActions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
  },
} as const satisfies Record<string, AccessNeed>;

/** The users of a tenant's bucket: always the runner cache, plus the cache registry in mode `s3`. */
export function accessNeeds(tenant: TenantConfig): AccessNeed[] {
  return tenant.cache.kaniko.mode === 's3' ? [ACCESS_MODEL.runnerCache, ACCESS_MODEL.cacheRegistry] : [ACCESS_MODEL.runnerCache];
}

/**
 * IAM policy for the tenant's runner role (the cache registry's ServiceAccount uses the same role).
 *
 * Per user of the bucket: object actions on its prefix, ListBucket limited to its prefix, other
 * bucket actions on the bucket; with SSE-KMS and a customer managed key also kms:Decrypt and
 * kms:GenerateDataKey on that key, because S3 calls KMS with the caller's permissions (multipart
 * uploads need both). The AWS managed key `aws/s3` needs no grant.
 *
 * @throws PolicyInputError when `kmsKeyId` is neither a key ARN nor a key id that can be
 *   completed into one with the account of the tenant's IAM role.
 */
export function runnerPolicy(tenant: TenantConfig, platform: Platform): PolicyDocument {
  const { s3 } = tenant.cache;
  const region = platform.s3.region;
  const arn = bucketArn(s3.bucket, region);
  const statements: PolicyStatement[] = [];
  for (const need of accessNeeds(tenant)) {
    statements.push({ Sid: `${need.sid}Objects`, Effect: 'Allow', Action: single(need.objectActions), Resource: `${arn}/${need.prefix}*` });
    if (need.list) {
      statements.push({
        Sid: `${need.sid}List`,
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: arn,
        // `layers` without the slash: distribution lists its root directory by that prefix too.
        Condition: { StringLike: { 's3:prefix': [need.prefix.replace(/\/$/, ''), `${need.prefix}*`] } },
      });
    }
    if (need.bucketActions.length > 0) statements.push({ Sid: `${need.sid}Bucket`, Effect: 'Allow', Action: single(need.bucketActions), Resource: arn });
  }
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

function single(actions: readonly string[]): string | readonly string[] {
  return actions.length === 1 ? actions[0]! : [...actions];
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
