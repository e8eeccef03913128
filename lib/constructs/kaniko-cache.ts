import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { blockYaml } from '../render/block-yaml';
import { ContainerResources, KanikoCacheMode, S3Auth, Tenant } from '../config/schema';
import { cacheRegistryPodLabels, podSelectorLabels } from '../model/labels';
import { CACHE_PREFIX, CACHE_REGISTRY_PORT, cacheRegistryHost, LAYERS_PREFIX, ObjectNames, networkPolicyName } from '../model/names';
import { hardenedPodSecurityContext, resourceRequirements, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './hardened-pod';
import { CacheConfig, SecretVolumeConfig } from '../runner-config/model';
import { EgressDestination, egressTo } from './network-policies';
import { EnterpriseNetwork } from './enterprise-network';
import { TenantIsolation } from './tenant-isolation';

/** Where job pods find the registry push credentials (Kaniko reads `$DOCKER_CONFIG/config.json`). */
export const KANIKO_DOCKER_CONFIG_DIR = '/kaniko/.docker';

// The distribution image's `nobody`; the registry needs no privileges and writes only to S3.
const CACHE_REGISTRY_UID = 65534;
const CACHE_REGISTRY_CONFIG_DIR = '/etc/distribution';

/** Server-side encryption of the tenant bucket. */
export type BucketEncryption = Tenant['cache']['s3']['encryption'];

/** Where the cache lives in S3: the tenant bucket and how to reach it. */
export interface CacheStorage {
  /** Bucket of the runner cache (`cache/<runner>/`) and, in s3 mode, the layer cache (`layers/`). */
  readonly bucket: string;
  /** Region of the bucket. */
  readonly region: string;
  /** S3-compatible endpoint; undefined means AWS S3. */
  readonly endpoint?: string;
  /** Path-style addressing (MinIO, Ceph). */
  readonly pathStyle: boolean;
  /** Server-side encryption. */
  readonly encryption: BucketEncryption;
}

export interface KanikoCacheProps {
  /**
   * Tenant name.
   *
   * Labels and selects the cache registry's pods.
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
   */
  readonly tenantName: string;
  /**
   * Namespace, names and scheduling of the tenant; the cache registry (mode s3) runs inside them.
   */
  readonly isolation: TenantIsolation;
  /**
   * Where Kaniko layers are cached: `registry` (an external repository) or `s3` (a cache registry
   * in the job namespace, storing in `s3://<bucket>/layers/`).
   *
   * @default 'registry'
   * @see https://github.com/chainguard-dev/kaniko#caching
   */
  readonly mode?: KanikoCacheMode;
  /**
   * Registry repository Kaniko uses as `--cache-repo`.
   *
   * @see https://github.com/chainguard-dev/kaniko#--cache-repo
   */
  readonly cacheRepo: string;
  /**
   * Existing `kubernetes.io/dockerconfigjson` Secret with push rights, mounted into job pods.
   *
   * @default - `isolation.names.kanikoPushSecret`
   * @see https://github.com/chainguard-dev/kaniko#pushing-to-different-registries
   */
  readonly pushSecretName?: string;
  /**
   * Kaniko executor image, handed to jobs as `KANIKO_IMAGE`.
   *
   * @see https://github.com/chainguard-dev/kaniko
   */
  readonly kanikoImage: string;
  /**
   * Bucket of the runner's distributed cache (and of the layer cache in s3 mode).
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscaches3-section
   */
  readonly bucket: string;
  /**
   * Region of the bucket (`BucketLocation`).
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscaches3-section
   */
  readonly region: string;
  /**
   * S3-compatible endpoint (`ServerAddress`, `regionendpoint`).
   *
   * @default - AWS S3
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscaches3-section
   */
  readonly endpoint?: string;
  /**
   * Path-style bucket addressing; only used with an `endpoint`.
   *
   * @default false
   * @see https://distribution.github.io/distribution/storage-drivers/s3/
   */
  readonly pathStyle?: boolean;
  /**
   * Server-side encryption of cache objects.
   *
   * @default { type: 'S3' }
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/serv-side-encryption.html
   */
  readonly encryption?: BucketEncryption;
  /**
   * How the manager (and the cache registry) authenticate to S3: IRSA role, EKS Pod Identity or
   * static keys from an existing Secret.
   *
   * @see https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html
   */
  readonly auth: S3Auth;
  /**
   * S3 (and STS) CIDRs and ports the cache registry may reach.
   *
   * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
   */
  readonly s3Egress: EgressDestination;
  /**
   * Address ranges the cache registry's S3 ipBlocks may not include: the cluster's pod, Service
   * and node networks, link-local and the API server endpoints.
   *
   * Every S3 ipBlock that contains one of them gets it as `except`.
   * @default []
   * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
   */
  readonly excludedRanges?: readonly string[];
  /**
   * Image and size of the cache registry.
   *
   * @default - required in s3 mode, unused otherwise
   * @see https://distribution.github.io/distribution/
   */
  readonly cacheRegistry?: { readonly image: string; readonly resources: ContainerResources };
  /**
   * Custom CA bundle and HTTP(S) proxy of the cache registry's S3 client.
   *
   * @default - none: system roots, direct egress to S3
   * @see https://distribution.github.io/distribution/storage-drivers/s3/
   */
  readonly network?: EnterpriseNetwork;
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
  /** Where the cache lives in S3. */
  public readonly storage: CacheStorage;
  private readonly tenantName: string;
  private readonly names: ObjectNames;
  private readonly kanikoImage: string;
  private readonly auth: S3Auth;

  constructor(scope: Construct, id: string, props: KanikoCacheProps) {
    super(scope, id);
    const { isolation } = props;
    const mode = props.mode ?? 'registry';
    const pushSecretName = props.pushSecretName ?? isolation.names.kanikoPushSecret;
    const storage: CacheStorage = {
      bucket: props.bucket,
      region: props.region,
      endpoint: props.endpoint,
      pathStyle: props.pathStyle ?? false,
      encryption: props.encryption ?? { type: 'S3' },
    };

    this.tenantName = props.tenantName;
    this.cacheRepo = props.cacheRepo;
    this.mode = mode;
    this.names = isolation.names;
    this.pushSecretName = pushSecretName;
    this.kanikoImage = props.kanikoImage;
    this.auth = props.auth;
    this.storage = storage;
    // The cache registry speaks plain HTTP inside the cluster (traffic stays on the tenant's
    // nodes, behind NetworkPolicies); Kaniko must be told so for that one host only.
    const host = cacheRegistryHost(isolation.jobNamespace, isolation.names);
    this.cacheArgs = mode === 's3' ? `--insecure-registry=${host} --skip-tls-verify-registry=${host}` : '';
    if (mode === 's3') {
      if (!props.cacheRegistry) throw new Error('KanikoCache: mode s3 needs cacheRegistry (image and resources)');
      this.registryConfig = renderCacheRegistryConfig(storage);
      this.addCacheRegistry(isolation, this.registryConfig, props.cacheRegistry, props.s3Egress, props.excludedRanges ?? [], props.network ?? EnterpriseNetwork.NONE);
    }
  }

  /**
   * `[runners.cache]` of one runner. `Shared = true` with a per-runner `Path` lets every manager of
   * the same runner (variant 3) share keys while runners stay apart.
   * https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscaches3-section
   */
  public runnerCache(runner: string): CacheConfig {
    const { storage } = this;
    return {
      Type: 's3',
      Path: `${CACHE_PREFIX}/${runner}`,
      Shared: true,
      s3: {
        BucketName: storage.bucket,
        BucketLocation: storage.region,
        ServerAddress: storage.endpoint?.replace(/^https?:\/\//, '').replace(/\/$/, ''),
        PathStyle: storage.endpoint ? storage.pathStyle : undefined,
        // "iam" means the AWS default credential chain: IRSA's web identity, EKS Pod Identity, or
        // AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment (static keys from a Secret).
        // Keys never appear in config.toml.
        AuthenticationType: 'iam',
        ServerSideEncryption: storage.encryption.type,
        ServerSideEncryptionKeyID: storage.encryption.kmsKeyId,
      },
    };
  }

  /** Variables every job sees, so the CI template needs no per-tenant values. */
  public get jobEnvironment(): string[] {
    return [
      `KANIKO_CACHE_REPO=${this.cacheRepo}`,
      `KANIKO_CACHE_ARGS=${this.cacheArgs}`,
      `KANIKO_IMAGE=${this.kanikoImage}`,
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
    return irsaAnnotations(this.auth);
  }

  /** Environment of the manager container: static S3 keys by Secret reference, never by value. */
  public get managerEnv(): k8s.EnvVar[] {
    const { auth } = this;
    if (auth.type !== 'staticKeys') return [];
    return [
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.accessKeyIdKey } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.secretAccessKeyKey } } },
    ];
  }

  private addCacheRegistry(
    isolation: TenantIsolation,
    config: string,
    registry: { readonly image: string; readonly resources: ContainerResources },
    s3Egress: EgressDestination,
    excludedRanges: readonly string[],
    network: EnterpriseNetwork,
  ): void {
    // The registry serves the job pods, so it runs in their namespace.
    const namespace = isolation.jobNamespace;
    const { names } = isolation;
    const labels = cacheRegistryPodLabels(this.tenantName);
    const selector = podSelectorLabels(this.tenantName, 'cache-registry');
    const { auth } = this;
    const { resources, image } = registry;

    // Its own ServiceAccount: the manager's holds the API rights to create job pods, the registry
    // needs none. With IRSA it carries the same tenant role, whose trust policy must then also name
    // system:serviceaccount:<tenant>:kaniko-cache-registry (README, "Kaniko layer cache").
    new k8s.KubeServiceAccount(this, 'RegistryServiceAccount', {
      metadata: { name: names.cacheRegistry, namespace, annotations: irsaAnnotations(auth) },
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
    env.push(...network.podEnv('cacheRegistry'));
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
            securityContext: hardenedPodSecurityContext(CACHE_REGISTRY_UID),
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
                ...network.podVolumeMounts,
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: names.cacheRegistryConfigMap } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
              ...network.podVolumes,
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
    this.addRegistryNetworkPolicies(namespace, selector, s3Egress, excludedRanges, network);
  }

  /** Only this tenant's job pods reach the registry port; the registry reaches only S3. */
  private addRegistryNetworkPolicies(namespace: string, selector: Record<string, string>, s3Egress: EgressDestination, excludedRanges: readonly string[], network: EnterpriseNetwork): void {
    const jobs = { matchLabels: podSelectorLabels(this.tenantName, 'job') };
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
        // S3 (and STS for IRSA, behind the same addresses), directly or through the proxy unless
        // its host is in NO_PROXY; DNS comes from allow-dns.
        egress: [
          ...(network.direct.s3 ? [egressTo(s3Egress.cidrs, s3Egress.ports, 'TCP', excludedRanges)] : []),
          ...(network.proxyEgressRule ? [network.proxyEgressRule] : []),
        ],
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

function irsaAnnotations(auth: S3Auth): Record<string, string> | undefined {
  return auth.type === 'iamRole' ? { 'eks.amazonaws.com/role-arn': auth.roleArn } : undefined;
}

/**
 * The cache registry's config.yml (distribution v3): S3 storage under `s3://<bucket>/layers/`,
 * the same endpoint, path style and encryption as the runner cache, no credentials (IAM role or
 * environment from a Secret). Redirects to presigned S3 URLs are off, so job pods talk to the
 * registry only and the registry alone holds S3 access to `layers/`.
 * https://distribution.github.io/distribution/about/configuration/
 */
export function renderCacheRegistryConfig(storage: CacheStorage): string {
  const storageS3: Record<string, unknown> = {
    region: storage.region,
    bucket: storage.bucket,
    rootdirectory: `/${LAYERS_PREFIX}`,
    ...(storage.endpoint ? { regionendpoint: storage.endpoint.replace(/\/$/, ''), forcepathstyle: storage.pathStyle } : {}),
    encrypt: true,
    ...(storage.encryption.type === 'KMS' ? { keyid: storage.encryption.kmsKeyId } : {}),
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
  return '# Generated by tenant-runners from config/. Do not edit.\n' + blockYaml(config);
}
