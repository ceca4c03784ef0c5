/**
 * A loopback HTTP proxy in front of `smartregistry serve` for the real-client tests: it records
 * every request line (the server's request log as the client produced it), counts the body bytes
 * each answer carried, and can ask for the HTML form of the simple index on the client's behalf.
 * Bodies stream through untouched.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IProxiedAnswer {
  method: string;
  path: string;
  status: number;
  location?: string;
  bodyBytes: number;
}

export interface IRecordingProxy {
  url: string;
  /** `METHOD path status` of each request, in arrival order (the status once the answer came). */
  log: string[];
  /** Each answer: its request, status, `Location` and how many body bytes the server sent, in arrival order. */
  answers: IProxiedAnswer[];
  /** When set, simple-index requests are sent with `Accept: text/html`. */
  forceHtml: boolean;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<IRecordingProxy> {
  const upstream = new URL(target);
  const proxy: Omit<IRecordingProxy, 'url' | 'close'> = { log: [], answers: [], forceHtml: false };
  const server = http.createServer((req, res) => {
    const entry = proxy.log.push(`${req.method} ${req.url}`) - 1;
    // The client's Host stays: the links the registry builds then lead back through the proxy.
    const headers = { ...req.headers };
    if (proxy.forceHtml && req.url?.includes('/simple/')) headers.accept = 'text/html';
    const outbound = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        proxy.log[entry] += ` ${answer.statusCode}`;
        const record: IProxiedAnswer = { method: req.method ?? '', path: req.url ?? '', status: answer.statusCode ?? 0, bodyBytes: 0 };
        if (answer.headers.location) record.location = answer.headers.location;
        proxy.answers.push(record);
        answer.on('data', (chunk: Buffer) => (record.bodyBytes += chunk.length));
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
        answer.pipe(res);
      },
    );
    outbound.on('error', () => res.destroy());
    req.pipe(outbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
