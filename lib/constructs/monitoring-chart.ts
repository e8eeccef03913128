/**
 * The Grafana dashboard of all tenants of one cluster: a ConfigMap labelled for the Grafana
 * dashboard sidecar, in `monitoring.namespace`, written to `dist/[<cluster>/]_monitoring/`. One per
 * platform, not per tenant: a `tenant` variable (label_values of the runner metrics) selects the
 * tenants, so adding a tenant changes nothing here.
 *
 * Every query uses only metrics gitlab-runner 19.x or kube-state-metrics export (plus `up`); the
 * allow list with sources is in test/monitoring.test.ts.
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { Platform } from '../config/schema';
import { annotateForDelivery, GitOpsTool } from '../gitops/gitops-chart';
import { objectNames } from '../model/names';

/** Folder of `dist/` (per cluster) with the platform-level monitoring objects. */
export { MONITORING_DIR } from '../gitops/gitops-chart';

/** Name of the dashboard ConfigMap; its data key is `<name>.json`. */
export const DASHBOARD_NAME = 'gitlab-runner-tenants';
/** Grafana uid of the dashboard (stable, so links to it survive re-imports). */
export const DASHBOARD_UID = 'tenant-runners-gitlab-runner';

export interface MonitoringChartProps {
  /** Namespace of the dashboard ConfigMap (where the Grafana sidecar looks, `monitoring.namespace`). */
  readonly namespace: string;
  /** Labels the Grafana sidecar selects dashboard ConfigMaps by. */
  readonly labels: Record<string, string>;
  /**
   * PromQL label matchers of kube_resourcequota that select the quotas of the tenants in `$tenant`
   * (they carry no `tenant` label): see `quotaMatchers`.
   */
  readonly quotaMatchers: string;
  readonly gitopsTool: GitOpsTool;
}

/**
 * kube_resourcequota matchers for the tenants in `$tenant`: their own namespaces (`<tenant>`,
 * `<tenant>-build`) and quota, or in the shared namespace (variant 2) the tenant-prefixed quota.
 */
export function quotaMatchers(platform: Platform): string {
  if (platform.architecture.variant === 'sharedNamespace') {
    return `namespace="${platform.architecture.sharedNamespace}", resourcequota=~"${objectNames('$tenant-').resourceQuota}"`;
  }
  return `namespace=~"$tenant|$tenant-build", resourcequota="${objectNames('').resourceQuota}"`;
}

/** The props for a platform (the engine's one call). */
export function monitoringChartProps(platform: Platform): MonitoringChartProps {
  return {
    namespace: platform.monitoring.namespace,
    labels: platform.monitoring.dashboard.labels,
    quotaMatchers: quotaMatchers(platform),
    gitopsTool: platform.gitops.tool,
  };
}

interface Target {
  readonly expr: string;
  readonly legendFormat: string;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** A Grafana time series panel on a 24-column grid. */
function panel(id: number, title: string, description: string, pos: { x: number; y: number; w: number; h: number }, unit: string, targets: Target[]) {
  return {
    id,
    type: 'timeseries',
    title,
    description,
    datasource: DATASOURCE,
    gridPos: pos,
    fieldConfig: { defaults: { unit, min: 0, custom: { fillOpacity: 10, showPoints: 'never' } }, overrides: [] },
    options: { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legendFormat })),
  };
}

/** The dashboard model (Grafana JSON), for the tenants in `$tenant`. */
export function dashboard(quota: string): Record<string, unknown> {
  const sel = 'tenant=~"$tenant"';
  const rate = (metric: string, by: string, extra = '') => `sum by (${by}) (rate(${metric}{${sel}${extra}}[$__rate_interval]))`;
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (tenant, le) (rate(gitlab_runner_job_duration_seconds_bucket{${sel}}[$__rate_interval])))`,
    legendFormat: `{{tenant}} p${Math.round(q * 100)}`,
  });
  const panels = [
    panel(1, 'Running jobs vs concurrent', 'Jobs the runner manager(s) of each tenant run now (gitlab_runner_jobs), against the concurrent setting. At the line, new jobs wait in GitLab (alert GitLabRunnerSaturated).', { x: 0, y: 0, w: 12, h: 8 }, 'short', [
      { expr: `sum by (tenant) (gitlab_runner_jobs{${sel}})`, legendFormat: '{{tenant}} running' },
      { expr: `sum by (tenant) (gitlab_runner_concurrent{${sel}})`, legendFormat: '{{tenant}} concurrent' },
    ]),
    panel(2, 'Manager scrape status', 'up of each runner manager target: 1 scraped, 0 down (alert GitLabRunnerDown); no line at all: not scraped (GitLabRunnerNotScraped).', { x: 12, y: 0, w: 12, h: 8 }, 'short', [
      { expr: `min by (tenant, pod) (up{${sel}, job=~".+/.*gitlab-runner"})`, legendFormat: '{{tenant}} {{pod}}' },
    ]),
    panel(3, 'Jobs per minute: started, and failed by reason', 'Jobs started (gitlab_runner_jobs_total) and failed per failure_reason (gitlab_runner_failed_jobs_total), per minute. script_failure is the job\'s own script; the others point at the platform (alert GitLabRunnerJobFailureRate).', { x: 0, y: 8, w: 12, h: 8 }, 'short', [
      { expr: `60 * ${rate('gitlab_runner_jobs_total', 'tenant')}`, legendFormat: '{{tenant}} started' },
      { expr: `60 * ${rate('gitlab_runner_failed_jobs_total', 'tenant, failure_reason')}`, legendFormat: '{{tenant}} failed: {{failure_reason}}' },
    ]),
    panel(4, 'Running jobs by state and stage', 'gitlab_runner_jobs by the state and stage of each running job.', { x: 12, y: 8, w: 12, h: 8 }, 'short', [
      { expr: `sum by (tenant, state, stage) (gitlab_runner_jobs{${sel}, state!="idle"})`, legendFormat: '{{tenant}} {{state}} {{stage}}' },
    ]),
    panel(5, 'Job duration quantiles', 'Quantiles of the duration of finished jobs (gitlab_runner_job_duration_seconds, buckets 30 s to 10 h).', { x: 0, y: 16, w: 12, h: 8 }, 's', [
      quantile(0.5), quantile(0.9), quantile(0.99),
    ]),
    panel(6, 'Runner errors and warnings per minute', 'Log lines at warning and error level (gitlab_runner_errors_total) and job requests above request_concurrency (gitlab_runner_request_concurrency_exceeded_total), per minute.', { x: 12, y: 16, w: 12, h: 8 }, 'short', [
      { expr: `60 * ${rate('gitlab_runner_errors_total', 'tenant, level')}`, legendFormat: '{{tenant}} {{level}}' },
      { expr: `60 * ${rate('gitlab_runner_request_concurrency_exceeded_total', 'tenant')}`, legendFormat: '{{tenant}} request concurrency exceeded' },
    ]),
    panel(7, 'ResourceQuota usage', 'used / hard of every entry of the tenants\' job quota (kube-state-metrics kube_resourcequota). It reaches 100% at full concurrency by design; below that, something else uses the quota (alert GitLabRunnerQuotaNearlyExhausted).', { x: 0, y: 24, w: 24, h: 8 }, 'percentunit', [
      {
        expr: `max by (namespace, resourcequota, resource) (kube_resourcequota{${quota}, type="used"})\n/ on (namespace, resourcequota, resource)\n(max by (namespace, resourcequota, resource) (kube_resourcequota{${quota}, type="hard"}) > 0)`,
        legendFormat: '{{namespace}}/{{resourcequota}} {{resource}}',
      },
    ]),
  ];
  return {
    uid: DASHBOARD_UID,
    title: 'GitLab Runner tenants',
    description: 'Runner managers synthesized by tenant-runners, per tenant. Alerts and runbooks: docs/alerts.md.',
    tags: ['gitlab-runner', 'tenant-runners'],
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        {
          name: 'tenant',
          label: 'Tenant',
          type: 'query',
          datasource: DATASOURCE,
          query: { query: 'label_values(gitlab_runner_concurrent, tenant)', refId: 'tenant' },
          definition: 'label_values(gitlab_runner_concurrent, tenant)',
          refresh: 2,
          sort: 1,
          multi: true,
          includeAll: true,
          current: {},
          hide: 0,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** The platform's monitoring objects: the dashboard ConfigMap. */
export class MonitoringChart extends Chart {
  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, { disableResourceNameHashes: true, labels: { 'app.kubernetes.io/managed-by': 'tenant-runners', 'app.kubernetes.io/part-of': 'tenant-runners' } });
    new k8s.KubeConfigMap(this, 'Dashboard', {
      metadata: { name: DASHBOARD_NAME, namespace: props.namespace, labels: props.labels },
      data: { [`${DASHBOARD_NAME}.json`]: `${JSON.stringify(dashboard(props.quotaMatchers), null, 2)}\n` },
    });
    annotateForDelivery(this, props.gitopsTool);
  }
}

/** The objects of `dist/[<cluster>/]_monitoring/` for a platform; none with the dashboard disabled. */
export function monitoringObjects(platform: Platform): { apiVersion: string; kind: string; metadata: { name: string } }[] {
  if (!platform.monitoring.dashboard.enabled) return [];
  return new MonitoringChart(new App({ outdir: '/nonexistent' }), 'monitoring', monitoringChartProps(platform)).toJson();
}
