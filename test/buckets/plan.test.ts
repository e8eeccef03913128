/** The pure parts of bucket setup: the desired bucket, and desired-versus-actual planning. */
import { desiredBucket, BucketSpec } from '../../scripts/buckets/desired';
import { ActualBucket, canonicalJson, isNoop, planBucket, tagsToWrite } from '../../scripts/buckets/plan';
import { fromSdkRule } from '../../scripts/buckets/s3';
import { removeConfigs, loadFixture, TenantFixture } from './support/fixtures';

afterAll(removeConfigs);

function specFor(tenant: Partial<TenantFixture> = {}, s3: Record<string, unknown> = {}): BucketSpec {
  const { platform, tenants } = loadFixture([{ name: 'acme', ...tenant }], s3);
  return desiredBucket(tenants[0]!, platform);
}

/** The state a bucket has right after a successful apply of `spec`. */
function converged(spec: BucketSpec): ActualBucket {
  return {
    publicAccessBlock: { state: 'set', value: spec.publicAccessBlock },
    ownership: { state: 'set', value: spec.ownership },
    encryption: { state: 'set', value: spec.encryption },
    lifecycle: { state: 'set', value: spec.lifecycle },
    policy: { state: 'set', value: JSON.parse(JSON.stringify(spec.policy)) },
    versioning: { state: 'set', value: 'Off' },
    tags: { state: 'set', value: spec.tags },
  };
}

describe('desiredBucket', () => {
  test('defaults: SSE-S3, cache/ after 14 days, layers/ after 30, multipart aborted after 1, tenant tags', () => {
    const spec = specFor();
    expect(spec).toEqual({
      tenant: 'acme',
      bucket: 'acme-cache',
      region: 'eu-central-1',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      ownership: 'BucketOwnerEnforced',
      encryption: { algorithm: 'AES256' },
      lifecycle: [
        { id: 'tenant-runners-abort-incomplete-multipart', enabled: true, prefix: '', abortIncompleteMultipartUploadDays: 1 },
        { id: 'tenant-runners-cache-expiry', enabled: true, prefix: 'cache/', expirationDays: 14 },
        { id: 'tenant-runners-layers-expiry', enabled: true, prefix: 'layers/', expirationDays: 30 },
      ],
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: ['arn:aws:s3:::acme-cache', 'arn:aws:s3:::acme-cache/*'],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
      tags: { 'managed-by': 'tenant-runners', tenant: 'acme' },
    });
  });

  test('tenant settings: expiry days, SSE-KMS with the key and a bucket key', () => {
    const spec = specFor({ expireAfterDays: 3, layersExpireAfterDays: 90, encryption: { type: 'KMS', kmsKeyId: 'key-1' } });
    expect(spec.lifecycle.map((r) => [r.prefix, r.expirationDays])).toEqual([
      ['', undefined],
      ['cache/', 3],
      ['layers/', 90],
    ]);
    expect(spec.encryption).toEqual({ algorithm: 'aws:kms', kmsKeyId: 'key-1', bucketKeyEnabled: true });
  });

  test('China regions get the aws-cn partition in the policy ARNs', () => {
    expect(specFor({}, { region: 'cn-north-1' }).policy.Statement[0]!.Resource).toEqual(['arn:aws-cn:s3:::acme-cache', 'arn:aws-cn:s3:::acme-cache/*']);
  });

  test('fails when layersExpireAfterDays is out of range, naming the key', () => {
    expect(() => specFor({ layersExpireAfterDays: 0 })).toThrow(/cache\.s3\.layersExpireAfterDays/);
  });
});

describe('planBucket', () => {
  const spec = specFor();

  test('a missing bucket is created with every setting but versioning (new buckets have it off)', () => {
    const plan = planBucket(spec, undefined);
    expect(plan.create).toBe(true);
    expect(plan.changes.map((c) => c.setting)).toEqual(['publicAccessBlock', 'ownership', 'encryption', 'lifecycle', 'policy', 'tags']);
    expect(isNoop(plan)).toBe(false);
  });

  test('a converged bucket needs nothing', () => {
    const plan = planBucket(spec, converged(spec));
    expect(plan).toEqual({ tenant: 'acme', bucket: 'acme-cache', create: false, changes: [], unsupported: [] });
    expect(isNoop(plan)).toBe(true);
  });

  test('settings never configured are all changes', () => {
    const absent = { state: 'absent' } as const;
    const plan = planBucket(spec, {
      publicAccessBlock: absent,
      ownership: absent,
      encryption: absent,
      lifecycle: absent,
      policy: absent,
      versioning: { state: 'set', value: 'Off' },
      tags: absent,
    });
    expect(plan.changes.map((c) => c.setting)).toEqual(['publicAccessBlock', 'ownership', 'encryption', 'lifecycle', 'policy', 'tags']);
    expect(plan.changes.find((c) => c.setting === 'publicAccessBlock')!.details).toEqual([
      'BlockPublicAcls: not set, want true',
      'IgnorePublicAcls: not set, want true',
      'BlockPublicPolicy: not set, want true',
      'RestrictPublicBuckets: not set, want true',
    ]);
  });

  test.each<[string, Partial<ActualBucket>, string, string[]]>([
    ['one public access flag off', { publicAccessBlock: { state: 'set', value: { ...spec.publicAccessBlock, BlockPublicPolicy: false } } }, 'publicAccessBlock', ['BlockPublicPolicy: false, want true']],
    ['ownership with ACLs', { ownership: { state: 'set', value: 'ObjectWriter' } }, 'ownership', ['ObjectWriter, want BucketOwnerEnforced']],
    ['KMS instead of SSE-S3', { encryption: { state: 'set', value: { algorithm: 'aws:kms', bucketKeyEnabled: false } } }, 'encryption', ['SSE-KMS AWS managed key aws/s3 without bucket key, want SSE-S3']],
    [
      'a changed expiry',
      { lifecycle: { state: 'set', value: spec.lifecycle.map((r) => (r.prefix === 'cache/' ? { ...r, expirationDays: 90 } : r)) } },
      'lifecycle',
      ['rule tenant-runners-cache-expiry: enabled, prefix "cache/", expire after 90 days, want enabled, prefix "cache/", expire after 14 days'],
    ],
    [
      'a disabled rule',
      { lifecycle: { state: 'set', value: spec.lifecycle.map((r) => (r.prefix === 'layers/' ? { ...r, enabled: false } : r)) } },
      'lifecycle',
      ['rule tenant-runners-layers-expiry: disabled, prefix "layers/", expire after 30 days, want enabled, prefix "layers/", expire after 30 days'],
    ],
    [
      'a foreign rule, which the write would remove',
      { lifecycle: { state: 'set', value: [...spec.lifecycle, { id: 'archive', enabled: true, prefix: 'old/', unmanaged: ['transitions'] }] } },
      'lifecycle',
      ['rule archive: not managed by tenant-runners, would be removed (enabled, prefix "old/", also transitions)'],
    ],
    ['no policy', { policy: { state: 'absent' } }, 'policy', ['not set, want deny all requests without TLS (DenyInsecureTransport)']],
    ['a different policy', { policy: { state: 'set', value: { Version: '2012-10-17', Statement: [] } } }, 'policy', ['differs from the TLS-only policy, would be replaced: {"Version":"2012-10-17","Statement":[]}']],
    ['versioning enabled', { versioning: { state: 'set', value: 'Enabled' } }, 'versioning', ['Enabled, want Suspended (cache buckets keep no object versions)']],
    ['a missing tag', { tags: { state: 'set', value: { tenant: 'acme' } } }, 'tags', ['tag managed-by: missing, want "tenant-runners"']],
    ['a wrong tag value', { tags: { state: 'set', value: { tenant: 'other', 'managed-by': 'tenant-runners' } } }, 'tags', ['tag tenant: "other", want "acme"']],
  ])('%s is one change, described', (_name, drift, setting, details) => {
    const plan = planBucket(spec, { ...converged(spec), ...drift });
    expect(plan.changes).toEqual([{ setting, details }]);
    expect(plan.create).toBe(false);
  });

  test.each<[string, Partial<ActualBucket>]>([
    ['extra tags (cost allocation) are left alone', { tags: { state: 'set', value: { ...spec.tags, 'cost-center': 'cc-1' } } }],
    ['versioning suspended counts as off', { versioning: { state: 'set', value: 'Suspended' } }],
    [
      'the same policy re-serialized by S3 (keys reordered, one-element arrays) is no drift',
      {
        policy: {
          state: 'set',
          value: {
            Statement: [
              {
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                Resource: ['arn:aws:s3:::acme-cache/*', 'arn:aws:s3:::acme-cache'],
                Action: ['s3:*'],
                Principal: '*',
                Effect: 'Deny',
                Sid: 'DenyInsecureTransport',
              },
            ],
            Version: '2012-10-17',
          },
        },
      },
    ],
    ['lifecycle rules in another order', { lifecycle: { state: 'set', value: [...spec.lifecycle].reverse() } }],
  ])('%s', (_name, actual) => {
    expect(planBucket(spec, { ...converged(spec), ...actual }).changes).toEqual([]);
  });

  test('SSE-KMS compares key and bucket key', () => {
    const kms = specFor({ encryption: { type: 'KMS', kmsKeyId: 'key-1' } });
    const withKey = (kmsKeyId: string, bucketKeyEnabled: boolean): Partial<ActualBucket> => ({
      encryption: { state: 'set', value: { algorithm: 'aws:kms', kmsKeyId, bucketKeyEnabled } },
    });
    expect(planBucket(kms, { ...converged(kms), ...withKey('key-1', true) }).changes).toEqual([]);
    expect(planBucket(kms, { ...converged(kms), ...withKey('key-2', true) }).changes[0]!.details).toEqual([
      'SSE-KMS key key-2 with bucket key, want SSE-KMS key key-1 with bucket key',
    ]);
    expect(planBucket(kms, { ...converged(kms), ...withKey('key-1', false) }).changes[0]!.details).toEqual([
      'SSE-KMS key key-1 without bucket key, want SSE-KMS key key-1 with bucket key',
    ]);
  });

  test('settings the endpoint does not implement are listed, never planned as changes', () => {
    const plan = planBucket(spec, { ...converged(spec), tags: { state: 'unsupported', detail: 'no tagging here' } });
    expect(plan.changes).toEqual([]);
    expect(plan.unsupported).toEqual([{ setting: 'tags', detail: 'no tagging here' }]);
    expect(isNoop(plan)).toBe(true);
  });
});

describe('tagsToWrite', () => {
  const spec = specFor();
  test('keeps other tags and overrides the managed ones, sorted', () => {
    expect(tagsToWrite(spec, { state: 'set', value: { tenant: 'wrong', 'cost-center': 'cc-1' } })).toEqual({
      'cost-center': 'cc-1',
      'managed-by': 'tenant-runners',
      tenant: 'acme',
    });
    expect(Object.keys(tagsToWrite(spec, { state: 'set', value: { zz: '1', aa: '2' } }))).toEqual(['aa', 'managed-by', 'tenant', 'zz']);
  });
  test('without tags on the bucket, just the managed ones', () => {
    expect(tagsToWrite(spec, { state: 'absent' })).toEqual(spec.tags);
  });
});

describe('fromSdkRule', () => {
  test('reads the filter prefix, the legacy rule-level prefix, and names settings it does not manage', () => {
    expect(fromSdkRule({ ID: 'a', Status: 'Enabled', Filter: { Prefix: 'cache/' }, Expiration: { Days: 14 } })).toEqual({
      id: 'a',
      enabled: true,
      prefix: 'cache/',
      expirationDays: 14,
    });
    expect(fromSdkRule({ ID: 'b', Status: 'Disabled', Prefix: 'old/', Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] })).toEqual({
      id: 'b',
      enabled: false,
      prefix: 'old/',
      unmanaged: ['transitions'],
    });
  });
});

describe('canonicalJson', () => {
  test('ignores key order and single-element arrays, not values', () => {
    expect(canonicalJson({ b: ['x'], a: 1 })).toBe(canonicalJson({ a: 1, b: 'x' }));
    expect(canonicalJson({ a: ['y', 'x'] })).toBe(canonicalJson({ a: ['x', 'y'] }));
    expect(canonicalJson({ a: 'x' })).not.toBe(canonicalJson({ a: 'y' }));
  });
});
