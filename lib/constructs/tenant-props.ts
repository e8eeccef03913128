/**
 * The one mapping from configuration (platform and resolved tenant) to the props of each L3
 * construct. Constructs never see `Platform` or `TenantConfig`: what they need is named in their
 * props, and this module is where a configuration key turns into a prop.
 */
import type { TenantConfig } from '../model/resolve';
import { Platform } from '../config/schema';
import { DeliveryPolicy } from '../gitops/gitops-chart';
import { LINK_LOCAL_CIDRS } from '../model/network';
import { EnterpriseNetwork } from './enterprise-network';
import { requiredSecrets } from '../model/secrets';
import { KanikoCache, KanikoCacheProps } from './kaniko-cache';
import { TenantAlertsProps } from './tenant-alerts';
import { EgressDestination } from './network-policies';
import { TenantIsolation, TenantIsolationProps } from './tenant-isolation';
import { TenantRunnerProps } from './tenant-runner';
import { TenantSecrets, TenantSecretsProps } from './tenant-secrets';

/** The port of the GitLab URL (443 unless the URL names one). */
export function httpsPort(url: string): number {
  const port = new URL(url).port;
  return port ? Number(port) : 443;
}

/**
 * Address ranges no ipBlock of a tenant's pods may include: the cluster's pod, Service and node
 * networks (other tenants' pods, kubelets), link-local (cloud metadata, Pod Identity Agent) and,
 * unless the rule is the manager's own API server rule, the API server endpoints.
 */
export function blockedRanges(platform: Platform, apiServer = true): string[] {
  return [...platform.kubernetes.clusterCidrs, ...LINK_LOCAL_CIDRS, ...(apiServer ? platform.kubernetes.apiServerCidrs : [])];
}

/** Where the tenant's pods reach S3 (and STS). */
export function s3Egress(platform: Platform): EgressDestination {
  return { cidrs: platform.s3.egressCidrs, ports: platform.s3.egressPorts };
}

/** The tenant's CA bundle and proxy in effect (docs/enterprise-network.md). */
export function enterpriseNetwork(platform: Platform, tenant: TenantConfig): EnterpriseNetwork {
  return new EnterpriseNetwork(tenant.network, blockedRanges(platform));
}

export function isolationProps(platform: Platform, tenant: TenantConfig, delivery: DeliveryPolicy): TenantIsolationProps {
  const { layout } = tenant;
  return {
    tenantName: tenant.name,
    namespace: layout.managerNamespace,
    jobNamespace: layout.jobNamespace,
    sharedNamespace: layout.shared,
    names: layout.names,
    // The project's kubernetes.io/arch selector (only when nodes.architecture is set) besides the tenant's labels.
    nodeLabels: { ...tenant.nodes.labels, ...tenant.runnerImages.nodeSelector },
    nodeTaints: tenant.nodes.taints,
    managers: layout.workloadKind === 'DaemonSet' ? tenant.nodes.maxNodes : 1,
    gitlabEgress: { cidrs: platform.gitlab.egressCidrs, ports: [httpsPort(platform.gitlab.url)] },
    s3Egress: s3Egress(platform),
    registryEgress: { cidrs: platform.registry.egressCidrs, ports: platform.registry.egressPorts },
    apiServerEgress: { cidrs: platform.kubernetes.apiServerCidrs, ports: platform.kubernetes.apiServerPorts },
    // The API server's CIDRs (apiServerEgress) are excepted too, except in the manager's API server rule.
    excludedRanges: blockedRanges(platform, false),
    dns: platform.kubernetes.dns,
    extraEgress: tenant.egress.extra,
    podIdentityAgentEgress: tenant.cache.s3.auth.type === 'podIdentity',
    monitoringNamespace: platform.monitoring.namespace,
    concurrent: tenant.concurrent,
    jobResources: tenant.runners.map((r) => r.resources),
    servicesPerJob: tenant.quota.servicesPerJob,
    quotaOverrides: tenant.quota.hard,
    managerResources: platform.runner.resources,
    cacheRegistryResources: tenant.cache.kaniko.mode === 's3' ? platform.kaniko.cacheRegistry.resources : undefined,
    delivery,
    network: enterpriseNetwork(platform, tenant),
  };
}

export function kanikoCacheProps(platform: Platform, tenant: TenantConfig, isolation: TenantIsolation): KanikoCacheProps {
  const { s3 } = tenant.cache;
  return {
    tenantName: tenant.name,
    isolation,
    mode: tenant.cache.kaniko.mode,
    cacheRepo: tenant.kanikoCacheRepo,
    pushSecretName: tenant.kanikoPushSecretName,
    kanikoImage: platform.kaniko.image,
    bucket: s3.bucket,
    region: platform.s3.region,
    endpoint: platform.s3.endpoint,
    pathStyle: platform.s3.pathStyle,
    encryption: s3.encryption,
    auth: s3.auth,
    s3Egress: s3Egress(platform),
    excludedRanges: blockedRanges(platform),
    cacheRegistry: platform.kaniko.cacheRegistry,
    network: enterpriseNetwork(platform, tenant),
  };
}

export function tenantSecretsProps(tenant: TenantConfig, isolation: TenantIsolation, cache: KanikoCache, delivery: DeliveryPolicy): TenantSecretsProps {
  return {
    isolation,
    source: tenant.secrets,
    required: requiredSecrets(tenant, cache.pushSecretName, { manager: isolation.namespace, jobs: isolation.jobNamespace }),
    delivery,
  };
}

export function tenantRunnerProps(
  platform: Platform,
  tenant: TenantConfig,
  wiring: { isolation: TenantIsolation; cache: KanikoCache; secrets: TenantSecrets },
  delivery: DeliveryPolicy,
): TenantRunnerProps {
  const { runner, monitoring } = platform;
  return {
    tenantName: tenant.name,
    ...wiring,
    gitlabUrl: platform.gitlab.url,
    concurrent: tenant.concurrent,
    // Platform feature flags under each runner's own.
    runners: tenant.runners.map((r) => ({ ...r, featureFlags: { ...runner.featureFlags, ...r.featureFlags } })),
    tokenSecretName: tenant.tokenSecretName,
    imagePullSecrets: tenant.imagePullSecrets,
    image: tenant.runnerImages.image,
    helperImage: tenant.runnerImages.helperImage,
    helperRunAsUser: runner.helperRunAsUser,
    checkInterval: runner.checkInterval,
    logLevel: runner.logLevel,
    logFormat: runner.logFormat,
    shutdownTimeoutSeconds: runner.shutdownTimeoutSeconds,
    managerResources: runner.resources,
    workloadKind: tenant.layout.workloadKind,
    podMonitorLabels: monitoring.podMonitorLabels,
    scrapeInterval: monitoring.scrapeInterval,
    delivery,
    podSettings: tenant.pods,
    network: enterpriseNetwork(platform, tenant),
  };
}

export function tenantAlertsProps(platform: Platform, tenant: TenantConfig, isolation: TenantIsolation, delivery: DeliveryPolicy): TenantAlertsProps {
  const { monitoring } = platform;
  const { names, namespace } = isolation;
  return {
    tenant: tenant.name,
    namespace,
    name: names.prometheusRule,
    labels: monitoring.alerts.labels ?? monitoring.podMonitorLabels,
    scrapeJob: `${namespace}/${names.podMonitor}`,
    quotas: isolation.quotas,
    runbookUrl: monitoring.alerts.runbookUrl,
    delivery,
  };
}
