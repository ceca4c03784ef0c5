/**
 * What a protocol benchmark needs besides its own fixtures: servers in child processes (a bare
 * node:http hello to compare with, and the registry), a keep-alive load generator, curl for
 * throughput, RSS sampling, and the filesystem / local s3rver backends.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';

export const CONNECTIONS = 32;

// ---- servers in child processes ----------------------------------------------------------------

const helloHandler: http.RequestListener = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' });
  res.end('hello');
};

/** Child side: serve `handler` (or the hello server when null) on a free port, report port and token. */
export async function serveInChild(build: (() => Promise<{ handler: http.RequestListener; token: string }>) | null) {
  const built = build ? await build() : { handler: helloHandler, token: '' };
  const server = http.createServer(built.handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port, token: built.token }));
  process.on('disconnect', () => process.exit(0));
}

export interface IBenchServer {
  child: ChildProcess;
  port: number;
  token: string;
  stop(): Promise<void>;
}

/** Parent side: fork `script` with `args`; it calls serveInChild. */
export async function startBenchServer(script: string, args: string[]): Promise<IBenchServer> {
  const child = fork(script, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number; token: string }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    child,
    ...ready,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

// ---- requests and load -------------------------------------------------------------------------

export interface IBenchRequest {
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Bytes, or a stream with `contentLength`. */
  body?: Buffer | Readable;
  contentLength?: number;
  agent?: http.Agent;
}

/** One request; resolves with the status and the body's length (read and dropped). */
export function benchRequest(options: IBenchRequest): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const length = Buffer.isBuffer(options.body) ? options.body.length : options.contentLength;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { ...options.headers, ...(length !== undefined ? { 'content-length': String(length) } : {}) },
        agent: options.agent,
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body && !Buffer.isBuffer(options.body)) options.body.pipe(req);
    else req.end(options.body);
  });
}

/** `CONNECTIONS` loops of back-to-back GETs for `seconds` after a warm-up; only completions in the window count. */
export async function loadTest(port: number, requestPath: string, headers: Record<string, string>, seconds: number): Promise<{ rps: number; p50: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const measureFrom = performance.now() + Math.min(1000, seconds * 250);
  const end = measureFrom + seconds * 1000;
  const latencies: number[] = [];
  const loop = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const result = await benchRequest({ port, path: requestPath, headers, agent });
      if (result.status !== 200) throw new Error(`GET ${requestPath}: ${result.status}`);
      const done = performance.now();
      if (sent >= measureFrom && done <= end) latencies.push(done - sent);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  agent.destroy();
  return { rps: latencies.length / seconds, p50: median(latencies) ?? 0 };
}

/** MB/s of `clients` curl processes, each fetching `url` `times` times over one keep-alive connection. */
export async function curlThroughput(url: string, headers: Record<string, string>, clients: number, times: number): Promise<number> {
  const config = [
    ...Object.entries(headers).map(([name, value]) => `header = "${name}: ${value}"`),
    'silent',
    'fail',
    'write-out = "%{size_download}\\n"',
    ...Array.from({ length: times }, () => `url = "${url}"\noutput = "/dev/null"`),
  ].join('\n');
  const runClient = () =>
    new Promise<number>((resolve, reject) => {
      const child = spawn('curl', ['--config', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean).reduce((sum, line) => sum + Number(line), 0)) : reject(new Error(`curl exited with ${code}`))));
      child.stdin.end(config);
    });
  const started = performance.now();
  const bytes = (await Promise.all(Array.from({ length: clients }, runClient))).reduce((a, b) => a + b, 0);
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

// ---- figures -----------------------------------------------------------------------------------

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const mark = (ok: boolean) => (ok ? 'ok  ' : 'MISS');

/** Peak RSS of a process while something runs, sampled every 50 ms, in MiB. */
export function rssSampler(pid: number) {
  const rssKiB = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  let peak = rssKiB();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssKiB());
    } catch {
      // the process is gone
    }
  }, 50);
  return { now: () => rssKiB() / 1024, stop: () => (clearInterval(timer), peak / 1024) };
}

/** Run `body` on the filesystem backend and/or a local s3rver, as `--backend=fs|s3|all` asks. */
export async function withBackends(backend: string, label: string, body: (name: string, storage: IStorageConfig) => Promise<unknown>) {
  if (backend === 'fs' || backend === 'all') {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `smartregistry-bench-${label}-`));
    try {
      await body('filesystem', { type: 'filesystem', path: dir });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
  if (backend === 's3' || backend === 'all') {
    const { startS3Server } = await import('../test/helpers/s3server.js');
    const s3 = await startS3Server();
    try {
      await body('s3 (local s3rver)', { type: 's3', ...s3.descriptor, bucketName: `bench-${label}` });
    } finally {
      await s3.stop();
    }
  }
}

export const parseBenchArgs = () => Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
