/**
 * Desired-versus-actual comparison of one bucket. Pure: the SDK layer (`s3.ts`) reads the actual
 * state into {@link ActualBucket}; this module decides what differs and says so in words a
 * reviewer can check.
 */
import type { BucketSpec, Encryption, LifecycleRule, PolicyDocument, PublicAccessBlock } from './desired';

/** The settings tenant-runners manages, in the order `apply` writes them. */
export const SETTINGS = ['publicAccessBlock', 'ownership', 'encryption', 'lifecycle', 'policy', 'versioning', 'tags'] as const;

/** One managed setting of a bucket. */
export type Setting = (typeof SETTINGS)[number];

/** How a setting is named in output and in the S3 API. */
export const SETTING_LABELS: Record<Setting, string> = {
  publicAccessBlock: 'public access block',
  ownership: 'object ownership',
  encryption: 'default encryption',
  lifecycle: 'lifecycle rules',
  policy: 'bucket policy',
  versioning: 'versioning',
  tags: 'tags',
};

/**
 * What reading one setting found: a value, nothing configured, or an S3-compatible endpoint that
 * does not implement the setting (MinIO, Ceph and s3rver each lack some).
 */
export type Observed<T> =
  | { readonly state: 'set'; readonly value: T }
  | { readonly state: 'absent' }
  | { readonly state: 'unsupported'; readonly detail: string };

/** Versioning as GetBucketVersioning reports it; `Off` means never enabled. */
export type Versioning = 'Enabled' | 'Suspended' | 'Off';

/** The state of an existing bucket, one entry per managed setting. */
export interface ActualBucket {
  readonly publicAccessBlock: Observed<PublicAccessBlock>;
  readonly ownership: Observed<string>;
  readonly encryption: Observed<Encryption>;
  readonly lifecycle: Observed<readonly LifecycleRule[]>;
  /** The policy document as parsed JSON (any shape: it may have been written by hand). */
  readonly policy: Observed<unknown>;
  readonly versioning: Observed<Versioning>;
  readonly tags: Observed<Readonly<Record<string, string>>>;
}

/** One setting to write, with the differences that make it necessary. */
export interface Change {
  readonly setting: Setting;
  /** Human-readable differences, e.g. `tag managed-by: missing, want tenant-runners`. */
  readonly details: readonly string[];
}

/** A setting the endpoint does not implement, so it can be neither read nor written there. */
export interface Unsupported {
  readonly setting: Setting;
  readonly detail: string;
}

/** What `apply` would do to one bucket. */
export interface BucketPlan {
  readonly tenant: string;
  readonly bucket: string;
  /** True when the bucket does not exist and would be created. */
  readonly create: boolean;
  readonly changes: readonly Change[];
  readonly unsupported: readonly Unsupported[];
}

/**
 * Compares what a bucket should be with what it is.
 *
 * @param actual - `undefined` when the bucket does not exist (it will be created, then every
 *   setting written; versioning needs no write because a new bucket has it off).
 */
export function planBucket(desired: BucketSpec, actual: ActualBucket | undefined): BucketPlan {
  const base = { tenant: desired.tenant, bucket: desired.bucket };
  if (actual === undefined) {
    const changes: Change[] = SETTINGS.filter((s) => s !== 'versioning').map((setting) => ({
      setting,
      details: [describeDesired(desired, setting)],
    }));
    return { ...base, create: true, changes, unsupported: [] };
  }
  const changes: Change[] = [];
  const unsupported: Unsupported[] = [];
  for (const setting of SETTINGS) {
    const observed = actual[setting] as Observed<unknown>;
    if (observed.state === 'unsupported') {
      unsupported.push({ setting, detail: observed.detail });
      continue;
    }
    const details = DIFFS[setting](desired, observed);
    if (details.length > 0) changes.push({ setting, details });
  }
  return { ...base, create: false, changes, unsupported };
}

/** True when applying the plan would write nothing. */
export function isNoop(plan: BucketPlan): boolean {
  return !plan.create && plan.changes.length === 0;
}

/**
 * The tag set to write: the managed tags over whatever else is on the bucket, because
 * PutBucketTagging replaces the whole set and cost-allocation tags added by others must survive.
 */
export function tagsToWrite(desired: BucketSpec, actual: Observed<Readonly<Record<string, string>>> | undefined): Record<string, string> {
  const current = actual?.state === 'set' ? actual.value : {};
  return sortKeys({ ...current, ...desired.tags });
}

type Diff = (desired: BucketSpec, observed: Exclude<Observed<unknown>, { state: 'unsupported' }>) => string[];

const DIFFS: Record<Setting, Diff> = {
  publicAccessBlock: (desired, observed) => {
    const actual = observed.state === 'set' ? (observed.value as Partial<PublicAccessBlock>) : {};
    return (Object.keys(desired.publicAccessBlock) as (keyof PublicAccessBlock)[])
      .filter((flag) => actual[flag] !== true)
      .map((flag) => `${flag}: ${actual[flag] === undefined ? 'not set' : String(actual[flag])}, want true`);
  },
  ownership: (desired, observed) => {
    const actual = observed.state === 'set' ? observed.value : undefined;
    return actual === desired.ownership ? [] : [`${actual ?? 'not set'}, want ${desired.ownership}`];
  },
  encryption: (desired, observed) => {
    const want = desired.encryption;
    if (observed.state === 'absent') return [`not set, want ${describeEncryption(want)}`];
    const got = observed.value as Encryption;
    const same =
      got.algorithm === want.algorithm &&
      (want.algorithm === 'AES256' || (got.kmsKeyId === want.kmsKeyId && (got.bucketKeyEnabled ?? false) === (want.bucketKeyEnabled ?? false)));
    return same ? [] : [`${describeEncryption(got)}, want ${describeEncryption(want)}`];
  },
  lifecycle: (desired, observed) => {
    const actual = observed.state === 'set' ? (observed.value as readonly LifecycleRule[]) : [];
    const details: string[] = [];
    for (const rule of desired.lifecycle) {
      const got = actual.find((r) => r.id === rule.id);
      if (got === undefined) details.push(`rule ${rule.id}: missing, want ${describeRule(rule)}`);
      else if (describeRule(got) !== describeRule(rule)) details.push(`rule ${rule.id}: ${describeRule(got)}, want ${describeRule(rule)}`);
    }
    // PutBucketLifecycleConfiguration replaces all rules; saying which ones go keeps that visible.
    for (const rule of actual) {
      if (!desired.lifecycle.some((r) => r.id === rule.id)) details.push(`rule ${rule.id}: not managed by tenant-runners, would be removed (${describeRule(rule)})`);
    }
    return details;
  },
  policy: (desired, observed) => {
    if (observed.state === 'absent') return [`not set, want ${describePolicy(desired.policy)}`];
    return canonicalJson(observed.value) === canonicalJson(desired.policy)
      ? []
      : [`differs from the TLS-only policy, would be replaced: ${compactJson(observed.value)}`];
  },
  versioning: (_desired, observed) => {
    // Cache objects are disposable; versions would outlive the expiry rules and keep costing.
    // Versioning cannot be turned off once enabled, only suspended.
    const actual = observed.state === 'set' ? observed.value : 'Off';
    return actual === 'Enabled' ? ['Enabled, want Suspended (cache buckets keep no object versions)'] : [];
  },
  tags: (desired, observed) => {
    const actual = observed.state === 'set' ? (observed.value as Readonly<Record<string, string>>) : {};
    return Object.entries(desired.tags)
      .filter(([key, value]) => actual[key] !== value)
      .map(([key, value]) => `tag ${key}: ${actual[key] === undefined ? 'missing' : JSON.stringify(actual[key])}, want ${JSON.stringify(value)}`);
  },
};

function describeDesired(desired: BucketSpec, setting: Setting): string {
  switch (setting) {
    case 'publicAccessBlock':
      return 'block all four kinds of public access';
    case 'ownership':
      return desired.ownership;
    case 'encryption':
      return describeEncryption(desired.encryption);
    case 'lifecycle':
      return desired.lifecycle.map((rule) => `${rule.id} (${describeRule(rule)})`).join('; ');
    case 'policy':
      return describePolicy(desired.policy);
    case 'versioning':
      return 'off';
    case 'tags':
      return Object.entries(desired.tags)
        .map(([key, value]) => `${key}=${value}`)
        .join(', ');
  }
}

/** `SSE-S3`, `SSE-KMS key <id> with bucket key`, or the raw algorithm for anything else. */
export function describeEncryption(encryption: Encryption): string {
  if (encryption.algorithm === 'AES256') return 'SSE-S3';
  const key = encryption.kmsKeyId ? `key ${encryption.kmsKeyId}` : 'AWS managed key aws/s3';
  const name = encryption.algorithm === 'aws:kms' ? 'SSE-KMS' : encryption.algorithm;
  return `${name} ${key}${encryption.bucketKeyEnabled ? ' with bucket key' : ' without bucket key'}`;
}

function describeRule(rule: LifecycleRule): string {
  const parts = [rule.enabled ? 'enabled' : 'disabled', `prefix "${rule.prefix}"`];
  if (rule.expirationDays !== undefined) parts.push(`expire after ${rule.expirationDays} days`);
  if (rule.abortIncompleteMultipartUploadDays !== undefined) parts.push(`abort incomplete multipart uploads after ${rule.abortIncompleteMultipartUploadDays} days`);
  if (rule.unmanaged && rule.unmanaged.length > 0) parts.push(`also ${rule.unmanaged.join(', ')}`);
  return parts.join(', ');
}

function describePolicy(policy: PolicyDocument): string {
  return `deny all requests without TLS (${policy.Statement.map((s) => s.Sid).join(', ')})`;
}

/**
 * JSON with sorted keys, single-element arrays unwrapped and string arrays sorted: S3 returns a
 * stored policy re-serialized, so textual comparison would report drift that is not there.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical);
    if (items.length === 1) return items[0];
    return items.every((item) => typeof item === 'string') ? [...(items as string[])].sort() : items;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

function compactJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
