/**
 * PyPI benchmark (`npm run bench -- pypi`, or `node --import tsx bench/pypi.ts`).
 *
 * The registry and a bare node:http "hello" server run in child processes; load comes from here over
 * keep-alive sockets. Rates are printed next to the hello server's, measured right before, so each
 * reads as a ratio on the same (shared) machine.
 *
 *   index GET       simple-index page of a 200-file project (JSON as pip asks, and HTML), 32 connections
 *   metadata GET    the PEP 658 metadata file, 32 connections
 *   artifact GET    a 64 MiB wheel, 4 connections fetching it 4 times each, MB/s
 *   upload          200 small wheels one at a time: median of all, of uploads 1-10 and of 190-200
 *   1 GiB           a 1 GiB wheel uploaded (streamed, digests after the file) and downloaded: server peak RSS
 *
 * Options: --backend=fs|s3|all (default all), --seconds=N per load phase (default 5), --no-big (skip 1 GiB),
 * --only=big (only the 1 GiB round trip).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createBLAKE2b } from 'hash-wasm';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { startS3Server } from '../test/helpers/s3server.js';
import { zipChunks } from '../test/core/archive/zipwriter.js';
import { BOUNDARY, MULTIPART_TYPE, coreMetadata, makeWheel, multipartBody, uploadFields } from '../test/pypi/fixtures.js';

const SELF = fileURLToPath(import.meta.url);
const CONNECTIONS = 32;
const MiB = 1024 * 1024;

// ---- the servers (child processes) -------------------------------------------------------------

type TServerSpec = { kind: 'hello' } | { kind: 'registry'; storage: IStorageConfig };

async function serve(spec: TServerSpec) {
  let listener: http.RequestListener = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' });
    res.end('hello');
  };
  let token = '';
  if (spec.kind === 'registry') {
    const registry = new SmartRegistry({
      storage: spec.storage,
      auth: { tokenStore: 'memory', users: { bench: { password: 'bench-password', scopes: ['pypi:*:*:*'] } } },
      logging: { level: 'error' },
      limits: { maxArtifactBytes: 2 * 1024 * MiB },
      pypi: { enabled: true, basePath: '/pypi' },
    });
    await registry.init();
    token = await registry.getAuthManager().createPypiToken('bench', false);
    listener = createNodeHandler(registry) as http.RequestListener;
  }
  let peakRss = 0;
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50).unref();
  const server = http.createServer(listener);
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 0;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port, token }));
  process.on('message', (message) => {
    if (message === 'rss-reset') peakRss = process.memoryUsage().rss;
    if (message === 'rss') process.send!({ rss: peakRss });
  });
  process.on('disconnect', () => process.exit(0));
}

interface IServer {
  port: number;
  token: string;
  child: ChildProcess;
  ask(message: string): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(spec: TServerSpec): Promise<IServer> {
  const child = fork(SELF, ['--serve', JSON.stringify(spec)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number; token: string }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    child,
    ...ready,
    ask: (message) =>
      new Promise((resolve) => {
        if (message === 'rss-reset') {
          child.send(message);
          return resolve(0);
        }
        child.once('message', (answer) => resolve((answer as { rss: number }).rss));
        child.send(message);
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

// ---- the client --------------------------------------------------------------------------------

function send(port: number, method: string, target: string, headers: Record<string, string>, body?: Buffer | Readable, agent?: http.Agent) {
  return new Promise<{ status: number; bytes: number; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent }, (res) => {
      let bytes = 0;
      let text = '';
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (text.length < 2000) text += chunk.toString('utf8', 0, Math.min(chunk.length, 2000));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** Requests per second and bytes per second of `connections` loops, for `seconds` after a short warm-up. */
async function load(port: number, target: string, headers: Record<string, string>, seconds: number) {
  const connections = CONNECTIONS;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const from = performance.now() + 500;
  const until = from + seconds * 1000;
  let requests = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const sent = performance.now();
        const result = await send(port, 'GET', target, headers, undefined, agent);
        if (result.status !== 200) throw new Error(`GET ${target}: ${result.status} ${result.text}`);
        if (sent >= from && performance.now() <= until) {
          requests++;
          bytes += result.bytes;
        }
      }
    }),
  );
  agent.destroy();
  return { rps: requests / seconds, mbps: bytes / 1e6 / seconds };
}

/** MB/s of `connections` clients each fetching `target` `rounds` times: every byte counts, however long a body takes. */
async function throughput(port: number, target: string, headers: Record<string, string>, connections: number, rounds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const started = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let round = 0; round < rounds; round++) {
        const result = await send(port, 'GET', target, headers, undefined, agent);
        if (result.status !== 200) throw new Error(`GET ${target}: ${result.status}`);
        bytes += result.bytes;
      }
    }),
  );
  agent.destroy();
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mark = (ok: boolean) => (ok ? 'ok  ' : 'MISS');

// ---- uploads -----------------------------------------------------------------------------------

async function upload(server: IServer, name: string, version: string, file: { filename: string; bytes: Buffer }) {
  const body = multipartBody(await uploadFields(name, version, file), file);
  const started = performance.now();
  const result = await send(server.port, 'POST', '/pypi/', {
    authorization: `Bearer ${server.token}`,
    'content-type': MULTIPART_TYPE,
    'content-length': String(body.length),
  }, body);
  if (result.status !== 200) throw new Error(`upload ${file.filename}: ${result.status} ${result.text}`);
  return performance.now() - started;
}

/** A wheel of `size` bytes streamed as it is made: fields, the zip, then the digests (computed on the way). */
async function streamedBigUpload(server: IServer, size: number) {
  const name = 'bench-big';
  const dist = 'bench_big';
  const filename = `${dist}-1.0-py3-none-any.whl`;
  const sha256 = crypto.createHash('sha256');
  const blake = await createBLAKE2b(256);
  blake.init();
  const cipher = crypto.createCipheriv('aes-128-ctr', crypto.randomBytes(16), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  async function* data() {
    for (let left = size; left > 0; left -= MiB) yield cipher.update(zeros.subarray(0, Math.min(MiB, left)));
  }
  const part = (field: string, value: string) => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`);
  async function* body() {
    for (const [field, value] of [[':action', 'file_upload'], ['name', name], ['version', '1.0'], ['filetype', 'bdist_wheel'], ['pyversion', 'py3']]) yield part(field, value);
    yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const entries = [
      { name: `${dist}-1.0.dist-info/METADATA`, data: Buffer.from(coreMetadata(name, '1.0')) },
      { name: `${dist}/data.bin`, data: data },
    ];
    for await (const chunk of zipChunks(entries)) {
      sha256.update(chunk);
      blake.update(chunk);
      yield chunk;
    }
    yield Buffer.from('\r\n');
    yield part('sha256_digest', sha256.digest('hex'));
    yield part('blake2_256_digest', blake.digest('hex'));
    yield Buffer.from(`--${BOUNDARY}--\r\n`);
  }
  const result = await send(server.port, 'POST', '/pypi/', { authorization: `Bearer ${server.token}`, 'content-type': MULTIPART_TYPE, 'transfer-encoding': 'chunked' }, Readable.from(body()));
  if (result.status !== 200) throw new Error(`1 GiB upload: ${result.status} ${result.text}`);
  return `/pypi/packages/${name}/${filename}`;
}

// ---- one backend -------------------------------------------------------------------------------

async function benchBackend(label: string, storage: IStorageConfig, hello: IServer, seconds: number, big: boolean, onlyBig: boolean) {
  if (onlyBig) return benchBig(storage);
  const server = await startServer({ kind: 'registry', storage });
  const auth = { authorization: `Bearer ${server.token}` };
  try {
    console.log(`\n[${label}] uploading 200 versions of bench-index (small wheels, one at a time)`);
    const times: number[] = [];
    for (let i = 1; i <= 200; i++) times.push(await upload(server, 'bench-index', `1.${i}`, await makeWheel('bench-index', `1.${i}`)));
    const early = median(times.slice(0, 10));
    const late = median(times.slice(189, 200));
    console.log(`  upload median ${median(times).toFixed(1)} ms   ${mark(median(times) <= 10)} target ≤ 10 ms`);
    console.log(`  uploads 1-10 ${early.toFixed(1)} ms, 190-200 ${late.toFixed(1)} ms: ${(late / early).toFixed(2)}×   ${mark(late <= early * 1.2)} target ≤ 1.2×`);

    const pages: [string, string, Record<string, string>][] = [
      ['index GET (JSON, as pip asks)', '/pypi/simple/bench-index/', { accept: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01' }],
      ['index GET (HTML)', '/pypi/simple/bench-index/', { accept: 'text/html' }],
      ['metadata GET (PEP 658)', '/pypi/packages/bench-index/bench_index-1.200-py3-none-any.whl.metadata', {}],
    ];
    for (const [what, target, headers] of pages) {
      const base = await load(hello.port, '/', {}, seconds);
      const result = await load(server.port, target, { ...auth, ...headers }, seconds);
      const ratio = result.rps / base.rps;
      console.log(`  ${what}: ${result.rps.toFixed(0)} req/s, hello ${base.rps.toFixed(0)} req/s: ${ratio.toFixed(2)}×   ${mark(ratio >= 0.3)} target ≥ 0.3×`);
    }

    const large = await makeWheel('bench-large', '1.0', { extraEntries: [{ name: 'bench_large/data.bin', data: crypto.randomBytes(64 * MiB), method: 'stored' }] });
    await upload(server, 'bench-large', '1.0', large);
    const artifactMbps = await throughput(server.port, `/pypi/packages/bench-large/${large.filename}`, auth, 4, 4);
    console.log(`  artifact GET (64 MiB, 4 connections × 4): ${artifactMbps.toFixed(0)} MB/s   ${label === 'fs' ? `${mark(artifactMbps >= 800)} target ≥ 800 MB/s` : ''}`);

  } finally {
    await server.stop();
  }
  if (big) await benchBig(storage);
}

/** In a fresh server process, so its peak RSS is the 1 GiB round trip's and not what earlier phases left. */
async function benchBig(storage: IStorageConfig) {
  const server = await startServer({ kind: 'registry', storage });
  try {
    const idle = (await server.ask('rss')) / MiB;
    await server.ask('rss-reset');
    const started = performance.now();
    const target = await streamedBigUpload(server, 1024 * MiB);
    const uploadSeconds = (performance.now() - started) / 1000;
    const downloadStarted = performance.now();
    const downloaded = await send(server.port, 'GET', target, { authorization: `Bearer ${server.token}` });
    const downloadSeconds = (performance.now() - downloadStarted) / 1000;
    const peak = (await server.ask('rss')) / MiB;
    console.log(
      `  1 GiB wheel: upload ${(1024 / uploadSeconds).toFixed(0)} MiB/s, download ${(downloaded.bytes / MiB / downloadSeconds).toFixed(0)} MiB/s, ` +
        `server RSS idle ${idle.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB   ${mark(peak <= 120)} target ≤ 120 MiB`,
    );
  } finally {
    await server.stop();
  }
}

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')) as [string, string][]);
  const seconds = Number(args.seconds ?? 5);
  const backends = (args.backend ?? 'all') === 'all' ? ['fs', 's3'] : [args.backend];
  const big = !('no-big' in args);
  const onlyBig = args.only === 'big';
  console.log(`pypi benchmark — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} (a shared machine: figures are under load)`);
  const hello = await startServer({ kind: 'hello' });
  try {
    for (const backend of backends) {
      if (backend === 'fs') {
        const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-pypi-'));
        try {
          await benchBackend('fs', { type: 'filesystem', path: dir }, hello, seconds, big, onlyBig);
        } finally {
          await fsp.rm(dir, { recursive: true, force: true });
        }
      } else {
        const s3 = await startS3Server();
        try {
          await benchBackend('s3', { type: 's3', ...s3.descriptor, bucketName: 'bench-pypi' }, hello, seconds, big, onlyBig);
        } finally {
          await s3.stop();
        }
      }
    }
  } finally {
    await hello.stop();
  }
}

if (process.argv[2] === '--serve') void serve(JSON.parse(process.argv[3]) as TServerSpec);
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
