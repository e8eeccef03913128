/**
 * The synth engine: configuration → files of `dist/`, handed to one sink as they are produced.
 *
 *   clusters ──► TenantSynthesizer (this thread, or worker threads) ──► tenant files ──┐
 *            └─► cluster-level files (shared namespace, delivery objects, summary) ────┴─► OutputSink
 *
 * The sink is the StagedWriter for `dist/` (the one write path) or an in-memory list (diff, tests).
 * Nothing reaches `dist/` before every tenant synthesized and every check passed.
 */
import { App } from 'cdk8s';
import type { ClusterConfig, LoadedConfig } from '../model/resolve';
import { MONITORING_DIR, monitoringObjects } from '../constructs/monitoring-chart';
import { SharedNamespaceChart, SHARED_DIR } from '../constructs/shared-namespace-chart';
import { clusterDeliveryFiles } from '../gitops/gitops-chart';
import { SecretMaterialError, secretMaterialIn } from '../guards/secret-material';
import { ClusterSummary, renderSummary } from '../render/summary';
import { DuplicatePathError, ManifestObject, objectFileName, OutputFile, toYaml } from './output';
import { OutputSink, StagedFile, StagedWriter, StagedWriterOptions, StageTarget, WriteOptions, WriteResult } from './staged-writer';
import { SynthCache, TenantFacts } from './synth-cache';
import { deliveredFacts, synthesizeTenantOutput, TenantOutput, withSharedFacts } from './tenant-output';

// The engine's vocabulary, so callers of the synth wing need one import.
export type { ManifestObject, OutputFile } from './output';
export { objectFileName, toYaml } from './output';
export type { TenantOutput } from './tenant-output';
export { synthesizeTenant, synthesizeTenantOutput } from './tenant-output';
export { SecretMaterialError, secretMaterialIn } from '../guards/secret-material';
export { RemovalRefusedError, tenantUnits, unitOfPath } from './removal-guard';
export { readTree } from './tree';
export type { WriteOptions, WriteResult } from './staged-writer';

/**
 * A tenant's output whose files another thread already staged (`staged`: paths and statuses,
 * `files` empty), or an ordinary one with its files.
 */
export type StagedTenantOutput = TenantOutput & { readonly staged?: readonly StagedFile[] };

/**
 * Produces the outputs of a cluster's tenants: `onOutputs` receives them (files included) as they
 * are done, in any order; the returned list is in configuration order and may hold no files.
 * Given `stage`, a synthesizer may stage the files itself and hand over `staged` entries instead.
 */
export interface TenantSynthesizer {
  synthesize(config: ClusterConfig, prefix: string, onOutputs: (outputs: readonly StagedTenantOutput[]) => void, stage?: StageTarget): TenantFacts[];
}

/** Every tenant in this thread, one after the other. */
export const inThisThread: TenantSynthesizer = {
  synthesize(config, prefix, onOutputs) {
    return config.tenants.map((tenant) => {
      const output = withSharedFacts(synthesizeTenantOutput(config.platform, tenant, prefix));
      onOutputs([output]);
      return { ...output, files: [] };
    });
  },
};

export interface SynthesizeOptions {
  readonly synthesizer?: TenantSynthesizer;
  /** Reuses tenants whose input did not change since the last synth into the same folder. */
  readonly cache?: SynthCache;
  /** Called as tenants are done: tenants done so far, tenants in all. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Hands every file of `dist/` to `sink`: per cluster (a folder of its own when there are several),
 * one folder per tenant with one object per file (`<kind>-<name>.yaml`), the tenant's Kaniko CI
 * template in `ci/<tenant>/`, the delivery objects in `_gitops/`, and a `README.md` summary.
 * Throws SecretMaterialError after the last file when any object holds secret material.
 */
export function synthesizeInto(sink: OutputSink, clusters: readonly ClusterConfig[], options: SynthesizeOptions = {}): void {
  const synthesizer = options.synthesizer ?? inThisThread;
  const total = clusters.reduce((n, c) => n + c.tenants.length, 0);
  let done = 0;
  const summaries: ClusterSummary[] = [];
  const findings: string[] = [];
  for (const config of clusters) {
    const prefix = config.cluster ? `${config.cluster}/` : '';
    const outputs = synthesizeCluster(sink, config, prefix, synthesizer, options.cache, (batch: readonly StagedTenantOutput[]) => {
      for (const output of batch) {
        findings.push(...output.findings);
        // Nothing more is staged once secret material was found: the synth fails anyway.
        if (findings.length === 0) {
          if (output.staged) sink.addStaged!(output.staged);
          else sink.add(output.files);
        }
      }
      done += batch.length;
      options.onProgress?.(done, total);
    });
    const delivered = outputs.map((o) => o.delivered);
    if (config.platform.architecture.variant === 'sharedNamespace') {
      const unit = `${prefix}${SHARED_DIR}`;
      const shared = new SharedNamespaceChart(new App({ outdir: '/nonexistent' }), 'shared', { platform: config.platform, tenants: config.tenants });
      const objects = shared.toJson() as ManifestObject[];
      sink.add(objects.map((object) => ({ path: `${unit}/${objectFileName(object)}`, content: toYaml(object), unit })));
      // The shared namespace comes first: every tenant's objects live in it.
      delivered.unshift(deliveredFacts(config.platform, 'shared', unit, objects, shared.facts));
    }
    const deliveryFiles: OutputFile[] = [];
    // The platform's Grafana dashboard, in [<cluster>/]_monitoring/ (synced with the monitoring stack).
    for (const object of monitoringObjects(config.platform) as ManifestObject[]) {
      findings.push(...secretMaterialIn(object).map((finding) => `${prefix}${MONITORING_DIR}: ${finding}`));
      deliveryFiles.push({ path: `${prefix}${MONITORING_DIR}/${objectFileName(object)}`, content: toYaml(object) });
    }
    for (const { path: file, content, unit, object } of clusterDeliveryFiles(config.platform, config.cluster, delivered)) {
      findings.push(...secretMaterialIn(object as ManifestObject).map((finding) => `${file}: ${finding}`));
      deliveryFiles.push({ path: file, content, unit });
    }
    if (findings.length === 0) sink.add(deliveryFiles);
    summaries.push({ cluster: config.cluster, platform: config.platform });
  }
  // Checked before anything is written: one finding anywhere and dist/ stays as it was.
  if (findings.length > 0) throw new SecretMaterialError(findings);
  sink.add([{ path: 'README.md', content: renderSummary(summaries) }]);
}

/**
 * The outputs of one cluster's tenants in configuration order: tenants the cache can reuse are
 * kept as they are on disk; the others go to the synthesizer, and `onOutputs` gets them as they are done.
 */
function synthesizeCluster(
  sink: OutputSink,
  config: ClusterConfig,
  prefix: string,
  synthesizer: TenantSynthesizer,
  cache: SynthCache | undefined,
  onOutputs: (outputs: readonly StagedTenantOutput[]) => void,
): TenantFacts[] {
  // Files staged by the synthesizer itself need a sink that takes them so.
  const stage = sink.addStaged ? sink.stageTarget : undefined;
  if (!cache || !sink.keep) return synthesizer.synthesize(config, prefix, onOutputs, stage);
  const platformJson = JSON.stringify(config.platform);
  const facts: TenantFacts[] = new Array(config.tenants.length);
  const inputs = new Map<string, string>();
  const todo: number[] = [];
  const reused: TenantOutput[] = [];
  config.tenants.forEach((tenant, index) => {
    const unit = `${prefix}${tenant.name}`;
    const input = cache.inputHash(prefix, platformJson, tenant);
    const hit = cache.reusable(unit, input);
    if (!hit) {
      inputs.set(unit, input);
      todo.push(index);
      return;
    }
    sink.keep!(hit.files.map((path) => ({ path, unit })));
    facts[index] = hit.facts;
    reused.push({ ...hit.facts, files: [] });
  });
  if (reused.length > 0) onOutputs(reused);
  if (todo.length === 0) return facts;
  const recorded = (outputs: readonly StagedTenantOutput[]) => {
    for (const output of outputs) {
      const { files, staged, ...rest } = output;
      const paths: readonly { path: string; unit?: string }[] = staged ?? files;
      const unit = paths.find((f) => f.unit)?.unit ?? '';
      cache.record(unit, inputs.get(unit) ?? '', paths.length, rest);
    }
    onOutputs(outputs);
  };
  const synthesized = synthesizer.synthesize({ ...config, tenants: todo.map((i) => config.tenants[i]) }, prefix, recorded, stage);
  todo.forEach((index, k) => (facts[index] = synthesized[k]));
  return facts;
}

/** Collects files in memory (for `diff` and tests); `files()` are sorted by path. */
export class MemorySink implements OutputSink {
  private readonly all: OutputFile[] = [];
  private readonly seen = new Set<string>();

  public add(files: readonly OutputFile[]): void {
    for (const file of files) {
      if (this.seen.has(file.path)) throw new DuplicatePathError(file.path);
      this.seen.add(file.path);
      this.all.push(file);
    }
  }

  public files(): OutputFile[] {
    return this.all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

/** Every file of `dist/` for these clusters, in memory, sorted by path. */
export function synthesizeClusters(clusters: readonly ClusterConfig[], synthesizer?: TenantSynthesizer): OutputFile[] {
  const sink = new MemorySink();
  synthesizeInto(sink, clusters, { synthesizer });
  return sink.files();
}

/** Every file of `dist/` for a single-cluster configuration. */
export function synthesize(config: LoadedConfig): OutputFile[] {
  return synthesizeClusters([config]);
}

export interface WriteDirectoryOptions extends SynthesizeOptions, WriteOptions, StagedWriterOptions {}

/**
 * Synthesizes `clusters` into `outDir` through the StagedWriter: the write path of the synth
 * command. On any failure `outDir` keeps its content.
 */
export function synthesizeToDirectory(clusters: readonly ClusterConfig[], outDir: string, options: WriteDirectoryOptions = {}): { files: number; result: WriteResult } {
  const writer = StagedWriter.open(outDir, options);
  try {
    return synthesizeAndCommit(writer, clusters, options);
  } finally {
    writer.abort();
  }
}

/**
 * Synthesizes `clusters` into an open StagedWriter and commits it (the synth command opens the
 * writer before loading the configuration, so workers can stage tenants while it loads). The
 * caller aborts the writer on failure.
 */
export function synthesizeAndCommit(writer: StagedWriter, clusters: readonly ClusterConfig[], options: SynthesizeOptions & WriteOptions = {}): { files: number; result: WriteResult } {
  synthesizeInto(writer, clusters, options);
  const files = writer.fileCount;
  const result = writer.commit(options);
  options.cache?.save(writer.files());
  return { files, result };
}

/** Writes exactly `files` to `outDir` through the StagedWriter (tests and tools with ready files). */
export function writeOutput(outDir: string, files: readonly OutputFile[], options: WriteOptions = {}): WriteResult {
  const writer = StagedWriter.open(outDir);
  try {
    writer.add(files);
    return writer.commit(options);
  } finally {
    writer.abort();
  }
}
