/**
 * What people and machines read: one progress line per tenant, the detail of its changes, and a
 * summary table. Pure string building, so the format is unit tested.
 */
import { SETTING_LABELS } from './plan';
import { redactUrls } from './redact';
import type { RunResult, TenantResult } from './run';

const OUTCOME_TEXT: Record<TenantResult['outcome'], string> = {
  'no-changes': 'no changes',
  create: 'would create',
  update: 'would update',
  created: 'created',
  updated: 'updated',
  failed: 'FAILED',
};

/** The lines printed when a tenant finishes: a headline, then one indented line per difference. */
export function progressLines(result: TenantResult): string[] {
  const counted = result.changes.length > 0 && result.outcome !== 'failed' ? ` (${result.changes.length} ${result.changes.length === 1 ? 'setting' : 'settings'})` : '';
  const adopted = result.management === 'adopted' ? ' [adopted: merged, nothing of others removed]' : '';
  const who = result.cluster !== undefined ? `${result.cluster}/${result.tenant}` : result.tenant;
  const lines = [`${who}: ${result.bucket}: ${OUTCOME_TEXT[result.outcome]}${counted}${adopted}`];
  for (const change of result.changes) {
    for (const detail of change.details) lines.push(`    ${SETTING_LABELS[change.setting]}: ${detail}`);
  }
  for (const k of result.kept) lines.push(`    kept: ${SETTING_LABELS[k.setting]}: ${k.detail}`);
  for (const u of result.unsupported) lines.push(`    warning: ${SETTING_LABELS[u.setting]} not managed: ${u.detail}`);
  if (result.error) lines.push(`    error: ${result.error.message}`);
  return lines.map(redactUrls);
}

/** The table printed at the end, one row per tenant, then a one-line verdict. */
export function summaryTable(run: RunResult): string {
  const clusters = run.results.some((r) => r.cluster !== undefined);
  const header = [...(clusters ? ['CLUSTER'] : []), 'TENANT', 'BUCKET', 'RESULT', 'CHANGES', 'UNSUPPORTED', 'TIME'];
  const rows = run.results.map((r) => [
    ...(clusters ? [r.cluster ?? '-'] : []),
    r.tenant,
    r.bucket,
    r.outcome === 'failed' ? `FAILED (${r.error?.kind ?? 'other'})` : OUTCOME_TEXT[r.outcome],
    r.changes.length === 0 ? '-' : r.changes.map((c) => c.setting).join(','),
    r.unsupported.length === 0 ? '-' : r.unsupported.map((u) => u.setting).join(','),
    `${(r.durationMs / 1000).toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const failed = run.results.filter((r) => r.outcome === 'failed').length;
  const changed = run.results.filter((r) => r.outcome !== 'failed' && r.outcome !== 'no-changes').length;
  const verdict =
    failed > 0
      ? `${failed} of ${run.results.length} tenants failed`
      : changed === 0
        ? `no changes: ${run.results.length === 1 ? 'the bucket is' : `all ${run.results.length} buckets are`} as configured`
        : run.command === 'plan'
          ? `${changed} of ${run.results.length} buckets would change; run apply to converge them`
          : `${changed} of ${run.results.length} buckets changed`;
  const unsupported = [...new Set(run.results.flatMap((r) => r.unsupported.map((u) => SETTING_LABELS[u.setting])))];
  const caveat = unsupported.length > 0 ? `\nnot managed, the endpoint does not implement them: ${unsupported.join(', ')}` : '';
  return redactUrls([format(header), ...rows.map(format), '', verdict + caveat].join('\n'));
}

/** The `--json` document: stable keys, for scripts and CI. */
export function jsonReport(run: RunResult): string {
  const text = JSON.stringify(
    {
      command: run.command,
      failed: run.failed,
      results: run.results.map((r) => ({
        ...(r.cluster !== undefined ? { cluster: r.cluster } : {}),
        tenant: r.tenant,
        bucket: r.bucket,
        outcome: r.outcome,
        ...(r.management !== undefined ? { management: r.management } : {}),
        changes: r.changes,
        kept: r.kept,
        unsupported: r.unsupported,
        ...(r.error ? { error: r.error } : {}),
        durationMs: r.durationMs,
      })),
    },
    null,
    2,
  );
  // `***` needs no JSON escaping, so redacting the serialized text keeps it valid JSON.
  return redactUrls(text);
}
