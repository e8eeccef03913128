/**
 * Literal props for the construct tests: every construct is built from these alone, without
 * configuration files, the schema or the loader.
 */
import { Chart, Testing } from 'cdk8s';
import type { ContainerResources, RunnerSpec } from '../../lib/config/schema';
import { KanikoCache, KanikoCacheProps } from '../../lib/constructs/kaniko-cache';
import { TenantIsolation, TenantIsolationProps } from '../../lib/constructs/tenant-isolation';
import { TenantSecrets } from '../../lib/constructs/tenant-secrets';

export const size = (cpu: string, memory: string, limitCpu: string, limitMemory: string): ContainerResources => ({
  requests: { cpu, memory },
  limits: { cpu: limitCpu, memory: limitMemory },
});

export const BUILD = size('500m', '1Gi', '2', '4Gi');
export const HELPER = size('100m', '128Mi', '500m', '256Mi');
export const SERVICE = size('100m', '128Mi', '1', '1Gi');
export const MANAGER = size('100m', '128Mi', '500m', '512Mi');
export const REGISTRY = size('100m', '128Mi', '1', '512Mi');

/** Cluster networks and link-local: the ranges wide ipBlocks must except (`excludedRanges`). */
export const EXCLUDED_RANGES = ['10.96.0.0/12', '169.254.0.0/16'];

export const runner = (name: string, overrides: Partial<RunnerSpec> = {}): RunnerSpec => ({
  name,
  image: 'alpine:3.22',
  limit: 0,
  pollTimeoutSeconds: 180,
  pullPolicy: ['if-not-present'],
  allowedImages: [],
  allowedServices: [],
  environment: {},
  featureFlags: {},
  resources: { build: BUILD, helper: HELPER, service: SERVICE },
  volumes: { emptyDir: [], configMap: [], secret: [], pvc: [], csi: [] },
  ...overrides,
});

export const isolationProps = (overrides: Partial<TenantIsolationProps> = {}): TenantIsolationProps => ({
  tenantName: 'acme',
  namespace: 'acme',
  nodeLabels: { pool: 'acme' },
  nodeTaints: [{ key: 'dedicated', value: 'acme', effect: 'NoSchedule' }],
  gitlabEgress: { cidrs: ['203.0.113.10/32'], ports: [443] },
  s3Egress: { cidrs: ['198.51.100.0/24'], ports: [443] },
  registryEgress: { cidrs: ['192.0.2.0/28'], ports: [443, 5050] },
  apiServerEgress: { cidrs: ['10.0.0.1/32'], ports: [443, 6443] },
  concurrent: 4,
  jobResources: [{ build: BUILD, helper: HELPER, service: SERVICE }],
  managerResources: MANAGER,
  ...overrides,
});

export const cacheProps = (isolation: TenantIsolation, overrides: Partial<KanikoCacheProps> = {}): KanikoCacheProps => ({
  tenantName: 'acme',
  isolation,
  cacheRepo: 'registry.example.com/acme/cache',
  kanikoImage: 'ghcr.io/example/kaniko:v1',
  bucket: 'acme-cache',
  region: 'eu-central-1',
  auth: { type: 'iamRole', roleArn: 'arn:aws:iam::111122223333:role/acme' },
  s3Egress: { cidrs: ['198.51.100.0/24'], ports: [443] },
  cacheRegistry: { image: 'registry:3.0.0', resources: REGISTRY },
  ...overrides,
});

/** A chart with a tenant's isolation, cache and (existing) secrets, the wiring TenantRunner needs. */
export function wired(isolation: Partial<TenantIsolationProps> = {}, cache: Partial<KanikoCacheProps> = {}) {
  const chart: Chart = Testing.chart();
  const iso = new TenantIsolation(chart, 'Isolation', isolationProps(isolation));
  const kaniko = new KanikoCache(chart, 'Cache', cacheProps(iso, cache));
  const secrets = new TenantSecrets(chart, 'Secrets', { isolation: iso });
  return { chart, isolation: iso, cache: kaniko, secrets };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const synth = (chart: Chart): Json[] => Testing.synth(chart);
export const ofKind = (objects: Json[], kind: string): Json[] => objects.filter((o) => o.kind === kind);
export const one = (objects: Json[], kind: string, name?: string): Json => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
};
