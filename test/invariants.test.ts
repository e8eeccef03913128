/**
 * Properties that must hold for every object of every tenant of the example and of every valid
 * fixture: isolation, RBAC scope, scheduling, selectors that match, no secret material.
 */
import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { requiredSecrets } from '../lib/model/secrets';
import { podSettingsSecrets } from '../lib/model/pod-settings';
import { tenantNetwork } from '../lib/model/enterprise-network';
import { secretMaterialIn } from '../lib/synth/engine';
import { RUNNER_ROLE_RULES } from '../lib/constructs/tenant-runner';
import { METRICS_PORT } from '../lib/constructs/tenant-isolation';
import { EKS_POD_IDENTITY_AGENT_CIDR } from '../lib/constructs/network-policies';
import { CACHE_REGISTRY_PORT, networkPolicyName } from '../lib/model/names';
import { violatedControls } from './support/pod-security';
import { producedSecrets, secretMismatches, secretUses } from './support/secrets';
import { allTenants, Any, find, isExtra, ofKind } from './support/synth';
import { EXTRA_OBJECT_KINDS } from '../lib/model/extra-objects';
import { TENANT_NAMESPACED_KINDS } from '../lib/gitops/gitops-chart';

const CLUSTER_SCOPED = new Set(['Namespace', 'PriorityClass']);

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** JSON with sorted object keys (independent of lib/'s implementation). */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function runnerToml(objects: Any[], configMap: string): Any {
  return parseToml(find(objects, 'ConfigMap', configMap).data['config.toml']);
}

/** Tolerations in one canonical form, from either the pod spec or config.toml's table. */
function canonicalTolerations(tolerations: { key: string; operator?: string; value?: string; effect?: string }[]): string[] {
  return tolerations.map((t) => `${t.key}|${t.operator === 'Exists' ? 'Exists' : `=${t.value}`}|${t.effect ?? ''}`).sort();
}
function tomlTolerations(table: Record<string, string>): string[] {
  return canonicalTolerations(
    Object.entries(table).map(([key, effect]) => {
      const [k, v] = key.split('=');
      return v === undefined ? { key: k, operator: 'Exists', effect } : { key: k, operator: 'Equal', value: v, effect };
    }),
  );
}

const rows = allTenants();
const everyTenantName = rows.map(([, t]) => t.tenant.name);

describe.each(rows)('%s', (_label, { tenant, objects: all, config, layout }) => {
  // The synthesized objects; the tenant's own manifests have invariants of their own (below).
  const objects = all.filter((o) => !isExtra(tenant, o)) as Any[];
  const extras = all.filter((o) => isExtra(tenant, o)) as Any[];
  const ns = layout.managerNamespace;
  const jobNs = layout.jobNamespace;
  const { names } = layout;
  const deployment = find(objects, layout.workloadKind, names.workload);
  const podSpec = deployment.spec.template.spec;
  const podLabels = deployment.spec.template.metadata.labels;
  // The CA bundle and proxy in effect (docs/enterprise-network.md).
  const network = tenantNetwork(config.platform, tenant, layout);
  const toml = runnerToml(objects, names.configMap);
  const jobLabels: Record<string, string>[] = toml.runners.map((r: Any) => r.kubernetes.pod_labels);

  test('every namespaced object sits in one of the tenant\'s namespaces; only Namespace and PriorityClass are cluster-scoped', () => {
    for (const o of objects) {
      if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace).toBeUndefined();
      else expect([ns, jobNs]).toContain(o.metadata.namespace);
    }
    const ownNamespaces = layout.shared ? [] : [...new Set([ns, jobNs])];
    expect(ofKind(objects, 'Namespace').map((o) => o.metadata.name)).toEqual(ownNamespaces);
    expect(ofKind(objects, 'PriorityClass').map((o) => o.metadata.name)).toEqual(layout.shared ? [names.priorityClass] : []);
    // Every name of a shared-namespace tenant carries the tenant prefix, so tenants never collide.
    if (layout.shared) for (const o of objects) expect(o.metadata.name.startsWith(`${tenant.name}-`)).toBe(true);
  });

  test('the tenant\'s own manifests: allowed kinds in its own namespaces, with its labels, no Secret data, no wildcard or ClusterRole RBAC, after its synthesized objects', () => {
    expect(extras.length).toBe(tenant.extraObjects?.length ?? 0);
    // The tenant's own objects follow the synthesized ones, in the order of their files.
    expect(all.slice(all.length - extras.length)).toEqual(extras);
    for (const o of extras) {
      expect(EXTRA_OBJECT_KINDS.map((k) => `${k.apiVersion} ${k.kind}`)).toContain(`${o.apiVersion} ${o.kind}`);
      expect(TENANT_NAMESPACED_KINDS).toContainEqual({ group: o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '', kind: o.kind });
      expect([ns, jobNs]).toContain(o.metadata.namespace);
      expect(o.metadata.labels['tenant-runners.io/tenant']).toBe(tenant.name);
      expect(objects.some((s: Any) => s.kind === o.kind && s.metadata.name === o.metadata.name && s.metadata.namespace === o.metadata.namespace)).toBe(false);
      expect(secretMaterialIn(o)).toEqual([]);
      if (o.kind === 'Role') expect(JSON.stringify(o.rules)).not.toMatch(/\*|escalate|bind|impersonate|pods\/exec/);
      if (o.kind === 'RoleBinding') {
        expect(o.roleRef.kind).toBe('Role');
        expect(extras.some((r) => r.kind === 'Role' && r.metadata.name === o.roleRef.name && r.metadata.namespace === o.metadata.namespace)).toBe(true);
        for (const subject of o.subjects) {
          expect(subject.kind).toBe('ServiceAccount');
          expect([ns, jobNs]).toContain(subject.namespace ?? o.metadata.namespace);
        }
      }
    }
  });

  test('quotas pass the API server: a scoped quota limits only pods, CPU and memory; an unscoped one forbids NodePort/LoadBalancer Services in every namespace', () => {
    // The API server rejects any other resource under a scope: "unsupported scope applied to resource".
    const scopable = ['pods', 'cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];
    const quotas = ofKind(objects, 'ResourceQuota');
    const isScoped = (q: Any) => Boolean(q.spec.scopes?.length || q.spec.scopeSelector?.matchExpressions?.length);
    for (const q of quotas.filter(isScoped)) expect(Object.keys(q.spec.hard).filter((key) => !scopable.includes(key))).toEqual([]);
    for (const namespace of new Set([ns, jobNs])) {
      const unscoped = quotas.filter((q) => !isScoped(q) && q.metadata.namespace === namespace);
      expect(unscoped.map((q) => [q.spec.hard['services.nodeports'], q.spec.hard['services.loadbalancers']])).toContainEqual(['0', '0']);
    }
  });

  test('no ClusterRole, ClusterRoleBinding or Secret is emitted, and nothing carries Secret data', () => {
    expect(objects.filter((o) => ['ClusterRole', 'ClusterRoleBinding', 'Secret'].includes(o.kind))).toEqual([]);
    for (const o of objects) {
      expect('stringData' in o).toBe(false);
      if (o.kind !== 'ConfigMap') expect('data' in o).toBe(false);
    }
    expect(JSON.stringify(objects)).not.toMatch(/glrt-|glpat-|AKIA[0-9A-Z]{16}|PRIVATE KEY/);
    expect(objects.flatMap(secretMaterialIn)).toEqual([]);
  });

  describe('Secrets', () => {
    // Secrets the tenant's pod settings name are its own (docs/pod-settings.md): never the runner's.
    const tenantOwned = new Set(podSettingsSecrets(tenant));
    // A CA bundle of kind Secret is referenced, never produced (not even by an ExternalSecret):
    // it holds no credentials. It is checked on its own below.
    const isCaBundle = (use: { secret: string }) => network.caBundle?.kind === 'Secret' && use.secret === network.caBundle.name;
    const uses = secretUses(objects).filter((use) => !tenantOwned.has(use.secret) && !isCaBundle(use));

    test('a CA bundle Secret is read only at its configured key, and no ExternalSecret produces it', () => {
      const caUses = secretUses(objects).filter(isCaBundle);
      if (network.caBundle?.kind !== 'Secret') {
        expect(caUses).toEqual([]);
        return;
      }
      expect(caUses.length).toBeGreaterThanOrEqual(2);
      for (const use of caUses) expect(use.key).toBe(network.caBundle.key);
      expect(producedSecrets(objects).map((s) => s.name)).not.toContain(network.caBundle.name);
    });
    const externalSecrets = ofKind(objects, 'ExternalSecret');

    test('the tenant\'s own Secrets (pod settings, job volumes) are never the runner token or S3 key Secret', () => {
      expect(tenantOwned.has(tenant.tokenSecretName)).toBe(false);
      if (tenant.cache.s3.auth.type === 'staticKeys') expect(tenantOwned.has(tenant.cache.s3.auth.secretName)).toBe(false);
    });

    test('every Secret read is produced by an ExternalSecret with exactly the keys read (externalSecret), or documented for the platform team (existing)', () => {
      expect(uses.length).toBeGreaterThanOrEqual(tenant.runners.length + 1);
      if (tenant.secrets.source === 'externalSecret') {
        expect(externalSecrets.length).toBeGreaterThan(0);
        expect(secretMismatches(uses, producedSecrets(objects))).toEqual([]);
      } else {
        expect(externalSecrets).toEqual([]);
        // What the README's "Secrets" section tells the platform team to create, by the same rules.
        const documented = requiredSecrets(tenant, names.kanikoPushSecret, { manager: ns, jobs: jobNs }).map((s) => ({ name: s.name, type: s.type, keys: s.keys.map((k) => k.key), by: 'requiredSecrets' }));
        expect(secretMismatches(uses, documented)).toEqual([]);
      }
    });

    test('ExternalSecrets fetch from the configured store: SecretStore unless ClusterSecretStore is set explicitly', () => {
      if (tenant.secrets.source !== 'externalSecret') {
        expect(externalSecrets).toEqual([]);
        return;
      }
      expect(externalSecrets.length).toBeGreaterThan(0);
      for (const es of externalSecrets) {
        expect(es.spec.secretStoreRef).toEqual({ kind: tenant.secrets.store.kind, name: tenant.secrets.store.name });
        expect(es.spec.refreshInterval).toBe(tenant.secrets.refreshInterval);
        expect(es.spec.target).toMatchObject({ name: es.metadata.name, creationPolicy: 'Owner' });
        for (const d of es.spec.data) expect(d.remoteRef.key).toMatch(/^\S+$/);
      }
    });

    test('a change of any ExternalSecret spec rolls the manager (checksum/external-secrets)', () => {
      const annotations = deployment.spec.template.metadata.annotations;
      if (externalSecrets.length === 0) {
        expect(annotations['checksum/external-secrets']).toBeUndefined();
      } else {
        const specs = externalSecrets.map((o) => ({ name: o.metadata.name, spec: o.spec })).sort((a, b) => (a.name < b.name ? -1 : 1));
        expect(annotations['checksum/external-secrets']).toBe(createHash('sha256').update(sortedJson(specs)).digest('hex'));
      }
    });
  });

  test('the Role grants exactly the executor minimum, namespaced, without wildcards', () => {
    const roles = ofKind(objects, 'Role');
    expect(roles).toHaveLength(1);
    const rules = roles[0].rules as Any[];
    const flat = rules.flatMap((r: Any) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${r.apiGroups.join(',')}:${res}:${v}`))).sort();
    expect(flat).toEqual([
      ':events:list', ':events:watch',
      ':pods/attach:create', ':pods/attach:delete', ':pods/attach:get', ':pods/attach:patch',
      ':pods/exec:create', ':pods/exec:delete', ':pods/exec:get', ':pods/exec:patch',
      ':pods/log:get', ':pods/log:list',
      ':pods:create', ':pods:delete', ':pods:get', ':pods:list', ':pods:watch',
      ':secrets:create', ':secrets:delete', ':secrets:get', ':secrets:update',
      ':serviceaccounts:get',
      ':services:create', ':services:get',
    ].sort());
    expect(JSON.stringify(rules)).not.toContain('*');
    expect(rules.every((r: Any) => r.resourceNames === undefined)).toBe(true);
    expect(RUNNER_ROLE_RULES).toHaveLength(rules.length);
  });

  test('the Role and RoleBinding live where the job pods are and bind only this tenant\'s manager', () => {
    const binding = find(objects, 'RoleBinding', names.roleBinding);
    expect(binding.metadata.namespace).toBe(jobNs);
    expect(find(objects, 'Role', names.role).metadata.namespace).toBe(jobNs);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec.serviceAccountName, namespace: ns }]);
  });

  test('manager placement == config.toml job placement == the tenant nodes', () => {
    // The tenant's labels, plus kubernetes.io/arch when it declares nodes.architecture.
    const selector = { ...tenant.nodes.labels, ...(tenant.nodes.architecture ? { 'kubernetes.io/arch': tenant.nodes.architecture } : {}) };
    expect(podSpec.nodeSelector).toEqual(selector);
    for (const runner of toml.runners) expect(runner.kubernetes.node_selector).toEqual(selector);
    const fromTenant = canonicalTolerations(tenant.nodes.taints.map((t) => (t.value === undefined ? { key: t.key, operator: 'Exists', effect: t.effect } : { ...t, operator: 'Equal' })));
    expect(canonicalTolerations(podSpec.tolerations ?? [])).toEqual(fromTenant);
    for (const runner of toml.runners) expect(tomlTolerations(runner.kubernetes.node_tolerations ?? {})).toEqual(fromTenant);
  });

  test('job pods cannot leave the namespace, node pool, service account or labels', () => {
    for (const runner of toml.runners) {
      const k = runner.kubernetes;
      expect(k.namespace).toBe(jobNs);
      for (const key of Object.keys(k).filter((key) => key.endsWith('_overwrite_allowed'))) {
        expect(`${key}=${JSON.stringify(k[key])}`).toMatch(/=(""|false)$/);
      }
      // Ceilings for KUBERNETES_* job variables exist only where configOverrides set them.
      const spec = tenant.runners.find((r) => r.name === runner.name)!;
      const ceilings = Object.keys((spec.configOverrides?.kubernetes ?? {}) as object).filter((key) => key.endsWith('_overwrite_max_allowed'));
      expect(Object.keys(k).filter((key) => key.endsWith('_overwrite_max_allowed'))).toEqual(ceilings);
      expect(k.privileged).toBe(false);
      expect(k.allow_privilege_escalation).toBe(false);
      expect(k.automount_service_account_token).toBe(false);
      expect(k.service_account).toBe(names.jobServiceAccount);
      // The tenant's own job labels (pods.jobs.labels) never replace the selector labels.
      expect(k.pod_labels).toEqual({ ...tenant.pods.jobs.labels, 'tenant-runners.io/tenant': tenant.name, 'tenant-runners.io/role': 'job', 'tenant-runners.io/runner': runner.name });
    }
    const jobSa = find(objects, 'ServiceAccount', names.jobServiceAccount);
    expect(jobSa.automountServiceAccountToken).toBe(false);
    expect(jobSa.metadata.namespace).toBe(jobNs);
  });

  test('the PodMonitor selects exactly the manager pod and a named container port', () => {
    const monitor = find(objects, 'PodMonitor', names.podMonitor);
    expect(matches(monitor.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [ns] });
    const ports = podSpec.containers.flatMap((c: Any) => c.ports ?? []);
    for (const endpoint of monitor.spec.podMetricsEndpoints) {
      expect(ports).toContainEqual(expect.objectContaining({ name: endpoint.port, containerPort: METRICS_PORT }));
      expect(endpoint.relabelings).toContainEqual(expect.objectContaining({ targetLabel: 'tenant', replacement: tenant.name }));
    }
    // The manager labels do not match job pods, so job pods are never scraped.
    for (const runner of toml.runners) expect(matches(monitor.spec.selector.matchLabels, runner.kubernetes.pod_labels)).toBe(false);
  });

  test('the PrometheusRule watches exactly this tenant: its scrape job, its own quotas, its tenant label; Prometheus selects it like the PodMonitor', () => {
    const rules = ofKind(objects, 'PrometheusRule');
    const { monitoring } = config.platform;
    if (!monitoring.alerts.enabled) return expect(rules).toEqual([]);
    expect(rules).toHaveLength(1);
    const [rule] = rules;
    expect(rule.metadata.namespace).toBe(ns);
    expect(rule.metadata.labels).toMatchObject(monitoring.alerts.labels ?? monitoring.podMonitorLabels);
    const monitor = find(objects, 'PodMonitor', names.podMonitor);
    const job = `${monitor.metadata.namespace}/${monitor.metadata.name}`;
    const quotas = ofKind(objects, 'ResourceQuota');
    const otherQuotas = rows.filter(([, r]) => r.config === config && r.tenant.name !== tenant.name).flatMap(([, r]) => ofKind(r.objects as Any[], 'ResourceQuota'));
    let quotaSelectors = 0;
    for (const r of rule.spec.groups.flatMap((g: Any) => g.rules)) {
      expect(r.labels.tenant).toBe(tenant.name);
      for (const m of r.expr.matchAll(/\b(gitlab_runner_\w+|up)\{([^}]*)\}/g)) expect(m[2]).toContain(`job="${job}", tenant="${tenant.name}"`);
      for (const m of r.expr.matchAll(/kube_resourcequota\{namespace=~"([^"]*)", resourcequota=~"([^"]*)"/g)) {
        quotaSelectors++;
        const selects = (q: Any) => new RegExp(`^(?:${m[1]})$`).test(q.metadata.namespace) && new RegExp(`^(?:${m[2]})$`).test(q.metadata.name);
        expect(quotas.length).toBeGreaterThan(0);
        expect(quotas.every(selects)).toBe(true);
        expect(otherQuotas.filter(selects)).toEqual([]);
      }
    }
    expect(quotaSelectors).toBeGreaterThan(0);
  });

  test('each workload selector matches its own pod template and no other pod of the tenant', () => {
    const workloads = objects.filter((o) => ['Deployment', 'DaemonSet'].includes(o.kind));
    expect(workloads.map((d) => d.metadata.name).sort()).toEqual(
      tenant.cache.kaniko.mode === 's3' ? [names.workload, names.cacheRegistry] : [names.workload],
    );
    for (const d of workloads) {
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      for (const other of workloads.filter((o) => o !== d)) expect(matches(d.spec.selector.matchLabels, other.spec.template.metadata.labels)).toBe(false);
      for (const labels of jobLabels) expect(matches(d.spec.selector.matchLabels, labels)).toBe(false);
    }
  });

  describe('NetworkPolicies', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    const selects = (policy: Any, labels: Record<string, string>) => matches(policy.spec.podSelector.matchLabels ?? {}, labels);

    test('a default deny covers every pod of every namespace the tenant owns, for ingress and egress', () => {
      for (const namespace of layout.shared ? [] : [...new Set([ns, jobNs])]) {
        const deny = policies.find((p) => p.metadata.namespace === namespace && Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
        expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      }
    });

    test('every policy selects the manager or job pods it is meant for', () => {
      const managerEgress = find(objects, 'NetworkPolicy', networkPolicyName(names, 'runner-manager-egress'));
      const jobEgress = find(objects, 'NetworkPolicy', networkPolicyName(names, 'runner-jobs-egress'));
      expect(managerEgress.metadata.namespace).toBe(ns);
      expect(jobEgress.metadata.namespace).toBe(jobNs);
      expect(selects(managerEgress, podLabels)).toBe(true);
      for (const labels of jobLabels) {
        expect(selects(jobEgress, labels)).toBe(true);
        expect(selects(managerEgress, labels)).toBe(false);
      }
      expect(selects(jobEgress, podLabels)).toBe(false);
      // Policies that select pods by label (rather than all pods of a namespace of the tenant's
      // own) always include the tenant label, so in a shared namespace they never reach another tenant.
      for (const p of policies) {
        if (Object.keys(p.spec.podSelector).length === 0) expect(layout.shared).toBe(false);
        else expect(p.spec.podSelector.matchLabels['tenant-runners.io/tenant']).toBe(tenant.name);
      }
    });

    test('ingress: only monitoring → manager metrics port, and (mode s3) only this tenant\'s job pods → cache registry port', () => {
      const ingress = policies.flatMap((p) => (p.spec.ingress ?? []).map((rule: Any) => ({ p, rule })));
      const s3 = tenant.cache.kaniko.mode === 's3';
      expect(ingress).toHaveLength(s3 ? 2 : 1);
      const metrics = ingress.filter(({ p }) => selects(p, podLabels));
      expect(metrics).toHaveLength(1);
      expect(metrics[0].rule.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': config.platform.monitoring.namespace } } }]);
      expect(metrics[0].rule.ports).toEqual([{ protocol: 'TCP', port: METRICS_PORT }]);
      for (const { p, rule } of ingress.filter((entry) => entry !== metrics[0])) {
        // The cache registry's only ingress: pods of this namespace (no namespaceSelector) that
        // carry this tenant's job labels, on the registry port.
        const registry = find(objects, 'Deployment', 'kaniko-cache-registry');
        expect(selects(p, registry.spec.template.metadata.labels)).toBe(true);
        expect(selects(p, podLabels)).toBe(false);
        expect(rule.from).toEqual([{ podSelector: { matchLabels: { 'tenant-runners.io/tenant': ns, 'tenant-runners.io/role': 'job' } } }]);
        for (const labels of jobLabels) expect(matches(rule.from[0].podSelector.matchLabels, labels)).toBe(true);
        expect(matches(rule.from[0].podSelector.matchLabels, podLabels)).toBe(false);
        expect(rule.ports).toEqual([{ protocol: 'TCP', port: CACHE_REGISTRY_PORT }]);
      }
    });

    test('egress goes only to DNS pods and to the configured CIDRs, never to another namespace', () => {
      const allowedCidrs = new Set([
        ...config.platform.gitlab.egressCidrs, ...config.platform.kubernetes.apiServerCidrs, ...config.platform.s3.egressCidrs,
        ...config.platform.registry.egressCidrs, ...tenant.egress.extra.map((e) => e.cidr),
        ...(tenant.cache.s3.auth.type === 'podIdentity' ? [EKS_POD_IDENTITY_AGENT_CIDR] : []),
        ...(network.proxy?.egressCidrs ?? []),
      ]);
      const proxyPeer = network.proxy?.inCluster && {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': network.proxy.inCluster.namespace } },
        podSelector: { matchLabels: network.proxy.inCluster.podLabels },
      };
      for (const p of policies) {
        for (const rule of p.spec.egress ?? []) {
          expect(rule.ports?.length).toBeGreaterThan(0);
          for (const peer of rule.to) {
            if (peer.ipBlock) {
              expect(allowedCidrs.has(peer.ipBlock.cidr)).toBe(true);
              expect(peer.ipBlock.cidr).not.toBe('0.0.0.0/0');
            } else if (p.metadata.name === 'runner-jobs-to-cache-registry') {
              // Mode s3: job pods → this namespace's cache registry, on its port only.
              expect(tenant.cache.kaniko.mode).toBe('s3');
              expect(p.spec.podSelector).toEqual({ matchLabels: { 'tenant-runners.io/tenant': ns, 'tenant-runners.io/role': 'job' } });
              expect(peer).toEqual({ podSelector: { matchLabels: { 'tenant-runners.io/tenant': ns, 'tenant-runners.io/role': 'cache-registry' } } });
              expect(rule.ports).toEqual([{ protocol: 'TCP', port: CACHE_REGISTRY_PORT }]);
            } else if (proxyPeer && p.metadata.name !== 'allow-dns') {
              // A proxy in the cluster: exactly its pods, on its ports, in a namespace no tenant owns.
              expect(peer).toEqual(proxyPeer);
              expect(rule.ports.map((port: Any) => port.port)).toEqual(network.proxy!.ports);
              expect(everyTenantName).not.toContain(network.proxy!.inCluster!.namespace);
            } else {
              // Otherwise the only in-cluster destination: the cluster DNS pods.
              expect(p.metadata.name).toBe('allow-dns');
              expect(peer.namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': config.platform.kubernetes.dns.namespace });
              expect(peer.podSelector.matchLabels).toEqual(config.platform.kubernetes.dns.podLabels);
              expect(everyTenantName).not.toContain(config.platform.kubernetes.dns.namespace);
            }
          }
        }
      }
    });
  });

  test.each(objects.filter((o) => ['Deployment', 'DaemonSet'].includes(o.kind)).map((d) => [d.metadata.name, d]))('the %s pod passes Pod Security restricted', (_name, d) => {
    const spec = d.spec.template.spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(spec.hostNetwork ?? false).toBe(false);
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(c.securityContext.capabilities.add).toBeUndefined();
      expect(c.image).toMatch(/:[\w][\w.-]*$|@sha256:/);
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
    }
    for (const v of spec.volumes) expect(Object.keys(v).filter((k) => k !== 'name')).not.toContain('hostPath');
    // Every long-running pod sits on the tenant's nodes, like the jobs.
    expect(spec.nodeSelector).toEqual({ ...tenant.nodes.labels, ...(tenant.nodes.architecture ? { 'kubernetes.io/arch': tenant.nodes.architecture } : {}) });
    expect(canonicalTolerations(spec.tolerations ?? [])).toEqual(canonicalTolerations(podSpec.tolerations ?? []));
  });

  test('job containers pass Pod Security baseline; build fails restricted only for root and Kaniko\'s capabilities', () => {
    for (const runner of toml.runners) {
      const k = runner.kubernetes;
      const of = (container: Any) => ({ container, pod: k.pod_security_context, volumes: k.volumes });
      for (const key of ['build_container_security_context', 'helper_container_security_context', 'service_container_security_context']) {
        expect(`${runner.name} ${key}: ${violatedControls(of(k[key]), 'baseline')}`).toBe(`${runner.name} ${key}: `);
      }
      expect(violatedControls(of(k.build_container_security_context), 'restricted')).toEqual(['capabilitiesRestricted', 'runAsNonRoot']);
      // The helper runs as root (drop ALL) unless runner.helperRunAsUser is set; then it is restricted.
      expect(violatedControls(of(k.helper_container_security_context), 'restricted')).toEqual(
        config.platform.runner.helperRunAsUser === undefined ? ['runAsNonRoot'] : [],
      );
    }
  });

  test('jobs get the Kaniko cache repo and the flags its mode needs, through the runner environment', () => {
    for (const runner of toml.runners) {
      const env = Object.fromEntries((runner.environment as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      expect(env.KANIKO_CACHE_REPO).toBe(tenant.kanikoCacheRepo);
      expect(env.KANIKO_IMAGE).toBe(config.platform.kaniko.image);
      if (tenant.cache.kaniko.mode === 's3') {
        const host = `kaniko-cache-registry.${ns}.svc:${CACHE_REGISTRY_PORT}`;
        expect(env.KANIKO_CACHE_REPO).toBe(`${host}/cache`);
        expect(env.KANIKO_CACHE_ARGS).toBe(`--insecure-registry=${host} --skip-tls-verify-registry=${host}`);
      } else {
        expect(env.KANIKO_CACHE_REPO.startsWith('kaniko-cache-registry.')).toBe(false);
        expect(env.KANIKO_CACHE_ARGS).toBe('');
        expect(ofKind(objects, 'Service')).toEqual([]);
      }
    }
  });

  test('runner tokens come from Secret references and reach config.toml only as ${VAR}', () => {
    const env = podSpec.containers[0].env as Any[];
    for (const runner of toml.runners) {
      const variable = /^\$\{(RUNNER_TOKEN_[A-Z0-9_]+)\}$/.exec(runner.token)?.[1];
      expect(variable).toBeDefined();
      const entry = env.find((e) => e.name === variable);
      const spec = tenant.runners.find((r) => r.name === runner.name)!;
      expect(entry).toEqual({ name: variable, valueFrom: { secretKeyRef: { name: tenant.tokenSecretName, key: spec.tokenSecretKey ?? spec.name } } });
      // Token rotation by the runner stays off whatever flags are configured.
      expect(runner.feature_flags).toEqual({ FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true, ...config.platform.runner.featureFlags, ...spec.featureFlags });
      expect(runner.feature_flags.FF_DISABLE_AUTOMATIC_TOKEN_ROTATION).toBe(true);
    }
    // Plain values only for the CA directory and the proxy (no credentials: the loader refuses them in proxy URLs).
    const plain = [...(network.caBundle ? ['SSL_CERT_DIR'] : []), ...(network.proxy ? ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] : [])];
    expect(env.filter((e) => e.value !== undefined).map((e) => e.name)).toEqual(plain);
  });

  test('config changes roll the pod, and running jobs get the shutdown timeout to finish', () => {
    const { createHash } = require('node:crypto');
    const text = find(objects, 'ConfigMap', names.configMap).data['config.toml'];
    expect(deployment.spec.template.metadata.annotations['checksum/config']).toBe(createHash('sha256').update(text).digest('hex'));
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(toml.shutdown_timeout);
    expect(podSpec.containers[0].lifecycle.preStop.exec.command.join(' ')).toContain('kill -QUIT 1');
  });

  test('probes use the local metrics endpoint, never GitLab', () => {
    const c = podSpec.containers[0];
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
      expect(probe.exec).toBeUndefined();
    }
    expect(toml.listen_address).toBe(`:${METRICS_PORT}`);
  });
});
