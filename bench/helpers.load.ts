/**
 * What a protocol benchmark needs besides its own fixtures: servers in child processes (a bare
 * node:http hello to compare with, and the registry, both compiled), a cheap keep-alive load
 * generator, curl for throughput, CPU and RSS figures from /proc, and the filesystem / local s3rver /
 * local Ceph RGW backends.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SERVE_ENV, SERVE_NODE_FLAGS } from '../ts/cli/runtime.js';
import type { IS3StorageConfig, IStorageConfig } from '../ts/core/interfaces.core.js';
import { HttpResponseCounter } from './helpers.responsecounter.js';
import { startS3Trace } from './helpers.s3trace.js';

export const CONNECTIONS = 32;

// ---- the code under test, compiled -------------------------------------------------------------

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Inside node_modules so that the compiled files resolve packages as the sources do; one per bench process and
 * checkout (a bench comparing two checkouts whose node_modules are one directory compiles each into its own).
 */
const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', `smartregistry-bench-${process.pid}-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`);
const builtScripts = new Map<string, string>();

/**
 * How to run `script` (a .ts file of this repository): its compiled JavaScript, because a server
 * under tsx carries tsx's loader thread (some 50 MiB of RSS that a deployed server does not have),
 * with the Node flags and environment `smartregistry serve` gets from its bin (BENCH_SERVE_FLAGS=0 leaves
 * them out, to compare). BENCH_TSX=1 runs the TypeScript under tsx instead.
 */
export function compiledScript(script: string): { file: string; execArgv: string[]; env: NodeJS.ProcessEnv } {
  const asServed = process.env.BENCH_SERVE_FLAGS !== '0';
  const serveFlags = asServed ? SERVE_NODE_FLAGS : [];
  const env = asServed ? { ...process.env, ...SERVE_ENV } : process.env;
  if (process.env.BENCH_TSX === '1') return { file: script, execArgv: [...serveFlags, '--import', 'tsx'], env };
  let file = builtScripts.get(script);
  if (!file) {
    const config = path.join(BUILD_DIR, `tsconfig.${builtScripts.size}.json`);
    fs.mkdirSync(BUILD_DIR, { recursive: true });
    if (builtScripts.size === 0) process.once('exit', () => fs.rmSync(BUILD_DIR, { recursive: true, force: true }));
    const compilerOptions = { rootDir: ROOT, outDir: BUILD_DIR, declaration: false, sourceMap: false };
    fs.writeFileSync(config, JSON.stringify({ extends: path.join(ROOT, 'tsconfig.json'), compilerOptions, include: [], files: [script] }));
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { stdio: 'inherit' });
    if (tsc.status !== 0) throw new Error(`compiling ${script} failed (BENCH_TSX=1 runs it under tsx)`);
    file = path.join(BUILD_DIR, path.relative(ROOT, script).replace(/\.ts$/, '.js'));
    builtScripts.set(script, file);
  }
  return { file, execArgv: [...serveFlags], env };
}

// ---- servers in child processes ----------------------------------------------------------------

/** Largest body the hello server sends for `/bytes/{n}`. */
const MAX_HELLO_BYTES = 64 * 1024 * 1024;
const helloBodies = new Map<number, Buffer>();

/**
 * `hello`, or for `/bytes/{n}` a body of n bytes (made once): a document's rate is bound partly by its bytes
 * (the kernel copies them, the load generator counts them), which a hello of the same size shows.
 */
const helloHandler: http.RequestListener = (req, res) => {
  const size = /^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1];
  const length = size === undefined ? 0 : Math.min(Number(size), MAX_HELLO_BYTES);
  let body = size === undefined ? HELLO : helloBodies.get(length);
  if (!body) helloBodies.set(length, (body = Buffer.alloc(length, 'x')));
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) });
  res.end(body);
};
const HELLO = Buffer.from('hello');

/** Child side: serve `handler` (or the hello server when null) on a free port, report port and token. */
export async function serveInChild(build: (() => Promise<{ handler: http.RequestListener; token: string }>) | null) {
  const built = build ? await build() : { handler: helloHandler, token: '' };
  const server = http.createServer(built.handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port, token: built.token }));
  process.on('disconnect', () => process.exit(0));
  // childGcMs: the pauses of every collection so far, so a load phase's share of GC shows.
  let gcMs = 0;
  new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) gcMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (message) => {
    if (message === 'gc') return void process.send!({ gcMs });
    if (message !== 'memory') return;
    // childMemory: the heap after a full collection (when the child runs with --expose-gc), so a leak shows apart from garbage.
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ memory: process.memoryUsage() });
  });
}

/** A bench server's memory as it reports it (see serveInChild). */
export function childMemory(server: IBenchServer): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const memory = (message as { memory?: NodeJS.MemoryUsage }).memory;
      if (!memory) return;
      server.child.off('message', onMessage);
      resolve(memory);
    };
    server.child.on('message', onMessage);
    server.child.send('memory');
  });
}

/** Milliseconds the child has spent in GC pauses since it started (see serveInChild). */
export function childGcMs(server: IBenchServer): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const gcMs = (message as { gcMs?: number }).gcMs;
      if (gcMs === undefined) return;
      server.child.off('message', onMessage);
      resolve(gcMs);
    };
    server.child.on('message', onMessage);
    server.child.send('gc');
  });
}

export interface IBenchServer {
  child: ChildProcess;
  port: number;
  token: string;
  stop(): Promise<void>;
}

/**
 * Parent side: fork `script` (compiled) with `args`; it calls serveInChild. `serverNodeArgs` and BENCH_SERVER_NODE_ARGS add
 * Node options to the server only (`--cpu-prof --cpu-prof-dir=…`, `--heapsnapshot-signal=SIGUSR2`).
 */
export async function startBenchServer(script: string, args: string[], serverNodeArgs: string[] = []): Promise<IBenchServer> {
  const { file, execArgv, env } = compiledScript(script);
  const nodeArgs = [...serverNodeArgs, ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = fork(file, args, { execArgv: [...execArgv, ...nodeArgs], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** The bare node:http server to compare with. */
export const startHelloServer = () => startBenchServer(path.join(ROOT, 'bench', 'helpers.helloserver.ts'), []);

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

/** One request; resolves with the status, the body's length and its first 2 KB as text (for error messages). */
export function benchRequest(options: IBenchRequest): Promise<{ status: number; bytes: number; text: string }> {
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
        let text = '';
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (text.length < 2048) text += chunk.toString('utf8', 0, Math.min(chunk.length, 2048));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body && !Buffer.isBuffer(options.body)) options.body.pipe(req);
    else req.end(options.body);
  });
}

export interface ILoadResult {
  rps: number;
  /** Median latency in ms. */
  p50: number;
  bytesPerSecond: number;
  /** Server CPU per request in ms, when the server's pid was given; its main thread's part; GC pauses (when the server was given). */
  cpuMsPerRequest: number;
  mainThreadCpuMsPerRequest: number;
  gcMsPerRequest?: number;
  /**
   * This process's CPU per request in ms: the load generator's (and the `--trace-s3` proxy's, which runs here too).
   * On two cores it shares the machine with the server: when it nears the server's figure, it is the limit.
   */
  generatorCpuMsPerRequest: number;
}

/**
 * `CONNECTIONS` keep-alive sockets, each sending the next GET as soon as the previous answer is
 * complete, for `seconds` after a warm-up; only answers inside the window count. Raw sockets and a
 * counting parser keep the generator cheap: on two cores it shares the machine with the server, and
 * Node's HTTP client would take much of it. Any answer but 200 fails the run.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export async function loadTest(port: number, requestPath: string, headers: Record<string, string>, seconds: number, server?: number | IBenchServer): Promise<ILoadResult> {
  const serverPid = typeof server === 'number' ? server : server?.child.pid;
  const gcMs = typeof server === 'object' ? () => childGcMs(server) : undefined;
  const head = Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
  const request = Buffer.from(`GET ${requestPath} HTTP/1.1\r\n${head.join('')}\r\n`);
  const latencies: number[] = [];
  let bytes = 0;
  let measuring = false;
  let stopping = false;
  let failure: string | undefined;
  const sockets = Array.from({ length: CONNECTIONS }, () => {
    let sentAt = performance.now();
    const counter = new HttpResponseCounter((status, bodyBytes) => {
      const now = performance.now();
      if (status !== 200) failure ??= `GET ${requestPath}: ${status}`;
      if (measuring) {
        latencies.push(now - sentAt);
        bytes += bodyBytes;
      }
      if (stopping || failure) return void socket.end();
      sentAt = now;
      socket.write(request);
    });
    // Every read lands in one shared buffer (the counter keeps none of it): the generator allocates nothing per
    // answer, so its own garbage collections do not grow with the bodies' size and bend the figures.
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: READ_BUFFER, callback: (length) => (counter.push(READ_BUFFER.subarray(0, length)), true) } });
    socket.on('connect', () => socket.write(request));
    socket.on('error', (error) => (failure ??= `GET ${requestPath}: ${error.message}`));
    return { socket, closed: new Promise((resolve) => socket.once('close', resolve)) };
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(Math.min(1000, seconds * 250));
  const gcFrom = await gcMs?.();
  const cpuFrom = serverPid ? cpuSeconds(serverPid) : 0;
  const mainFrom = serverPid ? mainThreadCpuSeconds(serverPid) : 0;
  const generatorFrom = process.cpuUsage();
  const started = performance.now();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpu = serverPid ? cpuSeconds(serverPid) - cpuFrom : 0;
  const main = serverPid ? mainThreadCpuSeconds(serverPid) - mainFrom : 0;
  const generator = process.cpuUsage(generatorFrom);
  const gcDuring = gcFrom === undefined ? undefined : (await gcMs!()) - gcFrom;
  stopping = true;
  await Promise.race([Promise.all(sockets.map((entry) => entry.closed)), sleep(5000)]);
  for (const { socket } of sockets) socket.destroy();
  if (failure) throw new Error(failure);
  return {
    rps: latencies.length / elapsed,
    p50: median(latencies) ?? 0,
    bytesPerSecond: bytes / elapsed,
    cpuMsPerRequest: latencies.length ? (cpu * 1000) / latencies.length : 0,
    mainThreadCpuMsPerRequest: latencies.length ? (main * 1000) / latencies.length : 0,
    ...(gcDuring === undefined ? {} : { gcMsPerRequest: latencies.length ? gcDuring / latencies.length : 0 }),
    generatorCpuMsPerRequest: latencies.length ? (generator.user + generator.system) / 1000 / latencies.length : 0,
  };
}

/**
 * MB/s of `clients` curl processes, each fetching `url` `times` times over one keep-alive connection;
 * `followRedirects` follows a 307 to wherever it points (presigned downloads), as package clients do.
 */
export async function curlThroughput(url: string, headers: Record<string, string>, clients: number, times: number, options: { followRedirects?: boolean } = {}): Promise<number> {
  const config = [
    ...Object.entries(headers).map(([name, value]) => `header = "${name}: ${value}"`),
    'silent',
    'fail',
    ...(options.followRedirects ? ['location'] : []),
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

/** A memory figure of a process in MiB: VmRSS now, or VmHWM, the peak over its whole life. */
export function processMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/**
 * CPU seconds (user + system) a process has used, to the nanosecond: the sum of its threads' run times
 * (`/proc/…/task/…/schedstat`). `/proc/…/stat` counts in 10 ms ticks, too coarse for the tenths of a
 * second a few hundred requests cost. Node's threads live as long as the process, so none is missed.
 */
export function cpuSeconds(pid: number): number {
  let nanoseconds = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) nanoseconds += threadNanoseconds(pid, task);
  return nanoseconds / 1e9;
}

/** CPU seconds of a process's main thread alone: the rest of `cpuSeconds` is V8's compiler and GC helpers and libuv's pool. */
export function mainThreadCpuSeconds(pid: number): number {
  return threadNanoseconds(pid, String(pid)) / 1e9;
}

function threadNanoseconds(pid: number, task: string): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    // the thread ended between the listing and the read
    return 0;
  }
}

/**
 * Runs `work` and adds the CPU ms the server process used meanwhile to `samples`: on a shared machine the
 * server's CPU per publish is bent far less by other work than the wall time is, so growth shows in it.
 */
export async function withServerCpu<R>(pid: number, samples: number[], work: () => Promise<R>): Promise<R> {
  const before = cpuSeconds(pid);
  const result = await work();
  samples.push((cpuSeconds(pid) - before) * 1000);
  return result;
}

/** Peak RSS of a process while something runs, sampled every 50 ms, in MiB. */
export function rssSampler(pid: number) {
  let peak = processMiB(pid, 'VmRSS');
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, processMiB(pid, 'VmRSS'));
    } catch {
      // the process is gone
    }
  }, 50);
  return { now: () => processMiB(pid, 'VmRSS'), stop: () => (clearInterval(timer), peak) };
}

/**
 * Run `body` on the filesystem backend and/or a local s3rver, as `--backend=fs|s3|all` asks, or on a local Ceph RGW
 * (`--backend=ceph`); for Ceph, `enginePids` are its daemons (their CPU is the engine's work, see `cpuSeconds`).
 */
export async function withBackends(backend: string, label: string, body: (name: string, storage: IStorageConfig, enginePids: number[]) => Promise<unknown>) {
  if (backend === 'fs' || backend === 'all') {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `smartregistry-bench-${label}-`));
    try {
      await body('filesystem', { type: 'filesystem', path: dir }, []);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
  if (backend === 's3' || backend === 'all') {
    const { startS3Server } = await import('../test/helpers/s3server.js');
    const s3 = await startS3Server();
    try {
      await withS3Trace(`${label}-s3rver`, { type: 's3', ...s3.descriptor, bucketName: `bench-${label}` }, (storage) => body('s3 (local s3rver)', storage, []));
    } finally {
      await s3.stop();
    }
  }
  // Ceph RGW only when asked for: it takes a while to start and honours conditional writes, unlike s3rver.
  if (backend === 'ceph') {
    const { startCephS3 } = await import('../test/helpers/ceph.js');
    const ceph = await startCephS3();
    try {
      await withS3Trace(`${label}-ceph`, { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName }, (storage) => body('s3 (Ceph RGW)', storage, ceph.daemonPids));
    } finally {
      await ceph.stop();
    }
  }
}

/** With `--trace-s3=PREFIX`, S3 requests go through a logging proxy (helpers.s3trace.ts) into `PREFIX-{label}.log`. */
async function withS3Trace(label: string, storage: IS3StorageConfig, body: (storage: IS3StorageConfig) => Promise<unknown>) {
  const prefix = parseBenchArgs()['trace-s3'];
  if (!prefix) return body(storage);
  const trace = await startS3Trace({ host: storage.endpoint, port: Number(storage.port) }, `${prefix}-${label}.log`);
  try {
    return await body({ ...storage, port: trace.port });
  } finally {
    await trace.stop();
  }
}

export const parseBenchArgs = () => Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));

/**
 * A protocol benchmark's entry point. In a child it serves the registry (`--serve`); in the parent it
 * runs `bench` on each backend `--backend` names, with the hello server beside it, reporting each
 * result and all of them again at the end.
 */
export async function runProtocolBench<F>(options: {
  script: string;
  label: string;
  buildRegistry: (storage: IStorageConfig) => Promise<{ handler: http.RequestListener; token: string }>;
  bench: (backend: string, storage: IStorageConfig, args: Record<string, string>, hello: IBenchServer) => Promise<F>;
  report: (figures: F) => void;
}) {
  if (process.argv[2] === '--serve') return serveInChild(() => options.buildRegistry(JSON.parse(process.argv[3]) as IStorageConfig));
  const args = parseBenchArgs();
  console.log(`${options.label} benchmark — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} (a shared machine: figures are under load)`);
  const hello = await startHelloServer();
  const results: F[] = [];
  try {
    await withBackends(args.backend ?? 'all', options.label, async (name, storage) => {
      results.push(await options.bench(name, storage, args, hello));
      options.report(results.at(-1)!);
    });
  } finally {
    await hello.stop();
  }
  console.log('\nsummary');
  results.forEach(options.report);
}

/** A document GET under load, with the hello server's rates right before it: bare, and with a body as large. */
export interface IDocumentLoad extends ILoadResult {
  /** Bytes of the document's body. */
  bytes: number;
  hello: number;
  sameSizeHello: number;
  /** The hello server's CPU per request in ms, bare and with a body as large; and the load generator's for the latter. */
  helloCpuMsPerRequest: number;
  sameSizeHelloCpuMsPerRequest: number;
  sameSizeHelloGeneratorCpuMsPerRequest: number;
}

/**
 * GET `path` (`documentHeaders`) at CONNECTIONS connections for `seconds`, right after the hello server for as long,
 * bare and then with a body of the document's size as sent: the ratio the targets name, and the part of it the
 * bytes alone explain.
 */
export async function documentLoad(hello: IBenchServer, server: IBenchServer, path: string, documentHeaders: Record<string, string>, seconds: number): Promise<IDocumentLoad> {
  // `--gzip` asks as the package clients do (all of them send it); the hello as large then has the compressed size.
  const headers = 'gzip' in parseBenchArgs() ? { ...documentHeaders, 'accept-encoding': 'gzip' } : documentHeaders;
  // The document as served warm: a cached body is compressed off the event loop on its second GET.
  for (let warmUp = 0; warmUp < 2; warmUp++) await benchRequest({ port: server.port, path, headers });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const answer = await benchRequest({ port: server.port, path, headers });
  if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${answer.text}`);
  const bare = await loadTest(hello.port, '/', {}, seconds, hello.child.pid);
  const sameSize = await loadTest(hello.port, `/bytes/${answer.bytes}`, {}, seconds, hello.child.pid);
  const result = await loadTest(server.port, path, headers, seconds, server);
  return {
    ...result,
    bytes: answer.bytes,
    hello: bare.rps,
    sameSizeHello: sameSize.rps,
    helloCpuMsPerRequest: bare.cpuMsPerRequest,
    sameSizeHelloCpuMsPerRequest: sameSize.cpuMsPerRequest,
    sameSizeHelloGeneratorCpuMsPerRequest: sameSize.generatorCpuMsPerRequest,
  };
}

/** What every protocol benchmark measures, against the targets the protocol issues set. */
export interface IProtocolFigures {
  backend: string;
  /** The index / metadata document GET at CONNECTIONS connections. */
  document: IDocumentLoad;
  /** A 64 MiB artifact fetched by curl. */
  artifactMBps: number;
  publishMedian: number;
  publishFirst: number;
  publishLast: number;
  /** The server's CPU ms per publish (median), versions 1-10 and 190-200. */
  publishCpuFirst: number;
  publishCpuLast: number;
  bigMiB: number;
  bigPublishMBps: number;
  bigDownloadMBps: number;
  rssStartMiB: number;
  rssPeakMiB: number;
}

export const PROTOCOL_TARGETS = { documentRatio: 0.3, artifactMBps: 800, publishMs: 10, growth: 1.2, peakRssMiB: 120 };

/**
 * A document GET's rate beside the hello server's, measured right before it, against the target ratio; and
 * beside a hello of the same body size (what the bytes alone allow).
 */
export function documentFigure(load: IDocumentLoad): string {
  const ratio = load.rps / load.hello;
  const target = PROTOCOL_TARGETS.documentRatio;
  return (
    `req/s  ${ratio.toFixed(2)}× hello (${load.hello.toFixed(0)}), ${(load.rps / load.sameSizeHello).toFixed(2)}× a hello of ${kilobytes(load.bytes)} (${load.sameSizeHello.toFixed(0)})` +
    `  p50 ${load.p50.toFixed(1)} ms  CPU ${load.cpuMsPerRequest.toFixed(3)} ms/req (main thread ${load.mainThreadCpuMsPerRequest.toFixed(3)}, GC pauses ${(load.gcMsPerRequest ?? 0).toFixed(3)}; a hello as large ${load.sameSizeHelloCpuMsPerRequest.toFixed(3)}; ` +
    `load generator ${load.generatorCpuMsPerRequest.toFixed(3)}, for that hello ${load.sameSizeHelloGeneratorCpuMsPerRequest.toFixed(3)})   ${mark(ratio >= target)} target ≥ ${target}×`
  );
}

export const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;

/** Print one backend's figures, each beside its target; `extra` rows follow the publish rows. */
export function reportProtocolFigures(
  protocol: string,
  names: { document: string; artifact: string; publish: string },
  f: IProtocolFigures,
  extra: [label: string, value: string, rest: string][] = [],
) {
  const t = PROTOCOL_TARGETS;
  const growth = f.publishLast / f.publishFirst;
  const row = (label: string, value: string, rest = '') => `  ${label.padEnd(44)}${value.padStart(9)} ${rest}`;
  console.log(
    [
      `\n${protocol} benchmark — ${f.backend} (${os.cpus().length} cores shared with other work: figures under load)`,
      row(`${names.document} GET (${kilobytes(f.document.bytes)}), ${CONNECTIONS} connections`, f.document.rps.toFixed(0), documentFigure(f.document)),
      row(`${names.artifact} GET (64 MiB), curl`, f.artifactMBps.toFixed(0), `MB/s   ${mark(f.artifactMBps >= t.artifactMBps)} target ≥ ${t.artifactMBps} MB/s (filesystem)`),
      row(`${names.publish}, median of 200 versions`, f.publishMedian.toFixed(2), `ms     ${mark(f.publishMedian <= t.publishMs)} target ≤ ${t.publishMs} ms`),
      row(`${names.publish}, versions 1-10 (median)`, f.publishFirst.toFixed(2), 'ms'),
      row(`${names.publish}, versions 190-200 (median)`, f.publishLast.toFixed(2), `ms     ${growth.toFixed(2)}× versions 1-10   ${mark(growth <= t.growth)} target ≤ ${t.growth}×`),
      row(`${names.publish}, CPU 1-10 / 190-200`, ` ${f.publishCpuFirst.toFixed(2)} / ${f.publishCpuLast.toFixed(2)}`, `ms     ${(f.publishCpuLast / f.publishCpuFirst).toFixed(2)}× (the server's, per publish)`),
      ...extra.map(([label, value, rest]) => row(label, value, rest)),
      row(`${f.bigMiB} MiB ${names.artifact} publish / download`, `${f.bigPublishMBps.toFixed(0)} / ${f.bigDownloadMBps.toFixed(0)}`, 'MB/s'),
      row('server RSS: start / peak while moving it', `${f.rssStartMiB.toFixed(0)} / ${f.rssPeakMiB.toFixed(0)}`, `MiB   ${mark(f.rssPeakMiB <= t.peakRssMiB)} target ≤ ${t.peakRssMiB} MiB`),
    ].join('\n'),
  );
}
