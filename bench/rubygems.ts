/**
 * RubyGems registry benchmark (`npm run bench -- rubygems`), on the filesystem and on a local s3rver:
 *
 *   push            versions 1..200 of one gem, one request at a time: median, versions 1-10 vs 190-200
 *   index GET       /info of that gem (200 lines) and /versions, 32 connections each, as a ratio to a bare
 *                   node:http hello server measured for as long right before it
 *   .gem GET        a 64 MiB .gem fetched by curl clients over keep-alive connections, MB/s
 *   big .gem        a 1 GiB .gem pushed (streamed from a file) and downloaded: the server's peak RSS
 *
 * The registry runs compiled in a child process; its RSS after start-up is printed beside the peak. Options: --backend=fs|s3|all, --seconds=N per load phase, --big-mib=N (default 1024).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import { RubyGemsRegistry } from '../ts/rubygems/classes.rubygemsregistry.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { gemspecYaml, makeGem } from '../test/rubygems/fixtures.js';
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
  const registry = new SmartRegistry(
    {
      storage,
      auth: { tokenStore: 'memory', rubygemsTokens: { enabled: true }, users: { bench: { password: 'bench-password', scopes: ['*'] } } },
      logging: { level: 'error' },
      rubygems: { enabled: true, basePath: '/rubygems' },
    },
    { protocolFactories: { rubygems: (deps) => new RubyGemsRegistry(deps) } },
  );
  await registry.init();
  return { handler: createNodeHandler(registry) as http.RequestListener, token: await registry.getAuthManager().createRubyGemsToken('bench') };
}

// ---- gems --------------------------------------------------------------------------------------

/** A .gem of about `payloadBytes` written to `file`: metadata.gz, then a data.tar.gz member of random bytes. */
async function bigGemFile(file: string, name: string, version: string, payloadBytes: number): Promise<number> {
  const pack = tar.pack();
  const written = pipeline(pack as unknown as Readable, fs.createWriteStream(file));
  pack.entry({ name: 'metadata.gz' }, zlib.gzipSync(gemspecYaml(name, version)));
  const entry = pack.entry({ name: 'data.tar.gz', size: payloadBytes }) as unknown as Writable;
  const block = crypto.randomBytes(4 * MiB);
  for (let left = payloadBytes; left > 0; left -= block.length) {
    if (!entry.write(left >= block.length ? block : block.subarray(0, left))) await once(entry, 'drain');
  }
  entry.end();
  pack.finalize();
  await written;
  return (await fsp.stat(file)).size;
}

// ---- the benchmark -----------------------------------------------------------------------------

/** `document` is /info; /versions is measured beside it. */
interface IFigures extends IProtocolFigures {
  versions: IDocumentLoad;
}

async function benchBackend(backend: string, storage: IStorageConfig, seconds: number, bigMiB: number, hello: IBenchServer): Promise<IFigures> {
  const server = await startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
  const auth = { authorization: server.token };
  const pushAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const push = async (gem: Buffer | { file: string; size: number }) => {
    const body = Buffer.isBuffer(gem) ? { body: gem } : { body: fs.createReadStream(gem.file, { highWaterMark: MiB }), contentLength: gem.size };
    const started = performance.now();
    const result = await benchRequest({ port: server.port, method: 'POST', path: '/rubygems/api/v1/gems', headers: auth, agent: pushAgent, ...body });
    if (result.status !== 200) throw new Error(`push: ${result.status}`);
    return performance.now() - started;
  };
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-rubygems-gems-'));
  try {
    console.log(`\n[${backend}] warming up: 30 versions of bench-warmup`);
    for (let i = 1; i <= 30; i++) await push(await makeGem(gemspecYaml('bench-warmup', `1.0.${i}`)));
    console.log(`[${backend}] pushing versions 1..200 of bench-gem, one at a time`);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 1; i <= 200; i++) {
      const gem = await makeGem(gemspecYaml('bench-gem', `1.0.${i}`, { dependencies: { rake: ['>= 12.0', '< 14'] } }));
      times.push(await withServerCpu(server.child.pid!, cpu, () => push(gem)));
    }

    const infoPath = '/rubygems/info/bench-gem';
    console.log(`[${backend}] load: /info and /versions, hellos right before each`);
    const info = await documentLoad(hello, server, infoPath, auth, seconds);
    const versions = await documentLoad(hello, server, '/rubygems/versions', auth, seconds);

    console.log(`[${backend}] 64 MiB .gem: push, then GET with ${CURL_CLIENTS} curl clients`);
    const midFile = path.join(work, 'mid.gem');
    await push({ file: midFile, size: await bigGemFile(midFile, 'bench-mid', '1.0.0', 64 * MiB) });
    const gemUrl = `http://127.0.0.1:${server.port}/rubygems/gems/bench-mid-1.0.0.gem`;
    await curlThroughput(gemUrl, auth, CURL_CLIENTS, 2);
    const gemMBps = await curlThroughput(gemUrl, auth, CURL_CLIENTS, 8);

    console.log(`[${backend}] ${bigMiB} MiB .gem: push and download, sampling the server's RSS`);
    const bigFile = path.join(work, 'big.gem');
    const bigSize = await bigGemFile(bigFile, 'bench-big', '1.0.0', bigMiB * MiB);
    const rss = rssSampler(server.child.pid!);
    const rssStartMiB = rss.now();
    const publishMs = await push({ file: bigFile, size: bigSize });
    await fsp.rm(bigFile);
    const downloadMBps = await curlThroughput(`http://127.0.0.1:${server.port}/rubygems/gems/bench-big-1.0.0.gem`, auth, 1, 1);
    const rssPeakMiB = rss.stop();

    return {
      backend,
      publishMedian: median(times),
      publishFirst: median(times.slice(0, 10)),
      publishLast: median(times.slice(189, 200)),
      publishCpuFirst: median(cpu.slice(0, 10)),
      publishCpuLast: median(cpu.slice(189, 200)),
      document: info,
      versions,
      artifactMBps: gemMBps,
      bigMiB,
      bigPublishMBps: bigSize / 1e6 / (publishMs / 1000),
      bigDownloadMBps: downloadMBps,
      rssStartMiB,
      rssPeakMiB,
    };
  } finally {
    pushAgent.destroy();
    await server.stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

const report = (f: IFigures) =>
  reportProtocolFigures('rubygems', { document: '/info', artifact: '.gem', publish: 'push' }, f, [
    [`/versions GET (${kilobytes(f.versions.bytes)}), ${CONNECTIONS} connections`, f.versions.rps.toFixed(0), documentFigure(f.versions)],
  ]);

await runProtocolBench({
  script: SELF,
  label: 'rubygems',
  buildRegistry,
  bench: (backend, storage, args, hello) => benchBackend(backend, storage, Number(args.seconds ?? 4), Number(args['big-mib'] ?? 1024), hello),
  report,
});
