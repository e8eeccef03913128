/**
 * Typed model of the part of GitLab Runner's `config.toml` this project writes. Keys are spelled
 * exactly as gitlab-runner 19.x reads them: snake_case, except inside `[runners.cache]`, whose
 * keys are PascalCase because the runner's cache structs carry no toml tags
 * (https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnerscache-section).
 * The rendered file is validated against reference/gitlab-runner-config.schema.json in tests.
 */
import type { AffinityConfig, HostAliasConfig, VolumesConfig } from './pod-model';

export interface RunnerGlobalConfig {
  concurrent: number;
  check_interval: number;
  log_level: string;
  log_format: string;
  /** Prometheus metrics endpoint of the manager. */
  listen_address: string;
  shutdown_timeout: number;
  runners: RunnerConfig[];
}

export interface RunnerConfig {
  name: string;
  url: string;
  /** `${RUNNER_TOKEN_…}`, expanded from the environment by gitlab-runner >= 18.10. */
  token: string;
  /** CA bundle that verifies GitLab's certificate; the runner also hands it to jobs (CI_SERVER_TLS_CA_FILE). */
  'tls-ca-file'?: string;
  executor: 'kubernetes';
  limit?: number;
  environment?: string[];
  feature_flags?: Record<string, boolean>;
  kubernetes: KubernetesConfig;
  cache: CacheConfig;
}

export interface SecurityContextConfig {
  privileged?: boolean;
  allow_privilege_escalation?: boolean;
  run_as_non_root?: boolean;
  run_as_user?: number;
  run_as_group?: number;
  capabilities?: { add?: string[]; drop?: string[] };
  seccomp_profile?: { type: 'RuntimeDefault' };
}

export interface KubernetesConfig {
  namespace: string;
  namespace_overwrite_allowed: '';
  image: string;
  helper_image: string;
  privileged: false;
  allow_privilege_escalation: false;
  service_account: string;
  service_account_overwrite_allowed: '';
  automount_service_account_token: false;
  bearer_token_overwrite_allowed: false;
  cpu_request: string;
  cpu_limit: string;
  memory_request: string;
  memory_limit: string;
  ephemeral_storage_request?: string;
  ephemeral_storage_limit?: string;
  helper_cpu_request: string;
  helper_cpu_limit: string;
  helper_memory_request: string;
  helper_memory_limit: string;
  helper_ephemeral_storage_request?: string;
  helper_ephemeral_storage_limit?: string;
  service_cpu_request: string;
  service_cpu_limit: string;
  service_memory_request: string;
  service_memory_limit: string;
  service_ephemeral_storage_request?: string;
  service_ephemeral_storage_limit?: string;
  pull_policy: string[];
  allowed_pull_policies: string[];
  allowed_images?: string[];
  allowed_services?: string[];
  poll_timeout: number;
  node_selector: Record<string, string>;
  node_selector_overwrite_allowed: '';
  /** `"key=value" = "Effect"`, or `"key" = "Effect"` for a taint without value. */
  node_tolerations: Record<string, string>;
  node_tolerations_overwrite_allowed: '';
  pod_labels: Record<string, string>;
  pod_labels_overwrite_allowed: '';
  /** Scopes the tenant's quota in the shared namespace (variant 2). */
  priority_class_name?: string;
  pod_annotations_overwrite_allowed: '';
  pod_security_context: { seccomp_profile: { type: 'RuntimeDefault' } };
  build_container_security_context: SecurityContextConfig;
  helper_container_security_context: SecurityContextConfig;
  service_container_security_context: SecurityContextConfig;
  pod_annotations?: Record<string, string>;
  host_aliases?: HostAliasConfig[];
  affinity?: AffinityConfig;
  volumes?: VolumesConfig;
  /** docker-registry Secrets (in `namespace`) job pods pull their images with. */
  image_pull_secrets?: string[];
}

export type { SecretVolumeConfig } from './pod-model';

export type { ConfigMapVolumeConfig } from './pod-model';

export interface CacheConfig {
  Type: 's3';
  Path: string;
  Shared: boolean;
  s3: {
    BucketName: string;
    BucketLocation: string;
    ServerAddress?: string;
    PathStyle?: boolean;
    AuthenticationType: 'iam';
    ServerSideEncryption: 'S3' | 'KMS';
    ServerSideEncryptionKeyID?: string;
  };
}
