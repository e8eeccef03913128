/**
 * The alerts of one tenant's runner: a PrometheusRule (monitoring.coreos.com/v1) in the tenant's
 * folder and namespace, so adding or removing a tenant touches only that tenant's files.
 *
 * Metrics used (gitlab-runner 19.x, `commands/builds_helper.go`, `commands/multi.go`,
 * `helpers/prometheus/failures_collector.go`; kube-state-metrics `kube_resourcequota`):
 * `up`, `gitlab_runner_jobs` (running jobs; an `idle` series of 0 per runner), `gitlab_runner_concurrent`,
 * `gitlab_runner_jobs_total`, `gitlab_runner_failed_jobs_total{failure_reason}`, `kube_resourcequota{type}`.
 * Runbooks: docs/alerts.md, one section per alert.
 */
import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/prometheusrule-monitoring.coreos.com';

export interface TenantAlertsProps {
  /** Tenant name: the `tenant` label the PodMonitor puts on every runner series, and a label of every alert. */
  readonly tenant: string;
  /** Namespace of the PrometheusRule: the tenant's manager namespace. */
  readonly namespace: string;
  /** Name of the PrometheusRule. */
  readonly name: string;
  /** Labels of the PrometheusRule that Prometheus' `ruleSelector` matches. */
  readonly labels?: Record<string, string>;
  /**
   * Prometheus `job` label of the manager's scrape target. prometheus-operator sets it to
   * `<namespace>/<PodMonitor name>` for PodMonitors without `jobLabel`.
   */
  readonly scrapeJob: string;
  /** The tenant's ResourceQuotas (kube-state-metrics labels `namespace` and `resourcequota`). */
  readonly quotas: readonly { readonly namespace: string; readonly name: string }[];
  /** Where docs/alerts.md is opened; each alert's `runbook_url` is `<runbookUrl>#<alert name in lower case>`. */
  readonly runbookUrl: string;
}

/** One alerting rule as Prometheus reads it (the `rules[]` entry of a rule group). */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export interface AlertGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

/** Every alert of a tenant, in the order docs/alerts.md describes them. */
export const ALERT_NAMES = [
  'GitLabRunnerDown',
  'GitLabRunnerNotScraped',
  'GitLabRunnerSaturated',
  'GitLabRunnerJobFailureRate',
  'GitLabRunnerQuotaNearlyExhausted',
] as const;

export type AlertName = (typeof ALERT_NAMES)[number];

/** Failed jobs counted by GitLabRunnerJobFailureRate: all but the job script's own failure (the tenant's code). */
export const PLATFORM_FAILURE_SELECTOR = 'failure_reason!="script_failure"';
/** Share of started jobs failing for another reason than the script (30 min window). */
export const FAILURE_RATIO = 0.2;
/** ... and at least this many such failures in the window, so one failure of two jobs does not page. */
export const FAILURE_MIN_COUNT = 3;
/** Used / hard of any ResourceQuota entry. */
export const QUOTA_RATIO = 0.9;

/** A PromQL string literal (double-quoted). */
function q(value: string): string {
  return JSON.stringify(value);
}

/** A regular expression matching exactly these values (PromQL anchors `=~` matchers). */
function oneOf(values: readonly string[]): string {
  return [...new Set(values)].map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

/** The rule group of one tenant, as plain data (the construct writes it; the tests run promtool on it). */
export function tenantAlertGroup(props: TenantAlertsProps): AlertGroup {
  const { tenant } = props;
  const runner = `job=${q(props.scrapeJob)}, tenant=${q(tenant)}`;
  const quota = `namespace=~${q(oneOf(props.quotas.map((x) => x.namespace)))}, resourcequota=~${q(oneOf(props.quotas.map((x) => x.name)))}`;
  const saturated = `sum(gitlab_runner_jobs{${runner}}) >= sum(gitlab_runner_concurrent{${runner}})`;
  const failed = `sum by (tenant) (increase(gitlab_runner_failed_jobs_total{${runner}, ${PLATFORM_FAILURE_SELECTOR}}[30m]))`;
  const rule = (alert: AlertName, severity: 'critical' | 'warning', expr: string, forDuration: string, summary: string, description: string): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity, tenant },
    annotations: { summary, description, runbook_url: `${props.runbookUrl}#${alert.toLowerCase()}` },
  });
  return {
    name: `gitlab-runner.${tenant}`,
    rules: [
      rule(
        'GitLabRunnerDown',
        'critical',
        `up{${runner}} == 0`,
        '5m',
        `GitLab Runner manager of tenant ${tenant} is down`,
        `Prometheus cannot scrape the runner manager {{ $labels.namespace }}/{{ $labels.pod }} of tenant ${tenant} for 5 minutes: ` +
          'the manager is not running or not answering on its metrics port, so jobs of this tenant are not picked up.',
      ),
      rule(
        'GitLabRunnerNotScraped',
        'critical',
        `absent(up{${runner}})`,
        '15m',
        `GitLab Runner manager of tenant ${tenant} is not scraped at all`,
        `Prometheus has had no scrape target for the runner manager of tenant ${tenant} (job ${props.scrapeJob}) for 15 minutes: ` +
          'the manager pod does not exist, or the PodMonitor is not selected by Prometheus. Nothing else of this tenant can alert then.',
      ),
      rule(
        'GitLabRunnerSaturated',
        'warning',
        saturated,
        '15m',
        `GitLab Runner of tenant ${tenant} has run at its concurrent limit for 15 minutes`,
        `The runner of tenant ${tenant} has been running as many jobs as its concurrent setting allows for 15 minutes; ` +
          'further jobs wait in GitLab\'s queue until a slot frees up.',
      ),
      rule(
        'GitLabRunnerJobFailureRate',
        'warning',
        `(\n  ${failed}\n/\n  sum by (tenant) (increase(gitlab_runner_jobs_total{${runner}}[30m]))\n) > ${FAILURE_RATIO}\nand\n  ${failed} >= ${FAILURE_MIN_COUNT}`,
        '15m',
        `Many jobs of tenant ${tenant} fail for reasons other than their script`,
        `More than ${FAILURE_RATIO * 100}% of the jobs the runner of tenant ${tenant} started in the last 30 minutes failed with a ` +
          'failure reason other than script_failure (system failures, image pulls, timeouts): a platform problem rather than the projects\' code.',
      ),
      rule(
        'GitLabRunnerQuotaNearlyExhausted',
        'warning',
        `(\n  max by (namespace, resourcequota, resource) (kube_resourcequota{${quota}, type="used"})\n/ on (namespace, resourcequota, resource)\n  ` +
          `(max by (namespace, resourcequota, resource) (kube_resourcequota{${quota}, type="hard"}) > 0)\n) >= ${QUOTA_RATIO}\nunless on ()\n  (${saturated})`,
        '15m',
        `ResourceQuota {{ $labels.namespace }}/{{ $labels.resourcequota }} of tenant ${tenant} is nearly exhausted`,
        `{{ $labels.resource }} of ResourceQuota {{ $labels.namespace }}/{{ $labels.resourcequota }} (tenant ${tenant}) has been at least ` +
          `${QUOTA_RATIO * 100}% used for 15 minutes while the runner is below its concurrent limit: new job pods are refused once it is full.`,
      ),
    ],
  };
}

/**
 * The PrometheusRule of one tenant. Its props are flat (no configuration objects), so the caller
 * decides names and namespaces (TenantChart).
 */
export class TenantAlerts extends Construct {
  public readonly group: AlertGroup;

  constructor(scope: Construct, id: string, props: TenantAlertsProps) {
    super(scope, id);
    this.group = tenantAlertGroup(props);
    new PrometheusRule(this, 'Rule', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        groups: [{
          name: this.group.name,
          rules: this.group.rules.map((r) => ({ ...r, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })),
        }],
      },
    });
  }
}
