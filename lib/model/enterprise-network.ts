/**
 * A tenant's enterprise network settings, resolved once: the custom CA bundle and the HTTP(S)
 * proxy in effect (the tenant's own, or the platform's), the NO_PROXY lists of the manager and of
 * the jobs, and which external destinations are still reached directly (their host is in
 * NO_PROXY) rather than through the proxy. Rules, constructs and the CI template read it from here.
 * docs/enterprise-network.md explains the decisions.
 */
import type { Platform, Tenant } from '../config/schema';
import { cacheRegistryHost } from './names';
import { TenantLayout } from './layout';
import { cidrWithin } from './network';

export type CaBundleRef = NonNullable<Platform['caBundle']>;
export type ProxyConfig = NonNullable<Platform['proxy']>;

/** The external destinations whose direct NetworkPolicy egress depends on NO_PROXY. */
export type ProxiedDestination = 'gitlab' | 'registry' | 's3';

/** Hosts (and ports) the runner's clients connect to. */
export interface DestinationHost {
  readonly host: string;
  readonly port: number;
}

export interface ResolvedProxy {
  readonly httpProxy: string;
  readonly httpsProxy: string;
  /** NO_PROXY of the manager: the jobs' list plus the API server endpoints. */
  readonly managerNoProxy: readonly string[];
  /** NO_PROXY of job pods and the cache registry. */
  readonly jobNoProxy: readonly string[];
  /** Ports NetworkPolicies open to the proxy. */
  readonly ports: readonly number[];
  readonly egressCidrs?: readonly string[];
  readonly inCluster?: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
  /** Destinations reached directly (host in NO_PROXY); the others go through the proxy. */
  readonly direct: Readonly<Record<ProxiedDestination, boolean>>;
  /** Where the setting comes from, for messages: 'platform' or 'tenant'. */
  readonly source: 'platform' | 'tenant';
}

export interface TenantNetwork {
  /** The CA bundle in effect, or undefined. */
  readonly caBundle?: CaBundleRef & { readonly source: 'platform' | 'tenant' };
  /** The proxy in effect, or undefined (direct egress). */
  readonly proxy?: ResolvedProxy;
}

/** Entries every NO_PROXY starts with: loopback and in-cluster names. */
export const BUILTIN_NO_PROXY = ['localhost', '127.0.0.1', '.svc', '.cluster.local'] as const;

/** Default port of a URL's scheme. */
function urlPort(url: string): number {
  const parsed = new URL(url);
  if (parsed.port) return Number(parsed.port);
  return parsed.protocol === 'https:' ? 443 : 80;
}

/** Host and port of `host[:port]` (registry.host), 443 by default. */
function hostPort(value: string, defaultPort = 443): DestinationHost {
  const match = /^(.*?)(?::([0-9]+))?$/.exec(value)!;
  return { host: match[1].toLowerCase(), port: match[2] ? Number(match[2]) : defaultPort };
}

/** The hosts of GitLab, the registry and S3 as the runner's clients name them. */
export function destinationHosts(platform: Platform): Record<ProxiedDestination, DestinationHost> {
  const gitlab = new URL(platform.gitlab.url);
  const s3 = platform.s3.endpoint
    ? { host: new URL(platform.s3.endpoint).hostname.toLowerCase(), port: urlPort(platform.s3.endpoint) }
    : { host: `s3.${platform.s3.region}.amazonaws.com`, port: 443 };
  return {
    gitlab: { host: gitlab.hostname.toLowerCase(), port: urlPort(platform.gitlab.url) },
    registry: hostPort(platform.registry.host),
    s3,
  };
}

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

/**
 * Whether a NO_PROXY entry covers `host:port`, as Go's net/http (golang.org/x/net/http/httpproxy)
 * reads it: `*` matches everything; an IPv4 address or CIDR matches IP hosts; `.example.com`
 * matches subdomains; `example.com` matches itself and its subdomains; `:port` must match too.
 */
export function noProxyMatches(entry: string, destination: DestinationHost): boolean {
  if (entry === '*') return true;
  const portMatch = /^(.*?)(?::([0-9]+))?$/.exec(entry)!;
  const name = portMatch[1].toLowerCase();
  if (portMatch[2] && Number(portMatch[2]) !== destination.port) return false;
  const host = destination.host;
  if (name.includes('/')) return IPV4.test(host) && cidrWithin(`${host}/32`, name);
  if (IPV4.test(name) || IPV4.test(host)) return name === host;
  if (name.startsWith('.')) return host.endsWith(name);
  return host === name || host.endsWith(`.${name}`);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The CA bundle and proxy in effect for a tenant, with its NO_PROXY lists and direct destinations. */
export function tenantNetwork(platform: Platform, tenant: Tenant, layout: TenantLayout): TenantNetwork {
  const ca = tenant.caBundle ?? platform.caBundle;
  const caSource = tenant.caBundle ? 'tenant' : 'platform';
  const proxy = tenant.proxy ?? platform.proxy;
  if (!proxy) return { caBundle: ca ? { ...ca, source: caSource } : undefined };

  const httpsProxy = proxy.httpsProxy ?? proxy.httpProxy;
  const jobNoProxy = unique([
    ...BUILTIN_NO_PROXY,
    ...platform.kubernetes.clusterCidrs,
    // The tenant's cache registry (mode s3) is plain HTTP inside the namespace: never via the proxy.
    ...(tenant.cache.kaniko.mode === 's3' ? [cacheRegistryHost(layout.jobNamespace, layout.names).replace(/:[0-9]+$/, '')] : []),
    ...proxy.noProxy,
  ]);
  // client-go honours HTTPS_PROXY: the API server (its Service IP is in the cluster CIDRs, its
  // endpoints are apiServerCidrs) must never be sent to the proxy.
  const managerNoProxy = unique([...jobNoProxy, ...platform.kubernetes.apiServerCidrs]);
  const hosts = destinationHosts(platform);
  const direct = Object.fromEntries(
    (Object.keys(hosts) as ProxiedDestination[]).map((d) => [d, proxy.noProxy.some((entry) => noProxyMatches(entry, hosts[d]))]),
  ) as Record<ProxiedDestination, boolean>;
  return {
    caBundle: ca ? { ...ca, source: caSource } : undefined,
    proxy: {
      httpProxy: proxy.httpProxy,
      httpsProxy,
      managerNoProxy,
      jobNoProxy,
      ports: proxy.ports ?? unique([proxy.httpProxy, httpsProxy].map((url) => String(urlPort(url)))).map(Number).sort((a, b) => a - b),
      egressCidrs: proxy.egressCidrs,
      inCluster: proxy.inCluster,
      direct,
      source: tenant.proxy ? 'tenant' : 'platform',
    },
  };
}

/** The environment variables of a proxy, upper- and lower-case (curl reads only http_proxy in lower case). */
export function proxyEnvironment(proxy: ResolvedProxy, noProxy: readonly string[]): [string, string][] {
  const list = noProxy.join(',');
  return [
    ['HTTP_PROXY', proxy.httpProxy],
    ['http_proxy', proxy.httpProxy],
    ['HTTPS_PROXY', proxy.httpsProxy],
    ['https_proxy', proxy.httpsProxy],
    ['NO_PROXY', list],
    ['no_proxy', list],
  ];
}
