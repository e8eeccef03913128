/**
 * Merges a runner's `configOverrides` into its rendered `[[runners]]` section. Overrides only ADD
 * keys: to the section itself, to `[runners.kubernetes]` and to `[runners.kubernetes.volumes]`
 * (an `empty_dir` list, say). A key the section already has is never replaced, and no other
 * rendered table (node_selector, pod_labels, security contexts, cache, feature_flags) gains keys. The loader refuses such keys with the typed
 * setting to use or the reason they are fixed (lib/config/runner-overrides.ts); reaching the
 * error below means a rule is missing there, so it is an error of the program, not of the input.
 */
import { RunnerConfig } from './model';

export type TomlValue = unknown;

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `section` with `overrides` added; throws if an override would replace a rendered key. */
export function mergeOverrides(section: RunnerConfig, overrides: Readonly<Record<string, TomlValue>> | undefined): RunnerConfig {
  if (!overrides || Object.keys(overrides).length === 0) return section;
  return mergeTable(section as unknown as Record<string, unknown>, overrides, []) as unknown as RunnerConfig;
}

/** Rendered tables overrides may add keys to (dotted paths from the section). */
const EXTENSIBLE = new Set(['kubernetes', 'kubernetes.volumes']);

function mergeTable(base: Record<string, unknown>, add: Readonly<Record<string, unknown>>, path: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(add)) {
    const here = [...path, key];
    const existing = base[key];
    if (existing === undefined) out[key] = value;
    else if (isTable(existing) && isTable(value) && EXTENSIBLE.has(here.join('.'))) out[key] = mergeTable(existing, value, here);
    else throw new Error(`configOverrides.${here.join('.')} would replace a key the synth renders; the loader must refuse it (lib/config/runner-overrides.ts)`);
  }
  return out;
}
