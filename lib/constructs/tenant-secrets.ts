import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import {
  ExternalSecret,
  ExternalSecretSpec,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy,
  ExternalSecretSpecTargetTemplateEngineVersion,
} from '../../imports/external-secrets.io';
import { SecretsConfig } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { DOCKER_CONFIG_KEY, RequiredSecret } from '../model/secrets';
import { TenantIsolation } from './tenant-isolation';

/** Pod-template annotation of the manager: changes whenever an ExternalSecret spec changes. */
export const EXTERNAL_SECRETS_CHECKSUM_ANNOTATION = 'checksum/external-secrets';

export interface TenantSecretsProps {
  /**
   * The tenant's namespaces; an ExternalSecret in the manager's namespace keeps the short id.
   */
  readonly isolation: TenantIsolation;
  /**
   * Where the Secrets come from: `existing` (created by the platform team) or `externalSecret`
   * (filled by External Secrets Operator from a SecretStore or ClusterSecretStore).
   *
   * @default { source: 'existing' }
   * @see https://external-secrets.io/latest/api/externalsecret/
   */
  readonly source?: SecretsConfig;
  /**
   * Every Secret the runner's pods read: name, namespaces, type, keys and (with
   * `externalSecret`) the remote reference of each key.
   *
   * @default []
   * @see https://kubernetes.io/docs/concepts/configuration/secret/
   */
  readonly required?: readonly RequiredSecret[];
  /**
   * Annotations the GitOps tool needs on ExternalSecrets (a CRD kind).
   *
   * @default - none
   * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
   */
  readonly delivery?: DeliveryPolicy;
}

/**
 * The Secrets a tenant's runner reads. With `secrets.source: existing` (the default) it defines no
 * objects: the platform team creates the Secrets (README, "Secrets"). With `externalSecret` it
 * defines one `external-secrets.io/v1` ExternalSecret per Secret, each filling exactly the keys
 * the manager and job pods read, from the tenant's SecretStore (or an explicitly configured
 * ClusterSecretStore). Never a Secret object and never a value: `dist/` is public.
 * https://external-secrets.io/latest/api/externalsecret/
 */
export class TenantSecrets extends Construct {
  /** Every Secret the runner reads, with remote references in `externalSecret` mode. */
  public readonly required: readonly RequiredSecret[];
  /** The synthesized ExternalSecrets (empty with `existing`). */
  public readonly externalSecrets: readonly ExternalSecret[];
  /**
   * Annotations for the manager's pod template: a hash of every ExternalSecret spec, so a change
   * of what is fetched (store, remote key, property, keys) rolls the manager and it reads the new
   * token. A changed remote value with an unchanged spec does not (README, "Rotation").
   */
  public readonly podAnnotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: TenantSecretsProps) {
    super(scope, id);
    const source = props.source ?? { source: 'existing' };
    const required = props.required ?? [];
    const delivery = props.delivery ?? DeliveryPolicy.NONE;
    const { isolation } = props;
    this.required = required;
    if (source.source !== 'externalSecret') {
      this.externalSecrets = [];
      this.podAnnotations = {};
      return;
    }

    // The specs as plain data first: the checksum is computed from exactly what is synthesized.
    const planned = required.flatMap((secret) => secret.namespaces.map((namespace) => ({
      id: namespace === isolation.namespace ? `ExternalSecret-${secret.name}` : `ExternalSecret-${secret.name}-${namespace}`,
      name: secret.name,
      namespace,
      spec: externalSecretSpec(secret, source),
    })));
    const specs = planned
      .map(({ name, spec }) => ({ name, spec }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.podAnnotations = { [EXTERNAL_SECRETS_CHECKSUM_ANNOTATION]: createHash('sha256').update(canonicalJson(specs)).digest('hex') };

    const annotations = delivery.annotationsFor(ExternalSecret.GVK.apiVersion, ExternalSecret.GVK.kind);
    this.externalSecrets = planned.map(({ id: objectId, name, namespace, spec }) =>
      new ExternalSecret(this, objectId, { metadata: { name, namespace, annotations }, spec }));
  }
}

type ExternalSecretSource = Extract<SecretsConfig, { source: 'externalSecret' }>;

/** The ExternalSecret spec that fills one Secret with exactly the keys the pods read. */
function externalSecretSpec(secret: RequiredSecret, source: ExternalSecretSource): ExternalSecretSpec {
  const docker = secret.type === 'kubernetes.io/dockerconfigjson';
  return {
    refreshInterval: source.refreshInterval,
    secretStoreRef: {
      kind: source.store.kind === 'ClusterSecretStore' ? ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE : ExternalSecretSpecSecretStoreRefKind.SECRET_STORE,
      name: source.store.name,
    },
    target: {
      name: secret.name,
      // Owner: the Secret belongs to this ExternalSecret and goes away with it.
      creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
      deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN,
      // A registry Secret needs its type; the store holds the whole config.json as one value,
      // so the template only references it (no literal values: they would be public).
      template: docker
        ? {
          type: secret.type,
          engineVersion: ExternalSecretSpecTargetTemplateEngineVersion.V2,
          data: { [DOCKER_CONFIG_KEY]: `{{ .${DOCKER_FETCH_KEY} | toString }}` },
        }
        : undefined,
    },
    data: secret.keys.map((k) => ({
      secretKey: docker ? DOCKER_FETCH_KEY : k.key,
      remoteRef: { key: k.remoteRef!.key, property: k.remoteRef!.property },
    })),
  };
}

/** Key the fetched Docker config.json has inside the ExternalSecret (templates cannot read `.dockerconfigjson`). */
const DOCKER_FETCH_KEY = 'dockerconfigjson';

/** JSON with object keys sorted, so the hash never depends on property order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
