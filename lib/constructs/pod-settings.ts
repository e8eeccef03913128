/**
 * The tenant's pod settings (`pods:` of a tenant file) and a runner's job volumes, turned into
 * what the manager pod template and config.toml take. Plain functions of validated input: the
 * rules (lib/config/pod-settings-rules.ts) have already refused reserved keys, other tenants'
 * namespaces, hostPath and colliding mount paths. Two guarantees are built in here as well:
 * the project's selector labels are applied after the tenant's, and every pod (anti-)affinity or
 * spread label selector is pinned to the tenant's own pods.
 * https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/
 * https://docs.gitlab.com/runner/executors/kubernetes/#define-a-list-of-node-affinities
 */
import { k8s } from 'cdk8s-plus-28';
import type { RunnerSpec, Tenant } from '../config/schema';
import { podSelectorLabels, TENANT_LABEL } from '../model/labels';
import type { AffinityConfig, JobPodConfig, LabelSelectorConfig, NodeSelectorTermConfig, PodAffinityConfig, PodAffinityTermConfig, VolumesConfig } from '../runner-config/pod-model';

/** The tenant's `pods:` settings. */
export type PodSettings = Tenant['pods'];
export type ManagerPodSettings = PodSettings['manager'];
export type JobPodSettings = PodSettings['jobs'];
/** A runner's `volumes:`. */
export type JobVolumes = RunnerSpec['volumes'];

type Affinity = NonNullable<ManagerPodSettings['affinity']>;
type PodAffinity = NonNullable<Affinity['podAffinity']>;
type PodAffinityTerm = NonNullable<PodAffinity['requiredDuringSchedulingIgnoredDuringExecution']>[number];
type Selector = NonNullable<PodAffinityTerm['labelSelector']>;
type NodeTerm = NonNullable<NonNullable<Affinity['nodeAffinity']>['requiredDuringSchedulingIgnoredDuringExecution']>['nodeSelectorTerms'][number];

/** No settings: what a tenant without `pods:` gets. */
export const NO_POD_SETTINGS: PodSettings = {
  manager: { annotations: {}, labels: {}, hostAliases: [], imagePullSecrets: [], topologySpreadConstraints: [], env: [], envFrom: [] },
  jobs: { annotations: {}, labels: {}, hostAliases: [] },
};

const nonEmpty = <T>(list: readonly T[] | undefined): T[] | undefined => (list && list.length > 0 ? [...list] : undefined);
const nonEmptyMap = (map: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined =>
  map && Object.keys(map).length > 0 ? { ...map } : undefined;

/** A label selector that can only match this tenant's pods (the tenant label is added, never replaced). */
function pinned(selector: Selector, tenant: string): Selector {
  return { ...selector, matchLabels: { ...selector.matchLabels, [TENANT_LABEL]: tenant } };
}

/** Pod (anti-)affinity terms pinned to the tenant's pods; a term without selector matches no pod and stays so. */
function pinAffinity(affinity: PodAffinity | undefined, tenant: string): PodAffinity | undefined {
  if (!affinity) return undefined;
  const term = (t: PodAffinityTerm): PodAffinityTerm => (t.labelSelector ? { ...t, labelSelector: pinned(t.labelSelector, tenant) } : t);
  return {
    requiredDuringSchedulingIgnoredDuringExecution: affinity.requiredDuringSchedulingIgnoredDuringExecution?.map(term),
    preferredDuringSchedulingIgnoredDuringExecution: affinity.preferredDuringSchedulingIgnoredDuringExecution?.map((w) => ({ ...w, podAffinityTerm: term(w.podAffinityTerm) })),
  };
}

/** The affinity with every pod selector pinned to the tenant. */
export function pinnedAffinity(affinity: Affinity | undefined, tenant: string): Affinity | undefined {
  if (!affinity) return undefined;
  return {
    nodeAffinity: affinity.nodeAffinity,
    podAffinity: pinAffinity(affinity.podAffinity, tenant),
    podAntiAffinity: pinAffinity(affinity.podAntiAffinity, tenant),
  };
}

/** The manager pod's share of the settings: metadata, pod spec fields and container environment. */
export interface ManagerPodParts {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly spec: Pick<k8s.PodSpec, 'hostAliases' | 'imagePullSecrets' | 'priorityClassName' | 'affinity' | 'topologySpreadConstraints'>;
  readonly env: k8s.EnvVar[];
  readonly envFrom?: k8s.EnvFromSource[];
}

export function managerPodParts(tenant: string, settings: ManagerPodSettings): ManagerPodParts {
  const affinity = pinnedAffinity(settings.affinity, tenant);
  return {
    labels: { ...settings.labels },
    annotations: { ...settings.annotations },
    spec: {
      hostAliases: nonEmpty(settings.hostAliases.map((a) => ({ ip: a.ip, hostnames: [...a.hostnames] }))),
      imagePullSecrets: nonEmpty(settings.imagePullSecrets.map((name) => ({ name }))),
      priorityClassName: settings.priorityClassName,
      affinity: affinity as k8s.Affinity | undefined,
      topologySpreadConstraints: nonEmpty(settings.topologySpreadConstraints.map((c) => ({
        maxSkew: c.maxSkew,
        topologyKey: c.topologyKey,
        whenUnsatisfiable: c.whenUnsatisfiable,
        labelSelector: c.labelSelector ? pinned(c.labelSelector, tenant) : podSelectorLabelSelector(tenant),
        minDomains: c.minDomains,
        nodeAffinityPolicy: c.nodeAffinityPolicy,
        nodeTaintsPolicy: c.nodeTaintsPolicy,
      }))),
    },
    env: settings.env.map((v) => ({ name: v.name, valueFrom: v.valueFrom })),
    envFrom: nonEmpty(settings.envFrom.map((f) => ({ prefix: f.prefix, secretRef: f.secretRef, configMapRef: f.configMapRef }))),
  };
}

function podSelectorLabelSelector(tenant: string): k8s.LabelSelector {
  return { matchLabels: podSelectorLabels(tenant, 'manager') };
}

// ---------------------------------------------------------------------------------------------
// config.toml
// ---------------------------------------------------------------------------------------------

const requirements = (list: NodeTerm['matchExpressions']) =>
  nonEmpty(list?.map((r) => ({ key: r.key, operator: r.operator, values: r.values ? [...r.values] : undefined })));

function nodeTerm(term: NodeTerm): NodeSelectorTermConfig {
  return { match_expressions: requirements(term.matchExpressions), match_fields: requirements(term.matchFields) };
}

function labelSelector(selector: Selector | undefined): LabelSelectorConfig | undefined {
  if (!selector) return undefined;
  return { match_labels: selector.matchLabels ? { ...selector.matchLabels } : undefined, match_expressions: requirements(selector.matchExpressions) };
}

function podAffinityTerm(term: PodAffinityTerm): PodAffinityTermConfig {
  return { label_selector: labelSelector(term.labelSelector), namespaces: nonEmpty(term.namespaces), topology_key: term.topologyKey };
}

function podAffinity(affinity: PodAffinity | undefined): PodAffinityConfig | undefined {
  if (!affinity) return undefined;
  return {
    required_during_scheduling_ignored_during_execution: affinity.requiredDuringSchedulingIgnoredDuringExecution?.map(podAffinityTerm),
    preferred_during_scheduling_ignored_during_execution: affinity.preferredDuringSchedulingIgnoredDuringExecution?.map((w) => ({
      weight: w.weight,
      pod_affinity_term: podAffinityTerm(w.podAffinityTerm),
    })),
  };
}

/** `[runners.kubernetes.affinity]` in gitlab-runner's snake_case, pod selectors pinned to the tenant. */
export function runnerAffinity(affinity: Affinity | undefined, tenant: string): AffinityConfig | undefined {
  const a = pinnedAffinity(affinity, tenant);
  if (!a) return undefined;
  const node = a.nodeAffinity;
  return {
    node_affinity: node && {
      required_during_scheduling_ignored_during_execution: node.requiredDuringSchedulingIgnoredDuringExecution && {
        node_selector_terms: node.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.map(nodeTerm),
      },
      preferred_during_scheduling_ignored_during_execution: node.preferredDuringSchedulingIgnoredDuringExecution?.map((p) => ({ weight: p.weight, preference: nodeTerm(p.preference) })),
    },
    pod_affinity: podAffinity(a.podAffinity),
    pod_anti_affinity: podAffinity(a.podAntiAffinity),
  };
}

/** What the tenant's job pod settings add to every runner's `[runners.kubernetes]`. */
export function jobPodConfig(tenant: string, settings: JobPodSettings): JobPodConfig {
  return {
    pod_labels: nonEmptyMap(settings.labels),
    pod_annotations: nonEmptyMap(settings.annotations),
    host_aliases: nonEmpty(settings.hostAliases.map((a) => ({ ip: a.ip, hostnames: [...a.hostnames] }))),
    affinity: runnerAffinity(settings.affinity, tenant),
    priority_class_name: settings.priorityClassName,
  };
}

/** A runner's `[runners.kubernetes.volumes]` entries (the project's own Secret volume comes first, elsewhere). */
export function jobVolumesConfig(volumes: JobVolumes | undefined): VolumesConfig {
  if (!volumes) return {};
  const mount = (v: { name: string; mountPath: string; subPath?: string }) => ({ name: v.name, mount_path: v.mountPath, sub_path: v.subPath });
  return {
    secret: volumes.secret.map((v) => ({ ...mount(v), read_only: v.readOnly, items: v.items && { ...v.items } })),
    config_map: volumes.configMap.map((v) => ({ ...mount(v), read_only: v.readOnly, items: v.items && { ...v.items } })),
    empty_dir: volumes.emptyDir.map((v) => ({ ...mount(v), medium: v.medium, size_limit: v.sizeLimit })),
    pvc: volumes.pvc.map((v) => ({ ...mount(v), read_only: v.readOnly })),
    csi: volumes.csi.map((v) => ({ ...mount(v), driver: v.driver, fs_type: v.fsType, read_only: v.readOnly, volume_attributes: v.volumeAttributes && { ...v.volumeAttributes } })),
  };
}
