/**
 * Plan and apply: which managed runners exist in GitLab (found by their description), which must
 * be created, and whether each token is stored where the manager reads it. Apply creates the
 * missing runners and stores each token as soon as GitLab returns it; it never prints a token.
 */
import type { Registration } from '../config/schema-registration';
import { DesiredRunner, runnerLabel } from './desired';
import type { CreateRunnerBody, GitLabApi, RunnerScope } from './gitlab';
import type { TokenStore } from './token-store';

export type Action =
  /** Not in GitLab: apply creates it and stores its token. */
  | { readonly kind: 'create' }
  /** In GitLab and its token stored: nothing to do. */
  | { readonly kind: 'keep'; readonly runnerId: number }
  /** In GitLab but its token is not stored: apply --reset-token issues a new one and stores it. */
  | { readonly kind: 'token-missing'; readonly runnerId: number }
  /** Found, but ambiguous or registered elsewhere: the operator decides in GitLab. */
  | { readonly kind: 'conflict'; readonly reason: string };

export interface PlannedRunner {
  readonly desired: DesiredRunner;
  /** `group platform/acme (#42)`, `project #7`, `instance`. */
  readonly target: string;
  readonly scope: RunnerScope;
  readonly action: Action;
}

function refText(kind: string, ref: string | number, id: number): string {
  return typeof ref === 'number' ? `${kind} #${id}` : `${kind} ${ref} (#${id})`;
}

/** Finds every desired runner in GitLab and checks its stored token. */
export async function planRunners(desired: readonly DesiredRunner[], gitlab: GitLabApi, store: TokenStore): Promise<PlannedRunner[]> {
  const ids = new Map<string, Promise<number>>();
  const lists = new Map<string, Promise<{ id: number; description: string }[]>>();
  const once = <T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>) => {
    let value = cache.get(key);
    if (!value) {
      value = make();
      cache.set(key, value);
    }
    return value;
  };
  const planned: PlannedRunner[] = [];
  // In order, one at a time: a handful of runners per tenant, and errors stay in configuration order.
  for (const d of desired) {
    // Where the token goes is read first: a cluster that cannot be read stops the run before GitLab is asked anything.
    const stored = await store.isStored(d);
    const r = d.registration;
    let scope: RunnerScope;
    let target: string;
    if (r.scope === 'group') {
      // The schema requires exactly one of group and groupId.
      const ref = r.group ?? r.groupId!;
      const id = await once(ids, `g:${ref}`, () => gitlab.groupId(ref));
      scope = { type: 'group_type', id };
      target = refText('group', ref, id);
    } else if (r.scope === 'project') {
      const ref = r.project ?? r.projectId!;
      const id = await once(ids, `p:${ref}`, () => gitlab.projectId(ref));
      scope = { type: 'project_type', id };
      target = refText('project', ref, id);
    } else {
      scope = { type: 'instance_type' };
      target = 'instance';
    }
    const all = await once(lists, JSON.stringify(scope), () => gitlab.runners(scope));
    const found = all.filter((runner) => runner.description === d.description);
    let action: Action;
    if (found.length === 0) {
      action = { kind: 'create' };
    } else if (found.length > 1) {
      action = { kind: 'conflict', reason: `${found.length} runners (${found.map((f) => `#${f.id}`).join(', ')}) have the description '${d.description}': delete all but one in GitLab` };
    } else {
      const runnerId = found[0]!.id;
      // A group's list includes its ancestors' runners, a project's the runners enabled in it: check where this one belongs.
      const owners = scope.type === 'instance_type' ? undefined : await gitlab.runnerOwners(runnerId);
      const owned = scope.type === 'group_type' ? owners!.groups.includes(scope.id) : scope.type === 'project_type' ? owners!.projects.includes(scope.id) : true;
      if (!owned) {
        action = { kind: 'conflict', reason: `runner #${runnerId} with this description is registered to another ${scope.type === 'group_type' ? 'group' : 'project'}, not ${target}: delete it in GitLab (a new one is then created) or change registration back` };
      } else {
        action = stored ? { kind: 'keep', runnerId } : { kind: 'token-missing', runnerId };
      }
    }
    planned.push({ desired: d, target, scope, action });
  }
  return planned;
}

/** The body of `POST /user/runners` for a runner: only keys configured or with a stated default. */
export function createBody(description: string, registration: Registration, scope: RunnerScope): CreateRunnerBody {
  return {
    runner_type: scope.type,
    ...(scope.type === 'group_type' ? { group_id: scope.id } : {}),
    ...(scope.type === 'project_type' ? { project_id: scope.id } : {}),
    description,
    tag_list: registration.tags,
    run_untagged: registration.runUntagged ?? registration.tags.length === 0,
    paused: registration.paused,
    ...(registration.locked !== undefined ? { locked: registration.locked } : {}),
    ...(registration.accessLevel !== undefined ? { access_level: registration.accessLevel } : {}),
    ...(registration.maximumTimeoutSeconds !== undefined ? { maximum_timeout: registration.maximumTimeoutSeconds } : {}),
  };
}

function settingsText(r: Registration): string {
  const parts = [r.tags.length > 0 ? `tags ${r.tags.join(',')}` : 'no tags'];
  if (r.runUntagged ?? r.tags.length === 0) parts.push('runs untagged jobs');
  if (r.accessLevel === 'ref_protected') parts.push('protected refs only');
  if (r.paused) parts.push('paused');
  return parts.join(', ');
}

/** One line per planned runner, and whether it leaves something pending. */
export function planLines(planned: readonly PlannedRunner[], store: TokenStore, resetToken: boolean): string[] {
  return planned.map(({ desired: d, target, action }) => {
    const name = runnerLabel(d);
    const refusal = store.refusal(d);
    switch (action.kind) {
      case 'create':
        return `+ ${name}: create in ${target} (${settingsText(d.registration)}); token to ${store.where(d)}${refusal ? `\n    refused: ${refusal}` : ''}`;
      case 'keep':
        return `= ${name}: runner #${action.runnerId} in ${target}, token stored in ${store.where(d)}`;
      case 'token-missing':
        return resetToken
          ? `~ ${name}: runner #${action.runnerId} in ${target}: reset its token and store it in ${store.where(d)}${refusal ? `\n    refused: ${refusal}` : ''}`
          : `! ${name}: runner #${action.runnerId} in ${target} exists but its token is not in ${secretOf(d)}: apply --reset-token issues a new token (the old one stops working) and stores it`;
      case 'conflict':
        return `! ${name}: ${action.reason}`;
    }
  });
}

function secretOf(d: DesiredRunner): string {
  return `Secret ${d.token.namespace}/${d.token.name} key ${d.token.key}`;
}

export interface ApplyResult {
  readonly lines: string[];
  /** Something was refused or failed. */
  readonly failed: boolean;
  /** The GitLab error that stopped the run, if one did (the CLI maps it to an exit code). */
  readonly error?: unknown;
}

/**
 * Creates the missing runners (and, with resetToken, reissues missing tokens), storing each token
 * at once. Stops at the first failure: what was done so far is reported, the rest stays pending.
 */
export async function applyPlan(planned: readonly PlannedRunner[], gitlab: GitLabApi, store: TokenStore, options: { resetToken: boolean; onToken?: (token: string) => void }): Promise<ApplyResult> {
  const lines: string[] = [];
  const restarts = new Set<string>();
  let failed = false;
  for (const { desired: d, target, scope, action } of planned) {
    const name = runnerLabel(d);
    if (action.kind === 'keep') {
      lines.push(`= ${name}: runner #${action.runnerId} kept`);
      continue;
    }
    if (action.kind === 'conflict') {
      lines.push(`! ${name}: ${action.reason}`);
      failed = true;
      continue;
    }
    if (action.kind === 'token-missing' && !options.resetToken) {
      lines.push(`! ${name}: runner #${action.runnerId} exists but its token is not in ${secretOf(d)}; nothing done (apply --reset-token issues a new token and stores it)`);
      failed = true;
      continue;
    }
    const refusal = store.refusal(d) ?? (await store.cannotStore(d));
    if (refusal) {
      lines.push(`! ${name}: ${refusal}`);
      failed = true;
      continue;
    }
    let issued;
    try {
      issued = action.kind === 'create'
        ? await gitlab.createRunner(createBody(d.description, d.registration, scope))
        : await gitlab.resetToken(action.runnerId);
    } catch (error) {
      lines.push(`! ${name}: ${(error as Error).message}`);
      return { lines, failed: true, error };
    }
    options.onToken?.(issued.token);
    const done = action.kind === 'create' ? `created runner #${issued.runnerId} in ${target}` : `reset the token of runner #${issued.runnerId}`;
    try {
      await store.store(d, issued.token);
    } catch (error) {
      lines.push(`! ${name}: ${done}, but its token could not be stored: ${(error as Error).message}`);
      lines.push(`  The token is not kept anywhere; once the cause is fixed, run apply --reset-token to issue a new one for runner #${issued.runnerId}.`);
      return { lines, failed: true };
    }
    lines.push(`${action.kind === 'create' ? '+' : '~'} ${name}: ${done}, token stored in ${store.where(d)}${issued.expiresAt ? ` (expires ${issued.expiresAt})` : ''}`);
    // A running manager keeps the token it read at start; a new runner's manager waits for its key and starts by itself.
    if (action.kind === 'token-missing') restarts.add(`kubectl -n ${d.manager.namespace} rollout restart ${d.manager.kind.toLowerCase()}/${d.manager.name}`);
  }
  if (restarts.size > 0) {
    lines.push('The manager reads its tokens once, at start: once the new token is in the Secret (with an ExternalSecret, after its refresh), restart it:');
    for (const command of restarts) lines.push(`  ${command}`);
  }
  return { lines, failed };
}
