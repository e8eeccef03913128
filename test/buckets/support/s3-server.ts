/**
 * A real S3-compatible server for the bucket tests: s3rver (bucket and object round trips over
 * HTTP with SigV4) on 127.0.0.1 and a free port, with a thin layer in front that adds what s3rver
 * lacks and the tests need to observe:
 *
 * - accounts and bucket ownership: every access key is an account; a bucket belongs to the key
 *   that created it, and any other key gets 403 AccessDenied on it, as S3 answers a foreign
 *   bucket (CreateBucket of a taken name still reaches s3rver, which answers BucketAlreadyExists);
 * - a log of every request (method, bucket, subresource, access key) and the highest number in
 *   flight at once, so tests count write calls and measure concurrency on the server side;
 * - injected faults: artificial latency, 503 SlowDown for the next N requests to a bucket,
 *   301 PermanentRedirect for a bucket "in another region", and a bucket hidden from HeadBucket
 *   (another account creating the name between our HeadBucket and CreateBucket).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
// s3rver ships no types; the surface used here is small.
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => KoaLike;
const AWSAccount = require('s3rver/lib/models/account') as new (id: number, name: string) => { createKeyPair(id: string, secret: string): void };

interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  status: number;
  body: unknown;
  type: string;
  get(header: string): string;
  set(header: string, value: string): void;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface KoaLike {
  middleware: KoaMiddleware[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** One request as the server saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly bucket: string;
  /** The query string, e.g. `tagging` or `` for the bucket itself. */
  readonly query: string;
  readonly accessKeyId: string | undefined;
  readonly status: number;
}

/** The default account, the one the code under test uses. */
export const ACCOUNT = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** A second account that owns buckets the code under test must never adopt. */
export const OTHER_ACCOUNT = { accessKeyId: 'OTHERACCOUNT', secretAccessKey: 'OTHERACCOUNTSECRET' } as const;

/** A running server; stop it in afterAll. */
export interface TestS3Server {
  readonly endpoint: string;
  readonly requests: SeenRequest[];
  /** Highest number of requests in flight at once since the last {@link reset}. */
  readonly maxInFlight: number;
  /** Requests that can change state (PUT, POST, DELETE). */
  writes(bucket?: string): SeenRequest[];
  reset(): void;
  setLatency(ms: number): void;
  failNext(bucket: string, count: number): void;
  placeInRegion(bucket: string, region: string): void;
  /** HeadBucket answers 404 for the bucket: always, or for the next `times` HEADs. */
  hideFromHead(bucket: string, times?: number): void;
  stop(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 and a free port, with the layer described above. */
export async function startS3Server(): Promise<TestS3Server> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  new AWSAccount(210987654321, 'Other').createKeyPair(OTHER_ACCOUNT.accessKeyId, OTHER_ACCOUNT.secretAccessKey);
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });

  const owners = new Map<string, string | undefined>();
  const failing = new Map<string, number>();
  const regions = new Map<string, string>();
  const hidden = new Map<string, number>();
  const state = { requests: [] as SeenRequest[], inFlight: 0, maxInFlight: 0, latencyMs: 0 };

  const layer: KoaMiddleware = async (ctx, next) => {
    const bucket = decodeURIComponent(ctx.path.split('/')[1] ?? '');
    const isBucketPath = ctx.path.replace(/\/$/, '').split('/').length === 2;
    const accessKeyId = /Credential=([^/]+)\//.exec(ctx.get('authorization'))?.[1];
    let thrownStatus: number | undefined;
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      if (state.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, state.latencyMs));
      const isCreate = ctx.method === 'PUT' && isBucketPath && ctx.querystring === '';
      if (bucket && (failing.get(bucket) ?? 0) > 0) {
        failing.set(bucket, failing.get(bucket)! - 1);
        return fail(ctx, 503, 'SlowDown', 'Please reduce your request rate.');
      }
      if (bucket && regions.has(bucket)) {
        ctx.set('x-amz-bucket-region', regions.get(bucket)!);
        return fail(ctx, 301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.');
      }
      if (bucket && ctx.method === 'HEAD' && isBucketPath && (hidden.get(bucket) ?? 0) > 0) {
        hidden.set(bucket, hidden.get(bucket)! - 1);
        return fail(ctx, 404, 'NotFound', 'Not Found');
      }
      // S3 (outside us-east-1) tells the owner of an existing bucket so; s3rver says BucketAlreadyExists to everyone.
      if (isCreate && owners.has(bucket) && owners.get(bucket) === accessKeyId) {
        return fail(ctx, 409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
      }
      if (bucket && owners.has(bucket) && owners.get(bucket) !== accessKeyId && !isCreate) return fail(ctx, 403, 'AccessDenied', 'Access Denied');
      try {
        await next();
      } catch (error) {
        // s3rver throws its S3 errors; Koa turns them into responses after this layer returns.
        thrownStatus = (error as { status?: number }).status ?? 500;
        throw error;
      }
      if (isCreate && ctx.status === 200 && !owners.has(bucket)) owners.set(bucket, accessKeyId);
      if (ctx.method === 'DELETE' && isBucketPath && ctx.querystring === '' && ctx.status === 204) owners.delete(bucket);
    } finally {
      state.inFlight -= 1;
      state.requests.push({ method: ctx.method, bucket, query: ctx.querystring, accessKeyId, status: thrownStatus ?? ctx.status });
    }
  };
  // Outermost, so it sees every request before s3rver's router and its status after.
  s3rver.middleware.unshift(layer);

  const { port } = await s3rver.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    writes: (bucket) => state.requests.filter((r) => ['PUT', 'POST', 'DELETE'].includes(r.method) && (bucket === undefined || r.bucket === bucket)),
    reset: () => {
      state.requests = [];
      state.maxInFlight = 0;
    },
    setLatency: (ms) => {
      state.latencyMs = ms;
    },
    failNext: (bucket, count) => failing.set(bucket, count),
    placeInRegion: (bucket, region) => regions.set(bucket, region),
    hideFromHead: (bucket, times = Number.POSITIVE_INFINITY) => hidden.set(bucket, times),
    stop: async () => {
      await s3rver.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

function fail(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>test</RequestId></Error>`;
}
