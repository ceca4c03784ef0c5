/**
 * Composer repository benchmark (`npm run bench -- composer`), on the filesystem and on a local s3rver:
 *
 *   upload          versions 1..200 of one package, one request at a time: median, versions 1-10 vs 190-200
 *   packages.json   and the package's /p2/ metadata file (200 versions), 32 connections each, as a ratio
 *                   to a bare node:http hello server measured for as long right before them
 *   zip GET         a 64 MiB dist fetched by curl clients over keep-alive connections, MB/s
 *   big zip         a 1 GiB zip uploaded (streamed from a file) and downloaded: the server's peak RSS
 *
 * The registry runs compiled in a child process (a fresh one for the big zip, so its peak is that round
 * trip's); its RSS before the big zip is printed beside the peak. Options: --backend=fs|s3|all,
 * --seconds=N per load phase, --big-mib=N (default 1024).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { zipChunks } from '../test/core/archive/zipwriter.js';
import { makePackageZip } from '../test/composer/fixtures.js';
import {
  benchRequest,
  curlThroughput,
  loadTest,
  mark,
  median,
  parseBenchArgs,
  rssSampler,
  serveInChild,
  startBenchServer,
  startHelloServer,
  withBackends,
  type IBenchServer,
  type ILoadResult,
} from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const CURL_CLIENTS = 4;
const TARGETS = { indexRatio: 0.3, zipMBps: 800, publishMs: 10, growth: 1.2, peakRssMiB: 120 };

// ---- the registry (child process) --------------------------------------------------------------

async function buildRegistry(storage: IStorageConfig) {
  const registry = new SmartRegistry({
    storage,
    auth: { tokenStore: 'memory', composerTokens: { enabled: true }, users: { bench: { password: 'bench-password', scopes: ['*'] } } },
    logging: { level: 'error' },
    composer: { enabled: true, basePath: '/composer' },
  });
  await registry.init();
  return { handler: createNodeHandler(registry) as http.RequestListener, token: await registry.getAuthManager().createComposerToken('bench') };
}

// ---- zips --------------------------------------------------------------------------------------

/** A zip of about `payloadBytes` (one stored member, streamed) written to `file`. */
async function bigZipFile(file: string, name: string, version: string, payloadBytes: number): Promise<number> {
  const block = crypto.randomBytes(4 * MiB);
  const payload = async function* () {
    for (let left = payloadBytes; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
  };
  const entries = [
    { name: 'composer.json', data: Buffer.from(JSON.stringify({ name, version, description: 'benchmark package' })) },
    { name: 'payload.bin', data: payload },
  ];
  await pipeline(Readable.from(zipChunks(entries)), fs.createWriteStream(file));
  return (await fsp.stat(file)).size;
}

// ---- the benchmark -----------------------------------------------------------------------------

interface IFigures {
  backend: string;
  publishMedian: number;
  publishFirst: number;
  publishLast: number;
  root: { hello: number; result: ILoadResult };
  metadata: { hello: number; result: ILoadResult };
  metadataBytes: number;
  zipMBps: number;
  bigMiB: number;
  bigPublishMBps: number;
  bigDownloadMBps: number;
  rssStartMiB: number;
  rssPeakMiB: number;
}

async function benchBackend(backend: string, storage: IStorageConfig, seconds: number, bigMiB: number, hello: IBenchServer): Promise<IFigures> {
  let server = await startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
  const auth = { authorization: `Bearer ${server.token}` };
  const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const upload = async (name: string, zip: Buffer | { file: string; size: number }) => {
    const body = Buffer.isBuffer(zip) ? { body: zip } : { body: fs.createReadStream(zip.file, { highWaterMark: MiB }), contentLength: zip.size };
    const started = performance.now();
    const result = await benchRequest({ port: server.port, method: 'PUT', path: `/composer/packages/${name}`, headers: auth, agent: publishAgent, ...body });
    if (result.status !== 201) throw new Error(`upload ${name}: ${result.status}`);
    return performance.now() - started;
  };
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-composer-'));
  try {
    console.log(`\n[${backend}] warming up: 30 versions of bench/warmup`);
    for (let i = 1; i <= 30; i++) await upload('bench/warmup', await makePackageZip('bench/warmup', `1.0.${i}`));
    console.log(`[${backend}] uploading versions 1..200 of bench/pkg, one at a time`);
    const times: number[] = [];
    for (let i = 1; i <= 200; i++) times.push(await upload('bench/pkg', await makePackageZip('bench/pkg', `1.0.${i}`)));

    const metadataPath = '/composer/p2/bench/pkg.json';
    const metadataBytes = (await benchRequest({ port: server.port, path: metadataPath, headers: auth })).bytes;
    console.log(`[${backend}] load: packages.json and metadata GET (${(metadataBytes / 1024).toFixed(0)} KB), hello right before`);
    // A hello run right before each, so each ratio compares like with like on a shared machine.
    const measure = async (target: string) => ({ hello: (await loadTest(hello.port, '/', {}, seconds)).rps, result: await loadTest(server.port, target, auth, seconds, server.child.pid) });
    const root = await measure('/composer/packages.json');
    const metadata = await measure(metadataPath);

    console.log(`[${backend}] 64 MiB zip: upload, then GET with ${CURL_CLIENTS} curl clients`);
    const midFile = path.join(work, 'mid.zip');
    const midSize = await bigZipFile(midFile, 'bench/mid', '1.0.0', 64 * MiB);
    await upload('bench/mid', { file: midFile, size: midSize });
    const midRef = crypto.createHash('sha1').update(await fsp.readFile(midFile)).digest('hex');
    const zipUrl = `http://127.0.0.1:${server.port}/composer/dists/bench/mid/${midRef}.zip`;
    await curlThroughput(zipUrl, auth, CURL_CLIENTS, 2);
    const zipMBps = await curlThroughput(zipUrl, auth, CURL_CLIENTS, 8);

    await server.stop();
    console.log(`[${backend}] ${bigMiB} MiB zip: upload and download in a fresh server, sampling its RSS`);
    server = await startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
    auth.authorization = `Bearer ${server.token}`;
    const bigFile = path.join(work, 'big.zip');
    const bigSize = await bigZipFile(bigFile, 'bench/big', '1.0.0', bigMiB * MiB);
    const bigRef = await new Promise<string>((resolve, reject) => {
      const hash = crypto.createHash('sha1');
      fs.createReadStream(bigFile).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
    });
    const rss = rssSampler(server.child.pid!);
    const rssStartMiB = rss.now();
    const publishMs = await upload('bench/big', { file: bigFile, size: bigSize });
    await fsp.rm(bigFile);
    const downloadMBps = await curlThroughput(`http://127.0.0.1:${server.port}/composer/dists/bench/big/${bigRef}.zip`, auth, 1, 1);
    const rssPeakMiB = rss.stop();

    return {
      backend,
      publishMedian: median(times),
      publishFirst: median(times.slice(0, 10)),
      publishLast: median(times.slice(189, 200)),
      root,
      metadata,
      metadataBytes,
      zipMBps,
      bigMiB,
      bigPublishMBps: bigSize / 1e6 / (publishMs / 1000),
      bigDownloadMBps: downloadMBps,
      rssStartMiB,
      rssPeakMiB,
    };
  } finally {
    publishAgent.destroy();
    await server.stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

function report(f: IFigures) {
  const growth = f.publishLast / f.publishFirst;
  const row = (label: string, value: string, rest = '') => `  ${label.padEnd(40)}${value.padStart(9)} ${rest}`;
  const load = (label: string, { hello, result }: IFigures['root']) => {
    const ratio = result.rps / hello;
    const figures = `req/s  ${ratio.toFixed(2)}× hello (${hello.toFixed(0)})  p50 ${result.p50.toFixed(1)} ms  ${result.cpuMsPerRequest.toFixed(2)} ms CPU/req`;
    return row(label, result.rps.toFixed(0), `${figures}   ${mark(ratio >= TARGETS.indexRatio)} target ≥ ${TARGETS.indexRatio}×`);
  };
  console.log(
    [
      `\ncomposer benchmark — ${f.backend} (${os.cpus().length} cores shared with other work, load average ${os.loadavg()[0].toFixed(1)}: figures under load)`,
      load('packages.json GET, 32 connections', f.root),
      load(`p2 metadata GET (${(f.metadataBytes / 1024).toFixed(0)} KB), 32 connections`, f.metadata),
      row('zip GET (64 MiB), curl', f.zipMBps.toFixed(0), `MB/s   ${mark(f.zipMBps >= TARGETS.zipMBps)} target ≥ ${TARGETS.zipMBps} MB/s (filesystem)`),
      row('upload, median of 200 versions', f.publishMedian.toFixed(2), `ms     ${mark(f.publishMedian <= TARGETS.publishMs)} target ≤ ${TARGETS.publishMs} ms`),
      row('upload, versions 1-10 (median)', f.publishFirst.toFixed(2), 'ms'),
      row('upload, versions 190-200 (median)', f.publishLast.toFixed(2), `ms     ${growth.toFixed(2)}× versions 1-10   ${mark(growth <= TARGETS.growth)} target ≤ ${TARGETS.growth}×`),
      row(`${f.bigMiB} MiB zip upload / download`, `${f.bigPublishMBps.toFixed(0)} / ${f.bigDownloadMBps.toFixed(0)}`, 'MB/s'),
      row('server RSS: start / peak while moving it', `${f.rssStartMiB.toFixed(0)} / ${f.rssPeakMiB.toFixed(0)}`, `MiB   ${mark(f.rssPeakMiB <= TARGETS.peakRssMiB)} target ≤ ${TARGETS.peakRssMiB} MiB`),
    ].join('\n'),
  );
}

async function main() {
  const args = parseBenchArgs();
  const seconds = Number(args.seconds ?? 4);
  const bigMiB = Number(args['big-mib'] ?? 1024);
  const hello = await startHelloServer();
  const results: IFigures[] = [];
  try {
    await withBackends(args.backend ?? 'all', 'composer', async (name, storage) => {
      results.push(await benchBackend(name, storage, seconds, bigMiB, hello));
      report(results.at(-1)!);
    });
  } finally {
    await hello.stop();
  }
  console.log('\nsummary');
  results.forEach(report);
}

if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]) as IStorageConfig));
else await main();
