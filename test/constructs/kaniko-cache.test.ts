import { Testing } from 'cdk8s';
import { KanikoCache } from '../../lib/constructs/kaniko-cache';
import { TenantIsolation } from '../../lib/constructs/tenant-isolation';
import { cacheProps, EXCLUDED_RANGES, isolationProps, Json, ofKind, one, synth } from './props';

const build = (cache: Parameters<typeof cacheProps>[1] = {}, isolation: Parameters<typeof isolationProps>[0] = {}) => {
  const chart = Testing.chart();
  const iso = new TenantIsolation(chart, 'Isolation', isolationProps(isolation));
  const kaniko = new KanikoCache(chart, 'Cache', cacheProps(iso, cache));
  // Only the cache's own objects.
  const objects = synth(chart).filter((o: Json) => !['Namespace', 'ResourceQuota', 'LimitRange'].includes(o.kind) && !isIsolationPolicy(o));
  return { cache: kaniko, objects };
};
const isIsolationPolicy = (o: Json) =>
  o.kind === 'NetworkPolicy' && ['default-deny-all', 'allow-dns', 'runner-manager-egress', 'runner-jobs-egress', 'allow-metrics-from-monitoring'].includes(o.metadata.name);

describe('KanikoCache', () => {
  test('registry mode (default): no objects, the repository and push Secret reach the jobs', () => {
    const { cache, objects } = build();
    expect(objects).toEqual([]);
    expect(cache.mode).toBe('registry');
    expect(cache.cacheArgs).toBe('');
    expect(cache.jobEnvironment).toEqual([
      'KANIKO_CACHE_REPO=registry.example.com/acme/cache',
      'KANIKO_CACHE_ARGS=',
      'KANIKO_IMAGE=ghcr.io/example/kaniko:v1',
      'DOCKER_CONFIG=/kaniko/.docker',
    ]);
    expect(cache.jobSecretVolumes).toEqual([{ name: 'kaniko-push-credentials', mount_path: '/kaniko/.docker', read_only: true, items: { '.dockerconfigjson': 'config.json' } }]);
    expect(build({ pushSecretName: 'push' }).cache.jobSecretVolumes[0].name).toBe('push');
  });

  test('runnerCache: per-runner path under cache/, bucket, region, endpoint host and path style, encryption', () => {
    expect(build().cache.runnerCache('docker')).toEqual({
      Type: 's3',
      Path: 'cache/docker',
      Shared: true,
      s3: { BucketName: 'acme-cache', BucketLocation: 'eu-central-1', ServerAddress: undefined, PathStyle: undefined, AuthenticationType: 'iam', ServerSideEncryption: 'S3', ServerSideEncryptionKeyID: undefined },
    });
    const minio = build({ endpoint: 'https://minio.example.com/', pathStyle: true, encryption: { type: 'KMS', kmsKeyId: 'key-1' } }).cache.runnerCache('docker');
    expect(minio.s3).toMatchObject({ ServerAddress: 'minio.example.com', PathStyle: true, ServerSideEncryption: 'KMS', ServerSideEncryptionKeyID: 'key-1' });
  });

  test('authentication: IRSA annotates the manager ServiceAccount, static keys come from the Secret by reference', () => {
    expect(build().cache.managerServiceAccountAnnotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/acme' });
    expect(build().cache.managerEnv).toEqual([]);
    const keys = build({ auth: { type: 'staticKeys', secretName: 's3-keys', accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' } }).cache;
    expect(keys.managerServiceAccountAnnotations).toBeUndefined();
    expect(keys.managerEnv.map((e) => [e.name, e.valueFrom?.secretKeyRef?.name, e.valueFrom?.secretKeyRef?.key])).toEqual([
      ['AWS_ACCESS_KEY_ID', 's3-keys', 'id'], ['AWS_SECRET_ACCESS_KEY', 's3-keys', 'secret'],
    ]);
  });

  test('s3 mode: a cache registry in the job namespace, stored under layers/, reachable only by the jobs', () => {
    const { cache, objects } = build({ mode: 's3', cacheRepo: 'kaniko-cache-registry.acme-build.svc:5000/cache' }, { jobNamespace: 'acme-build' });
    expect(objects.map((o: Json) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/kaniko-cache-registry-config',
      'Deployment/kaniko-cache-registry',
      'NetworkPolicy/kaniko-cache-registry-egress',
      'NetworkPolicy/kaniko-cache-registry-ingress',
      'NetworkPolicy/runner-jobs-to-cache-registry',
      'Service/kaniko-cache-registry',
      'ServiceAccount/kaniko-cache-registry',
    ]);
    expect(new Set(objects.map((o: Json) => o.metadata.namespace))).toEqual(new Set(['acme-build']));
    expect(cache.cacheArgs).toBe('--insecure-registry=kaniko-cache-registry.acme-build.svc:5000 --skip-tls-verify-registry=kaniko-cache-registry.acme-build.svc:5000');
    expect(cache.registryConfig).toContain('rootdirectory: /layers');
    expect(cache.registryConfig).toContain('bucket: acme-cache');

    const deployment = one(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.selector.matchLabels).toEqual({ 'tenant-runners.io/tenant': 'acme', 'tenant-runners.io/role': 'cache-registry' });
    expect(pod.containers[0].image).toBe('registry:3.0.0');
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.nodeSelector).toEqual({ pool: 'acme' });
    expect(one(objects, 'Service').spec.selector).toEqual(deployment.spec.selector.matchLabels);

    const egress = one(objects, 'NetworkPolicy', 'kaniko-cache-registry-egress').spec.egress;
    expect(egress).toEqual([{ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
    const ingress = one(objects, 'NetworkPolicy', 'kaniko-cache-registry-ingress').spec.ingress[0];
    expect(ingress.from).toEqual([{ podSelector: { matchLabels: { 'tenant-runners.io/tenant': 'acme', 'tenant-runners.io/role': 'job' } } }]);
  });

  test('s3 mode: the registry\'s S3 ipBlocks except the excluded ranges they contain', () => {
    const egress = (cache: Parameters<typeof cacheProps>[1]) =>
      one(build({ mode: 's3', cacheRepo: 'kaniko-cache-registry.acme.svc:5000/cache', ...cache }).objects, 'NetworkPolicy', 'kaniko-cache-registry-egress').spec.egress;
    expect(egress({})[0].to).toEqual([{ ipBlock: { cidr: '198.51.100.0/24' } }]);
    const wide = egress({ s3Egress: { cidrs: ['0.0.0.0/0'], ports: [443] }, excludedRanges: [...EXCLUDED_RANGES, '10.0.0.1/32'] });
    expect(wide[0].to).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.1/32', '10.96.0.0/12', '169.254.0.0/16'] } }]);
  });

  test('s3 mode with static keys: the registry reads them from the Secret', () => {
    const { objects } = build({ mode: 's3', auth: { type: 'staticKeys', secretName: 's3-keys', accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' } });
    const env = one(objects, 'Deployment').spec.template.spec.containers[0].env;
    expect(env.map((e: Json) => e.name)).toEqual(['REGISTRY_STORAGE_S3_ACCESSKEY', 'REGISTRY_STORAGE_S3_SECRETKEY']);
    expect(ofKind(objects, 'ServiceAccount')[0].metadata.annotations).toBeUndefined();
  });

  test('s3 mode needs the cache registry image and resources', () => {
    expect(() => build({ mode: 's3', cacheRegistry: undefined })).toThrow(/cacheRegistry/);
  });
});
