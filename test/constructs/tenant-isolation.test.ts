import { Testing } from 'cdk8s';
import { DeliveryPolicy } from '../../lib/gitops/gitops-chart';
import { TenantIsolation } from '../../lib/constructs/tenant-isolation';
import { EKS_POD_IDENTITY_AGENT_CIDR } from '../../lib/constructs/network-policies';
import { objectNames } from '../../lib/model/names';
import { EXCLUDED_RANGES, isolationProps, Json, ofKind, one, REGISTRY, synth } from './props';

const build = (overrides: Parameters<typeof isolationProps>[0] = {}) => {
  const chart = Testing.chart();
  const isolation = new TenantIsolation(chart, 'Isolation', isolationProps(overrides));
  return { isolation, objects: synth(chart) };
};
const cidrsOf = (rule: Json) => rule.to.map((peer: Json) => peer.ipBlock?.cidr);
const portsOf = (rule: Json) => rule.ports.map((p: Json) => p.port);

describe('TenantIsolation', () => {
  test('one namespace by default: Pod Security baseline, tenant labels, policies and quota in it', () => {
    const { isolation, objects } = build();
    const namespace = one(objects, 'Namespace');
    expect(namespace.metadata.name).toBe('acme');
    expect(namespace.metadata.labels).toMatchObject({ 'tenant-runners.io/tenant': 'acme', 'pod-security.kubernetes.io/enforce': 'baseline' });
    expect(namespace.metadata.annotations).toBeUndefined();
    expect(isolation.namespaces).toEqual(['acme']);
    expect(isolation.ownNamespaces).toEqual(['acme']);
    expect(ofKind(objects, 'NetworkPolicy').map((p) => p.metadata.name).sort()).toEqual(
      ['allow-dns', 'allow-metrics-from-monitoring', 'default-deny-all', 'runner-jobs-egress', 'runner-manager-egress'],
    );
    expect(new Set(objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace))).toEqual(new Set(['acme']));
  });

  test('a separate job namespace: manager restricted, jobs baseline, the jobs quota where the jobs are', () => {
    const { isolation, objects } = build({ jobNamespace: 'acme-build' });
    expect(ofKind(objects, 'Namespace').map((n) => [n.metadata.name, n.metadata.labels['pod-security.kubernetes.io/enforce']])).toEqual([
      ['acme', 'restricted'], ['acme-build', 'baseline'],
    ]);
    expect(isolation.separateBuildNamespace).toBe(true);
    const quotas = ofKind(objects, 'ResourceQuota');
    expect(quotas.map((q) => q.metadata.namespace).sort()).toEqual(['acme', 'acme-build']);
    const jobs = quotas.find((q) => q.metadata.namespace === 'acme-build');
    // 4 concurrent jobs of 2 + 0.5 + 1 (one service) CPU.
    expect(jobs.spec.hard).toMatchObject({ 'pods': '4', 'limits.cpu': '14' });
    expect(isolation.jobQuota).toEqual(jobs.spec.hard);
    expect(isolation.quotas).toEqual([{ namespace: 'acme-build', name: 'gitlab-runner-jobs' }, { namespace: 'acme', name: 'gitlab-runner-jobs' }]);
  });

  test('the shared namespace: no Namespace, a PriorityClass that scopes the quota, prefixed names', () => {
    const names = objectNames('acme-');
    const { isolation, objects } = build({ namespace: 'gitlab-runners', sharedNamespace: true, names });
    expect(ofKind(objects, 'Namespace')).toEqual([]);
    expect(one(objects, 'PriorityClass').metadata.name).toBe('acme-gitlab-runner');
    const quota = one(objects, 'ResourceQuota', names.resourceQuota);
    expect(quota.spec.scopeSelector.matchExpressions[0]).toEqual({ scopeName: 'PriorityClass', operator: 'In', values: ['acme-gitlab-runner'] });
    // A PriorityClass scope takes only pods, CPU and memory; the rest goes to an unscoped quota.
    expect(Object.keys(quota.spec.hard)).toEqual(['limits.cpu', 'limits.memory', 'pods', 'requests.cpu', 'requests.memory']);
    const unscoped = one(objects, 'ResourceQuota', 'acme-gitlab-runner-jobs-unscoped');
    expect(unscoped.spec).toEqual({ hard: { 'services.loadbalancers': '0', 'services.nodeports': '0' } });
    expect(isolation.jobQuota).toEqual(quota.spec.hard);
    // Alerts watch every quota of the tenant, the unscoped one too.
    expect(isolation.quotas).toEqual([
      { namespace: 'gitlab-runners', name: names.resourceQuota },
      { namespace: 'gitlab-runners', name: 'acme-gitlab-runner-jobs-unscoped' },
    ]);
    expect(isolation.ownNamespaces).toEqual([]);
    expect(ofKind(objects, 'NetworkPolicy').every((p) => p.metadata.name.startsWith('acme-'))).toBe(true);
    expect(ofKind(objects, 'LimitRange')).toEqual([]);
  });

  test('egress destinations reach the manager and job policies', () => {
    const { objects } = build({ extraEgress: [{ cidr: '10.9.0.0/16', ports: [8080], protocol: 'TCP' }], podIdentityAgentEgress: true });
    const manager = one(objects, 'NetworkPolicy', 'runner-manager-egress').spec;
    expect(manager.podSelector.matchLabels).toEqual({ 'tenant-runners.io/tenant': 'acme', 'tenant-runners.io/role': 'manager' });
    expect(manager.egress.map(cidrsOf)).toEqual([['203.0.113.10/32'], ['10.0.0.1/32'], ['198.51.100.0/24'], [EKS_POD_IDENTITY_AGENT_CIDR]]);
    expect(manager.egress.map(portsOf)).toEqual([[443], [443, 6443], [443], [80]]);
    const jobs = one(objects, 'NetworkPolicy', 'runner-jobs-egress').spec;
    expect(jobs.podSelector.matchLabels).toEqual({ 'tenant-runners.io/tenant': 'acme', 'tenant-runners.io/role': 'job' });
    expect(jobs.egress.map(cidrsOf)).toEqual([['203.0.113.10/32'], ['192.0.2.0/28'], ['198.51.100.0/24'], ['10.9.0.0/16']]);
    expect(jobs.egress[1].ports.map((p: Json) => p.port)).toEqual([443, 5050]);
  });

  test('shared namespace: quota overrides land in the quota that may hold them', () => {
    const names = objectNames('acme-');
    const { objects } = build({ namespace: 'gitlab-runners', sharedNamespace: true, names, quotaOverrides: { 'limits.memory': '100Gi', 'count/configmaps': '20' } });
    expect(one(objects, 'ResourceQuota', names.resourceQuota).spec.hard['limits.memory']).toBe('100Gi');
    expect(one(objects, 'ResourceQuota', 'acme-gitlab-runner-jobs-unscoped').spec.hard).toEqual({ 'count/configmaps': '20', 'services.loadbalancers': '0', 'services.nodeports': '0' });
  });

  test('excluded ranges: every wider ipBlock excepts them, and the API server outside its own rule', () => {
    const { objects } = build({
      gitlabEgress: { cidrs: ['0.0.0.0/0'], ports: [443] },
      apiServerEgress: { cidrs: ['10.0.0.0/16', '10.0.0.1/32'], ports: [443] },
      extraEgress: [{ cidr: '10.0.0.0/8', ports: [8080], protocol: 'TCP' }],
      excludedRanges: EXCLUDED_RANGES,
    });
    const manager = one(objects, 'NetworkPolicy', 'runner-manager-egress').spec.egress;
    expect(manager[0].to).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/16', '10.96.0.0/12', '169.254.0.0/16'] } }]);
    // The manager's own API server rule excepts the cluster networks only.
    expect(manager[1].to).toEqual([{ ipBlock: { cidr: '10.0.0.0/16' } }, { ipBlock: { cidr: '10.0.0.1/32' } }]);
    // A block that contains none of them stays as it is.
    expect(manager[2].to).toEqual([{ ipBlock: { cidr: '198.51.100.0/24' } }]);
    const jobs = one(objects, 'NetworkPolicy', 'runner-jobs-egress').spec.egress;
    expect(jobs[3].to).toEqual([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/16', '10.96.0.0/12'] } }]);
    expect(build().objects.flatMap((o) => o.spec?.egress ?? []).flatMap((rule: Json) => rule.to).filter((peer: Json) => peer.ipBlock?.except)).toEqual([]);
  });

  test('DNS and monitoring defaults, and their props', () => {
    const defaults = build().objects;
    const dns = one(defaults, 'NetworkPolicy', 'allow-dns').spec.egress[0].to[0];
    expect(dns).toEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } });
    const metrics = one(defaults, 'NetworkPolicy', 'allow-metrics-from-monitoring').spec.ingress[0];
    expect(metrics.from[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'monitoring' });

    const custom = build({ dns: { namespace: 'dns', podLabels: { app: 'coredns' } }, monitoringNamespace: 'prom' }).objects;
    expect(one(custom, 'NetworkPolicy', 'allow-dns').spec.egress[0].to[0].podSelector.matchLabels).toEqual({ app: 'coredns' });
    expect(one(custom, 'NetworkPolicy', 'allow-metrics-from-monitoring').spec.ingress[0].from[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'prom' });
  });

  test('quota: managers multiply it, the cache registry adds a pod, overrides replace computed entries', () => {
    const base = build().isolation.jobQuota;
    // Jobs and manager share the namespace: 4 jobs + 1 manager.
    expect(base.pods).toBe('5');
    expect(build({ managers: 3 }).isolation.jobQuota.pods).toBe('15');
    expect(build({ cacheRegistryResources: REGISTRY }).isolation.jobQuota.pods).toBe('6');
    const overridden = build({ quotaOverrides: { 'limits.memory': '100Gi' } }).objects;
    expect(one(overridden, 'ResourceQuota').spec.hard['limits.memory']).toBe('100Gi');
    expect(build({ servicesPerJob: 0 }).isolation.jobQuota['limits.cpu']).toBe('10500m');
  });

  test('scheduling comes from the node labels and taints', () => {
    const { isolation } = build({ nodeTaints: [{ key: 'dedicated', value: 'acme', effect: 'NoSchedule' }, { key: 'gpu', value: 'acme', effect: 'NoExecute' }] });
    expect(isolation.scheduling.nodeSelector).toEqual({ pool: 'acme' });
    // Always operator Equal: Exists would tolerate every tenant's taint of that key.
    expect(isolation.scheduling.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'acme', effect: 'NoSchedule' },
      { key: 'gpu', operator: 'Equal', value: 'acme', effect: 'NoExecute' },
    ]);
    expect(isolation.scheduling.runnerNodeTolerations).toEqual({ 'dedicated=acme': 'NoSchedule', 'gpu=acme': 'NoExecute' });
  });

  test('the delivery policy annotates the Namespaces, and only them', () => {
    const { objects } = build({ jobNamespace: 'acme-build', delivery: new DeliveryPolicy('argocd') });
    for (const namespace of ofKind(objects, 'Namespace')) {
      expect(namespace.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'argocd.argoproj.io/sync-wave': '-1' });
    }
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.annotations)).toEqual([]);
    const flux = build({ delivery: new DeliveryPolicy('flux') }).objects;
    expect(one(flux, 'Namespace').metadata.annotations).toEqual({ 'kustomize.toolkit.fluxcd.io/prune': 'disabled' });
  });
});
