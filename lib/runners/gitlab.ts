/**
 * The GitLab REST calls `npm run runners` makes, through @gitbeaker/rest (fetch-based, no native
 * dependencies, bundles with esbuild). Every failure becomes a GitLabError whose message names the
 * call and GitLab's answer, never the request: gitbeaker's error keeps the request (with the
 * PRIVATE-TOKEN header) in `cause`, which is dropped here.
 *
 * Endpoints (https://docs.gitlab.com/api/):
 *   GET  /groups/:id, /projects/:id              resolve a full path to an ID
 *   GET  /groups/:id/runners?type=group_type     runners of a group (paginated, Link header)
 *   GET  /projects/:id/runners?type=project_type runners of a project
 *   GET  /runners/all?type=instance_type         instance runners (administrators only)
 *   GET  /runners/:id                            a runner's groups/projects (to check where it belongs)
 *   POST /user/runners                           create a runner: 201 { id, token, token_expires_at }
 *   POST /runners/:id/reset_authentication_token 201 { token, token_expires_at }
 */
import { Gitlab, GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';

export type GitLabFailure = 'auth' | 'refused' | 'unreachable';

/** A call GitLab refused or could not answer; `kind: 'auth'` for 401/403. */
export class GitLabError extends Error {
  constructor(message: string, readonly kind: GitLabFailure) {
    super(message);
    this.name = 'GitLabError';
  }
}

export type RunnerScope =
  | { readonly type: 'group_type'; readonly id: number }
  | { readonly type: 'project_type'; readonly id: number }
  | { readonly type: 'instance_type' };

export interface ExistingRunner {
  readonly id: number;
  readonly description: string;
}

/** The body of `POST /user/runners`, snake_case as GitLab documents it. */
export interface CreateRunnerBody {
  readonly runner_type: RunnerScope['type'];
  readonly group_id?: number;
  readonly project_id?: number;
  readonly description: string;
  readonly tag_list: readonly string[];
  readonly run_untagged: boolean;
  readonly paused: boolean;
  readonly locked?: boolean;
  readonly access_level?: 'not_protected' | 'ref_protected';
  readonly maximum_timeout?: number;
}

/** A runner authentication token as GitLab returns it. Never printed. */
export interface IssuedToken {
  readonly runnerId: number;
  readonly token: string;
  /** ISO date, or null when the instance does not expire runner tokens. */
  readonly expiresAt: string | null;
}

export interface GitLabApi {
  groupId(ref: string | number): Promise<number>;
  projectId(ref: string | number): Promise<number>;
  runners(scope: RunnerScope): Promise<ExistingRunner[]>;
  /** Group and project IDs a runner is assigned to. */
  runnerOwners(id: number): Promise<{ groups: number[]; projects: number[] }>;
  createRunner(body: CreateRunnerBody): Promise<IssuedToken>;
  resetToken(id: number): Promise<IssuedToken>;
}

/** A refusal by status code, in words an operator can act on. */
function answered(what: string, status: number | undefined, said: string): GitLabError {
  if (status === 401) {
    return new GitLabError(`${what}: GitLab answered 401 Unauthorized: GITLAB_TOKEN is not a valid token (revoked, expired or for another instance)`, 'auth');
  }
  if (status === 403) {
    return new GitLabError(
      `${what}: GitLab answered 403 Forbidden${said ? ` (${said})` : ''}: the token needs the create_runner and manage_runner scopes (or api), read_api to look up paths, ` +
        'and the Owner role (Maintainer for projects) where the runner registers; instance runners need an administrator',
      'auth',
    );
  }
  return new GitLabError(`${what}: GitLab answered ${status ?? 'an error'}${said ? ` (${said})` : ''}`, 'refused');
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);

/** How to read a failed call. The request (and its PRIVATE-TOKEN header) is never part of the message. */
function failure(what: string, error: unknown): GitLabError {
  if (error instanceof GitLabError) return error;
  if (error instanceof GitbeakerRequestError) {
    const cause = error.cause as { response?: { status?: number } } | undefined;
    // GitLab's own message ("404 Group Not Found", validation messages).
    return answered(what, cause?.response?.status, oneLine(error.message));
  }
  if (error instanceof GitbeakerTimeoutError) return new GitLabError(`${what}: GitLab did not answer in time`, 'unreachable');
  if (error instanceof GitbeakerRetryError) return new GitLabError(`${what}: GitLab kept answering 429 or 502 (rate limit or proxy); try again later`, 'unreachable');
  // fetch failures: DNS, refused connections, TLS. The cause's code says which; never the request.
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return new GitLabError(`${what}: GitLab could not be reached${code ? ` (${code})` : ''}`, 'unreachable');
}

async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw failure(what, error);
  }
}

/** The client for `baseUrl` (e.g. https://gitlab.example.com), authenticated with a PRIVATE-TOKEN header. */
export function gitlabApi(baseUrl: string, token: string): GitLabApi {
  const host = baseUrl.replace(/\/+$/, '');
  const api = new Gitlab({ host, token, queryTimeout: 60_000 });
  const requester = (api.Runners as unknown as { requester: { post(endpoint: string, options: object): Promise<{ body: unknown }> } }).requester;
  const asToken = (runnerId: number, body: unknown): IssuedToken => {
    const b = body as { id?: unknown; token?: unknown; token_expires_at?: unknown };
    if (typeof b?.token !== 'string' || b.token === '') throw new GitLabError(`runner #${runnerId}: GitLab's answer has no token`, 'refused');
    return { runnerId: typeof b.id === 'number' ? b.id : runnerId, token: b.token, expiresAt: typeof b.token_expires_at === 'string' ? b.token_expires_at : null };
  };
  return {
    async groupId(ref) {
      if (typeof ref === 'number') return ref;
      const group = await call(`group ${ref}`, () => api.Groups.show(ref));
      return (group as { id: number }).id;
    },
    async projectId(ref) {
      if (typeof ref === 'number') return ref;
      const project = await call(`project ${ref}`, () => api.Projects.show(ref));
      return (project as { id: number }).id;
    },
    async runners(scope) {
      const common = { type: scope.type, perPage: 100 } as const;
      const list = await call(
        scope.type === 'group_type' ? `runners of group #${scope.id}` : scope.type === 'project_type' ? `runners of project #${scope.id}` : 'instance runners',
        () =>
          scope.type === 'group_type'
            ? api.Runners.all({ groupId: scope.id, ...common })
            : scope.type === 'project_type'
              ? api.Runners.all({ projectId: scope.id, ...common })
              : api.Runners.all(common),
      );
      return (list as unknown as { id: number; description: string | null }[]).map((r) => ({ id: r.id, description: r.description ?? '' }));
    },
    async runnerOwners(id) {
      const runner = (await call(`runner #${id}`, () => api.Runners.show(id))) as { groups?: { id: number }[]; projects?: { id: number }[] };
      return { groups: (runner.groups ?? []).map((g) => g.id), projects: (runner.projects ?? []).map((p) => p.id) };
    },
    async createRunner(body) {
      // One plain request, not gitbeaker's: its requester retries 429 and 502 up to ten times, and a
      // retried creation whose first attempt reached GitLab would leave a second runner behind.
      const what = `create runner '${body.description}'`;
      const response = await call(what, () =>
        fetch(`${host}/api/v4/user/runners`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', 'PRIVATE-TOKEN': token },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        }));
      const text = await call(what, () => response.text());
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (response.status !== 201 && response.status !== 200) {
        const said = (json as { message?: unknown; error?: unknown } | undefined);
        const message = said?.message ?? said?.error ?? (json === undefined ? text : '');
        throw answered(what, response.status, oneLine(typeof message === 'string' ? message : JSON.stringify(message)));
      }
      const issued = asToken(0, json);
      if (issued.runnerId === 0) throw new GitLabError(`${what}: GitLab's answer has no runner id`, 'refused');
      return issued;
    },
    async resetToken(id) {
      // https://docs.gitlab.com/api/runners/#reset-runners-authentication-token-by-using-the-runner-id
      const response = await call(`reset the token of runner #${id}`, () => requester.post(`runners/${id}/reset_authentication_token`, { signal: AbortSignal.timeout(60_000) }));
      return asToken(id, response.body);
    },
  };
}
