import { parse } from 'smol-toml';
import { DeliveryPolicy } from '../../lib/gitops/gitops-chart';
import { OutputLimitError } from '../../lib/config/errors';
import { CONFIGMAP_MAX_BYTES, TenantRunner, TenantRunnerProps } from '../../lib/constructs/tenant-runner';
import { Json, MANAGER, one, runner, synth, wired } from './props';

type Wiring = ReturnType<typeof wired>;

const build = (overrides: Partial<TenantRunnerProps> = {}, wiring: Wiring = wired()) => {
  const props: TenantRunnerProps = {
    tenantName: 'acme',
    isolation: wiring.isolation,
    cache: wiring.cache,
    secrets: wiring.secrets,
    gitlabUrl: 'https://gitlab.example.com',
    concurrent: 4,
    runners: [runner('docker'), runner('java', { tokenSecretKey: 'java-token' })],
    image: 'registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.0.0',
    helperImage: 'registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.0.0',
    managerResources: MANAGER,
    ...overrides,
  };
  const constructed = new TenantRunner(wiring.chart, 'Runner', props);
  const objects = synth(wiring.chart);
  return { runner: constructed, objects, workload: objects.find((o: Json) => o.kind === 'Deployment' || o.kind === 'DaemonSet') };
};

describe('TenantRunner', () => {
  test('config.toml: global settings with their defaults, one [[runners]] per runner, in the ConfigMap', () => {
    const { runner: r, objects } = build();
    const toml = parse(r.configToml) as Json;
    expect(toml).toMatchObject({ concurrent: 4, check_interval: 3, log_level: 'info', log_format: 'json', listen_address: ':9252', shutdown_timeout: 3600 });
    expect(toml.runners.map((x: Json) => [x.name, x.url, x.kubernetes.namespace])).toEqual([
      ['docker', 'https://gitlab.example.com', 'acme'], ['java', 'https://gitlab.example.com', 'acme'],
    ]);
    expect(toml.runners[0].cache.Path).toBe('cache/docker');
    expect(one(objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml']).toBe(r.configToml);
    const overridden = parse(build({ checkInterval: 10, logLevel: 'debug', shutdownTimeoutSeconds: 60 }).runner.configToml) as Json;
    expect(overridden).toMatchObject({ check_interval: 10, log_level: 'debug', shutdown_timeout: 60 });
  });

  test('a config.toml over 1 MiB is refused with its size (OutputLimitError)', () => {
    const environment = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`VAR_${i}`, 'x'.repeat(3000)]));
    const big = () => build({ runners: [runner('docker', { environment }), runner('java', { environment })] });
    expect(big).toThrow(OutputLimitError);
    expect(big).toThrow(new RegExp(`^ConfigMap gitlab-runner-config would hold \\d+ bytes \\(1\\.\\d\\d MiB\\), over the ${CONFIGMAP_MAX_BYTES} bytes \\(1 MiB\\) Kubernetes accepts; reduce runners, their environment or allowedImages/allowedServices$`));
  });

  test('job pods go where the isolation says: job namespace, job ServiceAccount, Role there', () => {
    const { objects, runner: r } = build({}, wired({ jobNamespace: 'acme-build' }));
    expect(r.runnerConfig.runners[0].kubernetes.namespace).toBe('acme-build');
    expect(one(objects, 'ServiceAccount', 'gitlab-runner-jobs').metadata.namespace).toBe('acme-build');
    expect(one(objects, 'Role').metadata.namespace).toBe('acme-build');
    expect(one(objects, 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'gitlab-runner', namespace: 'acme' }]);
  });

  test('a Deployment by default, a DaemonSet on request; the workload is exposed', () => {
    const deployment = build();
    expect(deployment.workload.kind).toBe('Deployment');
    expect(deployment.workload.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.runner.workload.kind).toBe('Deployment');
    const daemonSet = build({ workloadKind: 'DaemonSet' });
    expect(daemonSet.workload.kind).toBe('DaemonSet');
    expect(daemonSet.workload.metadata).toMatchObject({ name: 'gitlab-runner', namespace: 'acme' });
  });

  test('manager pod: tokens from the token Secret, hardened, scheduled on the tenant nodes, sized by the props', () => {
    const { workload } = build();
    const pod = workload.spec.template.spec;
    const env = pod.containers[0].env.map((e: Json) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]);
    expect(env).toEqual([['RUNNER_TOKEN_DOCKER', 'gitlab-runner-tokens', 'docker'], ['RUNNER_TOKEN_JAVA', 'gitlab-runner-tokens', 'java-token']]);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 100, runAsGroup: 65533, fsGroup: 65533, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.nodeSelector).toEqual({ pool: 'acme' });
    expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'acme', effect: 'NoSchedule' }]);
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(pod.terminationGracePeriodSeconds).toBe(3660);
    expect(workload.spec.selector.matchLabels).toEqual({ 'tenant-runners.io/tenant': 'acme', 'tenant-runners.io/role': 'manager' });
    expect(Object.keys(workload.spec.template.metadata.annotations)).toEqual(['checksum/config']);

    const named = build({ tokenSecretName: 'tokens' }).workload.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name;
    expect(named).toBe('tokens');
  });

  test('PodMonitor: labels and interval from the props, the tenant relabelled, delivery annotations', () => {
    const { objects } = build({ podMonitorLabels: { release: 'prom' }, scrapeInterval: '15s', delivery: new DeliveryPolicy('argocd') });
    const monitor = one(objects, 'PodMonitor');
    expect(monitor.metadata.labels).toMatchObject({ release: 'prom' });
    expect(monitor.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1' });
    expect(monitor.spec.podMetricsEndpoints[0]).toMatchObject({ interval: '15s', relabelings: [{ targetLabel: 'tenant', replacement: 'acme' }] });
    expect(build().objects.find((o: Json) => o.kind === 'PodMonitor').metadata.annotations).toBeUndefined();
  });

  test('image pull secrets and the helper user reach config.toml', () => {
    const { runner: r } = build({ imagePullSecrets: ['pull'], helperRunAsUser: 1000 });
    expect(r.runnerConfig.runners[0].kubernetes.image_pull_secrets).toEqual(['pull']);
    expect(r.runnerConfig.runners[0].kubernetes.helper_container_security_context.run_as_user).toBe(1000);
  });
});
