/**
 * `npm run buckets -- [plan|apply|policy] [--tenant NAME] [--cluster NAME] [--config DIR]
 * [--endpoint URL] [--path-style] [--adopt BUCKET]… [--concurrency N] [--json]`: makes every
 * tenant's cache bucket exist as configured, or prints a tenant's least-privilege IAM policy.
 * Reads the single-cluster layout (`config/platform.yaml`) and `config/clusters/<cluster>/` alike.
 *
 * Exit codes: 0 nothing to do (plan) or every bucket fine; 1 plan has changes pending, a bucket
 * failed or was refused, or the configuration is invalid; 2 bad usage or no credentials.
 */
import * as path from 'node:path';
import { Io, parseCommandLine } from '../../lib/cli/io';
import type { S3Client } from '@aws-sdk/client-s3';
import { loadClusters } from '../../lib/config/load';
import type { ClusterConfig } from '../../lib/model/resolve';
import type { TenantConfig } from '../../lib/model/resolve';
import { ConfigError } from '../../lib/config/errors';
import { PolicyInputError, runnerPolicy } from './iam';
import { hasUrlCredentials, redactUrls } from './redact';
import { jsonReport, progressLines, summaryTable } from './report';
import { BucketError } from './s3';
import { DEFAULT_CONCURRENCY, runBuckets, RunResult } from './run';

/** Options as given on the command line. */
export interface CliOptions {
  readonly command: 'plan' | 'apply' | 'policy';
  readonly tenant?: string;
  readonly cluster?: string;
  readonly configDir: string;
  readonly endpoint?: string;
  readonly pathStyle: boolean;
  readonly concurrency: number;
  readonly json: boolean;
  /** Buckets that may be adopted (`--adopt`, repeatable). */
  readonly adopt: readonly string[];
  readonly help: boolean;
}

/** Wrong usage; the message says what is allowed. */
export class UsageError extends Error {}

/** The help text, printed with `--help` and after a usage error. */
export const USAGE = `usage: npm run buckets -- [plan|apply|policy] [options]

  plan               show what apply would change (default; --dry-run is the same);
                     exit 1 when changes are pending, 0 when every bucket is as configured
  apply              create or converge the buckets
  policy             print the IAM policy for a tenant's runner role (needs --tenant)

  --tenant NAME      only this tenant
  --cluster NAME     only this cluster (config/clusters/NAME/)
  --config DIR       configuration directory (default: config)
  --endpoint URL     S3-compatible endpoint, overrides s3.endpoint (MinIO, Ceph); no credentials in it
  --path-style       path-style addressing, overrides s3.pathStyle
  --adopt BUCKET     merge into this existing bucket although tenant-runners did not create it
                     (repeatable); nothing others configured is removed or weakened
  --concurrency N    tenants worked on at once (default: ${DEFAULT_CONCURRENCY})
  --json             machine-readable result on stdout (progress still goes to stderr)

Options take their value as --name VALUE or --name=VALUE.
Credentials come from the AWS default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
web identity (IRSA) or instance/container metadata. Never from config/ or the command line.`;

/** Parses argv (without `node script`). */
export function parseCli(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    // The command's own checks below name a second positional more precisely than the shared parser.
    parsed = parseCommandLine(
      argv,
      {
        tenant: { type: 'string' },
        cluster: { type: 'string' },
        config: { type: 'string', default: 'config' },
        endpoint: { type: 'string' },
        'path-style': { type: 'boolean', default: false },
        adopt: { type: 'string', multiple: true, default: [] },
        concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
        json: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      Infinity,
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`expected one command, got ${positionals.join(' ')}`);
  const command = positionals[0] ?? 'plan';
  if (command !== 'plan' && command !== 'apply' && command !== 'policy') throw new UsageError(`unknown command ${command}; use plan, apply or policy`);
  if (command === 'policy' && values.tenant === undefined && !values.help) throw new UsageError('policy needs --tenant NAME');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency must be an integer from 1 to 64, got ${values.concurrency}`);
  if (values.endpoint !== undefined) {
    if (hasUrlCredentials(values.endpoint)) {
      throw new UsageError(
        `--endpoint must not carry credentials (${redactUrls(values.endpoint)}); give them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile`,
      );
    }
    if (!/^https?:\/\/[^\s/]+\/?$/.test(values.endpoint)) throw new UsageError(`--endpoint must be an http(s):// URL without a path, got ${values.endpoint}`);
  }
  for (const bucket of values.adopt!) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new UsageError(`--adopt takes a bucket name, got ${JSON.stringify(bucket)}`);
  }
  return {
    // --dry-run is another name for plan (docs/buckets.md); it never turns a plan into an apply.
    command: values['dry-run'] ? (command === 'policy' ? 'policy' : 'plan') : command,
    ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
    configDir: values.config!,
    ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
    pathStyle: values['path-style']!,
    concurrency,
    json: values.json!,
    adopt: [...new Set(values.adopt!)],
    help: values.help!,
  };
}

/** What the CLI writes where; tests pass their own. */
// The same Io as every command of the project (lib/cli/io.ts).
export type { Io } from '../../lib/cli/io';

/** Test hooks; production passes none. */
export interface Hooks {
  /** Adds SDK middleware to each client a run creates (request capture, settings emulation). */
  readonly configureClient?: (client: S3Client) => void;
}

/** Runs the command; returns the exit code. Every line written passes through URL redaction. */
export async function main(argv: readonly string[], rawIo: Io, hooks: Hooks = {}): Promise<number> {
  const io: Io = { out: (text) => rawIo.out(redactUrls(text)), err: (text) => rawIo.err(redactUrls(text)) };
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    io.out(USAGE);
    return 0;
  }
  let clusters: ClusterConfig[];
  try {
    clusters = loadClusters(path.resolve(options.configDir), { displayBase: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 1;
    }
    throw error;
  }
  const multi = clusters.some((c) => c.cluster !== undefined);
  if (options.cluster !== undefined) {
    if (!multi) {
      io.err(`--cluster ${options.cluster}: ${options.configDir} has no clusters/ folder (single-cluster layout)`);
      return 2;
    }
    clusters = clusters.filter((c) => c.cluster === options.cluster);
    if (clusters.length === 0) {
      io.err(`no cluster named ${options.cluster} in ${options.configDir}/clusters`);
      return 2;
    }
  }
  let selected = clusters.map((c) => ({ ...c, tenants: c.tenants.filter((t) => options.tenant === undefined || t.name === options.tenant) }));
  if (options.tenant !== undefined) {
    selected = selected.filter((c) => c.tenants.length > 0);
    if (selected.length === 0) {
      io.err(`no tenant named ${options.tenant} in ${options.configDir}${multi ? `/clusters/${options.cluster ?? '*'}` : ''}/tenants`);
      return 2;
    }
  }
  const buckets = new Set(selected.flatMap((c) => c.tenants.map((t) => t.cache.s3.bucket)));
  const strays = options.adopt.filter((bucket) => !buckets.has(bucket));
  if (strays.length > 0) {
    io.err(`--adopt ${strays.join(', ')}: not the cache.s3.bucket of any selected tenant; only a tenant's own bucket can be adopted`);
    return 2;
  }
  if (options.command === 'policy') {
    if (selected.length > 1) {
      io.err(`tenant ${options.tenant} is in clusters ${selected.map((c) => c.cluster).join(', ')}; choose one with --cluster NAME`);
      return 2;
    }
    try {
      io.out(JSON.stringify(runnerPolicy(selected[0]!.tenants[0]! as TenantConfig, selected[0]!.platform), null, 2));
      return 0;
    } catch (error) {
      if (error instanceof PolicyInputError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
  }
  const runs: RunResult[] = [];
  try {
    for (const cluster of selected) {
      if (cluster.cluster !== undefined) {
        const endpoint = options.endpoint ?? cluster.platform.s3.endpoint;
        io.err(`cluster ${cluster.cluster}: region ${cluster.platform.s3.region}${endpoint ? `, endpoint ${endpoint}` : ''}`);
      }
      runs.push(
        await runBuckets({
          command: options.command,
          platform: cluster.platform,
          tenants: cluster.tenants,
          ...(cluster.cluster !== undefined ? { cluster: cluster.cluster } : {}),
          ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
          pathStyle: options.pathStyle,
          concurrency: options.concurrency,
          adopt: options.adopt,
          ...(hooks.configureClient ? { configureClient: hooks.configureClient } : {}),
          onResult: (result) => io.err(progressLines(result).join('\n')),
        }),
      );
    }
  } catch (error) {
    // No credentials, an unreachable endpoint: the environment refuses, nothing was changed (exit 1).
    if (error instanceof BucketError) {
      io.err(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const run: RunResult = { command: options.command, results: runs.flatMap((r) => r.results), failed: runs.some((r) => r.failed) };
  io.err(`\n${summaryTable(run)}`);
  if (options.json) io.out(jsonReport(run));
  if (run.failed) return 1;
  // Like `diff`: a plan with pending changes exits 1, so CI can tell drift from a converged state.
  return options.command === 'plan' && run.results.some((r) => r.outcome !== 'no-changes') ? 1 : 0;
}

// Started directly (node build/buckets.js) or through scripts/run.mjs, which runs the bundle as the main module.
if (require.main === module) {
  // The SDK warns on every run that its releases from 2027 on need Node 22; package-lock pins the
  // SDK, so the warning tells an operator nothing they can act on here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2), { out: (text) => console.log(text), err: (text) => console.error(text) }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // Anything not foreseen is a bug in this command, not in the configuration (exit 3, as every command).
      const e = error instanceof Error ? error : new Error(String(error));
      console.error(redactUrls(`buckets: internal error: ${e.message}`));
      if (process.env.TENANT_RUNNERS_DEBUG) console.error(redactUrls(e.stack ?? ''));
      console.error('This is a bug in tenant-runners, not in your configuration: please report it with the line above (TENANT_RUNNERS_DEBUG=1 adds the stack trace).');
      process.exitCode = 3;
    },
  );
}
