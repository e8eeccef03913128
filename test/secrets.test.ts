/**
 * Secret sources × S3 auth modes: for each combination, what the manager Deployment reads
 * (env, volumes), the ServiceAccount annotations, config.toml's cache and job Secret sections,
 * and the ExternalSecrets; then the cross-check and the guard rail on planted mistakes.
 */
import { tenantNetwork } from '../lib/model/enterprise-network';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { findCredential, scanForCredentials } from '../lib/guards/credentials';
import { secretSetupCommands } from '../lib/render/secret-commands';
import { podSettingsSecrets } from '../lib/model/pod-settings';
import { ManifestObject, secretMaterialIn, synthesizeTenant, toYaml } from '../lib/synth/engine';
import { producedSecrets, secretMismatches, secretUses } from './support/secrets';
import { runSecretCommands } from './support/run-secret-commands';
import { main as secretsMain } from '../scripts/secrets';
import { allTenants, Any, CONFIG_DIRS, find, isExtra, ofKind, ROOT, synthesizeDir } from './support/synth';

const tenantOf = (dir: string, name: string) => {
  const found = synthesizeDir(CONFIG_DIRS[dir]).find((t) => t.tenant.name === name);
  if (!found) throw new Error(`no tenant ${name} in ${dir}`);
  return found.objects as Any[];
};
const managerPod = (objects: Any[]) => find(objects, 'Deployment', 'gitlab-runner').spec.template;
const runnerToml = (objects: Any[]) => parseToml(find(objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml']) as Any;
const tokenEnv = (variable: string, secret: string, key: string) => ({ name: variable, valueFrom: { secretKeyRef: { name: secret, key } } });
const MANAGER_VOLUMES = ['config-template', 'config', 'home', 'tmp'];
const PUSH_VOLUME = { name: 'kaniko-push-credentials', mount_path: '/kaniko/.docker', read_only: true, items: { '.dockerconfigjson': 'config.json' } };

/** An ExternalSecret reduced to what matters: store, refresh, target type and key → remote mapping. */
function summary(es: Any) {
  return {
    name: es.metadata.name,
    store: `${es.spec.secretStoreRef.kind}/${es.spec.secretStoreRef.name}`,
    refresh: es.spec.refreshInterval,
    type: es.spec.target.template?.type ?? 'Opaque',
    template: es.spec.target.template?.data,
    data: es.spec.data.map((d: Any) => `${d.secretKey} <- ${d.remoteRef.key}#${d.remoteRef.property}`),
  };
}
const dockerTemplate = { '.dockerconfigjson': '{{ .dockerconfigjson | toString }}' };

interface Case {
  readonly source: 'existing' | 'externalSecret';
  readonly auth: 'iamRole' | 'podIdentity' | 'staticKeys';
  readonly dir: string;
  readonly tenant: string;
  readonly env: object[];
  readonly serviceAccountAnnotations: object | undefined;
  readonly s3: object;
  readonly imagePullSecrets: string[] | undefined;
  readonly externalSecrets: object[];
}

const CASES: Case[] = [
  {
    source: 'existing', auth: 'iamRole', dir: 'example', tenant: 'tenant-1',
    env: [tokenEnv('RUNNER_TOKEN_JAVA_BUILDS', 'gitlab-runner-tokens', 'java-builds'), tokenEnv('RUNNER_TOKEN_DOTNET_BUILDS', 'gitlab-runner-tokens', 'dotnet-builds')],
    serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/tenant-1-runner-cache' },
    s3: { BucketName: 'tenant-1-cache', BucketLocation: 'eu-central-1', AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
    imagePullSecrets: undefined,
    externalSecrets: [],
  },
  {
    source: 'existing', auth: 'podIdentity', dir: 'fixture mixed', tenant: 'beta',
    env: [tokenEnv('RUNNER_TOKEN_SMALL', 'beta-runner-tokens', 'small-token'), tokenEnv('RUNNER_TOKEN_LARGE', 'beta-runner-tokens', 'large')],
    serviceAccountAnnotations: undefined,
    s3: {
      BucketName: 'beta-ci-cache', BucketLocation: 'us-east-1', ServerAddress: 'minio.storage.svc:9000', PathStyle: true, AuthenticationType: 'iam',
      ServerSideEncryption: 'KMS', ServerSideEncryptionKeyID: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    },
    imagePullSecrets: undefined,
    externalSecrets: [],
  },
  {
    source: 'existing', auth: 'staticKeys', dir: 'fixture mixed', tenant: 'alpha',
    env: [
      tokenEnv('RUNNER_TOKEN_BUILDS', 'gitlab-runner-tokens', 'builds'),
      tokenEnv('AWS_ACCESS_KEY_ID', 'alpha-minio', 'AWS_ACCESS_KEY_ID'),
      tokenEnv('AWS_SECRET_ACCESS_KEY', 'alpha-minio', 'AWS_SECRET_ACCESS_KEY'),
    ],
    serviceAccountAnnotations: undefined,
    s3: { BucketName: 'alpha-ci-cache', BucketLocation: 'us-east-1', ServerAddress: 'minio.storage.svc:9000', PathStyle: true, AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
    imagePullSecrets: undefined,
    externalSecrets: [],
  },
  {
    source: 'externalSecret', auth: 'iamRole', dir: 'fixture external-secrets', tenant: 'es-irsa',
    env: [tokenEnv('RUNNER_TOKEN_JAVA', 'gitlab-runner-tokens', 'java'), tokenEnv('RUNNER_TOKEN_DOTNET', 'gitlab-runner-tokens', 'dotnet-token')],
    serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/es-irsa-cache' },
    s3: { BucketName: 'es-irsa-cache', BucketLocation: 'eu-central-1', AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
    imagePullSecrets: undefined,
    externalSecrets: [
      {
        name: 'gitlab-runner-tokens', store: 'SecretStore/tenant-secrets', refresh: '1h', type: 'Opaque', template: undefined,
        data: ['java <- tenant-runners/es-irsa/gitlab-runner-tokens#java', 'dotnet-token <- tenant-runners/es-irsa/gitlab-runner-tokens#dotnet-token'],
      },
      {
        name: 'kaniko-push-credentials', store: 'SecretStore/tenant-secrets', refresh: '1h', type: 'kubernetes.io/dockerconfigjson', template: dockerTemplate,
        data: ['dockerconfigjson <- tenant-runners/es-irsa/kaniko-push-credentials#dockerconfigjson'],
      },
    ],
  },
  {
    source: 'externalSecret', auth: 'podIdentity', dir: 'fixture external-secrets', tenant: 'es-pod-identity',
    env: [tokenEnv('RUNNER_TOKEN_BUILDS', 'gitlab-runner-tokens', 'builds')],
    serviceAccountAnnotations: undefined,
    s3: { BucketName: 'es-pod-identity-cache', BucketLocation: 'eu-central-1', AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
    imagePullSecrets: ['kaniko-push-credentials', 'private-images'],
    externalSecrets: [
      {
        name: 'gitlab-runner-tokens', store: 'ClusterSecretStore/platform-vault', refresh: '15m', type: 'Opaque', template: undefined,
        data: ['builds <- ci/es-pod-identity/runners#builds'],
      },
      {
        name: 'kaniko-push-credentials', store: 'ClusterSecretStore/platform-vault', refresh: '15m', type: 'kubernetes.io/dockerconfigjson', template: dockerTemplate,
        data: ['dockerconfigjson <- registry/es-pod-identity/push#config'],
      },
      {
        name: 'private-images', store: 'ClusterSecretStore/platform-vault', refresh: '15m', type: 'kubernetes.io/dockerconfigjson', template: dockerTemplate,
        data: ['dockerconfigjson <- registry/shared/pull#dockerconfigjson'],
      },
    ],
  },
  {
    source: 'externalSecret', auth: 'staticKeys', dir: 'fixture external-secrets', tenant: 'es-static',
    env: [
      tokenEnv('RUNNER_TOKEN_BUILDS', 'es-static-tokens', 'builds'),
      tokenEnv('AWS_ACCESS_KEY_ID', 'es-static-s3', 'access-key-id'),
      tokenEnv('AWS_SECRET_ACCESS_KEY', 'es-static-s3', 'secret-access-key'),
    ],
    serviceAccountAnnotations: undefined,
    s3: { BucketName: 'es-static-cache', BucketLocation: 'eu-central-1', AuthenticationType: 'iam', ServerSideEncryption: 'S3' },
    imagePullSecrets: undefined,
    externalSecrets: [
      {
        name: 'es-static-tokens', store: 'SecretStore/es-static-store', refresh: '1h', type: 'Opaque', template: undefined,
        data: ['builds <- tenant-runners/es-static/es-static-tokens#builds'],
      },
      {
        name: 'kaniko-push-credentials', store: 'SecretStore/es-static-store', refresh: '1h', type: 'kubernetes.io/dockerconfigjson', template: dockerTemplate,
        data: ['dockerconfigjson <- tenant-runners/es-static/kaniko-push-credentials#dockerconfigjson'],
      },
      {
        name: 'es-static-s3', store: 'SecretStore/es-static-store', refresh: '1h', type: 'Opaque', template: undefined,
        data: ['access-key-id <- storage/es-static#access_key', 'secret-access-key <- storage/es-static#secret_key'],
      },
    ],
  },
];

describe.each(CASES.map((c) => [`${c.source} × ${c.auth} (${c.dir}/${c.tenant})`, c] as [string, Case]))('%s', (_label, c) => {
  const objects = tenantOf(c.dir, c.tenant);
  const pod = managerPod(objects);
  const toml = runnerToml(objects);

  test('the manager reads exactly the token (and static S3 key) Secret keys, by reference, and mounts no Secret', () => {
    expect(pod.spec.containers[0].env).toEqual(c.env);
    expect(pod.spec.volumes.map((v: Any) => v.name)).toEqual(MANAGER_VOLUMES);
    expect(pod.spec.volumes.filter((v: Any) => v.secret || v.projected)).toEqual([]);
    expect(pod.spec.containers[0].envFrom).toBeUndefined();
  });

  test('the manager ServiceAccount carries the IRSA annotation only with iamRole; only podIdentity opens the Pod Identity Agent', () => {
    expect(find(objects, 'ServiceAccount', 'gitlab-runner').metadata.annotations).toEqual(c.serviceAccountAnnotations);
    const agentRules = (name: string) => find(objects, 'NetworkPolicy', name).spec.egress
      .filter((rule: Any) => rule.to.some((peer: Any) => peer.ipBlock?.cidr === '169.254.170.23/32'));
    expect(agentRules('runner-manager-egress')).toEqual(c.auth === 'podIdentity' ? [{ to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ protocol: 'TCP', port: 80 }] }] : []);
    expect(agentRules('runner-jobs-egress')).toEqual([]);
  });

  test('config.toml: S3 cache with AuthenticationType iam and no keys; push credentials mounted; image_pull_secrets as configured', () => {
    for (const runner of toml.runners) {
      expect(runner.cache).toEqual({ Type: 's3', Path: `cache/${runner.name}`, Shared: true, s3: c.s3 });
      expect(runner.kubernetes.volumes.secret).toEqual([PUSH_VOLUME]);
      expect(runner.kubernetes.image_pull_secrets).toEqual(c.imagePullSecrets);
    }
    expect(find(objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml']).not.toMatch(/AccessKey|SecretKey|AWS_SECRET|password/i);
  });

  test(`${c.externalSecrets.length} ExternalSecrets, filling exactly what is read`, () => {
    expect(ofKind(objects, 'ExternalSecret').map(summary)).toEqual(c.externalSecrets);
    const annotation = pod.metadata.annotations['checksum/external-secrets'];
    if (c.source === 'externalSecret') expect(annotation).toMatch(/^[0-9a-f]{64}$/);
    else expect(annotation).toBeUndefined();
  });
});

test('the checksum changes when an ExternalSecret spec changes (another remote key), so the manager rolls; config.toml is unchanged', () => {
  // GIVEN es-irsa as configured, and the same tenant with its tokens under another remote key
  const { config, tenant } = synthesizeDir(CONFIG_DIRS['fixture external-secrets']).find((t) => t.tenant.name === 'es-irsa')!;
  if (tenant.secrets.source !== 'externalSecret') throw new Error('es-irsa must use externalSecret');
  const moved = { ...tenant, secrets: { ...tenant.secrets, runnerTokens: { key: 'ci/es-irsa/tokens-v2' } } };
  // WHEN both are synthesized
  const [before, after] = [tenant, moved].map((t) => managerPod(synthesizeTenant(config.platform, t) as Any[]).metadata.annotations);
  // THEN only the ExternalSecret checksum differs
  expect(after['checksum/external-secrets']).not.toBe(before['checksum/external-secrets']);
  expect(after['checksum/config']).toBe(before['checksum/config']);
});

/** Every `${NAME:?}` the commands read. */
const variablesIn = (lines: readonly string[]) => [...new Set([...lines.join('\n').matchAll(/\$\{([A-Z0-9_]+):\?\}/g)].map((m) => m[1]!))];
/** A distinct, shell-hostile value per variable: quotes, `$`, backquote, backslash and spaces. */
const valueFor = (variable: string) => `v-${variable.toLowerCase()} $HOME \`id\` "q" 'a' \\n`;
const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((file) => fs.existsSync(file));

describe.each(allTenants())('setup commands for %s (npm run secrets)', (label, { tenant, objects, config, layout }) => {
  const cluster = config.cluster !== undefined ? { cluster: config.cluster } : {};
  const lines = secretSetupCommands(tenant, config.platform.registry.host, layout.names.kanikoPushSecret, { manager: layout.managerNamespace, jobs: layout.jobNamespace }, cluster);
  // Secrets the tenant's pod settings name are its own (docs/pod-settings.md): not set up by these commands.
  const tenantOwned = new Set(podSettingsSecrets(tenant));
  // A CA bundle of kind Secret is referenced, not created by these commands: it holds a public
  // certificate, which the platform distributes (docs/enterprise-network.md).
  const ca = tenantNetwork(config.platform, tenant, layout).caBundle;
  const isCa = (secret: string) => ca?.kind === 'Secret' && secret === ca.name;
  const read = [...new Set(secretUses(objects).filter((u) => !tenantOwned.has(u.secret) && !isCa(u.secret)).map((u) => `${u.secret}/${u.key}`))].sort();

  if (tenant.secrets.source === 'existing') {
    const prefix = `${config.cluster !== undefined ? `${config.cluster.toUpperCase().replace(/-/g, '_')}__` : ''}${tenant.name.toUpperCase().replace(/-/g, '_')}__`;
    const variables = variablesIn(lines);
    const run = runSecretCommands(lines.join('\n'), Object.fromEntries(variables.map((v) => [v, valueFor(v)])));

    test('run in bash, they create exactly the Secrets and keys the pods read, of the right type', () => {
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const created = run.secrets.flatMap((secret) => Object.keys(secret.data).map((key) => `${secret.name}/${key}`));
      expect([...new Set(created)].sort()).toEqual(read);
      for (const secret of run.secrets) {
        expect([layout.managerNamespace, layout.jobNamespace]).toContain(secret.namespace);
        expect(secret.type).toBe(Object.keys(secret.data).includes('.dockerconfigjson') ? 'kubernetes.io/dockerconfigjson' : 'Opaque');
      }
    });

    test(`every value comes from a variable of this tenant only ($${prefix}…), and reaches the Secret unchanged`, () => {
      expect(variables.length).toBeGreaterThan(0);
      for (const variable of variables) expect(variable.startsWith(prefix)).toBe(true);
      const tokens = run.secrets.find((s) => s.name === tenant.tokenSecretName)!;
      expect(Object.values(tokens.data).sort()).toEqual(variables.filter((v) => v.endsWith('TOKEN')).map(valueFor).sort());
      const values = new Set(variables.map(valueFor));
      for (const secret of run.secrets.filter((x) => x.type === 'Opaque')) for (const value of Object.values(secret.data)) expect(values.has(value)).toBe(true);
      const push = run.secrets.find((s) => s.name === layout.names.kanikoPushSecret)!;
      const auth = Buffer.from(`${valueFor(`${prefix}REGISTRY_USERNAME`)}:${valueFor(`${prefix}REGISTRY_PASSWORD`)}`).toString('base64');
      expect(JSON.parse(push.data['.dockerconfigjson']!)).toEqual({ auths: { [config.platform.registry.host]: { auth } } });
    });

    test('no value is ever on a kubectl command line', () => {
      expect(run.argv.length).toBe(run.secrets.length);
      for (const args of run.argv) for (const variable of variables) expect(args.join(' ')).not.toContain(`v-${variable.toLowerCase()}`);
    });
  } else {
    test('they name exactly the remote keys the ExternalSecrets fetch', () => {
      const printed = lines.slice(1).map((line) => {
        const [, key, property, secret, secretKey] = /^# {3}(\S+) property (\S+) -> Secret (\S+) key (\S+)/.exec(line)!;
        return { key, property, secret, secretKey };
      });
      expect([...new Set(printed.map((p) => `${p.secret}/${p.secretKey}`))].sort()).toEqual(read);
      // The runner's Secrets; ExternalSecrets of the tenant's own manifests fill Secrets of its own.
      const fetched = ofKind(objects, 'ExternalSecret').filter((es) => !isExtra(tenant, es)).flatMap((es) => es.spec.data.map((d: Any) => `${es.spec.target.name} <- ${d.remoteRef.key}#${d.remoteRef.property}`));
      expect(printed.map((p) => `${p.secret} <- ${p.key}#${p.property}`).sort()).toEqual(fetched.sort());
      expect(label).toBeTruthy();
    });
  }
});

describe('npm run secrets: variables never collide, commands never run half-filled', () => {
  const all = allTenants().filter(([, t]) => t.tenant.secrets.source === 'existing');

  test('no two tenants (of any fixture, in any cluster) share a variable', () => {
    const byDir = new Map<string, Map<string, string>>();
    for (const [label, { tenant, config, layout }] of all) {
      const dir = label.split('/')[0]!;
      const seen = byDir.get(dir) ?? new Map<string, string>();
      byDir.set(dir, seen);
      const lines = secretSetupCommands(tenant, config.platform.registry.host, layout.names.kanikoPushSecret, { manager: layout.managerNamespace, jobs: layout.jobNamespace }, config.cluster !== undefined ? { cluster: config.cluster } : {});
      for (const variable of variablesIn(lines)) {
        expect([variable, seen.get(variable) ?? label]).toEqual([variable, label]);
        seen.set(variable, label);
      }
    }
    expect(byDir.get('fixture clusters')!.has('PROD__TENANT_1__JAVA_BUILDS_TOKEN')).toBe(true);
    expect(byDir.get('fixture clusters')!.has('STAGING__TENANT_1__JAVA_BUILDS_TOKEN')).toBe(true);
  });

  test('fails when two keys of one tenant would share a variable (java.builds and java-builds)', () => {
    const { tenant, config } = all.find(([label]) => label === 'example/tenant-1')![1];
    const clash = { ...tenant, runners: [tenant.runners[0]!, { ...tenant.runners[0]!, name: 'java.builds' }] };
    expect(() => secretSetupCommands(clash, config.platform.registry.host)).toThrow(
      /Secret gitlab-runner-tokens key java-builds and Secret gitlab-runner-tokens key java\.builds would both be read from \$TENANT_1__JAVA_BUILDS_TOKEN/,
    );
  });

  test('an unset variable stops the commands before kubectl runs', () => {
    const { tenant, config } = all.find(([label]) => label === 'example/tenant-1')![1];
    const lines = secretSetupCommands(tenant, config.platform.registry.host);
    const run = runSecretCommands(lines.join('\n'), { TENANT_1__JAVA_BUILDS_TOKEN: 'x' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/TENANT_1__DOTNET_BUILDS_TOKEN: parameter null or not set/);
    expect(run.argv).toEqual([]);
  });

  (KUBECTL ? test : test.skip)(`real kubectl (${KUBECTL ?? 'not installed: skipped'}) builds the same Secrets from the example's commands`, () => {
    const { tenant, config } = all.find(([label]) => label === 'example/tenant-1')![1];
    const lines = secretSetupCommands(tenant, config.platform.registry.host);
    const values = Object.fromEntries(variablesIn(lines).map((v) => [v, valueFor(v)]));
    const recorded = runSecretCommands(lines.join('\n'), values);
    const real = runSecretCommands(lines.join('\n'), values, { realKubectl: KUBECTL! });
    expect(real.status).toBe(0);
    expect(real.secrets).toEqual(recorded.secrets);
    expect(real.secrets.map((s) => `${s.namespace}/${s.name} ${s.type}`)).toEqual([
      'tenant-1/gitlab-runner-tokens Opaque',
      'tenant-1/kaniko-push-credentials kubernetes.io/dockerconfigjson',
    ]);
  });
});

describe('npm run secrets (the command)', () => {
  const run = (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = secretsMain(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const CLUSTERS = path.join(ROOT, 'test', 'fixtures', 'valid', 'clusters');

  test('--help prints the usage on stdout and exits 0', () => {
    for (const args of [['--help'], ['-h'], ['tenant-1', '--help']]) {
      const result = run(args);
      expect(result.code).toBe(0);
      expect(result.out).toMatch(/^usage: npm run --silent secrets -- \[--config DIR\] \[--cluster NAME\] \[TENANT \.\.\.\]/);
      expect(result.err).toBe('');
    }
  });

  test('the multi-cluster layout: every cluster, grouped, with cluster-scoped variables; --cluster selects one (--flag=value too)', () => {
    const all = run(['--config', CLUSTERS]);
    expect(all.code).toBe(0);
    expect(all.out.split('\n').filter((l) => l.startsWith('# '))).toEqual([
      '# cluster prod: run these with the kubectl context of cluster prod',
      '# tenant-1: Secrets to create in namespace tenant-1, values from $PROD__TENANT_1__*',
      '# tenant-2: Secrets to create in namespace tenant-2, values from $PROD__TENANT_2__*',
      '# cluster staging: run these with the kubectl context of cluster staging',
      '# tenant-1: Secrets to create in namespace tenant-1, values from $STAGING__TENANT_1__*',
    ]);
    const staging = run([`--config=${CLUSTERS}`, '--cluster=staging', 'tenant-1']);
    expect(staging.code).toBe(0);
    expect(staging.out).toMatch(/^# cluster staging:/);
    expect(staging.out).not.toMatch(/PROD__/);
  });

  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--config'], /argument missing/],
    [['nobody', '--config', CLUSTERS], /no tenant nobody in /],
    [['--cluster', 'qa', '--config', CLUSTERS], /no cluster named qa/],
    [['--cluster', 'prod'], /has no clusters\/ folder/],
  ])('fails on bad usage %p: exit 2', (args, message) => {
    const result = run(args as string[]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(result.out).toBe('');
  });

  test('fails on a bad configuration: exit 1 with the loader\'s file:line:col messages', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-bad-'));
    try {
      fs.cpSync(CONFIG_DIRS.example, dir, { recursive: true });
      const file = path.join(dir, 'tenants', 'tenant-2.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^concurrent: .*$/m, 'concurrent: 900'));
      const result = run(['--config', dir]);
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/^1 configuration problem:\n.*tenant-2\.yaml:\d+:\d+ concurrent: must be at most 500, got 900$/m);
      expect(result.out).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('docs/secrets.md shows exactly what `npm run secrets` prints for the example tenants', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'docs', 'secrets.md'), 'utf8');
  const out: string[] = [];
  expect(secretsMain(['--config', CONFIG_DIRS.example], { out: (t) => out.push(t), err: (t) => out.push(t) })).toBe(0);
  expect(synthesizeDir(CONFIG_DIRS.example).map((t) => t.tenant.name)).toEqual(['tenant-1', 'tenant-2']);
  const section = readme.slice(readme.indexOf('## `secrets.source: existing` (default)'), readme.indexOf('## `secrets.source: externalSecret`'));
  expect(section).toContain(`\`\`\`sh\n${out.join('\n')}\n\`\`\``);
});

describe('ExternalSecrets of the external-secrets fixture (snapshots for review)', () => {
  test.each(synthesizeDir(CONFIG_DIRS['fixture external-secrets']).map((t) => [t.tenant.name, t.objects] as [string, Any[]]))('%s', (_name, objects) => {
    expect(ofKind(objects, 'ExternalSecret').map((o) => `# ExternalSecret/${o.metadata.name}\n${toYaml(o)}`).join('---\n')).toMatchSnapshot();
  });
});

describe('the cross-check of Secret references', () => {
  const objects = tenantOf('fixture external-secrets', 'es-pod-identity') as ManifestObject[];
  const mutate = (change: (copy: Any[]) => void) => {
    const copy = JSON.parse(JSON.stringify(objects)) as Any[];
    change(copy);
    return secretMismatches(secretUses(copy), producedSecrets(copy));
  };

  test('passes on the synthesized objects', () => {
    expect(secretUses(objects).map((u) => `${u.secret}/${u.key}`).sort()).toEqual([
      'gitlab-runner-tokens/builds', 'kaniko-push-credentials/.dockerconfigjson', 'kaniko-push-credentials/.dockerconfigjson', 'private-images/.dockerconfigjson',
    ]);
    expect(secretMismatches(secretUses(objects), producedSecrets(objects))).toEqual([]);
  });

  test('fails when an ExternalSecret misses a key the manager reads', () => {
    expect(mutate((o) => { find(o, 'ExternalSecret', 'gitlab-runner-tokens').spec.data[0].secretKey = 'build'; })).toEqual([
      'Deployment gitlab-runner env RUNNER_TOKEN_BUILDS reads key builds of Secret gitlab-runner-tokens; ExternalSecret gitlab-runner-tokens produces only build',
      'ExternalSecret gitlab-runner-tokens produces key build of Secret gitlab-runner-tokens, which nothing reads',
    ]);
  });

  test('fails when the manager reads a Secret no ExternalSecret produces', () => {
    expect(mutate((o) => { find(o, 'Deployment', 'gitlab-runner').spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name = 'tokens'; })).toEqual([
      'Deployment gitlab-runner env RUNNER_TOKEN_BUILDS reads Secret tokens, which nothing produces',
      'ExternalSecret gitlab-runner-tokens produces Secret gitlab-runner-tokens, which nothing reads',
    ]);
  });

  test('fails when config.toml mounts or pulls with a Secret no ExternalSecret produces', () => {
    const problems = mutate((o) => {
      const configMap = find(o, 'ConfigMap', 'gitlab-runner-config');
      configMap.data['config.toml'] = configMap.data['config.toml'].replace('"private-images"', '"other-images"');
    });
    expect(problems).toEqual([
      'ExternalSecret private-images produces Secret private-images, which nothing reads',
      'config.toml runner builds image_pull_secrets reads Secret other-images, which nothing produces',
    ]);
  });

  test('fails when registry credentials are produced as an Opaque Secret', () => {
    expect(mutate((o) => { delete find(o, 'ExternalSecret', 'private-images').spec.target.template.type; })).toEqual([
      'config.toml runner builds image_pull_secrets needs Secret private-images of type kubernetes.io/dockerconfigjson; ExternalSecret private-images produces Opaque',
    ]);
  });
});

describe('credential patterns (lib/guards/credentials.ts)', () => {
  test.each([
    ['glrt-t1_fakeEXAMPLEfake', 'gitlab-runner-token'],
    ['token = "glrt-fakeEXAMPLEfake00"', 'gitlab-runner-token'],
    ['GR1348941fakeEXAMPLEfake00', 'gitlab-registration-token'],
    ['glpat-fakeEXAMPLEfake00', 'gitlab-token'],
    ['gldt-fakeEXAMPLEfake00', 'gitlab-token'],
    ['AKIAIOSFODNN7EXAMPLE', 'aws-access-key-id'],
    ['key=ASIAIOSFODNN7EXAMPLE;', 'aws-access-key-id'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE', 'private-key'],
    ['-----BEGIN PRIVATE KEY-----', 'private-key'],
    ['{"auths":{"registry.local":{"auth":"dXNlcjpwYXNz"}}}', 'docker-config'],
    ['{ "auths": { "r": { "username": "u", "password": "p" } } }', 'docker-config'],
    ['https://user:secret@gitlab.example.com', 'url-credentials'],
  ])('finds %j', (text, kind) => {
    expect(findCredential(text)?.kind).toBe(kind);
  });

  test.each([
    'glrt-builds', 'runner-glrt', 'arn:aws:iam::111122223333:role/tenant-1-runner-cache', 'registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0',
    '${RUNNER_TOKEN_JAVA_BUILDS}', '{{ .dockerconfigjson | toString }}', '{"auths":{}}', 'https://gitlab.example.com:8443', 'AKIA-short', 'tenant-runners/tenant-1/gitlab-runner-tokens',
    '-----BEGIN CERTIFICATE-----', 'git@gitlab.example.com:group/project.git',
  ])('does not flag %j', (text) => {
    expect(findCredential(text)).toBeUndefined();
  });

  test('finds credentials in nested values and in mapping keys, with their paths', () => {
    expect(scanForCredentials({ a: [{ b: 'x AKIAIOSFODNN7EXAMPLE' }], 'glpat-fakeEXAMPLEfake00': 1 }).map((h) => [h.path, h.kind])).toEqual([
      [['a', 0, 'b'], 'aws-access-key-id'],
      [['glpat-fakeEXAMPLEfake00'], 'gitlab-token'],
    ]);
  });
});

describe('secretMaterialIn (the synth guard, per object)', () => {
  const objects = tenantOf('fixture external-secrets', 'es-static') as Any[];
  const copy = (kind: string, name: string) => JSON.parse(JSON.stringify(find(objects, kind, name)));

  test('passes every synthesized object', () => {
    expect(objects.flatMap(secretMaterialIn)).toEqual([]);
  });

  test('fails when an ExternalSecret template carries a literal value', () => {
    const es = copy('ExternalSecret', 'kaniko-push-credentials');
    es.spec.target.template.data['.dockerconfigjson'] = '{"auths":{}}';
    expect(secretMaterialIn(es)).toEqual([
      'ExternalSecret kaniko-push-credentials spec.target.template.data..dockerconfigjson: is a literal value, which would be committed; templates may only reference fetched keys ({{ .key }})',
    ]);
  });

  test('fails when a Secret, Secret data or stringData would be written', () => {
    expect(secretMaterialIn({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'YQ==' } })).toEqual([
      'Secret s: is a Secret object; Secrets are referenced or filled by an ExternalSecret, never written to dist/',
    ]);
    const sa = copy('ServiceAccount', 'gitlab-runner');
    sa.stringData = { a: 'b' };
    sa.data = { a: 'Yg==' };
    expect(secretMaterialIn(sa)).toEqual([
      'ServiceAccount gitlab-runner data: Secret-style data never goes into dist/',
      'ServiceAccount gitlab-runner stringData: Secret values never go into dist/',
    ]);
  });

  test('fails when a string anywhere looks like a credential, naming the path but not the value', () => {
    const deployment = copy('Deployment', 'gitlab-runner');
    deployment.spec.template.spec.containers[0].env[1] = { name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' };
    const findings = secretMaterialIn(deployment);
    expect(findings).toEqual(['Deployment gitlab-runner spec.template.spec.containers[0].env[1].value: looks like an AWS access key ID (AKIA…/ASIA…)']);
    expect(findings.join('\n')).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });
});
