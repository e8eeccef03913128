import { OutputLimitError } from '../config/errors';
import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PodMonitor, PodMonitorSpecPodMetricsEndpointsRelabelingsAction } from '../../imports/monitoring.coreos.com';
import type { TenantConfig } from '../model/resolve';
import { Platform, RunnerSpec } from '../config/schema';
import { KanikoCache } from './kaniko-cache';
import { jobPodLabels, managerPodLabels, podSelectorLabels } from '../model/labels';
import { runnerTokenEnv } from '../model/names';
import { runnerTokenKey } from '../model/secrets';
import { TenantSecrets } from './tenant-secrets';
import { resourceRequirements, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './hardened-pod';
import { KubernetesConfig, RunnerConfig, RunnerGlobalConfig, SecurityContextConfig } from '../runner-config/model';
import { renderRunnerConfig } from '../runner-config/render';
import { METRICS_PORT, TenantIsolation } from './tenant-isolation';

/** Capabilities Kaniko needs to unpack and snapshot image filesystems as root, without privilege. */
export const KANIKO_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'SETFCAP', 'KILL'];

/**
 * GitLab's documented minimum for the Kubernetes executor (runner 19.x), namespaced.
 * https://docs.gitlab.com/runner/executors/kubernetes/#configure-runner-api-permissions
 */
export const RUNNER_ROLE_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods/attach'], verbs: ['create', 'delete', 'get', 'patch'] },
  { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'delete', 'get', 'patch'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete', 'get', 'update'] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] },
  { apiGroups: [''], resources: ['services'], verbs: ['create', 'get'] },
];

// The gitlab-runner alpine image's user and group (what GitLab's Helm chart runs it as).
const RUNNER_UID = 100;
const RUNNER_GID = 65533;
const CONFIG_TEMPLATE_DIR = '/configmaps';
const CONFIG_DIR = '/etc/gitlab-runner';
const HOME_DIR = '/home/gitlab-runner';

/**
 * The helper container's user. Unset (default): the helper image's user, root with every
 * capability dropped. With `runner.helperRunAsUser` the helper runs as that UID and passes Pod
 * Security restricted; git in a root build container then refuses the helper's clone ("dubious
 * ownership"), which is why it is opt-in (README, "Job containers").
 * https://docs.gitlab.com/runner/executors/kubernetes/#set-a-security-policy-for-the-container
 */
function helperUser(platform: Platform): SecurityContextConfig {
  const uid = platform.runner.helperRunAsUser;
  return uid === undefined ? {} : { run_as_non_root: true, run_as_user: uid, run_as_group: uid };
}

export interface TenantRunnerProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
  /** Namespace and scheduling of the tenant; the runner's pods and jobs stay inside them. */
  readonly isolation: TenantIsolation;
  /** The tenant's caches, rendered into config.toml and the manager pod. */
  readonly cache: KanikoCache;
  /** Where the Secrets come from; ExternalSecret changes roll the manager pod. */
  readonly secrets: TenantSecrets;
}

/**
 * One GitLab Runner manager for a tenant: ServiceAccounts for the manager and for job pods,
 * a namespaced Role/RoleBinding with the executor's minimum rights, a ConfigMap with
 * config.toml (one [[runners]] per configured runner), the manager Deployment and a PodMonitor.
 */
export class TenantRunner extends Construct {
  /** The rendered config.toml, as stored in the ConfigMap. */
  public readonly configToml: string;
  /** The typed model config.toml was rendered from. */
  public readonly runnerConfig: RunnerGlobalConfig;

  constructor(scope: Construct, id: string, props: TenantRunnerProps) {
    super(scope, id);
    const { platform, tenant, isolation, cache, secrets } = props;
    const { names } = isolation;
    const namespace = isolation.namespace;
    const jobNamespace = isolation.jobNamespace;

    new k8s.KubeServiceAccount(this, 'ManagerServiceAccount', {
      metadata: { name: names.managerServiceAccount, namespace, annotations: cache.managerServiceAccountAnnotations },
    });
    // Job pods never talk to the API server: no token, no Role.
    new k8s.KubeServiceAccount(this, 'JobServiceAccount', {
      metadata: { name: names.jobServiceAccount, namespace: jobNamespace },
      automountServiceAccountToken: false,
    });
    // The Role lives where the job pods are; with a separate build namespace the manager's own
    // namespace grants it nothing.
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: names.role, namespace: jobNamespace },
      rules: RUNNER_ROLE_RULES.map((rule) => ({ ...rule })),
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: names.roleBinding, namespace: jobNamespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role },
      subjects: [{ kind: 'ServiceAccount', name: names.managerServiceAccount, namespace }],
    });

    this.runnerConfig = {
      concurrent: tenant.concurrent,
      check_interval: platform.runner.checkInterval,
      log_level: platform.runner.logLevel,
      log_format: platform.runner.logFormat,
      listen_address: `:${METRICS_PORT}`,
      shutdown_timeout: platform.runner.shutdownTimeoutSeconds,
      runners: tenant.runners.map((runner) => this.runnerSection(platform, tenant, runner, isolation, cache)),
    };
    this.configToml = renderRunnerConfig(this.runnerConfig);
    assertConfigMapSize(names.configMap, { 'config.toml': this.configToml });
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: names.configMap, namespace },
      data: { 'config.toml': this.configToml },
    });

    this.addWorkload(platform, tenant, isolation, cache, secrets);

    new PodMonitor(this, 'PodMonitor', {
      metadata: { name: names.podMonitor, namespace, labels: platform.monitoring.podMonitorLabels },
      spec: {
        selector: { matchLabels: podSelectorLabels(tenant.name, 'manager') },
        namespaceSelector: { matchNames: [namespace] },
        podMetricsEndpoints: [{
          port: 'metrics',
          path: '/metrics',
          interval: platform.monitoring.scrapeInterval,
          relabelings: [{
            action: PodMonitorSpecPodMetricsEndpointsRelabelingsAction.REPLACE,
            targetLabel: 'tenant',
            replacement: tenant.name,
          }],
        }],
      },
    });
  }

  private runnerSection(platform: Platform, tenant: TenantConfig, runner: RunnerSpec, isolation: TenantIsolation, cache: KanikoCache): RunnerConfig {
    const { build, helper, service } = runner.resources;
    const dropAll = { drop: ['ALL'] };
    const noEscalation: SecurityContextConfig = { privileged: false, allow_privilege_escalation: false, seccomp_profile: { type: 'RuntimeDefault' } };
    const kubernetes: KubernetesConfig = {
      namespace: isolation.jobNamespace,
      namespace_overwrite_allowed: '',
      image: runner.image,
      helper_image: platform.runner.helperImage,
      privileged: false,
      allow_privilege_escalation: false,
      service_account: isolation.names.jobServiceAccount,
      service_account_overwrite_allowed: '',
      automount_service_account_token: false,
      bearer_token_overwrite_allowed: false,
      cpu_request: build.requests.cpu,
      cpu_limit: build.limits.cpu,
      memory_request: build.requests.memory,
      memory_limit: build.limits.memory,
      ephemeral_storage_request: build.requests.ephemeralStorage,
      ephemeral_storage_limit: build.limits.ephemeralStorage,
      helper_cpu_request: helper.requests.cpu,
      helper_cpu_limit: helper.limits.cpu,
      helper_memory_request: helper.requests.memory,
      helper_memory_limit: helper.limits.memory,
      helper_ephemeral_storage_request: helper.requests.ephemeralStorage,
      helper_ephemeral_storage_limit: helper.limits.ephemeralStorage,
      service_cpu_request: service.requests.cpu,
      service_cpu_limit: service.limits.cpu,
      service_memory_request: service.requests.memory,
      service_memory_limit: service.limits.memory,
      service_ephemeral_storage_request: service.requests.ephemeralStorage,
      service_ephemeral_storage_limit: service.limits.ephemeralStorage,
      pull_policy: runner.pullPolicy,
      // Jobs may not pick a policy outside the configured ones (e.g. `never` to reuse another
      // project's cached private image on the node).
      allowed_pull_policies: runner.pullPolicy,
      allowed_images: runner.allowedImages.length > 0 ? runner.allowedImages : undefined,
      allowed_services: runner.allowedServices.length > 0 ? runner.allowedServices : undefined,
      poll_timeout: runner.pollTimeoutSeconds,
      node_selector: isolation.scheduling.nodeSelector,
      node_selector_overwrite_allowed: '',
      node_tolerations: isolation.scheduling.runnerNodeTolerations,
      node_tolerations_overwrite_allowed: '',
      pod_labels: jobPodLabels(tenant.name, runner.name),
      image_pull_secrets: tenant.imagePullSecrets.length > 0 ? tenant.imagePullSecrets : undefined,
      priority_class_name: isolation.priorityClassName,
      pod_labels_overwrite_allowed: '',
      pod_annotations_overwrite_allowed: '',
      pod_security_context: { seccomp_profile: { type: 'RuntimeDefault' } },
      // Kaniko builds as root: drop everything, add back only what it needs. Pod Security
      // baseline allows exactly this; restricted does not (documented in the README).
      build_container_security_context: { ...noEscalation, capabilities: { drop: ['ALL'], add: KANIKO_CAPABILITIES } },
      helper_container_security_context: { ...noEscalation, ...helperUser(platform), capabilities: dropAll },
      // Service images (databases) often switch users at start-up, so they keep the runtime's
      // default capabilities, which baseline permits.
      service_container_security_context: noEscalation,
      volumes: { secret: cache.jobSecretVolumes },
    };
    return {
      name: runner.name,
      url: platform.gitlab.url,
      token: `\${${runnerTokenEnv(runner.name)}}`,
      executor: 'kubernetes',
      limit: runner.limit > 0 ? runner.limit : undefined,
      environment: [...cache.jobEnvironment, ...Object.entries(runner.environment).map(([k, v]) => `${k}=${v}`)],
      // The token lives in a Secret that GitOps owns; a rotated token written back to config.toml
      // would be lost on the next restart.
      feature_flags: { FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true },
      kubernetes,
      cache: cache.runnerCache(runner.name),
    };
  }

  private addWorkload(platform: Platform, tenant: TenantConfig, isolation: TenantIsolation, cache: KanikoCache, secrets: TenantSecrets): void {
    const { names } = isolation;
    const labels = managerPodLabels(tenant.name);
    const resources = platform.runner.resources;
    const metricsProbe = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      // The metrics endpoint answers while the process is healthy, whether or not GitLab is
      // reachable, so a GitLab outage never restarts every runner.
      httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 5,
    });

    const template: k8s.PodTemplateSpec = {
      metadata: {
        labels,
        annotations: { 'checksum/config': createHash('sha256').update(this.configToml).digest('hex'), ...secrets.podAnnotations },
      },
      spec: {
        serviceAccountName: names.managerServiceAccount,
        priorityClassName: isolation.priorityClassName,
        // The manager is the one pod that needs an API token (to create job pods).
        automountServiceAccountToken: true,
        nodeSelector: isolation.scheduling.nodeSelector,
        tolerations: isolation.scheduling.tolerations,
        // Graceful stop (SIGQUIT in preStop) lets running jobs finish; shutdown_timeout then
        // bounds the forceful phase. The margin covers that phase.
        terminationGracePeriodSeconds: platform.runner.shutdownTimeoutSeconds + 60,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: RUNNER_UID,
          runAsGroup: RUNNER_GID,
          fsGroup: RUNNER_GID,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [{
          name: 'gitlab-runner',
          image: platform.runner.image,
          imagePullPolicy: 'IfNotPresent',
          // config.toml comes from a read-only ConfigMap; the runner writes .runner_system_id
          // next to it, so it runs from a copy in a writable emptyDir.
          command: ['/bin/sh', '-c'],
          args: [
            `cp ${CONFIG_TEMPLATE_DIR}/config.toml ${CONFIG_DIR}/config.toml && ` +
              `exec gitlab-runner run --config ${CONFIG_DIR}/config.toml --working-directory ${HOME_DIR}`,
          ],
          env: [
            ...tenant.runners.map((runner) => ({
              name: runnerTokenEnv(runner.name),
              valueFrom: { secretKeyRef: { name: tenant.tokenSecretName, key: runnerTokenKey(runner) } },
            })),
            ...cache.managerEnv,
          ],
          ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
          resources: resourceRequirements(resources),
          securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
          startupProbe: metricsProbe(5, 24),
          livenessProbe: metricsProbe(30, 3),
          readinessProbe: metricsProbe(10, 3),
          lifecycle: {
            // SIGQUIT is gitlab-runner's graceful shutdown; Kubernetes would send SIGTERM, which
            // aborts running jobs. https://docs.gitlab.com/runner/commands/#signals
            preStop: { exec: { command: ['/bin/sh', '-c', 'kill -QUIT 1; while kill -0 1 2>/dev/null; do sleep 1; done'] } },
          },
          volumeMounts: [
            { name: 'config-template', mountPath: CONFIG_TEMPLATE_DIR, readOnly: true },
            { name: 'config', mountPath: CONFIG_DIR },
            { name: 'home', mountPath: HOME_DIR },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        }],
        volumes: [
          { name: 'config-template', configMap: { name: names.configMap } },
          { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
          { name: 'home', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
          { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
        ],
      },
    };

    const metadata = { name: names.workload, namespace: isolation.namespace, labels };
    const selector = { matchLabels: podSelectorLabels(tenant.name, 'manager') };
    if (isolation.layout.workloadKind === 'DaemonSet') {
      // Variant 3: a manager on every node of the tenant's pool, each with its own `concurrent`.
      // maxSurge 0: a node's old manager drains its jobs before the new one starts there.
      new k8s.KubeDaemonSet(this, 'DaemonSet', {
        metadata,
        spec: { selector, template, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } } },
      });
    } else {
      new k8s.KubeDeployment(this, 'Deployment', {
        metadata,
        spec: {
          replicas: 1,
          // Recreate: the old manager drains its jobs before the new one starts, so the tenant never
          // runs more than `concurrent` jobs and the ResourceQuota holds (README, "Rollouts").
          strategy: { type: 'Recreate' },
          selector,
          template,
        },
      });
    }
  }
}

/** Kubernetes refuses a ConfigMap whose data exceeds 1 MiB (etcd's object size limit). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** Fails the synth (naming the ConfigMap, its size and the limit) before a ConfigMap the API server would refuse is written. */
export function assertConfigMapSize(name: string, data: Record<string, string>): void {
  const bytes = Object.entries(data).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  if (bytes > CONFIGMAP_MAX_BYTES) {
    throw new OutputLimitError(`ConfigMap ${name} would hold ${bytes} bytes (${(bytes / CONFIGMAP_MAX_BYTES).toFixed(2)} MiB), over the ${CONFIGMAP_MAX_BYTES} bytes (1 MiB) Kubernetes accepts; reduce runners, their environment or allowedImages/allowedServices`);
  }
}
