import { App } from 'cdk8s';
import { loadClusters } from '../../lib/config/load';
import { TenantChart } from '../../lib/constructs/tenant-chart';
import { CONFIG_DIRS, ROOT } from '../support/synth';
import { Json } from './props';

/**
 * TenantChart.facts against what the engine used to read back from the synthesized objects: the
 * namespaces of every object (Namespaces first) and the quota with the most pods.
 */
function readBack(objects: Json[]) {
  const namespaces = new Set<string>(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  for (const o of objects) if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
  const quota = objects
    .filter((o) => o.kind === 'ResourceQuota')
    .reduce<Record<string, string>>((best, q) => (Number(q.spec.hard.pods) > Number(best.pods ?? 0) ? q.spec.hard : best), {});
  return { namespaces: [...namespaces], jobQuota: quota };
}

describe.each(Object.entries(CONFIG_DIRS))('TenantChart.facts (%s)', (_name, dir) => {
  const tenants = loadClusters(dir, { displayBase: ROOT }).flatMap((config) => config.tenants.map((tenant) => ({ platform: config.platform, tenant })));
  test.each(tenants.map((t) => [t.tenant.name, t]))('%s: the facts are what its objects say', (_tenant, { platform, tenant }) => {
    const chart = new TenantChart(new App({ outdir: '/nonexistent' }), tenant.name, { platform, tenant });
    const objects = chart.toJson() as Json[];
    expect(chart.facts).toEqual(readBack(objects));
  });
});
