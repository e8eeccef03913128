/**
 * Where a runner's authentication token goes once GitLab issued it: the place the synthesized
 * manager reads it from.
 *
 * - `secrets.source: existing`: the tenant's token Secret (`tokenSecretName`, key `runnerTokenKey`)
 *   in its manager namespace, through the Kubernetes API. Only that key is written (JSON merge
 *   patch); an absent Secret is created, labelled as managed by tenant-runners.
 * - `secrets.source: externalSecret`: the Secret is External Secrets Operator's to write, so the
 *   token goes to the external store, through a command the operator gives (`--token-command`),
 *   which reads the token on stdin. Without one, nothing is created for such a tenant.
 *
 * Whether a token is stored is read from the Secret in the cluster in both cases (with an
 * ExternalSecret, the Secret it keeps filled). Never a value: only which keys exist.
 */
import { spawn } from 'node:child_process';
import { APP_NAME, MANAGED_BY_LABEL, TENANT_LABEL } from '../model/labels';
import type { DesiredRunner } from './desired';
import { KubeError, SecretsApi } from './kube';

export class TokenStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenStoreError';
  }
}

export interface TokenStore {
  /** Whether the runner's token key exists where the manager reads it. */
  isStored(runner: DesiredRunner): Promise<boolean>;
  /** Where the token goes, for plans. */
  where(runner: DesiredRunner): string;
  /** Why this run cannot store the runner's token (apply then creates nothing for it), or undefined. */
  refusal(runner: DesiredRunner): string | undefined;
  /** Why the token could not be stored right now (a missing permission), asked before GitLab issues it; or undefined. */
  cannotStore(runner: DesiredRunner): Promise<string | undefined>;
  store(runner: DesiredRunner, token: string): Promise<void>;
}

export function secretWhere(runner: DesiredRunner): string {
  return `Secret ${runner.token.namespace}/${runner.token.name} key ${runner.token.key}`;
}

export function remoteWhere(runner: DesiredRunner): string {
  return `remote key ${runner.token.remoteRef!.key} property ${runner.token.remoteRef!.property}`;
}

/** Environment a --token-command gets, besides the token on stdin. */
export const TOKEN_COMMAND_ENV = {
  key: 'TENANT_RUNNERS_REMOTE_KEY',
  property: 'TENANT_RUNNERS_REMOTE_PROPERTY',
  tenant: 'TENANT_RUNNERS_TENANT',
  runner: 'TENANT_RUNNERS_RUNNER',
} as const;

export function tokenStore(secrets: SecretsApi, tokenCommand: string | undefined): TokenStore {
  const seen = new Map<string, Promise<readonly string[] | undefined>>();
  const keysOf = (runner: DesiredRunner) => {
    const id = `${runner.token.namespace}/${runner.token.name}`;
    let keys = seen.get(id);
    if (!keys) {
      keys = secrets.read(runner.token.namespace, runner.token.name).then((s) => s?.keys);
      seen.set(id, keys);
    }
    return keys;
  };
  return {
    async isStored(runner) {
      return (await keysOf(runner))?.includes(runner.token.key) ?? false;
    },
    where(runner) {
      return runner.token.remoteRef ? `${remoteWhere(runner)} (the ExternalSecret fills ${secretWhere(runner)})` : secretWhere(runner);
    },
    refusal(runner) {
      if (!runner.token.remoteRef || tokenCommand !== undefined) return undefined;
      return `tenant ${runner.tenant} reads its tokens through an ExternalSecret: the token must go to the external store (${remoteWhere(runner)}); ` +
        'give --token-command to store it there (docs/runner-registration.md); this command never prints a token';
    },
    async cannotStore(runner) {
      if (runner.token.remoteRef) return undefined;
      const { namespace, name, key } = runner.token;
      // The same write as store() would make, as a dry run with a placeholder: the namespace must
      // exist, RBAC and admission must allow it. Asked before GitLab issues a token that could not be kept.
      try {
        if ((await keysOf(runner)) === undefined) {
          await secrets.create(namespace, name, { [MANAGED_BY_LABEL]: APP_NAME, [TENANT_LABEL]: runner.tenant }, key, 'dry-run', true);
        } else {
          await secrets.setKey(namespace, name, key, 'dry-run', true);
        }
        return undefined;
      } catch (error) {
        if (!(error instanceof KubeError)) throw error;
        return `${error.message}; the token could not be stored, so nothing was done`;
      }
    },
    async store(runner, token) {
      const { namespace, name, key, remoteRef } = runner.token;
      if (remoteRef) {
        await runTokenCommand(tokenCommand!, runner, token);
        return;
      }
      const keys = await keysOf(runner);
      if (keys === undefined) {
        await secrets.create(namespace, name, { [MANAGED_BY_LABEL]: APP_NAME, [TENANT_LABEL]: runner.tenant }, key, token);
        seen.set(`${namespace}/${name}`, Promise.resolve([key]));
      } else {
        await secrets.setKey(namespace, name, key, token);
        seen.set(`${namespace}/${name}`, Promise.resolve([...keys, key]));
      }
    },
  };
}

/**
 * Runs the operator's command with the token on stdin (never in its arguments or environment, which
 * other users of the machine can read). Its stdout is dropped; its stderr is kept for the message
 * on failure, with the token masked should the command echo it.
 */
function runTokenCommand(command: string, runner: DesiredRunner, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        ...process.env,
        [TOKEN_COMMAND_ENV.key]: runner.token.remoteRef!.key,
        [TOKEN_COMMAND_ENV.property]: runner.token.remoteRef!.property,
        [TOKEN_COMMAND_ENV.tenant]: runner.tenant,
        [TOKEN_COMMAND_ENV.runner]: runner.runner,
      },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString('utf8');
    });
    child.stdin.on('error', () => undefined); // a command that does not read stdin fails below with its exit code
    child.on('error', (error) => reject(new TokenStoreError(`--token-command could not be started: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const said = stderr.split(token).join('[token]').trim().split('\n').slice(-3).join(' | ');
      reject(new TokenStoreError(`--token-command exited with ${signal ?? code} for ${remoteWhere(runner)}${said ? `: ${said}` : ''}`));
    });
    child.stdin.end(token);
  });
}
