/**
 * Rules of the pod settings (`pods:`) and job volumes (`runners[].volumes`) that need the tenant,
 * the platform or the other tenants: the sharedNamespace variant's PriorityClass, pod affinity
 * limited to the tenant's own namespaces and pods, Secrets the runner keeps to itself, names in
 * the shared namespace, allowed CSI drivers, and volume names and mount paths that collide with
 * each other or with what the project and gitlab-runner mount. Called from rules.ts.
 * docs/pod-settings.md explains each rule.
 */
import type { Entry } from './entry';
import { ConfigProblem } from './errors';
import { Platform } from './schema';
import { problemAt } from './source';
import { TENANT_LABEL } from '../model/labels';
import { CA_BUNDLE_DIR } from './schema-network';
import type { TenantConfig } from '../model/resolve';

/**
 * Paths of job containers the project and gitlab-runner own. A volume mounted at, inside or above
 * one of them would hide or replace it: Kaniko's executor and push credentials (/kaniko, where
 * /kaniko/.docker is mounted), the builds directory with the repository (/builds), the kernel
 * and device file systems, service account token mounts, and the folder of the custom CA bundle
 * (mounted into every job container when caBundle is set, and named by SSL_CERT_DIR).
 */
const CA_BUNDLE_ROOT = '/etc/tenant-runners';
export const RESERVED_JOB_PATHS = ['/kaniko', '/builds', '/proc', '/sys', '/dev', '/var/run/secrets', '/run/secrets'] as const;
/** Files the kubelet manages: a volume may not replace them or a folder above them (/etc). */
export const RESERVED_JOB_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'] as const;
/** First path segments of the per-job script and log folders of the Kubernetes executor. */
const RESERVED_JOB_SEGMENTS = [/^scripts-/, /^logs-/];
/** Volume names the Kubernetes executor gives its own volumes. */
export const RESERVED_VOLUME_NAMES = ['repo', 'scripts', 'logs', 'docker-certs'] as const;

type Problem = { path: PropertyKey[]; message: string };
type Affinity = NonNullable<TenantConfig['pods']['manager']['affinity']>;
type AffinityTerm = NonNullable<NonNullable<Affinity['podAffinity']>['requiredDuringSchedulingIgnoredDuringExecution']>[number];

const within = (path: string, parent: string) => path === parent || path.startsWith(`${parent}/`);

/** Why a job mount path is refused, or undefined. */
export function reservedJobPath(mountPath: string): string | undefined {
  for (const reserved of RESERVED_JOB_PATHS) {
    if (within(mountPath, reserved)) return `is ${mountPath === reserved ? '' : 'inside '}${reserved}, which ${reservedWhat(reserved)}; mount the volume elsewhere`;
    if (within(reserved, mountPath)) return `is above ${reserved}, which ${reservedWhat(reserved)}, and would hide it; mount the volume elsewhere`;
  }
  for (const file of RESERVED_JOB_FILES) {
    if (within(file, mountPath)) return `would replace ${file}, which the kubelet manages; mount the volume elsewhere (a folder inside /etc such as /etc/maven is fine)`;
  }
  if (within(mountPath, CA_BUNDLE_ROOT)) return `is ${mountPath === CA_BUNDLE_ROOT ? '' : 'inside '}${CA_BUNDLE_ROOT}, which ${reservedWhat(CA_BUNDLE_ROOT)}; mount the volume elsewhere`;
  if (within(CA_BUNDLE_ROOT, mountPath)) return `is above ${CA_BUNDLE_ROOT}, which ${reservedWhat(CA_BUNDLE_ROOT)}, and would hide it; mount the volume elsewhere`;
  const first = mountPath.split('/')[1];
  if (RESERVED_JOB_SEGMENTS.some((re) => re.test(first))) return `is where gitlab-runner keeps the job's scripts and logs (/scripts-*, /logs-*); mount the volume elsewhere`;
  return undefined;
}

function reservedWhat(path: string): string {
  switch (path) {
    case '/kaniko': return 'holds the Kaniko executor and the registry push credentials (/kaniko/.docker)';
    case '/builds': return 'holds the job\'s repository (builds_dir)';
    case CA_BUNDLE_ROOT: return 'holds the custom CA bundle (caBundle) job containers trust';
    case '/var/run/secrets':
    case '/run/secrets': return 'is where Kubernetes mounts service account tokens';
    default: return 'is a kernel or device file system';
  }
}

/** The tenant's Secrets that only the runner reads, with what they hold. */
function runnerSecrets(t: TenantConfig): Map<string, string> {
  const own = new Map<string, string>([[t.tokenSecretName, 'the runner token Secret (tokenSecretName)']]);
  if (t.cache.s3.auth.type === 'staticKeys') own.set(t.cache.s3.auth.secretName, 'the static S3 key Secret (cache.s3.auth.secretName)');
  return own;
}

export function checkPodSettings(platform: Platform, entries: readonly Entry[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const shared = platform.architecture.variant === 'sharedNamespace';
  const tenantNames = entries.map((e) => e.config.name);
  for (const { config: t, source } of entries) {
    for (const p of tenantProblems(platform, t, shared ? tenantNames : undefined)) problems.push(problemAt(source, p.path, p.message));
  }
  return problems;
}

function tenantProblems(platform: Platform, t: TenantConfig, sharedTenants: readonly string[] | undefined): Problem[] {
  const problems: Problem[] = [];
  const at = (path: PropertyKey[], message: string) => problems.push({ path, message });
  const { manager, jobs } = t.pods;
  const { layout } = t;
  const ownNamespaces = [...new Set([layout.managerNamespace, layout.jobNamespace])];
  const own = runnerSecrets(t);

  // PriorityClass: in the shared namespace it is what tells the tenant's pods apart for its quota.
  if (layout.shared) {
    const message = `is refused in the sharedNamespace variant: every pod of the tenant gets the PriorityClass ${layout.names.priorityClass}, which scopes the tenant's ResourceQuota in the shared namespace; another PriorityClass would take the pods out of that quota`;
    if (manager.priorityClassName !== undefined) at(['pods', 'manager', 'priorityClassName'], message);
    if (jobs.priorityClassName !== undefined) at(['pods', 'jobs', 'priorityClassName'], message);
  }

  // Affinity and spread: the tenant's own namespaces and pods only.
  for (const [side, settings] of [['manager', manager], ['jobs', jobs]] as const) {
    const affinity = settings.affinity;
    for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
      const a = affinity?.[kind];
      const terms: [PropertyKey[], AffinityTerm][] = [];
      a?.requiredDuringSchedulingIgnoredDuringExecution?.forEach((term, i) => terms.push([['pods', side, 'affinity', kind, 'requiredDuringSchedulingIgnoredDuringExecution', i], term]));
      a?.preferredDuringSchedulingIgnoredDuringExecution?.forEach((w, i) => terms.push([['pods', side, 'affinity', kind, 'preferredDuringSchedulingIgnoredDuringExecution', i, 'podAffinityTerm'], w.podAffinityTerm]));
      for (const [path, term] of terms) {
        term.namespaces?.forEach((ns, j) => {
          if (!ownNamespaces.includes(ns)) at([...path, 'namespaces', j], `'${ns}' is not a namespace of this tenant (${ownNamespaces.join(', ')}); pod (anti-)affinity may only refer to the tenant's own pods, or it would place pods by, and reveal, other tenants' pods`);
        });
        const value = term.labelSelector?.matchLabels?.[TENANT_LABEL];
        if (value !== undefined && value !== t.name) at([...path, 'labelSelector', 'matchLabels', TENANT_LABEL], `must be '${t.name}' or left out (tenant-runners sets it to the tenant's name): a term may only match this tenant's pods, got '${value}'`);
      }
    }
  }
  manager.topologySpreadConstraints.forEach((c, i) => {
    const value = c.labelSelector?.matchLabels?.[TENANT_LABEL];
    if (value !== undefined && value !== t.name) at(['pods', 'manager', 'topologySpreadConstraints', i, 'labelSelector', 'matchLabels', TENANT_LABEL], `must be '${t.name}' or left out (tenant-runners sets it to the tenant's name), got '${value}'`);
  });

  // Names the manager reads: unique variables, pull Secrets listed once, not the runner's own Secrets.
  const seenEnv = new Map<string, number>();
  manager.env.forEach((v, i) => {
    const before = seenEnv.get(v.name);
    if (before !== undefined) at(['pods', 'manager', 'env', i, 'name'], `'${v.name}' is already set at pods.manager.env[${before}]`);
    else seenEnv.set(v.name, i);
    const secret = v.valueFrom.secretKeyRef?.name;
    if (secret && own.has(secret)) at(['pods', 'manager', 'env', i, 'valueFrom', 'secretKeyRef', 'name'], `'${secret}' is ${own.get(secret)}; the runner reads it itself, give extra variables a Secret of their own`);
  });
  manager.envFrom.forEach((f, i) => {
    const secret = f.secretRef?.name;
    if (secret && own.has(secret)) at(['pods', 'manager', 'envFrom', i, 'secretRef', 'name'], `'${secret}' is ${own.get(secret)}; the runner reads it itself, give extra variables a Secret of their own`);
  });
  const seenPull = new Map<string, number>();
  manager.imagePullSecrets.forEach((name, i) => {
    const before = seenPull.get(name);
    if (before !== undefined) at(['pods', 'manager', 'imagePullSecrets', i], `'${name}' is already listed at pods.manager.imagePullSecrets[${before}]`);
    else seenPull.set(name, i);
    if (own.has(name)) at(['pods', 'manager', 'imagePullSecrets', i], `'${name}' is ${own.get(name)}, not registry credentials`);
  });

  // In the shared namespace, every object a tenant names is one of its own: <tenant>-…
  if (sharedTenants) {
    const refs: [PropertyKey[], string][] = [];
    manager.env.forEach((v, i) => {
      const ref = v.valueFrom.secretKeyRef ? ['secretKeyRef', v.valueFrom.secretKeyRef.name] as const : ['configMapKeyRef', v.valueFrom.configMapKeyRef!.name] as const;
      refs.push([['pods', 'manager', 'env', i, 'valueFrom', ref[0], 'name'], ref[1]]);
    });
    manager.envFrom.forEach((f, i) => refs.push(f.secretRef ? [['pods', 'manager', 'envFrom', i, 'secretRef', 'name'], f.secretRef.name] : [['pods', 'manager', 'envFrom', i, 'configMapRef', 'name'], f.configMapRef!.name]));
    manager.imagePullSecrets.forEach((name, i) => refs.push([['pods', 'manager', 'imagePullSecrets', i], name]));
    t.runners.forEach((r, i) => {
      for (const kind of ['secret', 'configMap', 'pvc'] as const) r.volumes[kind].forEach((v, j) => refs.push([['runners', i, 'volumes', kind, j, 'name'], v.name]));
    });
    for (const [path, name] of refs) {
      const problem = sharedNamespaceName(name, t.name, sharedTenants);
      if (problem) at(path, problem);
    }
  }

  // Job volumes, per runner.
  t.runners.forEach((runner, i) => problems.push(...volumeProblems(platform, t, runner, i, own)));
  return problems;
}

/** In the shared namespace a name must start with `<tenant>-` and not with a longer tenant's prefix. */
function sharedNamespaceName(name: string, tenant: string, tenants: readonly string[]): string | undefined {
  const literal = name.split('$')[0];
  if (!literal.startsWith(`${tenant}-`)) {
    return `'${name}' must start with '${tenant}-' in the sharedNamespace variant: every tenant's objects share one namespace, and a tenant may only use its own`;
  }
  const other = tenants.find((o) => o !== tenant && o.startsWith(`${tenant}-`) && literal.startsWith(`${o}-`));
  return other ? `'${name}' starts with '${other}-', the prefix of tenant '${other}' in the shared namespace; a tenant may only use its own objects` : undefined;
}

function volumeProblems(platform: Platform, t: TenantConfig, runner: TenantConfig['runners'][number], index: number, own: Map<string, string>): Problem[] {
  const problems: Problem[] = [];
  const base: PropertyKey[] = ['runners', index, 'volumes'];
  const at = (path: PropertyKey[], message: string) => problems.push({ path: [...base, ...path], message });
  const { volumes } = runner;
  const ca = t.network.caBundle;

  const all: { kind: string; j: number; name: string; mountPath: string }[] = [];
  for (const kind of ['emptyDir', 'configMap', 'secret', 'pvc', 'csi'] as const) {
    volumes[kind].forEach((v, j) => all.push({ kind, j, name: v.name, mountPath: v.mountPath }));
  }
  const names = new Map<string, string>();
  const mounts: { where: string; path: string }[] = [];
  for (const v of all) {
    const where = `volumes.${v.kind}[${v.j}]`;
    if ((RESERVED_VOLUME_NAMES as readonly string[]).includes(v.name) || v.name === t.kanikoPushSecretName) {
      at([v.kind, v.j, 'name'], `'${v.name}' is the name of a volume gitlab-runner or tenant-runners already adds to job pods (${[...RESERVED_VOLUME_NAMES, t.kanikoPushSecretName].join(', ')}); ${v.name === t.kanikoPushSecretName ? 'the Kaniko push credentials are already mounted at /kaniko/.docker' : 'choose another name'}`);
    } else if (ca && (v.kind === 'configMap' || v.kind === 'secret') && v.name === ca.name) {
      at([v.kind, v.j, 'name'], `'${v.name}' is the CA bundle (caBundle), which tenant-runners already mounts into every job container at ${CA_BUNDLE_DIR}; read it from there (TENANT_RUNNERS_CA_FILE)`);
    } else if (names.has(v.name)) {
      at([v.kind, v.j, 'name'], `'${v.name}' is already the name of ${names.get(v.name)}; every volume of a job pod needs its own name`);
    } else names.set(v.name, where);

    const reserved = reservedJobPath(v.mountPath);
    if (reserved) {
      at([v.kind, v.j, 'mountPath'], `${v.mountPath} ${reserved}`);
      continue;
    }
    const clash = mounts.find((m) => within(v.mountPath, m.path) || within(m.path, v.mountPath));
    if (clash) {
      const how = clash.path === v.mountPath ? 'is also the mount path of' : within(v.mountPath, clash.path) ? `is inside ${clash.path}, the mount path of` : `is above ${clash.path}, the mount path of`;
      at([v.kind, v.j, 'mountPath'], `${v.mountPath} ${how} ${clash.where}; one volume would hide the other`);
    } else mounts.push({ where, path: v.mountPath });
  }

  volumes.secret.forEach((v, j) => {
    if (own.has(v.name)) at(['secret', j, 'name'], `'${v.name}' is ${own.get(v.name)}: job pods run untrusted code and must never get the runner's credentials`);
  });
  const allowed = platform.runner.allowedCsiDrivers;
  volumes.csi.forEach((v, j) => {
    if (!allowed.includes(v.driver)) {
      at(['csi', j, 'driver'], `'${v.driver}' is not in runner.allowedCsiDrivers of platform.yaml (${allowed.length ? allowed.join(', ') : 'empty'}); inline CSI volumes hand volumeAttributes straight to the driver, so the platform decides which drivers tenants may use`);
    }
  });
  return problems;
}
