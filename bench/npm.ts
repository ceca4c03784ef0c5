/**
 * npm registry benchmark (`npm run bench -- npm`, or `node --import tsx bench/npm.ts`).
 *
 * The registry (compiled) and a bare node:http "hello" server each run in their own child process; the
 * load generator (32 raw keep-alive sockets, bench/helpers.load.ts) runs here. Rates are reported as ratios to the hello
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
 * --part=search (only the search and memory measurement on a fresh server), --part=publish (only the publishes).
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IRegistryConfig, IStorageConfig } from '../ts/core/interfaces.core.js';
import type { NpmRegistry } from '../ts/npm/classes.npmregistry.js';
import { benchName, searchEntry, word } from './helpers.searchentries.js';
import { npmPublishBody } from './helpers.npmpublish.js';
import {
  CONNECTIONS,
  benchRequest,
  cpuSeconds,
  curlThroughput,
  documentLoad,
  kilobytes,
  mark,
  median,
  withServerCpu,
  parseBenchArgs,
  processMiB,
  serveInChild,
  startBenchServer,
  startHelloServer,
  withBackends,
  type IBenchServer,
  type IDocumentLoad,
} from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);

// ---- the registry (child process) --------------------------------------------------------------

const registryConfig = (storage: IStorageConfig): IRegistryConfig => ({
  storage,
  auth: { tokenStore: 'memory', users: { bench: { password: 'bench-password', scopes: ['*'] } } },
  logging: { level: 'error' },
  npm: { enabled: true, basePath: '/npm' },
});

async function buildRegistry(storage: IStorageConfig) {
  const registry = new SmartRegistry(registryConfig(storage));
  await registry.init();
  const token = await registry.getAuthManager().createNpmToken('bench', false);
  return { handler: createNodeHandler(registry) as http.RequestListener, token };
}

const startServer = (storage: IStorageConfig) => startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
const tarballUrl = (server: IBenchServer, path: string) => `http://127.0.0.1:${server.port}${path}`;

const CURL_CLIENTS = 4;
const CURL_REQUESTS_PER_CLIENT = 300;

/** `--part=tarball`: publish one 1 MiB tarball and measure its GET with curl only. */
async function benchTarballWithCurl(backend: string, storage: IStorageConfig): Promise<number> {
  const server = await startServer(storage);
  try {
    const auth = { authorization: `Bearer ${server.token}` };
    const published = await benchRequest({ port: server.port, method: 'PUT', path: '/npm/bench-big', headers: auth, body: publishBody('bench-big', '1.0.0', crypto.randomBytes(1024 * 1024)) });
    if (published.status !== 201) throw new Error(`publish bench-big: ${published.status}`);
    const url = tarballUrl(server, '/npm/bench-big/-/bench-big-1.0.0.tgz');
    await curlThroughput(url, auth, CURL_CLIENTS, 20); // warm-up
    const pid = server.child.pid!;
    const cpuBefore = cpuSeconds(pid);
    const mbps = await curlThroughput(url, auth, CURL_CLIENTS, CURL_REQUESTS_PER_CLIENT);
    // The server's own CPU per GiB sent: what the load of the neighbours bends least.
    const cpuPerGiB = (cpuSeconds(pid) - cpuBefore) / ((CURL_CLIENTS * CURL_REQUESTS_PER_CLIENT) / 1024);
    console.log(`  [${backend}] tarball GET (1 MiB), ${CURL_CLIENTS} curl clients × ${CURL_REQUESTS_PER_CLIENT} keep-alive requests: ${mbps.toFixed(0)} MB/s, ${cpuPerGiB.toFixed(2)} server CPU-s/GiB, load ${os.loadavg()[0]!.toFixed(1)}   ${mark(mbps >= 600)} target ≥ 600 MB/s`);
    return mbps;
  } finally {
    await server.stop();
  }
}

// ---- fixtures ----------------------------------------------------------------------------------

/** A publish document like `npm publish` sends; the manifest is sized so 200 versions make ~145 KB. */
function publishBody(name: string, version: string, tarball: Buffer, extra: Record<string, unknown> = {}) {
  const manifest = {
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
  return npmPublishBody(name, version, tarball, manifest);
}

// ---- the benchmark -----------------------------------------------------------------------------

/** A registry load phase with the hello server's rates (bare and with a body as large) measured right before it. */
type TPhaseResult = IDocumentLoad;

interface IFigures {
  backend: string;
  hello: number;
  full: TPhaseResult;
  abbreviated: TPhaseResult;
  fullPlain: TPhaseResult;
  abbreviatedPlain: TPhaseResult;
  packumentBytes: number;
  tarball: TPhaseResult;
  tarballCurlMBps: number;
  /** Medians over three packages: versions 1-10 and 190-200. */
  publishFirst: number;
  publishLast: number;
  publishFirstMean: number;
  publishLastMean: number;
  publishMedian: number;
  /** The server's CPU ms per publish (median over three packages), versions 1-10 and 190-200. */
  publishCpuFirst: number;
  publishCpuLast: number;
  search: ISearchFigures;
}

interface ISearchFigures {
  search500: number;
  search50k: number;
  rssAfterSearchMiB: number;
  rssPeakMiB: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function searchP50(server: IBenchServer, queries: string[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { authorization: `Bearer ${server.token}` };
  for (const query of queries.slice(0, 20)) await benchRequest({ port: server.port, path: `/npm/-/v1/search?text=${encodeURIComponent(query)}&size=20`, headers, agent });
  const times: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    const result = await benchRequest({ port: server.port, path: `/npm/-/v1/search?text=${encodeURIComponent(query)}&size=20`, headers, agent });
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
async function benchSearch(backend: string, server: IBenchServer, storage: IStorageConfig, publishAgent: http.Agent): Promise<ISearchFigures> {
  const auth = { authorization: `Bearer ${server.token}` };
  const small = crypto.randomBytes(1024);
  console.log(`[${backend}] search: publishing 500 packages (server RSS now ${processMiB(server.child.pid!, 'VmRSS').toFixed(0)} MiB, peak so far ${processMiB(server.child.pid!, 'VmHWM').toFixed(0)} MiB)`);
  for (let i = 0; i < 500; i++) {
    const name = benchName(i);
    const entry = searchEntry(i);
    const body = publishBody(name, '1.0.0', small, { description: entry.description, keywords: entry.keywords });
    const result = await benchRequest({ port: server.port, method: 'PUT', path: `/npm/${name}`, headers: auth, body, agent: publishAgent });
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
    rssAfterSearchMiB: processMiB(server.child.pid!, 'VmRSS'),
    rssPeakMiB: processMiB(server.child.pid!, 'VmHWM'),
  };
}

type TPublishFigures = Pick<IFigures, 'publishFirst' | 'publishLast' | 'publishFirstMean' | 'publishLastMean' | 'publishMedian' | 'publishCpuFirst' | 'publishCpuLast'>;

/** 30 warm-up publishes, then versions 1..200 of three packages, one request at a time. */
async function benchPublishes(backend: string, server: IBenchServer, auth: Record<string, string>, publishAgent: http.Agent): Promise<TPublishFigures> {
  const small = crypto.randomBytes(1024);
  console.log(`\n[${backend}] warming up: 30 versions of bench-warmup`);
  for (let i = 1; i <= 30; i++) {
    const result = await benchRequest({ port: server.port, method: 'PUT', path: '/npm/bench-warmup', headers: auth, body: publishBody('bench-warmup', `1.0.${i}`, small), agent: publishAgent });
    if (result.status !== 201) throw new Error(`warm-up publish: ${result.status}`);
  }
  // Three packages of 200 versions each, published one request at a time: 30 samples per bucket.
  console.log(`[${backend}] publishing versions 1..200 of bench-pkg, bench-pkg-2, bench-pkg-3, one at a time`);
  const rounds = ['bench-pkg', 'bench-pkg-2', 'bench-pkg-3'];
  const perVersion: number[][] = Array.from({ length: 200 }, () => []);
  const cpuPerVersion: number[][] = Array.from({ length: 200 }, () => []);
  for (const name of rounds) {
    for (let i = 1; i <= 200; i++) {
      const body = publishBody(name, `1.0.${i}`, small);
      const started = performance.now();
      const request = () => benchRequest({ port: server.port, method: 'PUT', path: `/npm/${name}`, headers: { ...auth, 'content-type': 'application/json' }, body, agent: publishAgent });
      const result = await withServerCpu(server.child.pid!, cpuPerVersion[i - 1], request);
      perVersion[i - 1].push(performance.now() - started);
      if (result.status !== 201) throw new Error(`publish ${name}@1.0.${i}: ${result.status}`);
    }
  }
  return {
    publishFirst: median(perVersion.slice(0, 10).flat()),
    publishLast: median(perVersion.slice(189, 200).flat()),
    publishFirstMean: mean(perVersion.slice(0, 10).flat()),
    publishLastMean: mean(perVersion.slice(189, 200).flat()),
    publishMedian: median(perVersion.flat()),
    publishCpuFirst: median(cpuPerVersion.slice(0, 10).flat()),
    publishCpuLast: median(cpuPerVersion.slice(189, 200).flat()),
  };
}

async function benchBackend(backend: string, storage: IStorageConfig, seconds: number, helloServer: IBenchServer): Promise<IFigures> {
  const server = await startServer(storage);
  const hellos: number[] = [];
  /** A registry phase and, right before it, the hello server for as long: the ratio sees the same machine. */
  const phase = async (path: string, headers: Record<string, string>): Promise<TPhaseResult> => {
    const load = await documentLoad(helloServer, server, path, headers, seconds);
    hellos.push(load.hello);
    return load;
  };
  const auth = { authorization: `Bearer ${server.token}` };
  try {
    const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const publishes = await benchPublishes(backend, server, auth, publishAgent);
    const packumentBytes = (await benchRequest({ port: server.port, path: '/npm/bench-pkg', headers: auth })).bytes;

    const big = crypto.randomBytes(1024 * 1024);
    const bigPublish = await benchRequest({ port: server.port, method: 'PUT', path: '/npm/bench-big', headers: auth, body: publishBody('bench-big', '1.0.0', big), agent: publishAgent });
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
    const tarballCurlMBps = await curlThroughput(tarballUrl(server, '/npm/bench-big/-/bench-big-1.0.0.tgz'), auth, CURL_CLIENTS, CURL_REQUESTS_PER_CLIENT);

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
      ...publishes,
      search,
    };
  } finally {
    await server.stop();
  }
}

/** The publish rows: medians of versions 1-10 and 190-200 against the targets, and the server's CPU. */
function publishLines(figures: TPublishFigures): string[] {
  const growth = figures.publishLast / figures.publishFirst;
  return [
    `  ${'publish, versions 1-10 (median)'.padEnd(38)}${figures.publishFirst.toFixed(2).padStart(7)} ms     (mean ${figures.publishFirstMean.toFixed(2)} ms)   ${mark(figures.publishFirst <= 10)} target ≤ 10 ms`,
    `  ${'publish, versions 190-200 (median)'.padEnd(38)}${figures.publishLast.toFixed(2).padStart(7)} ms     (mean ${figures.publishLastMean.toFixed(2)} ms)   ${growth.toFixed(2)}× versions 1-10   ${mark(growth <= 1.2 && figures.publishLast <= 10)} target ≤ 1.2×, ≤ 10 ms`,
    `  ${'publish, median of all 600'.padEnd(38)}${figures.publishMedian.toFixed(2).padStart(7)} ms`,
    `  ${'publish, server CPU, 1-10 / 190-200'.padEnd(38)} ${figures.publishCpuFirst.toFixed(2)} / ${figures.publishCpuLast.toFixed(2)} ms     ${(figures.publishCpuLast / figures.publishCpuFirst).toFixed(2)}×`,
  ];
}

function load(label: string, result: TPhaseResult, target?: string) {
  const hello = result.hello;
  const ratio = result.rps / hello;
  const verdict = target ? `   ${mark(ratio >= 0.15)} target ${target}` : '';
  const sameSize = `${(result.rps / result.sameSizeHello).toFixed(2)}× a hello of ${kilobytes(result.bytes)} (${result.sameSizeHello.toFixed(0)})`;
  return `  ${label.padEnd(38)}${result.rps.toFixed(0).padStart(7)} req/s  ${ratio.toFixed(3)}× hello (${hello.toFixed(0)} req/s just before), ${sameSize}  ${result.cpuMsPerRequest.toFixed(2)} ms server CPU/req  p50 ${result.p50.toFixed(1)} ms${verdict}`;
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
  const lines = [
    `npm benchmark — ${figures.backend} backend (${os.cpus().length} cores, ${CONNECTIONS} connections)`,
    `  ${'hello (bare node:http), median'.padEnd(38)}${figures.hello.toFixed(0).padStart(7)} req/s`,
    load(`packument GET full (${(figures.packumentBytes / 1024).toFixed(0)} KB), gzip`, figures.full, '≥ 0.15×'),
    load('packument GET abbreviated, gzip', figures.abbreviated, '≥ 0.15×'),
    load('packument GET full, uncompressed', figures.fullPlain),
    load('packument GET abbreviated, uncompr.', figures.abbreviatedPlain),
    `  ${'tarball GET (1 MiB)'.padEnd(38)}${mbps.toFixed(0).padStart(7)} MB/s   (${figures.tarball.rps.toFixed(0)} req/s, ${figures.tarball.cpuMsPerRequest.toFixed(2)} ms server CPU/req, hello just before ${figures.tarball.hello.toFixed(0)} req/s)   ${mark(mbps >= 500)} target ≥ 500 MB/s`,
    `  ${'tarball GET (1 MiB), curl clients'.padEnd(38)}${figures.tarballCurlMBps.toFixed(0).padStart(7)} MB/s   (${CURL_CLIENTS} curl processes, keep-alive)   ${mark(figures.tarballCurlMBps >= 600)} target ≥ 600 MB/s`,
    ...publishLines(figures),
    ...searchLines(figures.search),
  ];
  console.log(`\n${lines.join('\n')}\n`);
}

async function main() {
  const args = parseBenchArgs();
  const backend = args.backend ?? 'all';
  const seconds = Number(args.seconds ?? 4);
  if (args.part === 'tarball') {
    await withBackends(backend, 'npm', (name, storage) => benchTarballWithCurl(name, storage));
    return;
  }
  if (args.part === 'publish') {
    await withBackends(backend, 'npm', async (name, storage) => {
      const server = await startServer(storage);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const figures = await benchPublishes(name, server, { authorization: `Bearer ${server.token}` }, agent);
        console.log(`\nnpm publish benchmark — ${name} backend (load average ${os.loadavg()[0].toFixed(1)})\n${publishLines(figures).join('\n')}\n`);
      } finally {
        agent.destroy();
        await server.stop();
      }
    });
    return;
  }
  if (args.part === 'search') {
    await withBackends(backend, 'npm', async (name, storage) => {
      const server = await startServer(storage);
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
  const helloServer = await startHelloServer();

  const results: IFigures[] = [];
  await withBackends(backend, 'npm', async (name, storage) => {
    results.push(await benchBackend(name, storage, seconds, helloServer));
    report(results.at(-1)!);
  });
  await helloServer.stop();
  console.log('summary');
  for (const figures of results) report(figures);
}

if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]) as IStorageConfig));
else await main();
