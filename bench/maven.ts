/**
 * Maven repository benchmark (`npm run bench -- maven`), on the filesystem and on a local s3rver:
 *
 *   publish         versions 1..200 of one artifact: the PUT of a small jar (stored, recorded, metadata
 *                   derived), one request at a time: median, versions 1-10 vs 190-200; beside it the
 *                   median of a whole deploy as mvn sends it (pom, jar, their 8 checksums, metadata + 4)
 *   metadata GET    that artifact's maven-metadata.xml (200 versions), 32 connections, as a ratio to a
 *                   bare node:http hello server measured for as long right before it
 *   jar GET         a 64 MiB jar fetched by curl clients over keep-alive connections, MB/s
 *   big jar         a 1 GiB jar deployed (streamed from a file) and downloaded: the server's peak RSS
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
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
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
const GROUP_PATH = 'com/example/bench';

// ---- the registry (child process) --------------------------------------------------------------

async function buildRegistry(storage: IStorageConfig) {
  const registry = new SmartRegistry({
    storage,
    auth: { tokenStore: 'memory', mavenTokens: { enabled: true }, users: { bench: { password: 'bench-password', scopes: ['*'] } } },
    logging: { level: 'error' },
    maven: { enabled: true, basePath: '/maven' },
  });
  await registry.init();
  return { handler: createNodeHandler(registry) as http.RequestListener, token: `Bearer ${await registry.getAuthManager().createMavenToken('bench')}` };
}

// ---- artifacts ---------------------------------------------------------------------------------

const pom = (artifactId: string, version: string) =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example.bench</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>${version}</version>
</project>
`);

const metadata = (artifactId: string, version: string) =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<metadata><groupId>com.example.bench</groupId><artifactId>${artifactId}</artifactId><versioning><release>${version}</release><versions><version>${version}</version></versions></versioning></metadata>
`);

const hex = (algorithm: string, bytes: Buffer) => crypto.createHash(algorithm).update(bytes).digest('hex');

/** A jar-sized file of random bytes (the repository does not look inside jars). */
async function jarFile(file: string, bytes: number): Promise<void> {
  const out = fs.createWriteStream(file);
  const block = crypto.randomBytes(4 * MiB);
  for (let left = bytes; left > 0; left -= block.length) {
    if (!out.write(left >= block.length ? block : block.subarray(0, left))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

// ---- the benchmark -----------------------------------------------------------------------------

interface IFigures extends IProtocolFigures {
  deployMedian: number;
}

async function benchBackend(backend: string, storage: IStorageConfig, seconds: number, bigMiB: number, hello: IBenchServer): Promise<IFigures> {
  const server = await startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
  const auth = { authorization: server.token };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const put = async (file: string, body: Buffer | { file: string; size: number }) => {
    const started = performance.now();
    const streamed = Buffer.isBuffer(body) ? { body } : { body: fs.createReadStream(body.file, { highWaterMark: MiB }), contentLength: body.size };
    const result = await benchRequest({ port: server.port, method: 'PUT', path: `/maven/${file}`, headers: auth, agent, ...streamed });
    if (result.status !== 201) throw new Error(`PUT ${file}: ${result.status}`);
    return performance.now() - started;
  };
  /** What mvn deploy sends for one release version: each file, then its checksums. */
  const deploy = async (artifactId: string, version: string) => {
    const started = performance.now();
    const dir = `${GROUP_PATH}/${artifactId}`;
    const files: [string, Buffer][] = [
      [`${dir}/${version}/${artifactId}-${version}.pom`, pom(artifactId, version)],
      [`${dir}/${version}/${artifactId}-${version}.jar`, Buffer.from(`jar ${artifactId} ${version}`)],
      [`${dir}/maven-metadata.xml`, metadata(artifactId, version)],
    ];
    for (const [file, bytes] of files) {
      await put(file, bytes);
      for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) await put(`${file}.${algorithm}`, Buffer.from(hex(algorithm, bytes)));
    }
    return performance.now() - started;
  };
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-maven-jars-'));
  try {
    console.log(`\n[${backend}] warming up: 30 deploys of bench-warmup`);
    const deploys: number[] = [];
    for (let i = 1; i <= 30; i++) deploys.push(await deploy('bench-warmup', `1.0.${i}`));
    console.log(`[${backend}] publishing versions 1..200 of bench-lib, one jar PUT at a time`);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 1; i <= 200; i++) times.push(await withServerCpu(server.child.pid!, cpu, () => put(`${GROUP_PATH}/bench-lib/1.0.${i}/bench-lib-1.0.${i}.jar`, Buffer.from(`jar ${i}`))));

    const metadataPath = `/maven/${GROUP_PATH}/bench-lib/maven-metadata.xml`;
    console.log(`[${backend}] load: metadata GET, hellos right before`);
    const metadataLoad = await documentLoad(hello, server, metadataPath, auth, seconds);

    console.log(`[${backend}] 64 MiB jar: deploy, then GET with ${CURL_CLIENTS} curl clients`);
    const midFile = path.join(work, 'mid.jar');
    await jarFile(midFile, 64 * MiB);
    await put(`${GROUP_PATH}/bench-mid/1.0/bench-mid-1.0.jar`, { file: midFile, size: 64 * MiB });
    const jarUrl = `http://127.0.0.1:${server.port}/maven/${GROUP_PATH}/bench-mid/1.0/bench-mid-1.0.jar`;
    await curlThroughput(jarUrl, auth, CURL_CLIENTS, 2);
    const jarMBps = await curlThroughput(jarUrl, auth, CURL_CLIENTS, 8);

    console.log(`[${backend}] ${bigMiB} MiB jar: deploy and download, sampling the server's RSS`);
    const bigFile = path.join(work, 'big.jar');
    await jarFile(bigFile, bigMiB * MiB);
    const rss = rssSampler(server.child.pid!);
    const rssStartMiB = rss.now();
    const publishMs = await put(`${GROUP_PATH}/bench-big/1.0/bench-big-1.0.jar`, { file: bigFile, size: bigMiB * MiB });
    await fsp.rm(bigFile);
    const downloadMBps = await curlThroughput(`http://127.0.0.1:${server.port}/maven/${GROUP_PATH}/bench-big/1.0/bench-big-1.0.jar`, auth, 1, 1);
    const rssPeakMiB = rss.stop();

    return {
      backend,
      publishMedian: median(times),
      publishFirst: median(times.slice(0, 10)),
      publishLast: median(times.slice(189, 200)),
      publishCpuFirst: median(cpu.slice(0, 10)),
      publishCpuLast: median(cpu.slice(189, 200)),
      deployMedian: median(deploys.slice(5)),
      document: metadataLoad,
      artifactMBps: jarMBps,
      bigMiB,
      bigPublishMBps: (bigMiB * MiB) / 1e6 / (publishMs / 1000),
      bigDownloadMBps: downloadMBps,
      rssStartMiB,
      rssPeakMiB,
    };
  } finally {
    agent.destroy();
    await server.stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

const report = (f: IFigures) =>
  reportProtocolFigures('maven', { document: 'maven-metadata.xml', artifact: 'jar', publish: 'publish (jar PUT)' }, f, [
    ['whole deploy as mvn sends it (15 PUTs)', f.deployMedian.toFixed(2), 'ms (median)'],
  ]);

await runProtocolBench({
  script: SELF,
  label: 'maven',
  buildRegistry,
  bench: (backend, storage, args, hello) => benchBackend(backend, storage, Number(args.seconds ?? 4), Number(args['big-mib'] ?? 1024), hello),
  report,
});
