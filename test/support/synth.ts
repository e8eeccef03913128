import * as path from 'node:path';
import { loadClusters } from '../../lib/config/load';
import type { ClusterConfig } from '../../lib/model/resolve';
import type { TenantConfig } from '../../lib/model/resolve';
import { TenantLayout, tenantLayout } from '../../lib/model/layout';
import { ManifestObject, synthesizeTenant } from '../../lib/synth/engine';

export const ROOT = path.join(__dirname, '..', '..');
export const EXAMPLE_CONFIG = path.join(ROOT, 'config');
export const VALID_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'valid');

export interface SynthesizedTenant {
  readonly config: ClusterConfig;
  readonly tenant: TenantConfig;
  /** Namespaces, names and workload kind of the tenant in its architecture. */
  readonly layout: TenantLayout;
  readonly objects: ManifestObject[];
}

/** The shipped example plus every valid fixture configuration, by a readable name. */
export const CONFIG_DIRS: Record<string, string> = {
  example: EXAMPLE_CONFIG,
  'fixture mixed': path.join(VALID_FIXTURES, 'mixed'),
  'fixture clusters': path.join(VALID_FIXTURES, 'clusters'),
  'variant 1 split build namespace': path.join(VALID_FIXTURES, 'variant-split'),
  'variant 2 shared namespace': path.join(VALID_FIXTURES, 'variant-shared'),
  'variant 3 daemonSet': path.join(VALID_FIXTURES, 'variant-daemonset'),
  'fixture kaniko-s3': path.join(VALID_FIXTURES, 'kaniko-s3'),
  'fixture external-secrets': path.join(VALID_FIXTURES, 'external-secrets'),
  'fixture runner-registration': path.join(VALID_FIXTURES, 'runner-registration'),
  'fixture extra-objects': path.join(VALID_FIXTURES, 'extra-objects'),
  'fixture pod-settings': path.join(VALID_FIXTURES, 'pod-settings'),
  'fixture pod-settings shared namespace': path.join(VALID_FIXTURES, 'pod-settings-shared'),
  'fixture enterprise-network': path.join(VALID_FIXTURES, 'enterprise-network'),
  'fixture overrides-versions': path.join(VALID_FIXTURES, 'overrides-versions'),
};

const cache = new Map<string, SynthesizedTenant[]>();

export function synthesizeDir(dir: string): SynthesizedTenant[] {
  let result = cache.get(dir);
  if (!result) {
    result = loadClusters(dir, { displayBase: ROOT }).flatMap((config) =>
      config.tenants.map((tenant) => ({ config, tenant, layout: tenantLayout(config.platform, tenant), objects: synthesizeTenant(config.platform, tenant) })));
    cache.set(dir, result);
  }
  return result;
}

/** Every tenant of the example and of every valid fixture, as `[label, tenant]` rows for it.each. */
export function allTenants(): [string, SynthesizedTenant][] {
  return Object.entries(CONFIG_DIRS).flatMap(([label, dir]) =>
    synthesizeDir(dir).map((t) => [`${label}/${t.config.cluster ? `${t.config.cluster}/` : ''}${t.tenant.name}`, t] as [string, SynthesizedTenant]),
  );
}

/** Whether `object` is one of the tenant's own manifests (config/tenants/<tenant>/extra/) rather than synthesized. */
export function isExtra(tenant: TenantConfig, object: ManifestObject): boolean {
  return (tenant.extraObjects ?? []).some(({ object: extra }) =>
    extra.kind === object.kind && extra.metadata.name === object.metadata.name && extra.metadata.namespace === object.metadata.namespace);
}

/** The object of this kind and name (typed loosely: tests read deep into specs). */
export function find(objects: readonly ManifestObject[], kind: string, name: string): Any {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}; have ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export function ofKind(objects: readonly ManifestObject[], kind: string): Any[] {
  return objects.filter((o) => o.kind === kind);
}

// Loose accessors for the nested specs of synthesized objects in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;
