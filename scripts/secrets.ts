/**
 * `npm run --silent secrets -- [--config DIR] [--cluster NAME] [tenant …]`: prints, per tenant, the
 * exact `kubectl create secret` commands (secrets.source: existing) or the remote keys to fill
 * (externalSecret), in the namespaces the tenant's architecture puts them. Values come from shell
 * variables scoped to the tenant (and cluster), read by kubectl from its standard input; nothing
 * secret is read or printed. Reads the single-cluster layout and `config/clusters/<cluster>/`.
 *
 * Exit codes: 0 printed; 1 invalid configuration (the loader's `file:line:col` messages) or a
 * tenant whose values would share a variable; 2 bad usage (unknown option, tenant or cluster).
 */
import { Io, parseCommandLine } from '../lib/cli/io';
import { loadClusters } from '../lib/config/load';
import { ConfigError } from '../lib/config/errors';
import { tenantLayout } from '../lib/model/layout';
import { secretSetupCommands } from '../lib/render/secret-commands';

export const USAGE = `usage: npm run --silent secrets -- [--config DIR] [--cluster NAME] [TENANT ...]

Prints the commands that create each tenant's Secrets (secrets.source: existing) or the remote keys
to fill (externalSecret). Values are read from shell variables named after the tenant, e.g.
$TENANT_1__JAVA_BUILDS_TOKEN ($PROD__TENANT_1__… with config/clusters/prod/); set each with
read -rs NAME. kubectl reads them from its standard input, never from its command line.

  TENANT ...       only these tenants (default: all)
  --config DIR     configuration directory (default: config)
  --cluster NAME   only this cluster (config/clusters/NAME/)
  -h, --help       this help

Options take their value as --name VALUE or --name=VALUE.`;

// The same Io as every command of the project (lib/cli/io.ts).
export type { Io } from '../lib/cli/io';

/** Runs the command; returns the exit code. */
export function main(argv: readonly string[], io: Io): number {
  let parsed;
  try {
    parsed = parseCommandLine(
      argv,
      {
        config: { type: 'string', default: 'config' },
        cluster: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      Infinity,
    );
  } catch (error) {
    io.err(`secrets: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals: only } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const configDir = values.config!;
  let clusters;
  try {
    clusters = loadClusters(configDir);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 1;
    }
    throw error;
  }
  if (values.cluster !== undefined) {
    if (!clusters.some((c) => c.cluster !== undefined)) {
      io.err(`secrets: --cluster ${values.cluster}: ${configDir} has no clusters/ folder (single-cluster layout)`);
      return 2;
    }
    clusters = clusters.filter((c) => c.cluster === values.cluster);
    if (clusters.length === 0) {
      io.err(`secrets: no cluster named ${values.cluster} in ${configDir}/clusters`);
      return 2;
    }
  }
  const unknown = only.filter((name) => !clusters.some((c) => c.tenants.some((t) => t.name === name)));
  if (unknown.length > 0) {
    io.err(`secrets: no tenant ${unknown.join(', ')} in ${configDir}${values.cluster !== undefined ? `/clusters/${values.cluster}` : ''}`);
    return 2;
  }
  const lines: string[] = [];
  try {
    for (const cluster of clusters) {
      const tenants = cluster.tenants.filter((t) => only.length === 0 || only.includes(t.name));
      if (tenants.length === 0) continue;
      if (cluster.cluster !== undefined) lines.push(`# cluster ${cluster.cluster}: run these with the kubectl context of cluster ${cluster.cluster}`);
      for (const tenant of tenants) {
        const layout = tenantLayout(cluster.platform, tenant);
        lines.push(
          ...secretSetupCommands(
            tenant,
            cluster.platform.registry.host,
            layout.names.kanikoPushSecret,
            { manager: layout.managerNamespace, jobs: layout.jobNamespace },
            cluster.cluster !== undefined ? { cluster: cluster.cluster } : {},
          ),
        );
      }
    }
  } catch (error) {
    io.err(`secrets: ${(error as Error).message}`);
    return 1;
  }
  io.out(lines.join('\n'));
  return 0;
}

// Started directly (node build/secrets.js) or through scripts/run.mjs, which runs the bundle as the main module.
if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), { out: (text) => console.log(text), err: (text) => console.error(text) });
}
