/**
 * The Secrets a tenant's runner reads, derived once from its configuration: names, keys, types
 * and (with `secrets.source: externalSecret`) where External Secrets Operator fetches each key.
 * The TenantSecrets construct turns this list into ExternalSecrets; the README documents the
 * `kubectl create secret` commands for `existing` from the same rules.
 */
import type { TenantConfig } from './resolve';
import { names } from './names';

export type SecretType = 'Opaque' | 'kubernetes.io/dockerconfigjson';

/** Where one value lives in the external secret store (`remoteRef` of an ExternalSecret). */
export interface RemoteRef {
  readonly key: string;
  readonly property: string;
}

export interface RequiredSecretKey {
  /** Key in the Kubernetes Secret (`.dockerconfigjson` for registry credentials). */
  readonly key: string;
  /** Where the value is fetched from; set only with `secrets.source: externalSecret`. */
  readonly remoteRef?: RemoteRef;
}

export interface RequiredSecret {
  /** Secret name. */
  readonly name: string;
  /** Namespaces the Secret must exist in: where the pods that read it run. */
  readonly namespaces: readonly string[];
  readonly type: SecretType;
  /** Who reads it, for docs and messages. */
  readonly purpose: string;
  readonly keys: readonly RequiredSecretKey[];
}

/** Key of a `kubernetes.io/dockerconfigjson` Secret. */
export const DOCKER_CONFIG_KEY = '.dockerconfigjson';

/** Default prefix of every remote key of a tenant. */
export function defaultRemoteKeyPrefix(tenant: string): string {
  return `tenant-runners/${tenant}`;
}

/** Secret key of a runner's authentication token. */
export function runnerTokenKey(runner: { name: string; tokenSecretKey?: string }): string {
  return runner.tokenSecretKey ?? runner.name;
}

/**
 * Every Secret the tenant's manager and job pods read, in a stable order: runner tokens,
 * registry push credentials, image pull secrets, static S3 keys.
 */
export interface SecretNamespaces {
  /** Namespace of the runner manager (tokens, S3 keys). */
  readonly manager: string;
  /** Namespace of the job pods (registry credentials) and the Kaniko cache registry. */
  readonly jobs: string;
}

export function requiredSecrets(
  tenant: TenantConfig,
  pushSecretName: string = names.kanikoPushSecret,
  namespaces: SecretNamespaces = { manager: tenant.name, jobs: tenant.name },
): RequiredSecret[] {
  const external = tenant.secrets.source === 'externalSecret' ? tenant.secrets : undefined;
  const prefix = external?.remoteKeyPrefix ?? defaultRemoteKeyPrefix(tenant.name);
  const remote = (key: string, property: string): RemoteRef | undefined => (external ? { key, property } : undefined);

  const tokenRemoteKey = external?.runnerTokens.key ?? `${prefix}/${tenant.tokenSecretName}`;
  const secrets: RequiredSecret[] = [{
    name: tenant.tokenSecretName,
    namespaces: [namespaces.manager],
    type: 'Opaque',
    purpose: 'runner authentication tokens (glrt-…), one key per runner; read by the manager as environment variables',
    keys: tenant.runners.map((runner) => ({ key: runnerTokenKey(runner), remoteRef: remote(tokenRemoteKey, runnerTokenKey(runner)) })),
  }];

  const dockerConfig = (name: string, purpose: string, ref: { key?: string; property: string } | undefined): RequiredSecret => ({
    name,
    namespaces: [namespaces.jobs],
    type: 'kubernetes.io/dockerconfigjson',
    purpose,
    keys: [{ key: DOCKER_CONFIG_KEY, remoteRef: remote(ref?.key ?? `${prefix}/${name}`, ref?.property ?? 'dockerconfigjson') }],
  });
  secrets.push(dockerConfig(pushSecretName, 'registry push credentials for Kaniko, mounted into job pods as /kaniko/.docker/config.json', external?.kanikoPush));
  for (const name of tenant.imagePullSecrets) {
    // The push credentials may double as pull credentials: one Secret, listed once.
    if (name === pushSecretName) continue;
    secrets.push(dockerConfig(name, 'image pull credentials of job pods (config.toml image_pull_secrets)', external?.imagePullSecrets[name]));
  }

  const { auth } = tenant.cache.s3;
  if (auth.type === 'staticKeys') {
    const ref = external?.s3StaticKeys;
    const key = ref?.key ?? `${prefix}/${auth.secretName}`;
    secrets.push({
      name: auth.secretName,
      // The Kaniko cache registry (mode s3) reads the same keys, next to the job pods.
      namespaces: [...new Set([namespaces.manager, ...(tenant.cache.kaniko.mode === 's3' ? [namespaces.jobs] : [])])],
      type: 'Opaque',
      purpose: 'static S3 keys of the cache (cache.s3.auth.type: staticKeys); read by the manager as environment variables',
      keys: [
        { key: auth.accessKeyIdKey, remoteRef: remote(key, ref?.accessKeyIdProperty ?? auth.accessKeyIdKey) },
        { key: auth.secretAccessKeyKey, remoteRef: remote(key, ref?.secretAccessKeyProperty ?? auth.secretAccessKeyKey) },
      ],
    });
  }
  return secrets;
}
