/**
 * The one source of truth for the configuration in `config/`.
 *
 * TypeScript types are inferred from these schemas, the loader validates with them, and
 * `npm run schema` writes the editor JSON Schema in `config/schema/` from them. Keys are camelCase;
 * every object is strict (unknown keys are errors); every key is required or has a default stated
 * here. Defaults are the values an experienced platform engineer would pick for GitLab Runner 19.x
 * on Kubernetes 1.28; docs/configuration.md, generated from these descriptions by `npm run docs`, lists them.
 */
import { z } from 'zod';
import { RegistrationSchema } from './schema-registration';
import { allowedCsiDrivers, jobVolumesSchema, podSettingsSchema, PodSettingsPrimitives } from './schema-pod-settings';
import { networkSchemas } from './schema-network';
import { configOverrides, featureFlags, nodeArchitecture, runnerVersion } from './schema-overrides-versions';
import { DEFAULT_HELPER_REPOSITORY, DEFAULT_RUNNER_REPOSITORY, DEFAULT_RUNNER_VERSION } from '../model/runner-version';

// ---------------------------------------------------------------------------------------------
// Primitive rules. Messages say the rule, so an error line is enough to fix the input.
// ---------------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label: what Kubernetes requires of namespace names and many object names. */
export const dnsLabel = (maxLength = 63) =>
  z
    .string()
    .max(maxLength, { message: `must be at most ${maxLength} characters` })
    .regex(DNS_LABEL, {
      message: "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    });

// https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
const QUANTITY = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** A Kubernetes resource quantity such as `500m`, `2` or `4Gi`. YAML numbers are accepted. */
export const quantity = z
  .union([z.string(), z.number()])
  .transform((value) => String(value))
  .pipe(z.string().regex(QUANTITY, { message: 'must be a Kubernetes quantity such as 500m, 2 or 4Gi' }));

const CIDR_V4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\/(3[0-2]|[12]?[0-9])$/;

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;

/** An IPv4 CIDR block, as NetworkPolicy `ipBlock.cidr` takes it. */
export const cidr = z.string().superRefine((value, ctx) => {
  if (CIDR_V4.test(value)) return;
  const hint = IPV4.test(value)
    ? `; did you mean '${value}/32'?`
    : value.includes(':')
      ? ': IPv6 blocks are not accepted, so job pods get no IPv6 egress at all (which keeps fd00:ec2::254 and fe80::/10 out of reach)'
      : ' (such as 203.0.113.10/32)';
  ctx.addIssue({ code: 'custom', message: `must be an IPv4 CIDR, got '${value}'${hint}` });
});

export const port = z.number().int().min(1).max(65535);

// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const labelKey = z.string().refine(
  (key) => {
    const slash = key.lastIndexOf('/');
    const name = slash === -1 ? key : key.slice(slash + 1);
    const prefix = slash === -1 ? undefined : key.slice(0, slash);
    return LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
  },
  { message: 'must be a Kubernetes label key: an optional DNS subdomain prefix and /, then at most 63 of [A-Za-z0-9-_.]' },
);
export const labelValue = z
  .string()
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, {
    message: 'must be a Kubernetes label value: at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric',
  });
export const labels = z.record(labelKey, labelValue);

// Image references, exactly the grammar of github.com/distribution/reference (regexp.go):
//   reference := name [ ":" tag ] [ "@" digest ];  name := [domain '/'] remote-name
// Values that reach text (the CI template, dist/README.md, config.toml) are validated as what they
// are, so no newline, quote, `$(…)` or `|` can ever get through.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
/** `domain/path` only (a repository, no tag or digest), with the domain required. */
export const REPOSITORY_WITH_DOMAIN = new RegExp(`^(${DOMAIN})/(${REMOTE_NAME})$`);
/** A full reference: optional domain, path, optional tag, optional digest. */
export const IMAGE_REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${REMOTE_NAME}(?::${TAG})?(?:@${DIGEST})?$`);
/** distribution/reference: the name part is at most 255 characters. */
export const IMAGE_NAME_MAX = 255;
const imageNameLength = (ref: string) => ref.replace(/@.*$/, '').replace(/:[\w][\w.-]{0,127}$/, '').length <= IMAGE_NAME_MAX;

/** An image reference a job or runner uses (tag optional, as in `.gitlab-ci.yml`). */
export const imageReference = z
  .string()
  .regex(IMAGE_REFERENCE, { message: 'must be an image reference (distribution reference grammar: [domain/]path[:tag][@digest], such as alpine:3.22)' })
  .refine(imageNameLength, { message: `must have an image name of at most ${IMAGE_NAME_MAX} characters` });

/** A registry repository such as registry.example.com/group/cache: domain and path, no tag or digest. */
export const imageRepository = z
  .string()
  .regex(REPOSITORY_WITH_DOMAIN, { message: 'must be a registry repository domain/path such as registry.example.com/group/cache (distribution reference grammar, no tag or digest)' })
  .max(IMAGE_NAME_MAX, { message: `must be at most ${IMAGE_NAME_MAX} characters` });

// An image reference with a registry/repository and a tag or digest: unpinned images are errors,
// because `dist/` must say exactly what runs.
export const pinnedImage = z
  .string()
  .regex(IMAGE_REFERENCE, { message: 'must be an image reference such as registry.example.com/group/image:1.2.3' })
  .refine((ref) => /@sha256:/.test(ref) || /:[\w][\w.-]*$/.test(ref.split('/').pop() ?? ''), {
    message: 'must be pinned to a tag or digest',
  })
  .refine((ref) => !/:latest$/.test(ref), { message: 'must not use the mutable tag latest' });

/**
 * An allowed_images / allowed_services pattern: an image reference in which `*` and `**` may stand
 * for any part (gitlab-runner matches them with doublestar globs).
 */
const imagePattern = z
  .string()
  .min(1)
  .max(IMAGE_NAME_MAX + 200)
  .regex(/^[A-Za-z0-9*][A-Za-z0-9._:/@*\[\]-]*$/, {
    message: 'must be an image reference or pattern: letters, digits and . _ - : / @ [ ], with * as a wildcard',
  });

const envName = z
  .string()
  .max(255, { message: 'must be at most 255 characters' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)' });

/** Limits that bound config.toml (a ConfigMap: at most 1 MiB) and keep every check linear. */
export const LIMITS = {
  runners: 50,
  environmentEntries: 200,
  environmentValueLength: 4096,
  imagePatterns: 200,
  egressExtra: 100,
  nodeLabels: 20,
  taints: 20,
  imagePullSecrets: 50,
} as const;

/** One line of free text (a description): printable, no control characters, no Markdown/shell metacharacters. */
const description = z
  .string()
  .max(200, { message: 'must be at most 200 characters' })
  .regex(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029`|$\\<>]*$/, {
    message: 'must be one line of text without control characters, `, |, $, \\, < or >',
  });

/** A Kubernetes Secret data key: https://kubernetes.io/docs/concepts/configuration/secret/#restriction-names-data */
export const secretKey = z
  .string()
  .max(253, { message: 'must be at most 253 characters' })
  .regex(/^[-._a-zA-Z0-9]+$/, { message: 'must be a Secret key: letters, digits, -, _ and . (no spaces or newlines)' });

/** The primitives the pod settings (schema-pod-settings.ts) build on. */
const podPrimitives: PodSettingsPrimitives = { labelKey, labelValue, quantity, secretKey, envName };
/** Custom CA bundle and HTTP(S) proxy (schema-network.ts), built from the primitives above. */
const network = networkSchemas({ cidr, port, labels, dnsLabel });

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

interface ResourceDefaults {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

const resourceList = (defaults: { cpu: string; memory: string }) =>
  z
    .strictObject({
      cpu: quantity.default(defaults.cpu).describe('CPU, a Kubernetes quantity such as 500m or 2'),
      memory: quantity.default(defaults.memory).describe('Memory, a Kubernetes quantity such as 512Mi or 4Gi'),
      ephemeralStorage: quantity.optional().describe('ephemeral-storage; unset means not constrained'),
    })
    .prefault({});

/** Requests and limits of one container; each leaf has its own default so overrides can be partial. */
export const containerResources = (defaults: ResourceDefaults) =>
  z
    .strictObject({
      requests: resourceList(defaults.requests).describe('Container requests (what the scheduler and the quota count)'),
      limits: resourceList(defaults.limits).describe('Container limits'),
    })
    .prefault({});

export const DEFAULT_BUILD_RESOURCES: ResourceDefaults = {
  requests: { cpu: '500m', memory: '1Gi' },
  limits: { cpu: '2', memory: '4Gi' },
};
export const DEFAULT_HELPER_RESOURCES: ResourceDefaults = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};
export const DEFAULT_SERVICE_RESOURCES: ResourceDefaults = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};
export const DEFAULT_CACHE_REGISTRY_RESOURCES: ResourceDefaults = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};
export const DEFAULT_MANAGER_RESOURCES: ResourceDefaults = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '512Mi' },
};

// ---------------------------------------------------------------------------------------------
// Tenant
// ---------------------------------------------------------------------------------------------

/** ResourceQuota resource names a tenant may set: https://kubernetes.io/docs/concepts/policy/resource-quotas/ */
export const QUOTA_KEYS = [
  'pods', 'cpu', 'memory', 'ephemeral-storage',
  'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'requests.storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
  'services', 'services.loadbalancers', 'services.nodeports',
  'configmaps', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers', 'resourcequotas',
] as const;
const quotaKey = z.string().refine(
  (key) => (QUOTA_KEYS as readonly string[]).includes(key) || /^count\/[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(key),
  { message: `must be a ResourceQuota resource name (${QUOTA_KEYS.join(', ')}, or count/<resource>[.<group>])` },
);

const PULL_POLICY = z.enum(['always', 'if-not-present', 'never']);

export const RunnerSchema = z
  .strictObject({
    name: dnsLabel(40).describe('Runner name: the [[runners]] name, the cache path cache/<name> and the default token key'),
    tokenSecretKey: secretKey
      .optional()
      .describe('Key of the runner authentication token in the tenant token Secret (default: the runner name)'),
    image: imageReference.default('alpine:3.22').describe('Default job image when .gitlab-ci.yml names none'),
    limit: z.number().int().min(0).max(1000).default(0).describe('Jobs this runner handles at once; 0 means only the tenant concurrent bounds it'),
    pollTimeoutSeconds: z.number().int().min(30).max(3600).default(180).describe('poll_timeout: how long to wait for a job pod to start'),
    pullPolicy: z.array(PULL_POLICY).min(1).default(['if-not-present']).describe('pull_policy; jobs may only choose among these (allowed_pull_policies)'),
    allowedImages: z.array(imagePattern).max(LIMITS.imagePatterns).default([]).describe('allowed_images; empty allows any image'),
    allowedServices: z.array(imagePattern).max(LIMITS.imagePatterns).default([]).describe('allowed_services; empty allows any service image'),
    environment: z
      .record(envName, z.string().max(LIMITS.environmentValueLength, { message: `must be at most ${LIMITS.environmentValueLength} characters` }))
      .refine((env) => Object.keys(env).length <= LIMITS.environmentEntries, { message: `must have at most ${LIMITS.environmentEntries} variables` })
      .default({}).describe('Extra environment for every job of this runner (no secrets: use CI/CD variables)'),
    resources: z
      .strictObject({
        build: containerResources(DEFAULT_BUILD_RESOURCES).describe('Build container: the job image running the script'),
        helper: containerResources(DEFAULT_HELPER_RESOURCES).describe('Helper container: clone, caches and artifacts'),
        service: containerResources(DEFAULT_SERVICE_RESOURCES).describe('Each service container (services: of the job)'),
      })
      .prefault({})
      .describe('Job pod container resources: build, helper and each service container'),
    registration: RegistrationSchema.optional().describe('Where npm run runners creates this runner in GitLab (group, project or instance) and with which tags; read by that command only, never synthesized (docs/runner-registration.md)'),
    volumes: jobVolumesSchema(podPrimitives).describe('Extra volumes of this runner\'s job pods (config.toml [runners.kubernetes.volumes]); hostPath and nfs are refused (docs/pod-settings.md)'),
    featureFlags: featureFlags.default({}).describe('[runners.feature_flags] of this runner (over runner.featureFlags of platform.yaml): FF_ name -> true/false, names of gitlab-runner 19.3 only; FF_DISABLE_AUTOMATIC_TOKEN_ROTATION stays true (docs/overrides.md)'),
    configOverrides: configOverrides.optional().describe('Extra config.toml keys merged into this runner\'s [[runners]] section, spelled as config.toml does (kubernetes: { poll_interval: 5 }); checked against gitlab-runner\'s schema; keys the isolation depends on and keys with a typed setting are refused (docs/overrides.md)'),
  });

const taint = z.strictObject({
  key: labelKey.describe('Taint key'),
  // Required: a toleration without value (operator Exists) tolerates every tenant's taint of this key.
  value: labelValue
    .refine((v) => v !== '', { message: 'must not be empty: a toleration without value tolerates every node with this taint key' })
    .describe('Taint value (required: pods tolerate exactly key=value)'),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).describe('Taint effect'),
});

const s3Auth = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('iamRole').describe('IRSA: the manager ServiceAccount is annotated with roleArn'),
    roleArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]+$/, { message: 'must be an IAM role ARN such as arn:aws:iam::111122223333:role/name' })
      .describe('IAM role the runner manager (and the cache registry) assume; its trust policy names their ServiceAccounts'),
  }),
  z.strictObject({ type: z.literal('podIdentity').describe('EKS Pod Identity: associate the role with the manager ServiceAccount (no annotation)') }),
  z.strictObject({
    type: z.literal('staticKeys').describe('Access keys from an existing Secret (MinIO, Ceph)'),
    secretName: dnsLabel(253).describe('Secret in the tenant namespace holding the access keys'),
    accessKeyIdKey: secretKey.default('AWS_ACCESS_KEY_ID').describe('Key of the access key ID in that Secret'),
    secretAccessKeyKey: secretKey.default('AWS_SECRET_ACCESS_KEY').describe('Key of the secret access key in that Secret'),
  }),
]);

// ---------------------------------------------------------------------------------------------
// Secrets: where the Secrets the runner reads come from. Values never appear in config/ or dist/.
// ---------------------------------------------------------------------------------------------

/** A Kubernetes Secret (or other object) name: a DNS-1123 subdomain. */
const objectName = z
  .string()
  .max(253, { message: 'must be at most 253 characters' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'",
  });

// Printed by `npm run secrets` and written to ExternalSecrets: visible characters only.
const remoteKey = z.string().max(512).regex(/^[A-Za-z0-9._\/:+=@-]+$/, { message: 'must be a remote key: letters, digits and . _ / : + = @ - (no spaces, quotes or newlines)' });
const remoteProperty = z.string().max(253).regex(/^[A-Za-z0-9._\/:+=@-]+$/, { message: 'must be a property name: letters, digits and . _ / : + = @ - (no spaces, quotes or newlines)' });

/** Where a `kubernetes.io/dockerconfigjson` Secret's content lives: one remote value holding the whole Docker config.json. */
const dockerConfigRemoteRef = z
  .strictObject({
    key: remoteKey.optional().describe('Remote key (default <remoteKeyPrefix>/ followed by the Secret name)'),
    property: remoteProperty.default('dockerconfigjson').describe('Property of the remote secret holding the Docker config.json'),
  })
  .prefault({});

export const SECRETS_DEFAULT_REFRESH_INTERVAL = '1h';

export const SecretsSchema = z
  .discriminatedUnion('source', [
    z.strictObject({
      source: z.literal('existing').describe('Reference Secrets the platform team creates in the tenant namespace (docs/secrets.md)'),
    }),
    z.strictObject({
      source: z.literal('externalSecret').describe('Synthesize ExternalSecrets (external-secrets.io/v1) that fill the Secrets the runner reads'),
      store: z
        .strictObject({
          name: objectName.describe('SecretStore (in the tenant namespace) or ClusterSecretStore to fetch from'),
          kind: z
            .enum(['SecretStore', 'ClusterSecretStore'])
            .default('SecretStore')
            .describe('SecretStore (per tenant, default); ClusterSecretStore only when its conditions restrict it to this namespace'),
        })
        .describe('The store External Secrets Operator fetches this tenant\'s values from'),
      refreshInterval: z
        .string()
        .regex(/^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$/, { message: 'must be a duration such as 1h, 15m or 1h30m (0 disables refresh)' })
        .default(SECRETS_DEFAULT_REFRESH_INTERVAL)
        .describe('How often External Secrets Operator re-reads the remote values'),
      remoteKeyPrefix: remoteKey.optional().describe('Prefix of every default remote key (default tenant-runners/<tenant>)'),
      runnerTokens: z
        .strictObject({
          key: remoteKey.optional().describe('Remote key holding one property per runner token key (default <remoteKeyPrefix>/<tokenSecretName>)'),
        })
        .prefault({})
        .describe('Remote location of the runner tokens'),
      kanikoPush: dockerConfigRemoteRef.describe('Remote Docker config.json for the Kaniko push Secret kaniko-push-credentials'),
      s3StaticKeys: z
        .strictObject({
          key: remoteKey.optional().describe('Remote key (default <remoteKeyPrefix>/<cache.s3.auth.secretName>)'),
          accessKeyIdProperty: remoteProperty.optional().describe('Property with the access key ID (default cache.s3.auth.accessKeyIdKey)'),
          secretAccessKeyProperty: remoteProperty.optional().describe('Property with the secret access key (default cache.s3.auth.secretAccessKeyKey)'),
        })
        .optional()
        .describe('Remote location of the static S3 keys (only with cache.s3.auth.type: staticKeys)'),
      imagePullSecrets: z
        .record(objectName, dockerConfigRemoteRef)
        .default({})
        .describe('Remote locations of the imagePullSecrets, by Secret name (default <remoteKeyPrefix>/<name>, property dockerconfigjson)'),
    }),
  ])
  .default({ source: 'existing' });

export const TenantSchema = z.strictObject({
  name: dnsLabel(40).describe('Tenant name: the namespace name and the prefix of derived names'),
  concurrent: z.number().int().min(1).max(500).describe('Jobs this tenant runs at once (config.toml concurrent)'),
  nodes: z.strictObject({
    labels: labels
      .refine((value) => Object.keys(value).length > 0, { message: 'must name at least one label' })
      .refine((value) => Object.keys(value).length <= LIMITS.nodeLabels, { message: `must have at most ${LIMITS.nodeLabels} labels` })
      .describe('Labels of the tenant nodes; job and manager pods get them as nodeSelector'),
    taints: z.array(taint).max(LIMITS.taints).default([]).describe('Taints of the tenant nodes; pods tolerate exactly these'),
    allowUntainted: z.boolean().default(false).describe('Accept nodes without taints (other workloads could share them)'),
    maxNodes: z.number().int().min(1).max(1000).default(1).describe('daemonSet variant: nodes in the pool; each runs a manager with its own concurrent, and the quota allows all of them'),
    architecture: nodeArchitecture.optional().describe('CPU architecture of the tenant\'s nodes: picks the helper image tag (x86_64-v… or arm64-v…) and, when set, adds the node selector kubernetes.io/arch; unset means amd64 without that selector'),
  }).describe('The nodes reserved for this tenant (labelled and tainted for it alone)'),
  separateBuildNamespace: z.boolean().optional().describe('Overrides architecture.separateBuildNamespace for this tenant'),
  runnerVersion: runnerVersion.optional().describe('gitlab-runner version of this tenant (a canary or ring ahead of or behind runner.version of platform.yaml); its images are derived like the platform\'s (docs/operations.md, Upgrading and rolling back runners)'),
  tokenSecretName: dnsLabel(253).optional().describe('Existing Secret with one runner token per key (default gitlab-runner-tokens; <tenant>-gitlab-runner-tokens in the sharedNamespace variant)'),
  runners: z.array(RunnerSchema).min(1).max(LIMITS.runners).describe('The tenant\'s runners: one [[runners]] section each, registered in GitLab with its own token'),
  secrets: SecretsSchema.describe('Where the runner token, registry push and static S3 key Secrets come from: existing (default) or externalSecret'),
  imagePullSecrets: z
    .array(objectName)
    .max(LIMITS.imagePullSecrets)
    .default([])
    .describe('kubernetes.io/dockerconfigjson Secrets job pods pull their images with (config.toml image_pull_secrets)'),
  cache: z.strictObject({
    s3: z.strictObject({
      bucket: z.string().max(63).describe('Bucket for the runner distributed cache (cache/<runner>/ prefixes)'),
      auth: s3Auth.describe('How the runner manager reaches S3: iamRole (IRSA), podIdentity or staticKeys from an existing Secret'),
      encryption: z
        .strictObject({
          type: z.enum(['S3', 'KMS']).default('S3').describe('S3 (SSE-S3) or KMS (SSE-KMS with an S3 Bucket Key)'),
          kmsKeyId: z
            .string()
            .max(2048)
            // Reaches config.toml and the IAM policy as data; the policy command refuses aliases with its own message.
            .regex(/^[A-Za-z0-9:/_+=.@-]+$/, { message: 'must be a KMS key id or ARN: letters, digits and : / _ + = . @ - (no spaces, quotes or newlines)' })
            .optional()
            .describe('KMS key ID or ARN (required with type KMS; aliases are rejected)'),
        })
        .prefault({})
        .describe('Default encryption of the bucket (bucket setup) and of the cache registry storage'),
      expireAfterDays: z.number().int().min(1).max(3650).default(14).describe('Lifecycle expiry of cache objects (bucket setup)'),
      layersExpireAfterDays: z
        .number()
        .int()
        .min(1)
        .max(3650)
        .default(30)
        .describe('Lifecycle expiry of Kaniko layer-cache registry storage under layers/ (bucket setup); kept longer than cache/ because base layers change rarely'),
    }).describe('The tenant\'s own S3 bucket (never shared between tenants)'),
    kaniko: z
      .strictObject({
        mode: z
          .enum(['registry', 's3'])
          .default('registry')
          .describe('Where Kaniko layers are cached: registry (an external registry repository) or s3 (a cache registry in the tenant namespace storing in s3://<bucket>/layers/)'),
        repo: imageRepository
          .optional()
          .describe('mode registry only: registry repository Kaniko uses as --cache-repo (default <registry.host>/<tenant>/cache)'),
      })
      .prefault({})
      .describe('Kaniko layer cache (docs/kaniko.md)'),
  }).describe('The tenant\'s caches: the runner\'s S3 cache and Kaniko\'s layer cache'),
  egress: z
    .strictObject({
      extra: z
        .array(
          z.strictObject({
            cidr: cidr.describe('Destination addresses, an IPv4 CIDR outside kubernetes.clusterCidrs (wider blocks get the cluster networks as except)'),
            ports: z.array(port).min(1).max(20).default([443]).describe('Destination ports'),
            protocol: z.enum(['TCP', 'UDP']).default('TCP').describe('Protocol of the ports'),
            description: description.optional().describe('A note for reviewers of config/ (one line; shown in the tenant summary)'),
          }),
        )
        .max(LIMITS.egressExtra)
        .default([])
        .describe('Extra destinations job pods may reach (artifact proxies, package mirrors)'),
    })
    .prefault({})
    .describe('Network egress of job pods beyond GitLab, the registry and S3'),
  pods: podSettingsSchema(podPrimitives).describe('Annotations, labels, hostAliases, priority, affinity and environment of the manager and job pods (docs/pod-settings.md); set platform-wide values in defaults.pods of platform.yaml'),
  quota: z
    .strictObject({
      servicesPerJob: z.number().int().min(0).max(10).default(1).describe('Service containers budgeted per job in the ResourceQuota'),
      hard: z
        .record(quotaKey, quantity)
        .default({})
        .describe('ResourceQuota entries that replace the computed ones (standard resource names, count/<resource>; services.loadbalancers and services.nodeports stay 0)'),
    })
    .prefault({})
    .describe('The tenant\'s ResourceQuota, computed from concurrent and the largest job'),
  caBundle: network.caBundle.optional().describe('Custom CA bundle of this tenant; replaces caBundle of platform.yaml (docs/enterprise-network.md)'),
  proxy: network.proxy.optional().describe('HTTP(S) proxy of this tenant; replaces proxy of platform.yaml (docs/enterprise-network.md)'),
});

// ---------------------------------------------------------------------------------------------
// Platform
// ---------------------------------------------------------------------------------------------

export const DEFAULT_RUNNER_IMAGE = `${DEFAULT_RUNNER_REPOSITORY}:alpine-v${DEFAULT_RUNNER_VERSION}`;
export const DEFAULT_HELPER_IMAGE = `${DEFAULT_HELPER_REPOSITORY}:x86_64-v${DEFAULT_RUNNER_VERSION}`;
export const DEFAULT_KANIKO_IMAGE = 'ghcr.io/osscontainertools/kaniko:v1.28.3-debug';
export const DEFAULT_CACHE_REGISTRY_IMAGE = 'docker.io/library/registry:3.0.0';

// URLs reach config.toml, dist/README.md and GitOps objects: a host that is a DNS name or an IP,
// an optional port, and a path of unreserved characters only (no quotes, $, `, |, spaces).
const URL_HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?`;
const URL_PATH = '(?:/[A-Za-z0-9._~%/-]*)?';
const httpsUrl = z
  .string()
  .max(2048)
  .regex(new RegExp(`^https://${URL_HOST}${URL_PATH}$`), { message: 'must be an https:// URL: host[:port][/path], path of letters, digits and . _ ~ % / -' });
const endpointUrl = z
  .string()
  .max(2048)
  .regex(new RegExp(`^https?://${URL_HOST}/?$`), { message: 'must be an http(s):// URL without a path' });
/** A Git URL as Argo CD / Flux take it: https://, ssh:// or scp-like git@host:path. */
const gitUrl = z
  .string()
  .max(2048)
  .regex(new RegExp(`^(?:(?:https|ssh)://(?:[A-Za-z0-9._-]+@)?${URL_HOST}${URL_PATH}|[A-Za-z0-9._-]+@${URL_HOST.replace('(?::[0-9]{1,5})?', '')}:[A-Za-z0-9._~%/-]+)$`), {
    message: 'must be a Git URL: https://host/path, ssh://[user@]host/path or user@host:path (no credentials, spaces or quotes)',
  });
/** A Git branch name (git check-ref-format, restricted to common characters). */
const gitRevision = z
  .string()
  .max(255)
  .regex(/^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)[A-Za-z0-9._\/-]+$/, { message: 'must be a Git branch name: letters, digits and . _ / - (no .., //, leading or trailing /)' });
/** A relative path inside the repository: segments of [A-Za-z0-9._-], no `..`. */
const relativePath = z
  .string()
  .max(1024)
  .regex(/^(?!\.\.?(\/|$))(?!.*\/\.\.?(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { message: 'must be a relative path without leading or trailing /, . or .. segments (letters, digits, . _ -)' });

/** A label key prefix (`example.com/`) or a whole key, as `nodes.allowedLabelPrefixes` lists them. */
const labelPrefix = z.string().max(254).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/?$/, { message: 'must be a label key prefix such as topology.kubernetes.io/' });

export const PlatformSchema = z.strictObject({
  gitlab: z.strictObject({
    url: httpsUrl.describe('GitLab instance URL the runners poll'),
    egressCidrs: z.array(cidr).min(1).describe('Addresses of GitLab as IPv4 CIDRs, for NetworkPolicy egress to the port of gitlab.url (default 443)'),
  }).describe('The GitLab instance the runners register with'),
  kubernetes: z.strictObject({
    apiServerCidrs: z.array(cidr).min(1).describe('Addresses (IPv4 CIDRs) of the API server endpoints the runner manager calls'),
    apiServerPorts: z.array(port).min(1).default([443, 6443]).describe('API server endpoint ports (NetworkPolicies see the endpoint port, not the Service port)'),
    clusterCidrs: z
      .array(cidr)
      .min(1, { message: 'must list the pod, Service and node networks of the cluster: without them no egress rule can be checked against the cluster, and wide ipBlocks could not except it' })
      .describe('Pod, Service and node networks of the cluster (required): no egress rule may point into them, and wider egress ipBlocks except them'),
    dns: z
      .strictObject({
        namespace: dnsLabel().default('kube-system').describe('Namespace of the cluster DNS pods'),
        podLabels: labels.default({ 'k8s-app': 'kube-dns' }).describe('Labels of the cluster DNS pods'),
      })
      .prefault({})
      .describe('The cluster DNS pods: the only DNS destination of runner pods'),
  }).describe('The cluster the runners run in'),
  runner: z
    .strictObject({
      version: runnerVersion.optional().describe(`gitlab-runner version of every tenant (tenants may override it with runnerVersion); at least 18.10.0. Default ${DEFAULT_RUNNER_VERSION}, or the version in the tag of runner.image`),
      imageRepository: imageRepository.default(DEFAULT_RUNNER_REPOSITORY).describe('Repository of the gitlab-runner image (a mirror, for instance); the tag is alpine-v<version>'),
      helperImageRepository: imageRepository.default(DEFAULT_HELPER_REPOSITORY).describe('Repository of the gitlab-runner-helper image; the tag is x86_64-v<version> or arm64-v<version> after nodes.architecture'),
      image: pinnedImage.optional().describe('A fixed gitlab-runner image instead of the derived one; its tag must name the version (alpine-v19.3.0, v19.3.0), the same as the helper\'s, at least 18.10.0. Tenants then cannot set runnerVersion'),
      helperImage: pinnedImage.optional().describe('A fixed gitlab-runner-helper image instead of the derived one; its tag must name the architecture and the same version as the manager (x86_64-v19.3.0)'),
      featureFlags: featureFlags.default({}).describe('[runners.feature_flags] of every runner (a runner\'s featureFlags win): FF_ name -> true/false'),
      helperRunAsUser: z
        .number()
        .int()
        .min(1)
        .max(2147483647)
        .optional()
        .describe('Run the helper container of job pods as this non-root UID (run_as_non_root); unset keeps the image user (root, all capabilities dropped). Read docs/design-decisions.md (Helper container user) before setting it'),
      checkInterval: z.number().int().min(1).max(60).default(3).describe('check_interval in seconds'),
      shutdownTimeoutSeconds: z
        .number()
        .int()
        .min(30)
        .max(86400)
        .default(3600)
        .describe('Time running jobs get to finish when the manager stops (graceful SIGQUIT, then shutdown_timeout)'),
      logLevel: z.enum(['debug', 'info', 'warn', 'error', 'fatal', 'panic']).default('info').describe('gitlab-runner log_level'),
      logFormat: z.enum(['runner', 'text', 'json']).default('json').describe('gitlab-runner log_format'),
      resources: containerResources(DEFAULT_MANAGER_RESOURCES).describe('Runner manager container resources'),
      allowedCsiDrivers: allowedCsiDrivers.describe('CSI drivers whose inline (ephemeral) volumes tenants may mount into job pods (runners[].volumes.csi); empty refuses every csi volume. List only drivers meant for inline use whose volumeAttributes cannot reach other tenants\' data'),
    })
    .prefault({})
    .describe('The runner manager and the job pods of every tenant'),
  kaniko: z
    .strictObject({
      image: pinnedImage.default(DEFAULT_KANIKO_IMAGE).describe('Kaniko executor image (a maintained fork, -debug for a shell)'),
      cacheTtl: z
        .string()
        .regex(/^[0-9]+h$/, { message: 'must be a number of hours such as 168h' })
        .default('168h')
        .describe('Kaniko --cache-ttl in the CI template: cached layers older than this are rebuilt'),
      cacheRegistry: z
        .strictObject({
          image: pinnedImage.default(DEFAULT_CACHE_REGISTRY_IMAGE).describe('CNCF distribution registry image of the per-tenant cache registry (cache.kaniko.mode s3)'),
          resources: containerResources(DEFAULT_CACHE_REGISTRY_RESOURCES).describe('Cache registry container resources'),
        })
        .prefault({})
        .describe('The cache registry run in each tenant namespace whose cache.kaniko.mode is s3'),
    })
    .prefault({})
    .describe('Kaniko image builds (the CI template) and the per-tenant cache registry'),
  s3: z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]+$/, { message: 'must be an AWS region such as eu-central-1' }).describe('Region of the tenants\' buckets (for an S3-compatible endpoint: the region the server is configured with)'),
    endpoint: endpointUrl.optional().describe('S3-compatible endpoint (MinIO, Ceph); unset means AWS'),
    pathStyle: z.boolean().default(false).describe('Path-style bucket addressing (usually true for MinIO/Ceph)'),
    egressCidrs: z.array(cidr).min(1).describe('Addresses (IPv4 CIDRs) of the S3 (and STS) endpoints'),
    egressPorts: z.array(port).min(1).default([443]).describe('Ports of the S3 (and STS) endpoints'),
  }).describe('The S3 service (AWS or S3-compatible) holding every tenant\'s bucket'),
  registry: z.strictObject({
    host: z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?$/, { message: 'must be a registry host such as registry.example.com' }).describe('Registry host (and port) job pods push images to'),
    egressCidrs: z.array(cidr).min(1).describe('Addresses (IPv4 CIDRs) of the registry'),
    egressPorts: z.array(port).min(1).default([443]).describe('Ports of the registry'),
  }).describe('The image registry job pods push to (and, with cache.kaniko.mode registry, cache layers in)'),
  monitoring: z
    .strictObject({
      namespace: dnsLabel().default('monitoring').describe('Namespace of Prometheus; the only source allowed to scrape runners'),
      podMonitorLabels: labels.default({}).describe('Labels your Prometheus podMonitorSelector matches'),
      scrapeInterval: z.string().regex(/^[0-9]+(ms|s|m|h)$/, { message: 'must be a duration such as 30s' }).default('30s').describe('PodMonitor scrape interval'),
      alerts: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Write a PrometheusRule with the runner alerts of docs/alerts.md into every tenant folder'),
          labels: labels.optional().describe('Labels your Prometheus ruleSelector matches (default: podMonitorLabels)'),
          runbookUrl: z
            .string()
            .regex(/^[^\s#]+$/, { message: 'must be a URL or path without spaces or #' })
            .default('docs/alerts.md')
            .describe('Where people open docs/alerts.md (e.g. its URL in your Git web UI); each alert\'s runbook_url is its anchor there'),
        })
        .prefault({})
        .describe('Per-tenant alerts (PrometheusRule, monitoring.coreos.com/v1)'),
      dashboard: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Write one Grafana dashboard ConfigMap for all tenants to dist/_monitoring/ (per cluster), in monitoring.namespace'),
          labels: labels
            .default({ grafana_dashboard: '1' })
            .describe('Labels the Grafana dashboard sidecar selects ConfigMaps by (kube-prometheus-stack: grafana_dashboard: "1")'),
        })
        .prefault({})
        .describe('The Grafana dashboard of all tenants (a ConfigMap for the Grafana sidecar)'),
    })
    .prefault({})
    .describe('Prometheus Operator scraping of the runner managers'),
  architecture: z
    .strictObject({
      variant: z
        .enum(['namespacePerTenant', 'sharedNamespace', 'daemonSet'])
        .default('namespacePerTenant')
        .describe('1 namespacePerTenant (recommended), 2 sharedNamespace (weaker: one namespace for all managers), 3 daemonSet (a manager on every tenant node)'),
      sharedNamespace: dnsLabel().default('gitlab-runners').describe('Namespace of all runner managers and jobs in the sharedNamespace variant'),
      separateBuildNamespace: z
        .boolean()
        .default(false)
        .describe('Manager in <tenant> at Pod Security restricted, job pods in <tenant>-build at baseline (namespacePerTenant and daemonSet)'),
    })
    .prefault({})
    .describe('How tenants are laid out in the cluster (docs/architectures.md)'),
  gitops: z
    .strictObject({
      tool: z.enum(['argocd', 'flux', 'none']).default('none').describe('Which GitOps objects to write to dist/_gitops/'),
      repoUrl: gitUrl.optional().describe('Git URL of this repository as Argo CD / Flux reach it (required unless tool is none)'),
      revision: gitRevision.default('main').describe('Branch Argo CD / Flux follow'),
      distPath: relativePath.default('dist').describe('Path of dist/ inside the repository'),
      argocd: z
        .strictObject({
          namespace: dnsLabel().default('argocd').describe('Namespace of Argo CD, where the Applications and the AppProject go'),
          project: dnsLabel().default('tenant-runners').describe('AppProject of the tenant Applications (synthesized, limited to the tenant namespaces)'),
          destinationServer: httpsUrl.default('https://kubernetes.default.svc').describe('API server of the target cluster as Argo CD knows it'),
          namespaces: z
            .array(z.string().regex(/^[a-z0-9*?-]+$/, { message: 'must be a namespace name or a glob of one (letters, digits, -, * and ?)' }))
            .min(1)
            .default(['*'])
            .describe(
              'Namespaces (globs) the tenant Applications may deploy to, e.g. [tenant-*]; every tenant namespace must match. ' +
                'Namespaces of Kubernetes, Argo CD and monitoring are always denied',
            ),
        })
        .prefault({})
        .describe('Argo CD settings (tool argocd)'),
      flux: z
        .strictObject({
          namespace: dnsLabel().default('flux-system').describe('Namespace of the GitRepository and the Kustomizations'),
          interval: z.string().regex(/^[0-9]+(s|m|h)$/, { message: 'must be a duration such as 5m' }).default('5m').describe('Reconciliation interval of the GitRepository and the Kustomizations'),
          dependsOn: z.array(dnsLabel(253)).default([]).describe('Flux Kustomizations that must be ready first (e.g. the one installing Prometheus Operator CRDs)'),
          secretRef: dnsLabel(253)
            .optional()
            .describe('Secret in the Flux namespace with the Git credentials of repoUrl (identity + known_hosts for ssh://, username + password for https://); required for ssh:// URLs'),
          retryInterval: z.string().regex(/^[0-9]+(s|m|h)$/, { message: 'must be a duration such as 1m' }).default('1m').describe('How soon a failed Kustomization is retried'),
          timeout: z.string().regex(/^[0-9]+(s|m|h)$/, { message: 'must be a duration such as 5m' }).default('5m').describe('How long a Kustomization waits for its apply and health checks'),
        })
        .prefault({})
        .describe('Flux settings (tool flux)'),
    })
    .prefault({})
    .describe('GitOps delivery: Argo CD Applications or Flux Kustomizations pointing at dist/'),
  nodes: z
    .strictObject({
      tenantLabelKey: labelKey
        .default('tenant')
        .describe('Label key that identifies a tenant\'s nodes: every tenant selects this key with its own value (its name, or tenantLabelValues), and a taint with this key must carry that value too. node-restriction.kubernetes.io/tenant is the safest choice (kubelets cannot set it on their own Node); the key may not use another well-known prefix'),
      tenantLabelValues: z
        .record(dnsLabel(40), labelValue)
        .default({})
        .describe('Value of tenantLabelKey per tenant when it is not the tenant name (tenant name -> value); values must be unique'),
      allowedLabelPrefixes: z
        .array(labelPrefix)
        .default([])
        .describe('Well-known label/taint key prefixes tenants may use anyway (e.g. topology.kubernetes.io/); keys under kubernetes.io/, k8s.io/, openshift.io/ and the cloud providers\' prefixes (and their subdomains) are refused otherwise'),
    })
    .prefault({})
    .describe('How tenants\' nodes are identified'),
  tenants: z
    .strictObject({
      allowNamespaces: z
        .array(dnsLabel(40))
        .default([])
        .describe('Tenant names accepted even though they are on the list of well-known add-on namespaces (docs/operations.md, rules); default, kube-system, kube-public, kube-node-lease and the namespaces platform.yaml names can never be allowed'),
    })
    .prefault({})
    .describe('Platform-wide rules for tenant names'),
  caBundle: network.caBundle.optional().describe('Custom CA bundle (PEM, in an existing ConfigMap or Secret) trusted by every tenant\'s manager, jobs and cache registry; unset trusts the images\' public CAs only (docs/enterprise-network.md)'),
  proxy: network.proxy.optional().describe('HTTP(S) proxy every tenant\'s manager, jobs and cache registry use; unset means direct egress (docs/enterprise-network.md)'),
  defaults: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Any tenant field; deep-merged under every tenant file (the tenant file wins, lists are replaced)'),
});

export type Platform = z.output<typeof PlatformSchema>;
export type TenantInput = z.input<typeof TenantSchema>;
export type Tenant = z.output<typeof TenantSchema>;
export type RunnerSpec = z.output<typeof RunnerSchema>;
export type ContainerResources = Tenant['runners'][number]['resources']['build'];
export type S3Auth = Tenant['cache']['s3']['auth'];
export type KanikoCacheMode = Tenant['cache']['kaniko']['mode'];
export type SecretsConfig = Tenant['secrets'];
