/**
 * Rules the schema cannot express: relations inside one tenant and between tenants. Each rule is
 * an isolation guarantee (two tenants must never share a bucket, a cache repo or a node pool).
 */
import * as path from 'node:path';
import { ConfigProblem } from './errors';
import type { TenantConfig } from '../model/resolve';
import { Platform } from './schema';
import { problemAt, SourceFile } from './source';
import { isSshUrl, namespaceOutsidePatterns } from '../model/delivery-namespaces';
import { cidrWithin } from '../model/network';
import { checkPlatformIsolation, checkTenantIsolation } from './isolation-rules';
import { checkPodSettings } from './pod-settings-rules';
import { checkCaBundlesAcrossTenants, checkPlatformNetwork, checkTenantNetwork } from './network-rules';
import { checkRunnerOverrides } from './runner-overrides';
import { fixedFlagProblems } from './schema-overrides-versions';
import { platformVersionProblems, tenantVersionProblems } from '../model/runner-version';

import type { Entry } from './entry';

// Reserved namespaces (kube-*, add-ons, the platform's own) are checked in isolation-rules.ts.
/** Top-level folders of dist/ that are not tenants (dist/ci/ holds the CI templates). */
const RESERVED_DIST_FOLDERS = ['ci'];

/** S3 bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters long, got ${name.length}`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'must be lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
  if (/\.\.|\.-|-\./.test(name)) return 'must not contain two adjacent dots or a dot next to a hyphen';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not be formatted as an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return "must not start with 'xn--', 'sthree-' or 'amzn-s3-demo-'";
  if (/(-s3alias|--ol-s3|--x-s3|--table-s3)$/.test(name)) return "must not end with '-s3alias', '--ol-s3', '--x-s3' or '--table-s3'";
  return undefined;
}

export function checkTenants(platform: Platform, entries: readonly Entry[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const entry of entries) {
    problems.push(...checkTenant(platform, entry), ...checkRunnerOverrides(platform, entry));
    const { runnerVersion, nodes } = entry.config;
    entry.config.runners.forEach((runner, i) => {
      for (const p of fixedFlagProblems(runner.featureFlags, ['runners', i, 'featureFlags'])) problems.push(problemAt(entry.source, p.path, p.message));
    });
    for (const p of tenantVersionProblems(platform.runner, { runnerVersion, architecture: nodes.architecture, nodeLabels: nodes.labels })) problems.push(problemAt(entry.source, p.path, p.message));
  }
  problems.push(...checkTenantIsolation(platform, entries));
  problems.push(...checkPodSettings(platform, entries));
  problems.push(...checkCaBundlesAcrossTenants(platform, entries));

  const firstBy = new Map<string, Entry>();
  const claim = (kind: string, key: string, entry: Entry, keyPath: PropertyKey[], message: (other: Entry) => string) => {
    const id = `${kind}\0${key}`;
    const other = firstBy.get(id);
    if (other) problems.push(problemAt(entry.source, keyPath, message(other)));
    else firstBy.set(id, entry);
  };
  for (const entry of entries) {
    const t = entry.config;
    // A second definition of a tenant is one error; its derived names would only repeat it.
    const owner = firstBy.get(`name\0${t.name}`);
    if (owner) {
      problems.push(problemAt(entry.source, ['name'], `tenant '${t.name}' is already defined in ${owner.source.file}`));
      continue;
    }
    firstBy.set(`name\0${t.name}`, entry);
    claim('bucket', t.cache.s3.bucket, entry, ['cache', 's3', 'bucket'], (o) => `bucket '${t.cache.s3.bucket}' is already used by tenant '${o.config.name}' (${o.source.file}); every tenant needs its own bucket`);
    claim('repo', t.kanikoCacheRepo, entry, ['cache', 'kaniko', 'repo'], (o) => `Kaniko cache repo '${t.kanikoCacheRepo}' is already used by tenant '${o.config.name}' (${o.source.file})`);
    if (platform.architecture.variant === 'sharedNamespace') {
      // One namespace for all: a token Secret name used twice would hand one tenant's tokens to another.
      claim('tokens', t.tokenSecretName, entry, ['tokenSecretName'], (o) => `token Secret '${t.tokenSecretName}' is already used by tenant '${o.config.name}' (${o.source.file}); in the shared namespace every tenant needs its own`);
    }
    claim('labels', labelSetKey(t.nodes.labels), entry, ['nodes', 'labels'], (o) => `node labels are identical to tenant '${o.config.name}' (${o.source.file}); the two tenants would share nodes`);
  }
  // `<tenant>-build` namespaces must not be another tenant's namespace.
  const names = new Map(entries.map((e) => [e.config.name, e]));
  for (const entry of entries) {
    const layout = entry.config.layout;
    const other = layout.separateBuildNamespace ? names.get(layout.jobNamespace) : undefined;
    if (other) problems.push(problemAt(entry.source, ['name'], `build namespace '${layout.jobNamespace}' is the namespace of tenant '${other.config.name}' (${other.source.file}); rename one of them`));
  }
  // A tenant whose node labels are a strict subset of another's selects that tenant's nodes too.
  // Only tenants that carry every label of `a` can be such a `b`: look them up through an index
  // of who carries which label, so the check stays linear when label sets are distinct (comparing
  // every pair was quadratic: seconds at a few thousand tenants).
  const setKeys = entries.map((e) => labelSetKey(e.config.nodes.labels));
  const carriers = new Map<string, number[]>();
  entries.forEach((e, i) => {
    for (const [k, v] of Object.entries(e.config.nodes.labels)) {
      const id = `${k}=${v}`;
      const list = carriers.get(id);
      if (list) list.push(i);
      else carriers.set(id, [i]);
    }
  });
  entries.forEach((a, i) => {
    // The rarest label of `a`: its carriers, in entry order, are all candidates (labels is never empty).
    let candidates: number[] | undefined;
    for (const [k, v] of Object.entries(a.config.nodes.labels)) {
      const list = carriers.get(`${k}=${v}`)!;
      if (!candidates || list.length < candidates.length) candidates = list;
    }
    for (const j of candidates ?? []) {
      const b = entries[j];
      if (i === j || setKeys[i] === setKeys[j]) continue;
      if (isSubset(a.config.nodes.labels, b.config.nodes.labels)) {
        problems.push(problemAt(a.source, ['nodes', 'labels'],
          `node labels are a subset of tenant '${b.config.name}' (${b.source.file}); this tenant's pods could be scheduled on its nodes. Add a label that only this tenant's nodes carry, such as tenant: ${a.config.name}`));
      }
    }
  });
  return problems;
}

function checkTenant(platform: Platform, { config: t, source }: Entry): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (keyPath: PropertyKey[], message: string) => problems.push(problemAt(source, keyPath, message));

  const fileName = path.basename(source.file).replace(/\.ya?ml$/, '');
  if (fileName !== t.name) at(['name'], `must match the file name '${fileName}' (one file per tenant, named after it), got '${t.name}'`);
  if (RESERVED_DIST_FOLDERS.includes(t.name)) {
    at(['name'], `'${t.name}' is reserved: dist/${t.name}/ holds the CI templates of all tenants; choose another tenant name`);
  }
  if (platform.gitops.tool === 'argocd') {
    // The AppProject allows namespace patterns, not tenants: a namespace outside them would fail to sync.
    // The always-denied namespaces (default, kube-*, the platform's) are refused for every tool by the isolation rules.
    for (const namespace of new Set([t.layout.managerNamespace, t.layout.jobNamespace])) {
      const problem = namespaceOutsidePatterns(platform, namespace);
      if (problem) at(['name'], `${problem}; Argo CD would refuse to sync this tenant`);
    }
  }
  if (t.nodes.taints.length === 0 && !t.nodes.allowUntainted) {
    at(['nodes', 'taints'], `the tenant's nodes have no taint, so other workloads could be scheduled on them; add { key: tenant, value: ${t.name}, effect: NoSchedule } or set nodes.allowUntainted: true on purpose`);
  }
  if (t.cache.kaniko.mode === 's3' && t.cache.kaniko.repo !== undefined) {
    at(['cache', 'kaniko', 'repo'], `is only used with mode: registry; with mode: s3 the cache repo is the tenant's own cache registry (${t.kanikoCacheRepo}). Remove repo or set mode: registry`);
  }
  // The cache registry stores each layer once and newer cache entries point at it: expiring
  // layers/ sooner than Kaniko's --cache-ttl deletes layers that fresh entries still use.
  const ttlHours = Number(platform.kaniko.cacheTtl.replace(/h$/, ''));
  if (t.cache.kaniko.mode === 's3' && t.cache.s3.layersExpireAfterDays * 24 < ttlHours) {
    at(['cache', 's3', 'layersExpireAfterDays'], `must cover kaniko.cacheTtl (${platform.kaniko.cacheTtl} = ${Math.ceil(ttlHours / 24)} days) in mode s3, got ${t.cache.s3.layersExpireAfterDays}; expiring layers sooner breaks cache entries that still reference them`);
  }
  const bucketProblem = bucketNameProblem(t.cache.s3.bucket);
  if (bucketProblem) at(['cache', 's3', 'bucket'], `${bucketProblem}, got '${t.cache.s3.bucket}'`);
  const { encryption } = t.cache.s3;
  if (encryption.type === 'KMS' && !encryption.kmsKeyId) at(['cache', 's3', 'encryption'], 'kmsKeyId is required when type is KMS');
  if (encryption.type === 'S3' && encryption.kmsKeyId) at(['cache', 's3', 'encryption', 'kmsKeyId'], 'is only used with type: KMS');

  // An ipBlock inside the pod, Service or node networks would let this tenant's pods reach other
  // tenants' pods, whatever their NetworkPolicies say about namespaces. (A wider block that
  // contains them is accepted: the NetworkPolicy excepts them, see lib/model/network.ts.)
  t.egress.extra.forEach((extra, i) => {
    const hit = platform.kubernetes.clusterCidrs.find((cluster) => cidrWithin(extra.cidr, cluster));
    if (hit) at(['egress', 'extra', i, 'cidr'], `${extra.cidr} is inside the cluster network ${hit} (kubernetes.clusterCidrs in platform.yaml); job pods could reach other tenants' pods. Name the external destination's own addresses`);
  });

  problems.push(...checkSecrets(t, source));
  for (const problem of checkTenantNetwork(platform, t)) at(problem.path, problem.message);

  const seenRunner = new Map<string, number>();
  const seenKey = new Map<string, number>();
  t.runners.forEach((runner, i) => {
    const before = seenRunner.get(runner.name);
    if (before !== undefined) {
      at(['runners', i, 'name'], `runner '${runner.name}' is already defined at runners[${before}]`);
      return;
    }
    seenRunner.set(runner.name, i);
    const key = runner.tokenSecretKey ?? runner.name;
    const keyBefore = seenKey.get(key);
    if (keyBefore !== undefined) at(['runners', i, 'tokenSecretKey'], `token key '${key}' is already used by runners[${keyBefore}]; each runner needs its own token`);
    else seenKey.set(key, i);
    if (runner.limit > t.concurrent) at(['runners', i, 'limit'], `must be at most the tenant's concurrent (${t.concurrent}), got ${runner.limit}`);
  });
  return problems;
}

/**
 * Secret names and remote references: each Secret has one role (tokens, static S3 keys, registry
 * credentials), and remote settings only name Secrets the runner actually reads.
 */
function checkSecrets(t: TenantConfig, source: SourceFile): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (keyPath: PropertyKey[], message: string) => problems.push(problemAt(source, keyPath, message));
  const { auth } = t.cache.s3;
  const dockerSecrets = new Set([t.kanikoPushSecretName, ...t.imagePullSecrets]);

  const seenPull = new Map<string, number>();
  t.imagePullSecrets.forEach((name, i) => {
    const before = seenPull.get(name);
    if (before !== undefined) at(['imagePullSecrets', i], `'${name}' is already listed at imagePullSecrets[${before}]`);
    else seenPull.set(name, i);
  });
  if (dockerSecrets.has(t.tokenSecretName)) {
    at(['tokenSecretName'], `'${t.tokenSecretName}' is a registry credentials Secret (kubernetes.io/dockerconfigjson); runner tokens need their own Secret`);
  }
  if (auth.type === 'staticKeys') {
    if (auth.secretName === t.tokenSecretName) {
      at(['cache', 's3', 'auth', 'secretName'], `'${auth.secretName}' is also the runner token Secret (tokenSecretName); give the S3 keys a Secret of their own`);
    } else if (dockerSecrets.has(auth.secretName)) {
      at(['cache', 's3', 'auth', 'secretName'], `'${auth.secretName}' is a registry credentials Secret (kubernetes.io/dockerconfigjson); give the S3 keys a Secret of their own`);
    }
  }

  if (t.secrets.source !== 'externalSecret') return problems;
  const { s3StaticKeys, imagePullSecrets } = t.secrets;
  if (s3StaticKeys && auth.type !== 'staticKeys') {
    at(['secrets', 's3StaticKeys'], `is only used with cache.s3.auth.type: staticKeys, got type '${auth.type}'`);
  }
  for (const name of Object.keys(imagePullSecrets)) {
    if (name === t.kanikoPushSecretName) at(['secrets', 'imagePullSecrets', name], `is the Kaniko push Secret; set its remote key under secrets.kanikoPush`);
    else if (!t.imagePullSecrets.includes(name)) {
      at(['secrets', 'imagePullSecrets', name], `'${name}' is not listed in imagePullSecrets (${t.imagePullSecrets.length ? t.imagePullSecrets.join(', ') : 'empty'}); list it there or remove this entry`);
    }
  }
  return problems;
}

function labelSetKey(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

function isSubset(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.entries(a).every(([k, v]) => b[k] === v);
}

/** Platform-level egress destinations must not open the cluster network either. */
export function checkPlatform(platform: Platform): { path: PropertyKey[]; message: string }[] {
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const lists: [PropertyKey[], readonly string[]][] = [
    [['gitlab', 'egressCidrs'], platform.gitlab.egressCidrs],
    [['s3', 'egressCidrs'], platform.s3.egressCidrs],
    [['registry', 'egressCidrs'], platform.registry.egressCidrs],
  ];
  if (platform.gitops.tool !== 'none' && !platform.gitops.repoUrl) {
    problems.push({ path: ['gitops'], message: `repoUrl is required when tool is ${platform.gitops.tool}: the Git URL of this repository as ${platform.gitops.tool === 'argocd' ? 'Argo CD' : 'Flux'} reaches it` });
  }
  if (platform.gitops.tool === 'flux' && platform.gitops.repoUrl && isSshUrl(platform.gitops.repoUrl) && !platform.gitops.flux.secretRef) {
    problems.push({
      path: ['gitops', 'flux'],
      message: `secretRef is required for the ssh:// repoUrl: the name of the Secret in namespace ${platform.gitops.flux.namespace} with the deploy key (identity) and known_hosts (flux create secret git)`,
    });
  }
  for (const [path, cidrs] of lists) {
    cidrs.forEach((cidr, i) => {
      const hit = platform.kubernetes.clusterCidrs.find((cluster) => cidrWithin(cidr, cluster));
      if (hit) problems.push({ path: [...path, i], message: `${cidr} is inside the cluster network ${hit} (kubernetes.clusterCidrs); every tenant's pods could reach other tenants' pods through it` });
    });
  }
  problems.push(...checkPlatformIsolation(platform));
  problems.push(...checkPlatformNetwork(platform));
  problems.push(...fixedFlagProblems(platform.runner.featureFlags, ['runner', 'featureFlags']));
  problems.push(...platformVersionProblems(platform.runner).map((p) => ({ path: [...p.path], message: p.message })));
  return problems;
}

// CIDR arithmetic lives in lib/model/network.ts (the constructs compute `except` lists with it).
export { cidrsOverlap } from '../model/network';
