/**
 * What the custom CA bundle and the HTTP(S) proxy add to a tenant's pods, config.toml and
 * NetworkPolicies. Kept apart from the constructs that use it (TenantRunner, KanikoCache,
 * TenantIsolation), which only spread these lists into theirs. docs/enterprise-network.md.
 */
import { k8s } from 'cdk8s-plus-28';
import { CA_BUNDLE_DIR, CA_BUNDLE_FILE_NAME, CA_BUNDLE_PATH } from '../config/schema-network';
import { NAMESPACE_NAME_LABEL } from '../model/labels';
import { CaBundleRef, ProxiedDestination, proxyEnvironment, ResolvedProxy, TenantNetwork } from '../model/enterprise-network';
import { ConfigMapVolumeConfig, SecretVolumeConfig } from '../runner-config/model';
import { egressTo } from './network-policies';

export { CA_BUNDLE_DIR, CA_BUNDLE_PATH } from '../config/schema-network';

/** Name of the CA bundle volume in the manager and cache registry pods. */
export const CA_VOLUME = 'ca-bundle';

/**
 * Certificate directories Go programs (gitlab-runner, its helper, the distribution registry,
 * Kaniko) read when SSL_CERT_DIR is set, besides the system bundle file they always read: the
 * mounted CA first, then the usual system directories (Alpine/Debian, RHEL). Go adds every PEM
 * file of these directories to the system roots, so public CAs stay trusted.
 * https://pkg.go.dev/crypto/x509#SystemCertPool
 */
export const SYSTEM_CERT_DIRS = ['/etc/ssl/certs', '/etc/pki/tls/certs'];
/** Kaniko's image keeps its roots in /kaniko/ssl/certs (its own SSL_CERT_DIR), which jobs must keep. */
export const KANIKO_CERT_DIR = '/kaniko/ssl/certs';
/** Job variable naming the mounted bundle, for tools that take a CA file (curl --cacert, npm cafile, pip --cert). */
export const CA_FILE_VARIABLE = 'TENANT_RUNNERS_CA_FILE';

/** Every destination is direct when there is no proxy. */
const ALL_DIRECT: Readonly<Record<ProxiedDestination, boolean>> = { gitlab: true, registry: true, s3: true };

/** What one tenant's CA bundle and proxy contribute, computed once per tenant (plain values). */
export class EnterpriseNetwork {
  public static readonly NONE = new EnterpriseNetwork({});

  constructor(private readonly settings: TenantNetwork, private readonly excludedRanges: readonly string[] = []) {}

  public get caBundle(): CaBundleRef | undefined {
    return this.settings.caBundle;
  }

  public get proxy(): ResolvedProxy | undefined {
    return this.settings.proxy;
  }

  /** Destinations the pods reach directly; with a proxy, only those listed in its noProxy. */
  public get direct(): Readonly<Record<ProxiedDestination, boolean>> {
    return this.settings.proxy?.direct ?? ALL_DIRECT;
  }

  /** config.toml `tls-ca-file` of every `[[runners]]`: the path the manager pod mounts the bundle at. */
  public get tlsCaFile(): string | undefined {
    return this.caBundle ? CA_BUNDLE_PATH : undefined;
  }

  /** The CA bundle volume of a pod (the manager's, the cache registry's): the key projected to ca.crt. */
  public get podVolumes(): k8s.Volume[] {
    const ca = this.caBundle;
    if (!ca) return [];
    const items = [{ key: ca.key, path: CA_BUNDLE_FILE_NAME }];
    return [ca.kind === 'Secret'
      ? { name: CA_VOLUME, secret: { secretName: ca.name, items } }
      : { name: CA_VOLUME, configMap: { name: ca.name, items } }];
  }

  public get podVolumeMounts(): k8s.VolumeMount[] {
    return this.caBundle ? [{ name: CA_VOLUME, mountPath: CA_BUNDLE_DIR, readOnly: true }] : [];
  }

  /**
   * Environment of the manager (and, with `noProxy` of the jobs, of the cache registry): the
   * proxy in both cases, and SSL_CERT_DIR so the AWS SDK (STS, S3) and every other Go client
   * trust the bundle on top of the system roots.
   */
  public podEnv(role: 'manager' | 'cacheRegistry'): k8s.EnvVar[] {
    const env: k8s.EnvVar[] = [];
    if (this.caBundle) env.push({ name: 'SSL_CERT_DIR', value: [CA_BUNDLE_DIR, ...SYSTEM_CERT_DIRS].join(':') });
    const { proxy } = this;
    if (proxy) {
      const noProxy = role === 'manager' ? proxy.managerNoProxy : proxy.jobNoProxy;
      env.push(...proxyEnvironment(proxy, noProxy).map(([name, value]) => ({ name, value })));
    }
    return env;
  }

  /** `KEY=value` entries of config.toml `environment` (every job container, helper included). */
  public get jobEnvironment(): string[] {
    const env: string[] = [];
    if (this.caBundle) {
      env.push(`SSL_CERT_DIR=${[CA_BUNDLE_DIR, ...SYSTEM_CERT_DIRS, KANIKO_CERT_DIR].join(':')}`);
      env.push(`${CA_FILE_VARIABLE}=${CA_BUNDLE_PATH}`);
    }
    const { proxy } = this;
    if (proxy) env.push(...proxyEnvironment(proxy, proxy.jobNoProxy).map(([name, value]) => `${name}=${value}`));
    return env;
  }

  /** `[[runners.kubernetes.volumes.config_map]]` of job pods (CA bundle of kind ConfigMap). */
  public get jobConfigMapVolumes(): ConfigMapVolumeConfig[] {
    const ca = this.caBundle;
    if (!ca || ca.kind !== 'ConfigMap') return [];
    return [{ name: ca.name, mount_path: CA_BUNDLE_DIR, read_only: true, items: { [ca.key]: CA_BUNDLE_FILE_NAME } }];
  }

  /** `[[runners.kubernetes.volumes.secret]]` of job pods (CA bundle of kind Secret). */
  public get jobSecretVolumes(): SecretVolumeConfig[] {
    const ca = this.caBundle;
    if (!ca || ca.kind !== 'Secret') return [];
    return [{ name: ca.name, mount_path: CA_BUNDLE_DIR, read_only: true, items: { [ca.key]: CA_BUNDLE_FILE_NAME } }];
  }

  /**
   * The NetworkPolicy egress rule to the proxy: an ipBlock per CIDR (excepting the cluster
   * networks where a block contains them), or the proxy pods by namespace and labels.
   */
  public get proxyEgressRule(): k8s.NetworkPolicyEgressRule | undefined {
    const { proxy } = this;
    if (!proxy) return undefined;
    if (proxy.egressCidrs) return egressTo(proxy.egressCidrs, proxy.ports, 'TCP', this.excludedRanges);
    const inCluster = proxy.inCluster!;
    return {
      to: [{
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: inCluster.namespace } },
        podSelector: { matchLabels: { ...inCluster.podLabels } },
      }],
      ports: proxy.ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) })),
    };
  }
}
