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
  readonly kind: 'added' | 'changed' | 'removed' | 'moved';
  readonly before?: string;
  readonly after?: string;
  /** For `moved`: the file the object was in. */
  readonly from?: string;
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
  pairMoves(changes);

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
    for (const change of list) out.push(`  ${change.kind.padEnd(7)} ${describe(change)}${change.from ? ` from ${change.from}` : ''}`);
  }
  out.push('');
  for (const change of changes.filter((c) => c.kind === 'changed' || (c.kind === 'moved' && c.before !== c.after))) {
    out.push(createTwoFilesPatch(`a/${change.from ?? change.file}`, `b/${change.file}`, change.before!, change.after!, undefined, undefined, { context: 3 }).trimEnd());
  }
  const kinds = ['added', 'changed', 'removed', ...(changes.some((c) => c.kind === 'moved') ? ['moved' as const] : [])] as const;
  const counts = kinds.map((k) => `${changes.filter((c) => c.kind === k).length} ${k}`).join(', ');
  out.push('', `${counts}`);
  return { changed: true, text: out.join('\n') };
}

interface ObjectId {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Kind, name and namespace of the object in a YAML file; undefined for anything else. */
function objectIn(file: string, content: string): ObjectId | undefined {
  if (!file.endsWith('.yaml')) return undefined;
  try {
    const object = parse(content) as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };
    if (object?.kind && object.metadata?.name) return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace: object.metadata.namespace };
  } catch {
    // not an object: described by its file name
  }
  return undefined;
}

/**
 * An object removed from one file and added in another (a tenant moved to a cluster folder, a
 * renamed file) is one move, not a removal and an addition: pairs them when the object (group,
 * kind, namespace, name) was removed once and added once.
 */
function pairMoves(changes: Change[]): void {
  const key = (c: Change) => {
    const o = objectIn(c.file, (c.kind === 'removed' ? c.before : c.after) ?? '');
    return o && `${o.apiVersion?.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}/${o.namespace ?? ''}/${o.name}`;
  };
  const byKey = (kind: Change['kind']) => {
    const map = new Map<string, number[]>();
    changes.forEach((c, i) => {
      const k = c.kind === kind ? key(c) : undefined;
      if (k) map.set(k, [...(map.get(k) ?? []), i]);
    });
    return map;
  };
  const added = byKey('added');
  const drop = new Set<number>();
  for (const [k, removedAt] of byKey('removed')) {
    const addedAt = added.get(k);
    if (removedAt.length !== 1 || addedAt?.length !== 1) continue;
    const [r, a] = [changes[removedAt[0]], changes[addedAt[0]]];
    changes[addedAt[0]] = { file: a.file, kind: 'moved', from: r.file, before: r.before, after: a.after };
    drop.add(removedAt[0]);
  }
  const kept = changes.filter((_, i) => !drop.has(i));
  changes.splice(0, changes.length, ...kept);
}

/**
 * `Kind namespace/name` of the object in a file (`Kind name` when cluster-scoped), or the file
 * name for anything else: the namespace tells two objects of one name apart (and a move).
 */
function describe(change: Change): string {
  const object = objectIn(change.file, change.after ?? change.before ?? '');
  if (!object) return change.file;
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`;
}
