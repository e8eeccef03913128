import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { TenantConfig } from '../model/resolve';
import { Platform } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { KanikoCache } from './kaniko-cache';
import { tenantLabels } from '../model/labels';
import { isolationProps, kanikoCacheProps, tenantAlertsProps, tenantRunnerProps, tenantSecretsProps } from './tenant-props';
import { TenantIsolation } from './tenant-isolation';
import { TenantRunner } from './tenant-runner';
import { TenantSecrets } from './tenant-secrets';
import { TenantAlerts } from './tenant-alerts';

export interface TenantChartProps {
  readonly platform: Platform;
  readonly tenant: TenantConfig;
}

/** What the engine needs to know of a tenant's chart, as plain data (no re-reading of objects). */
export interface TenantChartFacts {
  /** Namespaces the tenant's objects live in, the manager's first. */
  readonly namespaces: readonly string[];
  /** `hard` of the ResourceQuota of the job pods. */
  readonly jobQuota: Readonly<Record<string, string>>;
}

/**
 * Everything one tenant needs, in one chart: the only place that wires TenantIsolation,
 * KanikoCache, TenantSecrets and TenantRunner together, and (through tenant-props.ts) the only
 * place configuration becomes construct props. Charts never depend on each other, so adding a
 * tenant adds a folder and renames nothing.
 */
export class TenantChart extends Chart {
  public readonly isolation: TenantIsolation;
  public readonly cache: KanikoCache;
  public readonly secrets: TenantSecrets;
  public readonly runner: TenantRunner;
  /** The tenant's PrometheusRule; undefined with `monitoring.alerts.enabled` false. */
  public readonly alerts?: TenantAlerts;

  constructor(scope: Construct, id: string, props: TenantChartProps) {
    // Every object gets an explicit name (the construct ids are not part of any name).
    super(scope, id, { labels: tenantLabels(props.tenant.name), disableResourceNameHashes: true });
    const { platform, tenant } = props;
    const delivery = new DeliveryPolicy(platform.gitops.tool);
    this.isolation = new TenantIsolation(this, 'Isolation', isolationProps(platform, tenant, delivery));
    this.cache = new KanikoCache(this, 'Cache', kanikoCacheProps(platform, tenant, this.isolation));
    this.secrets = new TenantSecrets(this, 'Secrets', tenantSecretsProps(tenant, this.isolation, this.cache, delivery));
    this.runner = new TenantRunner(this, 'Runner', tenantRunnerProps(platform, tenant, { isolation: this.isolation, cache: this.cache, secrets: this.secrets }, delivery));
    // Alerts (docs/alerts.md): one PrometheusRule in the tenant's own folder and namespace.
    if (platform.monitoring.alerts.enabled) {
      this.alerts = new TenantAlerts(this, 'Alerts', tenantAlertsProps(platform, tenant, this.isolation, delivery));
    }
  }

  /** The facts the engine's summary and delivery objects need, from the constructs' own data. */
  public get facts(): TenantChartFacts {
    return { namespaces: this.isolation.namespaces, jobQuota: this.isolation.jobQuota };
  }
}
