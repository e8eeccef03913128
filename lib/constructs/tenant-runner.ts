import { createHash } from 'node:crypto';
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { OutputLimitError } from '../config/errors';
import { PodMonitor, PodMonitorSpecPodMetricsEndpointsRelabelingsAction } from '../../imports/monitoring.coreos.com';
import { ContainerResources, Platform, RunnerSpec } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { KanikoCache } from './kaniko-cache';
import { EnterpriseNetwork } from './enterprise-network';
import { jobPodLabels, managerPodLabels, podSelectorLabels } from '../model/labels';
import { runnerTokenEnv } from '../model/names';
import { runnerTokenKey } from '../model/secrets';
import { TenantSecrets } from './tenant-secrets';
import { hardenedPodSecurityContext, resourceRequirements, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './hardened-pod';
import { RunnerGlobalConfig } from '../runner-config/model';
import { renderRunnerConfig } from '../runner-config/render';
import { runnerSection } from '../runner-config/runner-section';
import { METRICS_PORT, TenantIsolation } from './tenant-isolation';
import { jobPodConfig, jobVolumesConfig, managerPodParts, NO_POD_SETTINGS, PodSettings } from './pod-settings';

export { KANIKO_CAPABILITIES } from '../runner-config/runner-section';

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

type RunnerSettings = Platform['runner'];

export interface TenantRunnerProps {
  /**
   * Tenant name.
   *
   * Labels the manager and job pods and becomes the `tenant` label of the metrics.
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
   */
  readonly tenantName: string;
  /**
   * Namespaces, names and scheduling of the tenant; the runner's pods and jobs stay inside them.
   */
  readonly isolation: TenantIsolation;
  /**
   * The tenant's caches, rendered into config.toml and the manager pod.
   */
  readonly cache: KanikoCache;
  /**
   * Where the Secrets come from; ExternalSecret changes roll the manager pod.
   */
  readonly secrets: TenantSecrets;
  /**
   * GitLab instance URL the runners poll (`url`).
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runners-section
   */
  readonly gitlabUrl: string;
  /**
   * Jobs one manager runs at once (`concurrent`).
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-global-section
   */
  readonly concurrent: number;
  /**
   * The runners of the manager, one `[[runners]]` section each.
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runners-section
   */
  readonly runners: readonly RunnerSpec[];
  /**
   * Existing Secret with one runner token per key.
   *
   * @default - `isolation.names.tokenSecret`
   * @see https://docs.gitlab.com/runner/register/#register-with-a-runner-authentication-token
   */
  readonly tokenSecretName?: string;
  /**
   * `kubernetes.io/dockerconfigjson` Secrets job pods pull their images with (`image_pull_secrets`).
   *
   * @default []
   * @see https://docs.gitlab.com/runner/executors/kubernetes/#configuration-settings
   */
  readonly imagePullSecrets?: readonly string[];
  /**
   * gitlab-runner image of the manager.
   *
   * @see https://docs.gitlab.com/runner/install/docker/
   */
  readonly image: string;
  /**
   * gitlab-runner-helper image of job pods (`helper_image`).
   *
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#helper-image
   */
  readonly helperImage: string;
  /**
   * UID the helper container runs as.
   *
   * @default - the helper image's user (root, every capability dropped)
   * @see https://docs.gitlab.com/runner/executors/kubernetes/#set-a-security-policy-for-the-container
   */
  readonly helperRunAsUser?: number;
  /**
   * Seconds between job polls (`check_interval`).
   *
   * @default 3
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-global-section
   */
  readonly checkInterval?: number;
  /**
   * `log_level` of the manager.
   *
   * @default 'info'
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-global-section
   */
  readonly logLevel?: RunnerSettings['logLevel'];
  /**
   * `log_format` of the manager.
   *
   * @default 'json'
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-global-section
   */
  readonly logFormat?: RunnerSettings['logFormat'];
  /**
   * Seconds the forceful shutdown may take (`shutdown_timeout`); the pod's grace period adds 60.
   *
   * @default 3600
   * @see https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-global-section
   */
  readonly shutdownTimeoutSeconds?: number;
  /**
   * Requests and limits of the manager container.
   *
   * @see https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
   */
  readonly managerResources: ContainerResources;
  /**
   * `Deployment` (one manager) or `DaemonSet` (a manager per node of the tenant's pool).
   *
   * @default 'Deployment'
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/
   */
  readonly workloadKind?: 'Deployment' | 'DaemonSet';
  /**
   * Labels of the PodMonitor, as the Prometheus `podMonitorSelector` matches them.
   *
   * @default {}
   * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMonitor
   */
  readonly podMonitorLabels?: Readonly<Record<string, string>>;
  /**
   * Scrape interval of the manager's metrics.
   *
   * @default '30s'
   * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMetricsEndpoint
   */
  readonly scrapeInterval?: string;
  /**
   * Annotations the GitOps tool needs on the PodMonitor (a CRD kind).
   *
   * @default - none
   * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
   */
  readonly delivery?: DeliveryPolicy;
  /**
   * Annotations, labels, host aliases, pull Secrets, priority, affinity and extra environment of
   * the manager pod, and what job pods get through config.toml (validated by the loader).
   *
   * @default - none
   * @see https://docs.gitlab.com/runner/executors/kubernetes/#configuration-settings
   */
  readonly podSettings?: PodSettings;
  /**
   * Custom CA bundle and HTTP(S) proxy: mounted and set in the manager pod, `tls-ca-file`, job
   * environment and volumes in config.toml.
   *
   * @default - none
   * @see https://docs.gitlab.com/runner/configuration/tls-self-signed/
   */
  readonly network?: EnterpriseNetwork;
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
  /** The manager's Deployment or DaemonSet. */
  public readonly workload: ApiObject;

  constructor(scope: Construct, id: string, props: TenantRunnerProps) {
    super(scope, id);
    const { tenantName, isolation, cache } = props;
    const tokenSecretName = props.tokenSecretName ?? isolation.names.tokenSecret;
    const imagePullSecrets = props.imagePullSecrets ?? [];
    const checkInterval = props.checkInterval ?? 3;
    const logLevel = props.logLevel ?? 'info';
    const logFormat = props.logFormat ?? 'json';
    const shutdownTimeoutSeconds = props.shutdownTimeoutSeconds ?? 3600;
    const workloadKind = props.workloadKind ?? 'Deployment';
    const podMonitorLabels = props.podMonitorLabels ?? {};
    const scrapeInterval = props.scrapeInterval ?? '30s';
    const delivery = props.delivery ?? DeliveryPolicy.NONE;
    const { names, namespace, jobNamespace } = isolation;
    const network = props.network ?? EnterpriseNetwork.NONE;

    this.addIdentities(isolation, cache);

    this.runnerConfig = {
      concurrent: props.concurrent,
      check_interval: checkInterval,
      log_level: logLevel,
      log_format: logFormat,
      listen_address: `:${METRICS_PORT}`,
      shutdown_timeout: shutdownTimeoutSeconds,
      runners: props.runners.map((runner) => runnerSection(runner, {
        url: props.gitlabUrl,
        tokenEnv: runnerTokenEnv(runner.name),
        helperImage: props.helperImage,
        helperRunAsUser: props.helperRunAsUser,
        namespace: jobNamespace,
        serviceAccount: names.jobServiceAccount,
        nodeSelector: isolation.scheduling.nodeSelector,
        nodeTolerations: isolation.scheduling.runnerNodeTolerations,
        podLabels: jobPodLabels(tenantName, runner.name),
        imagePullSecrets,
        priorityClassName: isolation.priorityClassName,
        jobEnvironment: [...cache.jobEnvironment, ...network.jobEnvironment],
        secretVolumes: [...cache.jobSecretVolumes, ...network.jobSecretVolumes],
        configMapVolumes: network.jobConfigMapVolumes,
        tlsCaFile: network.tlsCaFile,
        jobPod: jobPodConfig(tenantName, (props.podSettings ?? NO_POD_SETTINGS).jobs),
        extraVolumes: jobVolumesConfig(runner.volumes),
        cache: cache.runnerCache(runner.name),
      })),
    };
    this.configToml = renderRunnerConfig(this.runnerConfig);
    assertConfigMapSize(names.configMap, { 'config.toml': this.configToml });
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: names.configMap, namespace },
      data: { 'config.toml': this.configToml },
    });

    const template = this.podTemplate(props, { tokenSecretName, shutdownTimeoutSeconds });
    this.workload = this.addWorkload(workloadKind, template, tenantName, isolation);

    this.addPodMonitor(tenantName, isolation, { podMonitorLabels, scrapeInterval, delivery });
  }

  /** ServiceAccounts of the manager and the job pods, and the manager's Role where the jobs run. */
  private addIdentities(isolation: TenantIsolation, cache: KanikoCache): void {
    const { names, namespace, jobNamespace } = isolation;
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
  }

  /** The PodMonitor that lets Prometheus scrape the manager, relabelled with the tenant. */
  private addPodMonitor(
    tenantName: string,
    isolation: TenantIsolation,
    settings: { podMonitorLabels: Readonly<Record<string, string>>; scrapeInterval: string; delivery: DeliveryPolicy },
  ): void {
    const { podMonitorLabels, scrapeInterval, delivery } = settings;
    const { names, namespace } = isolation;
    new PodMonitor(this, 'PodMonitor', {
      metadata: {
        name: names.podMonitor,
        namespace,
        labels: { ...podMonitorLabels },
        annotations: delivery.annotationsFor(PodMonitor.GVK.apiVersion, PodMonitor.GVK.kind),
      },
      spec: {
        selector: { matchLabels: podSelectorLabels(tenantName, 'manager') },
        namespaceSelector: { matchNames: [namespace] },
        podMetricsEndpoints: [{
          port: 'metrics',
          path: '/metrics',
          interval: scrapeInterval,
          relabelings: [{
            action: PodMonitorSpecPodMetricsEndpointsRelabelingsAction.REPLACE,
            targetLabel: 'tenant',
            replacement: tenantName,
          }],
        }],
      },
    });
  }

  /** The manager's pod: config.toml from the ConfigMap, tokens and S3 keys from Secrets, hardened. */
  private podTemplate(props: TenantRunnerProps, resolved: { tokenSecretName: string; shutdownTimeoutSeconds: number }): k8s.PodTemplateSpec {
    const { tenantName, isolation, cache, secrets } = props;
    const { names } = isolation;
    const pod = managerPodParts(tenantName, (props.podSettings ?? NO_POD_SETTINGS).manager);
    const network = props.network ?? EnterpriseNetwork.NONE;
    const metricsProbe = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      // The metrics endpoint answers while the process is healthy, whether or not GitLab is
      // reachable, so a GitLab outage never restarts every runner.
      httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 5,
    });

    return {
      metadata: {
        // The project's labels and annotations last: selectors and rollouts rely on them.
        labels: { ...pod.labels, ...managerPodLabels(tenantName) },
        annotations: { ...pod.annotations, 'checksum/config': createHash('sha256').update(this.configToml).digest('hex'), ...secrets.podAnnotations },
      },
      spec: {
        serviceAccountName: names.managerServiceAccount,
        ...pod.spec,
        // In the shared namespace the tenant's PriorityClass scopes its quota (a user one is refused).
        priorityClassName: isolation.priorityClassName ?? pod.spec.priorityClassName,
        // The manager is the one pod that needs an API token (to create job pods).
        automountServiceAccountToken: true,
        nodeSelector: isolation.scheduling.nodeSelector,
        tolerations: isolation.scheduling.tolerations,
        // Graceful stop (SIGQUIT in preStop) lets running jobs finish; shutdown_timeout then
        // bounds the forceful phase. The margin covers that phase.
        terminationGracePeriodSeconds: resolved.shutdownTimeoutSeconds + 60,
        securityContext: hardenedPodSecurityContext(RUNNER_UID, RUNNER_GID),
        containers: [{
          name: 'gitlab-runner',
          image: props.image,
          imagePullPolicy: 'IfNotPresent',
          // config.toml comes from a read-only ConfigMap; the runner writes .runner_system_id
          // next to it, so it runs from a copy in a writable emptyDir.
          command: ['/bin/sh', '-c'],
          args: [
            `cp ${CONFIG_TEMPLATE_DIR}/config.toml ${CONFIG_DIR}/config.toml && ` +
              `exec gitlab-runner run --config ${CONFIG_DIR}/config.toml --working-directory ${HOME_DIR}`,
          ],
          env: [
            ...props.runners.map((runner) => ({
              name: runnerTokenEnv(runner.name),
              valueFrom: { secretKeyRef: { name: resolved.tokenSecretName, key: runnerTokenKey(runner) } },
            })),
            ...cache.managerEnv,
            ...network.podEnv('manager'),
            ...pod.env,
          ],
          envFrom: pod.envFrom,
          ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
          resources: resourceRequirements(props.managerResources),
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
            ...network.podVolumeMounts,
          ],
        }],
        volumes: [
          { name: 'config-template', configMap: { name: names.configMap } },
          { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
          { name: 'home', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
          { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
          ...network.podVolumes,
        ],
      },
    };
  }

  private addWorkload(kind: 'Deployment' | 'DaemonSet', template: k8s.PodTemplateSpec, tenantName: string, isolation: TenantIsolation): ApiObject {
    const metadata = { name: isolation.names.workload, namespace: isolation.namespace, labels: managerPodLabels(tenantName) };
    const selector = { matchLabels: podSelectorLabels(tenantName, 'manager') };
    if (kind === 'DaemonSet') {
      // Variant 3: a manager on every node of the tenant's pool, each with its own `concurrent`.
      // maxSurge 0: a node's old manager drains its jobs before the new one starts there.
      return new k8s.KubeDaemonSet(this, 'DaemonSet', {
        metadata,
        spec: { selector, template, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } } },
      });
    }
    return new k8s.KubeDeployment(this, 'Deployment', {
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

/** Kubernetes refuses a ConfigMap whose data exceeds 1 MiB (etcd's object size limit). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** Fails the synth (naming the ConfigMap, its size and the limit) before a ConfigMap the API server would refuse is written. */
export function assertConfigMapSize(name: string, data: Record<string, string>): void {
  const bytes = Object.entries(data).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  if (bytes > CONFIGMAP_MAX_BYTES) {
    throw new OutputLimitError(`ConfigMap ${name} would hold ${bytes} bytes (${(bytes / CONFIGMAP_MAX_BYTES).toFixed(2)} MiB), over the ${CONFIGMAP_MAX_BYTES} bytes (1 MiB) Kubernetes accepts; reduce runners, their environment or allowedImages/allowedServices`);
  }
}
