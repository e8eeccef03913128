/**
 * The per-tenant Kaniko CI template: valid YAML with only hidden jobs, the flags and tenant values
 * the contract names, and a script that really behaves as documented when a shell runs it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ciTemplatePath, kanikoCiTemplate } from '../lib/render/ci-template';
import { synthesize, unitOfPath } from '../lib/synth/engine';
import { loadConfig } from '../lib/config/load';
import { allTenants, Any, CONFIG_DIRS, synthesizeDir } from './support/synth';

const template = (t: ReturnType<typeof synthesizeDir>[number]) => kanikoCiTemplate(t.config.platform, t.tenant);

describe.each(allTenants())('%s', (_label, t) => {
  const text = template(t);
  const doc = parseYaml(text) as Any;
  const job = doc['.kaniko-build'];
  const script = (job.script as string[]).join('\n');

  test('parses as YAML and defines only hidden jobs, so including it runs nothing by itself', () => {
    expect(Object.keys(doc)).toEqual(['.kaniko-build']);
  });

  test('uses the platform\'s pinned Kaniko image with its entrypoint cleared', () => {
    expect(job.image).toEqual({ name: t.config.platform.kaniko.image, entrypoint: [''] });
  });

  test('runs the executor with the cache flags, the cache repo and the tenant\'s TTL', () => {
    for (const flag of [
      '/kaniko/executor', '--context "$KANIKO_CONTEXT"', '--dockerfile "$KANIKO_DOCKERFILE"', '--destination "$KANIKO_DESTINATION"',
      '--cache=true', '--cache-repo "$KANIKO_CACHE_REPO"', '--cache-ttl "$KANIKO_CACHE_TTL"', '--snapshot-mode=redo',
      '--digest-file "$CI_PROJECT_DIR/kaniko-image-digest"', '$KANIKO_CACHE_ARGS', '$KANIKO_PUSH_CACHE',
    ]) expect(script).toContain(flag);
    expect(job.variables.KANIKO_CACHE_TTL).toBe(t.config.platform.kaniko.cacheTtl);
    expect(job.variables.KANIKO_DESTINATION).toBe(`${t.config.platform.registry.host}/${t.tenant.name}/$CI_PROJECT_NAME:$CI_COMMIT_SHORT_SHA`);
    expect(job.artifacts.paths).toEqual(['kaniko-image-digest']);
  });

  test('refuses to run unless the runner hands it this tenant\'s cache repo', () => {
    expect(script).toContain(`if [ "\${KANIKO_CACHE_REPO:-}" != '${t.tenant.kanikoCacheRepo}' ]; then`);
  });

  test('unprotected refs get --no-push-cache, and the template says why', () => {
    expect(script).toMatch(/if \[ "\$CI_COMMIT_REF_PROTECTED" = "true" \]; then\s+KANIKO_PUSH_CACHE=""\s+else[\s\S]*KANIKO_PUSH_CACHE="--no-push-cache"/);
    expect(text).toMatch(/# Cache poisoning:/);
  });

  test('holds no secret and names the mounted registry credentials instead', () => {
    expect(text).toContain('/kaniko/.docker/config.json');
    expect(text).not.toMatch(/password|glpat-|glrt-|AKIA[0-9A-Z]{16}/i);
  });
});

describe('the script, run by a shell with a stub executor', () => {
  const t = synthesizeDir(CONFIG_DIRS['fixture kaniko-s3']).find((x) => x.tenant.name === 'gamma')!;
  const host = 'kaniko-cache-registry.gamma.svc:5000';

  function run(env: Record<string, string>, tenant = t): { status: number | null; args: string[]; stderr: string } {
    const job = (parseYaml(template(tenant)) as Any)['.kaniko-build'];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kaniko-template-'));
    const stub = path.join(dir, 'executor');
    const out = path.join(dir, 'args');
    fs.writeFileSync(stub, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${out}"\n`, { mode: 0o755 });
    const projectDir = path.join(dir, 'project');
    const variables = Object.fromEntries(Object.entries(job.variables as Record<string, string>).map(([k, v]) =>
      [k, v.replace(/\$CI_PROJECT_DIR/g, projectDir).replace(/\$CI_PROJECT_NAME/g, 'app').replace(/\$CI_COMMIT_SHORT_SHA/g, 'abc123')]));
    const script = (job.script as string[]).join('\n').replace('/kaniko/executor', stub);
    const result = spawnSync('sh', ['-e', '-c', script], { env: { PATH: process.env.PATH ?? '', CI_PROJECT_DIR: projectDir, ...variables, ...env }, encoding: 'utf8' });
    const args = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
    return { status: result.status, args, stderr: result.stderr };
  }
  const runnerEnv = { KANIKO_CACHE_REPO: `${host}/cache`, KANIKO_CACHE_ARGS: `--insecure-registry=${host} --skip-tls-verify-registry=${host}` };

  test('a protected ref writes the cache; the mode\'s flags arrive as separate arguments', () => {
    const { status, args } = run({ ...runnerEnv, CI_COMMIT_REF_PROTECTED: 'true' });
    expect(status).toBe(0);
    expect(args).toEqual([
      '--context', expect.stringMatching(/project$/), '--dockerfile', expect.stringMatching(/project\/Dockerfile$/),
      '--destination', 'harbor.example.com/gamma/app:abc123', '--cache=true', '--cache-repo', `${host}/cache`,
      '--cache-ttl', '72h', '--snapshot-mode=redo', '--digest-file', expect.stringMatching(/project\/kaniko-image-digest$/),
      `--insecure-registry=${host}`, `--skip-tls-verify-registry=${host}`,
    ]);
  });

  test('an unprotected ref reads the cache but never pushes to it', () => {
    const { status, args } = run({ ...runnerEnv, CI_COMMIT_REF_PROTECTED: 'false' });
    expect(status).toBe(0);
    expect(args).toContain('--no-push-cache');
    expect(args).toContain('--cache=true');
  });

  test('registry mode: the empty KANIKO_CACHE_ARGS adds no argument', () => {
    const tenant1 = synthesizeDir(CONFIG_DIRS.example).find((x) => x.tenant.name === 'tenant-1')!;
    const { status, args } = run({ KANIKO_CACHE_REPO: 'registry.local/tenant-1/cache', KANIKO_CACHE_ARGS: '', CI_COMMIT_REF_PROTECTED: 'true' }, tenant1);
    expect(status).toBe(0);
    expect(args.slice(args.indexOf('--cache-repo'), args.indexOf('--cache-repo') + 2)).toEqual(['--cache-repo', 'registry.local/tenant-1/cache']);
    expect(args[args.length - 1]).toMatch(/kaniko-image-digest$/);
    expect(args.filter((a) => a === '')).toEqual([]);
  });

  test('fails when the job runs on a runner of another tenant (or none): the executor never starts', () => {
    const other = run({ KANIKO_CACHE_REPO: 'kaniko-cache-registry.delta.svc:5000/cache', CI_COMMIT_REF_PROTECTED: 'true' });
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('must run on a runner of tenant gamma');
    expect(other.args).toEqual([]);
    expect(run({ CI_COMMIT_REF_PROTECTED: 'true' }).status).toBe(1);
  });
});

describe('snapshots, one per mode', () => {
  test('registry mode (example tenant-1)', () => {
    const t = synthesizeDir(CONFIG_DIRS.example).find((x) => x.tenant.name === 'tenant-1')!;
    expect(template(t)).toMatchSnapshot();
  });
  test('s3 mode (fixture kaniko-s3, gamma)', () => {
    const t = synthesizeDir(CONFIG_DIRS['fixture kaniko-s3']).find((x) => x.tenant.name === 'gamma')!;
    expect(template(t)).toMatchSnapshot();
  });
});

describe('place in dist/', () => {
  test('each tenant\'s template lies under dist/ci/<tenant>/, outside the folders GitOps applies', () => {
    const files = synthesize(loadConfig(CONFIG_DIRS.example));
    const templates = files.filter((f) => f.path.endsWith('.gitlab-ci.yml')).map((f) => f.path);
    expect(templates).toEqual(['ci/tenant-1/kaniko.gitlab-ci.yml', 'ci/tenant-2/kaniko.gitlab-ci.yml']);
    expect(ciTemplatePath('tenant-1')).toBe(templates[0]);
    // Tenant folders (and _gitops/) hold only Kubernetes manifests and their README.md summary,
    // which neither Argo CD (*.yaml, *.yml, *.json) nor Flux (*.yaml, *.yml) applies.
    for (const f of files.filter((file) => !file.path.startsWith('ci/') && file.path.endsWith('.yaml'))) expect(parseYaml(f.content)).toHaveProperty('apiVersion');
    expect(files.filter((f) => !f.path.endsWith('.yaml')).map((f) => f.path)).toEqual(['README.md', ...templates, 'tenant-1/README.md', 'tenant-2/README.md']);
    expect(files.filter((f) => !f.path.startsWith('ci/') && /\.(yml|json)$/.test(f.path))).toEqual([]);
  });

  test('CI templates count towards their tenant when dist/ changes are reported', () => {
    const units = new Set(['tenant-1', 'prod/tenant-1']);
    expect(unitOfPath('ci/tenant-1/kaniko.gitlab-ci.yml', units)).toBe('tenant-1');
    expect(unitOfPath('prod/ci/tenant-1/kaniko.gitlab-ci.yml', units)).toBe('prod/tenant-1');
    expect(unitOfPath('tenant-1/namespace-tenant-1.yaml', units)).toBe('tenant-1');
    expect(unitOfPath('ci/tenant-2/kaniko.gitlab-ci.yml', units)).toBeUndefined();
    expect(unitOfPath('README.md', units)).toBeUndefined();
    // A tenant's own Flux Kustomization and its summary count towards it too.
    expect(unitOfPath('_gitops/tenants/tenant-1/kustomization-tenant-runners-tenant-1.yaml', units)).toBe('tenant-1');
    expect(unitOfPath('prod/_gitops/tenants/tenant-1/kustomization-tenant-runners-prod-tenant-1.yaml', units)).toBe('prod/tenant-1');
    expect(unitOfPath('tenant-1/README.md', units)).toBe('tenant-1');
    expect(unitOfPath('_gitops/kustomization-tenant-runners.yaml', units)).toBeUndefined();
  });
});

describe('hostile values that bypass the schema render as text, never as YAML or shell', () => {
  // The schema refuses these (test/fixtures/invalid/injection-*); the renderer must hold on its own.
  const base = synthesizeDir(CONFIG_DIRS.example).find((x) => x.tenant.name === 'tenant-1')!;
  const marker = path.join(os.tmpdir(), `kaniko-injection-${process.pid}`);
  const hostile = [
    `registry.local/tenant-1/cache\n.evil:\n  script: [touch ${marker}]`,
    `registry.local/tenant-1/cache'; touch ${marker}; echo '`,
    `registry.local/tenant-1/$(touch ${marker})`,
    `registry.local/tenant-1/\`touch ${marker}\``,
    'registry.local/tenant-1/cache\r\n.evil2: {script: [id]}\u2028.evil3: x',
  ];

  test.each(hostile)('%j', (repo) => {
    const tenant = { ...base.tenant, kanikoCacheRepo: repo };
    const text = kanikoCiTemplate(base.config.platform, tenant);
    const doc = parseYaml(text) as Any;
    expect(Object.keys(doc)).toEqual(['.kaniko-build']);
    const job = doc['.kaniko-build'];
    const guard = (job.script as string[])[0];
    fs.rmSync(marker, { force: true });
    // With the hostile value handed in by the runner, the guard passes; with anything else it fails; neither runs code.
    for (const env of [{ KANIKO_CACHE_REPO: repo }, { KANIKO_CACHE_REPO: 'other' }]) {
      const result = spawnSync('sh', ['-e', '-c', guard], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
      expect(result.status).toBe(env.KANIKO_CACHE_REPO === repo ? 0 : 1);
    }
    expect(fs.existsSync(marker)).toBe(false);
  });
});
