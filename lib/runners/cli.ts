/**
 * `npm run runners -- [plan|apply] [options]`: creates the GitLab runners configured with a
 * `registration` block and stores each token where the tenant's runner manager reads it
 * (docs/runner-registration.md).
 *
 * Exit codes: 0 nothing pending (plan) or everything done (apply); 1 plan has changes pending,
 * something was refused or failed, or the configuration is invalid; 2 bad usage, no GITLAB_TOKEN or
 * GitLab refused the token (401/403); 3 internal error.
 */
import * as path from 'node:path';
import { EXIT, Io, parseCommandLine, UsageError } from '../cli/io';
import { ConfigError } from '../config/errors';
import { loadClusters } from '../config/load';
import type { ClusterConfig } from '../model/resolve';
import { desiredFromClusters } from './desired';
import { GitLabApi, GitLabError, gitlabApi } from './gitlab';
import { KubeError, kubeConnection, SecretsApi, secretsApi } from './kube';
import { applyPlan, planLines, planRunners } from './plan';
import { TOKEN_COMMAND_ENV, TokenStoreError, tokenStore } from './token-store';

export const USAGE = `usage: npm run runners -- [plan|apply] [options]

  plan               show what apply would do (default); exit 1 when something is pending
  apply              create the missing runners in GitLab and store each token in the tenant's
                     token Secret (or, with --token-command, in the external secret store)

  --tenant NAME      only this tenant
  --cluster NAME     the cluster of config/clusters/NAME/ (required with several clusters:
                     one run talks to one Kubernetes API server)
  --config DIR       configuration directory (default: config)
  --gitlab-url URL   GitLab API base URL (default: gitlab.url of the platform)
  --kubeconfig FILE  kubeconfig (default: $KUBECONFIG, ~/.kube/config, else the pod's ServiceAccount)
  --context NAME     kubeconfig context (default: its current-context)
  --reset-token      for a runner that exists but whose token is not stored: issue a new token
                     (the old one stops working) and store it
  --token-command CMD
                     with secrets.source externalSecret: run CMD (sh -c) once per token, with the
                     token on stdin and ${TOKEN_COMMAND_ENV.key}, ${TOKEN_COMMAND_ENV.property},
                     ${TOKEN_COMMAND_ENV.tenant}, ${TOKEN_COMMAND_ENV.runner} in its environment

Options take their value as --name VALUE or --name=VALUE.
GitLab credentials: GITLAB_TOKEN, a personal, group or project access token with the create_runner
and manage_runner scopes (or api), plus read_api to look up paths. Never from config/ or arguments.
Runner tokens are never printed.`;

interface Options {
  readonly command: 'plan' | 'apply';
  readonly tenant?: string;
  readonly cluster?: string;
  readonly configDir: string;
  readonly gitlabUrl?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly resetToken: boolean;
  readonly tokenCommand?: string;
  readonly help: boolean;
}

function parseCli(argv: readonly string[]): Options {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      tenant: { type: 'string' },
      cluster: { type: 'string' },
      config: { type: 'string', default: 'config' },
      'gitlab-url': { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'reset-token': { type: 'boolean', default: false },
      'token-command': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    1,
  );
  const command = positionals[0] ?? 'plan';
  if (command !== 'plan' && command !== 'apply') throw new UsageError(`unknown command '${command}'; use plan or apply`);
  const url = values['gitlab-url'];
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol)) throw new UsageError(`--gitlab-url must be an http(s):// URL, got '${url}'`);
    if (parsed.username || parsed.password || parsed.search) throw new UsageError('--gitlab-url must not carry credentials or a query: the token comes from GITLAB_TOKEN');
  }
  if (values['token-command'] !== undefined && values['token-command'].trim() === '') throw new UsageError('--token-command must not be empty');
  return {
    command,
    ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
    configDir: values.config!,
    ...(url !== undefined ? { gitlabUrl: url } : {}),
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    resetToken: values['reset-token']!,
    ...(values['token-command'] !== undefined ? { tokenCommand: values['token-command'] } : {}),
    help: values.help!,
  };
}

/** Test hooks; production passes none. */
export interface Hooks {
  readonly gitlab?: (baseUrl: string, token: string) => GitLabApi;
  readonly secrets?: () => SecretsApi;
}

/** Masks every runner token issued in this run, the GitLab token and anything shaped like a runner token. */
function redactingIo(io: Io, secrets: Set<string>): Io {
  const redact = (text: string) => {
    let out = text;
    for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
    return out.replace(/\bglrt-[A-Za-z0-9_.-]{8,}/g, 'glrt-[redacted]');
  };
  return { out: (line) => io.out(redact(line)), err: (line) => io.err(redact(line)) };
}

function selectCluster(clusters: ClusterConfig[], options: Options): ClusterConfig {
  const multi = clusters.some((c) => c.cluster !== undefined);
  if (!multi) {
    if (options.cluster !== undefined) throw new UsageError(`--cluster ${options.cluster}: ${options.configDir} has no clusters/ folder (single-cluster layout)`);
    return clusters[0]!;
  }
  if (options.cluster === undefined) {
    throw new UsageError(`${options.configDir} has several clusters (${clusters.map((c) => c.cluster).join(', ')}); choose one with --cluster NAME and the matching --context`);
  }
  const cluster = clusters.find((c) => c.cluster === options.cluster);
  if (!cluster) throw new UsageError(`no cluster named ${options.cluster} in ${options.configDir}/clusters`);
  return cluster;
}

/** Runs the command; returns the exit code. */
export async function main(argv: readonly string[], rawIo: Io, env: NodeJS.ProcessEnv = process.env, hooks: Hooks = {}): Promise<number> {
  const secrets = new Set<string>();
  if (env.GITLAB_TOKEN) secrets.add(env.GITLAB_TOKEN);
  const io = redactingIo(rawIo, secrets);
  let options: Options;
  try {
    options = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`runners: ${error.message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (options.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  let cluster: ClusterConfig;
  try {
    cluster = selectCluster(loadClusters(path.resolve(options.configDir), { displayBase: process.cwd() }), options);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return EXIT.refused;
    }
    if (error instanceof UsageError) {
      io.err(`runners: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  const tenants = cluster.tenants.filter((t) => options.tenant === undefined || t.name === options.tenant);
  if (options.tenant !== undefined && tenants.length === 0) {
    io.err(`runners: no tenant named ${options.tenant}${cluster.cluster !== undefined ? ` in cluster ${cluster.cluster}` : ''}`);
    return EXIT.usage;
  }
  const { runners, unmanaged } = desiredFromClusters([{ ...cluster, tenants }]);
  const where = cluster.cluster !== undefined ? ` in cluster ${cluster.cluster}` : '';
  io.err(`${runners.length} runner${runners.length === 1 ? '' : 's'} with registration${where}${unmanaged.length > 0 ? `; without registration (not managed here): ${unmanaged.join(', ')}` : ''}`);
  if (runners.length === 0) return EXIT.ok;

  const token = env.GITLAB_TOKEN;
  if (!token) {
    io.err('runners: GITLAB_TOKEN is not set: export a GitLab access token with the create_runner and manage_runner scopes (docs/runner-registration.md)');
    return EXIT.usage;
  }
  const baseUrl = options.gitlabUrl ?? cluster.platform.gitlab.url;
  try {
    const gitlab = (hooks.gitlab ?? gitlabApi)(baseUrl, token);
    const secretsClient = hooks.secrets ? hooks.secrets() : secretsApi(kubeConnection({ ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}), ...(options.context !== undefined ? { context: options.context } : {}), env }));
    const store = tokenStore(secretsClient, options.tokenCommand);
    const planned = await planRunners(runners, gitlab, store);
    if (options.command === 'plan') {
      for (const line of planLines(planned, store, options.resetToken)) io.out(line);
      const pending = planned.filter((p) => p.action.kind !== 'keep').length;
      io.err(pending === 0 ? 'plan: nothing to do' : `plan: ${pending} of ${planned.length} runner${planned.length === 1 ? '' : 's'} pending`);
      return pending === 0 ? EXIT.ok : EXIT.refused;
    }
    const result = await applyPlan(planned, gitlab, store, { resetToken: options.resetToken, onToken: (t) => secrets.add(t) });
    for (const line of result.lines) io.out(line);
    if (result.error instanceof GitLabError && result.error.kind === 'auth') return EXIT.usage;
    io.err(result.failed ? 'apply: not everything was done (see the lines marked !)' : 'apply: done');
    return result.failed ? EXIT.refused : EXIT.ok;
  } catch (error) {
    if (error instanceof GitLabError) {
      io.err(`runners: ${error.message}`);
      return error.kind === 'auth' ? EXIT.usage : EXIT.refused;
    }
    if (error instanceof KubeError || error instanceof TokenStoreError) {
      io.err(`runners: ${error.message}`);
      return EXIT.refused;
    }
    throw error;
  }
}

/** The process's entry: exit code 3 and no stack trace (unless TENANT_RUNNERS_DEBUG) for anything not foreseen. */
export function runMain(): void {
  const io: Io = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      const mask = (text: string) => text.replace(/\bglrt-[A-Za-z0-9_.-]{8,}/g, 'glrt-[redacted]').split(process.env.GITLAB_TOKEN || '\0').join('[redacted]');
      io.err(mask(`runners: internal error: ${e.message}`));
      if (process.env.TENANT_RUNNERS_DEBUG) io.err(mask(e.stack ?? ''));
      io.err('This is a bug in tenant-runners, not in your configuration: please report it with the line above (TENANT_RUNNERS_DEBUG=1 adds the stack trace).');
      process.exitCode = EXIT.internal;
    },
  );
}
