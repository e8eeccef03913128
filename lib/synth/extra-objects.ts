/**
 * A tenant's own manifests (validated by the loader, docs/extra-objects.md) as objects of its
 * folder: the tenant's labels and the delivery annotations of the GitOps tool added, in the order
 * of their files. Runs wherever the tenant's chart runs (main thread or worker).
 */
import { OutputLimitError } from '../config/errors';
import type { Platform } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { tenantLabels } from '../model/labels';
import type { TenantConfig } from '../model/resolve';
import type { ManifestObject } from './output';

/**
 * The extra objects of `tenant`, after `synthesized` (its chart's objects). One of the same kind,
 * namespace and name as a synthesized object is refused with its position (the loader already
 * refuses every name the synth uses; this is the check against what was really synthesized).
 */
export function extraManifests(platform: Platform, tenant: TenantConfig, synthesized: readonly ManifestObject[]): ManifestObject[] {
  const extras = tenant.extraObjects ?? [];
  if (extras.length === 0) return [];
  const delivery = new DeliveryPolicy(platform.gitops.tool);
  const taken = new Set(synthesized.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`));
  const collisions: string[] = [];
  const objects = extras.map((extra) => {
    const { object } = extra;
    const { metadata } = object;
    if (taken.has(`${object.kind}/${metadata.namespace}/${metadata.name}`)) {
      collisions.push(`${extra.file}:${extra.nameLine}:${extra.nameColumn} metadata.name: ${object.kind} '${metadata.name}' is one of the tenant's synthesized objects; choose another name`);
    }
    const annotations = { ...metadata.annotations, ...delivery.annotationsFor(object.apiVersion, object.kind) };
    return {
      ...object,
      metadata: {
        name: metadata.name,
        namespace: metadata.namespace,
        labels: { ...metadata.labels, ...tenantLabels(tenant.name) },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
    } as ManifestObject;
  });
  if (collisions.length > 0) throw new OutputLimitError(collisions.join('\n'));
  return objects;
}
