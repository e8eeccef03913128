/**
 * What the synth produces, as plain data: API objects and the files of `dist/` they become.
 */
import { blockYaml } from '../render/block-yaml';

export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** One file of `dist/`, by its path relative to `dist/`. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
  /**
   * The tenant folder the file belongs to (`tenant-1`, or `prod/tenant-1` with several clusters),
   * for the added/changed/removed report and the removal guard; unset for other files.
   */
  readonly unit?: string;
}

/**
 * `<kind>-<name>.yaml`; an object in a folder's second namespace (`<tenant>-build`) also names its
 * namespace, `<kind>-<namespace>-<name>.yaml`, since the same policy exists in both.
 */
export function objectFileName(object: ManifestObject, primaryNamespace?: string): string {
  const namespace = object.metadata.namespace;
  const qualifier = namespace && primaryNamespace && namespace !== primaryNamespace ? `${namespace}-` : '';
  return `${object.kind.toLowerCase()}-${qualifier}${object.metadata.name}.yaml`;
}

/**
 * An object as `dist/` holds it: `yaml`'s stringify with lineWidth 0 (never fold long strings,
 * so a diff shows whole values) and no anchors (an object used twice is written twice), written
 * by the faster blockYaml byte for byte.
 */
export function toYaml(object: unknown): string {
  return blockYaml(object);
}

/** Thrown when two files would be written to one path. */
export class DuplicatePathError extends Error {
  constructor(public readonly path: string) {
    super(`two objects would be written to ${path}; object names must be unique per kind`);
    this.name = 'DuplicatePathError';
  }
}
