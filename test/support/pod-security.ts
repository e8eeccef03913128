/**
 * Pod Security Standards (Kubernetes 1.28) for the containers of job pods, checked on the
 * config.toml view of them: `[runners.kubernetes.<x>_container_security_context]`, the pod-level
 * `pod_security_context` and the job pod `volumes`. A pure function, so the claims the README makes
 * ("Kaniko passes baseline, never restricted, and only for these reasons") are tested, not asserted.
 *
 * Only the controls that config.toml can influence for one container are checked; host namespaces,
 * host ports, sysctls and AppArmor are not settable there by this project.
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */

/** A security context as config.toml spells it (snake_case). Loose on purpose: parsed TOML goes in. */
export interface TomlSecurityContext {
  readonly privileged?: boolean;
  readonly allow_privilege_escalation?: boolean;
  readonly run_as_non_root?: boolean;
  readonly run_as_user?: number;
  readonly run_as_group?: number;
  readonly proc_mount?: string;
  readonly capabilities?: { readonly add?: readonly string[]; readonly drop?: readonly string[] };
  readonly seccomp_profile?: { readonly type?: string };
}

/** What of a job pod the check needs for one container. */
export interface JobContainerSecurity {
  /** `[runners.kubernetes.<build|helper|service>_container_security_context]`. */
  readonly container: TomlSecurityContext;
  /** `[runners.kubernetes.pod_security_context]`; container values win over it. */
  readonly pod?: TomlSecurityContext;
  /** `[runners.kubernetes.volumes]`: keys are volume types (`host_path`, `secret`, `empty_dir`, …). */
  readonly volumes?: Readonly<Record<string, readonly unknown[] | undefined>>;
}

export type PodSecurityLevel = 'baseline' | 'restricted';

/** Names of the Pod Security Standards controls, as the Kubernetes documentation titles them. */
export type PodSecurityControl =
  | 'privileged'
  | 'capabilities'
  | 'hostPathVolumes'
  | 'seccomp'
  | 'procMount'
  | 'volumeTypes'
  | 'allowPrivilegeEscalation'
  | 'runAsNonRoot'
  | 'runAsUser'
  | 'capabilitiesRestricted';

export interface PodSecurityViolation {
  /** The level whose control is violated (a baseline violation also fails restricted). */
  readonly level: PodSecurityLevel;
  readonly control: PodSecurityControl;
  readonly message: string;
}

/** Capabilities baseline allows to be added. */
export const BASELINE_ADDABLE_CAPABILITIES: readonly string[] = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
];

/** Volume types restricted allows; config.toml spells them in snake_case. */
const RESTRICTED_VOLUME_TYPES = ['config_map', 'csi', 'downward_api', 'empty_dir', 'ephemeral', 'pvc', 'projected', 'secret'];

/**
 * Every violation of `level` by one job container; empty means the container passes. Checking at
 * `restricted` also reports the baseline violations (restricted includes baseline).
 */
export function podSecurityViolations(input: JobContainerSecurity, level: PodSecurityLevel): PodSecurityViolation[] {
  const { container, pod = {}, volumes = {} } = input;
  const out: PodSecurityViolation[] = [];
  const add = (lvl: PodSecurityLevel, control: PodSecurityControl, message: string) => out.push({ level: lvl, control, message });
  const usedVolumeTypes = Object.keys(volumes).filter((type) => (volumes[type] ?? []).length > 0);

  // --- baseline ---
  if (container.privileged === true) add('baseline', 'privileged', 'privileged containers are not allowed');
  const added = container.capabilities?.add ?? [];
  const beyondBaseline = added.filter((cap) => !BASELINE_ADDABLE_CAPABILITIES.includes(cap));
  if (beyondBaseline.length > 0) add('baseline', 'capabilities', `capabilities beyond the baseline set are added: ${beyondBaseline.join(', ')}`);
  if (usedVolumeTypes.includes('host_path')) add('baseline', 'hostPathVolumes', 'hostPath volumes are not allowed');
  const seccomp = container.seccomp_profile?.type ?? pod.seccomp_profile?.type;
  if (seccomp === 'Unconfined') add('baseline', 'seccomp', 'seccomp profile Unconfined is not allowed');
  const procMount = container.proc_mount ?? pod.proc_mount;
  if (procMount !== undefined && procMount !== 'Default') add('baseline', 'procMount', `procMount ${procMount} is not allowed`);
  if (level === 'baseline') return out;

  // --- restricted ---
  const disallowedVolumes = usedVolumeTypes.filter((type) => !RESTRICTED_VOLUME_TYPES.includes(type) && type !== 'host_path');
  if (disallowedVolumes.length > 0) add('restricted', 'volumeTypes', `volume types not allowed: ${disallowedVolumes.join(', ')}`);
  if (container.allow_privilege_escalation !== false) add('restricted', 'allowPrivilegeEscalation', 'allow_privilege_escalation must be false');
  const runAsNonRoot = container.run_as_non_root ?? pod.run_as_non_root;
  if (runAsNonRoot !== true) add('restricted', 'runAsNonRoot', 'run_as_non_root must be true (the container may run as root)');
  const runAsUser = container.run_as_user ?? pod.run_as_user;
  if (runAsUser === 0) add('restricted', 'runAsUser', 'run_as_user must not be 0');
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('restricted', 'seccomp', 'seccomp profile must be RuntimeDefault or Localhost');
  const dropsAll = (container.capabilities?.drop ?? []).includes('ALL');
  const beyondRestricted = added.filter((cap) => cap !== 'NET_BIND_SERVICE');
  if (!dropsAll || beyondRestricted.length > 0) {
    const why = [!dropsAll ? 'capabilities must drop ALL' : '', beyondRestricted.length > 0 ? `only NET_BIND_SERVICE may be added, got ${beyondRestricted.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    add('restricted', 'capabilitiesRestricted', why);
  }
  return out;
}

/** The controls violated, sorted: a compact form for tests and messages. */
export function violatedControls(input: JobContainerSecurity, level: PodSecurityLevel): PodSecurityControl[] {
  return [...new Set(podSecurityViolations(input, level).map((v) => v.control))].sort();
}

