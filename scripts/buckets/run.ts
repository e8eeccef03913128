/**
 * Plans or applies every selected tenant's bucket with bounded concurrency. One tenant's failure
 * is recorded in its result and never stops the others.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Platform } from '../../lib/config/schema';
import type { TenantConfig } from '../../lib/model/resolve';
import { desiredBucket } from './desired';
import { BucketPlan, Change, isNoop, Kept, Management, planBucket, SETTINGS, Unsupported } from './plan';
import { BucketError, checkCredentials, ClientSettings, createBucket, createClient, FailureKind, readBucket, writeSetting } from './s3';

/** Default number of tenants worked on at once: quick for dozens of tenants, far below S3's request rates. */
export const DEFAULT_CONCURRENCY = 4;

/** What `runBuckets` should do. */
export interface RunOptions {
  readonly command: 'plan' | 'apply';
  readonly platform: Platform;
  readonly tenants: readonly TenantConfig[];
  /** Overrides `s3.endpoint` of the platform. */
  readonly endpoint?: string;
  /** Forces path-style addressing on (as `--path-style`); otherwise `s3.pathStyle` applies. */
  readonly pathStyle?: boolean;
  /** Tenants worked on at once. @default 4 */
  readonly concurrency?: number;
  /**
   * Buckets (names) tenant-runners may adopt: existing buckets without its `managed-by` tag are
   * merged into instead of refused.
   */
  readonly adopt?: readonly string[];
  /** The cluster these tenants belong to (`config/clusters/<cluster>/`); copied into each result. */
  readonly cluster?: string;
  /** Called with each tenant's result as soon as it is known, for progress output. */
  readonly onResult?: (result: TenantResult) => void;
  /** Lets tests add SDK middleware (request counting, capture) to the client the run uses. */
  readonly configureClient?: (client: S3Client) => void;
}

/**
 * One tenant's outcome. Plans report `no-changes`, `create` or `update`; applies report
 * `no-changes`, `created` or `updated`; either may report `failed`.
 */
export interface TenantResult {
  /** Set with the multi-cluster layout. */
  readonly cluster?: string;
  readonly tenant: string;
  readonly bucket: string;
  readonly outcome: 'no-changes' | 'create' | 'update' | 'created' | 'updated' | 'failed';
  /** Settings that differ (plan) or were written (apply). */
  readonly changes: readonly Change[];
  /** Settings the endpoint does not implement: neither checked nor written. */
  readonly unsupported: readonly Unsupported[];
  /** How the bucket is treated (unset when it failed before that was known, or was refused). */
  readonly management?: Management;
  /** Differences of an adopted bucket deliberately left as they are. */
  readonly kept: readonly Kept[];
  readonly error?: { readonly kind: FailureKind; readonly message: string };
  readonly durationMs: number;
}

/** Results of all tenants, in configuration order. */
export interface RunResult {
  readonly command: 'plan' | 'apply';
  readonly results: readonly TenantResult[];
  /** True when any tenant failed: the command then exits non-zero. */
  readonly failed: boolean;
}

/** S3 settings after command-line overrides. */
export function clientSettings(platform: Platform, overrides: { endpoint?: string; pathStyle?: boolean }): ClientSettings {
  const endpoint = overrides.endpoint ?? platform.s3.endpoint;
  return {
    region: platform.s3.region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    pathStyle: overrides.pathStyle === true || platform.s3.pathStyle,
  };
}

/**
 * Plans or applies the buckets of `options.tenants`.
 *
 * @throws BucketError `credentials` before touching any bucket when the default chain finds none.
 */
export async function runBuckets(options: RunOptions): Promise<RunResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const settings = clientSettings(options.platform, options);
  const client = createClient(settings);
  options.configureClient?.(client);
  try {
    await checkCredentials(client);
    const results = await mapWithConcurrency(options.tenants, concurrency, async (tenant) => {
      const adopt = new Set(options.adopt ?? []);
      const result = await runTenant(client, options.command, tenant, options.platform, settings.endpoint, adopt, options.cluster);
      options.onResult?.(result);
      return result;
    });
    return { command: options.command, results, failed: results.some((r) => r.outcome === 'failed') };
  } finally {
    client.destroy();
  }
}

async function runTenant(
  client: S3Client,
  command: 'plan' | 'apply',
  tenant: TenantConfig,
  platform: Platform,
  endpoint: string | undefined,
  adopt: ReadonlySet<string>,
  cluster: string | undefined,
): Promise<TenantResult> {
  const started = Date.now();
  const spec = desiredBucket(tenant, platform);
  const base = { ...(cluster !== undefined ? { cluster } : {}), tenant: tenant.name, bucket: spec.bucket };
  let plan: BucketPlan | undefined;
  const written: Change[] = [];
  const unsupported: Unsupported[] = [];
  const options = { adopt: adopt.has(spec.bucket) };
  const done = (outcome: TenantResult['outcome'], changes: readonly Change[], error?: TenantResult['error']): TenantResult => ({
    ...base,
    outcome,
    changes,
    unsupported: bySetting(unsupported),
    ...(plan?.management !== undefined ? { management: plan.management } : {}),
    kept: plan?.kept ?? [],
    ...(error ? { error } : {}),
    durationMs: Date.now() - started,
  });
  try {
    let actual = await readBucket(client, spec, endpoint);
    plan = planBucket(spec, actual, options);
    if (plan.refused !== undefined) return done('failed', [], { kind: 'not-managed', message: plan.refused });
    unsupported.push(...plan.unsupported);
    if (command === 'plan' || isNoop(plan)) {
      return done(isNoop(plan) ? 'no-changes' : plan.create ? 'create' : 'update', plan.changes);
    }
    if (plan.create && (await createBucket(client, spec, endpoint)) === 'exists') {
      // Someone in this account created the name after HeadBucket: decide again from what is there.
      actual = await readBucket(client, spec, endpoint);
      if (actual === undefined) {
        throw new BucketError('other', `bucket ${spec.bucket}: CreateBucket says this account owns it (BucketAlreadyOwnedByYou), but HeadBucket does not find it; not touched, rerun later`);
      }
      plan = planBucket(spec, actual, options);
      if (plan.refused !== undefined) return done('failed', [], { kind: 'not-managed', message: plan.refused });
      unsupported.splice(0, unsupported.length, ...plan.unsupported);
    }
    for (const change of plan.changes) {
      const outcome = await writeSetting(client, spec, change.setting, actual, endpoint, plan.management);
      if (outcome === 'written') written.push(change);
      else if (outcome.state === 'unsupported') unsupported.push({ setting: change.setting, detail: outcome.detail });
    }
    return done(plan.create ? 'created' : written.length > 0 ? 'updated' : 'no-changes', written);
  } catch (error) {
    const failure = error instanceof BucketError ? { kind: error.kind, message: error.message } : { kind: 'other' as const, message: String(error) };
    // What was written before the failure is reported, so a rerun's plan is no surprise.
    return done('failed', written, failure);
  }
}

function bySetting(unsupported: readonly Unsupported[]): Unsupported[] {
  return [...unsupported].sort((a, b) => SETTINGS.indexOf(a.setting) - SETTINGS.indexOf(b.setting));
}

/**
 * Runs `work` over `items` with at most `limit` calls pending at once; results keep input order.
 * Each worker takes the next index when it finishes, so one slow bucket never holds back a batch.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
