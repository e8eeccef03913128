// `npm run --silent secrets [-- --config DIR] [tenant …]`: prints, per tenant, the exact
// `kubectl create secret` commands (secrets.source: existing) or the remote keys to fill
// (externalSecret). Values come from shell variables; nothing secret is read or printed.
import { loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/errors';
import { secretSetupCommands } from '../lib/secrets';

const args = process.argv.slice(2);
let configDir = 'config';
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--config' && args[i + 1]) configDir = args[++i];
  else only.push(args[i]);
}
try {
  const config = loadConfig(configDir);
  const unknown = only.filter((name) => !config.tenants.some((t) => t.name === name));
  if (unknown.length > 0) throw new Error(`no tenant ${unknown.join(', ')} in ${configDir}/tenants`);
  for (const tenant of config.tenants.filter((t) => only.length === 0 || only.includes(t.name))) {
    console.log(secretSetupCommands(tenant, config.platform.registry.host).join('\n'));
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `secrets: ${(error as Error).message}`);
  process.exitCode = 1;
}
