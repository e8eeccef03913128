import { createHash } from 'node:crypto';
import { Testing } from 'cdk8s';
import { DeliveryPolicy } from '../../lib/gitops/gitops-chart';
import { canonicalJson, EXTERNAL_SECRETS_CHECKSUM_ANNOTATION, TenantSecrets, TenantSecretsProps } from '../../lib/constructs/tenant-secrets';
import { TenantIsolation } from '../../lib/constructs/tenant-isolation';
import { RequiredSecret } from '../../lib/model/secrets';
import { isolationProps, Json, ofKind, synth } from './props';

const REQUIRED: RequiredSecret[] = [
  {
    name: 'gitlab-runner-tokens',
    namespaces: ['acme'],
    type: 'Opaque',
    purpose: 'tokens',
    keys: [{ key: 'docker', remoteRef: { key: 'tenant-runners/acme/gitlab-runner-tokens', property: 'docker' } }],
  },
  {
    name: 'kaniko-push-credentials',
    namespaces: ['acme-build'],
    type: 'kubernetes.io/dockerconfigjson',
    purpose: 'push',
    keys: [{ key: '.dockerconfigjson', remoteRef: { key: 'tenant-runners/acme/kaniko-push-credentials', property: 'dockerconfigjson' } }],
  },
];

const EXTERNAL: TenantSecretsProps['source'] = {
  source: 'externalSecret',
  store: { kind: 'SecretStore', name: 'vault' },
  refreshInterval: '1h',
  imagePullSecrets: {},
  kanikoPush: { property: 'dockerconfigjson' },
} as unknown as TenantSecretsProps['source'];

const build = (props: Partial<TenantSecretsProps> = {}) => {
  const chart = Testing.chart();
  const isolation = new TenantIsolation(chart, 'Isolation', isolationProps({ jobNamespace: 'acme-build' }));
  const secrets = new TenantSecrets(chart, 'Secrets', { isolation, ...props });
  return { secrets, objects: ofKind(synth(chart), 'ExternalSecret') };
};

describe('TenantSecrets', () => {
  test('existing (default): no objects, no pod annotations, the required list passed through', () => {
    const { secrets, objects } = build({ required: REQUIRED });
    expect(objects).toEqual([]);
    expect(secrets.podAnnotations).toEqual({});
    expect(secrets.required).toBe(REQUIRED);
  });

  test('externalSecret: one ExternalSecret per Secret and namespace, from the store, with exactly the keys', () => {
    const { secrets, objects } = build({ source: EXTERNAL, required: REQUIRED });
    expect(objects.map((o: Json) => [o.metadata.namespace, o.metadata.name])).toEqual([
      ['acme', 'gitlab-runner-tokens'], ['acme-build', 'kaniko-push-credentials'],
    ]);
    expect(secrets.externalSecrets.map((o) => o.node.id)).toEqual(['ExternalSecret-gitlab-runner-tokens', 'ExternalSecret-kaniko-push-credentials-acme-build']);
    const [tokens, push] = objects;
    expect(tokens.spec).toMatchObject({ refreshInterval: '1h', secretStoreRef: { kind: 'SecretStore', name: 'vault' }, target: { name: 'gitlab-runner-tokens', creationPolicy: 'Owner', deletionPolicy: 'Retain' } });
    expect(tokens.spec.data).toEqual([{ secretKey: 'docker', remoteRef: { key: 'tenant-runners/acme/gitlab-runner-tokens', property: 'docker' } }]);
    expect(push.spec.target.template).toEqual({ type: 'kubernetes.io/dockerconfigjson', engineVersion: 'v2', data: { '.dockerconfigjson': '{{ .dockerconfigjson | toString }}' } });
    expect(push.spec.data[0].secretKey).toBe('dockerconfigjson');
  });

  test('the checksum is the hash of the synthesized specs, and follows them', () => {
    const { secrets, objects } = build({ source: EXTERNAL, required: REQUIRED });
    const specs = objects.map((o: Json) => ({ name: o.metadata.name, spec: o.spec })).sort((a: Json, b: Json) => (a.name < b.name ? -1 : 1));
    expect(secrets.podAnnotations).toEqual({ [EXTERNAL_SECRETS_CHECKSUM_ANNOTATION]: createHash('sha256').update(canonicalJson(specs)).digest('hex') });
    const other = build({ source: { ...EXTERNAL, refreshInterval: '15m' } as TenantSecretsProps['source'], required: REQUIRED }).secrets;
    expect(other.podAnnotations[EXTERNAL_SECRETS_CHECKSUM_ANNOTATION]).not.toBe(secrets.podAnnotations[EXTERNAL_SECRETS_CHECKSUM_ANNOTATION]);
  });

  test('a ClusterSecretStore is referenced as one', () => {
    const source = { ...EXTERNAL, store: { kind: 'ClusterSecretStore', name: 'global' } } as TenantSecretsProps['source'];
    expect(build({ source, required: REQUIRED }).objects[0].spec.secretStoreRef).toEqual({ kind: 'ClusterSecretStore', name: 'global' });
  });

  test('the delivery policy puts Argo CD sync wave 1 on every ExternalSecret', () => {
    const { objects } = build({ source: EXTERNAL, required: REQUIRED, delivery: new DeliveryPolicy('argocd') });
    expect(objects.map((o: Json) => o.metadata.annotations)).toEqual([{ 'argocd.argoproj.io/sync-wave': '1' }, { 'argocd.argoproj.io/sync-wave': '1' }]);
    expect(build({ source: EXTERNAL, required: REQUIRED, delivery: new DeliveryPolicy('flux') }).objects[0].metadata.annotations).toBeUndefined();
  });

  test('canonicalJson ignores key order and undefined values', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }] })).toBe('{"a":[{"c":"x"}],"b":1}');
  });
});
