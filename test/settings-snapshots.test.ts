/**
 * Review aids for the enterprise settings: every object of each tenant of the fixtures that use
 * them (CA bundle and proxy, pod settings and job volumes, versions and overrides, a tenant's own
 * manifests). The properties that matter are asserted in their own suites
 * (enterprise-network, pod-settings, config/overrides-versions, synth/extra-objects, invariants);
 * these snapshots make any change to the rendered output visible in review.
 */
import { CONFIG_DIRS, synthesizeDir } from './support/synth';
import { toYaml } from '../lib/synth/engine';

const FIXTURES = ['fixture enterprise-network', 'fixture pod-settings', 'fixture pod-settings shared namespace', 'fixture overrides-versions', 'fixture extra-objects'];

describe.each(FIXTURES)('%s (snapshots for review)', (fixture) => {
  const tenants = synthesizeDir(CONFIG_DIRS[fixture]);

  test('has tenants to show', () => {
    expect(tenants.length).toBeGreaterThan(0);
  });

  test.each(tenants.map((t) => [t.tenant.name, t] as const))('%s', (_name, t) => {
    expect(t.objects.map((o) => `# ${o.kind}/${o.metadata.name}\n${toYaml(o)}`).join('---\n')).toMatchSnapshot();
  });
});
