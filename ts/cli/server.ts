import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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

/** How long `serve` waits on clients; a slow upload that keeps sending is never cut. */
export interface IServerTimeouts {
  /** Time a client has to send the whole request head. */
  headersMs: number;
  /** A connection with no traffic either way for this long is closed (a stalled upload or download). */
  idleMs: number;
  /** An idle keep-alive connection between requests is closed after this long. */
  keepAliveMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: IServerTimeouts = { headersMs: 60_000, idleMs: 5 * 60_000, keepAliveMs: 5_000 };

/**
 * The idle timeout is for a client gone silent (a stalled upload or download). While the registry is still working on
 * a request it has wholly received (a large write to slow storage, a busy machine), the silence is ours: the
 * connection stays, and the timer starts again with the answer's first bytes.
 */
function cutOnlyClientSilence(server: http.Server): void {
  const inProgress = new WeakMap<Socket, { req: http.IncomingMessage; res: http.ServerResponse }>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const exchange = { req, res };
    inProgress.set(req.socket, exchange);
    res.once('close', () => inProgress.get(req.socket) === exchange && inProgress.delete(req.socket));
  });
  server.on('timeout', (socket: Socket) => {
    const exchange = inProgress.get(socket);
    if (exchange?.req.complete && !exchange.res.headersSent) return;
    socket.destroy();
  });
}

export async function listen(
  registry: SmartRegistry,
  host: string,
  port: number,
  timeouts: IServerTimeouts = DEFAULT_SERVER_TIMEOUTS,
): Promise<IRunningServer> {
  const handler = createNodeHandler(registry);
  const server = http.createServer(
    // node checks the head timeout on this interval; scale it so a short timeout is enforced close to on time.
    { connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(timeouts.headersMs / 4))) },
    (req, res) => void handler(req, res),
  );
  // Large uploads may take long: no limit on a whole request, only on the head and on silence.
  server.requestTimeout = 0;
  server.headersTimeout = timeouts.headersMs;
  server.timeout = timeouts.idleMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  cutOnlyClientSilence(server);
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
