/**
 * Isolation rules that need more than a fixture: what the platform may allow explicitly, the
 * `except` lists of wide ipBlocks, names that are global across clusters, the ConfigMap size limit,
 * and that checks stay fast on large input.
 */
import { NETWORK_ENV } from '../../lib/config/network-rules';
import { OutputLimitError } from '../../lib/config/errors';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatProblem } from '../../lib/config/errors';
import { loadClusters, loadConfig } from '../../lib/config/load';
import { exceptsFor } from '../../lib/model/network';
import { synthesizeTenant } from '../../lib/synth/engine';
import { RESERVED_ENV } from '../../lib/config/isolation-rules';
import { assembleCase, FIXTURES } from './assemble';
import { allTenants, Any } from '../support/synth';

function project(files: Record<string, string>, edit?: (config: string) => void): string {
  const dir = assembleCase(fs.mkdtempSync(path.join(os.tmpdir(), 'isolation-case-')));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'config', file), text);
  edit?.(path.join(dir, 'config'));
  return dir;
}
const baseTenant = (name: string) => fs.readFileSync(path.join(FIXTURES, 'base', 'tenants', 'zeta.yaml'), 'utf8').replace(/zeta/g, name);
const basePlatform = fs.readFileSync(path.join(FIXTURES, 'base', 'platform.yaml'), 'utf8');
function problems(dir: string): string[] {
  try {
    loadConfig(path.join(dir, 'config'), { displayBase: dir });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map(formatProblem);
  }
}

describe('what the platform may allow explicitly', () => {
  test('tenants.allowNamespaces accepts a well-known add-on name the cluster does not run', () => {
    const dir = project({ 'platform.yaml': `${basePlatform}tenants:\n  allowNamespaces: [velero]\n`, 'tenants/velero.yaml': baseTenant('velero') });
    expect(problems(dir)).toEqual([]);
  });

  test('nodes.allowedLabelPrefixes accepts a well-known label prefix', () => {
    const tenant = baseTenant('zeta').replace('labels: { tenant: zeta,', 'labels: { "topology.kubernetes.io/zone": eu-central-1a, tenant: zeta,');
    expect(problems(project({ 'tenants/zeta.yaml': tenant }))).toHaveLength(1);
    expect(problems(project({ 'tenants/zeta.yaml': tenant, 'platform.yaml': `${basePlatform}nodes:\n  allowedLabelPrefixes: [topology.kubernetes.io/]\n` }))).toEqual([]);
  });

  test('node-restriction.kubernetes.io/ is accepted as the tenant label key (kubelets cannot set it)', () => {
    const key = 'node-restriction.kubernetes.io/tenant';
    const retag = (text: string, name: string) => text.replace(`tenant: ${name}`, `"${key}": ${name}`).replace(`key: tenant, value: ${name}`, `key: "${key}", value: ${name}`);
    const dir = project({ 'platform.yaml': `${basePlatform}nodes:\n  tenantLabelKey: ${key}\n`, 'tenants/zeta.yaml': retag(baseTenant('zeta'), 'zeta') }, (config) => {
      const acme = path.join(config, 'tenants', 'acme.yaml');
      fs.writeFileSync(acme, fs.readFileSync(acme, 'utf8').replace('    tenant: acme', `    ${key}: acme`).replace('key: tenant, value: acme', `key: "${key}", value: acme`));
    });
    expect(problems(dir)).toEqual([]);
  });

  test('nodes.tenantLabelValues maps a tenant to another identity value', () => {
    const tenant = baseTenant('zeta').replace('tenant: zeta', 'tenant: pool-z').replace('value: zeta', 'value: pool-z');
    expect(problems(project({ 'tenants/zeta.yaml': tenant, 'platform.yaml': `${basePlatform}nodes:\n  tenantLabelValues: { zeta: pool-z }\n` }))).toEqual([]);
  });
});

describe('wide egress blocks except the cluster, link-local and the API server', () => {
  test('exceptsFor keeps only ranges strictly inside the block, minimal and sorted', () => {
    const excluded = ['10.244.0.0/16', '10.96.0.0/12', '169.254.0.0/16', '192.0.2.10/32', '10.244.1.0/24'];
    expect(exceptsFor('0.0.0.0/0', excluded)).toEqual(['10.96.0.0/12', '10.244.0.0/16', '169.254.0.0/16', '192.0.2.10/32']);
    expect(exceptsFor('10.0.0.0/8', excluded)).toEqual(['10.96.0.0/12', '10.244.0.0/16']);
    expect(exceptsFor('203.0.113.0/24', excluded)).toEqual([]);
    expect(exceptsFor('169.254.0.0/16', excluded)).toEqual([]);
  });

  test('a tenant egress of 0.0.0.0/0 gets every blocked range as except', () => {
    const tenant = `${baseTenant('zeta')}egress:\n  extra:\n    - { cidr: 0.0.0.0/0, ports: [443] }\n`;
    const dir = project({ 'tenants/zeta.yaml': tenant });
    const config = loadConfig(path.join(dir, 'config'), { displayBase: dir });
    const zeta = config.tenants.find((t) => t.name === 'zeta')!;
    const policy = synthesizeTenant(config.platform, zeta).find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'runner-jobs-egress') as Any;
    const wide = policy.spec.egress.flatMap((rule: Any) => rule.to).find((peer: Any) => peer.ipBlock.cidr === '0.0.0.0/0');
    expect(wide.ipBlock.except).toEqual(['10.96.0.0/12', '10.244.0.0/16', '169.254.0.0/16', '192.0.2.10/32']);
  });

  test.each(allTenants())('%s: no ipBlock of any NetworkPolicy contains a cluster, link-local or API server range without excepting it', (_label, t) => {
    const blocked = [...t.config.platform.kubernetes.clusterCidrs, '169.254.0.0/16'];
    for (const policy of t.objects.filter((o) => o.kind === 'NetworkPolicy') as Any[]) {
      for (const rule of policy.spec.egress ?? []) {
        for (const peer of rule.to ?? []) {
          if (!peer.ipBlock) continue;
          expect(peer.ipBlock.except ?? []).toEqual(exceptsFor(peer.ipBlock.cidr, [...blocked, ...(policy.metadata.name.endsWith('runner-manager-egress') && rule.ports.some((p: Any) => t.config.platform.kubernetes.apiServerPorts.includes(p.port)) ? [] : t.config.platform.kubernetes.apiServerCidrs)]));
        }
      }
    }
  });
});

describe('global names across clusters', () => {
  function clustersCase(edit: (root: string) => void): string[] {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clusters-case-'));
    fs.cpSync(path.join(FIXTURES, 'valid', 'clusters'), path.join(root, 'config'), { recursive: true });
    edit(path.join(root, 'config', 'clusters'));
    try {
      loadClusters(path.join(root, 'config'), { displayBase: root });
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map(formatProblem);
    }
  }
  const staging = (root: string) => path.join(root, 'staging', 'tenants', 'tenant-1.yaml');

  test('the shipped multi-cluster fixture is valid', () => expect(clustersCase(() => undefined)).toEqual([]));

  test('a bucket and a cache repo of another cluster are refused, naming both', () => {
    expect(clustersCase((root) => fs.writeFileSync(staging(root), fs.readFileSync(staging(root), 'utf8')
      .replace('tenant-1-staging-cache', 'tenant-1-cache').replace('registry.local/tenant-1/staging-cache', 'registry.local/tenant-1/cache')))).toEqual([
      "config/clusters/staging/tenants/tenant-1.yaml:17:13 cache.s3.bucket: bucket 'tenant-1-cache' is already used by tenant 'tenant-1' of cluster 'prod' (config/clusters/prod/tenants/tenant-1.yaml); S3 bucket names are global, so every tenant of every cluster needs its own",
      "config/clusters/staging/tenants/tenant-1.yaml:22:11 cache.kaniko.repo: Kaniko cache repo 'registry.local/tenant-1/cache' is already used by tenant 'tenant-1' of cluster 'prod' (config/clusters/prod/tenants/tenant-1.yaml); a cache repository is shared by everyone who pushes to it, so every tenant of every cluster needs its own",
    ]);
  });
});

describe('sizes and reserved names', () => {
  test('a runner ConfigMap over 1 MiB fails the synth with its size and the limit', () => {
    // One environment map, used by three runners through YAML aliases: the file stays under the
    // loader's 1 MiB per file, config.toml does not.
    const env = Array.from({ length: 150 }, (_, i) => `      V${i}: "${'x'.repeat(4000)}"`).join('\n');
    const runners = Array.from({ length: 3 }, (_, i) => (i === 0 ? `  - name: r${i}\n    environment: &env\n${env}` : `  - name: r${i}\n    environment: *env`)).join('\n');
    const tenant = baseTenant('zeta').replace('runners:\n  - name: builds', `runners:\n${runners}`);
    const dir = project({ 'tenants/zeta.yaml': tenant });
    const config = loadConfig(path.join(dir, 'config'), { displayBase: dir });
    expect(() => synthesizeTenant(config.platform, config.tenants.find((t) => t.name === 'zeta')!))
      .toThrow(/ConfigMap gitlab-runner-config would hold \d+ bytes \(1\.\d\d MiB\), over the 1048576 bytes \(1 MiB\) Kubernetes accepts/);
    expect(() => synthesizeTenant(config.platform, config.tenants.find((t) => t.name === 'zeta')!)).toThrow(OutputLimitError);
  });

  test.each(allTenants())('%s: every variable the runner sets in config.toml is reserved for tenants', (_label, t) => {
    const configMap = t.objects.find((o) => o.kind === 'ConfigMap' && /gitlab-runner-config$/.test(o.metadata.name)) as Any;
    const toml = configMap.data['config.toml'] as string;
    const own = new Set(Object.keys(t.tenant.runners.flatMap((r) => Object.keys(r.environment)).reduce((a, k) => ({ ...a, [k]: 1 }), {})));
    const names = [...toml.matchAll(/"([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]).filter((n) => !own.has(n));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(RESERVED_ENV.names.includes(name) || RESERVED_ENV.prefixes.some((p) => name.startsWith(p)) || (NETWORK_ENV as readonly string[]).includes(name)).toBe(true);
  });

  test('large refused lists are reported quickly (no superlinear checks)', () => {
    const env = Array.from({ length: 5000 }, (_, i) => `      "bad name ${i}": x`).join('\n');
    const tenant = baseTenant('zeta').replace('  - name: builds', `  - name: builds\n    environment:\n${env}`);
    const dir = project({ 'tenants/zeta.yaml': tenant });
    const started = Date.now();
    const found = problems(dir);
    expect(found.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
