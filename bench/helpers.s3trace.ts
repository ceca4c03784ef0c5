/**
 * A pass-through HTTP proxy in front of an S3 endpoint that logs every request (`--trace-s3=FILE` of the
 * protocol benches): start and end in ms since the proxy started, method, path and query, status. It shows
 * how many round trips an operation makes and which of them wait on each other. SigV4 signs the Host header
 * the client sent, which the proxy forwards unchanged, so the engine accepts the requests.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';

export interface IS3Trace {
  port: number;
  stop(): Promise<void>;
}

export async function startS3Trace(target: { host: string; port: number }, file: string): Promise<IS3Trace> {
  const log = fs.createWriteStream(file);
  const origin = performance.now();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const started = performance.now() - origin;
    const upstream = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => log.write(`${started.toFixed(2)} ${(performance.now() - origin).toFixed(2)} ${req.method} ${req.url} ${answer.statusCode}\n`));
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
      await new Promise((resolve) => log.end(resolve));
    },
  };
}
