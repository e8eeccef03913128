/**
 * The pod-settings part of the typed config.toml model: `pod_annotations`, `host_aliases`,
 * `[runners.kubernetes.affinity]` and `[runners.kubernetes.volumes]`, keys spelled as gitlab-runner
 * 19.x reads them (snake_case, see reference/gitlab-runner-config.schema.json).
 * https://docs.gitlab.com/runner/executors/kubernetes/#configuration-settings
 * https://docs.gitlab.com/runner/executors/kubernetes/#configure-volume-types
 */

/** `[[runners.kubernetes.host_aliases]]`. */
export interface HostAliasConfig {
  ip: string;
  hostnames: string[];
}

export interface SelectorRequirementConfig {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTermConfig {
  match_expressions?: SelectorRequirementConfig[];
  match_fields?: SelectorRequirementConfig[];
}

export interface LabelSelectorConfig {
  match_labels?: Record<string, string>;
  match_expressions?: SelectorRequirementConfig[];
}

export interface PodAffinityTermConfig {
  label_selector?: LabelSelectorConfig;
  namespaces?: string[];
  topology_key: string;
}

export interface PodAffinityConfig {
  required_during_scheduling_ignored_during_execution?: PodAffinityTermConfig[];
  preferred_during_scheduling_ignored_during_execution?: { weight: number; pod_affinity_term: PodAffinityTermConfig }[];
}

/** `[runners.kubernetes.affinity]`. */
export interface AffinityConfig {
  node_affinity?: {
    required_during_scheduling_ignored_during_execution?: { node_selector_terms: NodeSelectorTermConfig[] };
    preferred_during_scheduling_ignored_during_execution?: { weight: number; preference: NodeSelectorTermConfig }[];
  };
  pod_affinity?: PodAffinityConfig;
  pod_anti_affinity?: PodAffinityConfig;
}

interface VolumeMountConfig {
  name: string;
  mount_path: string;
  sub_path?: string;
}

export interface SecretVolumeConfig extends VolumeMountConfig {
  read_only: boolean;
  items?: Record<string, string>;
}

export interface ConfigMapVolumeConfig extends VolumeMountConfig {
  read_only: boolean;
  items?: Record<string, string>;
}

export interface EmptyDirVolumeConfig extends VolumeMountConfig {
  /** Unset: the node's disk. */
  medium?: 'Memory';
  size_limit?: string;
}

export interface PvcVolumeConfig extends VolumeMountConfig {
  read_only: boolean;
}

export interface CsiVolumeConfig extends VolumeMountConfig {
  driver: string;
  fs_type?: string;
  read_only: boolean;
  volume_attributes?: Record<string, string>;
}

/** `[runners.kubernetes.volumes]`: no host_path and no nfs, ever (node access). */
export interface VolumesConfig {
  secret?: SecretVolumeConfig[];
  config_map?: ConfigMapVolumeConfig[];
  empty_dir?: EmptyDirVolumeConfig[];
  pvc?: PvcVolumeConfig[];
  csi?: CsiVolumeConfig[];
}

/** What the tenant's pod settings add to a runner's `[runners.kubernetes]`. */
export interface JobPodConfig {
  /** Merged under the project's own `pod_labels` (which always win). */
  pod_labels?: Record<string, string>;
  pod_annotations?: Record<string, string>;
  host_aliases?: HostAliasConfig[];
  affinity?: AffinityConfig;
  priority_class_name?: string;
}

/** `base` followed by `extra`, per volume type, leaving out empty types. */
export function mergeVolumes(base: VolumesConfig, extra: VolumesConfig | undefined): VolumesConfig {
  const out: VolumesConfig = {};
  const keys = ['secret', 'config_map', 'empty_dir', 'pvc', 'csi'] as const;
  for (const key of keys) {
    const list = [...(base[key] ?? []), ...(extra?.[key] ?? [])];
    if (list.length > 0) (out as Record<string, unknown>)[key] = list;
  }
  return out;
}
