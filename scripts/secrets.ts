// `npm run --silent secrets [-- --config DIR] [tenant …]`: prints, per tenant, the exact
// `kubectl create secret` commands (secrets.source: existing) or the remote keys to fill
// (externalSecret), in the namespaces the tenant's architecture puts them. Values come from shell
// variables; nothing secret is read or printed.
import { loadClusters } from '../lib/config/load';
import { ConfigError } from '../lib/config/errors';
import { tenantLayout } from '../lib/model/layout';
import { secretSetupCommands } from '../lib/model/secrets';

const args = process.argv.slice(2);
let configDir = 'config';
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--config' && args[i + 1]) configDir = args[++i];
  else only.push(args[i]);
}
try {
  const clusters = loadClusters(configDir);
  const unknown = only.filter((name) => !clusters.some((c) => c.tenants.some((t) => t.name === name)));
  if (unknown.length > 0) throw new Error(`no tenant ${unknown.join(', ')} in ${configDir}`);
  for (const cluster of clusters) {
    for (const tenant of cluster.tenants.filter((t) => only.length === 0 || only.includes(t.name))) {
      const layout = tenantLayout(cluster.platform, tenant);
      if (cluster.cluster) console.log(`# cluster ${cluster.cluster}`);
      console.log(secretSetupCommands(tenant, cluster.platform.registry.host, layout.names.kanikoPushSecret, {
        manager: layout.managerNamespace,
        jobs: layout.jobNamespace,
      }).join('\n'));
    }
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `secrets: ${(error as Error).message}`);
  process.exitCode = 1;
}
