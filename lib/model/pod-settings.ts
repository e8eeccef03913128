/**
 * The Secrets a tenant's pod settings and job volumes name (`pods.manager.env`, `envFrom`,
 * `imagePullSecrets`, `runners[].volumes.secret`). Unlike the Secrets of lib/model/secrets.ts,
 * tenant-runners neither lists them for `npm run secrets` nor fills them with ExternalSecrets:
 * they are the tenant's own, created next to the pods by whoever owns their content.
 */
import type { Tenant } from '../config/schema';

/** Names of the Secrets the tenant's pod settings and job volumes read, sorted, each once. */
export function podSettingsSecrets(tenant: Pick<Tenant, 'pods' | 'runners'>): string[] {
  const { manager } = tenant.pods;
  const names = [
    ...manager.env.flatMap((v) => (v.valueFrom.secretKeyRef ? [v.valueFrom.secretKeyRef.name] : [])),
    ...manager.envFrom.flatMap((f) => (f.secretRef ? [f.secretRef.name] : [])),
    ...manager.imagePullSecrets,
    ...tenant.runners.flatMap((r) => r.volumes.secret.map((v) => v.name)),
  ];
  return [...new Set(names)].sort();
}
