import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatProblem } from '../lib/config/errors';
import { loadClusters } from '../lib/config/load';
import { OutputFile, RemovalRefusedError, synthesizeClusters, writeOutput } from '../lib/synth/engine';
import { diffTrees } from '../lib/synth/diff';
import { parse } from 'yaml';
import { Any, CONFIG_DIRS, ROOT } from './support/synth';
import { validateObject } from './support/validate';
import { globMatches } from '../lib/model/delivery-namespaces';
import { TENANT_NAMESPACED_KINDS, tenantClusterKinds } from '../lib/gitops/gitops-chart';

const outputs: Record<string, OutputFile[]> = Object.fromEntries(
  Object.entries(CONFIG_DIRS).map(([label, dir]) => [label, synthesizeClusters(loadClusters(dir, { displayBase: ROOT }))]),
);
const objectsIn = (files: OutputFile[], folder: RegExp): Any[] => files.filter((f) => folder.test(f.path) && f.path.endsWith('.yaml')).map((f) => parse(f.content));
const tenantFolders = (files: OutputFile[]) => [...new Set(files.flatMap((f) => (f.unit ? [f.unit] : [])))].sort();

describe.each(Object.entries(outputs))('%s', (_label, files) => {
  const delivery = objectsIn(files, /(^|\/)_gitops\//);

  test('every delivery object validates against its CRD schema', () => {
    for (const object of delivery) expect(validateObject(object)).toEqual([]);
  });

  test('the delivery objects point at exactly the tenant folders that exist, and the folders at them', () => {
    const tenantPaths = tenantFolders(files);
    // Argo CD: the folders the ApplicationSet's git directory generator finds in this very tree.
    const repoDirs = new Set<string>();
    const pointed: string[] = [];
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      for (const f of files) {
        if (!f.path.startsWith(root)) continue;
        const parts = `${cluster.platform.gitops.distPath}/${f.path}`.split('/');
        for (let i = 1; i < parts.length; i++) repoDirs.add(parts.slice(0, i).join('/'));
      }
      for (const set of objectsIn(files, new RegExp(`^${root}_gitops/applicationset-`))) {
        const dirs = set.spec.generators[0].git.directories;
        const included = [...repoDirs].filter((d) => dirs.some((g: Any) => !g.exclude && globMatches(g.path, d) && d.split('/').length === g.path.split('/').length));
        pointed.push(...included.filter((d) => !dirs.some((g: Any) => g.exclude && g.path === d)));
      }
    }
    // Flux: one Kustomization per tenant folder (the root one points at _gitops/).
    const kustomizations = delivery.filter((o) => o.kind === 'Kustomization' && !o.spec.path.endsWith('_gitops'));
    pointed.push(...kustomizations.map((k) => k.spec.path.replace(/^\.\//, '')));
    if (delivery.length === 0) return expect(pointed).toEqual([]);
    // Paths are repository paths: distPath + the folder inside dist/.
    const distPaths = new Map<string, string>();
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      for (const t of cluster.tenants) {
        if (cluster.platform.gitops.tool === 'none') continue;
        distPaths.set(`${cluster.cluster ? `${cluster.cluster}/` : ''}${t.name}`, `${cluster.platform.gitops.distPath}/${cluster.cluster ? `${cluster.cluster}/` : ''}${t.name}`);
      }
      if (cluster.platform.architecture.variant === 'sharedNamespace' && cluster.platform.gitops.tool !== 'none') {
        const folder = `${cluster.cluster ? `${cluster.cluster}/` : ''}_shared`;
        distPaths.set(folder, `${cluster.platform.gitops.distPath}/${folder}`);
      }
    }
    expect(pointed.sort()).toEqual([...distPaths.values()].sort());
    for (const folder of distPaths.keys()) expect(tenantPaths).toContain(folder);
  });

  test('Argo CD: the project allows namespace patterns that hold every tenant namespace and deny the system ones; only Namespace cluster-wide', () => {
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      if (cluster.platform.gitops.tool !== 'argocd') continue;
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      const [project] = objectsIn(files, new RegExp(`^${root}_gitops/appproject-`));
      const clusterKinds = cluster.platform.architecture.variant === 'sharedNamespace' ? 2 : 1;
      expect(project.spec.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }, { group: 'scheduling.k8s.io', kind: 'PriorityClass' }].slice(0, clusterKinds));
      const deny = project.spec.destinations.filter((d: Any) => d.namespace.startsWith('!')).map((d: Any) => d.namespace.slice(1));
      const allow = project.spec.destinations.filter((d: Any) => !d.namespace.startsWith('!')).map((d: Any) => d.namespace);
      expect(deny).toEqual(expect.arrayContaining(['default', 'kube-*', cluster.platform.gitops.argocd.namespace, cluster.platform.monitoring.namespace]));
      expect(allow).toEqual(cluster.platform.gitops.argocd.namespaces);
      for (const d of project.spec.destinations) expect(d.server).toBe(cluster.platform.gitops.argocd.destinationServer);
      // Every object of every tenant folder is allowed: its namespace and its kind.
      const kinds = project.spec.namespaceResourceWhitelist.map((k: Any) => `${k.group}/${k.kind}`);
      for (const o of objectsIn(files, new RegExp(`^${root}(?!_gitops/|_monitoring/)[^/]+/[^/]+\\.yaml$`))) {
        const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
        if (!o.metadata.namespace) continue;
        expect(kinds).toContain(`${group}/${o.kind}`);
        expect(allow.some((g: string) => globMatches(g, o.metadata.namespace))).toBe(true);
        expect(deny.some((g: string) => globMatches(g, o.metadata.namespace))).toBe(false);
      }
    }
  });

  test('Argo CD: tenant Applications cascade-delete, retry with backoff, prune, never create namespaces; the root Application stays on Argo CD\'s cluster', () => {
    for (const set of delivery.filter((o) => o.kind === 'ApplicationSet')) {
      const template = set.spec.template;
      expect(template.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
      expect(template.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
      expect(template.spec.syncPolicy.syncOptions).toContain('CreateNamespace=false');
      expect(template.spec.syncPolicy.retry).toEqual({ limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } });
      expect(set.metadata.namespace).toBe('argocd');
    }
    for (const app of delivery.filter((o) => o.kind === 'Application')) {
      // Only the root Application is written: it must not cascade (deleting it would delete every tenant).
      expect(app.spec.source.path).toMatch(/_gitops$/);
      expect(app.metadata.finalizers).toBeUndefined();
      expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: app.metadata.namespace });
      expect(app.spec.syncPolicy.syncOptions).toContain('CreateNamespace=false');
    }
  });

  test('tenant Namespaces can never be pruned by the delivery tool', () => {
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      const shared = cluster.platform.architecture.variant === 'sharedNamespace';
      const namespaceFiles = shared
        ? [`${root}_shared/namespace-${cluster.platform.architecture.sharedNamespace}.yaml`]
        : cluster.tenants.map((t) => `${root}${t.name}/namespace-${t.name}.yaml`);
      for (const file of namespaceFiles) {
        const ns = parse(files.find((f) => f.path === file)!.content);
        const annotations = ns.metadata.annotations ?? {};
        if (cluster.platform.gitops.tool === 'argocd') expect(annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
        if (cluster.platform.gitops.tool === 'flux') expect(annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
        if (cluster.platform.gitops.tool === 'none') expect(annotations).toEqual({});
      }
    }
  });

  test('Flux: each Kustomization prunes, retries, times out, health-checks its runner; the root one includes every tenant\'s by directory', () => {
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      const { flux } = cluster.platform.gitops;
      for (const source of objectsIn(files, new RegExp(`^${root}_gitops/gitrepository-`))) {
        expect(source.spec.secretRef).toEqual(flux.secretRef ? { name: flux.secretRef } : undefined);
      }
      const all = files.filter((f) => new RegExp(`^${root}_gitops/(.+/)?kustomization-`).test(f.path));
      if (cluster.platform.gitops.tool === 'flux') expect(all.length).toBeGreaterThan(0);
      for (const file of all) {
        const k = parse(file.content);
        expect(k.spec).toMatchObject({ prune: true, interval: flux.interval, retryInterval: flux.retryInterval, timeout: flux.timeout });
        const prefix = `./${cluster.platform.gitops.distPath}/`;
        expect(k.spec.path.startsWith(prefix)).toBe(true);
        const folder = k.spec.path.slice(prefix.length);
        if (folder.endsWith('_gitops')) {
          // The root: in _gitops/ itself, including _gitops/tenants/ (kustomize-controller recurses).
          expect(file.path).toBe(`${root}_gitops/kustomization-${k.metadata.name}.yaml`);
          expect(file.unit).toBeUndefined();
          continue;
        }
        // A tenant's own: in its own folder below _gitops/tenants/, part of the tenant.
        const unit = folder;
        expect(file.path).toBe(`${root}_gitops/tenants/${unit.slice(root.length)}/kustomization-${k.metadata.name}.yaml`);
        expect(file.unit).toBe(unit);
        if (folder.endsWith('_shared')) {
          // The shared namespace folder has no workload; every tenant Kustomization waits for it.
          expect(k.spec.healthChecks).toBeUndefined();
          continue;
        }
        if (cluster.platform.architecture.variant === 'sharedNamespace') expect(k.spec.dependsOn).toContainEqual({ name: expect.stringMatching(/-shared$/) });
        const workload = k.spec.healthChecks[0];
        expect(files.map((f) => f.path)).toContain(`${folder}/${workload.kind.toLowerCase()}-${workload.name}.yaml`);
        expect(files.some((f) => f.path.startsWith(`${folder}/`) && f.content.includes(`namespace: ${workload.namespace}`))).toBe(true);
      }
    }
  });

  test('the AppProject\'s fixed kind lists hold every kind any tenant folder contains (whatever the tool)', () => {
    const namespaced = TENANT_NAMESPACED_KINDS.map((k) => `${k.group}/${k.kind}`);
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      const clusterKinds = tenantClusterKinds(cluster.platform).map((k) => `${k.group}/${k.kind}`);
      for (const o of objectsIn(files, new RegExp(`^${root}(?!_gitops/|_monitoring/)[^/]+/[^/]+\\.yaml$`))) {
        const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
        expect(o.metadata.namespace ? namespaced : clusterKinds).toContain(`${group}/${o.kind}`);
      }
    }
  });

  test('summaries: a README.md in every tenant folder, an index that names no tenant', () => {
    const index = files.find((f) => f.path === 'README.md')!.content;
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      for (const t of cluster.tenants) {
        expect(index).not.toContain(t.name);
        const summary = files.find((f) => f.path === `${root}${t.name}/README.md`)!;
        expect(summary.unit).toBe(`${root}${t.name}`);
        expect(summary.content).toContain(`# Tenant ${t.name}`);
        expect(summary.content).toContain(`| Concurrent | ${t.concurrent} |`);
      }
    }
  });

  test('snapshot of the delivery objects (review aid)', () => {
    expect(files.filter((f) => f.path.includes('_gitops/')).map((f) => `# ${f.path}\n${f.content}`).join('---\n')).toMatchSnapshot();
  });
});

describe('many clusters', () => {
  const files = outputs['fixture clusters'];

  test('two clusters with the same tenant names synthesize to separate trees', () => {
    expect(tenantFolders(files)).toEqual(['prod/tenant-1', 'prod/tenant-2', 'staging/tenant-1']);
    const staging = parse(files.find((f) => f.path === 'staging/tenant-1/configmap-gitlab-runner-config.yaml')!.content);
    expect(staging.data['config.toml']).toContain('concurrent = 5');
    expect(files.map((f) => f.path)).toContain('prod/_gitops/applicationset-tenant-runners-prod.yaml');
    expect(files.map((f) => f.path)).toContain('staging/_gitops/tenants/tenant-1/kustomization-tenant-runners-staging-tenant-1.yaml');
  });

  test('Argo CD for two clusters: the delivery objects of both live in Argo CD\'s namespace on Argo CD\'s cluster, under names of their own', () => {
    // Both clusters delivered by one Argo CD (staging switched to argocd, on a remote API server of its own).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusters-argocd-'));
    fs.cpSync(CONFIG_DIRS['fixture clusters'], dir, { recursive: true });
    const staging = path.join(dir, 'clusters', 'staging', 'platform.yaml');
    fs.writeFileSync(staging, fs.readFileSync(staging, 'utf8').replace('tool: flux', 'tool: argocd\n  argocd: { destinationServer: https://staging.k8s.example:6443 }'));
    const out = synthesizeClusters(loadClusters(dir, { displayBase: dir }));
    const gitops = objectsIn(out, /^[^/]+\/_gitops\//);
    const ids = gitops.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id.startsWith('AppProject')).sort()).toEqual(['AppProject argocd/tenant-runners-prod', 'AppProject argocd/tenant-runners-staging']);
    for (const o of gitops) expect(o.metadata.namespace).toBe('argocd');
    for (const [cluster, server] of [['prod', 'https://prod.k8s.example:6443'], ['staging', 'https://staging.k8s.example:6443']]) {
      const root = parse(out.find((f) => f.path === `${cluster}/_gitops/application-tenant-runners-${cluster}.yaml`)!.content);
      // The root Application deploys Argo CD objects: to Argo CD's own cluster, never the tenants' one.
      expect(root.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'argocd' });
      const set = parse(out.find((f) => f.path === `${cluster}/_gitops/applicationset-tenant-runners-${cluster}.yaml`)!.content);
      expect(set.spec.template.spec.destination.server).toBe(server);
      expect(set.spec.template.spec.project).toBe(`tenant-runners-${cluster}`);
      expect(set.spec.template.metadata.name).toMatch(new RegExp(`^tenant-runners-${cluster}-`));
      expect(set.spec.generators[0].git.directories[0]).toEqual({ path: `dist/${cluster}/*` });
    }
  });

  test('config files moved into config/clusters/<c>/ keep a working $schema modeline, or loading names the one that works', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusters-schema-'));
    fs.cpSync(path.join(ROOT, 'config', 'schema'), path.join(dir, 'schema'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'config', 'tenants'), path.join(dir, 'clusters', 'prod', 'tenants'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'config', 'platform.yaml'), path.join(dir, 'clusters', 'prod', 'platform.yaml'));
    let problems: string[] = [];
    try {
      loadClusters(dir, { displayBase: dir });
    } catch (error) {
      problems = (error as ConfigError).problems.map(formatProblem);
    }
    expect(problems).toEqual([
      "clusters/prod/platform.yaml:1:1 the $schema modeline points at ./schema/platform.schema.json, which does not exist from this file; use '# yaml-language-server: $schema=../../schema/platform.schema.json' (npm run schema writes it)",
      "clusters/prod/tenants/tenant-1.yaml:1:1 the $schema modeline points at ../schema/tenant.schema.json, which does not exist from this file; use '# yaml-language-server: $schema=../../../schema/tenant.schema.json' (npm run schema writes it)",
      "clusters/prod/tenants/tenant-2.yaml:1:1 the $schema modeline points at ../schema/tenant.schema.json, which does not exist from this file; use '# yaml-language-server: $schema=../../../schema/tenant.schema.json' (npm run schema writes it)",
    ]);
    for (const [file, to] of [['platform.yaml', '../../schema/platform.schema.json'], ['tenants/tenant-1.yaml', '../../../schema/tenant.schema.json'], ['tenants/tenant-2.yaml', '../../../schema/tenant.schema.json']]) {
      const full = path.join(dir, 'clusters', 'prod', file);
      fs.writeFileSync(full, fs.readFileSync(full, 'utf8').replace(/\$schema=\S+/, `$schema=${to}`));
    }
    expect(loadClusters(dir, { displayBase: dir }).map((c) => c.cluster)).toEqual(['prod']);
  });

  test('fails when two tenants of one cluster conflict, naming the cluster files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusters-'));
    fs.cpSync(CONFIG_DIRS['fixture clusters'], dir, { recursive: true });
    const file = path.join(dir, 'clusters', 'prod', 'tenants', 'tenant-2.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('bucket: tenant-2-cache', 'bucket: tenant-1-cache'));
    let problems: string[] = [];
    try {
      loadClusters(dir, { displayBase: dir });
    } catch (error) {
      problems = (error as ConfigError).problems.map(formatProblem);
    }
    expect(problems).toEqual([
      "clusters/prod/tenants/tenant-2.yaml:17:13 cache.s3.bucket: bucket 'tenant-1-cache' is already used by tenant 'tenant-1' (clusters/prod/tenants/tenant-1.yaml); every tenant needs its own bucket",
    ]);
  });
});

/** `added|changed|removed <path>` for every file that differs between two syntheses. */
function changedPaths(before: readonly OutputFile[], after: readonly OutputFile[]): string[] {
  const old = new Map(before.map((f) => [f.path, f.content]));
  const now = new Map(after.map((f) => [f.path, f.content]));
  const out: string[] = [];
  for (const [file, content] of now) if (old.get(file) !== content) out.push(`${old.has(file) ? 'changed' : 'added'} ${file}`);
  for (const file of old.keys()) if (!now.has(file)) out.push(`removed ${file}`);
  return out.sort();
}

/** The example configuration in a temporary folder, delivered by `tool`, with `extra` tenants copied from tenant-2. */
function exampleWith(tool: 'argocd' | 'flux', extra: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tenants-${tool}-`));
  fs.cpSync(path.join(ROOT, 'config'), dir, { recursive: true });
  const platform = path.join(dir, 'platform.yaml');
  fs.writeFileSync(platform, fs.readFileSync(platform, 'utf8').replace('tool: argocd', `tool: ${tool}`));
  const template = fs.readFileSync(path.join(dir, 'tenants', 'tenant-2.yaml'), 'utf8');
  for (const name of extra) fs.writeFileSync(path.join(dir, 'tenants', `${name}.yaml`), template.replace(/tenant-2/g, name));
  return dir;
}

describe('adding a tenant changes only files of that tenant (two merge requests adding two tenants never conflict)', () => {
  test.each(['argocd', 'flux'] as const)('%s: N → N+1 tenants', (tool) => {
    const before = synthesizeClusters(loadClusters(exampleWith(tool, []), { displayBase: ROOT }));
    const after = synthesizeClusters(loadClusters(exampleWith(tool, ['tenant-3']), { displayBase: ROOT }));
    const changed = changedPaths(before, after);
    // Only additions, all of them files of tenant-3: its folder, its CI template, (Flux) its Kustomization.
    expect(changed).toEqual(after.filter((f) => f.unit === 'tenant-3').map((f) => `added ${f.path}`).sort());
    expect(changed).toEqual(expect.arrayContaining([
      'added tenant-3/README.md',
      'added tenant-3/namespace-tenant-3.yaml',
      'added ci/tenant-3/kaniko.gitlab-ci.yml',
      ...(tool === 'flux' ? ['added _gitops/tenants/tenant-3/kustomization-tenant-runners-tenant-3.yaml'] : []),
    ]));
    for (const line of changed) expect(line).toMatch(/^added (tenant-3\/|ci\/tenant-3\/|_gitops\/tenants\/tenant-3\/)/);
  });

  test.each(['argocd', 'flux'] as const)('%s: two branches that each add a tenant merge without touching a common file', (tool) => {
    const base = synthesizeClusters(loadClusters(exampleWith(tool, []), { displayBase: ROOT }));
    const left = changedPaths(base, synthesizeClusters(loadClusters(exampleWith(tool, ['tenant-3']), { displayBase: ROOT }))).map((l) => l.split(' ')[1]);
    const right = changedPaths(base, synthesizeClusters(loadClusters(exampleWith(tool, ['tenant-4']), { displayBase: ROOT }))).map((l) => l.split(' ')[1]);
    expect(left.filter((f) => right.includes(f))).toEqual([]);
  });
});

describe('removing a tenant', () => {
  test('the removal guard says what the delivery tool will do: delete the objects, keep the Namespace', () => {
    expect(new RemovalRefusedError(['tenant-2'], 'argocd').message).toBe(
      'refusing to remove tenant tenant-2 from dist/: the ApplicationSet deletes its Application, whose resources-finalizer.argocd.argoproj.io finalizer ' +
        'deletes every object it deployed: the runner and every job running there stop (the Namespace stays: Delete=false). Run again with --allow-removal (or TENANT_RUNNERS_ALLOW_REMOVAL=1 with cdk8s synth) if that is intended.',
    );
    expect(new RemovalRefusedError(['tenant-2', 'tenant-3'], 'flux').message).toContain(
      'the root Kustomization prunes their Kustomizations, which garbage-collects every object they applied: the runner and every job running there stop (the Namespace stays: prune disabled)',
    );
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'removal-'));
    writeOutput(out, outputs.example, {});
    const fewer = outputs.example.filter((f) => f.unit !== 'tenant-2');
    expect(() => writeOutput(out, fewer, { tool: 'argocd' })).toThrow(/ApplicationSet deletes its Application/);
  });
});

describe('Argo CD namespace patterns', () => {
  test('a tenant whose namespace matches no gitops.argocd.namespaces glob is a configuration problem', () => {
    const dir = exampleWith('argocd', ['team-a']);
    let problems: string[] = [];
    try {
      loadClusters(dir, { displayBase: dir });
    } catch (error) {
      problems = (error as ConfigError).problems.map(formatProblem);
    }
    expect(problems).toEqual([
      "tenants/team-a.yaml:2:7 name: namespace 'team-a' matches none of gitops.argocd.namespaces (tenant-*); add a pattern for it there (one change to the shared AppProject); Argo CD would refuse to sync this tenant",
    ]);
  });

  test('sharedNamespace variant: every Application deploys to the shared namespace, `_shared` named without its underscore', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shared-argocd-'));
    fs.cpSync(CONFIG_DIRS['variant 2 shared namespace'], dir, { recursive: true });
    const platform = path.join(dir, 'platform.yaml');
    fs.writeFileSync(platform, fs.readFileSync(platform, 'utf8').replace('tool: flux', 'tool: argocd'));
    const out = synthesizeClusters(loadClusters(dir, { displayBase: dir }));
    const [set] = objectsIn(out, /_gitops\/applicationset-/);
    const cluster = loadClusters(dir, { displayBase: dir })[0];
    expect(set.spec.template.spec.destination.namespace).toBe(cluster.platform.architecture.sharedNamespace);
    expect(set.spec.template.metadata.name).toBe('tenant-runners-{{ trimPrefix "_" .path.basename }}');
    expect(objectsIn(out, /_gitops\/appproject-/)[0].spec.clusterResourceWhitelist).toContainEqual({ group: 'scheduling.k8s.io', kind: 'PriorityClass' });
    expect(out.map((f) => f.path)).toContain('_shared/namespace-' + cluster.platform.architecture.sharedNamespace + '.yaml');
  });
});

describe('Flux Git credentials', () => {
  test('an ssh:// repoUrl needs gitops.flux.secretRef; the GitRepository references it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-ssh-'));
    fs.cpSync(CONFIG_DIRS['fixture mixed'], dir, { recursive: true });
    const platform = path.join(dir, 'platform.yaml');
    fs.writeFileSync(platform, fs.readFileSync(platform, 'utf8').replace(/\n {4}secretRef: .*/, ''));
    let problems: string[] = [];
    try {
      loadClusters(dir, { displayBase: dir });
    } catch (error) {
      problems = (error as ConfigError).problems.map(formatProblem);
    }
    expect(problems).toEqual([
      expect.stringMatching(/^platform\.yaml:\d+:\d+ gitops\.flux: secretRef is required for the ssh:\/\/ repoUrl: the name of the Secret in namespace flux-system with the deploy key/),
    ]);
    const source = objectsIn(outputs['fixture mixed'], /_gitops\/gitrepository-/)[0];
    expect(source.spec.secretRef).toEqual({ name: 'runners-repo-deploy-key' });
    expect(source.spec.url).toMatch(/^ssh:\/\//);
  });
});

describe('npm run diff: a moved object', () => {
  test('shows the namespace, and an object that changed folder as one move', () => {
    const role = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: gitlab-runner\n  namespace: tenant-1\n';
    const current = new Map([['tenant-1/role-gitlab-runner.yaml', role], ['tenant-1/namespace-tenant-1.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-1\n']]);
    const next: OutputFile[] = [
      { path: 'prod/tenant-1/role-gitlab-runner.yaml', content: role, unit: 'prod/tenant-1' },
      { path: 'prod/tenant-1/namespace-tenant-1.yaml', content: current.get('tenant-1/namespace-tenant-1.yaml')!, unit: 'prod/tenant-1' },
      { path: 'staging/tenant-1/role-gitlab-runner.yaml', content: role.replace('gitlab-runner', 'other'), unit: 'staging/tenant-1' },
    ];
    const { text } = diffTrees(current, next);
    expect(text.split('\n').filter((l) => /^ {2}\w/.test(l) || /:$/.test(l))).toEqual([
      'tenant prod/tenant-1:',
      '  moved   Namespace tenant-1 from tenant-1/namespace-tenant-1.yaml',
      '  moved   Role tenant-1/gitlab-runner from tenant-1/role-gitlab-runner.yaml',
      'tenant staging/tenant-1:',
      '  added   Role tenant-1/other',
    ]);
    expect(text).toContain('1 added, 0 changed, 0 removed, 2 moved');
  });
});

describe('npm run diff', () => {
  const SYNTH = path.join(ROOT, 'build', 'synth.js');
  beforeAll(() => execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT }));

  test('prints "no changes" and exits 0 on an unchanged configuration; names exactly what a concurrency edit changes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-'));
    fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
    expect(spawnSync(process.execPath, [SYNTH], { cwd: dir }).status).toBe(0);

    const unchanged = spawnSync(process.execPath, [SYNTH, 'diff'], { cwd: dir, encoding: 'utf8' });
    expect(unchanged.stdout.trim()).toBe('no changes');
    expect(unchanged.status).toBe(0);

    const tenantFile = path.join(dir, 'config', 'tenants', 'tenant-1.yaml');
    fs.writeFileSync(tenantFile, fs.readFileSync(tenantFile, 'utf8').replace('concurrent: 20', 'concurrent: 30'));
    const changed = spawnSync(process.execPath, [SYNTH, 'diff'], { cwd: dir, encoding: 'utf8' });
    expect(changed.status).toBe(1);
    const listed = changed.stdout.split('\n').filter((line) => /^ {2}(added|changed|removed) /.test(line));
    expect(listed).toEqual([
      '  changed ConfigMap tenant-1/gitlab-runner-config',
      '  changed Deployment tenant-1/gitlab-runner',
      '  changed tenant-1/README.md',
      '  changed ResourceQuota tenant-1/gitlab-runner-jobs',
    ]);
    // The index names no tenant: a tenant's edit never touches it.
    expect(changed.stdout).not.toContain('dist/:');
    expect(changed.stdout).toContain('tenant tenant-1:');
    expect(changed.stdout).not.toContain('tenant tenant-2:');
    expect(changed.stdout).toMatch(/-\s+concurrent = 20/);
    expect(changed.stdout).toMatch(/\+\s+concurrent = 30/);
    expect(changed.stdout).toMatch(/[-+]\s+checksum\/config: [0-9a-f]{64}/);
    // diff never writes
    expect(spawnSync(process.execPath, [SYNTH, 'diff'], { cwd: dir }).status).toBe(1);
  });
});
