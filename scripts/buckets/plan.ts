/**
 * Desired-versus-actual comparison of one bucket. Pure: the SDK layer (`s3.ts`) reads the actual
 * state into {@link ActualBucket}; this module decides what differs and says so in words a
 * reviewer can check.
 */
import { BucketSpec, Encryption, LifecycleRule, MANAGED_BY, PolicyDocument, PublicAccessBlock, TAG_ADOPTED, TAG_MANAGED_BY, TAG_TENANT } from './desired';

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
  /**
   * The lifecycle rules exactly as S3 returned them (SDK shape), so rules tenant-runners did not
   * write can be written back unchanged when merging; set by the S3 layer, absent in unit tests.
   */
  readonly lifecycleRaw?: readonly object[];
  /** The bucket-level `TransitionDefaultMinimumObjectSize` of the lifecycle configuration, kept on writes. */
  readonly lifecycleTransitionDefault?: string;
}

/**
 * How tenant-runners may treat an existing bucket, decided from its tags:
 * - `new`: it does not exist; created and fully configured;
 * - `managed`: tagged `managed-by: tenant-runners` (and this tenant): converged exactly to the spec;
 * - `adopted`: named with `--adopt`, or tagged as adopted earlier: only merged into, never
 *   removing what others configured (see {@link planBucket}).
 */
export type Management = 'new' | 'managed' | 'adopted';

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

/**
 * Something of an adopted bucket that differs from the spec and is deliberately left as it is,
 * with the reason; shown by plan and apply so the difference stays visible.
 */
export interface Kept {
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
  /** Unset when the bucket is refused. */
  readonly management?: Management;
  /** Differences of an adopted bucket left alone; empty otherwise. */
  readonly kept: readonly Kept[];
  /** Why the bucket is not touched at all (not tenant-runners'); nothing is written. */
  readonly refused?: string;
}

/** How to treat buckets tenant-runners did not create. */
export interface PlanOptions {
  /** True when the operator named this bucket with `--adopt`. */
  readonly adopt?: boolean;
}

/**
 * Decides from the bucket's tags whether tenant-runners may touch it, and how.
 *
 * @returns the management mode, or the reason for refusing the bucket.
 */
export function management(desired: BucketSpec, actual: ActualBucket, options: PlanOptions = {}): { mode: Management } | { refused: string } {
  const adoptHint = `pass --adopt ${desired.bucket} to merge tenant-runners' settings into it without removing anything`;
  if (actual.tags.state === 'unsupported') {
    if (options.adopt) return { mode: 'adopted' };
    return {
      refused:
        `cannot tell whether bucket ${desired.bucket} is tenant-runners' (its tags cannot be read: ${actual.tags.detail}); ` +
        `it is not touched; ${adoptHint}`,
    };
  }
  const tags = actual.tags.state === 'set' ? actual.tags.value : {};
  const managedBy = tags[TAG_MANAGED_BY];
  const tenant = tags[TAG_TENANT];
  if (managedBy !== undefined && managedBy !== MANAGED_BY) {
    return {
      refused:
        `bucket ${desired.bucket} is tagged ${TAG_MANAGED_BY}=${JSON.stringify(managedBy)}: another tool manages it, and tenant-runners never takes it over ` +
        '(even with --adopt); choose another cache.s3.bucket, or remove that tag if the other tool no longer manages it',
    };
  }
  if (tenant !== undefined && tenant !== desired.tenant) {
    return {
      refused:
        `bucket ${desired.bucket} is tagged ${TAG_TENANT}=${JSON.stringify(tenant)}, not ${JSON.stringify(desired.tenant)}: it holds another tenant's cache ` +
        'and is never touched for this one (even with --adopt); choose another cache.s3.bucket',
    };
  }
  if (managedBy === MANAGED_BY) return { mode: tags[TAG_ADOPTED] === 'true' ? 'adopted' : 'managed' };
  if (options.adopt) return { mode: 'adopted' };
  return {
    refused: `bucket ${desired.bucket} exists but tenant-runners did not create it (no tag ${TAG_MANAGED_BY}=${MANAGED_BY}); it is not touched; ${adoptHint}`,
  };
}

/**
 * Compares what a bucket should be with what it is.
 *
 * @param actual - `undefined` when the bucket does not exist (it will be created, then every
 *   setting written; versioning needs no write because a new bucket has it off).
 */
export function planBucket(desired: BucketSpec, actual: ActualBucket | undefined, options: PlanOptions = {}): BucketPlan {
  const base = { tenant: desired.tenant, bucket: desired.bucket };
  if (actual === undefined) {
    const changes: Change[] = SETTINGS.filter((s) => s !== 'versioning').map((setting) => ({
      setting,
      details: [describeDesired(desired, setting)],
    }));
    return { ...base, create: true, changes, unsupported: [], management: 'new', kept: [] };
  }
  const decided = management(desired, actual, options);
  if ('refused' in decided) return { ...base, create: false, changes: [], unsupported: [], kept: [], refused: decided.refused };
  const changes: Change[] = [];
  const unsupported: Unsupported[] = [];
  const kept: Kept[] = [];
  for (const setting of SETTINGS) {
    const observed = actual[setting] as Observed<unknown>;
    if (observed.state === 'unsupported') {
      unsupported.push({ setting, detail: observed.detail });
      continue;
    }
    if (decided.mode === 'adopted') {
      const merged = MERGES[setting](desired, observed);
      if (merged.details.length > 0) changes.push({ setting, details: merged.details });
      kept.push(...merged.kept.map((detail) => ({ setting, detail })));
      continue;
    }
    const details = DIFFS[setting](desired, observed);
    if (details.length > 0) changes.push({ setting, details });
  }
  return { ...base, create: false, changes, unsupported, management: decided.mode, kept };
}

/** True when applying the plan would write nothing. */
export function isNoop(plan: BucketPlan): boolean {
  return !plan.create && plan.changes.length === 0;
}

/**
 * The tag set to write: the managed tags over whatever else is on the bucket, because
 * PutBucketTagging replaces the whole set and cost-allocation tags added by others must survive.
 */
export function tagsToWrite(
  desired: BucketSpec,
  actual: Observed<Readonly<Record<string, string>>> | undefined,
  mode: Management = 'managed',
): Record<string, string> {
  const current = actual?.state === 'set' ? actual.value : {};
  return sortKeys({ ...current, ...desiredTags(desired, mode) });
}

/** The tags tenant-runners sets: an adopted bucket also carries {@link TAG_ADOPTED}. */
export function desiredTags(desired: BucketSpec, mode: Management): Record<string, string> {
  return mode === 'adopted' ? { ...desired.tags, [TAG_ADOPTED]: 'true' } : { ...desired.tags };
}

/**
 * The bucket policy to write to an adopted bucket: every statement already there, unchanged, plus
 * each of tenant-runners' statements that is missing. A statement counts as present when one with
 * the same Sid and content, or the same content under any Sid, exists. A statement with one of
 * our Sids but other content is someone else's: it is kept, and ours is not added (Sids must be
 * unique), which `conflicts` reports.
 *
 * @returns `undefined` as document when the existing policy cannot be merged (not a JSON policy).
 */
export function mergePolicy(
  desired: PolicyDocument,
  actual: unknown,
): { document: Record<string, unknown> | undefined; added: string[]; foreign: string[]; conflicts: string[] } {
  if (actual === undefined) return { document: { ...desired }, added: desired.Statement.map(sidOf), foreign: [], conflicts: [] };
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return { document: undefined, added: [], foreign: [], conflicts: [] };
  const doc = actual as Record<string, unknown>;
  const raw = doc.Statement;
  const statements: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? [...raw] : [raw];
  const withoutSid = (statement: unknown) => {
    const { Sid: _sid, ...rest } = statement as Record<string, unknown>;
    return canonicalJson(rest);
  };
  const added: string[] = [];
  const conflicts: string[] = [];
  const ours = new Set<unknown>();
  for (const statement of desired.Statement) {
    const same = statements.find((s) => typeof s === 'object' && s !== null && withoutSid(s) === withoutSid(statement));
    if (same !== undefined) {
      ours.add(same);
      continue;
    }
    if (statements.some((s) => (s as { Sid?: unknown } | null)?.Sid === statement.Sid)) {
      conflicts.push(sidOf(statement));
      continue;
    }
    statements.push(statement);
    ours.add(statement);
    added.push(sidOf(statement));
  }
  const foreign = statements.flatMap((s, i) => (ours.has(s) ? [] : [typeof (s as { Sid?: unknown } | null)?.Sid === 'string' ? (s as { Sid: string }).Sid : `#${i + 1} (no Sid)`]));
  return { document: { ...doc, Statement: statements }, added, foreign, conflicts };
}

function sidOf(statement: PolicyDocument['Statement'][number]): string {
  return statement.Sid ?? '(no Sid)';
}

/**
 * Lifecycle rule ids to write to an adopted bucket: tenant-runners' rules (added or replaced by
 * id) and every other rule as it is.
 */
export function foreignRules(desired: BucketSpec, actual: readonly LifecycleRule[]): LifecycleRule[] {
  return actual.filter((rule) => !desired.lifecycle.some((r) => r.id === rule.id));
}

/**
 * Encryption strength, for "never weaker": none < SSE-S3 < SSE-KMS (AWS managed key) < SSE-KMS
 * with a customer managed key < DSSE-KMS.
 */
export function encryptionStrength(encryption: Encryption | undefined): number {
  if (encryption === undefined) return 0;
  if (encryption.algorithm === 'AES256') return 1;
  if (encryption.algorithm === 'aws:kms') return encryption.kmsKeyId ? 3 : 2;
  return 4;
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

/** An adopted bucket's setting: what would be written (details) and what is left alone (kept). */
type Merge = (desired: BucketSpec, observed: Exclude<Observed<unknown>, { state: 'unsupported' }>) => { details: string[]; kept: string[] };

const ADOPTED = 'adopted bucket';

const MERGES: Record<Setting, Merge> = {
  publicAccessBlock: (desired, observed) => {
    // Turning a flag on could cut off access its owner set up (a public website, an ACL grant):
    // an adopted bucket's own settings stay; only a bucket with none gets ours.
    if (observed.state === 'absent') return { details: DIFFS.publicAccessBlock(desired, observed), kept: [] };
    const diff = DIFFS.publicAccessBlock(desired, observed);
    return { details: [], kept: diff.length > 0 ? [`${diff.join('; ')}: kept (${ADOPTED}: its owner's setting is never changed); turn them on by hand if the bucket must be private`] : [] };
  },
  ownership: (desired, observed) => {
    if (observed.state === 'absent') return { details: DIFFS.ownership(desired, observed), kept: [] };
    const diff = DIFFS.ownership(desired, observed);
    return { details: [], kept: diff.length > 0 ? [`${diff[0]}: kept (${ADOPTED}: enforcing bucket ownership would disable its ACL grants)`] : [] };
  },
  encryption: (desired, observed) => {
    const want = desired.encryption;
    if (observed.state === 'absent') return { details: DIFFS.encryption(desired, observed), kept: [] };
    const got = observed.value as Encryption;
    const diff = DIFFS.encryption(desired, observed);
    if (diff.length === 0) return { details: [], kept: [] };
    // Only a strictly stronger default replaces the owner's: SSE-S3 → SSE-KMS.
    if (got.algorithm === 'AES256' && encryptionStrength(want) > encryptionStrength(got)) return { details: diff, kept: [] };
    const keyWarning =
      got.algorithm !== 'AES256' && got.kmsKeyId && got.kmsKeyId !== want.kmsKeyId
        ? `; new objects are encrypted with key ${got.kmsKeyId}, so the runner role needs kms:Decrypt and kms:GenerateDataKey on it`
        : '';
    const why = encryptionStrength(want) < encryptionStrength(got) ? 'never changed to a weaker default encryption' : 'its owner\'s encryption key is never replaced';
    return { details: [], kept: [`${diff[0]}: kept (${ADOPTED}: ${why})${keyWarning}`] };
  },
  lifecycle: (desired, observed) => {
    const actual = observed.state === 'set' ? (observed.value as readonly LifecycleRule[]) : [];
    // Only tenant-runners' own rules are compared; every other rule is written back unchanged.
    const details = DIFFS.lifecycle(desired, observed).filter((line) => !line.includes('would be removed'));
    const others = foreignRules(desired, actual);
    const kept = others.length > 0 && details.length > 0 ? [`rules not written by tenant-runners, written back unchanged: ${others.map((r) => r.id).join(', ')}`] : [];
    return { details, kept };
  },
  policy: (desired, observed) => {
    const merged = mergePolicy(desired.policy, observed.state === 'set' ? observed.value : undefined);
    if (merged.document === undefined) return { details: [], kept: [`not a JSON policy document, kept as it is; tenant-runners' statements are not added`] };
    const kept = merged.conflicts.map((sid) => `statement ${sid} exists with other content: kept, tenant-runners' ${sid} is not added (${ADOPTED})`);
    if (merged.added.length === 0) return { details: [], kept };
    const foreign = merged.foreign.length > 0 ? `; statements kept: ${merged.foreign.join(', ')}` : '';
    return { details: [`add statement ${merged.added.join(', ')} (${describePolicy(desired.policy)})${foreign}`], kept };
  },
  versioning: (_desired, observed) => {
    const actual = observed.state === 'set' ? observed.value : 'Off';
    return {
      details: [],
      kept: actual === 'Enabled' ? [`Enabled: kept (${ADOPTED}: versioning is never suspended); noncurrent versions are not expired by tenant-runners' rules`] : [],
    };
  },
  tags: (desired, observed) => {
    const actual = observed.state === 'set' ? (observed.value as Readonly<Record<string, string>>) : {};
    // management() refused buckets whose managed-by or tenant tag says otherwise, so this only adds.
    return {
      details: Object.entries(desiredTags(desired, 'adopted'))
        .filter(([key, value]) => actual[key] !== value)
        .map(([key, value]) => `tag ${key}: ${actual[key] === undefined ? 'missing' : JSON.stringify(actual[key])}, want ${JSON.stringify(value)}`),
      kept: [],
    };
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
