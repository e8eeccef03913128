/** The pure parts of bucket setup: the desired bucket, and desired-versus-actual planning. */
import { desiredBucket, BucketSpec } from '../../scripts/buckets/desired';
import { ActualBucket, canonicalJson, isNoop, mergePolicy, planBucket, tagsToWrite } from '../../scripts/buckets/plan';
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
    expect(plan).toEqual({ tenant: 'acme', bucket: 'acme-cache', create: false, changes: [], unsupported: [], management: 'managed', kept: [] });
    expect(isNoop(plan)).toBe(true);
  });

  test('settings never configured are all changes (of a bucket named with --adopt)', () => {
    const absent = { state: 'absent' } as const;
    const plan = planBucket(spec, {
      publicAccessBlock: absent,
      ownership: absent,
      encryption: absent,
      lifecycle: absent,
      policy: absent,
      versioning: { state: 'set', value: 'Off' },
      tags: absent,
    }, { adopt: true });
    expect(plan.management).toBe('adopted');
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
    ['a missing tenant tag', { tags: { state: 'set', value: { 'managed-by': 'tenant-runners' } } }, 'tags', ['tag tenant: missing, want "acme"']],
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
    const plan = planBucket(spec, { ...converged(spec), policy: { state: 'unsupported', detail: 'no policies here' } });
    expect(plan.changes).toEqual([]);
    expect(plan.unsupported).toEqual([{ setting: 'policy', detail: 'no policies here' }]);
    expect(isNoop(plan)).toBe(true);
  });
});

describe('which existing buckets may be touched (tags)', () => {
  const spec = specFor();
  const withTags = (tags: Record<string, string> | 'absent' | 'unsupported'): ActualBucket => ({
    ...converged(spec),
    tags: tags === 'absent' ? { state: 'absent' } : tags === 'unsupported' ? { state: 'unsupported', detail: 'no tagging here' } : { state: 'set', value: tags },
  });

  test.each<[string, ActualBucket, RegExp]>([
    ['no tags at all', withTags('absent'), /^bucket acme-cache exists but tenant-runners did not create it \(no tag managed-by=tenant-runners\); it is not touched; pass --adopt acme-cache/],
    ['only foreign tags', withTags({ 'cost-center': 'cc-1' }), /tenant-runners did not create it/],
    ['tags the endpoint cannot read', withTags('unsupported'), /cannot tell whether bucket acme-cache is tenant-runners' \(its tags cannot be read: no tagging here\)/],
  ])('refuses a bucket without the managed-by tag: %s', (_name, actual, message) => {
    const plan = planBucket(spec, actual);
    expect(plan.refused).toMatch(message);
    expect(plan.changes).toEqual([]);
    expect(plan.management).toBeUndefined();
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['managed by another tool', { 'managed-by': 'terraform' }, /tagged managed-by="terraform": another tool manages it/],
    ['another tenant', { 'managed-by': 'tenant-runners', tenant: 'other' }, /tagged tenant="other", not "acme": it holds another tenant's cache/],
  ])('refuses a bucket %s, even with --adopt', (_name, tags, message) => {
    expect(planBucket(spec, withTags(tags)).refused).toMatch(message);
    expect(planBucket(spec, withTags(tags), { adopt: true }).refused).toMatch(message);
  });

  test('--adopt turns a refused bucket into an adopted one; the adopted tag keeps it adopted without --adopt', () => {
    expect(planBucket(spec, withTags({ 'cost-center': 'cc-1' }), { adopt: true }).management).toBe('adopted');
    expect(planBucket(spec, withTags('unsupported'), { adopt: true }).management).toBe('adopted');
    expect(planBucket(spec, withTags({ ...spec.tags, 'tenant-runners-adopted': 'true' })).management).toBe('adopted');
    expect(planBucket(spec, withTags(spec.tags)).management).toBe('managed');
  });
});

describe('an adopted bucket is merged into, never stripped', () => {
  const spec = specFor({ encryption: { type: 'KMS', kmsKeyId: 'arn:aws:kms:eu-central-1:111122223333:key/ours' } });
  const foreignStatement = { Sid: 'AllowPartner', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-cache/*' };
  const foreignRule = { id: 'archive', enabled: true, prefix: 'old/', unmanaged: ['transitions'] };
  /** A bucket someone else set up: its own policy, rule, versioning, KMS key, ACLs and tags. */
  const theirs: ActualBucket = {
    publicAccessBlock: { state: 'set', value: { ...spec.publicAccessBlock, BlockPublicPolicy: false } },
    ownership: { state: 'set', value: 'ObjectWriter' },
    encryption: { state: 'set', value: { algorithm: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-central-1:111122223333:key/theirs', bucketKeyEnabled: false } },
    lifecycle: { state: 'set', value: [foreignRule] },
    policy: { state: 'set', value: { Version: '2012-10-17', Statement: [foreignStatement] } },
    versioning: { state: 'set', value: 'Enabled' },
    tags: { state: 'set', value: { 'cost-center': 'cc-1' } },
  };

  test('plan: adds our rules, statement and tags; keeps (and says so) their access block, ownership, key, versioning', () => {
    const plan = planBucket(spec, theirs, { adopt: true });
    expect(plan.management).toBe('adopted');
    expect(plan.changes).toEqual([
      {
        setting: 'lifecycle',
        details: [
          'rule tenant-runners-abort-incomplete-multipart: missing, want enabled, prefix "", abort incomplete multipart uploads after 1 days',
          'rule tenant-runners-cache-expiry: missing, want enabled, prefix "cache/", expire after 14 days',
          'rule tenant-runners-layers-expiry: missing, want enabled, prefix "layers/", expire after 30 days',
        ],
      },
      { setting: 'policy', details: ['add statement DenyInsecureTransport (deny all requests without TLS (DenyInsecureTransport)); statements kept: AllowPartner'] },
      {
        setting: 'tags',
        details: ['tag managed-by: missing, want "tenant-runners"', 'tag tenant: missing, want "acme"', 'tag tenant-runners-adopted: missing, want "true"'],
      },
    ]);
    expect(plan.kept.map((k) => `${k.setting}: ${k.detail}`)).toEqual([
      "publicAccessBlock: BlockPublicPolicy: false, want true: kept (adopted bucket: its owner's setting is never changed); turn them on by hand if the bucket must be private",
      'ownership: ObjectWriter, want BucketOwnerEnforced: kept (adopted bucket: enforcing bucket ownership would disable its ACL grants)',
      "encryption: SSE-KMS key arn:aws:kms:eu-central-1:111122223333:key/theirs without bucket key, want SSE-KMS key arn:aws:kms:eu-central-1:111122223333:key/ours with bucket key: kept (adopted bucket: its owner's encryption key is never replaced); new objects are encrypted with key arn:aws:kms:eu-central-1:111122223333:key/theirs, so the runner role needs kms:Decrypt and kms:GenerateDataKey on it",
      'lifecycle: rules not written by tenant-runners, written back unchanged: archive',
      "versioning: Enabled: kept (adopted bucket: versioning is never suspended); noncurrent versions are not expired by tenant-runners' rules",
    ]);
  });

  test('encryption: SSE-S3 is raised to the configured SSE-KMS; SSE-KMS is never lowered to SSE-S3', () => {
    const sseS3 = specFor();
    const kms = { state: 'set', value: { algorithm: 'aws:kms', bucketKeyEnabled: true } } as const;
    const lowered = planBucket(sseS3, { ...converged(sseS3), tags: { state: 'absent' }, encryption: kms }, { adopt: true });
    expect(lowered.changes.map((c) => c.setting)).not.toContain('encryption');
    expect(lowered.kept.find((k) => k.setting === 'encryption')!.detail).toMatch(/kept \(adopted bucket: never changed to a weaker default encryption\)/);
    const raised = planBucket(spec, { ...converged(spec), tags: { state: 'absent' }, encryption: { state: 'set', value: { algorithm: 'AES256' } } }, { adopt: true });
    expect(raised.changes.find((c) => c.setting === 'encryption')!.details[0]).toMatch(/^SSE-S3, want SSE-KMS key/);
  });

  test('a statement with our Sid but other content is theirs: kept, ours not added', () => {
    const impostor = { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: 'arn:aws:s3:::acme-cache' };
    const plan = planBucket(spec, { ...theirs, policy: { state: 'set', value: { Version: '2012-10-17', Statement: [impostor] } } }, { adopt: true });
    expect(plan.changes.map((c) => c.setting)).not.toContain('policy');
    expect(plan.kept).toContainEqual({ setting: 'policy', detail: "statement DenyInsecureTransport exists with other content: kept, tenant-runners' DenyInsecureTransport is not added (adopted bucket)" });
  });

  test('once merged and tagged, the bucket plans no changes without --adopt', () => {
    const merged: ActualBucket = {
      ...theirs,
      lifecycle: { state: 'set', value: [foreignRule, ...spec.lifecycle] },
      policy: { state: 'set', value: mergePolicy(spec.policy, { Version: '2012-10-17', Statement: [foreignStatement] }).document },
      tags: { state: 'set', value: { 'cost-center': 'cc-1', ...spec.tags, 'tenant-runners-adopted': 'true' } },
    };
    const plan = planBucket(spec, merged);
    expect(plan.management).toBe('adopted');
    expect(plan.changes).toEqual([]);
    expect(isNoop(plan)).toBe(true);
  });
});

describe('mergePolicy', () => {
  const spec = specFor();
  test('keeps every statement, adds ours once; the same content under another Sid counts as ours', () => {
    const other = { Sid: 'Other', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'x' };
    const merged = mergePolicy(spec.policy, { Version: '2012-10-17', Id: 'theirs', Statement: other });
    expect(merged.document).toEqual({ Version: '2012-10-17', Id: 'theirs', Statement: [other, spec.policy.Statement[0]] });
    expect(merged.added).toEqual(['DenyInsecureTransport']);
    const renamed = { ...spec.policy.Statement[0], Sid: 'TlsOnly' };
    expect(mergePolicy(spec.policy, { Version: '2012-10-17', Statement: [renamed] })).toMatchObject({ added: [], document: { Statement: [renamed] } });
  });
  test('a policy that is not a JSON document cannot be merged', () => {
    expect(mergePolicy(spec.policy, 'not json').document).toBeUndefined();
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
