/**
 * The bucket each tenant should have, derived from the validated configuration. Pure: no SDK
 * calls, so the plan and the IAM policy can be unit tested without a server.
 */
import type { Platform } from '../../lib/config/schema';
import type { TenantConfig } from '../../lib/model/resolve';

/** Tag key naming the tenant, so cost reports and audits can attribute the bucket. */
export const TAG_TENANT = 'tenant';
/** Tag key marking buckets this tool converges. */
export const TAG_MANAGED_BY = 'managed-by';
/** Value of {@link TAG_MANAGED_BY}. */
export const MANAGED_BY = 'tenant-runners';
/**
 * Tag key (value `true`) marking a bucket tenant-runners did not create but was told to adopt
 * (`--adopt BUCKET`): later runs merge into it like the adopting run did, without `--adopt`.
 */
export const TAG_ADOPTED = 'tenant-runners-adopted';

// Lifecycle rule ids are a contract: a rename would read as "remove one rule, add another".
/** Lifecycle rule expiring the runner cache under `cache/`. */
export const RULE_CACHE = 'tenant-runners-cache-expiry';
/** Lifecycle rule expiring Kaniko layer-cache registry storage under `layers/`. */
export const RULE_LAYERS = 'tenant-runners-layers-expiry';
/** Lifecycle rule aborting incomplete multipart uploads anywhere in the bucket. */
export const RULE_ABORT_MULTIPART = 'tenant-runners-abort-incomplete-multipart';

/** Days after which an unfinished multipart upload (a cancelled job's cache push) is removed. */
export const ABORT_INCOMPLETE_MULTIPART_DAYS = 1;

/** Policy statement id of the TLS-only rule; found by id when reporting drift. */
export const SID_DENY_INSECURE_TRANSPORT = 'DenyInsecureTransport';

/** The four Block Public Access flags. */
export interface PublicAccessBlock {
  readonly BlockPublicAcls: boolean;
  readonly IgnorePublicAcls: boolean;
  readonly BlockPublicPolicy: boolean;
  readonly RestrictPublicBuckets: boolean;
}

/**
 * Default encryption as S3 reports it, reduced to what tenant-runners manages. `algorithm` is
 * `AES256` (SSE-S3) or `aws:kms` (SSE-KMS) when written by us; anything else S3 may report (e.g.
 * `aws:kms:dsse`) is kept verbatim so it shows up as drift.
 */
export interface Encryption {
  readonly algorithm: string;
  /** KMS key id or ARN; unset with `aws:kms` means the AWS managed key `aws/s3`. */
  readonly kmsKeyId?: string;
  /** Only meaningful with KMS. */
  readonly bucketKeyEnabled?: boolean;
}

/** One lifecycle rule in the shape tenant-runners writes; `unmanaged` marks fields it never writes. */
export interface LifecycleRule {
  readonly id: string;
  readonly enabled: boolean;
  readonly prefix: string;
  readonly expirationDays?: number;
  readonly abortIncompleteMultipartUploadDays?: number;
  /** Names of settings the rule has that tenant-runners does not write (transitions, tag filters…). */
  readonly unmanaged?: readonly string[];
}

/** An IAM/bucket policy document. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** One statement of a policy document. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Record<string, string | string[]>;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** Everything tenant-runners manages on one tenant's cache bucket. */
export interface BucketSpec {
  readonly tenant: string;
  readonly bucket: string;
  /** Region the bucket must live in (`s3.region` of the platform). */
  readonly region: string;
  readonly publicAccessBlock: PublicAccessBlock;
  /** `BucketOwnerEnforced` turns ACLs off, so every object belongs to the bucket owner. */
  readonly ownership: 'BucketOwnerEnforced';
  readonly encryption: Encryption;
  /** Sorted by id. */
  readonly lifecycle: readonly LifecycleRule[];
  readonly policy: PolicyDocument;
  /** Tags that must be present with these values; other tags on the bucket are left alone. */
  readonly tags: Readonly<Record<string, string>>;
}

/** The ARN partition of a region: China and GovCloud buckets have their own. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** `arn:<partition>:s3:::<bucket>`. */
export function bucketArn(bucket: string, region: string): string {
  return `arn:${partitionOf(region)}:s3:::${bucket}`;
}

/** The bucket a tenant should have. */
export function desiredBucket(tenant: TenantConfig, platform: Platform): BucketSpec {
  const { s3 } = tenant.cache;
  const region = platform.s3.region;
  const arn = bucketArn(s3.bucket, region);
  const encryption: Encryption =
    s3.encryption.type === 'KMS'
      ? // A bucket key cuts KMS requests (and their cost and throttling) by orders of magnitude for
        // the many small cache objects: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html
        { algorithm: 'aws:kms', ...(s3.encryption.kmsKeyId !== undefined ? { kmsKeyId: s3.encryption.kmsKeyId } : {}), bucketKeyEnabled: true }
      : { algorithm: 'AES256' };
  return {
    tenant: tenant.name,
    bucket: s3.bucket,
    region,
    publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    ownership: 'BucketOwnerEnforced',
    encryption,
    lifecycle: [
      { id: RULE_ABORT_MULTIPART, enabled: true, prefix: '', abortIncompleteMultipartUploadDays: ABORT_INCOMPLETE_MULTIPART_DAYS },
      { id: RULE_CACHE, enabled: true, prefix: 'cache/', expirationDays: s3.expireAfterDays },
      { id: RULE_LAYERS, enabled: true, prefix: 'layers/', expirationDays: s3.layersExpireAfterDays },
    ],
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: SID_DENY_INSECURE_TRANSPORT,
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    },
    tags: { [TAG_MANAGED_BY]: MANAGED_BY, [TAG_TENANT]: tenant.name },
  };
}
