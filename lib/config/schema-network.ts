/**
 * Enterprise network settings: a custom CA bundle (self-signed or internal GitLab, registry, S3)
 * and an HTTP(S) proxy. Both are a platform setting with a per-tenant override (the tenant's
 * value replaces the platform's as a whole). docs/enterprise-network.md explains the effects.
 *
 * The schemas are built by `networkSchemas(primitives)`, called from schema.ts with its primitive
 * rules, so this file needs nothing from schema.ts at load time (no import cycle).
 */
import { z } from 'zod';

/** The primitive rules of schema.ts these schemas are built from. */
export interface NetworkPrimitives {
  readonly cidr: z.ZodType<string>;
  readonly port: z.ZodType<number>;
  readonly labels: z.ZodType<Record<string, string>>;
  readonly dnsLabel: (maxLength?: number) => z.ZodType<string>;
}

/** Where the CA bundle is mounted in the manager, job and cache registry pods (a directory). */
export const CA_BUNDLE_DIR = '/etc/tenant-runners/ca';
/** File name of the bundle inside CA_BUNDLE_DIR (the object's key is projected to it). */
export const CA_BUNDLE_FILE_NAME = 'ca.crt';
/** Full path of the mounted bundle: config.toml `tls-ca-file`, `TENANT_RUNNERS_CA_FILE` in jobs. */
export const CA_BUNDLE_PATH = `${CA_BUNDLE_DIR}/${CA_BUNDLE_FILE_NAME}`;

// https://kubernetes.io/docs/concepts/configuration/configmap/ (keys: [-._a-zA-Z0-9]+, not . or ..)
const objectKey = z
  .string()
  .max(253, { message: 'must be at most 253 characters' })
  .superRefine((key, ctx) => {
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) ctx.addIssue({ code: 'custom', message: 'must be a ConfigMap/Secret key: letters, digits, -, _ and . (no /, spaces or newlines)' });
    else if (key === '.' || key.startsWith('..')) ctx.addIssue({ code: 'custom', message: "must not be '.' or start with '..'" });
  });

const objectName = z
  .string()
  .max(253, { message: 'must be at most 253 characters' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'",
  });

// A proxy URL: scheme, host (DNS name or IPv4), optional port, optional trailing slash. No
// user:password@ (a credential would be written to dist/), no path, query or fragment.
const PROXY_HOST = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)';
const PROXY_URL = new RegExp(`^https?://${PROXY_HOST}(?::([0-9]{1,5}))?/?$`);

export const proxyUrl = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not contain credentials (user:password@): the URL is written to dist/ in plain text. Use a proxy that authenticates by source address, or one reachable without credentials',
      });
      return;
    }
    const match = PROXY_URL.exec(value);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'must be a proxy URL http://host:port or https://host:port (no path, query or credentials), such as http://proxy.example.com:3128' });
      return;
    }
    const port = match[1] === undefined ? undefined : Number(match[1]);
    if (port !== undefined && (port < 1 || port > 65535)) ctx.addIssue({ code: 'custom', message: `must have a port between 1 and 65535, got ${port}` });
  });

/** A NO_PROXY entry: a host name, a domain suffix (`.example.com`), an IPv4 address or CIDR, optionally with :port. */
const noProxyEntry = z
  .string()
  .max(253)
  .regex(/^(\*|\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(\/(3[0-2]|[12]?[0-9]))?(:[0-9]{1,5})?)$/, {
    message: 'must be a host name, a domain suffix such as .example.com, an IPv4 address or CIDR (no spaces, commas or schemes)',
  });

export function networkSchemas(p: NetworkPrimitives) {
  const caBundle = z
    .strictObject({
      kind: z
        .enum(['ConfigMap', 'Secret'])
        .default('ConfigMap')
        .describe('Kind of the existing object holding the bundle: ConfigMap (recommended: a CA is not a secret) or Secret. It is referenced only, never synthesized'),
      name: objectName.describe('Name of the ConfigMap or Secret; it must exist in every namespace of the tenant (manager and job namespace; the one shared namespace in the sharedNamespace variant)'),
      key: objectKey.default(CA_BUNDLE_FILE_NAME).describe('Key holding the PEM bundle (one or more certificates)'),
    })
    .describe(
      `Custom CA bundle (PEM) trusted for GitLab, the registry and S3: mounted read-only at ${CA_BUNDLE_PATH} in the runner manager, ` +
        'job pods and the cache registry, named by tls-ca-file of every [[runners]], and passed to Kaniko (docs/enterprise-network.md)',
    );

  const inCluster = z
    .strictObject({
      namespace: p.dnsLabel().describe('Namespace of the proxy pods'),
      podLabels: p.labels
        .refine((value) => Object.keys(value).length > 0, { message: 'must name at least one label of the proxy pods' })
        .describe('Labels of the proxy pods'),
    })
    .describe('The proxy runs in the cluster: NetworkPolicies allow these pods (namespace and pod selector) instead of an ipBlock. A tenant file may only repeat the one platform.yaml names');

  const proxy = z
    .strictObject({
      httpProxy: proxyUrl.describe('HTTP_PROXY/http_proxy: the proxy for http:// destinations, such as http://proxy.example.com:3128'),
      httpsProxy: proxyUrl.optional().describe('HTTPS_PROXY/https_proxy: the proxy for https:// destinations (default httpProxy)'),
      noProxy: z
        .array(noProxyEntry)
        .max(100)
        .default([])
        .describe(
          'Extra NO_PROXY entries (hosts, .domain suffixes, IPv4 CIDRs) reached directly. Always added: localhost, 127.0.0.1, .svc, .cluster.local, ' +
            'kubernetes.clusterCidrs and (manager) kubernetes.apiServerCidrs. GitLab, the registry and S3 keep their direct NetworkPolicy egress only when their host is listed here',
        ),
      egressCidrs: z
        .array(p.cidr)
        .min(1)
        .max(20)
        .optional()
        .describe('Addresses (IPv4 CIDRs, outside kubernetes.clusterCidrs) of a proxy outside the cluster; set this or inCluster'),
      inCluster: inCluster.optional(),
      ports: z
        .array(p.port)
        .min(1)
        .max(10)
        .optional()
        .describe('Ports NetworkPolicies open to the proxy (default: the ports of httpProxy and httpsProxy; for inCluster, the pods\' container ports)'),
    })
    .describe(
      'HTTP(S) proxy for the runner manager, the jobs and the cache registry: HTTP_PROXY, HTTPS_PROXY and NO_PROXY in both cases, and NetworkPolicy egress to ' +
        'the proxy instead of direct egress to GitLab, the registry and S3 (docs/enterprise-network.md)',
    );

  return { caBundle, proxy };
}

export type CaBundle = z.output<ReturnType<typeof networkSchemas>['caBundle']>;
export type ProxySettings = z.output<ReturnType<typeof networkSchemas>['proxy']>;
