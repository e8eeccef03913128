import { parse as parseToml } from 'smol-toml';
import { toYaml } from '../lib/synth/engine';
import { computeQuota } from '../lib/constructs/tenant-isolation';
import { KANIKO_CAPABILITIES } from '../lib/constructs/tenant-runner';
import { Any, CONFIG_DIRS, find, synthesizeDir } from './support/synth';

const example = synthesizeDir(CONFIG_DIRS.example);
const mixed = synthesizeDir(CONFIG_DIRS['fixture mixed']);
const tenant = (list: typeof example, name: string) => list.find((t) => t.tenant.name === name)!;
const toml = (objects: Any[]) => parseToml(find(objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml']) as Any;

describe('example tenants (snapshots for review)', () => {
  test.each(example.map((t) => [t.tenant.name, t]))('%s', (_name, t) => {
    expect(t.objects.map((o) => `# ${o.kind}/${o.metadata.name}\n${toYaml(o)}`).join('---\n')).toMatchSnapshot();
  });
});

describe('tenant-1 of the example, as the seed describes it', () => {
  const { objects } = tenant(example, 'tenant-1');
  const config = toml(objects);

  test('one runner manager with 20 concurrent jobs and the two runners', () => {
    expect(config.concurrent).toBe(20);
    expect(config.runners.map((r: Any) => r.name)).toEqual(['java-builds', 'dotnet-builds']);
    expect(config.runners.map((r: Any) => r.kubernetes.image)).toEqual(['maven:3.9-eclipse-temurin-21', 'mcr.microsoft.com/dotnet/sdk:8.0']);
  });

  test('caches go to s3://tenant-1-cache/cache/<runner> with IAM auth and SSE', () => {
    expect(config.runners.map((r: Any) => r.cache)).toEqual(['java-builds', 'dotnet-builds'].map((name) => ({
      Type: 's3', Path: `cache/${name}`, Shared: true,
      s3: { BucketName: 'tenant-1-cache', BucketLocation: 'eu-central-1', AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
    })));
    expect(find(objects, 'ServiceAccount', 'gitlab-runner').metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/tenant-1-runner-cache',
    });
  });

  test('jobs get the Kaniko cache repo and push credentials, and the capabilities Kaniko needs', () => {
    for (const runner of config.runners) {
      expect(runner.environment).toContain('KANIKO_CACHE_REPO=registry.local/tenant-1/cache');
      expect(runner.kubernetes.volumes.secret).toEqual([{ name: 'kaniko-push-credentials', mount_path: '/kaniko/.docker', read_only: true, items: { '.dockerconfigjson': 'config.json' } }]);
      expect(runner.kubernetes.build_container_security_context.capabilities).toEqual({ drop: ['ALL'], add: KANIKO_CAPABILITIES });
      expect(runner.kubernetes.helper_container_security_context.capabilities).toEqual({ drop: ['ALL'] });
    }
  });

  test('the namespace enforces Pod Security baseline and warns/audits at restricted', () => {
    expect(find(objects, 'Namespace', 'tenant-1').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  test('the quota is 20 jobs of build + helper + one service, plus the manager', () => {
    // 20 × (500m + 100m + 100m) + 100m requests; 20 × (2 + 0.5 + 1) + 0.5 limits.
    expect(find(objects, 'ResourceQuota', 'gitlab-runner-jobs').spec.hard).toEqual({
      'limits.cpu': '70500m', 'limits.memory': '108032Mi', 'pods': '21',
      'requests.cpu': '14100m', 'requests.memory': '25728Mi',
      'services.loadbalancers': '0', 'services.nodeports': '0',
    });
  });

  test('manager egress reaches GitLab, the API server and S3; job egress GitLab, registry and S3', () => {
    const peers = (name: string) => find(objects, 'NetworkPolicy', name).spec.egress.map((rule: Any) =>
      `${rule.to.map((p: Any) => p.ipBlock.cidr).join(',')}:${rule.ports.map((p: Any) => p.port).join(',')}`);
    expect(peers('runner-manager-egress')).toEqual(['203.0.113.10/32:443', '192.0.2.10/32:443,6443', '198.51.100.0/24:443']);
    expect(peers('runner-jobs-egress')).toEqual(['203.0.113.10/32:443', '198.51.100.20/32:443', '198.51.100.0/24:443']);
  });
});

describe('fixture tenants: every auth mode and override', () => {
  test('staticKeys: keys reach the manager as Secret references, never config.toml; MinIO endpoint with path style', () => {
    const { objects } = tenant(mixed, 'alpha');
    const env = find(objects, 'Deployment', 'gitlab-runner').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'alpha-minio', key: 'AWS_ACCESS_KEY_ID' } } });
    expect(env).toContainEqual({ name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'alpha-minio', key: 'AWS_SECRET_ACCESS_KEY' } } });
    const s3 = toml(objects).runners[0].cache.s3;
    expect(s3).toMatchObject({ ServerAddress: 'minio.storage.svc:9000', PathStyle: true, AuthenticationType: 'iam' });
    expect(s3.AccessKey).toBeUndefined();
    expect(s3.SecretKey).toBeUndefined();
    expect(find(objects, 'ServiceAccount', 'gitlab-runner').metadata.annotations).toBeUndefined();
  });

  test('podIdentity: no IRSA annotation; KMS encryption with the key', () => {
    const { objects } = tenant(mixed, 'beta');
    expect(find(objects, 'ServiceAccount', 'gitlab-runner').metadata.annotations).toBeUndefined();
    expect(toml(objects).runners[0].cache.s3).toMatchObject({ ServerSideEncryption: 'KMS', ServerSideEncryptionKeyID: expect.stringMatching(/^arn:aws:kms:/) });
  });

  test('platform defaults merge under the tenant file; tenant values win', () => {
    const alpha = tenant(mixed, 'alpha').tenant;
    const beta = tenant(mixed, 'beta').tenant;
    expect(alpha.concurrent).toBe(4);
    expect(beta.concurrent).toBe(10);
    expect(alpha.nodes.labels).toEqual({ workload: 'ci', tenant: 'alpha' });
  });

  test('runner options reach config.toml: limit, allow-lists, environment, resources, pull policy', () => {
    const [builds] = toml(tenant(mixed, 'alpha').objects).runners;
    expect(builds.limit).toBe(3);
    expect(builds.kubernetes.allowed_images).toEqual(['harbor.internal.example/alpha/*', 'maven:*']);
    expect(builds.kubernetes.allowed_services).toEqual(['postgres:16*']);
    expect(builds.environment).toContain('MAVEN_OPTS=-Xmx2g');
    expect(builds.kubernetes).toMatchObject({ cpu_request: '1', memory_request: '2Gi', memory_limit: '6Gi', cpu_limit: '2', ephemeral_storage_request: '5Gi', ephemeral_storage_limit: '20Gi' });
    const [small] = toml(tenant(mixed, 'beta').objects).runners;
    expect(small.kubernetes.pull_policy).toEqual(['always']);
    expect(small.kubernetes.allowed_pull_policies).toEqual(['always']);
    expect(small.limit).toBeUndefined();
  });

  test('token Secret name and key overrides reach the manager env', () => {
    const env = find(tenant(mixed, 'beta').objects, 'Deployment', 'gitlab-runner').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'RUNNER_TOKEN_SMALL', valueFrom: { secretKeyRef: { name: 'beta-runner-tokens', key: 'small-token' } } });
    expect(env).toContainEqual({ name: 'RUNNER_TOKEN_LARGE', valueFrom: { secretKeyRef: { name: 'beta-runner-tokens', key: 'large' } } });
  });

  test('the quota is sized by the largest runner and honours overrides', () => {
    const beta = tenant(mixed, 'beta');
    const computed = computeQuota(beta.config.platform, beta.tenant);
    // 10 × (8 + 0.5 + 1) cpu limits of the large runner + the manager's 0.5.
    expect(computed['limits.cpu']).toBe('95500m');
    expect(find(beta.objects, 'ResourceQuota', 'gitlab-runner-jobs').spec.hard.pods).toBe('30');
    const alpha = tenant(mixed, 'alpha');
    // Two services per job: 4 × (1 + 0.1 + 2 × 0.1) + 0.1 requested cores.
    expect(computeQuota(alpha.config.platform, alpha.tenant)['requests.cpu']).toBe('5300m');
  });

  test('extra egress is granted to job pods only', () => {
    const { objects } = tenant(mixed, 'alpha');
    const jobRules = find(objects, 'NetworkPolicy', 'runner-jobs-egress').spec.egress;
    expect(jobRules).toContainEqual({ to: [{ ipBlock: { cidr: '10.50.0.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 8081 }] });
    expect(JSON.stringify(find(objects, 'NetworkPolicy', 'runner-manager-egress'))).not.toContain('10.50.0.0/24');
  });

  test('every taint is tolerated with operator Equal and its value in both places (never Exists)', () => {
    const { objects } = tenant(mixed, 'alpha');
    const tolerations = find(objects, 'Deployment', 'gitlab-runner').spec.template.spec.tolerations;
    expect(tolerations).toContainEqual({ key: 'dedicated-ci', operator: 'Equal', value: 'alpha', effect: 'NoExecute' });
    expect(tolerations.map((t: Any) => t.operator)).not.toContain('Exists');
    expect(toml(objects).runners[0].kubernetes.node_tolerations).toEqual({ 'tenant=alpha': 'NoSchedule', 'dedicated-ci=alpha': 'NoExecute' });
  });
});
