/**
 * A local stand-in for the GitLab REST API endpoints `npm run runners` uses, on 127.0.0.1 and a
 * random port, answering with GitLab's documented shapes:
 * https://docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user (201 { id, token, token_expires_at }),
 * https://docs.gitlab.com/api/runners/ (lists, runner details, reset_authentication_token),
 * https://docs.gitlab.com/api/rest/#pagination (Link rel="next", x-next-page, x-page, x-per-page, x-total),
 * https://docs.gitlab.com/api/rest/troubleshooting/#status-codes (401 without a valid PRIVATE-TOKEN).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { startLocalServer } from './local-server';

export interface FakeRunner {
  id: number;
  description: string;
  runner_type: 'instance_type' | 'group_type' | 'project_type';
  /** Groups and projects the runner belongs to (GET /runners/:id). */
  groups: number[];
  projects: number[];
  /** Further groups whose runner list shows it (GitLab lists ancestor groups' runners too). */
  listedIn?: number[];
  tag_list?: string[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export interface FakeGitLab {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly runners: FakeRunner[];
  /** Every runner token this fake issued. */
  readonly issued: string[];
  close(): Promise<void>;
}

export interface FakeGitLabOptions {
  readonly token: string;
  readonly groups?: Record<string, number>;
  readonly projects?: Record<string, number>;
  readonly runners?: FakeRunner[];
  /** Largest page the fake returns, whatever per_page asks (GitLab's is 100). */
  readonly maxPerPage?: number;
  /** Whether the token belongs to an administrator (GET /runners/all). */
  readonly admin?: boolean;
  /** Answer every POST /user/runners with this status (a proxy's 502, say), creating nothing. */
  readonly failCreate?: number;
}

export async function startFakeGitLab(options: FakeGitLabOptions): Promise<FakeGitLab> {
  const requests: RecordedRequest[] = [];
  const runners: FakeRunner[] = [...(options.runners ?? [])];
  const issued: string[] = [];
  let nextId = 1000;
  const newToken = () => {
    const token = `glrt-${randomBytes(15).toString('base64url')}`;
    issued.push(token);
    return token;
  };

  const server = await startLocalServer((req, res, url, raw) => {
    let body: unknown = raw;
    if (raw && /json/.test(req.headers['content-type'] ?? '')) body = JSON.parse(raw);
    requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.headers['private-token'] !== options.token) return send(401, { message: '401 Unauthorized' });

    const page = (items: FakeRunner[]) => {
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 20), options.maxPerPage ?? 100);
      const current = Number(url.searchParams.get('page') ?? 1);
      const totalPages = Math.max(1, Math.ceil(items.length / perPage));
      const headers: Record<string, string> = {
        'x-page': String(current),
        'x-per-page': String(perPage),
        'x-total': String(items.length),
        'x-total-pages': String(totalPages),
        'x-next-page': current < totalPages ? String(current + 1) : '',
        'x-prev-page': current > 1 ? String(current - 1) : '',
      };
      if (current < totalPages) {
        const next = new URL(url.toString().replace('http://fake', `http://${req.headers.host}`));
        next.searchParams.set('page', String(current + 1));
        next.searchParams.set('per_page', String(perPage));
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      const slice = items.slice((current - 1) * perPage, current * perPage);
      send(200, slice.map((r) => ({ id: r.id, description: r.description, runner_type: r.runner_type, paused: false, is_shared: r.runner_type === 'instance_type', name: null, online: false, status: 'never_contacted', ip_address: null })), headers);
    };
    const typed = (type: string | null) => runners.filter((r) => type === null || r.runner_type === type);

    let m: RegExpExecArray | null;
    const p = url.pathname;
    if (req.method === 'GET' && (m = /^\/api\/v4\/(groups|projects)\/([^/]+)$/.exec(p))) {
      const ref = decodeURIComponent(m[2]!);
      const table = (m[1] === 'groups' ? options.groups : options.projects) ?? {};
      const id = /^\d+$/.test(ref) ? Number(ref) : table[ref];
      if (id === undefined || !Object.values(table).includes(id)) return send(404, { message: `404 ${m[1] === 'groups' ? 'Group' : 'Project'} Not Found` });
      return send(200, { id, full_path: Object.keys(table).find((k) => table[k] === id) });
    }
    if (req.method === 'GET' && (m = /^\/api\/v4\/groups\/(\d+)\/runners$/.exec(p))) {
      const id = Number(m[1]);
      return page(typed(url.searchParams.get('type')).filter((r) => r.groups.includes(id) || (r.listedIn ?? []).includes(id) || r.runner_type === 'instance_type'));
    }
    if (req.method === 'GET' && (m = /^\/api\/v4\/projects\/(\d+)\/runners$/.exec(p))) {
      const id = Number(m[1]);
      return page(typed(url.searchParams.get('type')).filter((r) => r.projects.includes(id) || r.runner_type === 'instance_type'));
    }
    if (req.method === 'GET' && p === '/api/v4/runners/all') {
      if (!options.admin) return send(403, { message: '403 Forbidden' });
      return page(typed(url.searchParams.get('type')));
    }
    if (req.method === 'GET' && (m = /^\/api\/v4\/runners\/(\d+)$/.exec(p))) {
      const runner = runners.find((r) => r.id === Number(m![1]));
      if (!runner) return send(404, { message: '404 Not found' });
      return send(200, { ...runner, groups: runner.groups.map((id) => ({ id })), projects: runner.projects.map((id) => ({ id })) });
    }
    if (req.method === 'POST' && p === '/api/v4/user/runners') {
      if (options.failCreate) {
        res.writeHead(options.failCreate, { 'content-type': 'text/html' });
        return res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      }
      const b = body as Record<string, unknown>;
      const type = b.runner_type as FakeRunner['runner_type'];
      if (type === 'instance_type' && !options.admin) return send(403, { message: '403 Forbidden' });
      if (type === 'group_type' && typeof b.group_id !== 'number') return send(400, { error: 'group_id is missing' });
      if (type === 'project_type' && typeof b.project_id !== 'number') return send(400, { error: 'project_id is missing' });
      if (Array.isArray(b.tag_list) && b.tag_list.length === 0 && b.run_untagged === false) {
        return send(400, { message: { tags_list: ['can not be empty when runner is not allowed to pick untagged jobs'] } });
      }
      const runner: FakeRunner = {
        id: nextId++,
        description: String(b.description ?? ''),
        runner_type: type,
        groups: type === 'group_type' ? [b.group_id as number] : [],
        projects: type === 'project_type' ? [b.project_id as number] : [],
        tag_list: b.tag_list as string[],
      };
      runners.push(runner);
      return send(201, { id: runner.id, token: newToken(), token_expires_at: null });
    }
    if (req.method === 'POST' && (m = /^\/api\/v4\/runners\/(\d+)\/reset_authentication_token$/.exec(p))) {
      if (!runners.some((r) => r.id === Number(m![1]))) return send(404, { message: '404 Not found' });
      return send(201, { token: newToken(), token_expires_at: '2027-03-01T00:00:00.000Z' });
    }
    send(404, { error: '404 Not Found' });
  });
  return {
    url: server.url,
    requests,
    runners,
    issued,
    close: server.close,
  };
}
