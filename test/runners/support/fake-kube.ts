/**
 * A local stand-in for the Kubernetes API's Secret endpoints (GET, POST, PATCH with a JSON merge
 * patch) on 127.0.0.1 and a random port, with bearer-token authentication and Status objects as
 * errors, as kube-apiserver answers:
 * https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/
 */
import * as fs from 'node:fs';
import { startLocalServer } from './local-server';
import * as path from 'node:path';

export interface StoredSecret {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  type?: string;
  data: Record<string, string>;
}

export interface FakeKube {
  readonly url: string;
  readonly requests: { method: string; path: string; dryRun: boolean; contentType?: string; body?: unknown }[];
  /** By `namespace/name`. */
  readonly secrets: Map<string, StoredSecret>;
  /** The decoded value of one key, or undefined. */
  value(namespace: string, name: string, key: string): string | undefined;
  /** Writes a kubeconfig pointing at this server into `dir`; returns its path. */
  kubeconfig(dir: string): string;
  close(): Promise<void>;
}

export async function startFakeKube(options: {
  token: string;
  forbid?: (verb: string, namespace: string) => boolean;
  /** The namespaces that exist (default: any). */
  namespaces?: string[];
}): Promise<FakeKube> {
  const requests: FakeKube['requests'] = [];
  const secrets = new Map<string, StoredSecret>();
  const server = await startLocalServer((req, res, url, raw) => {
    const body = raw ? JSON.parse(raw) : undefined;
    requests.push({ method: req.method ?? '', path: url.pathname, dryRun: url.searchParams.get('dryRun') === 'All', ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}), ...(body ? { body } : {}) });
    const status = (code: number, reason: string, message: string) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
    };
    const send = (code: number, payload: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bearer ${options.token}`) return status(401, 'Unauthorized', 'Unauthorized');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(404, 'NotFound', 'the server could not find the requested resource');
    const namespace = decodeURIComponent(m[1]!);
    const name = m[2] !== undefined ? decodeURIComponent(m[2]) : undefined;
    const verb = req.method === 'GET' ? 'get' : req.method === 'POST' ? 'create' : req.method === 'PATCH' ? 'patch' : 'other';
    const dryRun = url.searchParams.get('dryRun') === 'All';
    if (options.namespaces && !options.namespaces.includes(namespace)) {
      return status(404, 'NotFound', `namespaces "${namespace}" not found`);
    }
    if (options.forbid?.(verb, namespace)) {
      return status(403, 'Forbidden', `secrets${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:ops:registrar" cannot ${verb} resource "secrets" in API group "" in the namespace "${namespace}"`);
    }
    if (req.method === 'GET' && name !== undefined) {
      const secret = secrets.get(`${namespace}/${name}`);
      if (!secret) return status(404, 'NotFound', `secrets "${name}" not found`);
      return send(200, { apiVersion: 'v1', kind: 'Secret', ...secret });
    }
    if (req.method === 'POST' && name === undefined) {
      const secret = body as StoredSecret & { kind?: string };
      if (secret.kind !== 'Secret' || secret.metadata?.namespace !== namespace) return status(400, 'BadRequest', 'not a Secret of this namespace');
      if (secrets.has(`${namespace}/${secret.metadata.name}`)) return status(409, 'AlreadyExists', `secrets "${secret.metadata.name}" already exists`);
      if (!dryRun) secrets.set(`${namespace}/${secret.metadata.name}`, { metadata: secret.metadata, type: secret.type ?? 'Opaque', data: secret.data ?? {} });
      return send(201, { apiVersion: 'v1', ...secret });
    }
    if (req.method === 'PATCH' && name !== undefined) {
      if (req.headers['content-type'] !== 'application/merge-patch+json') return status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
      const secret = secrets.get(`${namespace}/${name}`);
      if (!secret) return status(404, 'NotFound', `secrets "${name}" not found`);
      if (dryRun) return send(200, { apiVersion: 'v1', kind: 'Secret', ...secret });
      for (const [k, v] of Object.entries((body as { data?: Record<string, string | null> }).data ?? {})) {
        if (v === null) delete secret.data[k];
        else secret.data[k] = v;
      }
      return send(200, { apiVersion: 'v1', kind: 'Secret', ...secret });
    }
    status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  });
  const url = server.url;
  return {
    url,
    requests,
    secrets,
    value(namespace, name, key) {
      const v = secrets.get(`${namespace}/${name}`)?.data[key];
      return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
    },
    kubeconfig(dir) {
      const file = path.join(dir, 'kubeconfig');
      fs.writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: fake',
          'clusters:',
          `  - name: fake\n    cluster:\n      server: ${url}`,
          'contexts:',
          '  - name: fake\n    context:\n      cluster: fake\n      user: registrar',
          'users:',
          `  - name: registrar\n    user:\n      token: ${options.token}`,
          '',
        ].join('\n'),
      );
      return file;
    },
    close: server.close,
  };
}
