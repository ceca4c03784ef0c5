// The OCI benchmark (issue "OCI Distribution v1.1 registry"): through `smartregistry serve`, on the
// filesystem backend and on S3 (s3rver), measure
//   - 1 GiB blob push, monolithic (POST + PUT) and in 8 chunks (POST + 8 PATCH + PUT), MB/s and the
//     server's CPU-seconds per GiB,
//   - 1 GiB blob pull, MB/s and the server's CPU-seconds per GiB,
//   - manifest GET req/s at 32 connections, as a ratio to a bare node:http hello server measured in
//     the same run with the same load generator,
//   - the server's peak RSS (sampled while moving the data, and VmHWM over its whole life).
// The server runs compiled (bench/helpers.load.ts: a server under tsx carries its loader thread);
// BENCH_TSX=1 runs it under tsx.
// Run: node --import tsx bench/oci.ts            (BENCH_OCI_MIB=1024, BENCH_OCI_S3_MIB=1024, BENCH_OCI_SECONDS=12 per server)
//      node --import tsx bench/oci.ts fs         (one backend only: fs or s3)
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3Server } from '../test/helpers/s3server.js';
import { CONNECTIONS, compiledScript, cpuSeconds, loadTest, mark, processMiB, rssSampler, startHelloServer } from './helpers.load.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BLOB_BYTES = Number(process.env.BENCH_OCI_MIB ?? 1024) * MiB;
const S3_BLOB_BYTES = Number(process.env.BENCH_OCI_S3_MIB ?? 1024) * MiB;
const LOAD_SECONDS = Number(process.env.BENCH_OCI_SECONDS ?? 12);
const LOAD_ROUNDS = 6;
const CHUNKS = 8;
/** Blob content: one random block repeated (hashing does not care, generating 1 GiB would). */
const BLOCK_BYTES = 16 * MiB;
const TARGETS = { pushMBs: 300, pullMBs: 600, manifestRatio: 0.2, peakRssMiB: 120 };

const mb = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const fmt = (value: number, digits = 1) => value.toFixed(digits);

// ---- blob content ------------------------------------------------------------------------------

interface IBlob {
  block: Buffer;
  size: number;
  digest: string;
}

function makeBlob(size: number): IBlob {
  const block = crypto.randomBytes(Math.min(BLOCK_BYTES, size));
  const hash = crypto.createHash('sha256');
  for (let offset = 0; offset < size; offset += block.length) hash.update(block.subarray(0, Math.min(block.length, size - offset)));
  return { block, size, digest: `sha256:${hash.digest('hex')}` };
}

/** Write bytes [start, end) of the blob into a request, honouring backpressure. */
async function writeRange(req: http.ClientRequest, blob: IBlob, start: number, end: number) {
  let offset = start;
  while (offset < end) {
    const inBlock = offset % blob.block.length;
    const length = Math.min(blob.block.length - inBlock, end - offset);
    const ok = req.write(blob.block.subarray(inBlock, inBlock + length));
    offset += length;
    if (!ok) await new Promise((resolve) => req.once('drain', resolve));
  }
}

// ---- a small HTTP client -----------------------------------------------------------------------

interface IReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: { blob: IBlob; start: number; end: number } | Buffer,
  discardBody = false,
): Promise<IReply & { bytes: number }> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, base);
    const length = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.end - body.start;
    const req = http.request(
      { host: target.hostname, port: target.port, method, path: target.pathname + target.search, agent, headers: { ...headers, 'content-length': String(length) } },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (!discardBody) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body === undefined) return void req.end();
    if (Buffer.isBuffer(body)) return void req.end(body);
    writeRange(req, body.blob, body.start, body.end).then(() => req.end(), reject);
  });
}

function expect(reply: IReply, status: number, what: string) {
  if (reply.status !== status) throw new Error(`${what}: expected ${status}, got ${reply.status} ${reply.body.toString().slice(0, 300)}`);
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

// ---- the server ---------------------------------------------------------------------------------

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The CLI entry to run, compiled, and the environment it runs in. */
interface IServerCommand {
  args: string[];
  env: NodeJS.ProcessEnv;
}

const serverCommand = (): IServerCommand => {
  const { file, execArgv, env } = compiledScript(path.join(ROOT, 'ts', 'cli', 'index.ts'));
  return { args: [...execArgv, file], env };
};

interface IServer {
  url: string;
  adminPassword: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `smartregistry serve` on 127.0.0.1 with a free port and a fresh data directory. */
async function startServer(command: IServerCommand, args: string[]): Promise<IServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartregistry-bench-oci-'));
  const child = spawn(process.execPath, [...command.args, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, ...args], {
    cwd: ROOT,
    env: command.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<{ url: string; adminPassword: string }>((resolve, reject) => {
    let output = '';
    let adminPassword = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      for (const line of output.split('\n')) {
        const [kind, name, value] = line.trim().split(/\s+/);
        if (kind === 'admin' && value) adminPassword = value;
        if (kind === 'ready' && name) resolve({ url: name, adminPassword });
      }
    });
    child.once('exit', (code) => reject(new Error(`smartregistry serve exited with ${code}`)));
  });
  child.stdout!.resume();
  return {
    ...ready,
    child,
    async stop() {
      await stopChild(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---- one backend -------------------------------------------------------------------------------

interface IResult {
  backend: string;
  blobMiB: number;
  pushMonoMBs: number;
  pushMonoCpuPerGiB: number;
  pushChunkedMBs: number;
  pushChunkedCpuPerGiB: number;
  pullMBs: number;
  pullCpuPerGiB: number;
  manifestRps: number;
  helloRps: number;
  /** Median over rounds of (manifest req/s ÷ hello req/s measured right after). */
  manifestRatio: number;
  rssDuringMiB: number;
  hwmMiB: number;
}

async function runBackend(command: IServerCommand, backend: string, size: number, serveArgs: string[]): Promise<IResult> {
  console.log(`\n[${backend}] starting smartregistry serve, preparing two ${size / MiB} MiB blobs`);
  const server = await startServer(command, serveArgs);
  const pid = server.child.pid!;
  const base = new URL(server.url);
  try {
    // Made before the first request: making them takes longer than the server keeps an idle connection
    // open (5 s), and the next request on that connection would meet a socket the server closed.
    const blobs = [makeBlob(size), makeBlob(size)];
    const basicAuth = `Basic ${Buffer.from(`admin:${server.adminPassword}`).toString('base64')}`;
    // Two scopes in one parameter (space-separated): repeated `scope` parameters need an adapter that keeps them all.
    const scope = encodeURIComponent('repository:bench/blobs:pull,push repository:bench/app:pull,push');
    const token = await request(base, 'GET', `/v2/token?service=bench&scope=${scope}`, { authorization: basicAuth });
    expect(token, 200, 'token');
    const auth = { authorization: `Bearer ${JSON.parse(token.body.toString()).token}` };
    const baselineMiB = processMiB(pid, 'VmRSS');
    console.log(`[${backend}] server RSS after start-up: ${fmt(baselineMiB)} MiB`);
    let rss = rssSampler(pid);
    const phasePeaks: string[] = [];

    // Monolithic: POST opens a session, one PUT carries the whole blob and the digest.
    let cpu = cpuSeconds(pid);
    let started = process.hrtime.bigint();
    let reply = await request(base, 'POST', '/v2/bench/blobs/blobs/uploads/', auth);
    expect(reply, 202, 'POST upload');
    reply = await request(base, 'PUT', `${reply.headers.location}?digest=${blobs[0].digest}`, { ...auth, 'content-type': 'application/octet-stream' }, { blob: blobs[0], start: 0, end: size });
    expect(reply, 201, 'PUT monolithic');
    let seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const pushMonoMBs = mb(size, seconds);
    const pushMonoCpuPerGiB = ((cpuSeconds(pid) - cpu) * GiB) / size;
    console.log(`[${backend}] push monolithic: ${fmt(pushMonoMBs)} MB/s (${fmt(seconds, 2)} s, server ${fmt(pushMonoCpuPerGiB, 2)} CPU-s/GiB)`);
    let peak = rss.stop();
    phasePeaks.push(`push monolithic ${fmt(peak)}`);
    rss = rssSampler(pid);

    // Chunked: POST, 8 PATCH with Content-Range, PUT with the digest and no body.
    cpu = cpuSeconds(pid);
    started = process.hrtime.bigint();
    reply = await request(base, 'POST', '/v2/bench/blobs/blobs/uploads/', auth);
    expect(reply, 202, 'POST upload');
    let location = reply.headers.location!;
    const chunk = size / CHUNKS;
    for (let i = 0; i < CHUNKS; i++) {
      const start = i * chunk;
      const end = i === CHUNKS - 1 ? size : start + chunk;
      reply = await request(base, 'PATCH', location, { ...auth, 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` }, { blob: blobs[1], start, end });
      expect(reply, 202, `PATCH ${i}`);
      location = reply.headers.location!;
    }
    reply = await request(base, 'PUT', `${location}?digest=${blobs[1].digest}`, auth);
    expect(reply, 201, 'PUT chunked');
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const pushChunkedMBs = mb(size, seconds);
    const pushChunkedCpuPerGiB = ((cpuSeconds(pid) - cpu) * GiB) / size;
    console.log(`[${backend}] push in ${CHUNKS} chunks: ${fmt(pushChunkedMBs)} MB/s (${fmt(seconds, 2)} s, server ${fmt(pushChunkedCpuPerGiB, 2)} CPU-s/GiB)`);
    peak = Math.max(peak, rss.stop());
    phasePeaks.push(`push chunked ${fmt(rss.stop())}`);
    rss = rssSampler(pid);

    // Pull both (one single-part, one eight-part blob), report the mean.
    let pullSeconds = 0;
    cpu = cpuSeconds(pid);
    for (const blob of blobs) {
      started = process.hrtime.bigint();
      reply = await request(base, 'GET', `/v2/bench/blobs/blobs/${blob.digest}`, auth, undefined, true);
      expect(reply, 200, 'GET blob');
      if ((reply as IReply & { bytes: number }).bytes !== size) throw new Error(`pulled ${(reply as IReply & { bytes: number }).bytes} bytes, expected ${size}`);
      pullSeconds += Number(process.hrtime.bigint() - started) / 1e9;
    }
    const pullMBs = mb(size * blobs.length, pullSeconds);
    const pullCpuPerGiB = ((cpuSeconds(pid) - cpu) * GiB) / (size * blobs.length);
    phasePeaks.push(`pull ${fmt(rss.stop())}`);
    const rssDuringMiB = Math.max(peak, rss.stop());
    console.log(`[${backend}] pull: ${fmt(pullMBs)} MB/s (server ${fmt(pullCpuPerGiB, 2)} CPU-s/GiB); server peak RSS while moving the blobs ${fmt(rssDuringMiB)} MiB (${phasePeaks.join(', ')} MiB)`);

    // A small image to GET: config + one layer + manifest, tagged.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = `sha256:${crypto.createHash('sha256').update(config).digest('hex')}`;
    expect(await request(base, 'POST', `/v2/bench/app/blobs/uploads/?digest=${configDigest}`, auth, config), 201, 'config');
    const layer = crypto.randomBytes(1024);
    const layerDigest = `sha256:${crypto.createHash('sha256').update(layer).digest('hex')}`;
    expect(await request(base, 'POST', `/v2/bench/app/blobs/uploads/?digest=${layerDigest}`, auth, layer), 201, 'layer');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
      }),
    );
    expect(await request(base, 'PUT', '/v2/bench/app/manifests/latest', { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, manifest), 201, 'manifest');

    // Manifest GETs and the hello server in alternating rounds, so that both see the same machine
    // (other work on a shared machine moves absolute figures a lot); the ratio is the median of rounds.
    const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';
    const hello = await startHelloServer();
    const ratios: number[] = [];
    let manifestBest = 0;
    let helloBest = 0;
    try {
      for (let round = 0; round < LOAD_ROUNDS; round++) {
        const manifestRound = await loadTest(Number(base.port), '/v2/bench/app/manifests/latest', { ...auth, accept }, LOAD_SECONDS / LOAD_ROUNDS);
        const helloRound = await loadTest(hello.port, '/', {}, LOAD_SECONDS / LOAD_ROUNDS);
        manifestBest = Math.max(manifestBest, manifestRound.rps);
        helloBest = Math.max(helloBest, helloRound.rps);
        ratios.push(manifestRound.rps / helloRound.rps);
      }
    } finally {
      await hello.stop();
    }
    ratios.sort((a, b) => a - b);
    const manifestRatio = ratios[Math.floor(ratios.length / 2)];
    console.log(
      `[${backend}] manifest GET: best ${fmt(manifestBest, 0)} req/s at ${CONNECTIONS} connections; hello best ${fmt(helloBest, 0)} req/s; ratio per round ${ratios.map((r) => fmt(r, 3)).join(' ')}, median ${fmt(manifestRatio, 3)}`,
    );
    const hwmMiB = processMiB(pid, 'VmHWM');
    console.log(`[${backend}] server VmHWM (peak RSS over its whole life): ${fmt(hwmMiB)} MiB`);
    return {
      backend,
      blobMiB: size / MiB,
      pushMonoMBs,
      pushMonoCpuPerGiB,
      pushChunkedMBs,
      pushChunkedCpuPerGiB,
      pullMBs,
      pullCpuPerGiB,
      manifestRps: manifestBest,
      helloRps: helloBest,
      manifestRatio,
      rssDuringMiB,
      hwmMiB,
    };
  } finally {
    await server.stop();
  }
}

function report(results: IResult[]) {
  console.log('\nOCI benchmark (2-core reference: distribution 2.8 push ~114/110 MB/s, pull ~464 MB/s, 0.038x hello, 27-48 MiB)');
  for (const r of results) {
    const ratio = r.manifestRatio;
    console.log(`\n  ${r.backend} (${r.blobMiB} MiB blobs)`);
    console.log(`    ${mark(r.pushMonoMBs >= TARGETS.pushMBs)} push monolithic   ${fmt(r.pushMonoMBs).padStart(8)} MB/s   target >= ${TARGETS.pushMBs}   (${fmt(r.pushMonoCpuPerGiB, 2)} CPU-s/GiB)`);
    console.log(`    ${mark(r.pushChunkedMBs >= TARGETS.pushMBs)} push 8 chunks     ${fmt(r.pushChunkedMBs).padStart(8)} MB/s   target >= ${TARGETS.pushMBs}   (${fmt(r.pushChunkedCpuPerGiB, 2)} CPU-s/GiB)`);
    console.log(`    ${mark(r.pullMBs >= TARGETS.pullMBs)} pull              ${fmt(r.pullMBs).padStart(8)} MB/s   target >= ${TARGETS.pullMBs}   (${fmt(r.pullCpuPerGiB, 2)} CPU-s/GiB)`);
    console.log(`    ${mark(ratio >= TARGETS.manifestRatio)} manifest GET      ${fmt(r.manifestRps, 0).padStart(8)} req/s  best, median ratio ${fmt(ratio, 3)}x hello (best ${fmt(r.helloRps, 0)} req/s), target >= ${TARGETS.manifestRatio}x`);
    console.log(`    ${mark(r.rssDuringMiB <= TARGETS.peakRssMiB)} peak RSS moving   ${fmt(r.rssDuringMiB).padStart(8)} MiB    target <= ${TARGETS.peakRssMiB} (VmHWM over the whole run ${fmt(r.hwmMiB)} MiB)`);
  }
}

const only = process.argv[2];
const results: IResult[] = [];
const command = serverCommand();
if (!only || only === 'fs') results.push(await runBackend(command, 'filesystem', BLOB_BYTES, []));
if (!only || only === 's3') {
  const s3 = await startS3Server();
  try {
    const { endpoint, port, accessKey, accessSecret, region } = s3.descriptor;
    results.push(
      await runBackend(command, 's3 (s3rver)', S3_BLOB_BYTES, [
        '--s3-endpoint', endpoint, '--s3-port', String(port), '--s3-bucket', 'oci-bench',
        '--s3-access-key', accessKey, '--s3-secret-key', accessSecret, '--s3-region', region ?? 'us-east-1',
        '--s3-allow-unconditional-writes',
      ]),
    );
  } finally {
    await s3.stop();
  }
}
agent.destroy();
report(results);
