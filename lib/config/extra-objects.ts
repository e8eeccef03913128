/**
 * A tenant's own manifests: `<tenants folder>/<tenant>/extra/*.yaml` (docs/extra-objects.md).
 * Read with positions like every configuration file (1 MiB, aliases, regular files only), several
 * documents per file allowed, and checked against a conservative policy: allowed kinds only, the
 * tenant's own namespaces, no RBAC that widens the tenant's rights, no credentials. Every problem
 * is reported with file:line:col and key path; nothing is written while any is left.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isScalar } from 'yaml';
import { ConfigProblem } from './errors';
import { fileKind, hasPath, problemAt, readDocuments, SourceFile } from './source';
import { labelKey, labelValue } from './schema';
import { findCredential, redact, scanForCredentials } from '../guards/credentials';
import { EXTRA_DIR, EXTRA_OBJECT_KINDS, ExtraKind, ExtraObject, MAX_EXTRA_OBJECTS } from '../model/extra-objects';
import { tenantLabels } from '../model/labels';
import type { TenantConfig } from '../model/resolve';
import { requiredSecrets } from '../model/secrets';

type Problem = { path: PropertyKey[]; message: string; at?: 'key' | 'value' };
type Json = Record<string, unknown>;
type Binding = { source: SourceFile; value: Json; namespace: string };

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kinds refused with a reason of their own (any other kind outside the allow list gets the list). */
const POD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob'];
const CLUSTER_SCOPED = [
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'PersistentVolume',
  'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
  'APIService', 'RuntimeClass', 'IngressClass', 'CSIDriver', 'Node', 'ClusterSecretStore', 'ClusterExternalSecret', 'ClusterIssuer',
];
function refusedKind(kind: string): string | undefined {
  if (kind === 'Secret') return 'a Secret is never written to dist/, which is public like config/; fetch it with an ExternalSecret from the secret store';
  if (kind === 'NetworkPolicy') return 'NetworkPolicies add allowed traffic, so a tenant policy could open what the default deny closes; egress is declared in the tenant file';
  if (kind === 'ResourceQuota' || kind === 'LimitRange') return `the tenant's ${kind} is synthesized from its configuration (concurrent, resources), and another one would change its limits`;
  if (POD_KINDS.includes(kind)) return 'it runs pods, which would run beside the runner, outside its node placement and pod hardening (host paths, host network, privileged containers); run workloads as CI jobs';
  if (CLUSTER_SCOPED.includes(kind)) return 'it is cluster-scoped, and a tenant folder holds only objects of its own namespaces';
  return undefined;
}
/**
 * A value of the file, fit for a one-line message: quoted, control characters escaped, cut at 80
 * characters, and never a credential (messages go to CI logs).
 */
function shown(value: string): string {
  if (findCredential(value)) return redact(value);
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  // eslint-disable-next-line no-control-regex
  return `'${cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

const allowedKinds = () => EXTRA_OBJECT_KINDS.map((k) => `${k.kind} (${k.apiVersion})`).join(', ');

const METADATA_FIELDS = ['name', 'namespace', 'labels', 'annotations'];
/** Annotations that steer the delivery tool; the synth sets what a tenant object needs. */
const DELIVERY_ANNOTATION = /^(argocd\.argoproj\.io|kustomize\.toolkit\.fluxcd\.io)\//;

const READ_VERBS = ['get', 'list', 'watch'];
const WRITE_VERBS = ['create', 'update', 'patch', 'delete'];
/** Subresources that reach into pods or mint tokens: access to them is the pod's or the ServiceAccount's rights. */
const REFUSED_SUBRESOURCES = [
  'pods/exec', 'pods/attach', 'pods/portforward', 'pods/proxy', 'pods/ephemeralcontainers', 'services/proxy', 'nodes/proxy', 'serviceaccounts/token',
];
/**
 * Resources a Role may only read: writing them runs pods (under any ServiceAccount of the
 * namespace, the runner manager's included) or changes the namespace's isolation and rights.
 */
const READ_ONLY_RESOURCES = [
  'pods', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs', 'cronjobs', 'replicationcontrollers',
  'networkpolicies', 'resourcequotas', 'limitranges', 'roles', 'rolebindings', 'serviceaccounts', 'namespaces',
];

/** What the checks need to know of the tenant. */
interface TenantContext {
  readonly tenant: TenantConfig;
  readonly namespaces: readonly string[];
  /** Names of the tenant's synthesized objects (and the Secrets it reads): never an extra object's name. */
  readonly reservedNames: ReadonlySet<string>;
  readonly runnerSecrets: ReadonlySet<string>;
}

/**
 * The extra objects of a tenant whose folder is `tenantFolder` (`config/tenants/<tenant>`), or an
 * empty list when it has none. Problems go to `problems`.
 */
export function readExtraObjects(
  tenant: TenantConfig,
  tenantFolder: string,
  display: (file: string) => string,
  problems: ConfigProblem[],
): ExtraObject[] {
  const folderProblem = (file: string, message: string) => problems.push({ file: display(file), line: 0, column: 0, keyPath: '', message });
  const folderStat = fs.lstatSync(tenantFolder, { throwIfNoEntry: false });
  if (!folderStat) return [];
  if (!folderStat.isDirectory()) {
    folderProblem(tenantFolder, `is ${fileKind(folderStat)}; next to a tenant file, <tenant>/ must be a folder holding ${EXTRA_DIR}/`);
    return [];
  }
  for (const entry of fs.readdirSync(tenantFolder).sort()) {
    if (entry !== EXTRA_DIR) folderProblem(path.join(tenantFolder, entry), `is not expected here: a tenant's folder holds only ${EXTRA_DIR}/ (its own manifests, docs/extra-objects.md)`);
  }
  const extraDir = path.join(tenantFolder, EXTRA_DIR);
  const extraStat = fs.lstatSync(extraDir, { throwIfNoEntry: false });
  if (!extraStat) return [];
  if (!extraStat.isDirectory()) {
    folderProblem(extraDir, `is ${fileKind(extraStat)}; it must be a folder of manifests (*.yaml)`);
    return [];
  }
  const entries = fs.readdirSync(extraDir).sort();
  if (tenant.layout.shared && entries.length > 0) {
    folderProblem(extraDir, `extra objects are not accepted with architecture.variant sharedNamespace: every tenant shares namespace '${tenant.layout.managerNamespace}', so a tenant's Role, ConfigMap or ExternalSecret would be there for every other tenant's runner; use namespacePerTenant`);
    return [];
  }
  const context = tenantContext(tenant);
  const objects: ExtraObject[] = [];
  const seen = new Map<string, string>();
  const roles = new Set<string>();
  const pending: { source: SourceFile; object: Json }[] = [];
  const bindings: Binding[] = [];
  for (const entry of entries) {
    const file = path.join(extraDir, entry);
    if (!/\.ya?ml$/.test(entry)) {
      folderProblem(file, 'is not a manifest: extra/ holds only *.yaml files (one or more objects each, separated by ---)');
      continue;
    }
    const documents = readDocuments(file, display(file), problems);
    for (const source of documents ?? []) {
      checkCredentials(source, problems);
      // A document of comments only (or after a trailing ---) holds no object.
      if (source.doc.contents === null || (isScalar(source.doc.contents) && source.doc.contents.value === null)) continue;
      const found = checkObject(source, context, problems, bindings);
      if (!found) continue;
      if (found.kind === 'Role') roles.add(`${found.namespace}/${found.name}`);
      const key = `${found.kind}/${found.namespace}/${found.name}`;
      const earlier = seen.get(key);
      if (earlier) {
        problems.push(problemAt(source, ['metadata', 'name'], `${found.kind} '${found.name}' is already defined in ${earlier}`));
        continue;
      }
      seen.set(key, source.file);
      pending.push({ source, object: found.object });
    }
  }
  // RoleBindings may bind only Roles of the tenant's own manifests: checked once every Role is known.
  for (const { source, value, namespace } of bindings) {
    for (const p of checkRoleRef(value, namespace, roles)) problems.push(problemAt(source, p.path, p.message, p.at));
  }
  if (pending.length > MAX_EXTRA_OBJECTS) folderProblem(extraDir, `holds ${pending.length} objects; a tenant may add at most ${MAX_EXTRA_OBJECTS}`);
  for (const { source, object } of pending) {
    const start = source.lineCounter.linePos(source.doc.contents?.range?.[0] ?? 0);
    const name = problemAt(source, ['metadata', 'name'], '');
    objects.push({ file: source.file, line: start.line, column: start.col, nameLine: name.line, nameColumn: name.column, object: object as ExtraObject['object'] });
  }
  return objects;
}

function tenantContext(tenant: TenantConfig): TenantContext {
  const { layout } = tenant;
  const runnerSecrets = requiredSecrets(tenant, tenant.kanikoPushSecretName, { manager: layout.managerNamespace, jobs: layout.jobNamespace }).map((s) => s.name);
  const reserved = Object.entries(layout.names).filter(([key]) => key !== 'prefix').map(([, name]) => name);
  return {
    tenant,
    namespaces: [...new Set([layout.managerNamespace, layout.jobNamespace])],
    reservedNames: new Set([...reserved, ...runnerSecrets]),
    runnerSecrets: new Set(runnerSecrets),
  };
}

/** Checks one document; returns the object with its namespace set when it passed. */
function checkObject(source: SourceFile, context: TenantContext, problems: ConfigProblem[], bindings: Binding[]): { object: Json; kind: string; name: string; namespace: string } | undefined {
  const value = source.value;
  const report = (list: Problem[]) => {
    for (const p of list) problems.push(problemAt(source, p.path, p.message, p.at));
    return list.length === 0;
  };
  if (!isObject(value)) {
    report([{ path: [], message: 'must be a Kubernetes object: a mapping with apiVersion, kind and metadata' }]);
    return undefined;
  }
  const list: Problem[] = [];
  const { kind, apiVersion } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') list.push({ path: hasPath(source, ['apiVersion']) ? ['apiVersion'] : [], message: 'apiVersion is required (e.g. v1)' });
  if (typeof kind !== 'string' || kind === '') {
    list.push({ path: hasPath(source, ['kind']) ? ['kind'] : [], message: `kind is required; allowed kinds: ${allowedKinds()}` });
    report(list);
    return undefined;
  }
  const refused = refusedKind(kind);
  const spec = EXTRA_OBJECT_KINDS.find((k) => k.kind === kind);
  if (refused || !spec) {
    list.push({ path: ['kind'], message: `${shown(kind)} is not accepted (${refused ?? 'not in the allow list'}); allowed kinds: ${allowedKinds()}` });
    report(list);
    return undefined;
  }
  if (typeof apiVersion === 'string' && apiVersion !== '' && apiVersion !== spec.apiVersion) {
    list.push({ path: ['apiVersion'], message: `must be ${spec.apiVersion} for ${kind}` });
  }
  for (const key of Object.keys(value)) {
    if (['apiVersion', 'kind', 'metadata', ...spec.fields].includes(key)) continue;
    const why = key === 'binaryData'
      ? 'binaryData is not accepted: the credential guard cannot read base64 values; write them under data'
      : `is not a field of ${kind} accepted here; allowed: ${['apiVersion', 'kind', 'metadata', ...spec.fields].join(', ')}`;
    list.push({ path: [key], message: why, at: 'key' });
  }
  const metadata = checkMetadata(value, spec, context, list);
  // The kind's own rules run even when metadata has problems: every problem at once.
  const given = isObject(value.metadata) ? value.metadata.namespace : undefined;
  list.push(...kindProblems(spec, value, metadata?.namespace ?? (typeof given === 'string' && context.namespaces.includes(given) ? given : context.namespaces[0]), context));
  if (metadata && kind === 'RoleBinding') bindings.push({ source, value, namespace: metadata.namespace });
  if (!report(list) || !metadata) return undefined;
  return { object: { ...value, metadata: metadata.metadata }, kind, name: metadata.metadata.name as string, namespace: metadata.namespace };
}

function checkMetadata(value: Json, spec: ExtraKind, context: TenantContext, list: Problem[]): { metadata: Json; namespace: string } | undefined {
  const metadata = value.metadata;
  if (!isObject(metadata)) {
    list.push({ path: 'metadata' in value ? ['metadata'] : [], message: 'metadata with a name is required' });
    return undefined;
  }
  const before = list.length;
  for (const key of Object.keys(metadata)) {
    if (!METADATA_FIELDS.includes(key)) list.push({ path: ['metadata', key], at: 'key', message: `is not accepted here; metadata may hold ${METADATA_FIELDS.join(', ')}` });
  }
  const { name, namespace } = metadata;
  if (typeof name !== 'string' || name === '') {
    list.push({ path: ['metadata', ...('name' in metadata ? ['name'] : [])], message: 'a name is required' });
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    list.push({ path: ['metadata', 'name'], message: `${shown(name)} must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253 characters) to name a ${spec.kind}` });
  } else if (context.reservedNames.has(name)) {
    list.push({ path: ['metadata', 'name'], message: `'${name}' is a name the synth uses for the tenant's own objects; choose another` });
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !context.namespaces.includes(namespace))) {
    list.push({
      path: ['metadata', 'namespace'],
      message: `must be one of the tenant's namespaces (${context.namespaces.join(', ')}), or left out for ${context.namespaces[0]}`,
    });
  }
  const tenantOwn = tenantLabels(context.tenant.name);
  for (const [field, entries] of [['labels', metadata.labels], ['annotations', metadata.annotations]] as const) {
    if (entries === undefined) continue;
    if (!isObject(entries)) {
      list.push({ path: ['metadata', field], message: `must be a mapping of ${field}` });
      continue;
    }
    for (const [key, v] of Object.entries(entries)) {
      if (typeof v !== 'string') list.push({ path: ['metadata', field, key], message: 'must be a string (quote numbers and booleans)' });
      else if (!labelKey.safeParse(key).success) list.push({ path: ['metadata', field, key], at: 'key', message: `is not a valid ${field === 'labels' ? 'label' : 'annotation'} key: an optional DNS subdomain prefix and /, then at most 63 letters, digits, '-', '_' or '.'` });
      else if (field === 'labels' && !labelValue.safeParse(v).success) list.push({ path: ['metadata', field, key], message: 'is not a valid label value: at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit' });
      else if (field === 'labels' && key in tenantOwn && tenantOwn[key] !== v) {
        list.push({ path: ['metadata', field, key], message: `is set by the synth to '${tenantOwn[key]}' on every object of the tenant; remove it` });
      } else if (field === 'annotations' && DELIVERY_ANNOTATION.test(key)) {
        list.push({ path: ['metadata', field, key], at: 'key', message: 'steers the GitOps delivery, which the synth sets for every object; remove it' });
      }
    }
  }
  if (list.length > before) return undefined;
  const ns = (namespace as string | undefined) ?? context.namespaces[0];
  // Stable key order: name, namespace, then what the file gave.
  return { metadata: { name, namespace: ns, ...(metadata.labels ? { labels: metadata.labels } : {}), ...(metadata.annotations ? { annotations: metadata.annotations } : {}) }, namespace: ns };
}

function kindProblems(spec: ExtraKind, value: Json, namespace: string, context: TenantContext): Problem[] {
  switch (spec.kind) {
    case 'ConfigMap':
      return configMapProblems(value);
    case 'Role':
      return roleProblems(value, context);
    case 'RoleBinding':
      return subjectProblems(value, namespace, context);
    case 'ExternalSecret':
      return externalSecretProblems(value, context);
    case 'PodMonitor':
      return podMonitorProblems(value, context);
    default:
      return [];
  }
}

function configMapProblems(value: Json): Problem[] {
  if (value.data === undefined) return [];
  if (!isObject(value.data)) return [{ path: ['data'], message: 'must be a mapping of keys to strings' }];
  const problems: Problem[] = [];
  for (const [key, v] of Object.entries(value.data)) {
    // Kubernetes' rule for ConfigMap keys (IsConfigMapKey): what a file name in a volume can be.
    if (!/^[-._a-zA-Z0-9]+$/.test(key) || key.length > 253 || key === '.' || key === '..') {
      problems.push({ path: ['data', key], at: 'key', message: 'keys are letters, digits, \'-\', \'_\' and \'.\' (at most 253)' });
    } else if (typeof v !== 'string') {
      problems.push({ path: ['data', key], message: 'must be a string (quote numbers and booleans; a block | for files)' });
    }
  }
  return problems;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

function roleProblems(value: Json, context: TenantContext): Problem[] {
  const problems: Problem[] = [];
  if (!Array.isArray(value.rules)) return [{ path: value.rules === undefined ? [] : ['rules'], message: 'rules must be a list of rules' }];
  value.rules.forEach((rule: unknown, i) => {
    const at = ['rules', i];
    if (!isObject(rule)) {
      problems.push({ path: at, message: 'must be a rule (apiGroups, resources, verbs, resourceNames)' });
      return;
    }
    for (const key of Object.keys(rule)) {
      if (!['apiGroups', 'resources', 'verbs', 'resourceNames'].includes(key)) {
        problems.push({ path: [...at, key], at: 'key', message: key === 'nonResourceURLs' ? 'nonResourceURLs are cluster-wide; a Role cannot grant them' : 'is not a field of a Role rule; allowed: apiGroups, resources, verbs, resourceNames' });
      }
    }
    if ('nonResourceURLs' in rule) return;
    const lists: Record<string, string[]> = {};
    for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
      if (rule[field] === undefined && field === 'resourceNames') {
        lists[field] = [];
        continue;
      }
      const items = stringList(rule[field]);
      if (!items || (field !== 'resourceNames' && items.length === 0)) {
        problems.push({ path: rule[field] === undefined ? at : [...at, field], message: `${field} must be a non-empty list of strings` });
        return;
      }
      lists[field] = items;
      items.forEach((item, j) => {
        if (item.includes('*')) problems.push({ path: [...at, field, j], message: `wildcards are not accepted: list the ${field} the tenant needs` });
      });
    }
    const { verbs, resources, resourceNames } = lists;
    verbs.forEach((verb, j) => {
      if (verb.includes('*')) return;
      if (![...READ_VERBS, ...WRITE_VERBS].includes(verb)) {
        problems.push({
          path: [...at, 'verbs', j],
          message: verb === 'deletecollection'
            ? 'deletecollection cannot be limited to names and would delete the runner\'s own objects; grant delete with resourceNames'
            : `${shown(verb)} is not accepted (escalate, bind and impersonate grant rights beyond the Role); allowed: ${[...READ_VERBS, ...WRITE_VERBS].join(', ')}`,
        });
      }
    });
    const writes = verbs.filter((v) => WRITE_VERBS.includes(v));
    resources.forEach((resource, j) => {
      if (resource.includes('*')) return;
      const where = [...at, 'resources', j];
      if (REFUSED_SUBRESOURCES.includes(resource)) {
        problems.push({ path: where, message: `${resource} is not accepted: it reaches into pods or mints tokens of other ServiceAccounts (the runner manager's included)` });
      } else if (resource === 'secrets') {
        if (verbs.some((v) => v !== 'get') || resourceNames.length === 0) {
          problems.push({ path: where, message: 'secrets may only be read one by one: verbs [get] with resourceNames (list and watch return every Secret, the runner tokens included)' });
        }
        resourceNames.forEach((secret, k) => {
          if (context.runnerSecrets.has(secret)) problems.push({ path: [...at, 'resourceNames', k], message: `'${secret}' is a Secret the runner reads (tokens, credentials); a Role of the tenant's own cannot grant it` });
        });
      } else if (writes.length > 0 && READ_ONLY_RESOURCES.includes(resource.split('/')[0])) {
        problems.push({ path: where, message: `${shown(resource)} may only be read (get, list, watch): writing it runs pods under any ServiceAccount of the namespace or changes the tenant's isolation` });
      } else if (writes.some((v) => v !== 'create') && resourceNames.length === 0) {
        problems.push({ path: where, message: `${writes.filter((v) => v !== 'create').join(', ')} on ${shown(resource)} must name the objects (resourceNames): without names it reaches the runner's own objects too` });
      }
    });
    if (writes.length > 0) {
      resourceNames.forEach((name, k) => {
        if (context.reservedNames.has(name) && !context.runnerSecrets.has(name)) {
          problems.push({ path: [...at, 'resourceNames', k], message: `'${name}' is one of the runner's own objects; a Role of the tenant's own cannot grant changing it` });
        }
      });
    }
  });
  return problems;
}

function subjectProblems(value: Json, namespace: string, context: TenantContext): Problem[] {
  if (!Array.isArray(value.subjects) || value.subjects.length === 0) return [{ path: value.subjects === undefined ? [] : ['subjects'], message: 'subjects must be a non-empty list of ServiceAccounts' }];
  const problems: Problem[] = [];
  value.subjects.forEach((subject: unknown, i) => {
    const at = ['subjects', i];
    if (!isObject(subject) || subject.kind !== 'ServiceAccount') {
      problems.push({ path: isObject(subject) && 'kind' in subject ? [...at, 'kind'] : at, message: 'only ServiceAccounts of the tenant\'s own namespaces may be bound (kind: ServiceAccount); Users and Groups are managed by the platform team' });
      return;
    }
    if (typeof subject.name !== 'string' || !DNS_SUBDOMAIN.test(subject.name)) problems.push({ path: [...at, ...('name' in subject ? ['name'] : [])], message: 'name must be the ServiceAccount\'s name' });
    if (subject.apiGroup !== undefined && subject.apiGroup !== '') problems.push({ path: [...at, 'apiGroup'], message: 'a ServiceAccount subject has the core API group: leave apiGroup out' });
    const ns = subject.namespace ?? namespace;
    if (typeof ns !== 'string' || !context.namespaces.includes(ns)) {
      problems.push({ path: [...at, 'namespace'], message: `must be one of the tenant's namespaces (${context.namespaces.join(', ')})` });
    }
    for (const key of Object.keys(subject)) {
      if (!['kind', 'name', 'namespace', 'apiGroup'].includes(key)) problems.push({ path: [...at, key], at: 'key', message: 'is not a field of a subject; allowed: kind, name, namespace' });
    }
  });
  return problems;
}

/** A RoleBinding's roleRef: a Role of the tenant's own manifests in the binding's namespace, never a ClusterRole or the runner's Role. */
function checkRoleRef(value: Json, namespace: string, roles: ReadonlySet<string>): Problem[] {
  const ref = value.roleRef;
  if (!isObject(ref)) return [{ path: ref === undefined ? [] : ['roleRef'], message: 'roleRef must name a Role of this folder' }];
  const problems: Problem[] = [];
  if (ref.kind !== 'Role') {
    problems.push({ path: ['roleRef', ...('kind' in ref ? ['kind'] : [])], message: `must be Role: ClusterRoles (admin, edit, view and any the cluster adds) are not bound from a tenant folder; write a Role with the rights needed` });
  } else if (typeof ref.name !== 'string' || !roles.has(`${namespace}/${ref.name}`)) {
    problems.push({ path: ['roleRef', ...('name' in ref ? ['name'] : [])], message: `must name a Role defined in the tenant's extra/ manifests in namespace ${namespace} (the runner's own Role is not bound to others)` });
  }
  if (ref.apiGroup !== 'rbac.authorization.k8s.io') problems.push({ path: ['roleRef', ...('apiGroup' in ref ? ['apiGroup'] : [])], message: 'apiGroup must be rbac.authorization.k8s.io' });
  return problems;
}

/**
 * Every store an ExternalSecret fetches from (`secretStoreRef`, and `storeRef` of data and
 * dataFrom sources): a SecretStore (namespaced: the tenant's own), or exactly the
 * ClusterSecretStore the tenant's configuration names. Its target must not be a Secret the runner
 * reads. Cluster-wide generators are refused.
 */
function externalSecretProblems(value: Json, context: TenantContext): Problem[] {
  const problems: Problem[] = [];
  if (!isObject(value.spec)) return [{ path: value.spec === undefined ? [] : ['spec'], message: 'spec is required' }];
  const configured = context.tenant.secrets.source === 'externalSecret' ? context.tenant.secrets.store : undefined;
  const walk = (node: unknown, at: PropertyKey[]) => {
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...at, i]));
    if (!isObject(node)) return;
    for (const [key, child] of Object.entries(node)) {
      if ((key === 'secretStoreRef' || key === 'storeRef') && isObject(child)) {
        const kind = child.kind ?? 'SecretStore';
        if (kind === 'ClusterSecretStore' && !(configured?.kind === 'ClusterSecretStore' && configured.name === child.name)) {
          problems.push({
            path: [...at, key, 'kind'],
            message: configured?.kind === 'ClusterSecretStore'
              ? `the only ClusterSecretStore this tenant may use is '${configured.name}' (secrets.store); a SecretStore in its namespace works too`
              : 'a ClusterSecretStore serves every namespace: use a SecretStore in the tenant\'s namespace',
          });
        }
      } else if (key === 'generatorRef' && isObject(child) && child.kind === 'ClusterGenerator') {
        problems.push({ path: [...at, key, 'kind'], message: 'a ClusterGenerator is shared by every namespace; use a namespaced generator' });
      } else {
        walk(child, [...at, key]);
      }
    }
  };
  walk(value.spec, ['spec']);
  const target = isObject(value.spec.target) && typeof value.spec.target.name === 'string' ? value.spec.target.name : (value.metadata as Json | undefined)?.name;
  if (typeof target === 'string' && context.runnerSecrets.has(target)) {
    const path = isObject(value.spec.target) && 'name' in value.spec.target ? ['spec', 'target', 'name'] : ['metadata', 'name'];
    problems.push({ path, message: `would fill Secret '${target}', which the runner reads and the synth manages; choose another target name` });
  }
  return problems;
}

/** A PodMonitor watches pods of the tenant's own namespaces only. */
function podMonitorProblems(value: Json, context: TenantContext): Problem[] {
  if (!isObject(value.spec) || !isObject(value.spec.namespaceSelector)) return [];
  const selector = value.spec.namespaceSelector;
  const problems: Problem[] = [];
  if (selector.any === true) problems.push({ path: ['spec', 'namespaceSelector', 'any'], message: 'a tenant PodMonitor watches its own namespaces only; remove any: true' });
  const names = stringList(selector.matchNames) ?? [];
  names.forEach((name, i) => {
    if (!context.namespaces.includes(name)) problems.push({ path: ['spec', 'namespaceSelector', 'matchNames', i], message: `must be one of the tenant's namespaces (${context.namespaces.join(', ')})` });
  });
  return problems;
}

/** config/ is public like dist/: a value or comment that looks like a credential is an error, never echoed. */
function checkCredentials(source: SourceFile, problems: ConfigProblem[]): void {
  const advice = 'a tenant\'s manifests are public like dist/: put the value in the secret store and fetch it with an ExternalSecret, never in config/';
  for (const hit of scanForCredentials(source.value)) problems.push(problemAt(source, hit.path, `looks like ${hit.description}; ${advice}`));
  for (const comment of source.comments) {
    const match = findCredential(comment.text);
    if (!match) continue;
    const pos = source.lineCounter.linePos(comment.offset);
    problems.push({ file: source.file, line: pos.line, column: pos.col, keyPath: '', message: `a comment looks like ${match.description}; ${advice}` });
  }
}

/**
 * Folders in the tenants folder that belong to no tenant file: a misspelled `<tenant>/` would
 * otherwise be skipped without a word.
 */
export function checkTenantFolders(tenantDir: string, tenantFiles: readonly string[], display: (file: string) => string, problems: ConfigProblem[]): void {
  const stems = new Set(tenantFiles.map((file) => path.basename(file).replace(/\.ya?ml$/, '')));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(tenantDir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || stems.has(entry.name)) continue;
    problems.push({
      file: display(path.join(tenantDir, entry.name)),
      line: 0,
      column: 0,
      keyPath: '',
      message: `belongs to no tenant: there is no ${entry.name}.yaml; a tenant's own manifests go in <tenant>/${EXTRA_DIR}/ next to <tenant>.yaml`,
    });
  }
}
