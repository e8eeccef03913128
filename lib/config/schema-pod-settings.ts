/**
 * Pod settings of the runner manager and the job pods (`pods:` of a tenant file) and the job
 * volumes of a runner (`runners[].volumes`), as GitLab Runner Helm chart users know them: pod
 * annotations and labels, hostAliases, the manager's imagePullSecrets, priorityClassName, affinity
 * and topology spread, extra manager environment from Secrets/ConfigMaps, and job volumes.
 *
 * Everything is per tenant: a platform sets cluster-wide values in `defaults.pods` of
 * platform.yaml (deep-merged under every tenant file, the tenant file wins key by key). Only the
 * list of CSI drivers job pods may use is a platform setting (`runner.allowedCsiDrivers`).
 *
 * The schema refuses what can be refused without context (reserved label and annotation keys,
 * literal environment values, hostPath and NFS volumes); lib/config/pod-settings-rules.ts checks
 * what needs the tenant and the platform (namespaces, Secret names, mount paths, the architecture).
 * The primitives come from schema.ts as arguments, so this file imports nothing from it (no cycle).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { managerPodLabels, jobPodLabels, tenantLabels } from '../model/labels';

/** The primitives of schema.ts this file builds on. */
export interface PodSettingsPrimitives {
  readonly labelKey: z.ZodType<string>;
  readonly labelValue: z.ZodType<string>;
  readonly quantity: z.ZodType<string, string | number>;
  /** A Secret/ConfigMap data key. */
  readonly secretKey: z.ZodType<string>;
  /** An environment variable name. */
  readonly envName: z.ZodType<string>;
}

/** Bounds that keep the pod specs and config.toml small. */
export const POD_LIMITS = {
  metadataEntries: 50,
  annotationValueLength: 4096,
  hostAliases: 20,
  hostnames: 20,
  env: 100,
  terms: 20,
  expressions: 20,
  values: 50,
  volumes: 50,
} as const;

// ---------------------------------------------------------------------------------------------
// Reserved label and annotation keys
// ---------------------------------------------------------------------------------------------

/**
 * Label keys the project sets on manager and job pods, which the NetworkPolicies, the Deployment
 * selector, the PodMonitor and the quota select pods by (lib/model/labels.ts). A user label with
 * one of these keys could move a pod out of (or into) a policy: refused on both kinds of pods.
 */
export const SELECTOR_LABEL_KEYS: readonly string[] = [
  ...new Set([...Object.keys(managerPodLabels('t')), ...Object.keys(jobPodLabels('t', 'r')), ...Object.keys(tenantLabels('t'))]),
].sort();

/** The project's own key prefix: every key under it is reserved. */
export const PROJECT_KEY_PREFIX = 'tenant-runners.io/';

/**
 * Key domains (and their subdomains) whose labels and annotations change what Kubernetes, the
 * cloud or the node does with a pod: AppArmor and seccomp profiles
 * (`container.apparmor.security.beta.kubernetes.io/*`, `seccomp.security.alpha.kubernetes.io/*`),
 * mirror pods, Pod Security and eviction (`*.kubernetes.io`, `*.k8s.io`), kube2iam/kiam roles
 * (`iam.amazonaws.com/role`), Azure workload identity (`azure.workload.identity/use`), GKE and
 * OpenShift controls (security context constraints).
 */
export const RESERVED_KEY_DOMAINS = [
  'kubernetes.io', 'k8s.io', 'openshift.io',
  'amazonaws.com', 'k8s.aws', 'karpenter.sh',
  'cloud.google.com', 'gke.io',
  'azure.com', 'kubernetes.azure.com', 'azure.workload.identity',
] as const;

/**
 * Keys under a reserved domain that are accepted anyway: informative recommended labels and the
 * "do not evict a running job" markers of the cluster autoscaler and Karpenter.
 */
export const ALLOWED_RESERVED_KEYS = {
  prefixes: ['app.kubernetes.io/'],
  keys: ['cluster-autoscaler.kubernetes.io/safe-to-evict', 'karpenter.sh/do-not-disrupt'],
} as const;

/** Annotations the project sets on the manager pod (config and ExternalSecret checksums). */
export const RESERVED_ANNOTATION_PREFIXES = ['checksum/'] as const;

/** Why a pod label or annotation key is refused, or undefined. */
export function reservedMetadataKey(key: string, kind: 'label' | 'annotation'): string | undefined {
  if (SELECTOR_LABEL_KEYS.includes(key)) {
    return `'${key}' is a label tenant-runners sets itself (${SELECTOR_LABEL_KEYS.join(', ')}); the NetworkPolicies, the workload selector and the PodMonitor select the manager and job pods by these, so they cannot be set or overridden`;
  }
  if (key.startsWith(PROJECT_KEY_PREFIX)) return `keys under ${PROJECT_KEY_PREFIX} are reserved for tenant-runners (pod selection); use a prefix of your own`;
  if (kind === 'annotation') {
    const prefix = RESERVED_ANNOTATION_PREFIXES.find((p) => key.startsWith(p));
    if (prefix) return `annotations under ${prefix} are reserved: tenant-runners sets checksum annotations that roll the manager when its configuration changes`;
  }
  if ((ALLOWED_RESERVED_KEYS.keys as readonly string[]).includes(key) || ALLOWED_RESERVED_KEYS.prefixes.some((p) => key.startsWith(p))) return undefined;
  const slash = key.lastIndexOf('/');
  if (slash === -1) return undefined;
  const domain = key.slice(0, slash);
  const owner = RESERVED_KEY_DOMAINS.find((d) => domain === d || domain.endsWith(`.${d}`));
  return owner
    ? `'${key}' is under ${owner}, whose ${kind}s change how Kubernetes, the node or the cloud treats the pod (AppArmor/seccomp profiles, Pod Security, IAM roles); refused. Accepted under reserved domains: ${[...ALLOWED_RESERVED_KEYS.prefixes.map((p) => `${p}*`), ...ALLOWED_RESERVED_KEYS.keys].join(', ')}`
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// Reserved manager environment
// ---------------------------------------------------------------------------------------------

/**
 * Environment variables of the manager container that are not the tenant's: the runner tokens
 * (RUNNER_TOKEN_*), the S3 credential chain (AWS_*: static keys, IRSA role and token file, Pod
 * Identity), the in-cluster API endpoint (KUBERNETES_*), feature flags (FF_*), gitlab-runner's own
 * settings, TLS trust and proxy settings (set by the platform), and the dynamic loader.
 */
export const RESERVED_MANAGER_ENV = {
  prefixes: ['RUNNER_TOKEN_', 'AWS_', 'KUBERNETES_', 'FF_', 'CI_', 'GITLAB_', 'LD_'],
  names: [
    'CONFIG_FILE', 'LISTEN_ADDRESS', 'WORKING_DIRECTORY', 'HOME', 'PATH',
    'SSL_CERT_FILE', 'SSL_CERT_DIR',
    'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  ],
} as const;

/** Why a manager variable name is refused, or undefined. */
export function reservedManagerEnv(name: string): string | undefined {
  if ((RESERVED_MANAGER_ENV.names as readonly string[]).includes(name)) return name;
  const prefix = RESERVED_MANAGER_ENV.prefixes.find((p) => name.startsWith(p));
  return prefix ? `${prefix}*` : undefined;
}

/**
 * Why an envFrom prefix is refused, or undefined: every variable it imports starts with it, so it
 * must neither start a reserved name nor be the beginning of one (a Secret key could complete it).
 */
export function reservedEnvPrefix(prefix: string): string | undefined {
  const all = [...RESERVED_MANAGER_ENV.prefixes, ...RESERVED_MANAGER_ENV.names];
  const hit = RESERVED_MANAGER_ENV.prefixes.find((p) => prefix.startsWith(p)) ?? all.find((r) => r.startsWith(prefix));
  return hit;
}

const reservedEnvMessage = (name: string, reserved: string) =>
  `'${name}' is reserved (${reserved}): tenant-runners and the platform set ${RESERVED_MANAGER_ENV.prefixes.map((p) => `${p}*`).join(', ')} and ${RESERVED_MANAGER_ENV.names.join(', ')} (tokens, S3 credentials, the API endpoint, feature flags, TLS and proxy settings)`;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A key that is always refused, with the reason (a clearer error than "unknown key"). */
const refused = (message: string) =>
  z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      if (value !== undefined) ctx.addIssue({ code: 'custom', message });
    });

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Secret, ConfigMap or PriorityClass name: a DNS-1123 subdomain (as schema.ts's objectName). */
const objectName = (max = 253) =>
  z
    .string()
    .max(max, { message: `must be at most ${max} characters` })
    .regex(DNS_SUBDOMAIN, { message: "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'" });

/** An absolute path inside a container: no `.`/`..` segments, no empty segment, not `/` itself. */
export const MOUNT_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9._@+-]+)+$/;
/** A relative path (subPath, a projected item path): no `..`, no leading `/`. */
const RELATIVE_PATH = /^(?!\.\.?(\/|$))(?!.*\/\.\.?(\/|$))[A-Za-z0-9._@+-]+(\/[A-Za-z0-9._@+-]+)*$/;

const mountPath = z
  .string()
  .max(1024)
  .regex(MOUNT_PATH, { message: "must be an absolute path such as /cache/maven: segments of letters, digits and . _ @ + -, no '.' or '..' segments, no trailing /, not / itself" });
const relativePath = z
  .string()
  .max(1024)
  .regex(RELATIVE_PATH, { message: "must be a relative path without '..' segments or a leading / (letters, digits and . _ @ + -)" });

/** A volume name as config.toml uses it for the pod's volume (a DNS-1123 label). */
const volumeName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters" });

// https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/
const annotationValue = z
  .string()
  .max(POD_LIMITS.annotationValueLength, { message: `must be at most ${POD_LIMITS.annotationValueLength} characters` })
  .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, { message: 'must not contain control characters' });

const hostname = z
  .string()
  .max(253)
  .regex(DNS_SUBDOMAIN, { message: "must be a lowercase host name (DNS-1123 subdomain) such as artifacts.internal.example.com" });

const hostAlias = z.strictObject({
  ip: z
    .string()
    .refine((ip) => isIP(ip) !== 0, { message: 'must be an IPv4 or IPv6 address such as 10.20.0.5' })
    .describe('Address the host names resolve to in the pod\'s /etc/hosts (NetworkPolicies still decide what is reachable)'),
  hostnames: z.array(hostname).min(1).max(POD_LIMITS.hostnames).describe('Host names of the address'),
});

const hostAliases = z.array(hostAlias).max(POD_LIMITS.hostAliases).default([]);

// ---------------------------------------------------------------------------------------------
// Affinity (Kubernetes field names; rendered into the pod spec and config.toml's snake_case)
// ---------------------------------------------------------------------------------------------

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const nodeOperators = [...selectorOperators, 'Gt', 'Lt'] as const;

const requirement = <O extends readonly [string, ...string[]]>(operators: O, key: z.ZodType<string>, value: z.ZodType<string>) =>
  z
    .strictObject({
      key: key.describe('Label key'),
      operator: z.enum(operators).describe(`One of ${operators.join(', ')}`),
      values: z.array(value).max(POD_LIMITS.values).optional().describe('Values: required (non-empty) for In and NotIn, exactly one integer for Gt and Lt, none for Exists and DoesNotExist'),
    })
    .superRefine((r, ctx) => {
      const n = r.values?.length ?? 0;
      if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must list at least one value with operator ${r.operator}` });
      if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty with operator ${r.operator}` });
      if ((r.operator === 'Gt' || r.operator === 'Lt') && (n !== 1 || !/^-?[0-9]+$/.test(r.values![0]))) ctx.addIssue({ code: 'custom', path: ['values'], message: `must be exactly one integer with operator ${r.operator}` });
    });

function affinitySchemas(p: PodSettingsPrimitives) {
  const nodeRequirement = requirement(nodeOperators, p.labelKey, z.string().max(63));
  const fieldRequirement = z
    .strictObject({
      key: z.literal('metadata.name').describe('Node field; only metadata.name is supported by Kubernetes'),
      operator: z.enum(['In', 'NotIn']).describe('In or NotIn'),
      values: z.array(hostname).min(1).max(POD_LIMITS.values).describe('Node names'),
    });
  const nodeSelectorTerm = z.strictObject({
    matchExpressions: z.array(nodeRequirement).max(POD_LIMITS.expressions).optional().describe('Node label requirements (ANDed)'),
    matchFields: z.array(fieldRequirement).max(POD_LIMITS.expressions).optional().describe('Node field requirements (ANDed)'),
  });
  const nodeAffinity = z.strictObject({
    requiredDuringSchedulingIgnoredDuringExecution: z
      .strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1).max(POD_LIMITS.terms).describe('Terms, ORed') })
      .optional()
      .describe('Nodes the pod must run on; ANDed with the tenant\'s nodeSelector, so it can only narrow the tenant\'s nodes'),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(z.strictObject({
        weight: z.number().int().min(1).max(100).describe('1 to 100'),
        preference: nodeSelectorTerm.describe('Preferred nodes'),
      }))
      .max(POD_LIMITS.terms)
      .optional()
      .describe('Nodes the scheduler prefers, among the tenant\'s nodes'),
  });
  const labelSelector = z.strictObject({
    matchLabels: z.record(p.labelKey, p.labelValue).optional().describe('Labels the pods must carry'),
    matchExpressions: z.array(requirement(selectorOperators, p.labelKey, p.labelValue)).max(POD_LIMITS.expressions).optional().describe('Label requirements (ANDed)'),
  });
  const podAffinityTerm = z.strictObject({
    labelSelector: labelSelector
      .optional()
      .describe(`Pods this term refers to; tenant-runners adds ${PROJECT_KEY_PREFIX}tenant: <tenant>, so a term only ever matches this tenant's pods`),
    namespaces: z.array(objectName()).max(POD_LIMITS.values).optional().describe('Namespaces of those pods: only the tenant\'s own (default: the pod\'s namespace)'),
    namespaceSelector: refused('namespaceSelector is refused: it selects namespaces by label, including other tenants\' (an empty selector selects every namespace), which would place pods by, and reveal, other tenants\' pods; list the tenant\'s own namespaces in namespaces').describe('Refused: list the tenant\'s own namespaces in namespaces instead'),
    topologyKey: p.labelKey.describe('Node label that defines the topology domain, such as kubernetes.io/hostname or topology.kubernetes.io/zone'),
  });
  const podAffinity = z.strictObject({
    requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).max(POD_LIMITS.terms).optional().describe('Terms that must hold'),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(z.strictObject({ weight: z.number().int().min(1).max(100).describe('1 to 100'), podAffinityTerm: podAffinityTerm.describe('The term') }))
      .max(POD_LIMITS.terms)
      .optional()
      .describe('Terms the scheduler prefers'),
  });
  const affinity = z.strictObject({
    nodeAffinity: nodeAffinity.optional().describe('Node affinity; narrows the tenant\'s nodes (the nodeSelector of the tenant\'s node labels always applies too)'),
    podAffinity: podAffinity.optional().describe('Place the pod near this tenant\'s pods'),
    podAntiAffinity: podAffinity.optional().describe('Keep the pod away from this tenant\'s pods'),
  });
  return { affinity, labelSelector };
}

// ---------------------------------------------------------------------------------------------
// The tenant key `pods`
// ---------------------------------------------------------------------------------------------

export function podSettingsSchema(p: PodSettingsPrimitives) {
  const { affinity, labelSelector } = affinitySchemas(p);

  const metadataMap = <V extends z.ZodType<string>>(key: z.ZodType<string>, value: V, kind: 'label' | 'annotation') =>
    z
      .record(key, value)
      .superRefine((map, ctx) => {
        if (Object.keys(map).length > POD_LIMITS.metadataEntries) ctx.addIssue({ code: 'custom', message: `must have at most ${POD_LIMITS.metadataEntries} entries` });
        for (const k of Object.keys(map)) {
          const why = reservedMetadataKey(k, kind);
          if (why) ctx.addIssue({ code: 'custom', path: [k], message: why });
        }
      })
      .default({});
  // Annotation keys follow the label key syntax: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/#syntax-and-character-set
  const annotations = () => metadataMap(p.labelKey, annotationValue, 'annotation');
  const labels = () => metadataMap(p.labelKey, p.labelValue, 'label');

  const priorityClassName = objectName()
    .refine((name) => !name.startsWith('system-'), { message: 'must not start with system-: system-cluster-critical and system-node-critical are reserved for Kubernetes components' })
    .optional();

  const keyRef = z.strictObject({
    name: objectName().describe('Object name in the manager\'s namespace'),
    key: p.secretKey.describe('Key in it'),
    optional: z.boolean().optional().describe('Start the manager even if the object or key is missing'),
  });
  const envVar = z
    .strictObject({
      name: p.envName.describe('Variable name; not a reserved one (RUNNER_TOKEN_*, AWS_*, KUBERNETES_*, FF_*, CI_*, GITLAB_*, LD_*, proxy and TLS variables, gitlab-runner\'s own)'),
      value: refused('literal values are refused: the manager\'s environment takes references only, so no secret value is ever written to config/ or dist/; put the value in a Secret or ConfigMap and use valueFrom').describe('Refused: use valueFrom'),
      valueFrom: z
        .strictObject({
          secretKeyRef: keyRef.optional().describe('A key of a Secret'),
          configMapKeyRef: keyRef.optional().describe('A key of a ConfigMap'),
        })
        .refine((v) => (v.secretKeyRef ? 1 : 0) + (v.configMapKeyRef ? 1 : 0) === 1, { message: 'must have exactly one of secretKeyRef and configMapKeyRef' })
        .describe('Where the value comes from: exactly one of secretKeyRef and configMapKeyRef'),
    })
    .superRefine((v, ctx) => {
      const reserved = reservedManagerEnv(v.name);
      if (reserved) ctx.addIssue({ code: 'custom', path: ['name'], message: reservedEnvMessage(v.name, reserved) });
    });
  const envFrom = z
    .strictObject({
      secretRef: z.strictObject({ name: objectName().describe('Secret name'), optional: z.boolean().optional().describe('Start even if missing') }).optional().describe('Import every key of a Secret'),
      configMapRef: z.strictObject({ name: objectName().describe('ConfigMap name'), optional: z.boolean().optional().describe('Start even if missing') }).optional().describe('Import every key of a ConfigMap'),
      prefix: p.envName.describe('Prefix of every imported variable (required: the keys are unknown here, so the prefix is what keeps them off the reserved names)'),
    })
    .superRefine((v, ctx) => {
      if ((v.secretRef ? 1 : 0) + (v.configMapRef ? 1 : 0) !== 1) ctx.addIssue({ code: 'custom', message: 'must have exactly one of secretRef and configMapRef' });
      const reserved = reservedEnvPrefix(v.prefix);
      if (reserved) ctx.addIssue({ code: 'custom', path: ['prefix'], message: `'${v.prefix}' could produce the reserved variable(s) ${reserved}; choose a prefix such as EXTRA_ that no reserved name starts with` });
    });

  const spreadConstraint = z
    .strictObject({
      maxSkew: z.number().int().min(1).max(1000).describe('Largest allowed difference of matching pods between two domains'),
      topologyKey: p.labelKey.describe('Node label that defines the domains, such as topology.kubernetes.io/zone'),
      whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']).default('ScheduleAnyway').describe('DoNotSchedule or ScheduleAnyway'),
      labelSelector: labelSelector.optional().describe(`Pods counted (default: the tenant's manager pods); ${PROJECT_KEY_PREFIX}tenant: <tenant> is always added`),
      minDomains: z.number().int().min(1).max(1000).optional().describe('Minimum number of eligible domains (only with DoNotSchedule)'),
      nodeAffinityPolicy: z.enum(['Honor', 'Ignore']).optional().describe('Whether nodeAffinity/nodeSelector limit the counted domains (Kubernetes default Honor)'),
      nodeTaintsPolicy: z.enum(['Honor', 'Ignore']).optional().describe('Whether taints limit the counted domains (Kubernetes default Ignore)'),
    })
    .superRefine((c, ctx) => {
      if (c.minDomains !== undefined && c.whenUnsatisfiable !== 'DoNotSchedule') ctx.addIssue({ code: 'custom', path: ['minDomains'], message: 'is only allowed with whenUnsatisfiable: DoNotSchedule' });
    });

  const manager = z
    .strictObject({
      annotations: annotations().describe('Annotations of the manager pod (keys under reserved domains such as kubernetes.io/ are refused)'),
      labels: labels().describe('Labels of the manager pod; never the selector labels tenant-runners sets'),
      hostAliases: hostAliases.describe('Extra /etc/hosts entries of the manager pod'),
      imagePullSecrets: z
        .array(objectName())
        .max(20)
        .default([])
        .describe('kubernetes.io/dockerconfigjson Secrets in the manager\'s namespace the manager image (runner.image) is pulled with; created by the platform team'),
      priorityClassName: priorityClassName.describe('PriorityClass of the manager pod (refused in the sharedNamespace variant, where a PriorityClass scopes the tenant\'s quota)'),
      affinity: affinity.optional().describe('Affinity of the manager pod, within the tenant\'s nodes and namespaces'),
      topologySpreadConstraints: z.array(spreadConstraint).max(10).default([]).describe('How managers spread over topology domains (useful with the daemonSet variant or several tenants\' managers per zone)'),
      env: z.array(envVar).max(POD_LIMITS.env).default([]).describe('Extra manager variables, each from a Secret or ConfigMap key (references only)'),
      envFrom: z.array(envFrom).max(20).default([]).describe('Extra manager variables from every key of a Secret or ConfigMap, under a prefix'),
    })
    .prefault({});

  const jobs = z
    .strictObject({
      annotations: annotations().describe('Annotations of every job pod (config.toml pod_annotations; jobs cannot override them); values may use job variables such as $CI_PROJECT_PATH'),
      labels: labels().describe('Labels of every job pod (config.toml pod_labels; jobs cannot override them); never the selector labels tenant-runners sets'),
      hostAliases: hostAliases.describe('Extra /etc/hosts entries of job pods (config.toml host_aliases)'),
      priorityClassName: priorityClassName.describe('PriorityClass of job pods (config.toml priority_class_name; refused in the sharedNamespace variant)'),
      affinity: affinity.optional().describe('Affinity of job pods (config.toml [runners.kubernetes.affinity]), within the tenant\'s nodes and namespaces'),
    })
    .prefault({});

  return z
    .strictObject({
      manager: manager.describe('The runner manager pod'),
      jobs: jobs.describe('Every job pod of every runner of the tenant'),
    })
    .prefault({});
}

// ---------------------------------------------------------------------------------------------
// The runner key `volumes`
// ---------------------------------------------------------------------------------------------

export function jobVolumesSchema(p: PodSettingsPrimitives) {
  const common = {
    name: volumeName.describe('Volume name in the job pod (for configMap, secret and pvc see also the object name)'),
    mountPath: mountPath.describe('Absolute mount path in the build, helper and service containers'),
    subPath: relativePath.optional().describe('Sub-path of the volume to mount'),
  };
  const items = z.record(p.secretKey, relativePath).optional();
  const emptyDir = z.strictObject({
    ...common,
    medium: z.literal('Memory').optional().describe('Memory for a tmpfs (counted against the container\'s memory limit); unset means the node\'s disk'),
    sizeLimit: p.quantity.optional().describe('Size limit, a Kubernetes quantity such as 1Gi (the pod is evicted beyond it)'),
  });
  const configMap = z.strictObject({
    ...common,
    name: volumeName.describe('ConfigMap name in the job namespace (also the volume name)'),
    readOnly: z.boolean().default(true).describe('Mount read-only'),
    items: items.describe('Keys to project, key -> relative path (default: every key)'),
  });
  const secret = z.strictObject({
    ...common,
    name: volumeName.describe('Secret name in the job namespace (also the volume name); never the runner token or S3 key Secret'),
    readOnly: z.boolean().default(true).describe('Mount read-only'),
    items: items.describe('Keys to project, key -> relative path (default: every key)'),
  });
  const pvc = z.strictObject({
    ...common,
    name: z
      .string()
      .max(63)
      .regex(/^([a-z0-9-]|\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/, { message: 'must be a PersistentVolumeClaim name usable as a volume name (lowercase letters, digits and -), which may contain job variables such as $CI_CONCURRENT_ID' })
      .describe('PersistentVolumeClaim in the job namespace (also the volume name); may contain job variables such as $CI_CONCURRENT_ID'),
    readOnly: z.boolean().default(false).describe('Mount read-only'),
  });
  const csi = z.strictObject({
    ...common,
    driver: z.string().max(63).regex(DNS_SUBDOMAIN, { message: 'must be a CSI driver name such as secrets-store.csi.k8s.io' }).describe('CSI driver; must be listed in runner.allowedCsiDrivers of platform.yaml'),
    fsType: z.string().max(32).regex(/^[a-z0-9]+$/, { message: 'must be a file system type such as ext4' }).optional().describe('File system type'),
    readOnly: z.boolean().default(true).describe('Mount read-only'),
    volumeAttributes: z.record(z.string().max(253).regex(/^[A-Za-z0-9._\/-]+$/, { message: 'must be an attribute name: letters, digits and . _ / -' }), z.string().max(1024)).optional().describe('Driver-specific attributes'),
  });
  const list = <T extends z.ZodType>(item: T) => z.array(item).max(POD_LIMITS.volumes).default([]);
  return z
    .strictObject({
      emptyDir: list(emptyDir).describe('emptyDir volumes (config.toml [[runners.kubernetes.volumes.empty_dir]])'),
      configMap: list(configMap).describe('ConfigMap volumes (config.toml [[runners.kubernetes.volumes.config_map]])'),
      secret: list(secret).describe('Secret volumes (config.toml [[runners.kubernetes.volumes.secret]])'),
      pvc: list(pvc).describe('PersistentVolumeClaim volumes (config.toml [[runners.kubernetes.volumes.pvc]]); the claims are created by the platform team'),
      csi: list(csi).describe('CSI ephemeral volumes (config.toml [[runners.kubernetes.volumes.csi]]) of drivers the platform allows'),
      hostPath: refused('hostPath volumes are refused: they give job pods the node\'s file system (the container runtime socket, kubelet credentials, other pods\' data), which breaks tenant isolation; Pod Security baseline refuses them too. Use emptyDir, pvc or csi').describe('Refused: node file system access breaks tenant isolation'),
      nfs: refused('nfs volumes are refused: the node mounts them from its own network, outside the NetworkPolicies of the job pods, with the node\'s identity; use a pvc bound to an NFS PersistentVolume the platform team creates').describe('Refused: mounted from the node network, outside the NetworkPolicies'),
    })
    .prefault({});
}

/** The list of CSI drivers job pods may use (platform.yaml runner.allowedCsiDrivers). */
export const allowedCsiDrivers = z
  .array(z.string().max(63).regex(DNS_SUBDOMAIN, { message: 'must be a CSI driver name such as secrets-store.csi.k8s.io' }))
  .max(20)
  .default([]);
