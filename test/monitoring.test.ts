/**
 * Alerts and dashboard (docs/alerts.md): the rendered rule groups pass `promtool check rules`,
 * promtool unit tests built from each tenant's own objects prove every alert fires and resolves,
 * and every query of rules and dashboard uses only metrics and labels gitlab-runner 19.x,
 * kube-state-metrics or Prometheus itself export.
 *
 * promtool comes from Debian's `prometheus` package (.ci/run installs it). Without it the promtool
 * tests are skipped locally, and fail under CI=true.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadClusters } from '../lib/config/load';
import type { LoadedConfig } from '../lib/model/resolve';
import { PlatformSchema } from '../lib/config/schema';
import { DASHBOARD_NAME, MONITORING_DIR } from '../lib/constructs/monitoring-chart';
import { ALERT_NAMES } from '../lib/constructs/tenant-alerts';
import { synthesizeClusters, synthesizeTenant } from '../lib/synth/engine';
import { allTenants, Any, CONFIG_DIRS, find, isExtra, ofKind, ROOT, SynthesizedTenant } from './support/synth';
import { validateObject } from './support/validate';

// ---------------------------------------------------------------------------------------------
// What the exporters export. Sources: gitlab-runner 19.x `commands/builds_helper.go` (jobs, jobs_total,
// job_duration_seconds, request_concurrency_exceeded_total), `commands/multi.go` (concurrent),
// `helpers/prometheus/failures_collector.go` (failed_jobs_total), `helpers/prometheus/log_hook.go`
// (errors_total), and the metric table of GitLab's runner docs (fleet scaling, "Monitoring runners");
// kube-state-metrics docs/metrics/policy/resourcequota-metrics.md; Prometheus' own `up`.
// ---------------------------------------------------------------------------------------------
const EXPORTED: Record<string, { labels: string[]; source: string }> = {
  up: { labels: [], source: 'Prometheus, one series per scrape target' },
  gitlab_runner_jobs: { labels: ['runner', 'runner_name', 'system_id', 'state', 'stage', 'executor_stage'], source: 'gitlab-runner builds_helper.go numBuildsDesc (gauge; an idle series of 0 per runner)' },
  gitlab_runner_jobs_total: { labels: ['runner', 'runner_name', 'system_id'], source: 'gitlab-runner builds_helper.go jobsTotal (counter of started jobs)' },
  gitlab_runner_job_duration_seconds: { labels: ['runner', 'runner_name', 'system_id'], source: 'gitlab-runner builds_helper.go jobDurationHistogram (histogram, 30 s … 36000 s)' },
  gitlab_runner_concurrent: { labels: [], source: 'gitlab-runner multi.go concurrentDesc (gauge)' },
  gitlab_runner_failed_jobs_total: { labels: ['runner', 'runner_name', 'failure_reason', 'mode'], source: 'gitlab-runner failures_collector.go (counter per failure_reason)' },
  gitlab_runner_errors_total: { labels: ['level'], source: 'gitlab-runner log_hook.go (counter of warning/error log lines)' },
  gitlab_runner_request_concurrency_exceeded_total: { labels: ['runner', 'system_id'], source: 'gitlab-runner builds_helper.go requestConcurrencyExceededDesc (counter)' },
  kube_resourcequota: { labels: ['namespace', 'resourcequota', 'resource', 'type'], source: 'kube-state-metrics resourcequota metrics (type hard|used)' },
};
/** Labels Prometheus (and the PodMonitor's relabeling: tenant) puts on every scraped series. */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'tenant'];
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** Metric names and the label names used with them in a PromQL expression (a small scanner, not a parser). */
export function promqlUse(expr: string): { metrics: string[]; matcherLabels: [string, string][]; groupingLabels: string[] } {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const matcherLabels: [string, string][] = [];
  for (const m of noStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) matcherLabels.push([m[1], l[1]]);
  }
  const groupingLabels = [...noStrings.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((s) => s.trim()).filter(Boolean));
  const bare = noStrings
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const metrics = [...bare.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]).filter((w) => !KEYWORDS.has(w.toLowerCase()));
  return { metrics: [...new Set(metrics)], matcherLabels, groupingLabels: [...new Set(groupingLabels)] };
}

/** The exported metric a name refers to (histogram series map to their histogram). */
function exportedMetric(name: string): string | undefined {
  if (EXPORTED[name]) return name;
  const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
  const base = suffix ? name.slice(0, -suffix.length) : undefined;
  return base && EXPORTED[base] && base.endsWith('_seconds') ? base : undefined;
}

/** Problems of one expression against the allow list; empty when it uses only exported metrics and labels. */
function unexportedUse(expr: string): string[] {
  const use = promqlUse(expr);
  const problems: string[] = [];
  const known = new Set([...TARGET_LABELS, 'le']);
  for (const name of use.metrics) {
    const metric = exportedMetric(name);
    if (!metric) problems.push(`${name}: not exported by gitlab-runner 19.x, kube-state-metrics or Prometheus (allow list in test/monitoring.test.ts)`);
    else for (const l of EXPORTED[metric].labels) known.add(l);
  }
  for (const [name, label] of use.matcherLabels) {
    const metric = exportedMetric(name);
    if (metric && !EXPORTED[metric].labels.includes(label) && !TARGET_LABELS.includes(label) && label !== 'le') problems.push(`${name}{${label}}: ${metric} has no label ${label}`);
  }
  for (const label of use.groupingLabels) if (!known.has(label)) problems.push(`by/on (${label}): no metric of the expression has label ${label}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// promtool
// ---------------------------------------------------------------------------------------------
// PROMTOOL names another binary (or a missing one, to see the CI failure).
const PROMTOOL_BIN = process.env.PROMTOOL ?? 'promtool';
const PROMTOOL = spawnSync(PROMTOOL_BIN, ['--version'], { encoding: 'utf8' }).status === 0 ? PROMTOOL_BIN : undefined;
const IN_CI = process.env.CI === 'true';
/** Runs when promtool is installed; fails (instead of skipping) under CI=true without it. */
const withPromtool = PROMTOOL || IN_CI ? test : test.skip;

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  if (!PROMTOOL) throw new Error('promtool is not installed, but CI=true: .ci/run must install Debian\'s prometheus package before npm test');
  const run = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
if (!process.env.KEEP_PROMTOOL_DIR) afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Unit tests for one tenant, from its own objects (PodMonitor, ResourceQuotas, config.toml concurrent)
// ---------------------------------------------------------------------------------------------
type Labels = Record<string, string>;
const series = (name: string, labels: Labels, values: string) => ({
  series: `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`,
  values,
});

/** `{{ $labels.x }}` of an annotation, as Prometheus expands it for these labels. */
function expand(template: string, labels: Labels): string {
  return template.replace(/\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_m, l: string) => labels[l] ?? '');
}

function unitTests(t: SynthesizedTenant, rule: Any, ruleFile: string) {
  const { tenant, objects, layout } = t;
  const rules: Any[] = rule.spec.groups.flatMap((g: Any) => g.rules);
  const byName = (alert: string) => rules.find((r) => r.alert === alert);
  const monitor = find(objects, 'PodMonitor', layout.names.podMonitor);
  const job = `${monitor.metadata.namespace}/${monitor.metadata.name}`;
  const quota = ofKind(objects, 'ResourceQuota')[0];
  const concurrent = tenant.concurrent;
  const target = { job, tenant: tenant.name, namespace: monitor.metadata.namespace, pod: `${layout.names.workload}-7d9f8c6b5-x2x4q`, instance: '10.244.1.17:9252', container: 'gitlab-runner', endpoint: 'metrics' };
  const runnerSeries = { ...target, runner: 'aB3dE5fG', runner_name: tenant.runners[0].name, system_id: 's_0123456789ab' };
  const jobs = (values: string) => series('gitlab_runner_jobs', { ...runnerSeries, state: 'running', stage: 'step_script', executor_stage: 'docker_run' }, values);
  const concurrentSeries = (values: string) => series('gitlab_runner_concurrent', target, values);
  const quotaSeries = (type: string, values: string) =>
    series('kube_resourcequota', { job: 'kube-state-metrics', instance: '10.244.0.5:8080', namespace: quota.metadata.namespace, resourcequota: quota.metadata.name, resource: 'requests.cpu', type }, values);

  const alert = (name: string, labels: Labels) => {
    const r = byName(name);
    const all = { ...labels, ...r.labels };
    return { exp_labels: all, exp_annotations: Object.fromEntries(Object.entries(r.annotations as Labels).map(([k, v]) => [k, expand(v, { ...all, alertname: name })])) };
  };
  const at = (eval_time: string, alertname: string, exp: Labels | undefined) => ({ eval_time, alertname, exp_alerts: exp ? [alert(alertname, exp)] : [] });
  const quotaLabels = { namespace: quota.metadata.namespace, resourcequota: quota.metadata.name, resource: 'requests.cpu' };

  return {
    rule_files: [ruleFile],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'GitLabRunnerDown: up 0 for 5 minutes fires, up 1 resolves',
        interval: '1m',
        input_series: [series('up', target, '1x10 0x20 1x10')],
        alert_rule_test: [at('10m', 'GitLabRunnerDown', undefined), at('14m', 'GitLabRunnerDown', undefined), at('20m', 'GitLabRunnerDown', target), at('40m', 'GitLabRunnerDown', undefined)],
      },
      {
        name: 'GitLabRunnerNotScraped: no up series for 15 minutes fires, a target again resolves',
        interval: '1m',
        input_series: [series('up', target, '1x10 _x40 1x10')],
        alert_rule_test: [at('10m', 'GitLabRunnerNotScraped', undefined), at('25m', 'GitLabRunnerNotScraped', undefined), at('45m', 'GitLabRunnerNotScraped', { job, tenant: tenant.name }), at('58m', 'GitLabRunnerNotScraped', undefined)],
      },
      {
        name: 'GitLabRunnerSaturated: running == concurrent for 15 minutes fires, fewer resolves',
        interval: '1m',
        input_series: [jobs(`0x10 ${concurrent}x30 0x10`), concurrentSeries(`${concurrent}x50`)],
        alert_rule_test: [at('10m', 'GitLabRunnerSaturated', undefined), at('20m', 'GitLabRunnerSaturated', undefined), at('35m', 'GitLabRunnerSaturated', {}), at('50m', 'GitLabRunnerSaturated', undefined)],
      },
      {
        // Many script failures alone (the projects' code) never fire; system failures above 20% do.
        name: 'GitLabRunnerJobFailureRate: non-script failures above 20% fire, script failures are ignored, a quiet window resolves',
        interval: '1m',
        input_series: [
          series('gitlab_runner_jobs_total', runnerSeries, '0+10x150'),
          series('gitlab_runner_failed_jobs_total', { ...target, runner: runnerSeries.runner, runner_name: runnerSeries.runner_name, failure_reason: 'script_failure', mode: 'unknown' }, '0+8x150'),
          series('gitlab_runner_failed_jobs_total', { ...target, runner: runnerSeries.runner, runner_name: runnerSeries.runner_name, failure_reason: 'runner_system_failure', mode: 'unknown' }, '0x20 0+5x60 300x70'),
        ],
        alert_rule_test: [at('30m', 'GitLabRunnerJobFailureRate', undefined), at('60m', 'GitLabRunnerJobFailureRate', {}), at('140m', 'GitLabRunnerJobFailureRate', undefined)],
      },
      {
        name: 'GitLabRunnerQuotaNearlyExhausted: >= 90% for 15 minutes fires, less resolves',
        interval: '1m',
        input_series: [quotaSeries('hard', '14x90'), quotaSeries('used', '1x10 13.5x40 1x40'), jobs('0x90'), concurrentSeries(`${concurrent}x90`)],
        alert_rule_test: [at('10m', 'GitLabRunnerQuotaNearlyExhausted', undefined), at('20m', 'GitLabRunnerQuotaNearlyExhausted', undefined), at('40m', 'GitLabRunnerQuotaNearlyExhausted', quotaLabels), at('70m', 'GitLabRunnerQuotaNearlyExhausted', undefined)],
      },
      {
        name: 'GitLabRunnerQuotaNearlyExhausted: silent while the runner is saturated (GitLabRunnerSaturated covers it)',
        interval: '1m',
        input_series: [quotaSeries('hard', '14x90'), quotaSeries('used', '13.5x90'), jobs(`0x40 ${concurrent}x50`), concurrentSeries(`${concurrent}x90`)],
        alert_rule_test: [at('30m', 'GitLabRunnerQuotaNearlyExhausted', quotaLabels), at('60m', 'GitLabRunnerQuotaNearlyExhausted', undefined)],
      },
    ],
  };
}

const rows = allTenants();
const prometheusRule = (t: SynthesizedTenant) => find(t.objects, 'PrometheusRule', t.layout.names.prometheusRule);

/** Writes rules and unit tests of every tenant into `dir`; returns the file names. */
function writeRuleFiles(dir: string, mutate: (rule: Any) => Any = (r) => r): { rules: string[]; tests: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const files = { rules: [] as string[], tests: [] as string[] };
  rows.forEach(([, t], i) => {
    const rule = mutate(JSON.parse(JSON.stringify(prometheusRule(t))));
    const ruleFile = `${i}-${t.tenant.name}.rules.yaml`;
    fs.writeFileSync(path.join(dir, ruleFile), stringify({ groups: rule.spec.groups }));
    fs.writeFileSync(path.join(dir, `${i}-${t.tenant.name}.test.yaml`), stringify(unitTests(t, rule, ruleFile)));
    files.rules.push(ruleFile);
    files.tests.push(`${i}-${t.tenant.name}.test.yaml`);
  });
  return files;
}

describe('alert rules', () => {
  test('every tenant of every configuration has one PrometheusRule with every alert of docs/alerts.md', () => {
    for (const [, t] of rows) {
      // The tenant's own PrometheusRules (config/tenants/<tenant>/extra/) come on top.
      expect(ofKind(t.objects, 'PrometheusRule').filter((o) => !isExtra(t.tenant, o))).toHaveLength(1);
      expect(prometheusRule(t).spec.groups.flatMap((g: Any) => g.rules.map((r: Any) => r.alert))).toEqual([...ALERT_NAMES]);
    }
  });

  withPromtool('promtool check rules accepts the rendered rule groups of every tenant', () => {
    const dir = path.join(tmp, 'check');
    const { rules } = writeRuleFiles(dir);
    const run = promtool(['check', 'rules', ...rules], dir);
    expect(run.output).not.toMatch(/FAILED/);
    expect(run.status).toBe(0);
    expect(run.output.match(/SUCCESS: 5 rules found/g)).toHaveLength(rows.length);
  });

  withPromtool('promtool test rules: every alert of every tenant fires on its input series and resolves', () => {
    const dir = path.join(tmp, 'unit');
    const { tests } = writeRuleFiles(dir);
    const run = promtool(['test', 'rules', ...tests], dir);
    expect(run.output).not.toMatch(/FAILED/);
    expect(run.status).toBe(0);
    expect(run.output.match(/  SUCCESS/g)).toHaveLength(rows.length);
  });

  withPromtool('the unit tests can fail: a rule with the wrong threshold or selector is caught', () => {
    const dir = path.join(tmp, 'mutated');
    const { tests } = writeRuleFiles(dir, (rule) => {
      for (const r of rule.spec.groups[0].rules) {
        if (r.alert === 'GitLabRunnerJobFailureRate') r.expr = r.expr.replaceAll(', failure_reason!="script_failure"', '');
        if (r.alert === 'GitLabRunnerDown') r.expr = r.expr.replace(/tenant="[^"]+"/, 'tenant="someone-else"');
      }
      return rule;
    });
    const run = promtool(['test', 'rules', tests[0]], dir);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/alertname: GitLabRunnerJobFailureRate/);
    expect(run.output).toMatch(/alertname: GitLabRunnerDown/);
  });

  test.each(rows.map(([label, t]) => [label, t]))('%s: rules use only exported metrics and labels, and carry tenant, severity, summary, description, runbook', (_label, t) => {
    const rule = prometheusRule(t as SynthesizedTenant);
    for (const r of rule.spec.groups[0].rules) {
      expect([r.alert, unexportedUse(r.expr)]).toEqual([r.alert, []]);
      expect(r.labels).toEqual({ severity: expect.stringMatching(/^(critical|warning)$/), tenant: (t as SynthesizedTenant).tenant.name });
      expect(Object.keys(r.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
      expect(r.annotations.runbook_url).toBe(`docs/alerts.md#${r.alert.toLowerCase()}`);
    }
  });

  test('every runbook_url anchor is a heading of docs/alerts.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'alerts.md'), 'utf8');
    const anchors = [...doc.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-'));
    for (const name of ALERT_NAMES) expect(anchors).toContain(name.toLowerCase());
  });
});

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------
describe('monitoring settings', () => {
  const [example] = loadClusters(CONFIG_DIRS.example, { displayBase: ROOT });
  const withMonitoring = (config: LoadedConfig, monitoring: object) =>
    ({ ...config, platform: PlatformSchema.parse({ ...platformInput(config), monitoring }) });
  // The example platform as input (a parsed platform is valid input: defaults filled in).
  function platformInput(config: LoadedConfig): Any {
    return JSON.parse(JSON.stringify(config.platform));
  }

  test('defaults: alerts and dashboard on, rules labelled like the PodMonitor, dashboard for the Grafana sidecar', () => {
    const monitoring = PlatformSchema.parse({ ...platformInput(example), monitoring: { podMonitorLabels: { release: 'kps' } } }).monitoring;
    expect(monitoring.alerts).toEqual({ enabled: true, runbookUrl: 'docs/alerts.md' });
    expect(monitoring.dashboard).toEqual({ enabled: true, labels: { grafana_dashboard: '1' } });
    const t = withMonitoring(example, { podMonitorLabels: { release: 'kps' } });
    const rule = synthesizeTenant(t.platform, t.tenants[0]).find((o) => o.kind === 'PrometheusRule')!;
    expect(rule.metadata.labels).toMatchObject({ release: 'kps' });
  });

  test('alerts.labels, alerts.runbookUrl and dashboard.labels are used; enabled: false writes nothing', () => {
    const custom = withMonitoring(example, {
      namespace: 'observability',
      podMonitorLabels: { release: 'kps' },
      alerts: { labels: { role: 'alert-rules' }, runbookUrl: 'https://gitlab.example.com/platform/tenant-runners/-/blob/main/docs/alerts.md' },
      dashboard: { labels: { grafana_dashboard: 'tenant-runners' } },
    });
    const rule = synthesizeTenant(custom.platform, custom.tenants[0]).find((o) => o.kind === 'PrometheusRule') as Any;
    expect(rule.metadata.labels.role).toBe('alert-rules');
    expect(rule.metadata.labels.release).toBeUndefined();
    expect(rule.spec.groups[0].rules[0].annotations.runbook_url).toBe('https://gitlab.example.com/platform/tenant-runners/-/blob/main/docs/alerts.md#gitlabrunnerdown');
    const dashboard = parse(synthesizeClusters([custom]).find((f) => f.path === `${MONITORING_DIR}/configmap-${DASHBOARD_NAME}.yaml`)!.content);
    expect(dashboard.metadata).toMatchObject({ namespace: 'observability', labels: { grafana_dashboard: 'tenant-runners' } });

    const off = withMonitoring(example, { alerts: { enabled: false }, dashboard: { enabled: false } });
    expect(synthesizeTenant(off.platform, off.tenants[0]).filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
    expect(synthesizeClusters([off]).filter((f) => f.path.includes(MONITORING_DIR))).toEqual([]);
  });

  test('rejects unknown keys and bad values', () => {
    const base = platformInput(example);
    expect(PlatformSchema.safeParse({ ...base, monitoring: { alerts: { enable: true } } }).success).toBe(false);
    expect(PlatformSchema.safeParse({ ...base, monitoring: { dashboard: { labels: { 'bad key!': '1' } } } }).success).toBe(false);
    expect(PlatformSchema.safeParse({ ...base, monitoring: { alerts: { runbookUrl: 'docs/alerts.md#x' } } }).success).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------
describe.each(Object.entries(CONFIG_DIRS))('dashboard of %s', (_label, dir) => {
  const clusters = loadClusters(dir, { displayBase: ROOT });
  const files = synthesizeClusters(clusters);

  test('one dashboard ConfigMap per cluster, in its _monitoring/ folder and monitoring.namespace, labelled for the sidecar', () => {
    const found = files.filter((f) => f.path.includes(`${MONITORING_DIR}/`));
    expect(found.map((f) => f.path)).toEqual(clusters.map((c) => `${c.cluster ? `${c.cluster}/` : ''}${MONITORING_DIR}/configmap-${DASHBOARD_NAME}.yaml`));
    for (const [i, f] of found.entries()) {
      const cm = parse(f.content);
      expect(validateObject(cm)).toEqual([]);
      expect(cm.metadata.namespace).toBe(clusters[i].platform.monitoring.namespace);
      expect(cm.metadata.labels).toMatchObject(clusters[i].platform.monitoring.dashboard.labels);
      expect(Object.keys(cm.data)).toEqual([`${DASHBOARD_NAME}.json`]);
    }
  });

  test('the dashboard JSON parses; a tenant variable from label_values; every panel query uses $tenant and only exported metrics', () => {
    for (const f of files.filter((x) => x.path.includes(`${MONITORING_DIR}/`))) {
      const model = JSON.parse(parse(f.content).data[`${DASHBOARD_NAME}.json`]);
      const tenantVar = model.templating.list.find((v: Any) => v.name === 'tenant');
      expect(tenantVar).toMatchObject({ type: 'query', multi: true, includeAll: true });
      expect(tenantVar.query.query).toMatch(/^label_values\(gitlab_runner_[a-z_]+, tenant\)$/);
      expect(unexportedUse(tenantVar.query.query.replace(/^label_values\((\w+), tenant\)$/, '$1'))).toEqual([]);
      expect(model.panels.length).toBeGreaterThanOrEqual(7);
      const ids = new Set<number>();
      for (const p of model.panels) {
        ids.add(p.id);
        expect(p.targets.length).toBeGreaterThan(0);
        for (const target of p.targets) {
          expect([p.title, target.expr]).toEqual([p.title, expect.stringContaining('$tenant')]);
          expect([p.title, unexportedUse(target.expr)]).toEqual([p.title, []]);
        }
      }
      expect(ids.size).toBe(model.panels.length);
      const titles = model.panels.map((p: Any) => p.title).join('\n');
      for (const wanted of [/running jobs vs concurrent/i, /started.*failed/i, /duration quantiles/i, /errors/i, /quota/i]) expect(titles).toMatch(wanted);
    }
  });
});

test('adding a tenant adds its PrometheusRule in its own folder and changes no monitoring file of another tenant or the dashboard', () => {
  const [example] = loadClusters(CONFIG_DIRS.example, { displayBase: ROOT });
  const without = new Map(synthesizeClusters([{ ...example, tenants: example.tenants.slice(0, 1) }]).map((f) => [f.path, f.content]));
  const added = example.tenants[1].name;
  const changed = synthesizeClusters([example]).filter((f) => without.get(f.path) !== f.content).map((f) => f.path);
  expect(changed).toContain(`${added}/prometheusrule-gitlab-runner.yaml`);
  // Only the new tenant's folder and CI template, the summary and the delivery objects change.
  expect(changed.filter((p) => !p.startsWith(`${added}/`) && !p.startsWith(`ci/${added}/`) && p !== 'README.md' && !p.startsWith('_gitops/'))).toEqual([]);
});

describe('the allow-list check itself', () => {
  test('finds metrics and labels that are not exported', () => {
    expect(unexportedUse('sum by (tenant) (gitlab_runner_jobs{tenant="a"})')).toEqual([]);
    expect(unexportedUse('histogram_quantile(0.9, sum by (le) (rate(gitlab_runner_job_duration_seconds_bucket{tenant=~"$tenant"}[5m])))')).toEqual([]);
    expect(unexportedUse('sum(gitlab_runner_jobs_queued{tenant="a"})')).toEqual([expect.stringMatching(/^gitlab_runner_jobs_queued: not exported/)]);
    expect(unexportedUse('sum(gitlab_runner_failed_jobs_total{reason="x"})')).toEqual([expect.stringMatching(/has no label reason/)]);
    expect(unexportedUse('sum by (stage) (gitlab_runner_concurrent)')).toEqual([expect.stringMatching(/no metric of the expression has label stage/)]);
    expect(unexportedUse('gitlab_runner_jobs_total_bucket')).toEqual([expect.stringMatching(/not exported/)]);
  });
});
