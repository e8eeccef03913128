/**
 * A tenant's own manifests (`config/tenants/<tenant>/extra/*.yaml`, docs/extra-objects.md): the
 * kinds a tenant may ship with its runner, and the validated objects as the synth receives them.
 * Plain data, so a resolved tenant still crosses to a worker thread and into the synth cache's
 * input hash unchanged.
 */

/** A kind a tenant may add to its folder, with the one API version accepted for it. */
export interface ExtraKind {
  readonly apiVersion: string;
  readonly group: string;
  readonly kind: string;
  /** Top-level fields besides apiVersion, kind and metadata: a misspelled field is an error before the sync. */
  readonly fields: readonly string[];
}

/**
 * The allow list. Only namespaced, configuration-like kinds: nothing that runs a pod (it would run
 * outside the tenant's nodes, quota review and pod hardening), nothing that changes the
 * namespace's isolation (NetworkPolicy, ResourceQuota, LimitRange), no Secret (never in dist/),
 * nothing cluster-scoped. Every kind here is also in the Argo CD AppProject's whitelist.
 */
export const EXTRA_OBJECT_KINDS: readonly ExtraKind[] = [
  { apiVersion: 'v1', group: '', kind: 'ConfigMap', fields: ['data', 'immutable'] },
  { apiVersion: 'v1', group: '', kind: 'ServiceAccount', fields: ['automountServiceAccountToken', 'imagePullSecrets'] },
  { apiVersion: 'rbac.authorization.k8s.io/v1', group: 'rbac.authorization.k8s.io', kind: 'Role', fields: ['rules'] },
  { apiVersion: 'rbac.authorization.k8s.io/v1', group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', fields: ['roleRef', 'subjects'] },
  { apiVersion: 'external-secrets.io/v1', group: 'external-secrets.io', kind: 'ExternalSecret', fields: ['spec'] },
  { apiVersion: 'monitoring.coreos.com/v1', group: 'monitoring.coreos.com', kind: 'PrometheusRule', fields: ['spec'] },
  { apiVersion: 'monitoring.coreos.com/v1', group: 'monitoring.coreos.com', kind: 'PodMonitor', fields: ['spec'] },
];

/** One validated extra object, where it came from (for messages), and the object as it is written. */
export interface ExtraObject {
  /** `config/tenants/<tenant>/extra/<file>.yaml`, as messages print it. */
  readonly file: string;
  /** Line and column of the document's start. */
  readonly line: number;
  readonly column: number;
  /** Line and column of `metadata.name`, for a name collision found while synthesizing. */
  readonly nameLine: number;
  readonly nameColumn: number;
  /** The object with its namespace set; labels and delivery annotations are added by the synth. */
  readonly object: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    readonly [key: string]: unknown;
  };
}

/** Folder of a tenant's own manifests, inside `config/tenants/<tenant>/` (or a cluster's `tenants/<tenant>/`). */
export const EXTRA_DIR = 'extra';

/** More objects than this per tenant are refused: the folder is for a few objects next to the runner. */
export const MAX_EXTRA_OBJECTS = 100;
