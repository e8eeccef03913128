/**
 * Isolation rules a hostile or careless tenant file could otherwise get past: tenant names that
 * are platform namespaces, node selection and tolerations that reach other tenants' (or
 * control-plane) nodes, egress to the cluster, link-local credentials endpoints and node ports,
 * names that must be unique across clusters, and resource values that are absurd or bypass the
 * quota. Called from rules.ts (checkPlatform / checkTenants) and load.ts (loadClusters).
 */
import * as path from 'node:path';
import type { ClusterConfig } from '../model/resolve';
import type { Entry } from './entry';
import { ConfigProblem } from './errors';
import { ContainerResources, Platform } from './schema';
import { problemAt, readSource, SourceFile } from './source';
import { parseQuantity } from './quantity';
import { CONTROL_PLANE_PORTS, cidrWithin, LINK_LOCAL_CIDRS } from '../model/network';

// ---------------------------------------------------------------------------------------------
// Namespaces
// ---------------------------------------------------------------------------------------------

/** Namespaces of Kubernetes itself: never a tenant, not even with tenants.allowNamespaces. */
export const CORE_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Namespaces well-known add-ons install into (`*` matches any rest). A tenant of that name would
 * get the add-on's namespace (NetworkPolicies, quota, GitOps ownership with prune). A cluster
 * without the add-on may allow the name with `tenants.allowNamespaces` in platform.yaml.
 */
export const WELL_KNOWN_NAMESPACES: readonly { readonly pattern: string; readonly what: string }[] = [
  { pattern: 'kube-*', what: 'Kubernetes' },
  { pattern: 'argocd', what: 'Argo CD' },
  { pattern: 'argo-*', what: 'Argo' },
  { pattern: 'flux-system', what: 'Flux' },
  { pattern: 'cert-manager', what: 'cert-manager' },
  { pattern: 'external-secrets', what: 'External Secrets Operator' },
  { pattern: 'external-dns', what: 'ExternalDNS' },
  { pattern: 'sealed-secrets', what: 'Sealed Secrets' },
  { pattern: 'vault', what: 'Vault' },
  { pattern: 'ingress-nginx', what: 'ingress-nginx' },
  { pattern: 'traefik', what: 'Traefik' },
  { pattern: 'calico-*', what: 'Calico' },
  { pattern: 'tigera-operator', what: 'Calico (Tigera operator)' },
  { pattern: 'cilium', what: 'Cilium' },
  { pattern: 'cilium-*', what: 'Cilium' },
  { pattern: 'istio-system', what: 'Istio' },
  { pattern: 'istio-*', what: 'Istio' },
  { pattern: 'linkerd', what: 'Linkerd' },
  { pattern: 'linkerd-*', what: 'Linkerd' },
  { pattern: 'gatekeeper-system', what: 'OPA Gatekeeper' },
  { pattern: 'kyverno', what: 'Kyverno' },
  { pattern: 'velero', what: 'Velero' },
  { pattern: 'monitoring', what: 'monitoring' },
  { pattern: 'prometheus', what: 'Prometheus' },
  { pattern: 'prometheus-*', what: 'Prometheus' },
  { pattern: 'grafana', what: 'Grafana' },
  { pattern: 'logging', what: 'logging' },
  { pattern: 'loki', what: 'Loki' },
  { pattern: 'karpenter', what: 'Karpenter' },
  { pattern: 'keda', what: 'KEDA' },
  { pattern: 'metallb-system', what: 'MetalLB' },
  { pattern: 'longhorn-system', what: 'Longhorn' },
  { pattern: 'rook-ceph', what: 'Rook' },
  { pattern: 'crossplane-system', what: 'Crossplane' },
  { pattern: 'local-path-storage', what: 'local-path provisioner' },
  { pattern: 'kubernetes-dashboard', what: 'Kubernetes Dashboard' },
  { pattern: 'cattle-*', what: 'Rancher' },
  { pattern: 'amazon-*', what: 'Amazon EKS add-ons' },
  { pattern: 'aws-*', what: 'AWS add-ons' },
  { pattern: 'gke-*', what: 'Google Kubernetes Engine' },
  { pattern: 'gmp-*', what: 'Google Managed Prometheus' },
  { pattern: 'azure-*', what: 'Azure Kubernetes Service' },
  { pattern: 'openshift', what: 'OpenShift' },
  { pattern: 'openshift-*', what: 'OpenShift' },
];

function wellKnown(namespace: string): { pattern: string; what: string } | undefined {
  return WELL_KNOWN_NAMESPACES.find(({ pattern }) => (pattern.endsWith('*') ? namespace.startsWith(pattern.slice(0, -1)) : namespace === pattern));
}

/** Namespaces platform.yaml names or implies, with the setting that names them. */
function platformNamespaces(platform: Platform): Map<string, string> {
  const named = new Map<string, string>();
  const add = (ns: string, why: string) => { if (!named.has(ns)) named.set(ns, `${why}; choose another tenant name`); };
  for (const ns of CORE_NAMESPACES) add(ns, 'a Kubernetes system namespace');
  add(platform.kubernetes.dns.namespace, 'the DNS namespace (kubernetes.dns.namespace in platform.yaml)');
  add(platform.monitoring.namespace, 'the monitoring namespace (monitoring.namespace in platform.yaml)');
  add(platform.architecture.sharedNamespace, 'the shared runner namespace (architecture.sharedNamespace in platform.yaml)');
  if (platform.gitops.tool === 'argocd') add(platform.gitops.argocd.namespace, 'the Argo CD namespace (gitops.argocd.namespace in platform.yaml)');
  if (platform.gitops.tool === 'flux') add(platform.gitops.flux.namespace, 'the Flux namespace (gitops.flux.namespace in platform.yaml)');
  return named;
}

/** Why `namespace` cannot belong to a tenant, or undefined. */
function reservedNamespace(platform: Platform, namespace: string): string | undefined {
  const named = platformNamespaces(platform).get(namespace);
  if (named) return named;
  const known = wellKnown(namespace);
  if (known && !platform.tenants.allowNamespaces.includes(namespace)) {
    return `a well-known add-on namespace (${known.what}, ${known.pattern}); choose another tenant name, or list it in tenants.allowNamespaces in platform.yaml if this cluster has no such add-on`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Node labels and taints
// ---------------------------------------------------------------------------------------------

/**
 * Label and taint key prefixes (domains) that belong to Kubernetes or a cloud provider: kubelets,
 * cloud controllers and node lifecycle set them, often on every node (`kubernetes.io/os`,
 * `topology.kubernetes.io/zone`) or on control-plane nodes (`node-role.kubernetes.io/control-plane`),
 * so selecting or tolerating them says nothing about which tenant a node belongs to.
 * A subdomain of one of these is covered too.
 *
 * `node-restriction.kubernetes.io/` is the exception, and the recommended prefix for the tenant
 * label: the NodeRestriction admission plugin forbids kubelets to set labels under it on their own
 * Node, so a compromised node cannot relabel itself into another tenant's pool.
 */
export const WELL_KNOWN_KEY_DOMAINS = [
  'kubernetes.io', 'k8s.io', 'openshift.io',
  'amazonaws.com', 'karpenter.sh', 'k8s.aws',
  'cloud.google.com', 'gke.io',
  'kubernetes.azure.com', 'azure.com',
];
export const RESTRICTED_PREFIX_ALLOWED = 'node-restriction.kubernetes.io/';

/** Why a label or taint key is refused, or undefined. */
function wellKnownKey(platform: Platform, key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  if (slash === -1) return undefined;
  if (key.startsWith(RESTRICTED_PREFIX_ALLOWED)) return undefined;
  if (platform.nodes.allowedLabelPrefixes.some((prefix) => key.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`) || key === prefix)) return undefined;
  const domain = key.slice(0, slash);
  const owner = WELL_KNOWN_KEY_DOMAINS.find((d) => domain === d || domain.endsWith(`.${d}`));
  return owner ? `${domain}/` : undefined;
}

/** The value of `nodes.tenantLabelKey` that identifies this tenant's nodes. */
export function tenantIdentity(platform: Platform, tenant: string): string {
  return platform.nodes.tenantLabelValues[tenant] ?? tenant;
}

// ---------------------------------------------------------------------------------------------
// Environment and resources
// ---------------------------------------------------------------------------------------------

/**
 * Job variables the project sets itself through config.toml `environment` (KanikoCache.jobEnvironment),
 * and GitLab's own: a tenant overriding them could point Kaniko at another cache, read other
 * credentials, or pretend an unprotected ref is protected (the CI template's cache-poisoning guard).
 */
export const RESERVED_ENV = {
  names: ['DOCKER_CONFIG'],
  prefixes: ['KANIKO_', 'CI_', 'GITLAB_', 'RUNNER_TOKEN_'],
};

function reservedEnv(name: string): string | undefined {
  if (RESERVED_ENV.names.includes(name)) return name;
  const prefix = RESERVED_ENV.prefixes.find((p) => name.startsWith(p));
  return prefix ? `${prefix}*` : undefined;
}

/** Largest value accepted for one container, and for a quota entry. */
export const RESOURCE_MAX = {
  containerCpu: 256,
  containerMemory: 2 ** 40, // 1Ti
  containerEphemeralStorage: 10 * 2 ** 40, // 10Ti
  quotaCpu: 100_000,
  quotaBytes: 2 ** 50, // 1Pi
  quotaCount: 100_000,
};
const MAX_TEXT = { containerCpu: '256', containerMemory: '1Ti', containerEphemeralStorage: '10Ti', quotaCpu: '100000', quotaBytes: '1Pi', quotaCount: '100000' };

type Problem = { path: PropertyKey[]; message: string };

function checkContainer(res: ContainerResources, at: PropertyKey[]): Problem[] {
  const problems: Problem[] = [];
  const kinds = [
    ['cpu', RESOURCE_MAX.containerCpu, MAX_TEXT.containerCpu],
    ['memory', RESOURCE_MAX.containerMemory, MAX_TEXT.containerMemory],
    ['ephemeralStorage', RESOURCE_MAX.containerEphemeralStorage, MAX_TEXT.containerEphemeralStorage],
  ] as const;
  for (const [key, max, maxText] of kinds) {
    const request = res.requests[key];
    const limit = res.limits[key];
    for (const [side, value] of [['requests', request], ['limits', limit]] as const) {
      if (value !== undefined && parseQuantity(value) > max) problems.push({ path: [...at, side, key], message: `must be at most ${maxText}, got ${value}` });
    }
    if (request !== undefined && limit !== undefined && parseQuantity(request) > parseQuantity(limit)) {
      problems.push({ path: [...at, 'requests', key], message: `must not exceed the limit (${limit}), got ${request}; Kubernetes rejects a pod whose request is above its limit` });
    }
  }
  return problems;
}

const BYTES_KEYS = /(^|\.)(memory|ephemeral-storage|storage)$/;
const CPU_KEYS = /(^|\.)cpu$/;

function checkQuotaValue(key: string, value: string): string | undefined {
  const n = parseQuantity(value);
  if (key === 'services.loadbalancers' || key === 'services.nodeports') {
    return n === 0 ? undefined : `must stay 0, got ${value}: a tenant must not expose Services outside the cluster`;
  }
  if (CPU_KEYS.test(key)) return n > RESOURCE_MAX.quotaCpu ? `must be at most ${MAX_TEXT.quotaCpu} cores, got ${value}` : undefined;
  if (BYTES_KEYS.test(key)) return n > RESOURCE_MAX.quotaBytes ? `must be at most ${MAX_TEXT.quotaBytes}, got ${value}` : undefined;
  if (!Number.isInteger(n)) return `must be a whole number of objects, got ${value}`;
  return n > RESOURCE_MAX.quotaCount ? `must be at most ${MAX_TEXT.quotaCount}, got ${value}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Platform
// ---------------------------------------------------------------------------------------------

export function checkPlatformIsolation(platform: Platform): Problem[] {
  const problems: Problem[] = [];
  const key = platform.nodes.tenantLabelKey;
  const keyProblem = wellKnownKey(platform, key);
  if (keyProblem) problems.push({ path: ['nodes', 'tenantLabelKey'], message: `'${key}' is under the well-known prefix ${keyProblem}, which kubelets or cloud controllers set; use your own key such as tenant or ${RESTRICTED_PREFIX_ALLOWED}tenant` });
  const seen = new Map<string, string>();
  for (const [tenant, value] of Object.entries(platform.nodes.tenantLabelValues)) {
    const other = seen.get(value);
    if (other) problems.push({ path: ['nodes', 'tenantLabelValues', tenant], message: `'${value}' already identifies tenant '${other}'; every tenant needs its own value` });
    else seen.set(value, tenant);
  }
  // The platform's own egress must not reach link-local credentials endpoints either.
  const lists: [PropertyKey[], readonly string[]][] = [
    [['gitlab', 'egressCidrs'], platform.gitlab.egressCidrs],
    [['s3', 'egressCidrs'], platform.s3.egressCidrs],
    [['registry', 'egressCidrs'], platform.registry.egressCidrs],
  ];
  for (const [at, cidrs] of lists) {
    cidrs.forEach((cidr, i) => {
      const hit = LINK_LOCAL_CIDRS.find((ll) => cidrWithin(cidr, ll));
      if (hit) problems.push({ path: [...at, i], message: `${cidr} is in the link-local range ${hit} (cloud metadata service 169.254.169.254, EKS Pod Identity Agent 169.254.170.23); pods must not reach node credentials` });
    });
  }
  const containers: [PropertyKey[], ContainerResources][] = [
    [['runner', 'resources'], platform.runner.resources],
    [['kaniko', 'cacheRegistry', 'resources'], platform.kaniko.cacheRegistry.resources],
  ];
  for (const [at, res] of containers) problems.push(...checkContainer(res, at));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

export function checkTenantIsolation(platform: Platform, entries: readonly Entry[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const identities = new Map<string, Entry>();
  const taintOwners = new Map<string, Entry>();
  const projects = new Map<string, Entry>();
  const labelKey = platform.nodes.tenantLabelKey;

  for (const entry of entries) {
    const { config: t, source } = entry;
    const at = (keyPath: PropertyKey[], message: string) => problems.push(problemAt(source, keyPath, message));

    // Names: neither the tenant's namespace nor its derived build namespace may be a platform one.
    const nameReason = reservedNamespace(platform, t.name);
    if (nameReason) at(['name'], `'${t.name}' is ${nameReason}`);
    // Checked whatever the architecture says today: switching on separateBuildNamespace later must not
    // turn a platform namespace into a tenant's.
    const buildNamespace = `${t.name}-build`;
    const buildReason = nameReason ? undefined : reservedNamespace(platform, buildNamespace);
    if (buildReason) at(['name'], `its build namespace '${buildNamespace}' is ${buildReason}`);

    // Nodes: the tenant selects its own identity label, and nothing Kubernetes or the cloud sets.
    // (A tenant whose name differs from its file, or repeats another's, is already an error; its
    // identity would only repeat that error.)
    const named = path.basename(source.file).replace(/\.ya?ml$/, '') === t.name && identities.get(tenantIdentity(platform, t.name))?.config.name !== t.name;
    const identity = tenantIdentity(platform, t.name);
    const own = t.nodes.labels[labelKey];
    if (!named) {
      // reported as a name problem
    } else if (own === undefined) {
      at(['nodes', 'labels'], `must contain ${labelKey}: ${identity}, the label only this tenant's nodes carry (nodes.tenantLabelKey in platform.yaml); without it the pods may land on any node with the other labels`);
    } else if (own !== identity) {
      at(['nodes', 'labels', labelKey], `must be '${identity}', the value that identifies tenant '${t.name}'${platform.nodes.tenantLabelValues[t.name] ? ' (nodes.tenantLabelValues in platform.yaml)' : ''}, got '${own}'; the pods would be scheduled on nodes of another tenant`);
    }
    const sameIdentity = identities.get(identity);
    if (sameIdentity && named) at(['nodes', 'labels'], `${labelKey}: ${identity} also identifies tenant '${sameIdentity.config.name}' (${sameIdentity.source.file}); map one of them to another value in nodes.tenantLabelValues`);
    else if (!sameIdentity) identities.set(identity, entry);
    for (const key of Object.keys(t.nodes.labels)) {
      const prefix = wellKnownKey(platform, key);
      if (prefix) at(['nodes', 'labels', key], `label key '${key}' is under the well-known prefix ${prefix}, set by Kubernetes or the cloud provider (shared by many nodes, or marking control-plane nodes); select the tenant's nodes by your own labels, or allow the prefix in nodes.allowedLabelPrefixes in platform.yaml`);
    }

    // Taints: each one the tenant's own. Its identity taint has its identity value; no other tenant tolerates the same key=value.
    t.nodes.taints.forEach((taint, i) => {
      const prefix = wellKnownKey(platform, taint.key);
      if (prefix) {
        at(['nodes', 'taints', i, 'key'], `taint key '${taint.key}' is under the well-known prefix ${prefix} (control-plane and node-condition taints); tolerating it lets the pods onto nodes that are not the tenant's`);
        return;
      }
      if (!named) return;
      if (taint.key === labelKey && taint.value !== identity) {
        at(['nodes', 'taints', i, 'value'], `must be '${identity}' (the taint ${labelKey}=<value> marks the nodes of the tenant with that value), got '${taint.value}'; the pods would tolerate another tenant's nodes`);
        return;
      }
      const id = `${taint.key}=${taint.value}:${taint.effect}`;
      const other = taintOwners.get(id);
      if (other && other !== entry) at(['nodes', 'taints', i], `taint ${id} is also tolerated by tenant '${other.config.name}' (${other.source.file}); each tenant tolerates only taints of its own`);
      else taintOwners.set(id, entry);
    });

    // Egress: nothing link-local, no API server address, no node or control-plane port.
    t.egress.extra.forEach((extra, i) => {
      const linkLocal = LINK_LOCAL_CIDRS.find((ll) => cidrWithin(extra.cidr, ll));
      if (linkLocal) at(['egress', 'extra', i, 'cidr'], `${extra.cidr} is in the link-local range ${linkLocal}: the cloud metadata service (169.254.169.254) and the EKS Pod Identity Agent (169.254.170.23) hand out node and pod credentials; jobs must never reach them`);
      const api = platform.kubernetes.apiServerCidrs.find((a) => cidrWithin(extra.cidr, a));
      if (api) at(['egress', 'extra', i, 'cidr'], `${extra.cidr} is an API server address (kubernetes.apiServerCidrs ${api} in platform.yaml); job pods have no API token and must not reach the API server`);
      extra.ports.forEach((port, j) => {
        const what = CONTROL_PLANE_PORTS[port];
        if (what) at(['egress', 'extra', i, 'ports', j], `${port} is the ${what} port; jobs must not reach node or control-plane components (refused ports: ${Object.keys(CONTROL_PLANE_PORTS).join(', ')})`);
      });
    });

    // Environment: the variables the project and GitLab set are not the tenant's to change.
    t.runners.forEach((runner, i) => {
      for (const name of Object.keys(runner.environment)) {
        const reserved = reservedEnv(name);
        if (reserved) at(['runners', i, 'environment', name], `'${name}' is reserved (${reserved}): the runner sets ${RESERVED_ENV.names.join(', ')} and ${RESERVED_ENV.prefixes.filter((p) => p === 'KANIKO_').map((p) => `${p}*`).join(', ')} itself, and GitLab sets ${RESERVED_ENV.prefixes.filter((p) => p !== 'KANIKO_').map((p) => `${p}*`).join(', ')}; overriding them could redirect the Kaniko cache or fake a protected ref`);
      }
      for (const side of ['build', 'helper', 'service'] as const) {
        for (const p of checkContainer(runner.resources[side], ['runners', i, 'resources', side])) at(p.path, p.message);
      }
    });

    // Quota: bounded values; Services stay unexposed.
    for (const [key, value] of Object.entries(t.quota.hard)) {
      const problem = checkQuotaValue(key, value);
      if (problem) at(['quota', 'hard', key], problem);
    }

    // Kaniko cache repo (registry mode): on the registry job pods can reach, in a registry project
    // (the first path segment: Harbor/GitLab project, robot account scope) no other tenant uses.
    if (t.cache.kaniko.mode === 'registry') {
      const repo = t.kanikoCacheRepo;
      const host = `${platform.registry.host}/`;
      if (!repo.startsWith(host)) {
        at(['cache', 'kaniko', 'repo'], `must be a repository on ${platform.registry.host} (registry.host in platform.yaml): job pods can reach no other registry, and push with this tenant's credentials for it; got '${repo}'`);
      } else {
        const project = repo.slice(0, host.length + repo.slice(host.length).split('/')[0].length);
        const other = projects.get(project);
        if (other && other.config.kanikoCacheRepo !== repo) {
          at(['cache', 'kaniko', 'repo'], `is in registry project ${project}/, which tenant '${other.config.name}' (${other.source.file}) uses for its Kaniko cache (${other.config.kanikoCacheRepo}); a project's push credentials reach every repository in it. Use a project of this tenant's own, such as ${host}${t.name}/cache`);
        } else if (!other) projects.set(project, entry);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Across clusters
// ---------------------------------------------------------------------------------------------

/**
 * Names that are global, not per cluster: S3 bucket names (one namespace for every AWS account)
 * and Kaniko cache repositories on the external registry. Cache registries of mode s3 are
 * `<service>.<namespace>.svc` inside each cluster and may repeat.
 */
export function checkAcrossClusters(clusters: readonly ClusterConfig[], displayBase: string): ConfigProblem[] {
  if (clusters.length < 2) return [];
  const problems: ConfigProblem[] = [];
  const sources = new Map<string, SourceFile | undefined>();
  const sourceOf = (file: string) => {
    if (!sources.has(file)) sources.set(file, readSource(path.resolve(displayBase, file), file, []));
    return sources.get(file);
  };
  const first = new Map<string, { cluster: string; tenant: string; file: string }>();
  for (const cluster of clusters) {
    for (const t of cluster.tenants) {
      const claims: [string, string, PropertyKey[], string][] = [['bucket', t.cache.s3.bucket, ['cache', 's3', 'bucket'], 'bucket']];
      if (t.cache.kaniko.mode === 'registry') claims.push(['repo', t.kanikoCacheRepo, ['cache', 'kaniko', 'repo'], 'Kaniko cache repo']);
      for (const [kind, value, keyPath, label] of claims) {
        const id = `${kind}\0${value}`;
        const other = first.get(id);
        if (!other) {
          first.set(id, { cluster: cluster.cluster ?? '', tenant: t.name, file: t.file });
          continue;
        }
        if (other.cluster === (cluster.cluster ?? '')) continue; // reported by the per-cluster rule
        const source = sourceOf(t.file);
        const message = `${label} '${value}' is already used by tenant '${other.tenant}' of cluster '${other.cluster}' (${other.file}); ${kind === 'bucket' ? 'S3 bucket names are global, so every tenant of every cluster needs its own' : 'a cache repository is shared by everyone who pushes to it, so every tenant of every cluster needs its own'}`;
        problems.push(source ? problemAt(source, keyPath, message) : { file: t.file, line: 0, column: 0, keyPath: keyPath.join('.'), message });
      }
    }
  }
  return problems;
}
