import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import type { TenantConfig } from '../model/resolve';
import { KanikoCacheMode, Platform } from '../config/schema';
import { cacheRegistryPodLabels, podSelectorLabels } from '../model/labels';
import { CACHE_REGISTRY_PORT, cacheRegistryHost, ObjectNames, networkPolicyName } from '../model/names';
import { resourceRequirements, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './hardened-pod';
import { CacheConfig, SecretVolumeConfig } from '../runner-config/model';
import { blockedRanges, egressTo, TenantIsolation } from './tenant-isolation';

/** Where job pods find the registry push credentials (Kaniko reads `$DOCKER_CONFIG/config.json`). */
export const KANIKO_DOCKER_CONFIG_DIR = '/kaniko/.docker';

/** Prefix of the tenant bucket that holds the cache registry's storage (cache.kaniko.mode s3). */
export const LAYERS_PREFIX = 'layers';

// The distribution image's `nobody`; the registry needs no privileges and writes only to S3.
const CACHE_REGISTRY_UID = 65534;
const CACHE_REGISTRY_CONFIG_DIR = '/etc/distribution';

export interface KanikoCacheProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
  /** Namespace and scheduling; the cache registry (mode s3) runs inside them. */
  readonly isolation: TenantIsolation;
}

/**
 * A tenant's build caches: the runner's S3 distributed cache (bucket, region/endpoint, per-runner
 * `cache/<runner>` prefix, authentication, server-side encryption) and Kaniko's layer cache, a
 * registry repository handed to jobs as `KANIKO_CACHE_REPO` (plus `KANIKO_CACHE_ARGS`), with push
 * credentials mounted from an existing Secret.
 *
 * Kaniko's `--cache-repo` is always a registry repository, never S3. With
 * `cache.kaniko.mode: registry` (default) it is a repository of the external registry and this
 * construct defines no objects. With `cache.kaniko.mode: s3` it defines a small cache registry in
 * the tenant namespace whose storage is `s3://<bucket>/layers/`: a ServiceAccount (its own S3
 * identity), a ConfigMap with the registry configuration, a Deployment, a ClusterIP Service and
 * NetworkPolicies that admit only this tenant's job pods and let the registry reach only S3.
 * https://distribution.github.io/distribution/storage-drivers/s3/
 */
export class KanikoCache extends Construct {
  /** Registry repository for `--cache-repo`. */
  public readonly cacheRepo: string;
  /** `registry` (external repository) or `s3` (cache registry in the namespace, storage in the bucket). */
  public readonly mode: KanikoCacheMode;
  /** Existing `kubernetes.io/dockerconfigjson` Secret with push rights to the tenant's registry project. */
  public readonly pushSecretName: string;
  /** Extra Kaniko flags the mode needs (`KANIKO_CACHE_ARGS`); empty in registry mode. */
  public readonly cacheArgs: string;
  /** The cache registry configuration (config.yml), in s3 mode. */
  public readonly registryConfig?: string;
  private readonly platform: Platform;
  private readonly tenant: TenantConfig;
  private readonly names: ObjectNames;

  constructor(scope: Construct, id: string, props: KanikoCacheProps) {
    super(scope, id);
    this.platform = props.platform;
    this.tenant = props.tenant;
    this.cacheRepo = props.tenant.kanikoCacheRepo;
    this.mode = props.tenant.cache.kaniko.mode;
    // The cache registry speaks plain HTTP inside the cluster (traffic stays on the tenant's
    // nodes, behind NetworkPolicies); Kaniko must be told so for that one host only.
    this.names = props.isolation.names;
    this.pushSecretName = props.isolation.names.kanikoPushSecret;
    const host = cacheRegistryHost(props.isolation.jobNamespace, props.isolation.names);
    this.cacheArgs = this.mode === 's3' ? `--insecure-registry=${host} --skip-tls-verify-registry=${host}` : '';
    if (this.mode === 's3') {
      this.registryConfig = renderCacheRegistryConfig(this.platform, this.tenant);
      this.addCacheRegistry(props.isolation, this.registryConfig);
    }
  }

  /**
   * `[runners.cache]` of one runner. `Shared = true` with a per-runner `Path` lets every manager of
   * the same runner (variant 3) share keys while runners stay apart.
   * https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscaches3-section
   */
  public runnerCache(runner: string): CacheConfig {
    const { s3 } = this.tenant.cache;
    return {
      Type: 's3',
      Path: `cache/${runner}`,
      Shared: true,
      s3: {
        BucketName: s3.bucket,
        BucketLocation: this.platform.s3.region,
        ServerAddress: this.platform.s3.endpoint?.replace(/^https?:\/\//, '').replace(/\/$/, ''),
        PathStyle: this.platform.s3.endpoint ? this.platform.s3.pathStyle : undefined,
        // "iam" means the AWS default credential chain: IRSA's web identity, EKS Pod Identity, or
        // AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment (static keys from a Secret).
        // Keys never appear in config.toml.
        AuthenticationType: 'iam',
        ServerSideEncryption: s3.encryption.type,
        ServerSideEncryptionKeyID: s3.encryption.kmsKeyId,
      },
    };
  }

  /** Variables every job sees, so the CI template needs no per-tenant values. */
  public get jobEnvironment(): string[] {
    return [
      `KANIKO_CACHE_REPO=${this.cacheRepo}`,
      `KANIKO_CACHE_ARGS=${this.cacheArgs}`,
      `KANIKO_IMAGE=${this.platform.kaniko.image}`,
      `DOCKER_CONFIG=${KANIKO_DOCKER_CONFIG_DIR}`,
    ];
  }

  /** Registry push credentials, as `/kaniko/.docker/config.json` in job pods. */
  public get jobSecretVolumes(): SecretVolumeConfig[] {
    return [{
      name: this.pushSecretName,
      mount_path: KANIKO_DOCKER_CONFIG_DIR,
      read_only: true,
      items: { '.dockerconfigjson': 'config.json' },
    }];
  }

  /** Annotations of the manager ServiceAccount (IRSA role for the cache). */
  public get managerServiceAccountAnnotations(): Record<string, string> | undefined {
    return irsaAnnotations(this.tenant);
  }

  /** Environment of the manager container: static S3 keys by Secret reference, never by value. */
  public get managerEnv(): k8s.EnvVar[] {
    const { auth } = this.tenant.cache.s3;
    if (auth.type !== 'staticKeys') return [];
    return [
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.accessKeyIdKey } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.secretAccessKeyKey } } },
    ];
  }

  private addCacheRegistry(isolation: TenantIsolation, config: string): void {
    const { platform, tenant } = this;
    // The registry serves the job pods, so it runs in their namespace.
    const namespace = isolation.jobNamespace;
    const { names } = isolation;
    const labels = cacheRegistryPodLabels(tenant.name);
    const selector = podSelectorLabels(tenant.name, 'cache-registry');
    const { auth } = tenant.cache.s3;
    const { resources, image } = platform.kaniko.cacheRegistry;

    // Its own ServiceAccount: the manager's holds the API rights to create job pods, the registry
    // needs none. With IRSA it carries the same tenant role, whose trust policy must then also name
    // system:serviceaccount:<tenant>:kaniko-cache-registry (README, "Kaniko layer cache").
    new k8s.KubeServiceAccount(this, 'RegistryServiceAccount', {
      metadata: { name: names.cacheRegistry, namespace, annotations: irsaAnnotations(tenant) },
      automountServiceAccountToken: false,
    });
    new k8s.KubeConfigMap(this, 'RegistryConfig', {
      metadata: { name: names.cacheRegistryConfigMap, namespace },
      data: { 'config.yml': config },
    });

    const env: k8s.EnvVar[] = auth.type === 'staticKeys'
      ? [
        // distribution reads REGISTRY_<SECTION>_<KEY> over config.yml; keys stay in the Secret.
        { name: 'REGISTRY_STORAGE_S3_ACCESSKEY', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.accessKeyIdKey } } },
        { name: 'REGISTRY_STORAGE_S3_SECRETKEY', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.secretAccessKeyKey } } },
      ]
      : [];
    const port = k8s.IntOrString.fromString('registry');
    new k8s.KubeDeployment(this, 'RegistryDeployment', {
      metadata: { name: names.cacheRegistry, namespace, labels },
      spec: {
        // One replica: a cache may be briefly unavailable (Kaniko then builds without it), and
        // without a shared http.secret parallel replicas would break chunked uploads.
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels,
            annotations: { 'checksum/config': createHash('sha256').update(config).digest('hex') },
          },
          spec: {
            serviceAccountName: names.cacheRegistry,
            // Counted by the tenant's quota in the shared namespace (variant 2).
            priorityClassName: isolation.priorityClassName,
            // Never talks to the API server. IRSA / Pod Identity inject their own projected token.
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            nodeSelector: isolation.scheduling.nodeSelector,
            tolerations: isolation.scheduling.tolerations,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: CACHE_REGISTRY_UID,
              runAsGroup: CACHE_REGISTRY_UID,
              fsGroup: CACHE_REGISTRY_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: 'registry',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['registry', 'serve', `${CACHE_REGISTRY_CONFIG_DIR}/config.yml`],
              env: env.length > 0 ? env : undefined,
              ports: [{ name: 'registry', containerPort: CACHE_REGISTRY_PORT, protocol: 'TCP' }],
              resources: resourceRequirements(resources),
              securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
              // /v2/ answers 503 while the S3 health check fails (health.storagedriver): not ready,
              // so jobs see no endpoint; liveness only checks the process, so an S3 outage does
              // not restart it.
              readinessProbe: { httpGet: { path: '/v2/', port }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
              livenessProbe: { tcpSocket: { port }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
              volumeMounts: [
                { name: 'config', mountPath: CACHE_REGISTRY_CONFIG_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: names.cacheRegistryConfigMap } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, 'RegistryService', {
      metadata: { name: names.cacheRegistry, namespace, labels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'registry', port: CACHE_REGISTRY_PORT, targetPort: port, protocol: 'TCP' }],
      },
    });
    this.addRegistryNetworkPolicies(namespace, selector);
  }

  /** Only this tenant's job pods reach the registry port; the registry reaches only S3. */
  private addRegistryNetworkPolicies(namespace: string, selector: Record<string, string>): void {
    const { platform, tenant } = this;
    const jobs = { matchLabels: podSelectorLabels(tenant.name, 'job') };
    const registryPort = [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(CACHE_REGISTRY_PORT) }];
    // A peer with a podSelector and no namespaceSelector means "pods of this namespace": only this
    // tenant's job pods, never another tenant's, reach the registry.
    new k8s.KubeNetworkPolicy(this, 'RegistryIngress', {
      metadata: { name: networkPolicyName(this.names, 'kaniko-cache-registry-ingress'), namespace },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: jobs }], ports: registryPort }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'RegistryEgress', {
      metadata: { name: networkPolicyName(this.names, 'kaniko-cache-registry-egress'), namespace },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Egress'],
        // S3 (and STS for IRSA, behind the same addresses); DNS comes from allow-dns.
        egress: [egressTo(platform.s3.egressCidrs, platform.s3.egressPorts, 'TCP', blockedRanges(platform))],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'JobsToRegistry', {
      metadata: { name: networkPolicyName(this.names, 'runner-jobs-to-cache-registry'), namespace },
      spec: {
        podSelector: jobs,
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: selector } }], ports: registryPort }],
      },
    });
  }
}

function irsaAnnotations(tenant: TenantConfig): Record<string, string> | undefined {
  const { auth } = tenant.cache.s3;
  return auth.type === 'iamRole' ? { 'eks.amazonaws.com/role-arn': auth.roleArn } : undefined;
}

/**
 * The cache registry's config.yml (distribution v3): S3 storage under `s3://<bucket>/layers/`,
 * the same endpoint, path style and encryption as the runner cache, no credentials (IAM role or
 * environment from a Secret). Redirects to presigned S3 URLs are off, so job pods talk to the
 * registry only and the registry alone holds S3 access to `layers/`.
 * https://distribution.github.io/distribution/about/configuration/
 */
export function renderCacheRegistryConfig(platform: Platform, tenant: TenantConfig): string {
  const { s3 } = tenant.cache;
  const storageS3: Record<string, unknown> = {
    region: platform.s3.region,
    bucket: s3.bucket,
    rootdirectory: `/${LAYERS_PREFIX}`,
    ...(platform.s3.endpoint ? { regionendpoint: platform.s3.endpoint.replace(/\/$/, ''), forcepathstyle: platform.s3.pathStyle } : {}),
    encrypt: true,
    ...(s3.encryption.type === 'KMS' ? { keyid: s3.encryption.kmsKeyId } : {}),
  };
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'json' },
    storage: {
      s3: storageS3,
      redirect: { disable: true },
      cache: { blobdescriptor: 'inmemory' },
      // Abandoned uploads are purged; expired cache layers are Kaniko's --cache-ttl and the
      // bucket's lifecycle rule for layers/ (README, "Kaniko layer cache").
      maintenance: { uploadpurging: { enabled: true, age: '168h', interval: '24h', dryrun: false } },
    },
    http: { addr: `:${CACHE_REGISTRY_PORT}`, headers: { 'X-Content-Type-Options': ['nosniff'] } },
    health: { storagedriver: { enabled: true, interval: '30s', threshold: 3 } },
  };
  return '# Generated by tenant-runners from config/. Do not edit.\n' + stringify(config, { lineWidth: 0 });
}
