/**
 * Pod settings and job volumes (docs/pod-settings.md): the properties that keep them inside the
 * tenant, checked on synthesized output and on the schema and rules directly. The invalid fixtures
 * (test/fixtures/invalid/pod-*, manager-env-*, job-volumes-*) hold the exact error lines.
 */
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { TenantSchema, PlatformSchema } from '../lib/config/schema';
import { reservedMetadataKey, SELECTOR_LABEL_KEYS, reservedManagerEnv, reservedEnvPrefix } from '../lib/config/schema-pod-settings';
import { RESERVED_JOB_PATHS, reservedJobPath } from '../lib/config/pod-settings-rules';
import { KANIKO_DOCKER_CONFIG_DIR } from '../lib/constructs/kaniko-cache';
import { TenantRunner, TenantRunnerProps } from '../lib/constructs/tenant-runner';
import { managerPodParts, NO_POD_SETTINGS, PodSettings, runnerAffinity } from '../lib/constructs/pod-settings';
import { jobPodLabels, managerPodLabels, podSelectorLabels, TENANT_LABEL } from '../lib/model/labels';
import { podSettingsSecrets } from '../lib/model/pod-settings';
import { validateRunnerToml } from './support/validate';
import { find, ofKind, synthesizeDir, VALID_FIXTURES, Any } from './support/synth';
import { Json, MANAGER, runner, synth, wired } from './constructs/props';

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

const fixture = synthesizeDir(path.join(VALID_FIXTURES, 'pod-settings'));
const teamA = fixture.find((t) => t.tenant.name === 'team-a')!;
const teamB = fixture.find((t) => t.tenant.name === 'team-b')!;

function parts(t: typeof teamA) {
  const deployment = find(t.objects, 'Deployment', t.layout.names.workload);
  const toml = parseToml(find(t.objects, 'ConfigMap', t.layout.names.configMap).data['config.toml']) as Any;
  return { deployment, template: deployment.spec.template, toml };
}

describe('the pod-settings fixture', () => {
  const { template, toml } = parts(teamA);

  test('user labels are on the pods, and every NetworkPolicy podSelector still matches the manager and job pods', () => {
    expect(template.metadata.labels).toMatchObject({ 'example.com/team': 'team-a', ...managerPodLabels('team-a') });
    const policies = ofKind(teamA.objects, 'NetworkPolicy');
    const managerPolicies = policies.filter((p) => p.spec.podSelector.matchLabels?.[TENANT_LABEL] && p.spec.podSelector.matchLabels['tenant-runners.io/role'] === 'manager');
    const jobPolicies = policies.filter((p) => p.spec.podSelector.matchLabels?.['tenant-runners.io/role'] === 'job');
    expect(managerPolicies.length).toBeGreaterThanOrEqual(2);
    expect(jobPolicies.length).toBeGreaterThanOrEqual(1);
    for (const p of managerPolicies) expect(matches(p.spec.podSelector.matchLabels, template.metadata.labels)).toBe(true);
    for (const r of toml.runners) {
      expect(r.kubernetes.pod_labels).toEqual({ 'example.com/team': 'team-a', ...jobPodLabels('team-a', r.name) });
      for (const p of jobPolicies) expect(matches(p.spec.podSelector.matchLabels, r.kubernetes.pod_labels)).toBe(true);
      // Jobs cannot add or change labels and annotations.
      expect(r.kubernetes.pod_labels_overwrite_allowed).toBe('');
      expect(r.kubernetes.pod_annotations_overwrite_allowed).toBe('');
    }
  });

  test('platform defaults and the tenant file merge: annotations from both, the pull Secret from defaults', () => {
    expect(template.metadata.annotations).toMatchObject({ 'example.com/owner': 'platform-team', 'example.com/cost-center': '4711' });
    expect(template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(template.spec.imagePullSecrets).toEqual([{ name: 'runner-image-pull' }]);
    expect(toml.runners[0].kubernetes.pod_annotations).toEqual({ 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false', 'example.com/project': '$CI_PROJECT_PATH' });
    const b = parts(teamB);
    expect(b.template.metadata.annotations['example.com/owner']).toBe('platform-team');
    expect(b.template.spec.imagePullSecrets).toEqual([{ name: 'runner-image-pull' }]);
    expect(b.toml.runners[0].kubernetes.pod_annotations).toEqual({ 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' });
  });

  test('host aliases, priority, affinity and spread reach the manager pod; pod selectors are pinned to the tenant', () => {
    const spec = template.spec;
    expect(spec.hostAliases).toEqual([{ ip: '10.20.0.5', hostnames: ['gitlab.internal.example.com'] }, { ip: 'fd00::5', hostnames: ['gitlab6.internal.example.com'] }]);
    expect(spec.priorityClassName).toBe('runner-managers');
    // The tenant's nodeSelector stays next to the node affinity (Kubernetes ANDs them).
    expect(spec.nodeSelector).toEqual({ tenant: 'team-a', workload: 'gitlab-runner' });
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: 'node.example.com/spot', operator: 'NotIn', values: ['true'] });
    const term = spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    expect(term.labelSelector.matchLabels).toEqual({ 'tenant-runners.io/role': 'job', [TENANT_LABEL]: 'team-a' });
    expect(term.namespaces).toEqual(['team-a-build']);
    expect(term.namespaceSelector).toBeUndefined();
    expect(spec.topologySpreadConstraints).toEqual([{
      maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: podSelectorLabels('team-a', 'manager') },
    }]);
  });

  test('extra manager environment is references only, after the token variables, and never a token variable', () => {
    const container = template.spec.containers[0];
    const names = container.env.map((e: Any) => e.name);
    expect(names).toEqual(['RUNNER_TOKEN_JAVA', 'RUNNER_TOKEN_PLAIN', 'EXTRA_CA_NOTE', 'SENTRY_DSN']);
    for (const e of container.env) {
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef).toBeDefined();
    }
    expect(container.envFrom).toEqual([{ prefix: 'EXTRA_', configMapRef: { name: 'runner-extra' } }]);
  });

  test('job pods get host aliases, priority and affinity in config.toml\'s snake_case, selectors pinned', () => {
    const k = toml.runners[0].kubernetes;
    expect(k.host_aliases).toEqual([{ ip: '10.20.0.6', hostnames: ['artifacts.internal.example.com', 'mirror.internal.example.com'] }]);
    expect(k.priority_class_name).toBe('ci-jobs');
    expect(k.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms[0].match_expressions).toEqual([
      { key: 'node.example.com/disk', operator: 'In', values: ['ssd'] },
      { key: 'node.example.com/cores', operator: 'Gt', values: ['7'] },
    ]);
    const preferred = k.affinity.pod_affinity.preferred_during_scheduling_ignored_during_execution[0];
    expect(preferred.weight).toBe(10);
    expect(preferred.pod_affinity_term.label_selector).toEqual({
      match_labels: { [TENANT_LABEL]: 'team-a' },
      match_expressions: [{ key: 'tenant-runners.io/runner', operator: 'In', values: ['java'] }],
    });
    const required = k.affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution[0];
    expect(required.namespaces).toEqual(['team-a-build', 'team-a']);
    expect(required.label_selector.match_labels[TENANT_LABEL]).toBe('team-a');
    // Both runners of the tenant get the tenant's job settings; node_selector is never replaced.
    expect(toml.runners[1].kubernetes.affinity).toEqual(k.affinity);
    for (const r of toml.runners) expect(r.kubernetes.node_selector).toEqual({ tenant: 'team-a', workload: 'gitlab-runner' });
  });

  test('job volumes of every type, after the Kaniko push Secret, only on the runner that declares them', () => {
    const java = toml.runners.find((r: Any) => r.name === 'java').kubernetes.volumes;
    expect(java).toEqual({
      secret: [
        { name: 'kaniko-push-credentials', mount_path: KANIKO_DOCKER_CONFIG_DIR, read_only: true, items: { '.dockerconfigjson': 'config.json' } },
        { name: 'npm-rc', mount_path: '/secrets/npm', read_only: true, items: { npmrc: '.npmrc' } },
      ],
      config_map: [{ name: 'maven-settings', mount_path: '/etc/maven', read_only: true, items: { 'settings.xml': 'settings.xml' } }],
      empty_dir: [
        { name: 'scratch', mount_path: '/scratch', medium: 'Memory', size_limit: '512Mi' },
        { name: 'm2', mount_path: '/cache/m2', size_limit: '4Gi' },
      ],
      pvc: [{ name: 'gradle-cache-$CI_CONCURRENT_ID', mount_path: '/cache/gradle', read_only: false }],
      csi: [{ name: 'vault-secrets', mount_path: '/secrets/vault', driver: 'secrets-store.csi.k8s.io', read_only: true, volume_attributes: { secretProviderClass: 'team-a-vault' } }],
    });
    const plain = toml.runners.find((r: Any) => r.name === 'plain').kubernetes.volumes;
    expect(plain).toEqual({ secret: [expect.objectContaining({ name: 'kaniko-push-credentials' })] });
    expect(Object.keys(java)).not.toContain('host_path');
  });

  test('config.toml validates against the gitlab-runner schema, and would not with a misspelled volume key', () => {
    const text = find(teamA.objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml'];
    expect(validateRunnerToml(text)).toEqual([]);
    expect(validateRunnerToml(text.replace('size_limit', 'sizeLimit')).join('\n')).toMatch(/additional/);
  });

  test('the tenant\'s own Secrets are listed for review, and none of them is the runner\'s', () => {
    expect(podSettingsSecrets(teamA.tenant)).toEqual(['npm-rc', 'runner-extra-secrets', 'runner-image-pull']);
    expect(podSettingsSecrets(teamA.tenant)).not.toContain(teamA.tenant.tokenSecretName);
  });
});

describe('TenantRunner with pod settings that bypass the schema', () => {
  const build = (podSettings: PodSettings, jobNamespace?: string) => {
    const wiring = wired(jobNamespace ? { jobNamespace } : {});
    const props: TenantRunnerProps = {
      tenantName: 'acme',
      ...wiring,
      gitlabUrl: 'https://gitlab.example.com',
      concurrent: 4,
      runners: [runner('docker')],
      image: 'registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.0.0',
      helperImage: 'registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.0.0',
      managerResources: MANAGER,
      podSettings,
    };
    const r = new TenantRunner(wiring.chart, 'Runner', props);
    const objects = synth(wiring.chart);
    return { toml: parseToml(r.configToml) as Json, deployment: objects.find((o: Json) => o.kind === 'Deployment'), objects };
  };

  test('selector labels and the checksum annotation always win over user labels with the same keys', () => {
    const hostile: PodSettings = {
      manager: { ...NO_POD_SETTINGS.manager, labels: { [TENANT_LABEL]: 'zeta', 'tenant-runners.io/role': 'job' }, annotations: { 'checksum/config': 'forged' } },
      jobs: { ...NO_POD_SETTINGS.jobs, labels: { [TENANT_LABEL]: 'zeta', 'tenant-runners.io/role': 'manager' } },
    };
    const { toml, deployment, objects } = build(hostile);
    expect(deployment.spec.template.metadata.labels).toMatchObject(managerPodLabels('acme'));
    expect(deployment.spec.template.metadata.annotations['checksum/config']).not.toBe('forged');
    expect(toml.runners[0].kubernetes.pod_labels).toEqual(jobPodLabels('acme', 'docker'));
    // The selectors of the workload and of the policies still match.
    expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    for (const p of objects.filter((o: Json) => o.kind === 'NetworkPolicy' && o.spec.podSelector.matchLabels)) {
      const target = p.spec.podSelector.matchLabels['tenant-runners.io/role'] === 'job' ? toml.runners[0].kubernetes.pod_labels : deployment.spec.template.metadata.labels;
      expect(matches(p.spec.podSelector.matchLabels, target)).toBe(true);
    }
  });

  test('without pod settings nothing is added (no empty keys in config.toml or the pod spec)', () => {
    const { toml, deployment } = build(NO_POD_SETTINGS);
    const k = toml.runners[0].kubernetes;
    for (const key of ['pod_annotations', 'host_aliases', 'affinity', 'priority_class_name']) expect(k[key]).toBeUndefined();
    expect(k.pod_labels).toEqual(jobPodLabels('acme', 'docker'));
    for (const key of ['hostAliases', 'imagePullSecrets', 'priorityClassName', 'affinity', 'topologySpreadConstraints']) expect(deployment.spec.template.spec[key]).toBeUndefined();
    expect(deployment.spec.template.spec.containers[0].envFrom).toBeUndefined();
  });

  test('in the shared namespace the isolation\'s PriorityClass wins over a user one', () => {
    const wiring = wired({ sharedNamespace: true });
    new TenantRunner(wiring.chart, 'Runner', {
      tenantName: 'acme', ...wiring, gitlabUrl: 'https://gitlab.example.com', concurrent: 1, runners: [runner('docker')],
      image: 'r/runner:1', helperImage: 'r/helper:1', managerResources: MANAGER,
      podSettings: { manager: { ...NO_POD_SETTINGS.manager, priorityClassName: 'mine' }, jobs: { ...NO_POD_SETTINGS.jobs, priorityClassName: 'mine' } },
    });
    const objects = synth(wiring.chart);
    const deployment = objects.find((o: Json) => o.kind === 'Deployment');
    expect(deployment.spec.template.spec.priorityClassName).toBe(wiring.isolation.priorityClassName);
    const toml = parseToml(objects.find((o: Json) => o.kind === 'ConfigMap' && o.data?.['config.toml']).data['config.toml']) as Json;
    expect(toml.runners[0].kubernetes.priority_class_name).toBe(wiring.isolation.priorityClassName);
  });

  test('affinity terms without a labelSelector stay without one (they match no pod); with one they get the tenant label', () => {
    const affinity = {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { topologyKey: 'kubernetes.io/hostname' },
          { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' as const }] } },
        ],
      },
    };
    const manager = managerPodParts('acme', { ...NO_POD_SETTINGS.manager, affinity });
    const [bare, selected] = manager.spec.affinity!.podAffinity!.requiredDuringSchedulingIgnoredDuringExecution!;
    expect(bare.labelSelector).toBeUndefined();
    expect(selected.labelSelector).toEqual({ matchExpressions: [{ key: 'app', operator: 'Exists' }], matchLabels: { [TENANT_LABEL]: 'acme' } });
    const toml = runnerAffinity(affinity, 'acme')!;
    expect(toml.pod_affinity!.required_during_scheduling_ignored_during_execution![1].label_selector!.match_labels).toEqual({ [TENANT_LABEL]: 'acme' });
  });
});

describe('the schema and rules on their own', () => {
  const tenant = (extra: object) => ({
    name: 'acme', concurrent: 1, nodes: { labels: { tenant: 'acme' } }, runners: [{ name: 'builds', ...extra }],
    cache: { s3: { bucket: 'acme-cache', auth: { type: 'podIdentity' } } },
  });

  test('hostPath and nfs volumes are refused with the reason, whatever their content', () => {
    for (const [key, why] of [['hostPath', /node's file system .* breaks tenant isolation/], ['nfs', /outside the NetworkPolicies/]] as const) {
      for (const value of [[], [{ name: 'x', mountPath: '/x' }], {}]) {
        const result = TenantSchema.safeParse(tenant({ volumes: { [key]: value } }));
        expect(result.success).toBe(false);
        expect(result.error!.issues.map((i) => i.message).join('\n')).toMatch(why);
      }
    }
    expect(TenantSchema.safeParse(tenant({ volumes: { emptyDir: [{ name: 'x', mountPath: '/x' }] } })).success).toBe(true);
  });

  test('every selector label key is refused on pods, as labels and as annotations', () => {
    expect(SELECTOR_LABEL_KEYS).toEqual(expect.arrayContaining(Object.keys({ ...managerPodLabels('a'), ...jobPodLabels('a', 'b') })));
    for (const key of SELECTOR_LABEL_KEYS) {
      expect(reservedMetadataKey(key, 'label')).toMatch(/sets itself/);
      expect(reservedMetadataKey(key, 'annotation')).toBeDefined();
    }
    expect(reservedMetadataKey('example.com/team', 'label')).toBeUndefined();
    expect(reservedMetadataKey('app.kubernetes.io/version', 'label')).toBeUndefined();
    expect(reservedMetadataKey('node.kubernetes.io/anything', 'label')).toMatch(/under kubernetes.io/);
    expect(reservedMetadataKey('container.apparmor.security.beta.kubernetes.io/build', 'annotation')).toMatch(/under kubernetes.io/);
    expect(reservedMetadataKey('cluster-autoscaler.kubernetes.io/safe-to-evict', 'annotation')).toBeUndefined();
  });

  test('mount paths: the Kaniko credentials dir is reserved, and so is what is above or inside the reserved paths', () => {
    expect(RESERVED_JOB_PATHS.some((p: string) => KANIKO_DOCKER_CONFIG_DIR === p || KANIKO_DOCKER_CONFIG_DIR.startsWith(`${p}/`))).toBe(true);
    expect(reservedJobPath(KANIKO_DOCKER_CONFIG_DIR)).toMatch(/Kaniko/);
    expect(reservedJobPath('/kaniko')).toMatch(/Kaniko/);
    expect(reservedJobPath('/var')).toMatch(/above \/var\/run\/secrets/);
    expect(reservedJobPath('/etc')).toMatch(/would replace \/etc\/hosts/);
    expect(reservedJobPath('/builds-cache')).toBeUndefined();
    expect(reservedJobPath('/etc/maven')).toBeUndefined();
    expect(reservedJobPath('/logs-1-2/x')).toMatch(/scripts and logs/);
  });

  test('reserved manager variables and envFrom prefixes', () => {
    expect(reservedManagerEnv('RUNNER_TOKEN_BUILDS')).toBe('RUNNER_TOKEN_*');
    expect(reservedManagerEnv('AWS_WEB_IDENTITY_TOKEN_FILE')).toBe('AWS_*');
    expect(reservedManagerEnv('SENTRY_DSN')).toBeUndefined();
    expect(reservedEnvPrefix('RUNNER_')).toBe('RUNNER_TOKEN_');
    expect(reservedEnvPrefix('A')).toBeDefined();
    expect(reservedEnvPrefix('EXTRA_')).toBeUndefined();
  });

  test('runner.allowedCsiDrivers defaults to none', () => {
    const platform = PlatformSchema.parse({
      gitlab: { url: 'https://gitlab.example.com', egressCidrs: ['203.0.113.10/32'] },
      kubernetes: { apiServerCidrs: ['192.0.2.10/32'], clusterCidrs: ['10.0.0.0/8'] },
      s3: { region: 'eu-central-1', egressCidrs: ['198.51.100.0/24'] },
      registry: { host: 'registry.local', egressCidrs: ['198.51.100.20/32'] },
    });
    expect(platform.runner.allowedCsiDrivers).toEqual([]);
  });
});

describe('the pod-settings fixture in the shared namespace', () => {
  const tenants = synthesizeDir(path.join(VALID_FIXTURES, 'pod-settings-shared'));
  const alpha = tenants.find((t) => t.tenant.name === 'alpha')!;
  const { template, toml } = parts(alpha);

  test('the tenant keeps its quota-scoping PriorityClass, and its pod selectors match only its own pods', () => {
    expect(template.spec.priorityClassName).toBe('alpha-gitlab-runner');
    expect(toml.runners[0].kubernetes.priority_class_name).toBe('alpha-gitlab-runner');
    const term = template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    expect(term.namespaces).toEqual(['gitlab-runners']);
    expect(term.labelSelector.matchLabels[TENANT_LABEL]).toBe('alpha');
    const jobTerm = toml.runners[0].kubernetes.affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution[0].pod_affinity_term;
    expect(jobTerm.label_selector.match_labels).toEqual({ 'tenant-runners.io/role': 'job', [TENANT_LABEL]: 'alpha' });
    // Another tenant's job pods in the same namespace are never matched.
    const bravo = parts(tenants.find((t) => t.tenant.name === 'bravo')!);
    expect(matches(jobTerm.label_selector.match_labels, bravo.toml.runners[0].kubernetes.pod_labels)).toBe(false);
  });

  test('every object a tenant names in the shared namespace carries its prefix', () => {
    const named = [...podSettingsSecrets(alpha.tenant), ...alpha.tenant.runners.flatMap((r) => [...r.volumes.configMap, ...r.volumes.pvc].map((v) => v.name))];
    expect(named.length).toBeGreaterThanOrEqual(5);
    for (const name of named) expect(name.startsWith('alpha-')).toBe(true);
  });
});
