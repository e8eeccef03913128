import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatProblem } from '../lib/config/errors';
import { loadClusters } from '../lib/config/load';
import { OutputFile, synthesizeClusters } from '../lib/synth/engine';
import { parse } from 'yaml';
import { Any, CONFIG_DIRS, ROOT } from './support/synth';
import { validateObject } from './support/validate';

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
    const apps = delivery.filter((o) => o.kind === 'Application' && !o.spec.source.path.endsWith('_gitops'));
    const kustomizations = delivery.filter((o) => o.kind === 'Kustomization' && !o.spec.path.endsWith('_gitops'));
    const pointed = [...apps.map((a) => a.spec.source.path), ...kustomizations.map((k) => k.spec.path.replace(/^\.\//, ''))].sort();
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
    expect(pointed).toEqual([...distPaths.values()].sort());
    for (const folder of distPaths.keys()) expect(tenantPaths).toContain(folder);
  });

  test('Argo CD: the project allows only the tenant namespaces and only Namespace cluster-wide; apps never create namespaces', () => {
    for (const project of delivery.filter((o) => o.kind === 'AppProject')) {
      expect(project.spec.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
      const namespaces = objectsIn(files, /namespace-[^/]+\.yaml$/).map((n) => n.metadata.name);
      for (const d of project.spec.destinations) expect(namespaces).toContain(d.namespace);
      expect(JSON.stringify(project.spec)).not.toMatch(/"\*"/);
    }
    for (const app of delivery.filter((o) => o.kind === 'Application')) {
      expect(app.spec.syncPolicy.syncOptions).toContain('CreateNamespace=false');
      expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
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

  test('Flux: each Kustomization prunes, health-checks its runner, and its path exists in the tree', () => {
    for (const cluster of loadClusters(CONFIG_DIRS[_label], { displayBase: ROOT })) {
      const root = cluster.cluster ? `${cluster.cluster}/` : '';
      for (const k of objectsIn(files, new RegExp(`^${root}_gitops/kustomization-`))) {
        expect(k.spec.prune).toBe(true);
        const prefix = `./${cluster.platform.gitops.distPath}/`;
        expect(k.spec.path.startsWith(prefix)).toBe(true);
        const folder = k.spec.path.slice(prefix.length);
        if (folder.endsWith('_gitops')) {
          expect(files.some((f) => f.path.startsWith(`${folder}/`))).toBe(true);
          continue;
        }
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
    expect(files.map((f) => f.path)).toContain('prod/_gitops/application-tenant-runners-prod-tenant-1.yaml');
    expect(files.map((f) => f.path)).toContain('staging/_gitops/kustomization-tenant-runners-staging-tenant-1.yaml');
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
      '  changed README.md',
      '  changed ConfigMap gitlab-runner-config',
      '  changed Deployment gitlab-runner',
      '  changed ResourceQuota gitlab-runner-jobs',
    ]);
    expect(changed.stdout).toContain('tenant tenant-1:');
    expect(changed.stdout).not.toContain('tenant tenant-2:');
    expect(changed.stdout).toMatch(/-\s+concurrent = 20/);
    expect(changed.stdout).toMatch(/\+\s+concurrent = 30/);
    expect(changed.stdout).toMatch(/[-+]\s+checksum\/config: [0-9a-f]{64}/);
    // diff never writes
    expect(spawnSync(process.execPath, [SYNTH, 'diff'], { cwd: dir }).status).toBe(1);
  });
});
