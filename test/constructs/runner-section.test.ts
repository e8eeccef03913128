import { KANIKO_CAPABILITIES, runnerSection, RunnerSectionContext } from '../../lib/runner-config/runner-section';
import { CacheConfig } from '../../lib/runner-config/model';
import { runner } from './props';

const cache: CacheConfig = {
  Type: 's3',
  Path: 'cache/docker',
  Shared: true,
  s3: { BucketName: 'acme-cache', BucketLocation: 'eu-central-1', AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
};

const context = (overrides: Partial<RunnerSectionContext> = {}): RunnerSectionContext => ({
  url: 'https://gitlab.example.com',
  tokenEnv: 'RUNNER_TOKEN_DOCKER',
  helperImage: 'registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.0.0',
  namespace: 'acme-build',
  serviceAccount: 'gitlab-runner-jobs',
  nodeSelector: { pool: 'acme' },
  nodeTolerations: { 'dedicated=acme': 'NoSchedule' },
  podLabels: { 'tenant-runners.io/tenant': 'acme' },
  imagePullSecrets: [],
  jobEnvironment: ['KANIKO_CACHE_REPO=registry.example.com/acme/cache'],
  secretVolumes: [{ name: 'kaniko-push-credentials', mount_path: '/kaniko/.docker', read_only: true }],
  cache,
  ...overrides,
});

describe('runnerSection', () => {
  test('the context places the job pods: namespace, service account, scheduling, labels, cache', () => {
    const section = runnerSection(runner('docker'), context());
    expect(section).toMatchObject({ name: 'docker', url: 'https://gitlab.example.com', token: '${RUNNER_TOKEN_DOCKER}', executor: 'kubernetes', cache });
    expect(section.kubernetes).toMatchObject({
      namespace: 'acme-build',
      service_account: 'gitlab-runner-jobs',
      node_selector: { pool: 'acme' },
      node_tolerations: { 'dedicated=acme': 'NoSchedule' },
      pod_labels: { 'tenant-runners.io/tenant': 'acme' },
      automount_service_account_token: false,
      privileged: false,
    });
    expect(section.kubernetes.volumes?.secret).toEqual([{ name: 'kaniko-push-credentials', mount_path: '/kaniko/.docker', read_only: true }]);
  });

  test('the runner spec reaches the section: image, sizes, pull policies, environment after the job environment', () => {
    const spec = runner('docker', { image: 'busybox:1', environment: { FOO: 'bar' }, pullPolicy: ['always', 'if-not-present'], pollTimeoutSeconds: 300 });
    const section = runnerSection(spec, context());
    expect(section.kubernetes).toMatchObject({
      image: 'busybox:1',
      cpu_request: '500m',
      memory_limit: '4Gi',
      helper_memory_limit: '256Mi',
      service_cpu_limit: '1',
      pull_policy: ['always', 'if-not-present'],
      allowed_pull_policies: ['always', 'if-not-present'],
      poll_timeout: 300,
    });
    expect(section.environment).toEqual(['KANIKO_CACHE_REPO=registry.example.com/acme/cache', 'FOO=bar']);
  });

  test('unset optional settings are left out: limit 0, empty allow lists, no pull secrets, no priority class', () => {
    const section = runnerSection(runner('docker'), context());
    expect(section.limit).toBeUndefined();
    expect(section.kubernetes.allowed_images).toBeUndefined();
    expect(section.kubernetes.allowed_services).toBeUndefined();
    expect(section.kubernetes.image_pull_secrets).toBeUndefined();
    expect(section.kubernetes.priority_class_name).toBeUndefined();
  });

  test('set optional settings are written', () => {
    const section = runnerSection(
      runner('docker', { limit: 2, allowedImages: ['alpine:*'], allowedServices: ['postgres:*'] }),
      context({ imagePullSecrets: ['pull'], priorityClassName: 'acme-gitlab-runner' }),
    );
    expect(section.limit).toBe(2);
    expect(section.kubernetes).toMatchObject({
      allowed_images: ['alpine:*'],
      allowed_services: ['postgres:*'],
      image_pull_secrets: ['pull'],
      priority_class_name: 'acme-gitlab-runner',
    });
  });

  test('security contexts: Kaniko capabilities on build, everything dropped on helper, helper user opt-in', () => {
    const plain = runnerSection(runner('docker'), context()).kubernetes;
    expect(plain.build_container_security_context.capabilities).toEqual({ drop: ['ALL'], add: KANIKO_CAPABILITIES });
    expect(plain.helper_container_security_context).toEqual({
      privileged: false, allow_privilege_escalation: false, seccomp_profile: { type: 'RuntimeDefault' }, capabilities: { drop: ['ALL'] },
    });
    const withUser = runnerSection(runner('docker'), context({ helperRunAsUser: 1000 })).kubernetes;
    expect(withUser.helper_container_security_context).toMatchObject({ run_as_non_root: true, run_as_user: 1000, run_as_group: 1000 });
    expect(withUser.service_container_security_context.capabilities).toBeUndefined();
  });

  test('is pure: the same input gives an equal section and never shares the input arrays', () => {
    const spec = runner('docker', { allowedImages: ['alpine:*'] });
    const a = runnerSection(spec, context());
    const b = runnerSection(spec, context());
    expect(a).toEqual(b);
    expect(a.kubernetes.allowed_images).not.toBe(spec.allowedImages);
  });
});

describe('runnerSection with a CA bundle', () => {
  test('tls-ca-file and ConfigMap volumes come from the context; without them neither key is written', () => {
    const volume = { name: 'corp-ca', mount_path: '/etc/tenant-runners/ca', read_only: true, items: { 'bundle.pem': 'ca.crt' } };
    const section = runnerSection(runner('docker'), context({ tlsCaFile: '/etc/tenant-runners/ca/ca.crt', configMapVolumes: [volume] }));
    expect(section['tls-ca-file']).toBe('/etc/tenant-runners/ca/ca.crt');
    expect(section.kubernetes.volumes?.config_map).toEqual([volume]);
    const plain = runnerSection(runner('docker'), context());
    expect(plain['tls-ca-file']).toBeUndefined();
    expect(plain.kubernetes.volumes).not.toHaveProperty('config_map');
  });
});
