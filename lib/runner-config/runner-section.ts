/**
 * One `[[runners]]` entry of config.toml for the Kubernetes executor, built from plain input.
 * A pure function: the same input always gives the same section, so it is unit tested on its own.
 * https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runners-section
 * https://docs.gitlab.com/runner/executors/kubernetes/
 */
import { CacheConfig, ConfigMapVolumeConfig, KubernetesConfig, RunnerConfig, SecretVolumeConfig, SecurityContextConfig } from './model';
import { mergeOverrides } from './overrides';
import { JobPodConfig, mergeVolumes, VolumesConfig } from './pod-model';

/** Capabilities Kaniko needs to unpack and snapshot image filesystems as root, without privilege. */
export const KANIKO_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'SETFCAP', 'KILL'];

/** Requests and limits of one container, as Kubernetes quantities. */
export interface ContainerSize {
  readonly requests: { readonly cpu: string; readonly memory: string; readonly ephemeralStorage?: string };
  readonly limits: { readonly cpu: string; readonly memory: string; readonly ephemeralStorage?: string };
}

/** What a configured runner contributes to its section (a schema `RunnerSpec` fits). */
export interface RunnerSectionSpec {
  /** `name` of the runner. */
  readonly name: string;
  /** Default job image. */
  readonly image: string;
  /** Jobs this runner handles at once; 0 means only `concurrent` bounds it. */
  readonly limit: number;
  readonly pollTimeoutSeconds: number;
  readonly pullPolicy: readonly string[];
  /** Empty allows any image. */
  readonly allowedImages: readonly string[];
  /** Empty allows any service image. */
  readonly allowedServices: readonly string[];
  /** Extra job environment. */
  readonly environment: Readonly<Record<string, string>>;
  readonly resources: { readonly build: ContainerSize; readonly helper: ContainerSize; readonly service: ContainerSize };
  /** `[runners.feature_flags]` besides FF_DISABLE_AUTOMATIC_TOKEN_ROTATION (always true). */
  readonly featureFlags?: Readonly<Record<string, boolean>>;
  /** Extra keys added to the section (checked by the loader; never replace a rendered key). */
  readonly configOverrides?: Readonly<Record<string, unknown>>;
}

/** Where and how the runner's jobs run: the tenant's namespace, scheduling, identity and caches. */
export interface RunnerSectionContext {
  /** GitLab URL the runner polls. */
  readonly url: string;
  /** Environment variable holding the runner's token (`token = "${…}"`). */
  readonly tokenEnv: string;
  /** gitlab-runner-helper image. */
  readonly helperImage: string;
  /** UID of the helper container; undefined keeps the helper image's user (root, no capabilities). */
  readonly helperRunAsUser?: number;
  /** Namespace of the job pods. */
  readonly namespace: string;
  /** ServiceAccount of the job pods. */
  readonly serviceAccount: string;
  readonly nodeSelector: Record<string, string>;
  /** `"key=value" = "Effect"` or `"key" = "Effect"`. */
  readonly nodeTolerations: Record<string, string>;
  readonly podLabels: Record<string, string>;
  /** Pull Secrets of job pods; empty means none. */
  readonly imagePullSecrets: readonly string[];
  /** PriorityClass that scopes the quota in the shared namespace. */
  readonly priorityClassName?: string;
  /** Variables every job sees before the runner's own `environment`. */
  readonly jobEnvironment: readonly string[];
  /** Secret volumes of job pods. */
  readonly secretVolumes: readonly SecretVolumeConfig[];
  /** ConfigMap volumes of job pods; empty or unset means none. */
  readonly configMapVolumes?: readonly ConfigMapVolumeConfig[];
  /** `tls-ca-file`: the CA bundle that verifies GitLab, as the manager pod mounts it; unset means the system roots. */
  readonly tlsCaFile?: string;
  /** The tenant's job pod settings (labels, annotations, host aliases, affinity, priority). */
  readonly jobPod?: JobPodConfig;
  /** The runner's own job volumes, after the project's. */
  readonly extraVolumes?: VolumesConfig;
  /** `[runners.cache]` of this runner. */
  readonly cache: CacheConfig;
}

/**
 * The helper container's user. Unset (default): the helper image's user, root with every
 * capability dropped. With `runner.helperRunAsUser` the helper runs as that UID and passes Pod
 * Security restricted; git in a root build container then refuses the helper's clone ("dubious
 * ownership"), which is why it is opt-in (README, "Job containers").
 * https://docs.gitlab.com/runner/executors/kubernetes/#set-a-security-policy-for-the-container
 */
function helperUser(uid: number | undefined): SecurityContextConfig {
  return uid === undefined ? {} : { run_as_non_root: true, run_as_user: uid, run_as_group: uid };
}

/** One `[[runners]]` entry: executor, job limits and security contexts, scheduling, cache. */
export function runnerSection(runner: RunnerSectionSpec, context: RunnerSectionContext): RunnerConfig {
  const { build, helper, service } = runner.resources;
  const dropAll = { drop: ['ALL'] };
  const noEscalation: SecurityContextConfig = { privileged: false, allow_privilege_escalation: false, seccomp_profile: { type: 'RuntimeDefault' } };
  const kubernetes: KubernetesConfig = {
    namespace: context.namespace,
    namespace_overwrite_allowed: '',
    image: runner.image,
    helper_image: context.helperImage,
    privileged: false,
    allow_privilege_escalation: false,
    service_account: context.serviceAccount,
    service_account_overwrite_allowed: '',
    automount_service_account_token: false,
    bearer_token_overwrite_allowed: false,
    cpu_request: build.requests.cpu,
    cpu_limit: build.limits.cpu,
    memory_request: build.requests.memory,
    memory_limit: build.limits.memory,
    ephemeral_storage_request: build.requests.ephemeralStorage,
    ephemeral_storage_limit: build.limits.ephemeralStorage,
    helper_cpu_request: helper.requests.cpu,
    helper_cpu_limit: helper.limits.cpu,
    helper_memory_request: helper.requests.memory,
    helper_memory_limit: helper.limits.memory,
    helper_ephemeral_storage_request: helper.requests.ephemeralStorage,
    helper_ephemeral_storage_limit: helper.limits.ephemeralStorage,
    service_cpu_request: service.requests.cpu,
    service_cpu_limit: service.limits.cpu,
    service_memory_request: service.requests.memory,
    service_memory_limit: service.limits.memory,
    service_ephemeral_storage_request: service.requests.ephemeralStorage,
    service_ephemeral_storage_limit: service.limits.ephemeralStorage,
    pull_policy: [...runner.pullPolicy],
    // Jobs may not pick a policy outside the configured ones (e.g. `never` to reuse another
    // project's cached private image on the node).
    allowed_pull_policies: [...runner.pullPolicy],
    allowed_images: runner.allowedImages.length > 0 ? [...runner.allowedImages] : undefined,
    allowed_services: runner.allowedServices.length > 0 ? [...runner.allowedServices] : undefined,
    poll_timeout: runner.pollTimeoutSeconds,
    node_selector: context.nodeSelector,
    node_selector_overwrite_allowed: '',
    node_tolerations: context.nodeTolerations,
    node_tolerations_overwrite_allowed: '',
    // The project's labels last: the NetworkPolicies select job pods by them.
    pod_labels: { ...context.jobPod?.pod_labels, ...context.podLabels },
    pod_annotations: context.jobPod?.pod_annotations,
    host_aliases: context.jobPod?.host_aliases,
    affinity: context.jobPod?.affinity,
    image_pull_secrets: context.imagePullSecrets.length > 0 ? [...context.imagePullSecrets] : undefined,
    priority_class_name: context.priorityClassName ?? context.jobPod?.priority_class_name,
    pod_labels_overwrite_allowed: '',
    pod_annotations_overwrite_allowed: '',
    pod_security_context: { seccomp_profile: { type: 'RuntimeDefault' } },
    // Kaniko builds as root: drop everything, add back only what it needs. Pod Security
    // baseline allows exactly this; restricted does not (documented in the README).
    build_container_security_context: { ...noEscalation, capabilities: { drop: ['ALL'], add: KANIKO_CAPABILITIES } },
    helper_container_security_context: { ...noEscalation, ...helperUser(context.helperRunAsUser), capabilities: dropAll },
    // Service images (databases) often switch users at start-up, so they keep the runtime's
    // default capabilities, which baseline permits.
    service_container_security_context: noEscalation,
    volumes: mergeVolumes({ config_map: [...(context.configMapVolumes ?? [])], secret: [...context.secretVolumes] }, context.extraVolumes),
  };
  return mergeOverrides({
    name: runner.name,
    url: context.url,
    token: `\${${context.tokenEnv}}`,
    'tls-ca-file': context.tlsCaFile,
    executor: 'kubernetes',
    limit: runner.limit > 0 ? runner.limit : undefined,
    environment: [...context.jobEnvironment, ...Object.entries(runner.environment).map(([k, v]) => `${k}=${v}`)],
    // The token lives in a Secret that GitOps owns; a rotated token written back to config.toml
    // would be lost on the next restart.
    feature_flags: { FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true, ...sortedFlags(runner.featureFlags) },
    kubernetes,
    cache: context.cache,
  }, runner.configOverrides);
}

/** Configured flags in name order (stable diffs), without the one the project fixes. */
function sortedFlags(flags: Readonly<Record<string, boolean>> | undefined): Record<string, boolean> {
  return Object.fromEntries(Object.entries(flags ?? {}).filter(([name]) => name !== 'FF_DISABLE_AUTOMATIC_TOKEN_ROTATION').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
