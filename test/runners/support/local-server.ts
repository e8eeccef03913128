/**
 * A local HTTP server on 127.0.0.1 (random port) for the fake GitLab and Kubernetes APIs: the
 * request body is read whole before the handler runs.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type LocalHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, rawBody: string) => void;

export interface LocalServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startLocalServer(handle: LocalHandler): Promise<LocalServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, new URL(req.url ?? '/', 'http://fake'), Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
