/**
 * `dist/` is public to everyone with access to the Git repository: it may reference Secrets,
 * never contain them. The synth runs this guard over every object before anything is written.
 */
import { formatKeyPath } from '../config/errors';
import { scanForCredentials } from './credentials';

/** Thrown when an object that would be written to `dist/` holds or looks like secret material. */
export class SecretMaterialError extends Error {
  constructor(public readonly findings: readonly string[]) {
    super(
      `refusing to write dist/: secret material in ${findings.length} place${findings.length === 1 ? '' : 's'} ` +
        `(dist/ is readable by everyone with access to the Git repository):\n${findings.join('\n')}\n` +
        'Reference Secrets by name (secretKeyRef, volumes) or let ExternalSecrets fill them (README, Secrets).',
    );
    this.name = 'SecretMaterialError';
  }
}

// A template value that only references fetched keys, e.g. `{{ .dockerconfigjson | toString }}`.
const TEMPLATE_REFERENCE = /^(\s*\{\{[^{}]*\}\}\s*)+$/;

/** An API object as the guard reads it (any synthesized object fits). */
export interface ApiObjectLike {
  readonly kind: string;
  readonly metadata?: { readonly name?: string };
  readonly [key: string]: unknown;
}

/**
 * One line per problem, naming the object and the key path (never the value): a Secret object,
 * Secret `data`/`stringData`, a literal value in an ExternalSecret template, or any string that
 * looks like a credential (credentials.ts).
 */
export function secretMaterialIn(object: ApiObjectLike): string[] {
  const what = `${object.kind} ${object.metadata?.name ?? '(unnamed)'}`;
  const findings: string[] = [];
  if (object.kind === 'Secret') findings.push(`${what}: is a Secret object; Secrets are referenced or filled by an ExternalSecret, never written to dist/`);
  if ('data' in object && object.kind !== 'ConfigMap' && object.kind !== 'Secret') findings.push(`${what} data: Secret-style data never goes into dist/`);
  if ('stringData' in object) findings.push(`${what} stringData: Secret values never go into dist/`);
  if (object.kind === 'ExternalSecret') {
    const templateData = (object.spec as { target?: { template?: { data?: Record<string, unknown> } } } | undefined)?.target?.template?.data ?? {};
    for (const [key, value] of Object.entries(templateData)) {
      if (typeof value !== 'string' || !TEMPLATE_REFERENCE.test(value)) {
        findings.push(`${what} spec.target.template.data.${key}: is a literal value, which would be committed; templates may only reference fetched keys ({{ .key }})`);
      }
    }
  }
  for (const hit of scanForCredentials(object)) findings.push(`${what} ${formatKeyPath(hit.path)}: looks like ${hit.description}`);
  return findings;
}
