/**
 * Runner versions (lib/model/runner-version.ts), feature flags and configOverrides
 * (lib/config/runner-overrides.ts, lib/runner-config/overrides.ts): the pure pieces, the rules
 * against the rendered section, and what reaches config.toml. Bad input is covered with positions
 * by test/fixtures/invalid/{overrides-*,feature-flag-*,runner-version-*,runner-helper-*,runner-image-*}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { KNOWN_FEATURE_FLAGS } from '../../lib/config/feature-flags';
import { loadClusters } from '../../lib/config/load';
import { overrideRule, OVERRIDE_RULES } from '../../lib/config/runner-overrides';
import { DEFAULT_HELPER_IMAGE, DEFAULT_RUNNER_IMAGE, PlatformSchema } from '../../lib/config/schema';
import {
  DEFAULT_HELPER_REPOSITORY, DEFAULT_RUNNER_REPOSITORY, helperImageVersion, imageTag, managerImageVersion,
  platformVersionProblems, runnerImages, tenantVersionProblems,
} from '../../lib/model/runner-version';
import { mergeOverrides } from '../../lib/runner-config/overrides';
import { runnerSection } from '../../lib/runner-config/runner-section';
import { renderRunnerConfig } from '../../lib/runner-config/render';
import { runner } from '../constructs/props';
import { Any, CONFIG_DIRS, find, ROOT, synthesizeDir } from '../support/synth';
import { validateRunnerToml } from '../support/validate';

const defaults = { imageRepository: DEFAULT_RUNNER_REPOSITORY, helperImageRepository: DEFAULT_HELPER_REPOSITORY };

describe('runner versions', () => {
  test('the defaults derive exactly the images earlier releases pinned (dist/ does not change)', () => {
    expect(DEFAULT_RUNNER_IMAGE).toBe('registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0');
    expect(DEFAULT_HELPER_IMAGE).toBe('registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.3.0');
    expect(runnerImages(defaults, {})).toEqual({ version: '19.3.0', image: DEFAULT_RUNNER_IMAGE, helperImage: DEFAULT_HELPER_IMAGE, architecture: 'amd64', nodeSelector: {} });
  });

  test('a tenant version and arm64 nodes pick alpine-v<version> and arm64-v<version>, with the arch node selector', () => {
    const images = runnerImages({ ...defaults, version: '19.3.0' }, { runnerVersion: '19.4.1', architecture: 'arm64' });
    expect(images.image).toBe(`${DEFAULT_RUNNER_REPOSITORY}:alpine-v19.4.1`);
    expect(images.helperImage).toBe(`${DEFAULT_HELPER_REPOSITORY}:arm64-v19.4.1`);
    expect(images.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64' });
    // amd64 declared: x86_64 helper, and the selector says so too.
    expect(runnerImages(defaults, { architecture: 'amd64' })).toMatchObject({ helperImage: DEFAULT_HELPER_IMAGE, nodeSelector: { 'kubernetes.io/arch': 'amd64' } });
  });

  test('pinned images are used as they are, and their tag gives the version', () => {
    const pinned = { ...defaults, image: 'mirror.example.com/runner:alpine-v19.2.0@sha256:' + 'a'.repeat(64), helperImage: 'mirror.example.com/helper:x86_64-v19.2.0' };
    expect(runnerImages(pinned, {})).toMatchObject({ version: '19.2.0', image: pinned.image, helperImage: pinned.helperImage });
    expect(platformVersionProblems(pinned)).toEqual([]);
  });

  test('image tags: the version and architecture as GitLab tags them', () => {
    expect(imageTag('registry.example.com:5000/a/b:v1@sha256:abc')).toBe('v1');
    expect(imageTag('registry.example.com:5000/a/b')).toBeUndefined();
    expect(['v19.3.0', 'alpine-v19.3.0', 'alpine3.21-v19.3.0', 'ubuntu-v19.3.0'].map((t) => managerImageVersion(`r.example/x:${t}`))).toEqual(Array(4).fill('19.3.0'));
    expect(managerImageVersion('r.example/x:19.3.0')).toBeUndefined();
    expect(managerImageVersion('r.example/x:latest')).toBeUndefined();
    expect(helperImageVersion('r.example/h:x86_64-v19.3.0')).toEqual({ arch: 'x86_64', version: '19.3.0' });
    expect(helperImageVersion('r.example/h:ubuntu-arm64-v19.3.0')).toEqual({ arch: 'arm64', version: '19.3.0' });
    expect(helperImageVersion('r.example/h:alpine3.21-x86_64-v19.3.0-pwsh')).toEqual({ arch: 'x86_64', version: '19.3.0' });
    expect(helperImageVersion('r.example/h:x86_64-9cbf0074')).toBeUndefined();
  });

  test('manager and helper of different releases, old releases and tags without a version are refused', () => {
    const messages = (s: Parameters<typeof platformVersionProblems>[0]) => platformVersionProblems(s).map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(messages({ ...defaults, version: '19.3.0', helperImage: 'h.example/h:x86_64-v19.2.0' })).toEqual([
      'runner.helperImage: is gitlab-runner-helper 19.2.0 but the manager is 19.3.0 (runner.version); manager and helper must be the same release',
    ]);
    expect(messages({ ...defaults, version: '19.3.0', image: 'r.example/r:alpine-v19.4.0' })).toEqual([
      'runner.image: is gitlab-runner 19.4.0 but runner.version is 19.3.0; remove one of them or make them equal',
    ]);
    expect(messages({ ...defaults, image: 'r.example/r:v18.9.1' })[0]).toMatch(/^runner.image: is gitlab-runner 18.9.1, older than 18.10.0/);
    expect(messages({ ...defaults, helperImage: 'h.example/h:x86_64-latest' })[0]).toMatch(/^runner.helperImage: its tag 'x86_64-latest' names no architecture and version/);
  });

  test('the schema refuses versions below 18.10.0 and malformed ones', () => {
    const base = { gitlab: { url: 'https://g.example', egressCidrs: ['203.0.113.1/32'] }, kubernetes: { apiServerCidrs: ['192.0.2.1/32'], clusterCidrs: ['10.0.0.0/8'] }, s3: { region: 'eu-central-1', egressCidrs: ['198.51.100.0/24'] }, registry: { host: 'r.example', egressCidrs: ['198.51.100.1/32'] } };
    const parse = (version: string) => PlatformSchema.safeParse({ ...base, runner: { version } });
    expect(parse('18.10.0').success).toBe(true);
    expect(parse('19.0.0').success).toBe(true);
    expect(parse('18.9.99').error?.issues[0].message).toMatch(/^must be at least 18.10.0/);
    expect(parse('17.11.0').success).toBe(false);
    expect(parse('v19.3.0').success).toBe(false);
    expect(parse('19.3').success).toBe(false);
  });

  test('a tenant version next to pinned images, and a pinned helper for other nodes, are refused', () => {
    const pinned = { ...defaults, helperImage: 'h.example/h:x86_64-v19.3.0' };
    expect(tenantVersionProblems(pinned, { runnerVersion: '19.4.0', nodeLabels: {} }).map((p) => p.path)).toEqual([['runnerVersion']]);
    expect(tenantVersionProblems(pinned, { architecture: 'arm64', nodeLabels: {} }).map((p) => p.path)).toEqual([['nodes', 'architecture']]);
    expect(tenantVersionProblems(pinned, { architecture: 'amd64', nodeLabels: {} })).toEqual([]);
    expect(tenantVersionProblems(defaults, { architecture: 'arm64', nodeLabels: { 'kubernetes.io/arch': 'amd64' } })[0].message).toMatch(/never be scheduled/);
  });
});

describe('feature flags', () => {
  test('the vendored list is the one of the reference config.toml schema (gitlab-runner 19.3)', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'reference', 'gitlab-runner-config.schema.json'), 'utf8'));
    expect([...KNOWN_FEATURE_FLAGS].sort()).toEqual([...schema.$defs.featureFlags.propertyNames.enum].sort());
  });

  test('token rotation stays disabled and configured flags follow it in name order', () => {
    const section = runnerSection(runner('r', { featureFlags: { FF_USE_FASTZIP: true, FF_PRINT_POD_EVENTS: false, FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true } }), sectionContext());
    expect(Object.entries(section.feature_flags!)).toEqual([
      ['FF_DISABLE_AUTOMATIC_TOKEN_ROTATION', true],
      ['FF_PRINT_POD_EVENTS', false],
      ['FF_USE_FASTZIP', true],
    ]);
  });
});

function sectionContext(overrides: Record<string, unknown> = {}) {
  return {
    url: 'https://gitlab.example.com',
    tokenEnv: 'RUNNER_TOKEN_R',
    helperImage: DEFAULT_HELPER_IMAGE,
    namespace: 'acme',
    serviceAccount: 'gitlab-runner-jobs',
    nodeSelector: { tenant: 'acme' },
    nodeTolerations: { 'tenant=acme': 'NoSchedule' },
    podLabels: { 'tenant-runners.io/tenant': 'acme' },
    imagePullSecrets: ['pull'],
    priorityClassName: 'tenant-acme',
    jobEnvironment: ['A=1'],
    secretVolumes: [{ name: 'kaniko-push-credentials', mount_path: '/kaniko/.docker', read_only: true }],
    cache: { Type: 's3' as const, Path: 'cache/r', Shared: true, s3: { BucketName: 'b', BucketLocation: 'eu-central-1', AuthenticationType: 'iam' as const, ServerSideEncryption: 'S3' as const } },
    ...overrides,
  };
}

/** Key paths of a section: every table key, down to non-table values. */
function keyPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).filter(([, v]) => v !== undefined).flatMap(([k, v]) => keyPaths(v, [...prefix, k]));
}

describe('configOverrides', () => {
  test('every key the synth renders has a typed setting or a reason it is fixed (an override can never replace one)', () => {
    // Every optional part set: ephemeral storage, limit, image lists, pull secrets, the shared variant's priority class.
    const size = { requests: { cpu: '1', memory: '1Gi', ephemeralStorage: '1Gi' }, limits: { cpu: '1', memory: '1Gi', ephemeralStorage: '2Gi' } };
    const spec = runner('r', { limit: 2, allowedImages: ['a:*'], allowedServices: ['b:*'], environment: { X: '1' }, featureFlags: { FF_USE_FASTZIP: true }, resources: { build: size, helper: size, service: size } });
    const section = runnerSection(spec, sectionContext());
    const undecided = keyPaths(section).filter((p) => !p.some((_, i) => overrideRule(p.slice(0, i + 1), 'sharedNamespace')));
    expect(undecided.map((p) => p.join('.'))).toEqual([]);
    // Outside the shared namespace the typed pods.jobs.priorityClassName sets it (checked: no system- classes).
    expect(overrideRule(['kubernetes', 'priority_class_name'], 'namespacePerTenant')?.use).toBe('pods.jobs.priorityClassName');
  });

  test('rules name a typed setting or a reason, never both or neither', () => {
    for (const rule of OVERRIDE_RULES) expect([rule.pattern, Boolean(rule.use) !== Boolean(rule.reason)]).toEqual([rule.pattern, true]);
  });

  test('patterns match whole segments: *_overwrite_allowed refuses, *_overwrite_max_allowed ceilings pass', () => {
    expect(overrideRule(['kubernetes', 'cpu_limit_overwrite_max_allowed'], 'namespacePerTenant')).toBeUndefined();
    expect(overrideRule(['kubernetes', 'pod_annotations_overwrite_allowed'], 'namespacePerTenant')?.reason).toMatch(/jobs must not gain overrides/);
    expect(overrideRule(['kubernetes', 'init_permissions_container_security_context'], 'namespacePerTenant')?.reason).toMatch(/unprivileged/);
    expect(overrideRule(['kubernetes', 'volumes', 'empty_dir'], 'namespacePerTenant')?.use).toBe('runners[#].volumes.emptyDir');
    expect(overrideRule(['kubernetes', 'pod_annotations'], 'namespacePerTenant')?.use).toBe('pods.jobs.annotations');
    expect(overrideRule(['kubernetes', 'volumes', 'host_path'], 'namespacePerTenant')?.reason).toMatch(/hostPath/);
    expect(overrideRule(['namespace'], 'namespacePerTenant')).toBeUndefined(); // only kubernetes.namespace
  });

  test('the merge adds keys into nested tables and refuses to replace any rendered key', () => {
    const section = runnerSection(runner('r'), sectionContext());
    const merged = mergeOverrides(section, { output_limit: 8192, kubernetes: { poll_interval: 5, volumes: { empty_dir: [{ name: 's', mount_path: '/s' }] } } });
    expect(merged.kubernetes).toMatchObject({ poll_interval: 5, namespace: 'acme', volumes: { secret: section.kubernetes.volumes!.secret, empty_dir: [{ name: 's', mount_path: '/s' }] } });
    expect((merged as Any).output_limit).toBe(8192);
    expect(section.kubernetes).not.toHaveProperty('poll_interval'); // the input is not mutated
    expect(() => mergeOverrides(section, { kubernetes: { privileged: true } })).toThrow(/configOverrides.kubernetes.privileged would replace a key the synth renders/);
    // Adding a key to a rendered map (node_selector, pod_labels, security contexts) is refused too.
    expect(() => mergeOverrides(section, { kubernetes: { node_selector: { other: 'x' } } })).toThrow(/configOverrides.kubernetes.node_selector would replace/);
    expect(() => mergeOverrides(section, { kubernetes: { build_container_security_context: { capabilities: { add: ['SYS_ADMIN'] } } } })).toThrow(/build_container_security_context/);
    expect(() => mergeOverrides(section, { cache: 'x' })).toThrow(/configOverrides.cache/);
    expect(mergeOverrides(section, undefined)).toBe(section);
  });

  test('overrides and flags reach config.toml, which still validates against gitlab-runner\'s schema', () => {
    const canary = synthesizeDir(CONFIG_DIRS['fixture overrides-versions']).find((t) => t.tenant.name === 'canary')!;
    const text = find(canary.objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml'];
    expect(validateRunnerToml(text)).toEqual([]);
    const toml = parseToml(text) as Any;
    const [builds, plain] = toml.runners;
    expect(builds.output_limit).toBe(16384);
    expect(builds.custom_build_dir).toEqual({ enabled: true });
    expect(builds.kubernetes).toMatchObject({
      cpu_request_overwrite_max_allowed: '2',
      memory_request_overwrite_max_allowed: '4Gi',
      poll_interval: 5,
      pod_annotations: { 'karpenter.sh/do-not-disrupt': 'true' },
      // Rendered keys are untouched.
      namespace: 'canary',
      privileged: false,
      poll_timeout: 180,
      helper_image: 'mirror.example.com/gitlab-org/gitlab-runner/gitlab-runner-helper:arm64-v19.4.1',
      node_selector: { tenant: 'canary', workload: 'gitlab-runner', 'kubernetes.io/arch': 'arm64' },
    });
    expect(builds.kubernetes.volumes.empty_dir).toEqual([{ name: 'scratch', mount_path: '/scratch', medium: 'Memory', size_limit: '1Gi' }]);
    expect(builds.kubernetes.volumes.secret.map((v: Any) => v.name)).toContain('kaniko-push-credentials');
    // The runner's flags over the platform's; token rotation stays off.
    expect(builds.feature_flags).toEqual({ FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true, FF_PRINT_POD_EVENTS: false, FF_USE_FASTZIP: true });
    expect(plain.feature_flags).toEqual({ FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true, FF_PRINT_POD_EVENTS: true });
    expect(plain).not.toHaveProperty('output_limit');
    expect(plain.kubernetes).not.toHaveProperty('poll_interval');
    // The manager runs the canary's release too, on the arm64 nodes.
    const pod = find(canary.objects, 'Deployment', 'gitlab-runner').spec.template.spec;
    expect(pod.containers[0].image).toBe('mirror.example.com/gitlab-org/gitlab-runner:alpine-v19.4.1');
    expect(pod.nodeSelector['kubernetes.io/arch']).toBe('arm64');
  });

  test('the other tenant stays on the platform version, from the mirror', () => {
    const steady = synthesizeDir(CONFIG_DIRS['fixture overrides-versions']).find((t) => t.tenant.name === 'steady')!;
    expect(steady.tenant.runnerImages).toMatchObject({
      version: '19.3.0',
      image: 'mirror.example.com/gitlab-org/gitlab-runner:alpine-v19.3.0',
      helperImage: 'mirror.example.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.3.0',
    });
  });

  test('the schema validator is loaded only when some runner has overrides', () => {
    jest.isolateModules(() => {
      const overrides = require('../../lib/config/runner-overrides') as typeof import('../../lib/config/runner-overrides');
      const { loadClusters: load } = require('../../lib/config/load') as typeof import('../../lib/config/load');
      load(CONFIG_DIRS.example, { displayBase: ROOT });
      expect(overrides.validatorLoaded()).toBe(false);
      load(CONFIG_DIRS['fixture overrides-versions'], { displayBase: ROOT });
      expect(overrides.validatorLoaded()).toBe(true);
    });
  });

  test('rendering with no overrides and no flags gives the same text as before these settings existed', () => {
    const text = renderRunnerConfig({ concurrent: 1, check_interval: 3, log_level: 'info', log_format: 'json', listen_address: ':9252', shutdown_timeout: 3600, runners: [runnerSection(runner('r'), sectionContext())] });
    expect(text).toMatch(/\[runners\.feature_flags\]\nFF_DISABLE_AUTOMATIC_TOKEN_ROTATION = true\n\n\[runners\.kubernetes\]/);
    expect(loadClusters(CONFIG_DIRS.example, { displayBase: ROOT })[0].tenants.every((t) => t.runners.every((r) => r.configOverrides === undefined))).toBe(true);
  });
});
