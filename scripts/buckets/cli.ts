/**
 * `npm run buckets -- [plan|apply|policy] [--tenant NAME] [--config DIR] [--endpoint URL]
 * [--path-style] [--concurrency N] [--json]`: makes every tenant's cache bucket exist exactly as
 * configured, or prints a tenant's least-privilege IAM policy.
 *
 * Exit codes: 0 all tenants fine, 1 a tenant failed, 2 bad usage, configuration or credentials.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load';
import type { TenantConfig } from '../../lib/model/resolve';
import { ConfigError } from '../../lib/config/errors';
import { PolicyInputError, runnerPolicy } from './iam';
import { jsonReport, progressLines, summaryTable } from './report';
import { BucketError } from './s3';
import { DEFAULT_CONCURRENCY, runBuckets } from './run';

/** Options as given on the command line. */
export interface CliOptions {
  readonly command: 'plan' | 'apply' | 'policy';
  readonly tenant?: string;
  readonly configDir: string;
  readonly endpoint?: string;
  readonly pathStyle: boolean;
  readonly concurrency: number;
  readonly json: boolean;
}

/** Wrong usage; the message says what is allowed. */
export class UsageError extends Error {}

/** The help text, printed with `--help` and after a usage error. */
export const USAGE = `usage: npm run buckets -- [plan|apply|policy] [options]

  plan               show what apply would change (default; --dry-run is the same)
  apply              create or converge the buckets
  policy             print the IAM policy for a tenant's runner role (needs --tenant)

  --tenant NAME      only this tenant
  --config DIR       configuration directory (default: config)
  --endpoint URL     S3-compatible endpoint, overrides s3.endpoint (MinIO, Ceph)
  --path-style       path-style addressing, overrides s3.pathStyle
  --concurrency N    tenants worked on at once (default: ${DEFAULT_CONCURRENCY})
  --json             machine-readable result on stdout (progress still goes to stderr)

Credentials come from the AWS default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
web identity (IRSA) or instance/container metadata. Never from config/.`;

/** Parses argv (without `node script`). */
export function parseCli(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        tenant: { type: 'string' },
        config: { type: 'string', default: 'config' },
        endpoint: { type: 'string' },
        'path-style': { type: 'boolean', default: false },
        concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
        json: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  if (positionals.length > 1) throw new UsageError(`expected one command, got ${positionals.join(' ')}`);
  const command = positionals[0] ?? 'plan';
  if (command !== 'plan' && command !== 'apply' && command !== 'policy') throw new UsageError(`unknown command ${command}; use plan, apply or policy`);
  if (command === 'policy' && values.tenant === undefined) throw new UsageError('policy needs --tenant NAME');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency must be an integer from 1 to 64, got ${values.concurrency}`);
  if (values.endpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(values.endpoint)) throw new UsageError(`--endpoint must be an http(s):// URL without a path, got ${values.endpoint}`);
  return {
    // --dry-run is another name for plan (docs/buckets.md); it never turns a plan into an apply.
    command: values['dry-run'] ? (command === 'policy' ? 'policy' : 'plan') : command,
    ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
    configDir: values.config!,
    ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
    pathStyle: values['path-style']!,
    concurrency,
    json: values.json!,
  };
}

/** What the CLI writes where; tests pass their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Runs the command; returns the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    const message = (error as Error).message;
    if (!message) {
      io.out(USAGE);
      return 0;
    }
    io.err(`${message}\n\n${USAGE}`);
    return 2;
  }
  let tenants: readonly TenantConfig[];
  let platform;
  try {
    ({ platform, tenants } = loadConfig(path.resolve(options.configDir)));
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 2;
    }
    throw error;
  }
  if (options.tenant !== undefined) {
    tenants = tenants.filter((t) => t.name === options.tenant);
    if (tenants.length === 0) {
      io.err(`no tenant named ${options.tenant} in ${options.configDir}/tenants`);
      return 2;
    }
  }
  if (options.command === 'policy') {
    try {
      io.out(JSON.stringify(runnerPolicy(tenants[0]!, platform), null, 2));
      return 0;
    } catch (error) {
      if (error instanceof PolicyInputError) {
        io.err(error.message);
        return 2;
      }
      throw error;
    }
  }
  try {
    const run = await runBuckets({
      command: options.command,
      platform,
      tenants,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      pathStyle: options.pathStyle,
      concurrency: options.concurrency,
      onResult: (result) => io.err(progressLines(result).join('\n')),
    });
    io.err(`\n${summaryTable(run)}`);
    if (options.json) io.out(jsonReport(run));
    return run.failed ? 1 : 0;
  } catch (error) {
    if (error instanceof BucketError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  // The SDK warns on every run that its releases from 2027 on need Node 22; package-lock pins the
  // SDK, so the warning tells an operator nothing they can act on here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2), { out: (text) => console.log(text), err: (text) => console.error(text) }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
