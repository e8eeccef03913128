/**
 * A tenant's own manifests (config/tenants/<tenant>/extra/, docs/extra-objects.md) as users meet
 * them: added and removed by a plain synth touching only that tenant's folder, part of the synth
 * cache's input, carried by worker threads, in the multi-cluster layout, and refused (with
 * positions, dist/ unchanged) where the file system or the synthesized objects say no.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ConfigError, formatProblem, OutputLimitError } from '../../lib/config/errors';
import { loadClusters, loadConfig } from '../../lib/config/load';
import type { TenantConfig } from '../../lib/model/resolve';
import { SecretMaterialError, synthesize, synthesizeClusters, synthesizeTenantOutput } from '../../lib/synth/engine';
import { SynthWorkers } from '../../lib/synth/workers';
import { buildWorker, tempDir } from '../bench/support';
import { buildSynth, synthProcess, workspace } from '../support/process';
import { ROOT, VALID_FIXTURES } from '../support/synth';
import { readTreeMap } from '../bench/support';

const SETTINGS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: build-settings
data:
  MAVEN_OPTS: "-Xmx1g"
`;

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  return [];
}

/** A copy of a valid fixture in a temporary folder, to add files to. */
function copyFixture(name: string): string {
  const dir = path.join(tempDir('extra'), 'config');
  fs.cpSync(path.join(VALID_FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe('the synth command', () => {
  beforeAll(buildSynth);

  test('an extra file changes only its tenant\'s folder (the object and the summary); removing it needs no allow-removal and removes exactly that file', () => {
    const ws = workspace();
    expect(synthProcess(ws.dir).status).toBe(0);
    const before = readTreeMap(ws.dist);
    // Why the folder exists: a file added to dist/ by hand is gone at the next synth (exit 0).
    fs.writeFileSync(path.join(ws.dist, 'tenant-1', 'configmap-build-settings.yaml'), SETTINGS);
    expect(synthProcess(ws.dir, [], { TENANT_RUNNERS_NO_CACHE: '1' }).status).toBe(0);
    expect(readTreeMap(ws.dist)).toEqual(before);
    const extra = path.join(ws.config, 'tenants', 'tenant-1', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'settings.yaml'), SETTINGS);
    const added = synthProcess(ws.dir);
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/changed: tenant-1$/m);
    const after = readTreeMap(ws.dist);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((file) => before.get(file) !== after.get(file)).sort();
    // Only the tenant's own folder: the new object and the summary row that lists it.
    expect(changed).toEqual(['tenant-1/README.md', 'tenant-1/configmap-build-settings.yaml']);
    expect(after.get('tenant-1/configmap-build-settings.yaml')).toContain('tenant-runners.io/tenant: tenant-1');

    fs.rmSync(path.join(ws.config, 'tenants', 'tenant-1'), { recursive: true });
    const removed = synthProcess(ws.dir);
    expect(removed.status).toBe(0);
    expect(readTreeMap(ws.dist)).toEqual(before);
  });

  test('a changed extra file is synthesized again although the tenant file did not change (the synth cache hashes it)', () => {
    const ws = workspace();
    const extra = path.join(ws.config, 'tenants', 'tenant-2', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'settings.yaml'), SETTINGS);
    expect(synthProcess(ws.dir).status).toBe(0);
    // Cached now: a second run changes nothing.
    expect(synthProcess(ws.dir).stdout).toContain('no tenant changes');
    fs.writeFileSync(path.join(extra, 'settings.yaml'), SETTINGS.replace('-Xmx1g', '-Xmx2g'));
    const run = synthProcess(ws.dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/changed: tenant-2$/m);
    expect(fs.readFileSync(path.join(ws.dist, 'tenant-2', 'configmap-build-settings.yaml'), 'utf8')).toContain('MAVEN_OPTS: -Xmx2g');
  });

  test('a refused extra object: exit 1, file:line:col on stderr, dist/ unchanged', () => {
    const ws = workspace();
    expect(synthProcess(ws.dir).status).toBe(0);
    const before = readTreeMap(ws.dist);
    const extra = path.join(ws.config, 'tenants', 'tenant-1', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'policy.yaml'), `${SETTINGS}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: open\nspec:\n  podSelector: {}\n`);
    const run = synthProcess(ws.dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("config/tenants/tenant-1/extra/policy.yaml:9:7 kind: 'NetworkPolicy' is not accepted");
    expect(readTreeMap(ws.dist)).toEqual(before);
  });
});

describe('the loader', () => {
  test('works in the multi-cluster layout: config/clusters/<cluster>/tenants/<tenant>/extra/', () => {
    const config = copyFixture('clusters');
    const extra = path.join(config, 'clusters', 'prod', 'tenants', 'tenant-1', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'settings.yaml'), SETTINGS);
    const clusters = loadClusters(config);
    const prod = clusters.find((c) => c.cluster === 'prod')!;
    expect(prod.tenants.find((t) => t.name === 'tenant-1')!.extraObjects!.map((e) => e.object.metadata)).toEqual([
      { name: 'build-settings', namespace: 'tenant-1' },
    ]);
    // The same tenant name in the other cluster has none.
    expect(clusters.find((c) => c.cluster === 'staging')!.tenants[0].extraObjects).toBeUndefined();
    const paths = synthesizeClusters(clusters).map((f) => f.path);
    expect(paths).toContain('prod/tenant-1/configmap-build-settings.yaml');
    expect(paths.filter((p) => p.includes('build-settings'))).toEqual(['prod/tenant-1/configmap-build-settings.yaml']);
  });

  test('several documents per file, comment-only documents and a trailing --- are fine; positions are per document', () => {
    const config = copyFixture('extra-objects');
    const extra = path.join(config, 'tenants', 'team-b', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'two.yaml'), `# two objects\n---\n${SETTINGS}---\n# nothing here\n---\n${SETTINGS.replace('build-settings', 'other')}---\n`);
    const team = loadConfig(config).tenants.find((t) => t.name === 'team-b')!;
    expect(team.extraObjects!.map((e) => [e.object.metadata.name, e.line, e.nameLine])).toEqual([
      ['build-settings', 3, 6],
      ['other', 12, 15],
    ]);
  });

  test('refuses symbolic links, FIFOs and a symlinked extra/ folder, like every configuration file', () => {
    const config = copyFixture('extra-objects');
    const outside = path.join(path.dirname(config), 'outside.yaml');
    fs.writeFileSync(outside, SETTINGS);
    const extra = path.join(config, 'tenants', 'team-a', 'extra');
    fs.symlinkSync(outside, path.join(extra, 'link.yaml'));
    execFileSync('mkfifo', [path.join(extra, 'pipe.yaml')]);
    fs.mkdirSync(path.join(config, 'tenants', 'team-b'));
    fs.symlinkSync(extra, path.join(config, 'tenants', 'team-b', 'extra'));
    expect(problemsOf(() => loadConfig(config, { displayBase: path.dirname(config) }))).toEqual([
      'config/tenants/team-a/extra/link.yaml is a symbolic link, not a regular file; configuration files must be plain YAML files',
      'config/tenants/team-a/extra/pipe.yaml is a FIFO, not a regular file; configuration files must be plain YAML files',
      'config/tenants/team-b/extra is a symbolic link; it must be a folder of manifests (*.yaml)',
    ]);
  });

  test('accepts what stays within the tenant: create, and update/patch/delete of named objects; a ClusterSecretStore only when it is the tenant\'s own', () => {
    const config = copyFixture('extra-objects');
    const platform = path.join(config, 'platform.yaml');
    fs.writeFileSync(platform, fs.readFileSync(platform, 'utf8').replace('store: { name: tenant-secrets }', 'store: { name: team-store, kind: ClusterSecretStore }'));
    const extra = path.join(config, 'tenants', 'team-b', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'rbac.yaml'), [
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: settings-editor }\nrules:',
      '  - { apiGroups: [""], resources: [configmaps], verbs: [create] }',
      '  - { apiGroups: [""], resources: [configmaps], resourceNames: [build-settings], verbs: [get, update, patch, delete] }',
      '  - { apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch] }',
      '---',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: settings-editor }',
      'roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: settings-editor }',
      'subjects: [{ kind: ServiceAccount, name: gitlab-runner-jobs, namespace: team-b }]',
      '---',
      'apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: mine }',
      'spec:\n  secretStoreRef: { name: team-store, kind: ClusterSecretStore }\n  data: [{ secretKey: a, remoteRef: { key: team-b/a } }]',
      '---',
      'apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: theirs }',
      'spec:\n  secretStoreRef: { name: everyone, kind: ClusterSecretStore }\n  data: [{ secretKey: a, remoteRef: { key: team-b/a } }]',
      '',
    ].join('\n'));
    expect(problemsOf(() => loadConfig(config, { displayBase: path.dirname(config) }))).toEqual([
      "config/tenants/team-b/extra/rbac.yaml:26:43 spec.secretStoreRef.kind: the only ClusterSecretStore this tenant may use is 'team-store' (secrets.store); a SecretStore in its namespace works too",
    ]);
    fs.writeFileSync(path.join(extra, 'rbac.yaml'), fs.readFileSync(path.join(extra, 'rbac.yaml'), 'utf8').split('---\n').slice(0, 3).join('---\n'));
    expect(loadConfig(config).tenants.find((t) => t.name === 'team-b')!.extraObjects!.map((e) => e.object.kind)).toEqual(['Role', 'RoleBinding', 'ExternalSecret']);
  });

  test('refuses YAML aliases that expand past the limit, with the position of the first alias', () => {
    const config = copyFixture('extra-objects');
    const extra = path.join(config, 'tenants', 'team-b', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`);
    fs.writeFileSync(path.join(extra, 'bomb.yaml'), `${SETTINGS}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\n${levels.join('\n')}\n`);
    expect(problemsOf(() => loadConfig(config, { displayBase: path.dirname(config) }))).toEqual([
      expect.stringMatching(/^config\/tenants\/team-b\/extra\/bomb\.yaml:\d+:\d+ YAML aliases expand to more than 100 copies/),
    ]);
  });

  test('refuses more than 100 objects per tenant', () => {
    const config = copyFixture('extra-objects');
    const extra = path.join(config, 'tenants', 'team-b', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'many.yaml'), Array.from({ length: 101 }, (_, i) => SETTINGS.replace('build-settings', `s-${i}`)).join('---\n'));
    expect(problemsOf(() => loadConfig(config, { displayBase: path.dirname(config) }))).toEqual([
      'config/tenants/team-b/extra holds 101 objects; a tenant may add at most 100',
    ]);
  });
});

describe('the synth', () => {
  const fixture = loadConfig(path.join(VALID_FIXTURES, 'extra-objects'), { displayBase: ROOT });
  const teamA = fixture.tenants.find((t) => t.name === 'team-a')!;

  test('a name taken by a synthesized object is refused with the extra object\'s position, even past the loader', () => {
    const extra = teamA.extraObjects!.find((e) => e.object.kind === 'ConfigMap')!;
    const colliding: TenantConfig = {
      ...teamA,
      extraObjects: [{ ...extra, object: { ...extra.object, metadata: { ...extra.object.metadata, name: 'gitlab-runner-config' } } }],
    };
    expect(() => synthesizeTenantOutput(fixture.platform, colliding)).toThrow(OutputLimitError);
    expect(() => synthesizeTenantOutput(fixture.platform, colliding)).toThrow(
      `${extra.file}:${extra.nameLine}:${extra.nameColumn} metadata.name: ConfigMap 'gitlab-runner-config' is one of the tenant's synthesized objects; choose another name`,
    );
  });

  test('the secret-material guard runs over extra objects too', () => {
    const extra = teamA.extraObjects![0];
    const leaking: TenantConfig = { ...teamA, extraObjects: [{ ...extra, object: { ...extra.object, data: { token: 'glrt-EXAMPLEexampleEXAMPLE12' } } }] };
    expect(() => synthesize({ platform: fixture.platform, tenants: [leaking] })).toThrow(SecretMaterialError);
  });

  test('worker threads write the same extra objects as this thread', () => {
    const dir = tempDir('extra-workers');
    const workers = SynthWorkers.start(2, fixture.tenants.length, { workerFile: buildWorker(dir), batch: 1 });
    expect(workers).toBeDefined();
    try {
      const files = synthesizeClusters([fixture], workers);
      expect(files).toEqual(synthesize(fixture));
      expect(files.map((f) => f.path)).toContain('team-a/configmap-build-settings.yaml');
    } finally {
      workers!.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the tenant\'s README.md summary lists its own manifests for review; a tenant without any has no such row', () => {
    const files = synthesize(fixture);
    expect(files.find((f) => f.path === 'team-a/README.md')!.content).toContain(
      '| Own manifests (extra/) | PrometheusRule team-a-pipelines, ConfigMap build-settings, ServiceAccount team-a-build/deployer, Role team-a-build/deployer, RoleBinding team-a-build/deployer, ExternalSecret team-a-build/deploy-key |',
    );
    expect(files.find((f) => f.path === 'team-b/README.md')!.content).not.toContain('Own manifests');
  });

  test('extra kinds are delivered: in the Argo CD AppProject whitelist, CRD kinds after the core objects (sync wave 1)', () => {
    const files = synthesize(fixture);
    const project = files.find((f) => f.path.startsWith('_gitops/appproject-'))!.content;
    for (const kind of ['ConfigMap', 'ServiceAccount', 'Role', 'RoleBinding', 'ExternalSecret', 'PrometheusRule']) expect(project).toContain(`kind: ${kind}`);
    const rule = files.find((f) => f.path === 'team-a/prometheusrule-team-a-pipelines.yaml')!.content;
    expect(rule).toContain('argocd.argoproj.io/sync-wave: "1"');
    const configMap = files.find((f) => f.path === 'team-a/configmap-build-settings.yaml')!.content;
    expect(configMap).not.toContain('argocd.argoproj.io');
  });
});
