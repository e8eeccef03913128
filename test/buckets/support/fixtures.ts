/**
 * Test inputs and observers for the bucket tests: configuration directories written to a temp
 * folder and loaded with the real loader, credentials in the environment (the SDK's default
 * chain reads them, as in production), and SDK middleware that records every request the code
 * sends.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../../lib/config/load';
import type { LoadedConfig } from '../../../lib/model/resolve';

/** What a test tenant may set; everything else comes from a minimal valid tenant. */
export interface TenantFixture {
  readonly name: string;
  readonly bucket?: string;
  readonly encryption?: { type: 'S3' | 'KMS'; kmsKeyId?: string };
  readonly expireAfterDays?: number;
  readonly layersExpireAfterDays?: number;
  readonly auth?: Record<string, string>;
  readonly kanikoMode?: 'registry' | 's3';
}

const written: string[] = [];

/** Removes every directory {@link writeConfig} made; call it in afterAll. */
export function removeConfigs(): void {
  for (const dir of written.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `platform.yaml` and one file per tenant into a new temp directory; returns the directory. */
export function writeConfig(tenants: readonly TenantFixture[], s3: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buckets-config-'));
  written.push(dir);
  fs.mkdirSync(path.join(dir, 'tenants'));
  const platform = {
    gitlab: { url: 'https://gitlab.example.com', egressCidrs: ['203.0.113.10/32'] },
    kubernetes: { apiServerCidrs: ['192.0.2.10/32'], clusterCidrs: ['10.244.0.0/16', '10.96.0.0/12'] },
    s3: { region: 'eu-central-1', egressCidrs: ['198.51.100.0/24'], ...s3 },
    registry: { host: 'registry.local', egressCidrs: ['198.51.100.20/32'] },
  };
  fs.writeFileSync(path.join(dir, 'platform.yaml'), JSON.stringify(platform, null, 2));
  for (const t of tenants) {
    const tenant = {
      name: t.name,
      concurrent: 2,
      nodes: { labels: { tenant: t.name }, taints: [{ key: 'tenant', value: t.name, effect: 'NoSchedule' }] },
      runners: [{ name: 'builds' }],
      cache: {
        ...(t.kanikoMode !== undefined ? { kaniko: { mode: t.kanikoMode } } : {}),
        s3: {
          bucket: t.bucket ?? `${t.name}-cache`,
          auth: t.auth ?? { type: 'iamRole', roleArn: `arn:aws:iam::111122223333:role/${t.name}-cache` },
          ...(t.encryption ? { encryption: t.encryption } : {}),
          ...(t.expireAfterDays !== undefined ? { expireAfterDays: t.expireAfterDays } : {}),
          ...(t.layersExpireAfterDays !== undefined ? { layersExpireAfterDays: t.layersExpireAfterDays } : {}),
        },
      },
    };
    // JSON is YAML; the loader parses it with positions like any tenant file.
    fs.writeFileSync(path.join(dir, 'tenants', `${t.name}.yaml`), JSON.stringify(tenant, null, 2));
  }
  return dir;
}

/** Writes and loads a configuration. */
export function loadFixture(tenants: readonly TenantFixture[], s3: Record<string, unknown> = {}): LoadedConfig {
  return loadConfig(writeConfig(tenants, s3));
}

const CREDENTIAL_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] as const;

/**
 * Replaces the AWS credential environment for the test file and returns a restore function.
 * Profile files point nowhere and instance metadata is off, so the default chain can only find
 * what is passed here and never reaches for a network address.
 */
export function useCredentials(credentials: { accessKeyId: string; secretAccessKey: string } | undefined): () => void {
  const saved = Object.fromEntries(CREDENTIAL_ENV.map((name) => [name, process.env[name]]));
  for (const name of CREDENTIAL_ENV) delete process.env[name];
  const nowhere = path.join(os.tmpdir(), 'buckets-test-no-such-aws-file');
  process.env.AWS_CONFIG_FILE = nowhere;
  process.env.AWS_SHARED_CREDENTIALS_FILE = nowhere;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (credentials) {
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  }
  return () => {
    for (const name of CREDENTIAL_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}

/** One request as the SDK serialized it, before signing and retries. */
export interface SentRequest {
  readonly command: string;
  readonly method: string;
  /** Path-style: `/<bucket>`. */
  readonly path: string;
  readonly query: Record<string, unknown>;
  readonly body: string;
}

/** Adds middleware that records every command the client sends; returns the live list. */
export function recordRequests(client: S3Client): SentRequest[] {
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { method: string; path: string; query?: Record<string, unknown>; body?: unknown };
      sent.push({
        command: String(context.commandName),
        method: request.method,
        path: request.path,
        query: { ...(request.query ?? {}) },
        body: typeof request.body === 'string' ? request.body : request.body === undefined ? '' : Buffer.from(request.body as Uint8Array).toString('utf8'),
      });
      return next(args);
    },
    // After serialization (the request exists), before retries (one entry per logical call).
    { step: 'build', name: 'recordRequests', priority: 'low' },
  );
  return sent;
}

/** Commands that change state; anything else is a read. */
export function isWrite(request: SentRequest): boolean {
  return /^(Create|Put|Delete)/.test(request.command);
}
