/**
 * Kaniko layer cache: `registry` mode (an external repository, no objects) and `s3` mode (a cache
 * registry per tenant whose storage is s3://<bucket>/layers/), and the isolation between tenants'
 * cache registries.
 */
import { parse as parseYaml } from 'yaml';
import { createHash } from 'node:crypto';
import { computeQuota } from '../lib/constructs/quota';
import { allTenants, Any, CONFIG_DIRS, find, ofKind, SynthesizedTenant, synthesizeDir } from './support/synth';

const example = synthesizeDir(CONFIG_DIRS.example);
const s3Fixture = synthesizeDir(CONFIG_DIRS['fixture kaniko-s3']);
const byName = (list: SynthesizedTenant[], name: string) => list.find((t) => t.tenant.name === name)!;
const registryConfig = (objects: Any[]) => parseYaml(find(objects, 'ConfigMap', 'kaniko-cache-registry-config').data['config.yml']);

describe('mode registry (the example)', () => {
  test('defines no cache registry objects; the cache repo is the tenant\'s project on the external registry', () => {
    for (const { tenant, objects } of example) {
      expect(tenant.cache.kaniko.mode).toBe('registry');
      expect(objects.filter((o) => o.metadata.name.startsWith('kaniko-cache-registry') || o.metadata.name === 'runner-jobs-to-cache-registry')).toEqual([]);
      expect(tenant.kanikoCacheRepo).toBe(`registry.local/${tenant.name}/cache`);
    }
  });
});

describe('mode s3', () => {
  const gamma = byName(s3Fixture, 'gamma');
  const delta = byName(s3Fixture, 'delta');

  test('the cache registry stores in the tenant\'s bucket under layers/, through the platform endpoint', () => {
    expect(registryConfig(gamma.objects).storage.s3).toEqual({
      region: 'eu-west-1',
      bucket: 'gamma-ci-cache',
      rootdirectory: '/layers',
      regionendpoint: 'https://rgw.storage.example:8443',
      forcepathstyle: true,
      encrypt: true,
    });
    expect(registryConfig(delta.objects).storage.s3).toMatchObject({
      bucket: 'delta-ci-cache',
      rootdirectory: '/layers',
      encrypt: true,
      keyid: expect.stringMatching(/^arn:aws:kms:eu-west-1:/),
    });
  });

  test('the runner cache and the layer cache share the bucket but never a prefix', () => {
    const toml = find(gamma.objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml'];
    expect(toml).toContain('Path = "cache/images"');
    expect(registryConfig(gamma.objects).storage.s3.rootdirectory).toBe('/layers');
  });

  test('the registry listens on 5000, serves blobs itself (no S3 redirects) and reports S3 health', () => {
    const config = registryConfig(gamma.objects);
    expect(config.http.addr).toBe(':5000');
    expect(config.storage.redirect).toEqual({ disable: true });
    expect(config.health.storagedriver.enabled).toBe(true);
    expect(config.version).toBe(0.1);
  });

  test('fails when credentials appear in the registry config: none do; static keys come from the Secret as env', () => {
    for (const t of [gamma, delta]) {
      const text = find(t.objects, 'ConfigMap', 'kaniko-cache-registry-config').data['config.yml'];
      expect(text).not.toMatch(/accesskey|secretkey|secret:/i);
    }
    const env = find(delta.objects, 'Deployment', 'kaniko-cache-registry').spec.template.spec.containers[0].env;
    expect(env).toEqual([
      { name: 'REGISTRY_STORAGE_S3_ACCESSKEY', valueFrom: { secretKeyRef: { name: 'delta-rgw', key: 'AWS_ACCESS_KEY_ID' } } },
      { name: 'REGISTRY_STORAGE_S3_SECRETKEY', valueFrom: { secretKeyRef: { name: 'delta-rgw', key: 'AWS_SECRET_ACCESS_KEY' } } },
    ]);
    expect(find(gamma.objects, 'Deployment', 'kaniko-cache-registry').spec.template.spec.containers[0].env).toBeUndefined();
  });

  test('the registry has its own ServiceAccount: IRSA annotation with iamRole, none with static keys, never an API token', () => {
    expect(find(gamma.objects, 'ServiceAccount', 'kaniko-cache-registry')).toMatchObject({
      metadata: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/gamma-ci-cache' } },
      automountServiceAccountToken: false,
    });
    expect(find(delta.objects, 'ServiceAccount', 'kaniko-cache-registry').metadata.annotations).toBeUndefined();
    for (const t of [gamma, delta]) {
      const spec = find(t.objects, 'Deployment', 'kaniko-cache-registry').spec.template.spec;
      expect(spec.serviceAccountName).toBe('kaniko-cache-registry');
      expect(spec.automountServiceAccountToken).toBe(false);
    }
  });

  test('the registry Deployment is pinned, hardened, probed and rolls when its config changes', () => {
    const deployment = find(gamma.objects, 'Deployment', 'kaniko-cache-registry');
    const spec = deployment.spec.template.spec;
    const [c] = spec.containers;
    expect(c.image).toBe('docker.io/library/registry:3.0.0');
    expect(c.command).toEqual(['registry', 'serve', '/etc/distribution/config.yml']);
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/distribution', readOnly: true });
    expect(spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'kaniko-cache-registry-config' } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, privileged: false,
      capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/', port: 'registry' });
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'registry' });
    expect(c.resources.limits.memory).toBe('1Gi'); // platform override
    const text = find(gamma.objects, 'ConfigMap', 'kaniko-cache-registry-config').data['config.yml'];
    expect(deployment.spec.template.metadata.annotations['checksum/config']).toBe(createHash('sha256').update(text).digest('hex'));
  });

  test('the ClusterIP Service selects exactly the registry pod and targets its named port', () => {
    const service = find(gamma.objects, 'Service', 'kaniko-cache-registry');
    const deployment = find(gamma.objects, 'Deployment', 'kaniko-cache-registry');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'registry', port: 5000, targetPort: 'registry', protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    const podLabels = deployment.spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    const manager = find(gamma.objects, 'Deployment', 'gitlab-runner').spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => manager[k] === v)).toBe(false);
  });

  test('the registry may reach S3 and nothing else (DNS comes from allow-dns)', () => {
    const egress = find(gamma.objects, 'NetworkPolicy', 'kaniko-cache-registry-egress').spec.egress;
    expect(egress).toEqual([{ to: [{ ipBlock: { cidr: '198.51.100.64/28' } }], ports: [{ protocol: 'TCP', port: 8443 }] }]);
  });

  test('the quota budgets the registry pod next to the jobs and the manager', () => {
    // 8 jobs + manager + registry; the registry adds its 1 cpu limit to 8 × 3.5 + 0.5.
    const hard = computeQuota(gamma.config.platform, gamma.tenant);
    expect(hard.pods).toBe('10');
    expect(hard['limits.cpu']).toBe('29500m');
    const epsilon = byName(s3Fixture, 'epsilon');
    expect(computeQuota(epsilon.config.platform, epsilon.tenant).pods).toBe('3');
  });
});

describe('isolation between tenants\' caches (every configuration)', () => {
  const configs = Object.entries(CONFIG_DIRS).map(([label, dir]) => [label, synthesizeDir(dir)] as const);

  test.each(configs)('%s: no tenant can reach another tenant\'s pods or cache registry', (_label, all) => {
    // Tenants are compared within their cluster (names may repeat across clusters).
    const clusters = new Map<string, typeof all>();
    for (const t of all) clusters.set(t.config.cluster ?? '', [...(clusters.get(t.config.cluster ?? '') ?? []), t]);
    for (const tenants of clusters.values()) {
      const names = tenants.map((t) => t.tenant.name);
      const tenantNamespaces = tenants.flatMap((t) => (t.layout.shared ? [] : [t.layout.managerNamespace, t.layout.jobNamespace]));
      for (const { tenant, objects, layout } of tenants) {
        for (const policy of ofKind(objects, 'NetworkPolicy')) {
          expect([layout.managerNamespace, layout.jobNamespace]).toContain(policy.metadata.namespace);
          const peers = [...(policy.spec.ingress ?? []).flatMap((r: Any) => r.from ?? []), ...(policy.spec.egress ?? []).flatMap((r: Any) => r.to ?? [])];
          for (const peer of peers) {
            if (peer.ipBlock) continue;
            if (peer.namespaceSelector) {
              // Cross-namespace peers name one namespace, and it is never a tenant's.
              const ns = peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name'];
              expect(Object.keys(peer.namespaceSelector)).toEqual(['matchLabels']);
              expect(tenantNamespaces).not.toContain(ns);
            } else {
              // A bare podSelector means "in this policy's namespace", and it names this tenant.
              expect(peer.podSelector.matchLabels['tenant-runners.io/tenant']).toBe(tenant.name);
            }
          }
        }
        const toml = find(objects, 'ConfigMap', layout.names.configMap).data['config.toml'] as string;
        for (const other of names.filter((n) => n !== tenant.name)) {
          expect(toml).not.toContain(`kaniko-cache-registry.${other}.svc`);
          expect(toml).not.toContain(`${other}-kaniko-cache-registry.`);
          expect(tenant.kanikoCacheRepo).not.toContain(`/${other}/`);
        }
      }
      // Cache repos are unique across the tenants of a cluster.
      expect(new Set(tenants.map((t) => t.tenant.kanikoCacheRepo)).size).toBe(tenants.length);
    }
  });

  test('every s3-mode tenant\'s registry admits only its own job pods', () => {
    const s3Tenants = allTenants().filter(([, t]) => t.tenant.cache.kaniko.mode === 's3');
    expect(s3Tenants.length).toBeGreaterThanOrEqual(2);
    for (const [, { tenant, objects }] of s3Tenants) {
      const ingress = find(objects, 'NetworkPolicy', 'kaniko-cache-registry-ingress').spec;
      expect(ingress.podSelector.matchLabels).toEqual({ 'tenant-runners.io/tenant': tenant.name, 'tenant-runners.io/role': 'cache-registry' });
      expect(ingress.ingress).toEqual([{
        from: [{ podSelector: { matchLabels: { 'tenant-runners.io/tenant': tenant.name, 'tenant-runners.io/role': 'job' } } }],
        ports: [{ protocol: 'TCP', port: 5000 }],
      }]);
    }
  });
});
