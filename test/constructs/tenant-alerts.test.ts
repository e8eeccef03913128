import { Testing } from 'cdk8s';
import { ALERT_NAMES, TenantAlerts, TenantAlertsProps } from '../../lib/constructs/tenant-alerts';
import { DeliveryPolicy } from '../../lib/gitops/gitops-chart';
import { one, synth } from './props';

const build = (overrides: Partial<TenantAlertsProps> = {}) => {
  const chart = Testing.chart();
  const alerts = new TenantAlerts(chart, 'Alerts', {
    tenant: 'acme',
    namespace: 'acme',
    name: 'gitlab-runner',
    labels: { release: 'prom' },
    scrapeJob: 'acme/gitlab-runner',
    quotas: [{ namespace: 'acme', name: 'gitlab-runner-jobs' }],
    runbookUrl: 'https://example.com/alerts.md',
    ...overrides,
  });
  return { alerts, objects: synth(chart) };
};

describe('TenantAlerts', () => {
  test('one PrometheusRule named and labelled by the props, every alert in one group', () => {
    const { alerts, objects } = build();
    const rule = one(objects, 'PrometheusRule');
    expect(rule.metadata).toEqual({ name: 'gitlab-runner', namespace: 'acme', labels: { release: 'prom' } });
    expect(rule.spec.groups).toHaveLength(1);
    expect(rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert)).toEqual([...ALERT_NAMES]);
    expect(alerts.group.rules.map((r) => r.alert)).toEqual([...ALERT_NAMES]);
  });

  test('the delivery policy annotates the PrometheusRule (a CRD kind: Argo CD syncs it last)', () => {
    expect(one(build({ delivery: new DeliveryPolicy('argocd') }).objects, 'PrometheusRule').metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1' });
    expect(one(build({ delivery: new DeliveryPolicy('flux') }).objects, 'PrometheusRule').metadata.annotations).toBeUndefined();
  });
});
