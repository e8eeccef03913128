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
import type { ClusterConfig, LoadedConfig } from '../config/load';
import { SharedNamespaceChart, SHARED_DIR } from '../constructs/shared-namespace-chart';
import { GITOPS_DIR, GitOpsChart } from '../gitops/gitops-chart';
import { SecretMaterialError, secretMaterialIn } from '../guards/secret-material';
import { ClusterSummary, renderSummary } from '../render/summary';
import { ManifestObject, objectFileName, OutputFile, toYaml } from './output';
import { OutputSink, StagedWriter, StagedWriterOptions, WriteOptions, WriteResult } from './staged-writer';
import { deliveredFacts, synthesizeTenantOutput, TenantOutput } from './tenant-output';

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
 * Produces the outputs of a cluster's tenants: `onOutputs` receives them (files included) as they
 * are done, in any order; the returned list is in configuration order and may hold no files.
 */
export interface TenantSynthesizer {
  synthesize(config: ClusterConfig, prefix: string, onOutputs: (outputs: readonly TenantOutput[]) => void): TenantOutput[];
}

/** Every tenant in this thread, one after the other. */
export const inThisThread: TenantSynthesizer = {
  synthesize(config, prefix, onOutputs) {
    return config.tenants.map((tenant) => {
      const output = synthesizeTenantOutput(config.platform, tenant, prefix);
      onOutputs([output]);
      return { ...output, files: [] };
    });
  },
};

export interface SynthesizeOptions {
  readonly synthesizer?: TenantSynthesizer;
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
    const outputs = synthesizer.synthesize(config, prefix, (batch) => {
      for (const output of batch) {
        findings.push(...output.findings);
        // Nothing more is staged once secret material was found: the synth fails anyway.
        if (findings.length === 0) sink.add(output.files);
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
    const gitops = new GitOpsChart(new App({ outdir: '/nonexistent' }), 'gitops', { platform: config.platform, cluster: config.cluster, tenants: delivered });
    const deliveryFiles: OutputFile[] = [];
    for (const object of gitops.toJson() as ManifestObject[]) {
      findings.push(...secretMaterialIn(object).map((finding) => `${prefix}${GITOPS_DIR}: ${finding}`));
      deliveryFiles.push({ path: `${prefix}${GITOPS_DIR}/${objectFileName(object)}`, content: toYaml(object) });
    }
    if (findings.length === 0) sink.add(deliveryFiles);
    summaries.push({
      cluster: config.cluster,
      platform: config.platform,
      tenants: config.tenants,
      facts: Object.fromEntries(config.tenants.map((t, i) => [t.name, outputs[i].summary])),
    });
  }
  // Checked before anything is written: one finding anywhere and dist/ stays as it was.
  if (findings.length > 0) throw new SecretMaterialError(findings);
  sink.add([{ path: 'README.md', content: renderSummary(summaries) }]);
}

/** Collects files in memory (for `diff` and tests); `files()` are sorted by path. */
export class MemorySink implements OutputSink {
  private readonly all: OutputFile[] = [];
  private readonly seen = new Set<string>();

  public add(files: readonly OutputFile[]): void {
    for (const file of files) {
      if (this.seen.has(file.path)) throw new Error(`two objects would be written to ${file.path}; object names must be unique per kind`);
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
    synthesizeInto(writer, clusters, options);
    const files = writer.fileCount;
    return { files, result: writer.commit(options) };
  } finally {
    writer.abort();
  }
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
