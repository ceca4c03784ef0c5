import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistryMetrics } from '../core/classes.registrymetrics.js';
import { DEFAULT_METRICS_PATH } from '../core/classes.operationsendpoints.js';

export interface IMetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `serve --metrics-port`: `/-/metrics` on a listener of its own, without a token, so that where it binds
 * decides who may scrape; nothing else answers there.
 */
export async function listenMetrics(metrics: RegistryMetrics, host: string, port: number): Promise<IMetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== DEFAULT_METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: `only GET ${DEFAULT_METRICS_PATH} answers here` }));
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'collecting metrics failed' })),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}${DEFAULT_METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
