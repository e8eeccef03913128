import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { TenantConfig } from '../model/resolve';
import { Platform } from '../config/schema';
import { annotateForDelivery } from '../gitops/gitops-chart';
import { KanikoCache } from './kaniko-cache';
import { tenantLabels } from '../model/labels';
import { TenantIsolation } from './tenant-isolation';
import { TenantRunner } from './tenant-runner';
import { TenantSecrets } from './tenant-secrets';
import { TenantAlerts } from './tenant-alerts';

export interface TenantChartProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
}

/**
 * Everything one tenant needs, in one chart: the only place that wires TenantIsolation,
 * KanikoCache, TenantSecrets and TenantRunner together. Charts never depend on each other, so
 * adding a tenant adds a folder and renames nothing.
 */
export class TenantChart extends Chart {
  public readonly isolation: TenantIsolation;
  public readonly cache: KanikoCache;
  public readonly secrets: TenantSecrets;
  public readonly runner: TenantRunner;

  constructor(scope: Construct, id: string, props: TenantChartProps) {
    // Every object gets an explicit name (the construct ids are not part of any name).
    super(scope, id, { labels: tenantLabels(props.tenant.name), disableResourceNameHashes: true });
    const { platform, tenant } = props;
    this.isolation = new TenantIsolation(this, 'Isolation', { platform, tenant });
    this.cache = new KanikoCache(this, 'Cache', { platform, tenant, isolation: this.isolation });
    this.secrets = new TenantSecrets(this, 'Secrets', { tenant, isolation: this.isolation, cache: this.cache });
    this.runner = new TenantRunner(this, 'Runner', { platform, tenant, isolation: this.isolation, cache: this.cache, secrets: this.secrets });
    // Alerts (docs/alerts.md): one PrometheusRule in the tenant's own folder and namespace.
    const { monitoring } = platform;
    if (monitoring.alerts.enabled) {
      const { names, namespace, jobNamespace } = this.isolation;
      new TenantAlerts(this, 'Alerts', {
        tenant: tenant.name,
        namespace,
        name: names.prometheusRule,
        labels: monitoring.alerts.labels ?? monitoring.podMonitorLabels,
        scrapeJob: `${namespace}/${names.podMonitor}`,
        quotas: [...new Set([namespace, jobNamespace])].map((ns) => ({ namespace: ns, name: names.resourceQuota })),
        runbookUrl: monitoring.alerts.runbookUrl,
      });
    }
    annotateForDelivery(this, platform.gitops.tool);
  }
}
