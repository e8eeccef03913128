/**
 * What `npm run runners` derives from the configuration (descriptions, where each token goes, in
 * every architecture), that `registration` never changes dist/, and the kubeconfig reader.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadClusters } from '../../lib/config/load';
import { desiredFromClusters, runnerDescription } from '../../lib/runners/desired';
import { kubeConnection, KubeError, secretsApi } from '../../lib/runners/kube';
import { createBody } from '../../lib/runners/plan';
import { synthesizeTenantOutput } from '../../lib/synth/tenant-output';
import { ROOT } from '../support/synth';
import { startFakeKube } from './support/fake-kube';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'valid', 'runner-registration');
let work: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'runners-desired-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('registration changes nothing in dist/: every file of every tenant is the same without it', () => {
  const [cluster] = loadClusters(FIXTURE, { displayBase: ROOT });
  for (const tenant of cluster!.tenants) {
    expect(tenant.runners.some((r) => r.registration !== undefined)).toBe(true);
    const without = { ...tenant, runners: tenant.runners.map(({ registration: _unused, ...runner }) => runner) };
    const a = synthesizeTenantOutput(cluster!.platform, tenant).files;
    const b = synthesizeTenantOutput(cluster!.platform, without).files;
    expect(a.map((f) => f.path)).toEqual(b.map((f) => f.path));
    expect(a).toEqual(b);
  }
});

test('each managed runner: its description, and the Secret, key and remote key the synth makes the manager read', () => {
  const { runners, unmanaged } = desiredFromClusters(loadClusters(FIXTURE, { displayBase: ROOT }));
  expect(unmanaged).toEqual(['reg-acme/manual']);
  expect(runners.map((r) => [r.description, r.token])).toEqual([
    ['tenant-runners:reg-acme/builds', { namespace: 'reg-acme', name: 'gitlab-runner-tokens', key: 'builds' }],
    ['tenant-runners:reg-acme/deploy', { namespace: 'reg-acme', name: 'gitlab-runner-tokens', key: 'deploy-token' }],
    [
      'tenant-runners:reg-vault/shared',
      { namespace: 'reg-vault', name: 'gitlab-runner-tokens', key: 'shared', remoteRef: { key: 'tenant-runners/reg-vault/gitlab-runner-tokens', property: 'shared' } },
    ],
  ]);
  // Several clusters: the cluster is part of the description, so one GitLab group can hold both.
  expect(runnerDescription('prod', 'acme', 'builds')).toBe('tenant-runners:prod/acme/builds');
});

test('sharedNamespace variant: tokens go to the prefixed Secret in the shared namespace', () => {
  const config = path.join(work, 'config');
  fs.cpSync(FIXTURE, config, { recursive: true });
  fs.appendFileSync(path.join(config, 'platform.yaml'), 'architecture:\n  variant: sharedNamespace\n');
  const { runners } = desiredFromClusters(loadClusters(config, { displayBase: work }));
  expect(runners.map((r) => `${r.token.namespace}/${r.token.name}:${r.token.key}`)).toEqual([
    'gitlab-runners/reg-acme-gitlab-runner-tokens:builds',
    'gitlab-runners/reg-acme-gitlab-runner-tokens:deploy-token',
    'gitlab-runners/reg-vault-gitlab-runner-tokens:shared',
  ]);
  expect(runners[0]!.manager).toEqual({ namespace: 'gitlab-runners', kind: 'Deployment', name: 'reg-acme-gitlab-runner' });
});

test('the create body sends only what is configured, with runUntagged defaulting to "no tags"', () => {
  expect(createBody('d', { scope: 'instance', tags: [], paused: false }, { type: 'instance_type' })).toEqual({
    runner_type: 'instance_type', description: 'd', tag_list: [], run_untagged: true, paused: false,
  });
  expect(createBody('d', { scope: 'group', groupId: 5, tags: ['a'], paused: false }, { type: 'group_type', id: 5 })).toEqual({
    runner_type: 'group_type', group_id: 5, description: 'd', tag_list: ['a'], run_untagged: false, paused: false,
  });
  expect(createBody('d', { scope: 'group', groupId: 5, tags: ['a'], runUntagged: true, paused: false }, { type: 'group_type', id: 5 }).run_untagged).toBe(true);
});

describe('kubeconfig', () => {
  test('an exec credential plugin supplies the bearer token, run once', async () => {
    const kube = await startFakeKube({ token: 'from-plugin' });
    try {
      const counter = path.join(work, 'runs');
      const plugin = path.join(work, 'plugin.sh');
      fs.writeFileSync(plugin, `#!/bin/sh\necho x >> '${counter}'\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`, { mode: 0o755 });
      const file = path.join(work, 'kubeconfig');
      fs.writeFileSync(file, [
        'current-context: eks',
        'clusters: [{ name: c, cluster: { server: "' + kube.url + '" } }]',
        'contexts: [{ name: eks, context: { cluster: c, user: u } }, { name: other, context: { cluster: c, user: nobody } }]',
        `users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, args: [] } } }]`,
      ].join('\n'));
      const api = secretsApi(kubeConnection({ kubeconfig: file }));
      expect(await api.read('ns', 'missing')).toBeUndefined();
      await api.create('ns', 's', {}, 'k', 'v');
      expect((await api.read('ns', 's'))?.keys).toEqual(['k']);
      expect(fs.readFileSync(counter, 'utf8')).toBe('x\n');
      // A user without credentials: the API server answers 401, and the message names the context.
      const anonymous = secretsApi(kubeConnection({ kubeconfig: file, context: 'other' }));
      await expect(anonymous.read('ns', 's')).rejects.toThrow('read Secret ns/s: Kubernetes API answered 401 (Unauthorized): the credentials of context other were not accepted');
    } finally {
      await kube.close();
    }
  });

  test('clear errors for a missing file, an unknown context and unsupported users', () => {
    expect(() => kubeConnection({ kubeconfig: path.join(work, 'none'), env: {} })).toThrow(KubeError);
    const file = path.join(work, 'kubeconfig');
    fs.writeFileSync(file, 'current-context: a\nclusters: [{ name: c, cluster: { server: "https://192.0.2.1" } }]\ncontexts: [{ name: a, context: { cluster: c, user: u } }]\nusers: [{ name: u, user: { username: admin, password: pw } }]\n');
    expect(() => kubeConnection({ kubeconfig: file, context: 'b' })).toThrow(`${file} has no context named b`);
    expect(() => kubeConnection({ kubeconfig: file })).toThrow('context a: auth-provider and username/password users are not supported');
  });
});
