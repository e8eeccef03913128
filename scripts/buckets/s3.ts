/**
 * Every S3 call the bucket setup makes: reading a bucket's managed settings into an
 * {@link ActualBucket}, creating a bucket, writing one setting, and turning SDK errors into
 * messages that say what to do.
 */
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLocationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  LifecycleRule as SdkLifecycleRule,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
  TransitionDefaultMinimumObjectSize,
} from '@aws-sdk/client-s3';
import type { BucketSpec, Encryption, LifecycleRule, PublicAccessBlock } from './desired';
import { ActualBucket, Management, mergePolicy, Observed, Setting, SETTING_LABELS, tagsToWrite, Versioning } from './plan';
import { redactUrls } from './redact';

/** Where and how to reach S3. Credentials are deliberately absent: the SDK's default chain finds them. */
export interface ClientSettings {
  readonly region: string;
  /** An S3-compatible endpoint (MinIO, Ceph); unset means AWS. */
  readonly endpoint?: string;
  readonly pathStyle: boolean;
}

/** Attempts per request, first one included; the SDK backs off exponentially with jitter between them. */
export const MAX_ATTEMPTS = 5;

/**
 * An S3 client with the standard retry strategy (throttling, 5xx and network errors retried with
 * backoff) and credentials from the default chain: environment, shared profile, web identity
 * (IRSA), container and instance metadata.
 */
export function createClient(settings: ClientSettings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.pathStyle,
    retryMode: 'standard',
    maxAttempts: MAX_ATTEMPTS,
    // A bucket in another region is a configuration error to report, not something to follow.
    followRegionRedirects: false,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    // Flexible checksums (CRC32 on every request) are newer than many S3-compatible servers; AWS
    // still gets them where the API requires a checksum.
    ...(settings.endpoint !== undefined
      ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
      : {}),
  });
}

/** Why a tenant's bucket could not be planned or converged. */
export type FailureKind =
  | 'foreign-bucket'
  | 'not-managed'
  | 'wrong-region'
  | 'access-denied'
  | 'credentials'
  | 'endpoint'
  | 'unsupported'
  | 'other';

/** A failure with a message meant for the person running the command. */
export class BucketError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'BucketError';
  }
}

/**
 * Fails fast, once, when the default chain finds no credentials, instead of once per tenant after
 * retries.
 */
export async function checkCredentials(client: S3Client): Promise<void> {
  try {
    await client.config.credentials();
  } catch (error) {
    throw new BucketError(
      'credentials',
      `no AWS credentials found (${errorText(error)}). Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
        'or run where IRSA / Pod Identity provides them; credentials never go into config/',
    );
  }
}

/**
 * Reads the bucket's managed settings, one request at a time so that one tenant never has more
 * than one request in flight.
 *
 * @returns `undefined` when the bucket does not exist.
 * @throws BucketError when the bucket belongs to someone else, lives in another region, or a read
 *   fails for any reason other than "not configured" or "not implemented by this endpoint".
 */
export async function readBucket(client: S3Client, spec: BucketSpec, endpoint: string | undefined): Promise<ActualBucket | undefined> {
  const Bucket = spec.bucket;
  try {
    const head = await client.send(new HeadBucketCommand({ Bucket }));
    if (head.BucketRegion && head.BucketRegion !== spec.region) throw wrongRegion(spec, head.BucketRegion);
  } catch (error) {
    if (error instanceof BucketError) throw error;
    const status = statusOf(error);
    if (status === 404 || nameOf(error) === 'NotFound' || nameOf(error) === 'NoSuchBucket') return undefined;
    if (status === 403) {
      // HEAD responses have no body, so a rejected key and a foreign bucket look alike; a GET
      // tells them apart by its error code.
      await client.send(new GetBucketLocationCommand({ Bucket })).catch((probe: unknown) => {
        if (CREDENTIAL_ERRORS.includes(nameOf(probe) ?? '')) throw describeError(probe, `HeadBucket ${Bucket}`, spec, endpoint);
      });
      // S3 answers 403 to HeadBucket for a bucket of another account; it is never adopted.
      throw new BucketError(
        'foreign-bucket',
        `bucket ${Bucket} exists but this identity may not read it (403): it belongs to another account, or the identity lacks s3:ListBucket on it. ` +
          'Bucket names are global; choose another cache.s3.bucket, or fix the permissions if the bucket is yours',
      );
    }
    throw describeError(error, `HeadBucket ${Bucket}`, spec, endpoint);
  }

  const read = async <T>(setting: Setting, absentCodes: readonly string[], fetch: () => Promise<Observed<T>>): Promise<Observed<T>> => {
    try {
      return await fetch();
    } catch (error) {
      if (absentCodes.includes(nameOf(error) ?? '')) return { state: 'absent' };
      if (isNotImplemented(error)) return unsupported(setting, error, spec, endpoint);
      throw describeError(error, `reading ${SETTING_LABELS[setting]} of ${Bucket}`, spec, endpoint);
    }
  };

  const publicAccessBlock = await read<PublicAccessBlock>('publicAccessBlock', ['NoSuchPublicAccessBlockConfiguration'], async () => {
    const out = await client.send(new GetPublicAccessBlockCommand({ Bucket }));
    const c = out.PublicAccessBlockConfiguration ?? {};
    return set({
      BlockPublicAcls: c.BlockPublicAcls ?? false,
      IgnorePublicAcls: c.IgnorePublicAcls ?? false,
      BlockPublicPolicy: c.BlockPublicPolicy ?? false,
      RestrictPublicBuckets: c.RestrictPublicBuckets ?? false,
    });
  });
  const ownership = await read<string>('ownership', ['OwnershipControlsNotFoundError'], async () => {
    const out = await client.send(new GetBucketOwnershipControlsCommand({ Bucket }));
    // S3 answers OwnershipControlsNotFoundError when none is set, never a 200 without a rule;
    // servers that ignore the subresource answer 200 with a listing of the bucket instead.
    const value = out.OwnershipControls?.Rules?.[0]?.ObjectOwnership;
    return value === undefined ? unsupported('ownership', new Error('answered without an ownership rule'), spec, endpoint) : set(value);
  });
  const encryption = await read<Encryption>('encryption', ['ServerSideEncryptionConfigurationNotFoundError'], async () => {
    const out = await client.send(new GetBucketEncryptionCommand({ Bucket }));
    const rule = out.ServerSideEncryptionConfiguration?.Rules?.[0];
    const algorithm = rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
    if (algorithm === undefined) return { state: 'absent' };
    if (algorithm === 'AES256') return set<Encryption>({ algorithm });
    const kmsKeyId = rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID;
    return set<Encryption>({ algorithm, ...(kmsKeyId ? { kmsKeyId } : {}), bucketKeyEnabled: rule?.BucketKeyEnabled ?? false });
  });
  let lifecycleRaw: SdkLifecycleRule[] | undefined;
  let lifecycleTransitionDefault: string | undefined;
  const lifecycle = await read<readonly LifecycleRule[]>('lifecycle', ['NoSuchLifecycleConfiguration'], async () => {
    const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));
    lifecycleRaw = out.Rules ?? [];
    lifecycleTransitionDefault = out.TransitionDefaultMinimumObjectSize;
    return set((out.Rules ?? []).map(fromSdkRule).sort((a, b) => a.id.localeCompare(b.id)));
  });
  const policy = await read<unknown>('policy', ['NoSuchBucketPolicy'], async () => {
    const out = await client.send(new GetBucketPolicyCommand({ Bucket }));
    if (!out.Policy) return { state: 'absent' };
    try {
      return set(JSON.parse(out.Policy) as unknown);
    } catch {
      return set(out.Policy);
    }
  });
  const versioning = await read<Versioning>('versioning', [], async () => {
    const out = await client.send(new GetBucketVersioningCommand({ Bucket }));
    return set<Versioning>(out.Status === 'Enabled' || out.Status === 'Suspended' ? out.Status : 'Off');
  });
  const tags = await read<Record<string, string>>('tags', ['NoSuchTagSet'], async () => {
    const out = await client.send(new GetBucketTaggingCommand({ Bucket }));
    return set(Object.fromEntries((out.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])));
  });
  return {
    publicAccessBlock,
    ownership,
    encryption,
    lifecycle,
    policy,
    versioning,
    tags,
    ...(lifecycleRaw !== undefined ? { lifecycleRaw } : {}),
    ...(lifecycleTransitionDefault !== undefined ? { lifecycleTransitionDefault } : {}),
  };
}

/**
 * Creates the bucket in the configured region.
 *
 * @returns `exists` when the bucket appeared in this account after HeadBucket said it did not
 *   (BucketAlreadyOwnedByYou): the caller reads and plans it again, because it may not be ours.
 * @throws BucketError `foreign-bucket` when the name is taken by another account.
 */
export async function createBucket(client: S3Client, spec: BucketSpec, endpoint: string | undefined): Promise<'created' | 'exists'> {
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: spec.bucket,
        // us-east-1 is the one region S3 rejects as an explicit LocationConstraint.
        ...(spec.region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: spec.region as never } }),
      }),
    );
    return 'created';
  } catch (error) {
    // Created between HeadBucket and here, by a concurrent run of ours or by anyone else in this
    // account: whether it may be touched is decided from its tags, like any existing bucket.
    if (nameOf(error) === 'BucketAlreadyOwnedByYou') return 'exists';
    if (nameOf(error) === 'BucketAlreadyExists') {
      throw new BucketError(
        'foreign-bucket',
        `bucket name ${spec.bucket} is taken by another account (BucketAlreadyExists); bucket names are global, choose another cache.s3.bucket`,
      );
    }
    throw describeError(error, `CreateBucket ${spec.bucket}`, spec, endpoint);
  }
}

/**
 * Writes one setting as the spec says: for a new or managed bucket exactly the spec; for an
 * adopted one (`mode: 'adopted'`) merged with what is there (policy statements and lifecycle rules
 * of others kept verbatim, tags only added). Whether an adopted bucket's setting is written at all
 * was decided by the plan.
 *
 * @returns `unsupported` when the endpoint does not implement the setting.
 */
export async function writeSetting(
  client: S3Client,
  spec: BucketSpec,
  setting: Setting,
  actual: ActualBucket | undefined,
  endpoint: string | undefined,
  mode: Management = 'managed',
): Promise<'written' | Observed<never>> {
  const Bucket = spec.bucket;
  try {
    switch (setting) {
      case 'publicAccessBlock':
        await client.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { ...spec.publicAccessBlock } }));
        break;
      case 'ownership':
        await client.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership: spec.ownership }] } }));
        break;
      case 'encryption': {
        const e = spec.encryption;
        await client.send(
          new PutBucketEncryptionCommand({
            Bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [
                {
                  ApplyServerSideEncryptionByDefault: {
                    SSEAlgorithm: e.algorithm as 'AES256' | 'aws:kms',
                    ...(e.algorithm !== 'AES256' && e.kmsKeyId !== undefined ? { KMSMasterKeyID: e.kmsKeyId } : {}),
                  },
                  ...(e.algorithm !== 'AES256' ? { BucketKeyEnabled: e.bucketKeyEnabled ?? false } : {}),
                },
              ],
            },
          }),
        );
        break;
      }
      case 'lifecycle': {
        const ours = new Set(spec.lifecycle.map((rule) => rule.id));
        // Rules others wrote go back exactly as S3 returned them (transitions, tag filters and all).
        const others = mode === 'adopted' ? ((actual?.lifecycleRaw ?? []) as SdkLifecycleRule[]).filter((rule) => !ours.has(rule.ID ?? '')) : [];
        await client.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket,
            LifecycleConfiguration: { Rules: [...others, ...spec.lifecycle.map(toSdkRule)] },
            // The bucket-wide transition size is part of the configuration the PUT replaces.
            ...(actual?.lifecycleTransitionDefault !== undefined
              ? { TransitionDefaultMinimumObjectSize: actual.lifecycleTransitionDefault as TransitionDefaultMinimumObjectSize }
              : {}),
          }),
        );
        break;
      }
      case 'policy': {
        const document = mode === 'adopted' ? mergePolicy(spec.policy, actual?.policy.state === 'set' ? actual.policy.value : undefined).document : spec.policy;
        // The plan never asks to write a policy it cannot merge; refuse rather than replace it.
        if (document === undefined) throw new BucketError('other', `${Bucket}: the existing bucket policy cannot be merged; not written`);
        await client.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(document) }));
        break;
      }
      case 'versioning':
        if (mode === 'adopted') throw new BucketError('other', `${Bucket}: versioning of an adopted bucket is never suspended`);
        await client.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }));
        break;
      case 'tags':
        await client.send(
          new PutBucketTaggingCommand({
            Bucket,
            Tagging: { TagSet: Object.entries(tagsToWrite(spec, actual?.tags, mode)).map(([Key, Value]) => ({ Key, Value })) },
          }),
        );
        break;
    }
    return 'written';
  } catch (error) {
    if (isNotImplemented(error) || ignoredSubresource(error)) return unsupported(setting, error, spec, endpoint);
    throw describeError(error, `writing ${SETTING_LABELS[setting]} of ${Bucket}`, spec, endpoint);
  }
}

function toSdkRule(rule: LifecycleRule): SdkLifecycleRule {
  return {
    ID: rule.id,
    Status: rule.enabled ? 'Enabled' : 'Disabled',
    Filter: { Prefix: rule.prefix },
    ...(rule.expirationDays !== undefined ? { Expiration: { Days: rule.expirationDays } } : {}),
    ...(rule.abortIncompleteMultipartUploadDays !== undefined
      ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: rule.abortIncompleteMultipartUploadDays } }
      : {}),
  };
}

/** Reduces a rule as S3 returns it to the managed shape, naming whatever else it carries. */
export function fromSdkRule(rule: SdkLifecycleRule): LifecycleRule {
  const unmanaged: string[] = [];
  const filter = rule.Filter ?? {};
  if (filter.Tag || filter.And || filter.ObjectSizeGreaterThan !== undefined || filter.ObjectSizeLessThan !== undefined) unmanaged.push('filter conditions');
  if (rule.Transitions?.length) unmanaged.push('transitions');
  if (rule.NoncurrentVersionExpiration || rule.NoncurrentVersionTransitions?.length) unmanaged.push('noncurrent version rules');
  if (rule.Expiration?.Date || rule.Expiration?.ExpiredObjectDeleteMarker) unmanaged.push('expiration date/delete markers');
  return {
    id: rule.ID ?? '',
    enabled: rule.Status === 'Enabled',
    // `Prefix` at rule level is the pre-2016 form; S3 still returns it for rules written that way.
    prefix: filter.Prefix ?? filter.And?.Prefix ?? rule.Prefix ?? '',
    ...(rule.Expiration?.Days !== undefined ? { expirationDays: rule.Expiration.Days } : {}),
    ...(rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== undefined
      ? { abortIncompleteMultipartUploadDays: rule.AbortIncompleteMultipartUpload.DaysAfterInitiation }
      : {}),
    ...(unmanaged.length > 0 ? { unmanaged } : {}),
  };
}

function set<T>(value: T): Observed<T> {
  return { state: 'set', value };
}

function unsupported(setting: Setting, error: unknown, spec: BucketSpec, endpoint: string | undefined): Observed<never> {
  // AWS implements every managed setting; a NotImplemented there means something is badly wrong
  // (a proxy in the way), and a bucket silently left without, say, its TLS policy must not pass.
  if (endpoint === undefined) throw describeError(error, `${SETTING_LABELS[setting]} of ${spec.bucket}`, spec, endpoint);
  const status = statusOf(error);
  return {
    state: 'unsupported',
    detail: `${redactUrls(endpoint)} does not implement ${SETTING_LABELS[setting]} (${nameOf(error) === 'Error' ? errorText(error) : nameOf(error)}${status !== undefined ? `, HTTP ${status}` : ''})`,
  };
}

function isNotImplemented(error: unknown): boolean {
  const status = statusOf(error);
  return status === 501 || nameOf(error) === 'NotImplemented' || (status === 405 && nameOf(error) === 'MethodNotAllowed');
}

/**
 * A bucket-exists error to a PUT of a bucket setting means the server ignored the subresource and
 * took the request for CreateBucket (s3rver does this for ownershipControls); nothing was written.
 */
function ignoredSubresource(error: unknown): boolean {
  return nameOf(error) === 'BucketAlreadyExists' || nameOf(error) === 'BucketAlreadyOwnedByYou';
}

function wrongRegion(spec: BucketSpec, actualRegion: string | undefined): BucketError {
  return new BucketError(
    'wrong-region',
    `bucket ${spec.bucket} is in region ${actualRegion ?? '(not reported)'}, but s3.region in platform.yaml is ${spec.region} (301 PermanentRedirect); ` +
      'fix s3.region, or choose another bucket name if that bucket is not yours',
  );
}

const CREDENTIAL_ERRORS = ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired'];

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout']);

const NETWORK_CODE_IN_TEXT = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/;

/** Turns an SDK error into a {@link BucketError} whose message says what happened and what to do. */
export function describeError(error: unknown, action: string, spec: BucketSpec, endpoint: string | undefined): BucketError {
  const described = describeErrorUnredacted(error, action, spec, endpoint);
  // An endpoint (or an SDK message quoting a URL) never shows a user name and password.
  return new BucketError(described.kind, redactUrls(described.message));
}

function describeErrorUnredacted(error: unknown, action: string, spec: BucketSpec, endpoint: string | undefined): BucketError {
  const name = nameOf(error) ?? 'Error';
  const status = statusOf(error);
  // The code can be lost when the retry layer wraps an error from another realm (Jest's sandbox
  // does this), but it is still in the message.
  const code = (error as { code?: string } | undefined)?.code ?? NETWORK_CODE_IN_TEXT.exec(errorText(error))?.[1];
  if (status === 301 || name === 'PermanentRedirect') {
    const headers = (error as { $response?: { headers?: Record<string, string> } }).$response?.headers ?? {};
    return wrongRegion(spec, headers['x-amz-bucket-region']);
  }
  if (name === 'CredentialsProviderError') return new BucketError('credentials', `${action}: no AWS credentials found (${errorText(error)})`);
  if (CREDENTIAL_ERRORS.includes(name)) {
    return new BucketError('credentials', `${action}: the credentials were rejected (${name}); check AWS_PROFILE / AWS_ACCESS_KEY_ID or the role session`);
  }
  if (status === 403 || name === 'AccessDenied') {
    return new BucketError('access-denied', `${action}: access denied (403); the identity running bucket setup needs this permission on ${spec.bucket}`);
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || NETWORK_CODES.has(name)) {
    return new BucketError('endpoint', `${action}: cannot reach ${endpoint ?? `S3 in ${spec.region}`} (${code ?? name}) after ${MAX_ATTEMPTS} attempts; check --endpoint / s3.endpoint and the network`);
  }
  if (isNotImplemented(error)) return new BucketError('unsupported', `${action}: not implemented by the endpoint (${name}, HTTP ${status})`);
  return new BucketError('other', `${action}: ${name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${errorText(error)}`);
}

// Duck-typed rather than instanceof Error: errors can come from another realm.
function nameOf(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException || (error as { $metadata?: unknown })?.$metadata !== undefined
    ? (error as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode
    : undefined;
}

function errorText(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
