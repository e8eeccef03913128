/**
 * Which gitlab-runner runs a tenant: the version (platform default `runner.version`, a tenant's
 * `runnerVersion` for canaries and rings), the manager image and the helper image of job pods,
 * whose tag names the architecture of the tenant's nodes.
 *
 * Images are derived from the version unless platform.yaml pins them (`runner.image`,
 * `runner.helperImage`); a pinned image's tag must then name its version, so manager and helper
 * can be checked to be the same release, and neither older than MINIMUM_RUNNER_VERSION.
 * Tags as GitLab publishes them: https://docs.gitlab.com/runner/configuration/advanced-configuration/#helper-image
 * (`registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v${CI_RUNNER_VERSION}`,
 * `arm64-v…` for arm64 nodes) and https://docs.gitlab.com/runner/install/docker/ (`alpine-v19.3.0`).
 *
 * Pure and free of configuration types (the schema imports the constants), so it is tested alone.
 */

/** gitlab-runner's release versions: MAJOR.MINOR.PATCH (its tags are v19.3.0). */
export const RUNNER_VERSION = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/;

/**
 * The oldest gitlab-runner the synthesized config.toml works with: `token = "${RUNNER_TOKEN_…}"`
 * is expanded from the environment only since 18.10.
 */
export const MINIMUM_RUNNER_VERSION = '18.10.0';

/** The version the defaults pin. */
export const DEFAULT_RUNNER_VERSION = '19.3.0';
export const DEFAULT_RUNNER_REPOSITORY = 'registry.gitlab.com/gitlab-org/gitlab-runner';
export const DEFAULT_HELPER_REPOSITORY = 'registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper';

/** Node architectures (the `kubernetes.io/arch` label values) a tenant's nodes may have. */
export const NODE_ARCHITECTURES = ['amd64', 'arm64'] as const;
export type NodeArchitecture = (typeof NODE_ARCHITECTURES)[number];

/** The well-known node label the kubelet sets to the node's GOARCH. https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-arch */
export const ARCH_LABEL = 'kubernetes.io/arch';

/** The architecture part of a helper image tag, per node architecture. */
export const HELPER_TAG_ARCH: Readonly<Record<NodeArchitecture, string>> = { amd64: 'x86_64', arm64: 'arm64' };

/** -1, 0 or 1 as `a` is older than, the same as or newer than `b` (both MAJOR.MINOR.PATCH). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  return 0;
}

/** The tag of an image reference (`repo:tag@digest` → `tag`), undefined when it has none. */
export function imageTag(ref: string): string | undefined {
  const name = ref.replace(/@.*$/, '');
  const last = name.slice(name.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon === -1 ? undefined : last.slice(colon + 1);
}

// gitlab-runner: v19.3.0, alpine-v19.3.0, alpine3.21-v19.3.0, ubuntu-v19.3.0.
const MANAGER_TAG = /^(?:[a-z][a-z0-9.]*-)?v([0-9]+\.[0-9]+\.[0-9]+)$/;
// gitlab-runner-helper: x86_64-v19.3.0, arm64-v19.3.0, ubuntu-x86_64-v19.3.0, alpine3.21-arm64-v19.3.0, x86_64-v19.3.0-pwsh.
const HELPER_TAG = /^(?:[a-z][a-z0-9.]*-)?(x86_64|arm64|arm|s390x|ppc64le|riscv64|loong64)-v([0-9]+\.[0-9]+\.[0-9]+)(?:-[a-z0-9]+)?$/;

/** The version a gitlab-runner image's tag names, if it names one. */
export function managerImageVersion(ref: string): string | undefined {
  return MANAGER_TAG.exec(imageTag(ref) ?? '')?.[1];
}

/** The architecture and version a gitlab-runner-helper image's tag names, if it names them. */
export function helperImageVersion(ref: string): { arch: string; version: string } | undefined {
  const match = HELPER_TAG.exec(imageTag(ref) ?? '');
  return match ? { arch: match[1], version: match[2] } : undefined;
}

/** platform.yaml's `runner` settings that choose the images. */
export interface RunnerImageSettings {
  readonly version?: string;
  readonly imageRepository: string;
  readonly helperImageRepository: string;
  readonly image?: string;
  readonly helperImage?: string;
}

/** A tenant's choices: its own version (a canary) and its nodes' architecture. */
export interface TenantRunnerChoice {
  readonly runnerVersion?: string;
  readonly architecture?: NodeArchitecture;
}

/** What a tenant runs. */
export interface RunnerImages {
  readonly version: string;
  /** gitlab-runner image of the manager. */
  readonly image: string;
  /** gitlab-runner-helper image of job pods (`helper_image`). */
  readonly helperImage: string;
  readonly architecture: NodeArchitecture;
  /** `kubernetes.io/arch` node selector: only when the tenant declares its architecture. */
  readonly nodeSelector: Readonly<Record<string, string>>;
}

/** The platform's version: `runner.version`, else the tag of a pinned image, else the default. */
export function platformRunnerVersion(settings: RunnerImageSettings): string {
  return (
    settings.version ??
    (settings.image ? managerImageVersion(settings.image) : undefined) ??
    (settings.helperImage ? helperImageVersion(settings.helperImage)?.version : undefined) ??
    DEFAULT_RUNNER_VERSION
  );
}

/**
 * A tenant's version and images. Total: with inconsistent settings it still answers (the rules
 * report the inconsistency with positions before anything is synthesized).
 */
export function runnerImages(settings: RunnerImageSettings, tenant: TenantRunnerChoice): RunnerImages {
  const version = tenant.runnerVersion ?? platformRunnerVersion(settings);
  const architecture = tenant.architecture ?? 'amd64';
  const pinned = tenant.runnerVersion === undefined;
  return {
    version,
    image: pinned && settings.image ? settings.image : `${settings.imageRepository}:alpine-v${version}`,
    helperImage: pinned && settings.helperImage ? settings.helperImage : `${settings.helperImageRepository}:${HELPER_TAG_ARCH[architecture]}-v${version}`,
    architecture,
    nodeSelector: tenant.architecture ? { [ARCH_LABEL]: tenant.architecture } : {},
  };
}

export interface VersionProblem {
  /** Key path in platform.yaml (platform problems) or the tenant file (tenant problems). */
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

const TOO_OLD = `older than ${MINIMUM_RUNNER_VERSION}, which the config.toml of this project needs (token = "\${RUNNER_TOKEN_…}" is expanded from the environment only since 18.10)`;

/** Pinned images whose tags name no version, an old one, or versions that differ. */
export function platformVersionProblems(settings: RunnerImageSettings): VersionProblem[] {
  const problems: VersionProblem[] = [];
  const version = platformRunnerVersion(settings);
  const source = settings.version !== undefined ? 'runner.version' : settings.image && managerImageVersion(settings.image) ? 'runner.image' : undefined;
  if (settings.image) {
    const v = managerImageVersion(settings.image);
    if (!v) {
      problems.push({ path: ['runner', 'image'], message: `its tag '${imageTag(settings.image) ?? ''}' names no gitlab-runner version; tag it as GitLab does (alpine-v${DEFAULT_RUNNER_VERSION} or v${DEFAULT_RUNNER_VERSION}) so the helper can be checked against it, or set runner.version and runner.imageRepository instead (for a mirror)` });
    } else if (compareVersions(v, MINIMUM_RUNNER_VERSION) < 0) {
      problems.push({ path: ['runner', 'image'], message: `is gitlab-runner ${v}, ${TOO_OLD}` });
    } else if (v !== version) {
      problems.push({ path: ['runner', 'image'], message: `is gitlab-runner ${v} but runner.version is ${version}; remove one of them or make them equal` });
    }
  }
  if (settings.helperImage) {
    const h = helperImageVersion(settings.helperImage);
    if (!h) {
      problems.push({ path: ['runner', 'helperImage'], message: `its tag '${imageTag(settings.helperImage) ?? ''}' names no architecture and version; tag it as GitLab does (x86_64-v${DEFAULT_RUNNER_VERSION} or arm64-v${DEFAULT_RUNNER_VERSION}) so it can be checked against the manager and the nodes` });
    } else if (compareVersions(h.version, MINIMUM_RUNNER_VERSION) < 0) {
      problems.push({ path: ['runner', 'helperImage'], message: `is gitlab-runner-helper ${h.version}, ${TOO_OLD}` });
    } else if (h.version !== version) {
      const manager = source ?? `the default ${DEFAULT_RUNNER_VERSION}`;
      problems.push({ path: ['runner', 'helperImage'], message: `is gitlab-runner-helper ${h.version} but the manager is ${version} (${manager}); manager and helper must be the same release` });
    }
  }
  return problems;
}

/** A tenant version next to pinned platform images; a pinned helper built for other nodes. */
export function tenantVersionProblems(settings: RunnerImageSettings, tenant: TenantRunnerChoice & { readonly nodeLabels: Readonly<Record<string, string>> }): VersionProblem[] {
  const problems: VersionProblem[] = [];
  const pinned = [settings.image && 'runner.image', settings.helperImage && 'runner.helperImage'].filter(Boolean).join(' and ');
  if (tenant.runnerVersion !== undefined && pinned) {
    problems.push({
      path: ['runnerVersion'],
      message: `cannot be set while platform.yaml pins ${pinned}: a tenant version needs images derived from it. Replace ${pinned} by runner.version (and runner.imageRepository / runner.helperImageRepository for a mirror)`,
    });
  }
  const architecture = tenant.architecture ?? 'amd64';
  const helper = settings.helperImage && tenant.runnerVersion === undefined ? helperImageVersion(settings.helperImage) : undefined;
  if (helper && helper.arch !== HELPER_TAG_ARCH[architecture]) {
    problems.push({
      path: tenant.architecture ? ['nodes', 'architecture'] : ['nodes'],
      message: `the tenant's nodes are ${architecture}${tenant.architecture ? '' : ' (the default of nodes.architecture)'} but runner.helperImage of platform.yaml is built for ${helper.arch}; remove runner.helperImage so the helper is derived per tenant (${HELPER_TAG_ARCH[architecture]}-v…)`,
    });
  }
  const labelled = tenant.nodeLabels[ARCH_LABEL];
  if (tenant.architecture && labelled !== undefined && labelled !== tenant.architecture) {
    problems.push({ path: ['nodes', 'architecture'], message: `is ${tenant.architecture} but nodes.labels has ${ARCH_LABEL}: ${labelled}; the pods could never be scheduled` });
  }
  return problems;
}
