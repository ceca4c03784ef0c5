/**
 * PyPI benchmark (`npm run bench -- pypi`, or `node --import tsx bench/pypi.ts`).
 *
 * The registry (compiled) and a bare node:http "hello" server run in child processes; load comes from
 * here over keep-alive sockets (bench/helpers.load.ts). Rates are printed next to the hello server's, measured right before, so each
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
import * as crypto from 'node:crypto';
import type * as http from 'node:http';
import * as os from 'node:os';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createBLAKE2b } from 'hash-wasm';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { zipChunks } from '../test/core/archive/zipwriter.js';
import { BOUNDARY, MULTIPART_TYPE, coreMetadata, makeWheel, multipartBody, uploadFields } from '../test/pypi/fixtures.js';
import {
  benchRequest,
  curlThroughput,
  documentFigure,
  documentLoad,
  kilobytes,
  mark,
  median,
  withServerCpu,
  parseBenchArgs,
  rssSampler,
  serveInChild,
  startBenchServer,
  startHelloServer,
  withBackends,
  type IBenchServer,
} from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;

// ---- the registry (child process) --------------------------------------------------------------

async function buildRegistry(storage: IStorageConfig) {
  const registry = new SmartRegistry({
    storage,
    auth: { tokenStore: 'memory', users: { bench: { password: 'bench-password', scopes: ['pypi:*:*:*'] } } },
    logging: { level: 'error' },
    limits: { maxArtifactBytes: 2 * 1024 * MiB },
    pypi: { enabled: true, basePath: '/pypi' },
  });
  await registry.init();
  const token = await registry.getAuthManager().createPypiToken('bench', false);
  return { handler: createNodeHandler(registry) as http.RequestListener, token };
}

const startServer = (storage: IStorageConfig) => startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);

// ---- uploads -----------------------------------------------------------------------------------

/** One upload, in wall ms; the server's CPU ms meanwhile go to `cpu` when given. */
async function upload(server: IBenchServer, name: string, version: string, file: { filename: string; bytes: Buffer }, cpu?: number[]) {
  const body = multipartBody(await uploadFields(name, version, file), file);
  const started = performance.now();
  const headers = { authorization: `Bearer ${server.token}`, 'content-type': MULTIPART_TYPE };
  const request = () => benchRequest({ port: server.port, method: 'POST', path: '/pypi/', headers, body });
  const result = await (cpu ? withServerCpu(server.child.pid!, cpu, request) : request());
  if (result.status !== 200) throw new Error(`upload ${file.filename}: ${result.status} ${result.text}`);
  return performance.now() - started;
}

/** A wheel of `size` bytes streamed as it is made: fields, the zip, then the digests (computed on the way). */
async function streamedBigUpload(server: IBenchServer, size: number) {
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
  const headers = { authorization: `Bearer ${server.token}`, 'content-type': MULTIPART_TYPE, 'transfer-encoding': 'chunked' };
  const result = await benchRequest({ port: server.port, method: 'POST', path: '/pypi/', headers, body: Readable.from(body()) });
  if (result.status !== 200) throw new Error(`1 GiB upload: ${result.status} ${result.text}`);
  return `/pypi/packages/${name}/${filename}`;
}

// ---- one backend -------------------------------------------------------------------------------

async function benchBackend(label: string, storage: IStorageConfig, hello: IBenchServer, seconds: number, big: boolean, onlyBig: boolean) {
  if (onlyBig) return benchBig(storage);
  const server = await startServer(storage);
  const auth = { authorization: `Bearer ${server.token}` };
  try {
    console.log(`\n[${label}] uploading 200 versions of bench-index (small wheels, one at a time)`);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 1; i <= 200; i++) times.push(await upload(server, 'bench-index', `1.${i}`, await makeWheel('bench-index', `1.${i}`), cpu));
    const early = median(times.slice(0, 10));
    const late = median(times.slice(189, 200));
    console.log(`  upload median ${median(times).toFixed(1)} ms   ${mark(median(times) <= 10)} target ≤ 10 ms`);
    console.log(`  uploads 1-10 ${early.toFixed(1)} ms, 190-200 ${late.toFixed(1)} ms: ${(late / early).toFixed(2)}×   ${mark(late <= early * 1.2)} target ≤ 1.2×`);
    const [cpuEarly, cpuLate] = [median(cpu.slice(0, 10)), median(cpu.slice(189, 200))];
    console.log(`  server CPU per upload, 1-10 ${cpuEarly.toFixed(2)} ms, 190-200 ${cpuLate.toFixed(2)} ms: ${(cpuLate / cpuEarly).toFixed(2)}×`);

    const pages: [string, string, Record<string, string>][] = [
      ['index GET (JSON, as pip asks)', '/pypi/simple/bench-index/', { accept: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01' }],
      ['index GET (HTML)', '/pypi/simple/bench-index/', { accept: 'text/html' }],
      ['metadata GET (PEP 658)', '/pypi/packages/bench-index/bench_index-1.200-py3-none-any.whl.metadata', {}],
    ];
    for (const [what, target, headers] of pages) {
      const load = await documentLoad(hello, server, target, { ...auth, ...headers }, seconds);
      console.log(`  ${what} (${kilobytes(load.bytes)}): ${load.rps.toFixed(0)} ${documentFigure(load)}`);
    }

    const large = await makeWheel('bench-large', '1.0', { extraEntries: [{ name: 'bench_large/data.bin', data: crypto.randomBytes(64 * MiB), method: 'stored' }] });
    await upload(server, 'bench-large', '1.0', large);
    const artifactMbps = await curlThroughput(`http://127.0.0.1:${server.port}/pypi/packages/bench-large/${large.filename}`, auth, 4, 4);
    console.log(`  artifact GET (64 MiB, 4 curl clients × 4): ${artifactMbps.toFixed(0)} MB/s   ${label === 'filesystem' ? `${mark(artifactMbps >= 800)} target ≥ 800 MB/s` : ''}`);

  } finally {
    await server.stop();
  }
  if (big) await benchBig(storage);
}

/** In a fresh server process, so its peak RSS is the 1 GiB round trip's and not what earlier phases left. */
async function benchBig(storage: IStorageConfig) {
  const server = await startServer(storage);
  try {
    const rss = rssSampler(server.child.pid!);
    const idle = rss.now();
    const started = performance.now();
    const target = await streamedBigUpload(server, 1024 * MiB);
    const uploadSeconds = (performance.now() - started) / 1000;
    const downloadStarted = performance.now();
    const downloaded = await benchRequest({ port: server.port, path: target, headers: { authorization: `Bearer ${server.token}` } });
    const downloadSeconds = (performance.now() - downloadStarted) / 1000;
    const peak = rss.stop();
    console.log(
      `  1 GiB wheel: upload ${(1024 / uploadSeconds).toFixed(0)} MiB/s, download ${(downloaded.bytes / MiB / downloadSeconds).toFixed(0)} MiB/s, ` +
        `server RSS idle ${idle.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB   ${mark(peak <= 120)} target ≤ 120 MiB`,
    );
  } finally {
    await server.stop();
  }
}

async function main() {
  const args = parseBenchArgs();
  const seconds = Number(args.seconds ?? 5);
  const big = !('no-big' in args);
  const onlyBig = args.only === 'big';
  console.log(`pypi benchmark — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} (a shared machine: figures are under load)`);
  const hello = await startHelloServer();
  try {
    await withBackends(args.backend ?? 'all', 'pypi', (label, storage) => benchBackend(label, storage, hello, seconds, big, onlyBig));
  } finally {
    await hello.stop();
  }
}

if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]) as IStorageConfig));
else await main();
