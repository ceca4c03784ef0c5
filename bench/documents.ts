/**
 * Small metadata GETs of every protocol (`npm run bench -- documents`): one registry serving all seven,
 * one version of one package published in each, then each protocol's index / metadata document fetched
 * at 32 keep-alive connections. A document this small is bound by the registry's CPU, not its bytes, so
 * the figure that matters is the server's CPU per request (less disturbed by a shared machine than
 * req/s), printed beside the ratio to a bare node:http hello measured right before it.
 *
 * `--in-process` measures the registry's own code alone instead: `handleRequest` called in this process
 * (no sockets, no HTTP parser), CPU per call over a fixed number of calls.
 *
 * Options: --backend=fs|s3|all (default fs), --seconds=N per load phase (default 3), --only=cargo,npm,…,
 * --in-process, --calls=N (default 20000), --allocations (with --in-process: also KB allocated per call), --gzip
 * (`Accept-Encoding: gzip` on the document GETs, as package clients send it), --versions=N (default 1: N versions
 * of each package published one at a time; 200 makes the medium documents of the protocol benches).
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import { createServer, type RequestListener } from 'node:http';
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig, TRegistryProtocol } from '../ts/core/interfaces.core.js';
import { frame, makeCrate, publishMetadata } from '../test/cargo/fixtures.js';
import { MULTIPART_TYPE, makeWheel, multipartBody, uploadFields } from '../test/pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../test/rubygems/fixtures.js';
import { makePackageZip } from '../test/composer/fixtures.js';
import { takeResponseBody } from '../ts/core/helpers.response.js';
import { benchRequest, CONNECTIONS, documentLoad, kilobytes, mark, parseBenchArgs, PROTOCOL_TARGETS, serveInChild, startBenchServer, startHelloServer, withBackends, type IBenchServer, type IDocumentLoad } from './helpers.load.js';
import { npmPublishBody } from './helpers.npmpublish.js';

const SELF = fileURLToPath(import.meta.url);

// ---- the registry (child process) --------------------------------------------------------------

async function buildRegistry(storage: IStorageConfig) {
  const enabled = (basePath: string) => ({ enabled: true, basePath });
  const registry = new SmartRegistry({
    storage,
    auth: {
      tokenStore: 'memory',
      users: { bench: { password: 'bench-password', scopes: ['*'] } },
      cargoTokens: { enabled: true },
      mavenTokens: { enabled: true },
      composerTokens: { enabled: true },
      rubygemsTokens: { enabled: true },
    },
    logging: { level: 'error' },
    npm: enabled('/npm'),
    oci: enabled('/oci'),
    maven: enabled('/maven'),
    cargo: enabled('/cargo'),
    composer: enabled('/composer'),
    pypi: enabled('/pypi'),
    rubygems: enabled('/rubygems'),
  });
  await registry.init();
  const auth = registry.getAuthManager();
  const tokens: Partial<Record<TRegistryProtocol, string>> = {
    npm: `Bearer ${await auth.createNpmToken('bench', false)}`,
    oci: `Bearer ${await auth.createOciToken('bench', ['oci:repository:bench/app:*'])}`,
    maven: `Bearer ${await auth.createMavenToken('bench')}`,
    cargo: await auth.createCargoToken('bench'),
    composer: `Bearer ${await auth.createComposerToken('bench')}`,
    pypi: `Bearer ${await auth.createPypiToken('bench')}`,
    rubygems: await auth.createRubyGemsToken('bench'),
  };
  return { registry, handler: createNodeHandler(registry) as RequestListener, token: JSON.stringify(tokens) };
}

// ---- one small package per protocol ------------------------------------------------------------

interface IDocument {
  protocol: TRegistryProtocol;
  path: string;
  headers?: Record<string, string>;
  /**
   * Publishes `versions[versions.length - 1]` of what the document describes, the versions before it already
   * published; `send` answers with the status. OCI's tag document has one version whatever `--versions` says.
   * None: the document before it published what this one describes.
   */
  publish?: (send: (method: string, path: string, body: Buffer, headers?: Record<string, string>) => Promise<number>, versions: string[]) => Promise<void>;
}

const sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex');

async function expectStatus(status: Promise<number>, wanted: number, what: string) {
  const got = await status;
  if (got !== wanted) throw new Error(`${what}: ${got}, expected ${wanted}`);
}

const DOCUMENTS: IDocument[] = [
  {
    protocol: 'npm',
    path: '/npm/bench-pkg',
    headers: { accept: 'application/json' },
    publish: async (send, versions) => {
      const body = npmPublishBody('bench-pkg', versions.at(-1)!, crypto.randomBytes(512), { description: 'benchmark package' });
      await expectStatus(send('PUT', '/npm/bench-pkg', body, { 'content-type': 'application/json' }), 201, 'npm publish');
    },
  },
  {
    protocol: 'oci',
    path: '/v2/bench/app/manifests/latest',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    publish: async (send, versions) => {
      if (versions.length > 1) return;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
      const layer = crypto.randomBytes(1024);
      for (const blob of [config, layer]) await expectStatus(send('POST', `/v2/bench/app/blobs/uploads/?digest=sha256:${sha256(blob)}`, blob), 201, 'OCI blob');
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
      };
      await expectStatus(send('PUT', '/v2/bench/app/manifests/latest', Buffer.from(JSON.stringify(manifest)), { 'content-type': manifest.mediaType }), 201, 'OCI manifest');
    },
  },
  {
    protocol: 'maven',
    path: '/maven/com/example/bench/bench-lib/maven-metadata.xml',
    publish: async (send, versions) => {
      const dir = '/maven/com/example/bench/bench-lib';
      const version = versions.at(-1)!;
      const pom = `<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>com.example.bench</groupId><artifactId>bench-lib</artifactId><version>${version}</version></project>\n`;
      const listed = versions.map((each) => `<version>${each}</version>`).join('');
      const metadata = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata><groupId>com.example.bench</groupId><artifactId>bench-lib</artifactId><versioning><release>${version}</release><versions>${listed}</versions></versioning></metadata>\n`;
      await expectStatus(send('PUT', `${dir}/${version}/bench-lib-${version}.pom`, Buffer.from(pom)), 201, 'maven pom');
      await expectStatus(send('PUT', `${dir}/${version}/bench-lib-${version}.jar`, Buffer.from('jar')), 201, 'maven jar');
      await expectStatus(send('PUT', `${dir}/maven-metadata.xml`, Buffer.from(metadata)), 201, 'maven metadata');
    },
  },
  {
    protocol: 'cargo',
    path: '/cargo/be/nc/bench_crate',
    publish: async (send, versions) => {
      const version = versions.at(-1)!;
      const body = frame(JSON.stringify(publishMetadata('bench_crate', version, { description: 'benchmark crate' })), await makeCrate('bench_crate', version));
      await expectStatus(send('PUT', '/cargo/api/v1/crates/new', body), 200, 'cargo publish');
    },
  },
  {
    protocol: 'composer',
    path: '/composer/p2/bench/pkg.json',
    publish: async (send, versions) => {
      await expectStatus(send('PUT', '/composer/packages/bench/pkg', await makePackageZip('bench/pkg', versions.at(-1)!)), 201, 'composer upload');
    },
  },
  {
    protocol: 'pypi',
    path: '/pypi/simple/bench-pkg/',
    headers: { accept: 'application/vnd.pypi.simple.v1+json' },
    publish: async (send, versions) => {
      const version = versions.at(-1)!;
      const wheel = await makeWheel('bench-pkg', version);
      const body = multipartBody(await uploadFields('bench-pkg', version, wheel), wheel);
      await expectStatus(send('POST', '/pypi/', body, { 'content-type': MULTIPART_TYPE }), 200, 'pypi upload');
    },
  },
  // The PEP 658 metadata file of the first version's wheel, which pip reads instead of the wheel.
  { protocol: 'pypi', path: '/pypi/packages/bench-pkg/bench_pkg-1.0.0-py3-none-any.whl.metadata' },
  {
    protocol: 'rubygems',
    path: '/rubygems/info/bench-gem',
    publish: async (send, versions) => {
      await expectStatus(send('POST', '/rubygems/api/v1/gems', await makeGem(gemspecYaml('bench-gem', versions.at(-1)!))), 200, 'gem push');
    },
  },
  { protocol: 'rubygems', path: '/rubygems/versions' },
];

type TSend = Parameters<NonNullable<IDocument['publish']>>[0];

/** Versions 1.0.0 … 1.0.{count - 1} of the document's package, one publish at a time. */
async function publishVersions(document: IDocument, send: TSend, count: number): Promise<void> {
  const versions: string[] = [];
  for (let patch = 0; patch < count; patch++) {
    versions.push(`1.0.${patch}`);
    await document.publish?.(send, versions);
  }
}

/** `Accept-Encoding: gzip` on the document GETs with `--gzip`, as package clients send it. */
const documentHeaders = (document: IDocument, gzip: boolean) => ({ ...document.headers, ...(gzip ? { 'accept-encoding': 'gzip' } : {}) });

// ---- the benchmark -----------------------------------------------------------------------------

interface IFigure {
  backend: string;
  protocol: TRegistryProtocol;
  load: IDocumentLoad;
}

async function benchBackend(backend: string, storage: IStorageConfig, documents: IDocument[], versions: number, seconds: number, hello: IBenchServer): Promise<IFigure[]> {
  const server = await startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);
  const tokens = JSON.parse(server.token) as Record<TRegistryProtocol, string>;
  const figures: IFigure[] = [];
  try {
    for (const document of documents) {
      const authorization = tokens[document.protocol];
      await publishVersions(document, async (method, path, body, headers = {}) => (await benchRequest({ port: server.port, method, path, body, headers: { authorization, ...headers } })).status, versions);
      console.log(`[${backend}] ${document.protocol}: GET ${document.path}, hellos right before`);
      figures.push({ backend, protocol: document.protocol, load: await documentLoad(hello, server, document.path, { authorization, ...document.headers }, seconds) });
      report(figures.at(-1)!);
    }
  } finally {
    await server.stop();
  }
  return figures;
}

function report({ backend, protocol, load }: IFigure) {
  const ratio = load.rps / load.hello;
  console.log(
    `  ${backend.padEnd(18)} ${protocol.padEnd(9)} ${kilobytes(load.bytes).padStart(8)}  CPU ${load.cpuMsPerRequest.toFixed(3)} ms/req  ` +
      `${load.rps.toFixed(0).padStart(6)} req/s = ${ratio.toFixed(2)}× hello (${load.hello.toFixed(0)}), ${(load.rps / load.sameSizeHello).toFixed(2)}× a hello as large  ` +
      `p50 ${load.p50.toFixed(1)} ms  ${mark(ratio >= PROTOCOL_TARGETS.documentRatio)}  ` +
      `(hello CPU ${load.helloCpuMsPerRequest.toFixed(3)} / ${load.sameSizeHelloCpuMsPerRequest.toFixed(3)} ms/req bare / as large; load generator ${load.generatorCpuMsPerRequest.toFixed(3)} / ${load.sameSizeHelloGeneratorCpuMsPerRequest.toFixed(3)} ms/req here / for the hello as large)`,
  );
}

/** CPU per `handleRequest` call for each document, `calls` calls after as many to warm up, 32 in flight. */
async function benchInProcess(backend: string, storage: IStorageConfig, documents: IDocument[], versions: number, calls: number, countAllocations: boolean, gzip: boolean): Promise<void> {
  const { registry, handler, token } = await buildRegistry(storage);
  const tokens = JSON.parse(token) as Record<TRegistryProtocol, string>;
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    for (const document of documents) {
      const authorization = tokens[document.protocol];
      await publishVersions(document, async (method, path, body, headers = {}) => (await benchRequest({ port, method, path, body, headers: { authorization, ...headers } })).status, versions);
      const headers = { host: '127.0.0.1', authorization, ...documentHeaders(document, gzip) };
      const one = async () => {
        const response = await registry.handleRequest({ method: 'GET', path: document.path, headers, query: {}, actor: { ip: '127.0.0.1' } });
        if (response.status !== 200) throw new Error(`GET ${document.path}: ${response.status}`);
        takeResponseBody(response);
      };
      const run = async (count: number) => {
        let left = count;
        await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
          while (left-- > 0) await one();
        }));
      };
      await run(calls);
      // A turn of the event loop, which calls alone never give: the gzip copy of a kept body is made off it (helpers.contentcoding).
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = process.cpuUsage();
      await run(calls);
      const used = process.cpuUsage(before);
      const allocated = countAllocations ? await allocatedPerCall(run) : undefined;
      const allocation = !countAllocations ? '' : allocated === undefined ? ', allocations not counted (a collection ran each time)' : `, ${(allocated / 1024).toFixed(2)} KB allocated/call`;
      const sample = await registry.handleRequest({ method: 'GET', path: document.path, headers, query: {}, actor: { ip: '127.0.0.1' } });
      takeResponseBody(sample);
      const size = kilobytes(Number(sample.headers['Content-Length']));
      console.log(`  ${backend.padEnd(18)} ${document.path.padEnd(34)} ${size.padStart(8)}  handleRequest CPU ${((used.user + used.system) / 1000 / calls).toFixed(4)} ms/call${allocation}`);
    }
  } finally {
    server.close();
    await registry.destroy();
  }
}

/**
 * Bytes allocated per call: the heap's growth over calls during which no collection ran. Needs a young
 * generation that holds them: `--allocations` starts the run again with one of 64 MiB (ALLOCATION_FLAGS),
 * so its CPU figures are not those of `serve`'s 1 MiB.
 */
const ALLOCATION_FLAGS = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];

async function allocatedPerCall(run: (count: number) => Promise<void>, calls = 1000): Promise<number | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    (globalThis as { gc?: () => void }).gc?.();
    // GC entries arrive after the work that saw them: this collection's before observing.
    await new Promise((resolve) => setTimeout(resolve, 20));
    let collections = 0;
    const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
    observer.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    await run(calls);
    const after = process.memoryUsage().heapUsed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    observer.disconnect();
    if (collections === 0) return (after - before) / calls;
  }
  return undefined;
}

if (process.argv[2] === '--serve') {
  await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]) as IStorageConfig));
} else {
  const args = parseBenchArgs();
  const only = args.only?.split(',');
  const documents = DOCUMENTS.filter((document) => !only || only.includes(document.protocol));
  const versions = Number(args.versions ?? 1);
  console.log(`small documents benchmark — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
  if ('in-process' in args) {
    const countAllocations = 'allocations' in args;
    if (countAllocations && !ALLOCATION_FLAGS.every((flag) => process.execArgv.includes(flag))) {
      const again = spawnSync(process.execPath, [...ALLOCATION_FLAGS, ...process.execArgv, SELF, ...process.argv.slice(2)], { stdio: 'inherit' });
      process.exit(again.status ?? 1);
    }
    await withBackends(args.backend ?? 'fs', 'documents', (name, storage) => benchInProcess(name, storage, documents, versions, Number(args.calls ?? 20000), countAllocations, 'gzip' in args));
    process.exit(0);
  }
  const hello = await startHelloServer();
  const figures: IFigure[] = [];
  try {
    await withBackends(args.backend ?? 'fs', 'documents', async (name, storage) => figures.push(...(await benchBackend(name, storage, documents, versions, Number(args.seconds ?? 3), hello))));
  } finally {
    await hello.stop();
  }
  console.log(`\nsummary (load average now ${os.loadavg()[0].toFixed(1)})`);
  figures.forEach(report);
}
