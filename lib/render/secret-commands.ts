/**
 * `npm run --silent secrets`: what the platform team runs or fills per tenant, as shell lines,
 * from the Secrets the runner reads (lib/model/secrets.ts). Values enter shell lines only as shell
 * words (quoted unless plainly safe) and comments only as comment text.
 */
import type { TenantConfig } from '../model/resolve';
import { DOCKER_CONFIG_KEY, requiredSecrets, SecretNamespaces } from '../model/secrets';
import { names } from '../model/names';
import { commentText as c, shellWord as w } from './text';

/** A shell variable name part: upper case, every run of other characters one `_`. */
function shellVariable(...parts: string[]): string {
  return parts.join('_').toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/**
 * The prefix of every shell variable of one tenant, e.g. `TENANT_1__` (`PROD__TENANT_1__` with the
 * multi-cluster layout): tenant and cluster names are DNS labels, so no two tenants share a prefix,
 * and `__` never occurs inside a part, so no tenant's variable can be another tenant's.
 */
export function shellVariablePrefix(tenant: string, cluster?: string): string {
  return `${[...(cluster !== undefined ? [cluster] : []), tenant].map((part) => shellVariable(part)).join('__')}__`;
}

/** Options of {@link secretSetupCommands}. */
export interface SetupOptions {
  /** The cluster (`config/clusters/<cluster>/`): part of every variable name, since tokens differ per cluster. */
  readonly cluster?: string;
}

/**
 * What the platform team does for one tenant, as shell lines: with `existing`, the exact
 * `kubectl create secret` commands (names and keys from the configuration); with
 * `externalSecret`, the remote keys and properties to fill in the store. Printed by
 * `npm run --silent secrets`; the README shows the output for the example tenants.
 *
 * Values come from shell variables scoped to the tenant (`$TENANT_1__JAVA_BUILDS_TOKEN`), so
 * commands pasted for several tenants never give one tenant another's token. They reach kubectl
 * on its standard input, never as arguments (which `ps` and audit logs show): generic Secrets
 * with `--from-env-file=/dev/stdin` fed by a here-document, registry credentials as a Docker
 * `config.json` built with the shell's `printf` and `base64` and read with
 * `--from-file=.dockerconfigjson=/dev/stdin` into a `kubernetes.io/dockerconfigjson` Secret.
 * `${VAR:?}` stops the command when a variable is unset or empty.
 *
 * @throws Error when two values of the tenant would need the same variable name.
 */
export function secretSetupCommands(
  tenant: TenantConfig,
  registryHost: string,
  pushSecretName: string = names.kanikoPushSecret,
  namespaces: SecretNamespaces = { manager: tenant.name, jobs: tenant.name },
  options: SetupOptions = {},
): string[] {
  const secrets = requiredSecrets(tenant, pushSecretName, namespaces);
  const ns = namespaces.manager;
  if (tenant.secrets.source === 'externalSecret') {
    const store = `${tenant.secrets.store.kind} ${tenant.secrets.store.name}`;
    return [
      `# ${c(ns)}: values to put in the store behind ${c(store)} (the ExternalSecrets fill the Secrets)`,
      ...secrets.flatMap((secret) => secret.keys.map((k) =>
        `#   ${c(k.remoteRef!.key)} property ${c(k.remoteRef!.property)} -> Secret ${c(secret.name)} key ${c(k.key)}` +
        (secret.type === 'kubernetes.io/dockerconfigjson' ? ' (the whole Docker config.json)' : ''))),
    ];
  }
  const prefix = shellVariablePrefix(tenant.name, options.cluster);
  // Variable → the value it stands for; one value may be used twice (a Secret in two namespaces).
  const owners = new Map<string, string>();
  const variable = (suffix: string, value: string) => {
    const name = `${prefix}${suffix}`;
    const owner = owners.get(name);
    if (owner !== undefined && owner !== value) {
      throw new Error(`${tenant.file}: ${owner} and ${value} would both be read from $${name}; rename one of the keys or Secrets`);
    }
    owners.set(name, value);
    return `\${${name}:?}`;
  };
  const where = [...new Set(secrets.flatMap((secret) => secret.namespaces))];
  // Values enter shell lines only as shell words (quoted unless plainly safe) and comments only as comment text.
  const lines = [`# ${c(tenant.name)}: Secrets to create in namespace${where.length === 1 ? '' : 's'} ${c(where.join(', '))}, values from $${prefix}*`];
  for (const secret of secrets.flatMap((x) => x.namespaces.map((namespace) => ({ ...x, namespace })))) {
    const ns = secret.namespace;
    if (secret.type === 'kubernetes.io/dockerconfigjson') {
      const v = secret.name === pushSecretName ? 'REGISTRY' : shellVariable(secret.name);
      if (secret.name !== pushSecretName) lines.push(`# ${c(secret.name)}: job image pull credentials; use the registry the job images come from`);
      const user = variable(`${v}_USERNAME`, `Secret ${secret.name} user name`);
      const password = variable(`${v}_PASSWORD`, `Secret ${secret.name} password`);
      lines.push(
        `{ printf '{"auths":{"${registryHost}":{"auth":"'; printf '%s:%s' "${user}" "${password}" | base64 | tr -d '\\n'; printf '"}}}'; } |`,
        `  kubectl -n ${w(ns)} create secret generic ${w(secret.name)} --type=${secret.type} ${w(`--from-file=${DOCKER_CONFIG_KEY}=/dev/stdin`)}`,
      );
    } else {
      const token = secret.name === tenant.tokenSecretName;
      const suffix = (key: string) => (token && !/TOKEN$/.test(shellVariable(key)) ? shellVariable(key, 'TOKEN') : shellVariable(key));
      // A here-document with an unquoted delimiter: ${VAR:?} expands, nothing else is shell syntax there
      // (keys are validated as Secret keys: letters, digits, -, _ and .).
      lines.push(
        `kubectl -n ${w(ns)} create secret generic ${w(secret.name)} --from-env-file=/dev/stdin <<EOF`,
        ...secret.keys.map((k) => `${heredocKey(k.key)}=${variable(suffix(k.key), `Secret ${secret.name} key ${k.key}`)}`),
        'EOF',
      );
    }
  }
  return lines;
}

/**
 * A Secret key as the start of a here-document line. The schema allows only letters, digits, -, _
 * and . in keys; anything else (which could expand `$(…)` inside the here-document, or end it) is
 * refused here too, so a value that got past validation never reaches a shell.
 */
function heredocKey(key: string): string {
  if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new Error(`Secret key ${JSON.stringify(key)} is not a plain Secret key (letters, digits, -, _ and .); refusing to print it into a shell command`);
  return key;
}
