/**
 * Rules of the enterprise network settings (schema-network.ts) the schema cannot express: where
 * the proxy is (outside the cluster by CIDRs, or inside by namespace and labels, exactly one),
 * that it is not hidden inside the cluster networks, that its URL ports are the ports opened to
 * it, and that a CA bundle of kind Secret never names a Secret holding credentials (job pods
 * mount the bundle). Called from rules.ts.
 */
import type { TenantConfig } from '../model/resolve';
import { cidrWithin, LINK_LOCAL_CIDRS } from '../model/network';
import type { Platform } from './schema';
import type { Entry } from './entry';
import { ConfigProblem } from './errors';
import { problemAt } from './source';

type Problem = { path: PropertyKey[]; message: string };

/**
 * Job variables the runner sets from caBundle and proxy. A tenant's runner `environment` may not
 * set them, with or without those settings: the proxy must come from `proxy`, so NO_PROXY and
 * the NetworkPolicies match it.
 */
export const NETWORK_ENV = ['SSL_CERT_DIR', 'TENANT_RUNNERS_CA_FILE', 'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const;
type Proxy = NonNullable<Platform['proxy']>;

function urlHostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80 };
}

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

/** Problems of one proxy setting, with paths relative to it. */
export function proxyProblems(platform: Platform, proxy: Proxy): Problem[] {
  const problems: Problem[] = [];
  const at = (path: PropertyKey[], message: string) => problems.push({ path, message });
  const { clusterCidrs } = platform.kubernetes;

  if (proxy.egressCidrs && proxy.inCluster) {
    at(['inCluster'], 'cannot be set together with egressCidrs: name the proxy either by its addresses outside the cluster (egressCidrs) or by its pods in the cluster (inCluster)');
  } else if (!proxy.egressCidrs && !proxy.inCluster) {
    at([], 'needs egressCidrs (a proxy outside the cluster, by its IPv4 CIDRs) or inCluster (a proxy in the cluster, by namespace and podLabels), so NetworkPolicies can allow it');
  }
  proxy.egressCidrs?.forEach((cidr, i) => {
    const cluster = clusterCidrs.find((c) => cidrWithin(cidr, c));
    if (cluster) {
      at(['egressCidrs', i], `${cidr} is inside the cluster network ${cluster} (kubernetes.clusterCidrs): an ipBlock into the cluster would reach other tenants' pods. Name a proxy running in the cluster with inCluster (namespace and podLabels) instead`);
    } else if (LINK_LOCAL_CIDRS.some((c) => cidrWithin(cidr, c))) {
      at(['egressCidrs', i], `${cidr} is link-local (cloud metadata and credentials endpoints), never a proxy address`);
    }
  });
  for (const key of ['httpProxy', 'httpsProxy'] as const) {
    const url = proxy[key];
    if (!url) continue;
    const { host, port } = urlHostPort(url);
    if (IPV4.test(host)) {
      const cluster = clusterCidrs.find((c) => cidrWithin(`${host}/32`, c));
      if (cluster && !proxy.inCluster) {
        at([key], `${host} is inside the cluster network ${cluster} (kubernetes.clusterCidrs): a proxy in the cluster must be named with inCluster (namespace and podLabels), not by address`);
      } else if (proxy.egressCidrs && !cluster && !proxy.egressCidrs.some((c) => cidrWithin(`${host}/32`, c))) {
        at([key], `${host} is not in egressCidrs (${proxy.egressCidrs.join(', ')}): the NetworkPolicies would block the proxy`);
      }
    }
    // Outside the cluster there is no Service in between: the URL's port is the port the
    // NetworkPolicy must open. (In the cluster, ports are the pods' container ports.)
    if (proxy.ports && proxy.egressCidrs && !proxy.ports.includes(port)) {
      at(['ports'], `must include port ${port} of ${key} (${url}), got ${proxy.ports.join(', ')}`);
    }
  }
  return problems;
}

/** Problems of the platform's caBundle and proxy (paths from the root of platform.yaml). */
export function checkPlatformNetwork(platform: Platform): Problem[] {
  const problems: Problem[] = [];
  if (platform.proxy) {
    problems.push(...proxyProblems(platform, platform.proxy).map((p) => ({ path: ['proxy', ...p.path], message: p.message })));
    const ns = platform.proxy.inCluster?.namespace;
    if (ns && platform.architecture.variant === 'sharedNamespace' && ns === platform.architecture.sharedNamespace) {
      problems.push({ path: ['proxy', 'inCluster', 'namespace'], message: `is the shared runner namespace (architecture.sharedNamespace); the proxy must run in a namespace of its own, which no tenant's jobs can create pods in` });
    }
  }
  return problems;
}

/**
 * Problems of a tenant's own caBundle and proxy, and of the ones in effect for it (paths from the
 * root of the tenant file; a platform setting that breaks for this tenant is reported at `name`).
 */
export function checkTenantNetwork(platform: Platform, t: TenantConfig): Problem[] {
  const problems: Problem[] = [];
  if (t.proxy) problems.push(...proxyProblems(platform, t.proxy).map((p) => ({ path: ['proxy', ...p.path], message: p.message })));

  // Egress to pods of another namespace is the platform's decision: a tenant file may name a proxy
  // in the cluster only as platform.yaml does (it may still choose a proxy outside the cluster).
  const ownInCluster = t.proxy?.inCluster;
  const platformInCluster = platform.proxy?.inCluster;
  if (ownInCluster && !(platformInCluster && ownInCluster.namespace === platformInCluster.namespace && sameLabels(ownInCluster.podLabels, platformInCluster.podLabels))) {
    problems.push({
      path: ['proxy', 'inCluster'],
      message: platformInCluster
        ? `must be the proxy in the cluster that platform.yaml names (proxy.inCluster: namespace ${platformInCluster.namespace}): a tenant file may not open egress to other pods of the cluster`
        : 'a proxy in the cluster can only be set in platform.yaml (proxy.inCluster): a tenant file may not open egress to pods of the cluster; name a proxy outside the cluster with egressCidrs',
    });
  }

  const proxy = t.proxy ?? platform.proxy;
  const ns = proxy?.inCluster?.namespace;
  const own = new Set([t.layout.managerNamespace, t.layout.jobNamespace]);
  // The shared namespace as the platform's proxy namespace is reported once, at platform.yaml.
  const reportedForPlatform = !t.proxy && t.layout.shared && ns === platform.architecture.sharedNamespace;
  if (ns && own.has(ns) && !reportedForPlatform) {
    problems.push({
      path: t.proxy ? ['proxy', 'inCluster', 'namespace'] : ['name'],
      message: `'${ns}' is this tenant's own namespace${t.proxy ? '' : ' and proxy.inCluster.namespace of platform.yaml'}; the proxy must run in a namespace of its own, which the tenant's jobs cannot create pods in`,
    });
  }

  t.runners.forEach((runner, i) => {
    for (const name of Object.keys(runner.environment)) {
      if ((NETWORK_ENV as readonly string[]).includes(name)) {
        problems.push({
          path: ['runners', i, 'environment', name],
          message: `'${name}' is set by the runner from proxy and caBundle (platform.yaml or this tenant file); set those instead, so NO_PROXY, the mounted CA and the NetworkPolicies stay consistent`,
        });
      }
    }
  });

  const ca = t.caBundle ?? platform.caBundle;
  if (ca?.kind === 'Secret') {
    const hit = credentialSecrets(t).find(([name]) => name === ca.name);
    if (hit) {
      problems.push({
        path: t.caBundle ? ['caBundle', 'name'] : ['name'],
        message: `caBundle '${ca.name}'${t.caBundle ? '' : ' (platform.yaml)'} is ${hit[1]}: the CA bundle is mounted into every job pod, so it needs a ConfigMap or Secret of its own that holds no credentials`,
      });
    }
  }
  return problems;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The Secrets of a tenant that hold credentials, with what each one is. */
function credentialSecrets(t: TenantConfig): [string, string][] {
  return [
    [t.tokenSecretName, 'the runner token Secret (tokenSecretName)'],
    [t.kanikoPushSecretName, 'the Kaniko push credentials Secret'],
    ...t.imagePullSecrets.map((name): [string, string] => [name, 'an image pull Secret (imagePullSecrets)']),
    ...(t.cache.s3.auth.type === 'staticKeys' ? [[t.cache.s3.auth.secretName, 'the static S3 keys Secret (cache.s3.auth.secretName)'] as [string, string]] : []),
  ];
}

/**
 * In the shared namespace every tenant's Secrets sit side by side: a CA bundle Secret must not be
 * another tenant's credentials Secret either (its jobs would mount it).
 */
export function checkCaBundlesAcrossTenants(platform: Platform, entries: readonly Entry[]): ConfigProblem[] {
  if (platform.architecture.variant !== 'sharedNamespace') return [];
  const owners = new Map<string, { tenant: string; what: string }>();
  for (const { config: t } of entries) {
    for (const [name, what] of credentialSecrets(t)) if (!owners.has(name)) owners.set(name, { tenant: t.name, what });
  }
  const problems: ConfigProblem[] = [];
  for (const { config: t, source } of entries) {
    const ca = t.caBundle ?? platform.caBundle;
    const owner = ca?.kind === 'Secret' ? owners.get(ca.name) : undefined;
    if (!ca || !owner || owner.tenant === t.name) continue;
    problems.push(problemAt(source, t.caBundle ? ['caBundle', 'name'] : ['name'],
      `caBundle '${ca.name}'${t.caBundle ? '' : ' (platform.yaml)'} is ${owner.what} of tenant '${owner.tenant}' in the shared namespace: the CA bundle is mounted into every job pod, so it needs a ConfigMap or Secret of its own that holds no credentials`));
  }
  return problems;
}
