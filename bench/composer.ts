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
  CONNECTIONS,
  benchRequest,
  curlThroughput,
  documentFigure,
  documentLoad,
  kilobytes,
  median,
  withServerCpu,
  reportProtocolFigures,
  rssSampler,
  runProtocolBench,
  startBenchServer,
  type IBenchServer,
  type IDocumentLoad,
  type IProtocolFigures,
} from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const CURL_CLIENTS = 4;

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

/** `document` is a package's p2 metadata; packages.json is measured beside it. */
interface IFigures extends IProtocolFigures {
  root: IDocumentLoad;
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
    const cpu: number[] = [];
    for (let i = 1; i <= 200; i++) {
      const zip = await makePackageZip('bench/pkg', `1.0.${i}`);
      times.push(await withServerCpu(server.child.pid!, cpu, () => upload('bench/pkg', zip)));
    }

    const metadataPath = '/composer/p2/bench/pkg.json';
    console.log(`[${backend}] load: packages.json and metadata GET, hellos right before each`);
    const root = await documentLoad(hello, server, '/composer/packages.json', auth, seconds);
    const metadata = await documentLoad(hello, server, metadataPath, auth, seconds);

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
      publishCpuFirst: median(cpu.slice(0, 10)),
      publishCpuLast: median(cpu.slice(189, 200)),
      root,
      document: metadata,
      artifactMBps: zipMBps,
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

const report = (f: IFigures) =>
  reportProtocolFigures('composer', { document: 'p2 metadata', artifact: 'zip', publish: 'upload' }, f, [
    [`packages.json GET (${kilobytes(f.root.bytes)}), ${CONNECTIONS} connections`, f.root.rps.toFixed(0), documentFigure(f.root)],
  ]);

await runProtocolBench({
  script: SELF,
  label: 'composer',
  buildRegistry,
  bench: (backend, storage, args, hello) => benchBackend(backend, storage, Number(args.seconds ?? 4), Number(args['big-mib'] ?? 1024), hello),
  report,
});
