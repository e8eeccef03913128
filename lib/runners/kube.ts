/**
 * The few Kubernetes API calls `npm run runners` needs (read, create and patch one Secret), over
 * node:https with the credentials of a kubeconfig context or of the pod it runs in. A full client
 * (@kubernetes/client-node) would add a large dependency tree for three requests.
 *
 * Supported kubeconfig users: token, tokenFile, client-certificate(-data) + client-key(-data), and
 * exec credential plugins (client.authentication.k8s.io, e.g. `aws eks get-token`, kubelogin).
 * Messages name the call and the API server's Status message, never a request or response body.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

export class KubeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface KubeConnection {
  readonly server: string;
  /** For messages: the context name or "in-cluster". */
  readonly source: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecure?: boolean;
  /** Bearer token; a function for exec plugins, called once. */
  readonly token?: string | (() => string);
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{ cluster?: { server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
}

/**
 * The connection of `context` (default: current-context) in `kubeconfig` (default: the first file
 * of $KUBECONFIG, else ~/.kube/config); in a pod without a kubeconfig, its ServiceAccount.
 */
export function kubeConnection(options: { kubeconfig?: string; context?: string; env?: NodeJS.ProcessEnv } = {}): KubeConnection {
  const env = options.env ?? process.env;
  const file = options.kubeconfig ?? (env.KUBECONFIG ? env.KUBECONFIG.split(path.delimiter).find((f) => f !== '') : undefined) ?? path.join(os.homedir(), '.kube', 'config');
  if (!fs.existsSync(file)) {
    if (options.kubeconfig === undefined && env.KUBERNETES_SERVICE_HOST && fs.existsSync(path.join(SERVICE_ACCOUNT, 'token'))) {
      const host = env.KUBERNETES_SERVICE_HOST.includes(':') ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
      return {
        server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
        source: 'in-cluster',
        ca: fs.readFileSync(path.join(SERVICE_ACCOUNT, 'ca.crt')),
        token: () => fs.readFileSync(path.join(SERVICE_ACCOUNT, 'token'), 'utf8').trim(),
      };
    }
    throw new KubeError(`no kubeconfig at ${file} (give --kubeconfig FILE, set KUBECONFIG, or run in a pod with a ServiceAccount)`);
  }
  let config: KubeconfigFile;
  try {
    config = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
  } catch (error) {
    throw new KubeError(`${file}: not a readable kubeconfig (${(error as Error).message.split('\n')[0]})`);
  }
  const base = path.dirname(file);
  const contextName = options.context ?? config['current-context'];
  if (!contextName) throw new KubeError(`${file} has no current-context; choose one with --context NAME`);
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new KubeError(`${file} has no context named ${contextName}`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new KubeError(`${file}: context ${contextName} names cluster ${context.cluster ?? '(none)'}, which has no server`);
  const user = (config.users?.find((u) => u.name === context.user)?.user ?? {}) as Record<string, unknown>;
  const read = (p: unknown) => fs.readFileSync(path.resolve(base, String(p)));
  const data = (d: unknown) => Buffer.from(String(d), 'base64');

  let token: KubeConnection['token'];
  if (typeof user.token === 'string') token = user.token;
  else if (typeof user.tokenFile === 'string') token = () => read(user.tokenFile).toString('utf8').trim();
  const cert = user['client-certificate-data'] !== undefined ? data(user['client-certificate-data']) : user['client-certificate'] !== undefined ? read(user['client-certificate']) : undefined;
  const key = user['client-key-data'] !== undefined ? data(user['client-key-data']) : user['client-key'] !== undefined ? read(user['client-key']) : undefined;
  if (user.exec !== undefined) {
    token = execCredential(user.exec as ExecConfig, contextName);
  }
  if (user['auth-provider'] !== undefined || user.username !== undefined) {
    throw new KubeError(`context ${contextName}: auth-provider and username/password users are not supported; use a token, a client certificate or an exec plugin`);
  }
  return {
    server: cluster.server,
    source: `context ${contextName}`,
    ...(cluster['certificate-authority-data'] !== undefined ? { ca: data(cluster['certificate-authority-data']) } : cluster['certificate-authority'] !== undefined ? { ca: read(cluster['certificate-authority']) } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecure: true } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
}

/** Runs an exec credential plugin once, lazily (token credentials only); its token never leaves this connection. */
function execCredential(exec: ExecConfig, contextName: string): () => string {
  if (!exec.command) throw new KubeError(`context ${contextName}: exec has no command`);
  let cached: string | undefined;
  const run = () => {
    if (cached) return cached;
    let output: string;
    try {
      output = execFileSync(exec.command!, exec.args ?? [], {
        encoding: 'utf8',
        env: { ...process.env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])), KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: exec.apiVersion ?? 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } }) },
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 60_000,
      });
    } catch (error) {
      throw new KubeError(`context ${contextName}: credential plugin ${exec.command} failed (${(error as Error).message.split('\n')[0]})`);
    }
    try {
      cached = (JSON.parse(output) as { status?: { token?: unknown } }).status?.token as string | undefined;
    } catch {
      cached = undefined;
    }
    if (typeof cached !== 'string' || cached === '') {
      throw new KubeError(`context ${contextName}: credential plugin ${exec.command} did not print an ExecCredential with a token (client certificates from plugins are not supported)`);
    }
    return cached;
  };
  return run;
}

/** A Secret as far as this command reads it: which data keys it has (never their values) and its labels. */
export interface SecretInfo {
  readonly keys: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface SecretsApi {
  /** undefined when the Secret does not exist. */
  read(namespace: string, name: string): Promise<SecretInfo | undefined>;
  /**
   * Creates the Secret with these labels and one key. With `dryRun`, the API server checks the
   * request (namespace, RBAC, admission) and stores nothing.
   */
  create(namespace: string, name: string, labels: Record<string, string>, key: string, value: string, dryRun?: boolean): Promise<void>;
  /** Sets one key (a JSON merge patch of `data`): other keys stay as they are. `dryRun` as for create. */
  setKey(namespace: string, name: string, key: string, value: string, dryRun?: boolean): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** The Secrets API of a connection. */
export function secretsApi(connection: KubeConnection): SecretsApi {
  let bearer: string | undefined;
  const token = () => {
    if (connection.token === undefined) return undefined;
    bearer ??= typeof connection.token === 'function' ? connection.token() : connection.token;
    return bearer || undefined;
  };
  const request = (method: string, urlPath: string, body?: { type: string; data: unknown }): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const url = new URL(urlPath, connection.server.replace(/\/+$/, '') + '/');
      const secure = url.protocol === 'https:';
      const t = token();
      const payload = body ? JSON.stringify(body.data) : undefined;
      const options: https.RequestOptions = {
        method,
        headers: {
          accept: 'application/json',
          ...(t ? { authorization: `Bearer ${t}` } : {}),
          ...(payload !== undefined ? { 'content-type': body!.type, 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 30_000,
        ...(secure ? { ca: connection.ca, cert: connection.cert, key: connection.key, rejectUnauthorized: !connection.insecure } : {}),
      };
      const req = (secure ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(new KubeError(`Kubernetes API server ${url.origin} (${connection.source}) could not be reached: ${error.code ?? error.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  const secretPath = (namespace: string, name?: string) =>
    `api/v1/namespaces/${encodeURIComponent(namespace)}/secrets${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
  /** The Status message of a refusal (it names the resource and the user, never data). */
  const refused = (what: string, reply: Reply) => {
    let message = '';
    try {
      message = String((JSON.parse(reply.body) as { message?: unknown }).message ?? '');
    } catch {
      // not a Status: the code alone
    }
    const hint = reply.status === 401 ? ': the credentials of ' + connection.source + ' were not accepted' : reply.status === 403 ? ': the identity needs get, create and patch on this Secret' : '';
    return new KubeError(`${what}: Kubernetes API answered ${reply.status}${message ? ` (${message.replace(/\s+/g, ' ').slice(0, 300)})` : ''}${hint}`);
  };
  const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');
  return {
    async read(namespace, name) {
      const reply = await request('GET', secretPath(namespace, name));
      if (reply.status === 404) return undefined;
      if (reply.status !== 200) throw refused(`read Secret ${namespace}/${name}`, reply);
      const secret = JSON.parse(reply.body) as { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } };
      return { keys: Object.keys(secret.data ?? {}).sort(), labels: secret.metadata?.labels ?? {} };
    },
    async create(namespace, name, labels, key, value, dryRun = false) {
      // https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run
      const reply = await request('POST', `${secretPath(namespace)}${dryRun ? '?dryRun=All' : ''}`, {
        type: 'application/json',
        data: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type: 'Opaque', data: { [key]: b64(value) } },
      });
      if (reply.status !== 201 && reply.status !== 200) throw refused(`${dryRun ? 'check (dry run) creating' : 'create'} Secret ${namespace}/${name}`, reply);
    },
    async setKey(namespace, name, key, value, dryRun = false) {
      const reply = await request('PATCH', `${secretPath(namespace, name)}${dryRun ? '?dryRun=All' : ''}`, { type: 'application/merge-patch+json', data: { data: { [key]: b64(value) } } });
      if (reply.status !== 200) throw refused(`${dryRun ? 'check (dry run) setting' : 'set'} key ${key} of Secret ${namespace}/${name}`, reply);
    },
  };
}
