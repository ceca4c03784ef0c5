/**
 * Cargo registry benchmark (`npm run bench -- cargo`), on the filesystem and on a local s3rver:
 *
 *   publish         versions 1..200 of one crate, one request at a time: median, versions 1-10 vs 190-200
 *   index GET       the sparse index file of that crate (200 lines), 32 connections, as a ratio to a bare
 *                   node:http hello server measured for as long right before it
 *   .crate GET      a 64 MiB .crate fetched by curl clients over keep-alive connections, MB/s
 *   big .crate      a 1 GiB .crate published (streamed from a file) and downloaded: the server's peak RSS
 *
 * The registry runs compiled in a child process; its RSS after start-up is printed beside the peak.
 * Options: --backend=fs|s3|all, --seconds=N per load phase, --big-mib=N (default 1024).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import { CargoRegistry } from '../ts/cargo/classes.cargoregistry.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { frame, makeCrate, publishMetadata } from '../test/cargo/fixtures.js';
import {
  benchRequest,
  curlThroughput,
  documentLoad,
  median,
  withServerCpu,
  reportProtocolFigures,
  rssSampler,
  runProtocolBench,
  startBenchServer,
  type IBenchServer,
  type IProtocolFigures,
} from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const CURL_CLIENTS = 4;

// ---- the registry (child process) --------------------------------------------------------------

async function buildRegistry(storage: IStorageConfig) {
  const registry = new SmartRegistry(
    {
      storage,
      auth: { tokenStore: 'memory', cargoTokens: { enabled: true }, users: { bench: { password: 'bench-password', scopes: ['*'] } } },
      logging: { level: 'error' },
      cargo: { enabled: true, basePath: '/cargo' },
    },
    { protocolFactories: { cargo: (deps) => new CargoRegistry(deps, { maxUnpackedBytes: 4 * 1024 * MiB }) } },
  );
  await registry.init();
  return { handler: createNodeHandler(registry) as http.RequestListener, token: await registry.getAuthManager().createCargoToken('bench') };
}

// ---- crates ------------------------------------------------------------------------------------

const metadata = (name: string, vers: string) => JSON.stringify(publishMetadata(name, vers, { description: `benchmark crate ${name}`, keywords: ['bench'] }));

const cargoToml = (name: string, vers: string) => `[package]\nname = "${name}"\nversion = "${vers}"\nedition = "2021"\n`;

/** A .crate of about `payloadBytes` written to `file` (stored, not compressed: generating it stays fast). */
async function bigCrateFile(file: string, name: string, vers: string, payloadBytes: number): Promise<number> {
  const pack = tar.pack();
  const written = pipeline(pack as unknown as Readable, zlib.createGzip({ level: 0 }), fs.createWriteStream(file));
  pack.entry({ name: `${name}-${vers}/Cargo.toml` }, cargoToml(name, vers));
  const entry = pack.entry({ name: `${name}-${vers}/payload.bin`, size: payloadBytes }) as unknown as Writable;
  const block = crypto.randomBytes(4 * MiB);
  for (let left = payloadBytes; left > 0; left -= block.length) {
    if (!entry.write(left >= block.length ? block : block.subarray(0, left))) await once(entry, 'drain');
  }
  entry.end();
  pack.finalize();
  await written;
  return (await fsp.stat(file)).size;
}

/** `cargo publish`'s body: lengths, metadata, and the .crate (bytes or a file streamed). */
function publishBody(name: string, vers: string, crate: Buffer | { file: string; size: number }) {
  if (Buffer.isBuffer(crate)) return { body: frame(metadata(name, vers), crate) };
  // The frame without the crate's bytes, which follow from the file.
  const head = frame(metadata(name, vers), Buffer.alloc(0), { crate: crate.size });
  const file = crate.file;
  const body = Readable.from(
    (async function* () {
      yield head;
      yield* fs.createReadStream(file, { highWaterMark: MiB });
    })(),
  );
  return { body, contentLength: head.length + crate.size };
}

// ---- the benchmark -----------------------------------------------------------------------------

async function benchBackend(backend: string, storage: IStorageConfig, seconds: number, bigMiB: number, hello: IBenchServer): Promise<IProtocolFigures> {
  const server = await startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
  const auth = { authorization: server.token };
  const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const publish = async (name: string, vers: string, crate: Buffer | { file: string; size: number }) => {
    const started = performance.now();
    const result = await benchRequest({ port: server.port, method: 'PUT', path: '/cargo/api/v1/crates/new', headers: auth, agent: publishAgent, ...publishBody(name, vers, crate) });
    if (result.status !== 200) throw new Error(`publish ${name} ${vers}: ${result.status}`);
    return performance.now() - started;
  };
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-cargo-crates-'));
  try {
    console.log(`\n[${backend}] warming up: 30 versions of bench_warmup`);
    for (let i = 1; i <= 30; i++) await publish('bench_warmup', `1.0.${i}`, await makeCrate('bench_warmup', `1.0.${i}`));
    console.log(`[${backend}] publishing versions 1..200 of bench_crate, one at a time`);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 1; i <= 200; i++) {
      const crate = await makeCrate('bench_crate', `1.0.${i}`);
      times.push(await withServerCpu(server.child.pid!, cpu, () => publish('bench_crate', `1.0.${i}`, crate)));
    }

    const indexPath = '/cargo/be/nc/bench_crate';
    console.log(`[${backend}] load: index GET, hellos right before`);
    const index = await documentLoad(hello, server, indexPath, auth, seconds);

    console.log(`[${backend}] 64 MiB .crate: publish, then GET with ${CURL_CLIENTS} curl clients`);
    const midFile = path.join(work, 'mid.crate');
    await publish('bench_mid', '1.0.0', { file: midFile, size: await bigCrateFile(midFile, 'bench_mid', '1.0.0', 64 * MiB) });
    const crateUrl = `http://127.0.0.1:${server.port}/cargo/api/v1/crates/bench_mid/1.0.0/download`;
    await curlThroughput(crateUrl, auth, CURL_CLIENTS, 2);
    const crateMBps = await curlThroughput(crateUrl, auth, CURL_CLIENTS, 8);

    console.log(`[${backend}] ${bigMiB} MiB .crate: publish and download, sampling the server's RSS`);
    const bigFile = path.join(work, 'big.crate');
    const bigSize = await bigCrateFile(bigFile, 'bench_big', '1.0.0', bigMiB * MiB);
    const rss = rssSampler(server.child.pid!);
    const rssStartMiB = rss.now();
    const publishMs = await publish('bench_big', '1.0.0', { file: bigFile, size: bigSize });
    await fsp.rm(bigFile);
    const downloadMBps = await curlThroughput(`http://127.0.0.1:${server.port}/cargo/api/v1/crates/bench_big/1.0.0/download`, auth, 1, 1);
    const rssPeakMiB = rss.stop();

    return {
      backend,
      publishMedian: median(times),
      publishFirst: median(times.slice(0, 10)),
      publishLast: median(times.slice(189, 200)),
      publishCpuFirst: median(cpu.slice(0, 10)),
      publishCpuLast: median(cpu.slice(189, 200)),
      document: index,
      artifactMBps: crateMBps,
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

await runProtocolBench({
  script: SELF,
  label: 'cargo',
  buildRegistry,
  bench: (backend, storage, args, hello) => benchBackend(backend, storage, Number(args.seconds ?? 4), Number(args['big-mib'] ?? 1024), hello),
  report: (f) => reportProtocolFigures('cargo', { document: 'index', artifact: '.crate', publish: 'publish' }, f),
});
