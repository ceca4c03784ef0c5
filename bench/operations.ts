// The overhead of operating features (issue "Operating it"): npm packument GET and OCI manifest GET req/s of
// a registry with Prometheus metrics (process metrics too), health and audit events (a listener and the
// JSON-lines log) against the same registry without them, on one storage, in the same run. Rounds alternate
// between the two servers so that load from elsewhere on the machine falls on both alike; the figure is
// the median round of each. Target: at most 5 % fewer req/s. The server's CPU time per request is printed
// beside it: on a shared machine req/s swings with the neighbours, CPU per request much less.
// Run: node --import tsx bench/operations.ts     (BENCH_OPS_SECONDS=4 per round, BENCH_OPS_ROUNDS=5)
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IRegistryConfig } from '../ts/core/interfaces.core.js';
import { benchRequest, loadTest, mark, median, serveInChild, startBenchServer, type IBenchServer } from './helpers.load.js';
import { npmPublishBody } from './helpers.npmpublish.js';

const SELF = fileURLToPath(import.meta.url);
const SECONDS = Number(process.env.BENCH_OPS_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_OPS_ROUNDS ?? 5);
const MAX_OVERHEAD = 0.05;
const sha256 = (bytes: Buffer) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

// ---- the registry (child process) --------------------------------------------------------------

async function buildRegistry(dir: string, observed: boolean) {
  const config: IRegistryConfig = {
    storage: { type: 'filesystem', path: path.join(dir, 'data') },
    auth: { tokenStore: 'memory', users: { bench: { password: 'bench-password', scopes: ['*'] } } },
    logging: { level: 'error' },
    npm: { enabled: true, basePath: '/npm' },
    oci: { enabled: true, basePath: '/oci' },
    // What `serve --metrics-port --events-log` turns on.
    ...(observed
      ? { metrics: { enabled: true }, health: { enabled: true }, events: { log: path.join(dir, `events-${process.pid}.jsonl`) } }
      : {}),
  };
  const registry = new SmartRegistry(config);
  if (observed) registry.on('event', () => undefined);
  await registry.init();
  const auth = registry.getAuthManager();
  const tokens = { npm: await auth.createNpmToken('bench', false), oci: await auth.createToken('bench', 'oci', { scopes: ['*'], stored: true }) };
  return { handler: createNodeHandler(registry) as http.RequestListener, token: JSON.stringify(tokens) };
}

// ---- the benchmark -----------------------------------------------------------------------------

async function seed(server: IBenchServer) {
  const tokens = JSON.parse(server.token) as { npm: string; oci: string };
  const body = npmPublishBody('bench-ops', '1.0.0', crypto.randomBytes(4096), { description: 'a package to GET' });
  const npm = { authorization: `Bearer ${tokens.npm}`, 'content-type': 'application/json' };
  const published = await benchRequest({ port: server.port, method: 'PUT', path: '/npm/bench-ops', headers: npm, body });
  if (published.status !== 201) throw new Error(`publish: ${published.status} ${published.text}`);

  const oci = { authorization: `Bearer ${tokens.oci}` };
  const configBlob = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = crypto.randomBytes(1024);
  for (const blob of [configBlob, layer]) {
    const pushed = await benchRequest({ port: server.port, method: 'POST', path: `/oci/v2/bench/app/blobs/uploads/?digest=${sha256(blob)}`, headers: oci, body: blob });
    if (pushed.status !== 201) throw new Error(`blob push: ${pushed.status} ${pushed.text}`);
  }
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBlob), size: configBlob.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  }));
  const put = await benchRequest({
    port: server.port,
    method: 'PUT',
    path: '/oci/v2/bench/app/manifests/v1',
    headers: { ...oci, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest push: ${put.status} ${put.text}`);
}

async function main() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-ops-'));
  const servers = {
    plain: await startBenchServer(SELF, ['--serve', dir, 'plain']),
    observed: await startBenchServer(SELF, ['--serve', dir, 'observed']),
  };
  try {
    await seed(servers.plain);
    const targets = [
      { name: 'npm packument GET', path: '/npm/bench-ops', headers: (t: { npm: string }) => ({ authorization: `Bearer ${t.npm}`, accept: 'application/json' }) },
      {
        name: 'OCI manifest GET',
        path: '/oci/v2/bench/app/manifests/v1',
        headers: (t: { oci: string }) => ({ authorization: `Bearer ${t.oci}`, accept: 'application/vnd.oci.image.manifest.v1+json' }),
      },
    ];
    console.log(`${ROUNDS} alternating rounds of ${SECONDS} s per server, 32 keep-alive connections, filesystem storage`);
    const lines: string[] = [];
    for (const target of targets) {
      const rps: Record<'plain' | 'observed', number[]> = { plain: [], observed: [] };
      const cpu: Record<'plain' | 'observed', number[]> = { plain: [], observed: [] };
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so neither always follows the other's warm caches or load.
        const order = round % 2 === 0 ? (['plain', 'observed'] as const) : (['observed', 'plain'] as const);
        for (const which of order) {
          const server = servers[which];
          const result = await loadTest(server.port, target.path, target.headers(JSON.parse(server.token)), SECONDS, server.child.pid);
          rps[which].push(result.rps);
          cpu[which].push(result.cpuMsPerRequest);
        }
      }
      const plain = median(rps.plain)!;
      const observed = median(rps.observed)!;
      const overhead = 1 - observed / plain;
      const cpuPlain = median(cpu.plain)!;
      const cpuObserved = median(cpu.observed)!;
      const cpuOverhead = cpuObserved / cpuPlain - 1;
      const line =
        `${mark(overhead <= MAX_OVERHEAD)} ${target.name}: ${plain.toFixed(0)} req/s without, ${observed.toFixed(0)} req/s with metrics + events: ` +
        `overhead ${(overhead * 100).toFixed(1)} % (target <= ${MAX_OVERHEAD * 100} %); server CPU ${cpuPlain.toFixed(3)} / ${cpuObserved.toFixed(3)} ms per request: ` +
        `${(cpuOverhead * 100).toFixed(1)} % more`;
      console.log(`  rounds without: ${rps.plain.map((v) => v.toFixed(0)).join(' ')}; with: ${rps.observed.map((v) => v.toFixed(0)).join(' ')}`);
      console.log(line);
      lines.push(line);
    }
    console.log('summary');
    for (const line of lines) console.log(line);
  } finally {
    await servers.plain.stop();
    await servers.observed.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(process.argv[3], process.argv[4] === 'observed'));
else await main();
