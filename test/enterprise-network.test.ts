/**
 * Custom CA bundle and HTTP(S) proxy (docs/enterprise-network.md), proven on the synthesized
 * objects: config.toml's tls-ca-file is exactly where the manager pod mounts the configured key,
 * job pods mount the same object and key, every pod that talks to GitLab, the registry or S3
 * gets the proxy environment, and NetworkPolicies allow the proxy instead of direct egress.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { loadClusters } from '../lib/config/load';
import { destinationHosts, noProxyMatches, tenantNetwork } from '../lib/model/enterprise-network';
import { kanikoCiTemplate } from '../lib/render/ci-template';
import { renderTenantSummary } from '../lib/render/summary';
import { synthesizeTenant } from '../lib/synth/engine';
import { Any, CONFIG_DIRS, find, ofKind, ROOT, synthesizeDir, SynthesizedTenant, VALID_FIXTURES } from './support/synth';

const FIXTURE = path.join(VALID_FIXTURES, 'enterprise-network');
const tenants = synthesizeDir(FIXTURE);
const byName = (name: string) => tenants.find((t) => t.tenant.name === name)!;

/** The volume behind the mount that holds `file` in a pod spec, and the path of the file inside it. */
function mountedFile(pod: Any, container: Any, file: string): { volume: Any; item: string } | undefined {
  const mount = (container.volumeMounts as Any[]).find((m) => file.startsWith(`${m.mountPath}/`));
  if (!mount) return undefined;
  return { volume: (pod.volumes as Any[]).find((v) => v.name === mount.name), item: file.slice(mount.mountPath.length + 1) };
}

/** The object and key a pod volume projects to `item`. */
function projectedKey(volume: Any, item: string): { kind: string; name: string; key: string } | undefined {
  const source = volume.configMap ? { kind: 'ConfigMap', name: volume.configMap.name, items: volume.configMap.items } : { kind: 'Secret', name: volume.secret?.secretName, items: volume.secret?.items };
  const entry = (source.items as Any[] | undefined)?.find((i) => i.path === item);
  return entry ? { kind: source.kind, name: source.name, key: entry.key } : undefined;
}

function tomlOf(t: SynthesizedTenant): Any {
  return parseToml(find(t.objects, 'ConfigMap', t.layout.names.configMap).data['config.toml']);
}

/** Egress peers and ports of every NetworkPolicy that selects pods with these labels, in their namespace. */
function egressOf(t: SynthesizedTenant, namespace: string, labels: Record<string, string>): { peer: Any; ports: number[] }[] {
  const selects = (p: Any) => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return ofKind(t.objects, 'NetworkPolicy')
    .filter((p) => p.metadata.namespace === namespace && (p.spec.policyTypes ?? []).includes('Egress') && selects(p))
    .flatMap((p) => (p.spec.egress ?? []).flatMap((rule: Any) => rule.to.map((peer: Any) => ({ peer, ports: rule.ports.map((x: Any) => x.port) }))));
}

const jobLabels = (t: SynthesizedTenant) => ({ 'tenant-runners.io/tenant': t.tenant.name, 'tenant-runners.io/role': 'job', 'tenant-runners.io/runner': t.tenant.runners[0].name });

describe.each(tenants.map((t) => [t.tenant.name, t] as [string, SynthesizedTenant]))('enterprise-network fixture, tenant %s', (_name, t) => {
  const network = tenantNetwork(t.config.platform, t.tenant, t.layout);
  const ca = network.caBundle!;
  const proxy = network.proxy!;
  const toml = tomlOf(t);
  const deployment = find(t.objects, 'Deployment', t.layout.names.workload);
  const pod = deployment.spec.template.spec;
  const manager = pod.containers[0];
  const managerLabels = deployment.spec.template.metadata.labels;

  test('has both settings in effect', () => {
    expect(ca).toBeDefined();
    expect(proxy).toBeDefined();
  });

  test('every [[runners]] tls-ca-file is the file the manager pod mounts from the configured object and key', () => {
    expect(toml.runners.length).toBe(t.tenant.runners.length);
    for (const runner of toml.runners) {
      const file = runner['tls-ca-file'];
      expect(typeof file).toBe('string');
      const mounted = mountedFile(pod, manager, file);
      expect(mounted).toBeDefined();
      expect(manager.volumeMounts.find((m: Any) => file.startsWith(`${m.mountPath}/`)).readOnly).toBe(true);
      expect(projectedKey(mounted!.volume, mounted!.item)).toEqual({ kind: ca.kind, name: ca.name, key: ca.key });
    }
  });

  test('job pods mount the same object and key through config.toml volumes, at the path TENANT_RUNNERS_CA_FILE and SSL_CERT_DIR name', () => {
    for (const runner of toml.runners) {
      const file = runner['tls-ca-file'];
      const dir = path.posix.dirname(file);
      const volumes = runner.kubernetes.volumes;
      const list = (ca.kind === 'ConfigMap' ? volumes.config_map : volumes.secret) as Any[];
      const other = (ca.kind === 'ConfigMap' ? volumes.secret : volumes.config_map) as Any[] | undefined;
      const caVolumes = list.filter((v) => v.mount_path === dir);
      expect(caVolumes).toEqual([{ name: ca.name, mount_path: dir, read_only: true, items: { [ca.key]: path.posix.basename(file) } }]);
      expect((other ?? []).filter((v) => v.mount_path === dir)).toEqual([]);
      expect(runner.environment).toContain(`TENANT_RUNNERS_CA_FILE=${file}`);
      const certDirs = runner.environment.find((e: string) => e.startsWith('SSL_CERT_DIR=')).slice('SSL_CERT_DIR='.length).split(':');
      // The CA first; the system and Kaniko roots stay trusted.
      expect(certDirs).toEqual([dir, '/etc/ssl/certs', '/etc/pki/tls/certs', '/kaniko/ssl/certs']);
    }
  });

  test('the manager trusts the bundle for its S3/STS clients too (SSL_CERT_DIR with the mount first)', () => {
    const file = toml.runners[0]['tls-ca-file'];
    const env = (manager.env as Any[]).find((e) => e.name === 'SSL_CERT_DIR');
    expect(env.value.split(':')[0]).toBe(path.posix.dirname(file));
  });

  test('the manager gets the proxy in both cases, with NO_PROXY covering loopback, the cluster, the API server and the configured entries', () => {
    const env = Object.fromEntries((manager.env as Any[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const expectedHttps = (t.tenant.proxy ?? t.config.platform.proxy)!.httpsProxy ?? (t.tenant.proxy ?? t.config.platform.proxy)!.httpProxy;
    expect(env.HTTP_PROXY).toBe(proxy.httpProxy);
    expect(env.http_proxy).toBe(proxy.httpProxy);
    expect(env.HTTPS_PROXY).toBe(expectedHttps);
    expect(env.https_proxy).toBe(expectedHttps);
    expect(env.no_proxy).toBe(env.NO_PROXY);
    const entries = env.NO_PROXY.split(',');
    for (const entry of ['localhost', '127.0.0.1', '.svc', '.cluster.local', ...t.config.platform.kubernetes.clusterCidrs, ...t.config.platform.kubernetes.apiServerCidrs, ...(t.tenant.proxy ?? t.config.platform.proxy)!.noProxy]) {
      expect(entries).toContain(entry);
    }
  });

  test('jobs get the same proxy; their NO_PROXY has the cluster but not the API server', () => {
    for (const runner of toml.runners) {
      const env = Object.fromEntries((runner.environment as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      expect([env.HTTP_PROXY, env.http_proxy, env.HTTPS_PROXY, env.https_proxy]).toEqual([proxy.httpProxy, proxy.httpProxy, proxy.httpsProxy, proxy.httpsProxy]);
      const entries = env.NO_PROXY.split(',');
      expect(env.no_proxy).toBe(env.NO_PROXY);
      for (const entry of ['localhost', '127.0.0.1', '.svc', '.cluster.local', ...t.config.platform.kubernetes.clusterCidrs]) expect(entries).toContain(entry);
      for (const cidr of t.config.platform.kubernetes.apiServerCidrs) expect(entries).not.toContain(cidr);
      if (t.tenant.cache.kaniko.mode === 's3') expect(entries).toContain(`kaniko-cache-registry.${t.layout.jobNamespace}.svc`);
    }
  });

  test('NetworkPolicies of the manager and of job pods allow the proxy on its port', () => {
    // The URLs' ports, unless `ports` says otherwise.
    const urlPorts = [...new Set([proxy.httpProxy, proxy.httpsProxy].map((url) => Number(new URL(url).port)))].sort((a, b) => a - b);
    expect(proxy.ports).toEqual((t.tenant.proxy ?? t.config.platform.proxy)!.ports ?? urlPorts);
    const toProxy = (peers: { peer: Any; ports: number[] }[]) => peers.filter(({ peer, ports }) => {
      if (JSON.stringify(ports) !== JSON.stringify(proxy.ports)) return false;
      if (proxy.egressCidrs) return proxy.egressCidrs.includes(peer.ipBlock?.cidr);
      return peer.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === proxy.inCluster!.namespace
        && JSON.stringify(peer.podSelector?.matchLabels) === JSON.stringify(proxy.inCluster!.podLabels);
    });
    expect(toProxy(egressOf(t, t.layout.managerNamespace, managerLabels))).toHaveLength(1);
    expect(toProxy(egressOf(t, t.layout.jobNamespace, jobLabels(t)))).toHaveLength(1);
  });

  test('direct egress remains only for destinations NO_PROXY lists (and the API server for the manager); nothing wider is added', () => {
    const { platform } = t.config;
    const hosts = destinationHosts(platform);
    const listed = (d: keyof typeof hosts) => proxy.direct[d];
    // The fixture covers both sides: something through the proxy and something direct.
    expect(Object.values(proxy.direct)).toContain(true);
    expect(Object.values(proxy.direct)).toContain(false);
    const cidrs = (peers: { peer: Any }[]) => peers.map(({ peer }) => peer.ipBlock?.cidr).filter(Boolean);
    const managerCidrs = cidrs(egressOf(t, t.layout.managerNamespace, managerLabels));
    const jobCidrs = cidrs(egressOf(t, t.layout.jobNamespace, jobLabels(t)));
    const expectedManager = [
      ...(listed('gitlab') ? platform.gitlab.egressCidrs : []),
      ...platform.kubernetes.apiServerCidrs,
      ...(listed('s3') ? platform.s3.egressCidrs : []),
      ...(proxy.egressCidrs ?? []),
    ];
    const expectedJobs = [
      ...(listed('gitlab') ? platform.gitlab.egressCidrs : []),
      ...(listed('registry') ? platform.registry.egressCidrs : []),
      ...(listed('s3') ? platform.s3.egressCidrs : []),
      ...(proxy.egressCidrs ?? []),
      ...t.tenant.egress.extra.map((e) => e.cidr),
    ];
    expect(managerCidrs.sort()).toEqual(expectedManager.sort());
    expect(jobCidrs.sort()).toEqual(expectedJobs.sort());
    expect([...managerCidrs, ...jobCidrs]).not.toContain('0.0.0.0/0');
  });

  test('the cache registry (mode s3) mounts the bundle, uses the proxy and reaches S3 only through it unless NO_PROXY lists S3', () => {
    if (t.tenant.cache.kaniko.mode !== 's3') return;
    const registry = find(t.objects, 'Deployment', t.layout.names.cacheRegistry);
    const rpod = registry.spec.template.spec;
    const container = rpod.containers[0];
    const env = Object.fromEntries((container.env as Any[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const dir = env.SSL_CERT_DIR.split(':')[0];
    const mounted = mountedFile(rpod, container, `${dir}/ca.crt`);
    expect(projectedKey(mounted!.volume, mounted!.item)).toEqual({ kind: ca.kind, name: ca.name, key: ca.key });
    expect(env.HTTPS_PROXY).toBe(proxy.httpsProxy);
    const egress = egressOf(t, t.layout.jobNamespace, registry.spec.template.metadata.labels);
    const s3Direct = egress.some(({ peer }) => t.config.platform.s3.egressCidrs.includes(peer.ipBlock?.cidr));
    expect(s3Direct).toBe(proxy.direct.s3);
    expect(egress.some(({ peer }) => (proxy.egressCidrs ?? []).includes(peer.ipBlock?.cidr) || peer.namespaceSelector)).toBe(true);
  });

  test('the Kaniko CI template trusts the bundle for the registry with --registry-certificate', () => {
    const doc = parseYaml(kanikoCiTemplate(t.config.platform, t.tenant)) as Any;
    const script = (doc['.kaniko-build'].script as string[]).join('\n');
    const file = toml.runners[0]['tls-ca-file'];
    expect(script).toContain(`'--registry-certificate=${t.config.platform.registry.host}=${file}'`);
    expect(script.match(/--registry-certificate=/g)).toHaveLength(1);
  });
});

describe('the fixture exercises both kinds and both layouts', () => {
  test('a ConfigMap bundle from platform.yaml and a Secret bundle of a tenant with a separate build namespace', () => {
    const orion = byName('orion');
    const vega = byName('vega');
    expect(tenantNetwork(orion.config.platform, orion.tenant, orion.layout).caBundle).toMatchObject({ kind: 'ConfigMap', source: 'platform' });
    expect(tenantNetwork(vega.config.platform, vega.tenant, vega.layout).caBundle).toMatchObject({ kind: 'Secret', source: 'tenant' });
    expect(vega.layout.separateBuildNamespace).toBe(true);
    // The bundle is read in both namespaces: the manager's and the jobs'.
    const mountsIn = new Set(ofKind(vega.objects, 'Deployment').map((d) => d.metadata.namespace));
    expect(mountsIn).toEqual(new Set(['vega']));
    expect(tomlOf(vega).runners[0].kubernetes.namespace).toBe('vega-build');
  });

  test('nothing of the bundle is synthesized: no ConfigMap or Secret of that name, no ExternalSecret', () => {
    for (const t of tenants) {
      const ca = tenantNetwork(t.config.platform, t.tenant, t.layout).caBundle!;
      expect(t.objects.filter((o) => o.metadata.name === ca.name)).toEqual([]);
    }
  });
});

describe('without caBundle and proxy nothing changes', () => {
  test.each(['example', 'fixture mixed'])('%s: no tls-ca-file, no CA volume, no proxy variables', (label) => {
    for (const t of synthesizeDir(CONFIG_DIRS[label])) {
      const text = find(t.objects, 'ConfigMap', t.layout.names.configMap).data['config.toml'];
      expect(text).not.toMatch(/tls-ca-file|config_map|_PROXY|_proxy|SSL_CERT_DIR/);
      expect(JSON.stringify(t.objects)).not.toMatch(/ca-bundle|_PROXY|SSL_CERT_DIR/);
    }
  });
});

describe('sharedNamespace variant: one namespace holds the bundle', () => {
  test('manager and job pods of every tenant mount the bundle from the shared namespace', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'enterprise-shared-'));
    fs.cpSync(FIXTURE, root, { recursive: true });
    fs.appendFileSync(path.join(root, 'platform.yaml'), 'architecture:\n  variant: sharedNamespace\n');
    // A Secret bundle of a tenant and an in-cluster proxy stay valid in the shared namespace.
    for (const config of loadClusters(root, { displayBase: ROOT })) {
      for (const tenant of config.tenants) {
        const objects = synthesizeTenant(config.platform, tenant) as Any[];
        const deployment = find(objects, 'Deployment', tenant.layout.names.workload);
        expect(deployment.metadata.namespace).toBe('gitlab-runners');
        const toml = parseToml(find(objects, 'ConfigMap', tenant.layout.names.configMap).data['config.toml']) as Any;
        expect(toml.runners[0].kubernetes.namespace).toBe('gitlab-runners');
        const pod = deployment.spec.template.spec;
        const mounted = mountedFile(pod, pod.containers[0], toml.runners[0]['tls-ca-file']);
        const ca = tenantNetwork(config.platform, tenant, tenant.layout).caBundle!;
        expect(projectedKey(mounted!.volume, mounted!.item)).toEqual({ kind: ca.kind, name: ca.name, key: ca.key });
      }
    }
  });
});

describe('noProxyMatches reads NO_PROXY as Go does', () => {
  test.each([
    ['*', 'gitlab.example.com', 443, true],
    ['gitlab.example.com', 'gitlab.example.com', 443, true],
    ['example.com', 'gitlab.example.com', 443, true],
    ['.example.com', 'gitlab.example.com', 443, true],
    ['.example.com', 'example.com', 443, false],
    ['ample.com', 'gitlab.example.com', 443, false],
    ['gitlab.example.com:8443', 'gitlab.example.com', 443, false],
    ['gitlab.example.com:443', 'gitlab.example.com', 443, true],
    ['10.0.0.0/8', '10.1.2.3', 443, true],
    ['10.0.0.0/8', 'gitlab.example.com', 443, false],
    ['10.1.2.3', '10.1.2.3', 443, true],
  ])('%s covers %s:%d: %s', (entry, host, port, expected) => {
    expect(noProxyMatches(entry, { host, port })).toBe(expected);
  });
});

describe('the tenant summary names the CA bundle and the proxy', () => {
  test.each(tenants.map((t) => [t.tenant.name, t] as [string, SynthesizedTenant]))('%s', (_name, t) => {
    const text = renderTenantSummary(t.config.platform, undefined, t.tenant, { namespaces: t.layout.separateBuildNamespace ? [t.layout.managerNamespace, t.layout.jobNamespace] : [t.layout.managerNamespace], quota: {} });
    const network = tenantNetwork(t.config.platform, t.tenant, t.layout);
    expect(text).toContain(`| CA bundle | ${network.caBundle!.kind} ${network.caBundle!.name}, key ${network.caBundle!.key}`);
    expect(text).toMatch(new RegExp(`\\| Proxy \\| ${network.proxy!.httpsProxy.replace(/[.]/g, '\\.')} `));
  });

  test('and says nothing of them when they are not set', () => {
    const [t] = synthesizeDir(CONFIG_DIRS.example);
    const text = renderTenantSummary(t.config.platform, undefined, t.tenant, { namespaces: [t.layout.managerNamespace], quota: {} });
    expect(text).not.toMatch(/CA bundle|Proxy/);
  });
});
