import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeHandler } from '../adapters/node.js';
import type { SmartRegistry } from '../classes.smartregistry.js';

export interface IRunningServer {
  server: http.Server;
  host: string;
  port: number;
  /** Stop accepting, let in-flight requests finish (up to `timeoutMs`), then cut what is left. */
  close(timeoutMs?: number): Promise<void>;
}

/** An IPv6 literal needs brackets in a URL. */
export const urlHost = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

export async function listen(registry: SmartRegistry, host: string, port: number): Promise<IRunningServer> {
  const handler = createNodeHandler(registry);
  const server = http.createServer((req, res) => void handler(req, res));
  // Large uploads may take long; node's default 5 min request timeout would cut them off.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (timeoutMs = 10_000) =>
    (closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      // Keep-alive connections that are not serving anything would hold close() open.
      server.closeIdleConnections();
    }));

  return { server, host: address.address, port: address.port, close };
}
