import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { TenantConfig } from './config/load';
import { Platform } from './config/schema';
import { names } from './names';
import { CacheConfig, SecretVolumeConfig } from './runner-config/model';

/** Where job pods find the registry push credentials (Kaniko reads `$DOCKER_CONFIG/config.json`). */
export const KANIKO_DOCKER_CONFIG_DIR = '/kaniko/.docker';

export interface KanikoCacheProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
}

/**
 * A tenant's build caches: the runner's S3 distributed cache (bucket, region/endpoint, per-runner
 * `cache/<runner>` prefix, authentication, server-side encryption) and Kaniko's layer cache (a
 * registry repository, handed to jobs as `KANIKO_CACHE_REPO`, with push credentials mounted from
 * an existing Secret). Defines no Kubernetes objects of its own in this mode; the runner reads
 * its settings when it renders config.toml and the manager pod.
 */
export class KanikoCache extends Construct {
  /** Registry repository for `--cache-repo`. */
  public readonly cacheRepo: string;
  /** Existing `kubernetes.io/dockerconfigjson` Secret with push rights to the tenant's registry project. */
  public readonly pushSecretName: string = names.kanikoPushSecret;
  private readonly platform: Platform;
  private readonly tenant: TenantConfig;

  constructor(scope: Construct, id: string, props: KanikoCacheProps) {
    super(scope, id);
    this.platform = props.platform;
    this.tenant = props.tenant;
    this.cacheRepo = props.tenant.kanikoCacheRepo;
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
    return [`KANIKO_CACHE_REPO=${this.cacheRepo}`, `KANIKO_IMAGE=${this.platform.kaniko.image}`, `DOCKER_CONFIG=${KANIKO_DOCKER_CONFIG_DIR}`];
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
    const { auth } = this.tenant.cache.s3;
    return auth.type === 'iamRole' ? { 'eks.amazonaws.com/role-arn': auth.roleArn } : undefined;
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
}
