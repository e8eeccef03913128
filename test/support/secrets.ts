/**
 * A generic cross-check of Secret references: which Secrets (and keys) the synthesized pods and
 * config.toml read, against which Secrets (and keys) the synthesized ExternalSecrets produce.
 * Reads only the output objects, never the constructs, so it catches any drift between them.
 */
import { parse as parseToml } from 'smol-toml';
import type { ManifestObject } from '../../lib/synth/engine';
import type { Any } from './synth';

/** A key read from a Secret; `*` means the whole Secret (envFrom, a volume without items). */
export interface SecretUse {
  readonly secret: string;
  readonly key: string;
  /** Whether the reader needs a `kubernetes.io/dockerconfigjson` Secret. */
  readonly docker: boolean;
  /** Who reads it, for messages. */
  readonly by: string;
}

export interface ProducedSecret {
  readonly name: string;
  readonly type: string;
  readonly keys: readonly string[];
  readonly by: string;
}

const DOCKER_KEY = '.dockerconfigjson';

function podSpecsOf(object: Any): Any[] {
  const spec = object.spec ?? {};
  if (object.kind === 'Pod') return [spec];
  if (spec.template?.spec) return [spec.template.spec];
  if (spec.jobTemplate?.spec?.template?.spec) return [spec.jobTemplate.spec.template.spec];
  return [];
}

/** Every Secret key the objects read: pod specs, ServiceAccounts and the runner's config.toml. */
export function secretUses(objects: readonly ManifestObject[]): SecretUse[] {
  const uses: SecretUse[] = [];
  for (const object of objects as Any[]) {
    const what = `${object.kind} ${object.metadata.name}`;
    for (const pod of podSpecsOf(object)) {
      for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
        for (const env of c.env ?? []) {
          const ref = env.valueFrom?.secretKeyRef;
          if (ref) uses.push({ secret: ref.name, key: ref.key, docker: false, by: `${what} env ${env.name}` });
        }
        for (const from of c.envFrom ?? []) {
          if (from.secretRef) uses.push({ secret: from.secretRef.name, key: '*', docker: false, by: `${what} envFrom` });
        }
      }
      for (const volume of pod.volumes ?? []) {
        const sources = [volume.secret && { secretName: volume.secret.secretName, items: volume.secret.items }, ...(volume.projected?.sources ?? []).map((s: Any) => s.secret && { secretName: s.secret.name, items: s.secret.items })].filter(Boolean);
        for (const source of sources) {
          const keys: string[] = source.items?.length ? source.items.map((i: Any) => i.key) : ['*'];
          for (const key of keys) uses.push({ secret: source.secretName, key, docker: key === DOCKER_KEY, by: `${what} volume ${volume.name}` });
        }
      }
      for (const pull of pod.imagePullSecrets ?? []) uses.push({ secret: pull.name, key: DOCKER_KEY, docker: true, by: `${what} imagePullSecrets` });
    }
    if (object.kind === 'ServiceAccount') {
      for (const pull of object.imagePullSecrets ?? []) uses.push({ secret: pull.name, key: DOCKER_KEY, docker: true, by: `${what} imagePullSecrets` });
    }
    const toml = object.kind === 'ConfigMap' ? object.data?.['config.toml'] : undefined;
    if (toml) {
      for (const runner of (parseToml(toml) as Any).runners ?? []) {
        const k = runner.kubernetes ?? {};
        const by = `config.toml runner ${runner.name}`;
        for (const volume of k.volumes?.secret ?? []) {
          const keys = volume.items ? Object.keys(volume.items) : ['*'];
          for (const key of keys) uses.push({ secret: volume.name, key, docker: key === DOCKER_KEY, by: `${by} volume at ${volume.mount_path}` });
        }
        for (const name of k.image_pull_secrets ?? []) uses.push({ secret: name, key: DOCKER_KEY, docker: true, by: `${by} image_pull_secrets` });
      }
    }
  }
  return uses;
}

/** The Secrets the ExternalSecrets among `objects` produce, with their keys and type. */
export function producedSecrets(objects: readonly ManifestObject[]): ProducedSecret[] {
  return (objects as Any[])
    .filter((o) => o.kind === 'ExternalSecret')
    .map((o) => {
      const template = o.spec.target?.template;
      // With template data (mergePolicy Replace, the default) the Secret holds exactly the template's keys.
      const keys = template?.data && Object.keys(template.data).length > 0 && (template.mergePolicy ?? 'Replace') === 'Replace'
        ? Object.keys(template.data)
        : [...(o.spec.data ?? []).map((d: Any) => d.secretKey), ...(o.spec.dataFrom?.length ? ['*'] : [])];
      return { name: o.spec.target?.name ?? o.metadata.name, type: template?.type ?? 'Opaque', keys, by: `ExternalSecret ${o.metadata.name}` };
    });
}

/**
 * Differences between what is read and what is produced, one line each; empty when every Secret
 * read is produced with exactly the keys read, in the right type, and nothing extra is produced.
 */
export function secretMismatches(uses: readonly SecretUse[], produced: readonly ProducedSecret[]): string[] {
  const problems: string[] = [];
  const byName = new Map(produced.map((p) => [p.name, p]));
  for (const p of produced) if (produced.filter((q) => q.name === p.name).length > 1) problems.push(`Secret ${p.name} is produced more than once`);
  for (const use of uses) {
    const p = byName.get(use.secret);
    if (!p) problems.push(`${use.by} reads Secret ${use.secret}, which nothing produces`);
    else if (use.key !== '*' && !p.keys.includes(use.key) && !p.keys.includes('*')) problems.push(`${use.by} reads key ${use.key} of Secret ${use.secret}; ${p.by} produces only ${p.keys.join(', ')}`);
    else if (use.docker && p.type !== 'kubernetes.io/dockerconfigjson') problems.push(`${use.by} needs Secret ${use.secret} of type kubernetes.io/dockerconfigjson; ${p.by} produces ${p.type}`);
  }
  for (const p of produced) {
    const reads = uses.filter((u) => u.secret === p.name);
    if (reads.length === 0) problems.push(`${p.by} produces Secret ${p.name}, which nothing reads`);
    else if (!reads.some((u) => u.key === '*')) {
      for (const key of p.keys) if (!reads.some((u) => u.key === key)) problems.push(`${p.by} produces key ${key} of Secret ${p.name}, which nothing reads`);
    }
  }
  return [...new Set(problems)].sort();
}
