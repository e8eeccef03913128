/**
 * Where a runner registers in GitLab and with which settings: read only by `npm run runners`
 * (docs/runner-registration.md), which creates the runner through the GitLab REST API and stores
 * its token in the tenant's token Secret. Nothing here reaches dist/: the synth ignores it.
 *
 * The settings are those of GitLab's "Create a runner" request (`POST /user/runners`,
 * https://docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user), camelCased.
 */
import { z } from 'zod';

/** A group's or project's full path as GitLab shows it (`platform/team-a`, `platform/team-a/app`). */
const FULL_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** A group's or project's full path: reviewable, resolved to an ID by the command on each run. */
const fullPath = (kind: 'group' | 'project') =>
  z
    .string()
    .max(1024, { message: 'must be at most 1024 characters' })
    .regex(FULL_PATH, { message: `must be the ${kind}'s full path: letters, digits, _ . - separated by /` });

const numericId = z.number().int().min(1);

// GitLab splits tag_list on commas; a narrow alphabet keeps tags printable in plans and reviews.
const tag = z
  .string()
  .max(255, { message: 'must be at most 255 characters' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$/, { message: 'must be a runner tag: letters, digits and _ . : / + - (no spaces or commas)' });

const settings = {
  tags: z.array(tag).max(50).default([]).describe('tag_list: the job tags this runner picks up (default none)'),
  runUntagged: z
    .boolean()
    .optional()
    .describe('run_untagged: also pick up jobs without tags (default: true when tags is empty, false otherwise)'),
  locked: z.boolean().optional().describe('locked: the runner cannot be enabled for other projects (project runners; default: GitLab\'s)'),
  accessLevel: z
    .enum(['not_protected', 'ref_protected'])
    .optional()
    .describe('access_level: ref_protected runs only jobs of protected branches and tags (default: GitLab\'s, not_protected)'),
  maximumTimeoutSeconds: z
    .number()
    .int()
    .min(600)
    .max(2_592_000)
    .optional()
    .describe('maximum_timeout: upper bound of any job\'s timeout on this runner, in seconds (at least 600; default: none)'),
  paused: z.boolean().default(false).describe('paused: create the runner paused (it picks up no jobs until resumed)'),
};

export const RegistrationSchema = z
  .discriminatedUnion('scope', [
    z.strictObject({
      scope: z.literal('group').describe('A group runner (runner_type group_type): available to the group\'s projects'),
      group: fullPath('group').optional().describe('The group\'s full path, such as platform/team-a (recommended; give this or groupId)'),
      groupId: numericId.optional().describe('The group\'s numeric ID (instead of group)'),
      ...settings,
    }),
    z.strictObject({
      scope: z.literal('project').describe('A project runner (runner_type project_type)'),
      project: fullPath('project').optional().describe('The project\'s full path, such as platform/team-a/app (recommended; give this or projectId)'),
      projectId: numericId.optional().describe('The project\'s numeric ID (instead of project)'),
      ...settings,
    }),
    z.strictObject({
      scope: z.literal('instance').describe('An instance runner (runner_type instance_type): needs an administrator\'s token'),
      ...settings,
    }),
  ])
  .superRefine((registration, ctx) => {
    if (registration.scope !== 'instance') {
      const [byPath, byId] = registration.scope === 'group' ? (['group', 'groupId'] as const) : (['project', 'projectId'] as const);
      const given = [byPath, byId].filter((key) => (registration as Record<string, unknown>)[key] !== undefined);
      if (given.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: given.length === 0 ? ['scope'] : [byId],
          message: given.length === 0 ? `'${registration.scope}' needs ${byPath} (the full path) or ${byId}` : `give ${byPath} or ${byId}, not both`,
        });
      }
    }
    // GitLab refuses it too ("Tags list can not be empty when runner is not allowed to pick untagged jobs").
    if (registration.runUntagged === false && registration.tags.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['runUntagged'], message: 'must not be false when tags is empty: the runner would never pick up a job' });
    }
  });

export type Registration = z.infer<typeof RegistrationSchema>;
