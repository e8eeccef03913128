/**
 * What each architecture of the seed guarantees, beyond the invariants every variant passes
 * (test/invariants.test.ts and test/schema-validation.test.ts loop over all variant fixtures).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { loadClusters } from '../lib/config/load';
import { synthesizeClusters, toYaml } from '../lib/synth/engine';
import { Any, CONFIG_DIRS, find, ofKind, ROOT, synthesizeDir } from './support/synth';

const split = synthesizeDir(CONFIG_DIRS['variant 1 split build namespace']);
const shared = synthesizeDir(CONFIG_DIRS['variant 2 shared namespace']);
const daemonSet = synthesizeDir(CONFIG_DIRS['variant 3 daemonSet']);

describe('variant 1 with a separate build namespace', () => {
  test.each(split.map((t) => [t.tenant.name, t]))('%s: manager at restricted, jobs at baseline, API rights only in the build namespace', (name, t) => {
    const objects = t.objects as Any[];
    const namespaces = Object.fromEntries(ofKind(objects, 'Namespace').map((n) => [n.metadata.name, n.metadata.labels['pod-security.kubernetes.io/enforce']]));
    expect(namespaces).toEqual({ [name]: 'restricted', [`${name}-build`]: 'baseline' });
    expect(ofKind(objects, 'Role').map((r) => r.metadata.namespace)).toEqual([`${name}-build`]);
    expect(ofKind(objects, 'RoleBinding').map((r) => r.metadata.namespace)).toEqual([`${name}-build`]);
    // Nothing in the manager namespace grants the manager any API right.
    expect(objects.filter((o) => ['Role', 'RoleBinding'].includes(o.kind) && o.metadata.namespace === name)).toEqual([]);
    const toml = parseToml(find(objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml']) as Any;
    for (const runner of toml.runners) expect(runner.kubernetes.namespace).toBe(`${name}-build`);
    // Quotas and limits in both namespaces: jobs in the build namespace, the manager in its own.
    expect(ofKind(objects, 'ResourceQuota').map((q) => [q.metadata.namespace, q.spec.hard.pods]).sort()).toEqual([[name, '1'], [`${name}-build`, '20']]);
    expect(ofKind(objects, 'LimitRange').map((l) => l.metadata.namespace).sort()).toEqual([name, `${name}-build`]);
    // The metrics port is still reachable from monitoring; DNS works in both namespaces.
    expect(find(objects, 'NetworkPolicy', 'allow-metrics-from-monitoring').metadata.namespace).toBe(name);
    expect(ofKind(objects, 'NetworkPolicy').filter((p) => p.metadata.name === 'allow-dns').map((p) => p.metadata.namespace).sort()).toEqual([name, `${name}-build`]);
  });
});

describe('variant 2: one shared namespace', () => {
  const namespace = 'gitlab-runners';

  test('exactly what is shared: every tenant Role covers pods and Secrets of the whole shared namespace, and nothing outside it', () => {
    const roles = shared.map((t) => find(t.objects, 'Role', `${t.tenant.name}-gitlab-runner`));
    for (const role of roles) {
      expect(role.metadata.namespace).toBe(namespace);
      // Roles cannot be limited to one tenant's pods (they are created with generated names), so
      // these rights reach the other tenants' pods and Secrets in the same namespace: the
      // documented weakness of this variant.
      const resources = role.rules.flatMap((r: Any) => r.resources).sort();
      expect(resources).toEqual(['events', 'pods', 'pods/attach', 'pods/exec', 'pods/log', 'secrets', 'serviceaccounts', 'services']);
      expect(role.rules.every((r: Any) => r.resourceNames === undefined)).toBe(true);
    }
    const everyObject = shared.flatMap((t) => t.objects as Any[]);
    expect(new Set(everyObject.filter((o) => o.metadata.namespace).map((o) => o.metadata.namespace))).toEqual(new Set([namespace]));
    expect(everyObject.filter((o) => ['ClusterRole', 'ClusterRoleBinding'].includes(o.kind))).toEqual([]);
  });

  test('every tenant object is prefixed, and the two tenants share no object name', () => {
    const [a, b] = shared.map((t) => new Set((t.objects as Any[]).map((o) => `${o.kind}/${o.metadata.name}`)));
    expect([...a].filter((key) => b.has(key))).toEqual([]);
  });

  test('network policies and quota are per tenant: selected by tenant label and scoped by the tenant PriorityClass', () => {
    for (const t of shared) {
      const objects = t.objects as Any[];
      for (const policy of ofKind(objects, 'NetworkPolicy')) expect(policy.spec.podSelector.matchLabels['tenant-runners.io/tenant']).toBe(t.tenant.name);
      const quota = find(objects, 'ResourceQuota', `${t.tenant.name}-gitlab-runner-jobs`);
      expect(quota.spec.scopeSelector).toEqual({ matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [`${t.tenant.name}-gitlab-runner`] }] });
      const workload = find(objects, 'Deployment', `${t.tenant.name}-gitlab-runner`);
      expect(workload.spec.template.spec.priorityClassName).toBe(`${t.tenant.name}-gitlab-runner`);
      const toml = parseToml(find(objects, 'ConfigMap', `${t.tenant.name}-gitlab-runner-config`).data['config.toml']) as Any;
      for (const runner of toml.runners) expect(runner.kubernetes.priority_class_name).toBe(`${t.tenant.name}-gitlab-runner`);
      expect(find(objects, 'PriorityClass', `${t.tenant.name}-gitlab-runner`)).toMatchObject({ value: 0, preemptionPolicy: 'Never', globalDefault: false });
    }
  });

  test('the shared namespace, its default deny and DNS policy are written once, outside the tenant folders', () => {
    const files = synthesizeClusters(loadClusters(CONFIG_DIRS['variant 2 shared namespace'], { displayBase: ROOT }));
    const sharedFiles = files.filter((f) => f.path.startsWith('_shared/')).map((f) => f.path);
    expect(sharedFiles).toEqual(['_shared/limitrange-gitlab-runner-jobs.yaml', '_shared/namespace-gitlab-runners.yaml', '_shared/networkpolicy-allow-dns.yaml', '_shared/networkpolicy-default-deny-all.yaml']);
    expect(files.filter((f) => /^tenant-\d\/namespace-/.test(f.path))).toEqual([]);
  });

  test('the synth warns that this variant is weaker', () => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
    const result = spawnSync(process.execPath, [path.join(ROOT, 'build', 'synth.js'), 'diff', '--config', CONFIG_DIRS['variant 2 shared namespace'], '--out', '/nonexistent'], { encoding: 'utf8' });
    expect(result.stderr).toMatch(/^warning: architecture.variant sharedNamespace .* can read every Secret \(all runner tokens\) and exec into every job pod/m);
  });
});

describe('variant 3: a DaemonSet per node group', () => {
  test.each(daemonSet.map((t) => [t.tenant.name, t]))('%s: the DaemonSet runs only on the tenant nodes, and the quota covers every node', (name, t) => {
    const objects = t.objects as Any[];
    expect(ofKind(objects, 'Deployment')).toEqual([]);
    const ds = find(objects, 'DaemonSet', 'gitlab-runner');
    expect(ds.spec.template.spec.nodeSelector).toEqual(t.tenant.nodes.labels);
    expect(ds.spec.template.spec.nodeSelector.tenant).toBe(name);
    for (const other of daemonSet.filter((o) => o.tenant.name !== name)) {
      // The selector can never match the other tenant's nodes.
      expect(Object.entries(ds.spec.template.spec.nodeSelector).every(([k, v]) => other.tenant.nodes.labels[k] === v)).toBe(false);
    }
    const nodes = t.tenant.nodes.maxNodes;
    const jobsQuota = ofKind(objects, 'ResourceQuota').find((q) => q.metadata.namespace === t.layout.jobNamespace);
    expect(jobsQuota.spec.hard.pods).toBe(String(nodes * 20 + (t.layout.separateBuildNamespace ? 0 : nodes)));
  });
});

describe('snapshots per variant (review aid)', () => {
  test.each([['split', split], ['shared', shared], ['daemonSet', daemonSet]] as const)('%s', (_name, tenants) => {
    const first = tenants[0];
    expect(first.objects.map((o) => `# ${o.kind}/${o.metadata.name}\n${toYaml(o)}`).join('---\n')).toMatchSnapshot();
  });
});
