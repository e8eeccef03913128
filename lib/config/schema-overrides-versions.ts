/**
 * Schema pieces of three settings: feature flags (`featureFlags`), the checked escape hatch into
 * config.toml (`configOverrides`) and the gitlab-runner version (`runner.version`, `runnerVersion`,
 * `nodes.architecture`). schema.ts uses them, one line per key; the rules that need more than
 * one field live in runner-overrides.ts (overrides) and lib/model/runner-version.ts (versions).
 */
import { z } from 'zod';
import { KNOWN_FEATURE_FLAGS } from './feature-flags';
import { compareVersions, MINIMUM_RUNNER_VERSION, NODE_ARCHITECTURES, RUNNER_VERSION } from '../model/runner-version';

/** A gitlab-runner version, at least MINIMUM_RUNNER_VERSION. */
export const runnerVersion = z
  .string()
  .regex(RUNNER_VERSION, { message: 'must be a gitlab-runner version MAJOR.MINOR.PATCH such as 19.3.0 (without v)' })
  .refine((v) => !RUNNER_VERSION.test(v) || compareVersions(v, MINIMUM_RUNNER_VERSION) >= 0, {
    message: `must be at least ${MINIMUM_RUNNER_VERSION}: the config.toml this project writes has token = "\${RUNNER_TOKEN_…}", which older runners do not expand`,
  });

export const nodeArchitecture = z.enum(NODE_ARCHITECTURES);

/**
 * Feature flags set by the project and never by configuration, with the reason. The runner token
 * lives in a Secret that GitOps owns: a token the runner rotated on its own would be written to
 * config.toml (a read-only ConfigMap) and lost on restart, while GitLab already revoked the old one.
 */
export const FIXED_FEATURE_FLAGS: Readonly<Record<string, { readonly value: boolean; readonly reason: string }>> = {
  FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: {
    value: true,
    reason: 'the runner token lives in a Secret owned by GitOps and config.toml is a read-only ConfigMap, so a token the runner rotated itself would be lost on the next restart while GitLab already revoked the old one; rotate tokens in the Secret instead (docs/secrets.md)',
  },
  FF_USE_ADVANCED_POD_SPEC_CONFIGURATION: {
    value: false,
    reason: 'it only enables [runners.kubernetes.pod_spec] patches, which can change any field of job pods (namespace, security contexts, tolerations) and are refused in configOverrides',
  },
};

const featureFlagName = z
  .string()
  .regex(/^FF_[A-Z0-9_]+$/, { message: 'must be a gitlab-runner feature flag name: FF_ followed by capital letters, digits and _' })
  .refine((name) => !/^FF_[A-Z0-9_]+$/.test(name) || KNOWN_FEATURE_FLAGS.includes(name), {
    message: 'is not a feature flag of gitlab-runner 19.3 (gitlab-runner ignores unknown names silently); see https://docs.gitlab.com/runner/configuration/feature-flags/',
  });

/** `[runners.feature_flags]`: flag name → on/off. The fixed flags are checked by the rules (fixedFlagProblems). */
export const featureFlags = z.record(featureFlagName, z.boolean());

/**
 * Flags set to another value than the project fixes, as key paths below `at` and messages (a rule,
 * not a zod refinement: the flag names contain TOKEN, so a zod message would hide the value).
 */
export function fixedFlagProblems(flags: Readonly<Record<string, boolean>>, at: readonly PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  return Object.entries(flags).flatMap(([name, value]) => {
    const fixed = FIXED_FEATURE_FLAGS[name];
    return fixed && value !== fixed.value ? [{ path: [...at, name], message: `cannot be ${value}: the project sets it to ${fixed.value}, because ${fixed.reason}` }] : [];
  });
}

/**
 * Extra config.toml keys merged into a runner's `[[runners]]` section, spelled as config.toml
 * spells them (snake_case). Checked by the loader against the runner's own schema and the keys
 * the isolation depends on (lib/config/runner-overrides.ts, docs/overrides.md).
 */
export const configOverrides = z.record(z.string(), z.unknown());
