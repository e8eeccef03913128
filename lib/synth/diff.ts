/**
 * `npm run diff`: what a synth would change in `dist/`, per cluster and tenant, by object: added,
 * changed (with a unified YAML diff) and removed. Reviewers read this instead of the raw tree.
 */
import { createTwoFilesPatch } from 'diff';
import { parse } from 'yaml';
import type { OutputFile } from './output';
import { tenantUnits, unitOfPath } from './removal-guard';

export interface TreeDiff {
  readonly changed: boolean;
  readonly text: string;
}

interface Change {
  readonly file: string;
  readonly kind: 'added' | 'changed' | 'removed';
  readonly before?: string;
  readonly after?: string;
}

/** Compares the current `dist/` (path → content) with the files a synth would write. */
export function diffTrees(current: Map<string, string>, next: readonly OutputFile[]): TreeDiff {
  const nextMap = new Map(next.map((f) => [f.path, f.content]));
  const changes: Change[] = [];
  for (const [file, after] of nextMap) {
    const before = current.get(file);
    if (before === undefined) changes.push({ file, kind: 'added', after });
    else if (before !== after) changes.push({ file, kind: 'changed', before, after });
  }
  for (const [file, before] of current) if (!nextMap.has(file)) changes.push({ file, kind: 'removed', before });
  if (changes.length === 0) return { changed: false, text: 'no changes' };

  const units = new Set([...tenantUnits(current.keys()), ...next.flatMap((f) => (f.unit ? [f.unit] : []))]);
  const groupOf = (file: string) => {
    const unit = unitOfPath(file, units);
    const folder = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
    return unit ? `tenant ${unit}` : folder ? `${folder}/` : 'dist/';
  };
  const groups = new Map<string, Change[]>();
  for (const change of changes.sort((a, b) => a.file.localeCompare(b.file))) {
    const group = groupOf(change.file);
    groups.set(group, [...(groups.get(group) ?? []), change]);
  }

  const out: string[] = [];
  for (const [group, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`${group}:`);
    for (const change of list) out.push(`  ${change.kind.padEnd(7)} ${describe(change)}`);
  }
  out.push('');
  for (const change of changes.filter((c) => c.kind === 'changed')) {
    out.push(createTwoFilesPatch(`a/${change.file}`, `b/${change.file}`, change.before!, change.after!, undefined, undefined, { context: 3 }).trimEnd());
  }
  const counts = (['added', 'changed', 'removed'] as const).map((k) => `${changes.filter((c) => c.kind === k).length} ${k}`).join(', ');
  out.push('', `${counts}`);
  return { changed: true, text: out.join('\n') };
}

/** `Kind name` of the object in a file, or the file name for anything else. */
function describe(change: Change): string {
  const content = change.after ?? change.before ?? '';
  if (change.file.endsWith('.yaml')) {
    try {
      const object = parse(content) as { kind?: string; metadata?: { name?: string } };
      if (object?.kind && object.metadata?.name) return `${object.kind} ${object.metadata.name}`;
    } catch {
      // fall through to the file name
    }
  }
  return change.file;
}
