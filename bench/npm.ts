/**
 * npm registry benchmark (`npm run bench -- npm`, or `node --import tsx bench/npm.ts`).
 *
 * The registry and a bare node:http "hello" server each run in their own child process; the load
 * generator (keep-alive agent, 32 sockets) runs here. Rates are reported as ratios to the hello
 * server, measured for as long right before each registry phase, so the ratio sees the same machine
 * (and the same neighbours) as the figure it divides.
 *
 *   packument GET   200-version package (~145 KB), full and abbreviated, 32 connections
 *   tarball GET     1 MiB tarball, 32 connections, MB/s
 *   publish         versions 1..200 of three packages, one request at a time: medians of versions 1-10 vs 190-200
 *   search          p50 of single queries at 500 packages (published) and 50,000 (index filled in bulk)
 *   memory          the server's RSS after the searches, and its peak (VmHWM) over its whole life
 *
 *   tarball GET     also measured with curl: parallel curl processes, each fetching the 1 MiB
 *                   tarball many times over one keep-alive connection (the Node load generator
 *                   parses bodies in JavaScript and tops out well below what the server sends)
 *
 * Options: --backend=fs|s3|all (default all; s3 runs on a local s3rver), --seconds=N per load phase,
 * --part=tarball (only the curl tarball measurement: publish one 1 MiB tarball, fetch it with curl),
 * --part=search (only the search and memory measurement on a fresh server).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IRegistryConfig, IStorageConfig } from '../ts/core/interfaces.core.js';
import type { NpmRegistry } from '../ts/npm/classes.npmregistry.js';
import type { INpmSearchEntry } from '../ts/npm/interfaces.npm.js';

const SELF = fileURLToPath(import.meta.url);
const CONNECTIONS = 32;

// ---- server side (child process) ---------------------------------------------------------------

type TServerSpec = { kind: 'hello' } | { kind: 'registry'; storage: IStorageConfig };

const registryConfig = (storage: IStorageConfig): IRegistryConfig => ({
  storage,
  auth: { tokenStore: 'memory', users: { bench: { password: 'bench-password', scopes: ['*'] } } },
  logging: { level: 'error' },
  npm: { enabled: true, basePath: '/npm' },
});

async function runServer(spec: TServerSpec) {
  let handler: http.RequestListener;
  let token = '';
  if (spec.kind === 'hello') {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' });
      res.end('hello');
    };
  } else {
    const registry = new SmartRegistry(registryConfig(spec.storage));
    await registry.init();
    token = await registry.getAuthManager().createNpmToken('bench', false);
    handler = createNodeHandler(registry) as http.RequestListener;
  }
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.send!({ port: address.port, token });
  });
  process.on('message', (message) => {
    if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- load generation ---------------------------------------------------------------------------

/** A field of /proc/{pid}/status in MiB (VmRSS now, VmHWM the peak over the process's life). */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

interface IServerHandle {
  child: ChildProcess;
  port: number;
  token: string;
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(spec: TServerSpec): Promise<IServerHandle> {
  const child = fork(SELF, ['--serve', JSON.stringify(spec)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number; token: string }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    child,
    ...ready,
    cpu: () =>
      new Promise((resolve) => {
        child.once('message', (message) => {
          const { cpu } = message as { cpu: NodeJS.CpuUsage };
          resolve(cpu.user + cpu.system);
        });
        child.send('cpu');
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

interface IRequestOptions {
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  agent?: http.Agent;
}

/** One request; resolves with status and body length (the body is read and dropped) or body. */
function request(options: IRequestOptions, keepBody = false): Promise<{ status: number; bytes: number; body?: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { ...options.headers, ...(options.body ? { 'content-length': String(options.body.length) } : {}) },
        agent: options.agent,
      },
      (res) => {
        let bytes = 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (keepBody) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ...(keepBody ? { body: Buffer.concat(chunks) } : {}) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

interface ILoadResult {
  rps: number;
  /** The hello server's rate, measured right before this phase under the same conditions. */
  hello?: number;
  bytesPerSecond: number;
  cpuMicrosPerRequest: number;
  p50: number;
}

/** `connections` loops of back-to-back requests for `seconds` after a warm-up; only completions in the window count. */
async function loadTest(server: IServerHandle, path: string, headers: Record<string, string>, seconds: number): Promise<ILoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const warmupMs = Math.min(1000, seconds * 250);
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + seconds * 1000;
  let requests = 0;
  let bytes = 0;
  const latencies: number[] = [];
  let cpuStart = 0;
  const cpuStartPromise = new Promise<void>((resolve) =>
    setTimeout(async () => {
      cpuStart = await server.cpu();
      resolve();
    }, warmupMs),
  );
  const loop = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const result = await request({ port: server.port, path, headers, agent });
      if (result.status !== 200) throw new Error(`GET ${path}: ${result.status}`);
      const done = performance.now();
      if (sent >= measureFrom && done <= end) {
        requests++;
        bytes += result.bytes;
        latencies.push(done - sent);
      }
    }
  };
  await Promise.all([...Array.from({ length: CONNECTIONS }, loop), cpuStartPromise]);
  const cpuEnd = await server.cpu();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: requests / seconds,
    bytesPerSecond: bytes / seconds,
    cpuMicrosPerRequest: requests ? (cpuEnd - cpuStart) / requests : 0,
    p50: latencies[Math.floor(latencies.length / 2)] ?? 0,
  };
}

/**
 * MB/s of `clients` curl processes, each fetching `path` `requestsPerClient` times over one keep-alive
 * connection (a curl config file lists the URL once per request). Curl reports each body's size.
 */
async function curlThroughput(server: IServerHandle, path: string, headers: Record<string, string>, clients: number, requestsPerClient: number): Promise<number> {
  const url = `http://127.0.0.1:${server.port}${path}`;
  const config = [
    ...Object.entries(headers).map(([name, value]) => `header = "${name}: ${value}"`),
    'silent',
    'write-out = "%{size_download}\\n"',
    ...Array.from({ length: requestsPerClient }, () => `url = "${url}"\noutput = "/dev/null"`),
  ].join('\n');
  const runClient = () =>
    new Promise<number>((resolve, reject) => {
      const child = spawn('curl', ['--config', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`curl exited with ${code}`));
        resolve(out.split('\n').filter(Boolean).reduce((sum, line) => sum + Number(line), 0));
      });
      child.stdin.end(config);
    });
  const started = performance.now();
  const bytes = (await Promise.all(Array.from({ length: clients }, runClient))).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - started) / 1000;
  const expected = clients * requestsPerClient;
  if (bytes < expected * 1024 * 1024) throw new Error(`curl received ${bytes} bytes, expected ${expected} MiB`);
  return bytes / 1e6 / seconds;
}

const CURL_CLIENTS = 4;
const CURL_REQUESTS_PER_CLIENT = 300;

/** `--part=tarball`: publish one 1 MiB tarball and measure its GET with curl only. */
async function benchTarballWithCurl(backend: string, storage: IStorageConfig): Promise<number> {
  const server = await startServer({ kind: 'registry', storage });
  try {
    const auth = { authorization: `Bearer ${server.token}` };
    const published = await request({ port: server.port, method: 'PUT', path: '/npm/bench-big', headers: auth, body: publishBody('bench-big', '1.0.0', crypto.randomBytes(1024 * 1024)) });
    if (published.status !== 201) throw new Error(`publish bench-big: ${published.status}`);
    const path = '/npm/bench-big/-/bench-big-1.0.0.tgz';
    await curlThroughput(server, path, auth, CURL_CLIENTS, 20); // warm-up
    const mbps = await curlThroughput(server, path, auth, CURL_CLIENTS, CURL_REQUESTS_PER_CLIENT);
    console.log(`  [${backend}] tarball GET (1 MiB), ${CURL_CLIENTS} curl clients × ${CURL_REQUESTS_PER_CLIENT} keep-alive requests: ${mbps.toFixed(0)} MB/s   ${mark(mbps >= 600)} target ≥ 600 MB/s`);
    return mbps;
  } finally {
    await server.stop();
  }
}

// ---- fixtures ----------------------------------------------------------------------------------

/** A publish document like `npm publish` sends; the manifest is sized so 200 versions make ~145 KB. */
function publishBody(name: string, version: string, tarball: Buffer, extra: Record<string, unknown> = {}) {
  const manifest = {
    name,
    version,
    description: `benchmark package ${name}, a fast and small parser for the things benchmarks need`,
    main: 'index.js',
    license: 'MIT',
    keywords: ['bench', 'parser', 'fast'],
    repository: { type: 'git', url: 'git+https://git.example.com/bench/bench.git' },
    scripts: { test: 'node test.js' },
    dependencies: { 'dep-one': '^1.2.3', 'dep-two': '~2.0.0' },
    engines: { node: '>=18' },
    ...extra,
  };
  return Buffer.from(
    JSON.stringify({
      _id: name,
      name,
      'dist-tags': { latest: version },
      versions: {
        [version]: {
          ...manifest,
          _id: `${name}@${version}`,
          dist: {
            integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
            shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
            tarball: `http://ignored.example.com/npm/${name}/-/${name}-${version}.tgz`,
          },
        },
      },
      _attachments: { [`${name}-${version}.tgz`]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
    }),
  );
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'parser', 'stream', 'http', 'cli', 'color', 'date', 'string', 'fast', 'tiny', 'util', 'react', 'vue', 'plugin', 'loader', 'test', 'mock'];
const word = (i: number) => WORDS[i % WORDS.length];
const benchName = (i: number) => `${word(i * 7)}-${word(i * 13 + 3)}-${i.toString(36)}`;

function searchEntry(i: number): INpmSearchEntry {
  return {
    name: benchName(i),
    version: '1.0.0',
    description: `a ${word(i)} ${word(i + 5)} module number ${i}`,
    keywords: [word(i + 2), word(i + 9)],
    date: new Date().toISOString(),
    publisher: 'bench',
    maintainers: ['bench'],
  };
}

// ---- the benchmark -----------------------------------------------------------------------------

interface IFigures {
  backend: string;
  hello: number;
  full: ILoadResult;
  abbreviated: ILoadResult;
  fullPlain: ILoadResult;
  abbreviatedPlain: ILoadResult;
  packumentBytes: number;
  tarball: ILoadResult;
  tarballCurlMBps: number;
  /** Medians over three packages: versions 1-10 and 190-200. */
  publishFirst: number;
  publishLast: number;
  publishFirstMean: number;
  publishLastMean: number;
  publishMedian: number;
  search: ISearchFigures;
}

interface ISearchFigures {
  search500: number;
  search50k: number;
  rssAfterSearchMiB: number;
  rssPeakMiB: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function searchP50(server: IServerHandle, queries: string[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { authorization: `Bearer ${server.token}` };
  for (const query of queries.slice(0, 20)) await request({ port: server.port, path: `/npm/-/v1/search?text=${encodeURIComponent(query)}&size=20`, headers, agent });
  const times: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    const result = await request({ port: server.port, path: `/npm/-/v1/search?text=${encodeURIComponent(query)}&size=20`, headers, agent });
    times.push(performance.now() - started);
    if (result.status !== 200) throw new Error(`search ${query}: ${result.status}`);
  }
  agent.destroy();
  return median(times);
}

const searchQueries = (count: number) =>
  Array.from({ length: 300 }, (_, i) => {
    const n = (i * 7919) % count;
    switch (i % 4) {
      case 0:
        return benchName(n); // exact name
      case 1:
        return benchName(n).slice(0, 8); // name prefix
      case 2:
        return word(i); // a word in names, descriptions and keywords
      default:
        return `${word(i)} ${word(i + 5)}`; // two words
    }
  });

/** 500 packages published, 50,000 entries bulk-loaded by a second instance, searches; the server's memory. */
async function benchSearch(backend: string, server: IServerHandle, storage: IStorageConfig, publishAgent: http.Agent): Promise<ISearchFigures> {
  const auth = { authorization: `Bearer ${server.token}` };
  const small = crypto.randomBytes(1024);
  console.log(`[${backend}] search: publishing 500 packages (server RSS now ${statusMiB(server.child.pid!, 'VmRSS').toFixed(0)} MiB, peak so far ${statusMiB(server.child.pid!, 'VmHWM').toFixed(0)} MiB)`);
  for (let i = 0; i < 500; i++) {
    const name = benchName(i);
    const entry = searchEntry(i);
    const body = publishBody(name, '1.0.0', small, { description: entry.description, keywords: entry.keywords });
    const result = await request({ port: server.port, method: 'PUT', path: `/npm/${name}`, headers: auth, body, agent: publishAgent });
    if (result.status !== 201) throw new Error(`publish ${name}: ${result.status}`);
  }
  const search500 = await searchP50(server, searchQueries(500));

  console.log(`[${backend}] search: filling the index to 50,000 packages (bulk, through the index API)`);
  const seeder = new SmartRegistry(registryConfig(storage));
  await seeder.init();
  const index = (seeder.getRegistry('npm') as NpmRegistry).getSearchIndex();
  for (let from = 500; from < 50_000; from += 10_000) {
    const entries = Array.from({ length: Math.min(10_000, 50_000 - from) }, (_, k) => searchEntry(from + k));
    await index.upsertMany(entries, { protocol: 'npm' });
  }
  await seeder.destroy();
  await new Promise((resolve) => setTimeout(resolve, 1200)); // the server revalidates its copy at most every second
  const search50k = await searchP50(server, searchQueries(50_000));

  return {
    search500,
    search50k,
    rssAfterSearchMiB: statusMiB(server.child.pid!, 'VmRSS'),
    rssPeakMiB: statusMiB(server.child.pid!, 'VmHWM'),
  };
}

async function benchBackend(backend: string, storage: IStorageConfig, seconds: number, helloServer: IServerHandle): Promise<IFigures> {
  const server = await startServer({ kind: 'registry', storage });
  const hellos: number[] = [];
  /** A registry phase and, right before it, the hello server for as long: the ratio sees the same machine. */
  const phase = async (path: string, headers: Record<string, string>): Promise<ILoadResult> => {
    const hello = (await loadTest(helloServer, '/', {}, seconds)).rps;
    hellos.push(hello);
    return { ...(await loadTest(server, path, headers, seconds)), hello };
  };
  const auth = { authorization: `Bearer ${server.token}` };
  try {
    const small = crypto.randomBytes(1024);
    const publishTimes: number[] = [];
    const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    console.log(`\n[${backend}] warming up: 30 versions of bench-warmup`);
    for (let i = 1; i <= 30; i++) {
      const result = await request({ port: server.port, method: 'PUT', path: '/npm/bench-warmup', headers: auth, body: publishBody('bench-warmup', `1.0.${i}`, small), agent: publishAgent });
      if (result.status !== 201) throw new Error(`warm-up publish: ${result.status}`);
    }
    // Three packages of 200 versions each, published one request at a time: 30 samples per bucket.
    console.log(`[${backend}] publishing versions 1..200 of bench-pkg, bench-pkg-2, bench-pkg-3, one at a time`);
    const rounds = ['bench-pkg', 'bench-pkg-2', 'bench-pkg-3'];
    const perVersion: number[][] = Array.from({ length: 200 }, () => []);
    for (const name of rounds) {
      for (let i = 1; i <= 200; i++) {
        const body = publishBody(name, `1.0.${i}`, small);
        const started = performance.now();
        const result = await request({ port: server.port, method: 'PUT', path: `/npm/${name}`, headers: { ...auth, 'content-type': 'application/json' }, body, agent: publishAgent });
        perVersion[i - 1].push(performance.now() - started);
        if (result.status !== 201) throw new Error(`publish ${name}@1.0.${i}: ${result.status}`);
      }
    }
    publishTimes.push(...perVersion.flat());
    if (process.env.BENCH_VERBOSE) console.log(perVersion.slice(0, 12).map((t) => t.map((x) => x.toFixed(1)).join("/")).join(" "));
    const packumentBytes = (await request({ port: server.port, path: '/npm/bench-pkg', headers: auth }, true)).bytes;

    const big = crypto.randomBytes(1024 * 1024);
    const bigPublish = await request({ port: server.port, method: 'PUT', path: '/npm/bench-big', headers: auth, body: publishBody('bench-big', '1.0.0', big), agent: publishAgent });
    if (bigPublish.status !== 201) throw new Error(`publish bench-big: ${bigPublish.status}`);

    // What npm sends: `Accept-Encoding: gzip,deflate` always; the install Accept header for the abbreviated document.
    const gzip = { 'accept-encoding': 'gzip,deflate' };
    const corgi = { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' };
    const full = { accept: 'application/json' };
    console.log(`[${backend}] load: packument GET (full, ${(packumentBytes / 1024).toFixed(0)} KB, gzip as npm asks)`);
    const fullLoad = await phase('/npm/bench-pkg', { ...auth, ...full, ...gzip });
    console.log(`[${backend}] load: packument GET (abbreviated, gzip as npm asks)`);
    const abbreviatedLoad = await phase('/npm/bench-pkg', { ...auth, ...corgi, ...gzip });
    console.log(`[${backend}] load: packument GET (full, uncompressed)`);
    const fullPlain = await phase('/npm/bench-pkg', { ...auth, ...full });
    console.log(`[${backend}] load: packument GET (abbreviated, uncompressed)`);
    const abbreviatedPlain = await phase('/npm/bench-pkg', { ...auth, ...corgi });
    console.log(`[${backend}] load: 1 MiB tarball GET`);
    const tarballLoad = await phase('/npm/bench-big/-/bench-big-1.0.0.tgz', auth);
    console.log(`[${backend}] load: 1 MiB tarball GET with ${CURL_CLIENTS} keep-alive curl clients`);
    const tarballCurlMBps = await curlThroughput(server, '/npm/bench-big/-/bench-big-1.0.0.tgz', auth, CURL_CLIENTS, CURL_REQUESTS_PER_CLIENT);

    const search = await benchSearch(backend, server, storage, publishAgent);
    publishAgent.destroy();

    return {
      backend,
      hello: median(hellos),
      full: fullLoad,
      abbreviated: abbreviatedLoad,
      fullPlain,
      abbreviatedPlain,
      packumentBytes,
      tarball: tarballLoad,
      tarballCurlMBps,
      publishFirst: median(perVersion.slice(0, 10).flat()),
      publishLast: median(perVersion.slice(189, 200).flat()),
      publishFirstMean: mean(perVersion.slice(0, 10).flat()),
      publishLastMean: mean(perVersion.slice(189, 200).flat()),
      publishMedian: median(publishTimes),
      search,
    };
  } finally {
    await server.stop();
  }
}

const mark = (ok: boolean) => (ok ? 'ok  ' : 'MISS');

function load(label: string, result: ILoadResult, target?: string) {
  const hello = result.hello!;
  const ratio = result.rps / hello;
  const verdict = target ? `   ${mark(ratio >= 0.15)} target ${target}` : '';
  return `  ${label.padEnd(38)}${result.rps.toFixed(0).padStart(7)} req/s  ${ratio.toFixed(3)}× hello (${hello.toFixed(0)} req/s just before)  ${(result.cpuMicrosPerRequest / 1000).toFixed(2)} ms server CPU/req  p50 ${result.p50.toFixed(1)} ms${verdict}`;
}

function searchLines(figures: ISearchFigures): string[] {
  return [
    `  ${'search p50, 500 packages'.padEnd(38)}${figures.search500.toFixed(2).padStart(7)} ms`,
    `  ${'search p50, 50,000 packages'.padEnd(38)}${figures.search50k.toFixed(2).padStart(7)} ms     ${mark(figures.search50k <= 5)} target ≤ 5 ms`,
    `  ${'server RSS after the searches'.padEnd(38)}${figures.rssAfterSearchMiB.toFixed(0).padStart(7)} MiB`,
    `  ${'server RSS peak, whole life (VmHWM)'.padEnd(38)}${figures.rssPeakMiB.toFixed(0).padStart(7)} MiB    ${mark(figures.rssPeakMiB <= 150)} target ≤ 150 MiB`,
  ];
}

function report(figures: IFigures) {
  const mbps = figures.tarball.bytesPerSecond / 1e6;
  const growth = figures.publishLast / figures.publishFirst;
  const lines = [
    `npm benchmark — ${figures.backend} backend (${os.cpus().length} cores, ${CONNECTIONS} connections)`,
    `  ${'hello (bare node:http), median'.padEnd(38)}${figures.hello.toFixed(0).padStart(7)} req/s`,
    load(`packument GET full (${(figures.packumentBytes / 1024).toFixed(0)} KB), gzip`, figures.full, '≥ 0.15×'),
    load('packument GET abbreviated, gzip', figures.abbreviated, '≥ 0.15×'),
    load('packument GET full, uncompressed', figures.fullPlain),
    load('packument GET abbreviated, uncompr.', figures.abbreviatedPlain),
    `  ${'tarball GET (1 MiB)'.padEnd(38)}${mbps.toFixed(0).padStart(7)} MB/s   (${figures.tarball.rps.toFixed(0)} req/s, ${(figures.tarball.cpuMicrosPerRequest / 1000).toFixed(2)} ms server CPU/req, hello just before ${figures.tarball.hello?.toFixed(0)} req/s)   ${mark(mbps >= 500)} target ≥ 500 MB/s`,
    `  ${'tarball GET (1 MiB), curl clients'.padEnd(38)}${figures.tarballCurlMBps.toFixed(0).padStart(7)} MB/s   (${CURL_CLIENTS} curl processes, keep-alive)   ${mark(figures.tarballCurlMBps >= 600)} target ≥ 600 MB/s`,
    `  ${'publish, versions 1-10 (median)'.padEnd(38)}${figures.publishFirst.toFixed(2).padStart(7)} ms     (mean ${figures.publishFirstMean.toFixed(2)} ms)   ${mark(figures.publishFirst <= 10)} target ≤ 10 ms`,
    `  ${'publish, versions 190-200 (median)'.padEnd(38)}${figures.publishLast.toFixed(2).padStart(7)} ms     (mean ${figures.publishLastMean.toFixed(2)} ms)   ${growth.toFixed(2)}× versions 1-10   ${mark(growth <= 1.2 && figures.publishLast <= 10)} target ≤ 1.2×, ≤ 10 ms`,
    `  ${'publish, median of all 600'.padEnd(38)}${figures.publishMedian.toFixed(2).padStart(7)} ms`,
    ...searchLines(figures.search),
  ];
  console.log(`\n${lines.join('\n')}\n`);
}

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
  const backend = args.backend ?? 'all';
  const seconds = Number(args.seconds ?? 4);
  if (args.part === 'tarball') {
    await withBackends(backend, (name, storage) => benchTarballWithCurl(name, storage));
    return;
  }
  if (args.part === 'search') {
    await withBackends(backend, async (name, storage) => {
      const server = await startServer({ kind: 'registry', storage });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const figures = await benchSearch(name, server, storage, agent);
        console.log(`\nnpm search benchmark — ${name} backend\n${searchLines(figures).join('\n')}\n`);
      } finally {
        agent.destroy();
        await server.stop();
      }
    });
    return;
  }

  // The hello server stays up: it is measured right before every registry load phase.
  const helloServer = await startServer({ kind: 'hello' });

  const results: IFigures[] = [];
  await withBackends(backend, async (name, storage) => {
    results.push(await benchBackend(name, storage, seconds, helloServer));
    report(results.at(-1)!);
  });
  await helloServer.stop();
  console.log('summary');
  for (const figures of results) report(figures);
}

/** Run `body` on the filesystem backend and/or a local s3rver, as `--backend` asks. */
async function withBackends(backend: string, body: (name: string, storage: IStorageConfig) => Promise<unknown>) {
  if (backend === 'fs' || backend === 'all') {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-npm-'));
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
      await body('s3 (local s3rver)', { type: 's3', ...s3.descriptor, bucketName: 'bench-npm' });
    } finally {
      await s3.stop();
    }
  }
}

if (process.argv[2] === '--serve') {
  await runServer(JSON.parse(process.argv[3]) as TServerSpec);
} else {
  await main();
}
