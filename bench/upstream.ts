// The upstream proxy benchmark (issue 15). The upstream is a SmartRegistry in a child process holding 30 npm
// packages (and later one 1 GiB OCI blob); it counts every request it gets. Measured:
//   1. `npm install` of the 30 packages into a fresh project with a fresh npm cache, BENCH_UPSTREAM_ROUNDS times
//      (default 3, median): straight from the upstream; through a proxy SmartRegistry, cold (empty storage) and
//      warm (the same proxy again); through Verdaccio 6 with an uplink to the same upstream, cold and warm. Each
//      with the requests the upstream got. Targets: warm through the proxy no slower than Verdaccio warm, cold
//      within 1.2× of installing from the upstream directly.
//   2. 20 curl clients pulling the same uncached 1 GiB OCI blob through a fresh proxy at once: the proxy's peak
//      RSS (target ≤ 150 MiB) and the upstream fetches of the blob (target 1).
// Verdaccio is installed from the npm registry into a temp directory (BENCH_VERDACCIO_DIR, default
// $TMPDIR/smartregistry-bench-verdaccio), never a dependency of ours; BENCH_VERDACCIO=0 leaves it out.
// Run: node --import tsx bench/upstream.ts
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import { StaticUpstreamProvider } from '../ts/upstream/classes.staticupstreamprovider.js';
import { envWithout } from '../test/helpers/clients.js';
import { publishBody } from '../test/npm/fixtures.js';
import { benchRequest, curlThroughput, mark, median, rssSampler, serveInChild, startBenchServer, type IBenchServer } from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const PACKAGES = 30;
const ROUNDS = Number(process.env.BENCH_UPSTREAM_ROUNDS ?? 3);
const BLOB_BYTES = Number(process.env.BENCH_UPSTREAM_BLOB_MIB ?? 1024) * MiB;
const BLOB_CLIENTS = Number(process.env.BENCH_UPSTREAM_BLOB_CLIENTS ?? 20);
const TARGETS = { warmVsVerdaccio: 1, coldVsDirect: 1.2, peakRssMiB: 150 };
const VERDACCIO_DIR = process.env.BENCH_VERDACCIO_DIR ?? path.join(os.tmpdir(), 'smartregistry-bench-verdaccio');
const ADMIN = { user: 'bench', password: 'bench-password-0123456789' };
const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
/** The upstream's own page of how many requests it got (answered by the counting wrapper, never counted). */
const COUNTER_PATH = '/__bench/requests';
const packageName = (index: number) => `bench-up-${String(index).padStart(2, '0')}`;

// ---- servers (child processes) -----------------------------------------------------------------

async function buildRegistry(dir: string, upstreamPort: number | null) {
  const upstream = upstreamPort === null ? undefined : `http://127.0.0.1:${upstreamPort}`;
  const registry = new SmartRegistry({
    storage: { type: 'filesystem', path: dir },
    auth: { tokenStore: 'memory', anonymousRead: true, users: { [ADMIN.user]: { password: ADMIN.password, scopes: ['*'] } }, npmTokens: { enabled: true } },
    logging: { level: 'error' },
    npm: { enabled: true, basePath: '/npm' },
    oci: { enabled: true, basePath: '/oci' },
    ...(upstream
      ? {
          upstreamProvider: new StaticUpstreamProvider({
            npm: { enabled: true, upstreams: [{ id: 'up', url: `${upstream}/npm`, priority: 1, enabled: true }] },
            oci: { enabled: true, upstreams: [{ id: 'up', url: upstream, priority: 1, enabled: true }] },
          }),
        }
      : {}),
  });
  await registry.init();
  const handler = createNodeHandler(registry) as http.RequestListener;
  const token = await registry.getAuthManager().createNpmToken(ADMIN.user);
  if (upstream) return { handler, token };
  // The upstream counts what it is asked for, by path.
  const counts = new Map<string, number>();
  const counting: http.RequestListener = (req, res) => {
    const requestPath = (req.url ?? '/').split('?')[0]!;
    if (requestPath === COUNTER_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(counts)));
      return;
    }
    counts.set(requestPath, (counts.get(requestPath) ?? 0) + 1);
    handler(req, res);
  };
  return { handler: counting, token };
}

const tempDir = (label: string) => fsp.mkdtemp(path.join(os.tmpdir(), `smartregistry-bench-upstream-${label}-`));

async function startRegistry(upstreamPort: number | null): Promise<IBenchServer & { dir: string }> {
  const dir = await tempDir(upstreamPort === null ? 'origin' : 'proxy');
  const server = await startBenchServer(SELF, ['--serve', dir, String(upstreamPort ?? '')]);
  return {
    ...server,
    dir,
    stop: async () => {
      await server.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

async function upstreamCounts(upstream: IBenchServer): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${upstream.port}${COUNTER_PATH}`);
  return (await response.json()) as Record<string, number>;
}
const totalOf = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);

// ---- Verdaccio (a process of its own, from a temp install) -------------------------------------

function verdaccioBin(): string | null {
  if (process.env.BENCH_VERDACCIO === '0') return null;
  const bin = path.join(VERDACCIO_DIR, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  if (!fs.existsSync(bin)) {
    console.log(`installing verdaccio@6 into ${VERDACCIO_DIR} ...`);
    fs.mkdirSync(VERDACCIO_DIR, { recursive: true });
    const installed = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', VERDACCIO_DIR, 'verdaccio@6'], { stdio: 'inherit' });
    if (installed.status !== 0) return null;
  }
  return bin;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

async function startVerdaccio(bin: string, upstreamPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = await tempDir('verdaccio');
  const port = await freePort();
  const config = [
    `storage: ${path.join(dir, 'storage')}`,
    'uplinks:',
    '  local:',
    `    url: http://127.0.0.1:${upstreamPort}/npm/`,
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    proxy: local',
    'web:',
    '  enable: false',
    'log: { type: stdout, format: pretty, level: error }',
    '',
  ].join('\n');
  await fsp.writeFile(path.join(dir, 'config.yaml'), config);
  const child: ChildProcess = spawn(process.execPath, [bin, '--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let tries = 0; ; tries++) {
    const up = await fetch(`http://127.0.0.1:${port}/-/ping`).then((response) => response.ok, () => false);
    if (up) break;
    if (tries > 200 || child.exitCode !== null) throw new Error('verdaccio did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- npm install -------------------------------------------------------------------------------

/** Seconds one `npm install` of the 30 packages takes, in a fresh project with a fresh npm cache. */
async function npmInstall(registryUrl: string): Promise<number> {
  const dir = await tempDir('app');
  try {
    const dependencies = Object.fromEntries(Array.from({ length: PACKAGES }, (_, index) => [packageName(index), '1.0.0']));
    await fsp.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, dependencies }));
    const env = envWithout(/^npm_/i, { HOME: dir, npm_config_userconfig: path.join(dir, '.npmrc'), npm_config_cache: path.join(dir, 'npm-cache') });
    const args = ['install', '--registry', registryUrl, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--loglevel=error'];
    const started = performance.now();
    const run = spawnSync('npm', args, { cwd: dir, env, encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`npm install from ${registryUrl} failed:\n${run.stderr}`);
    const installed = await fsp.readdir(path.join(dir, 'node_modules'));
    if (installed.filter((name) => name.startsWith('bench-up-')).length !== PACKAGES) throw new Error(`npm install from ${registryUrl} left packages out`);
    return seconds;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

interface IInstallFigure {
  seconds: number;
  upstreamRequests: number;
}

/** `npm install` from `url`, timed, with the upstream requests it caused. */
async function measuredInstall(upstream: IBenchServer, url: string): Promise<IInstallFigure> {
  const before = totalOf(await upstreamCounts(upstream));
  const seconds = await npmInstall(url);
  return { seconds, upstreamRequests: totalOf(await upstreamCounts(upstream)) - before };
}

const summary = (figures: IInstallFigure[]) => ({
  seconds: median(figures.map((figure) => figure.seconds))!,
  upstreamRequests: median(figures.map((figure) => figure.upstreamRequests))!,
});

async function installPart(upstream: IBenchServer) {
  const rows: Record<string, IInstallFigure[]> = { direct: [], 'proxy cold': [], 'proxy warm': [], 'verdaccio cold': [], 'verdaccio warm': [] };
  const verdaccio = verdaccioBin();
  for (let round = 0; round < ROUNDS; round++) {
    rows.direct!.push(await measuredInstall(upstream, `http://127.0.0.1:${upstream.port}/npm/`));
    const proxy = await startRegistry(upstream.port);
    try {
      rows['proxy cold']!.push(await measuredInstall(upstream, `http://127.0.0.1:${proxy.port}/npm/`));
      rows['proxy warm']!.push(await measuredInstall(upstream, `http://127.0.0.1:${proxy.port}/npm/`));
    } finally {
      await proxy.stop();
    }
    if (!verdaccio) continue;
    const uplinked = await startVerdaccio(verdaccio, upstream.port);
    try {
      rows['verdaccio cold']!.push(await measuredInstall(upstream, `http://127.0.0.1:${uplinked.port}/`));
      rows['verdaccio warm']!.push(await measuredInstall(upstream, `http://127.0.0.1:${uplinked.port}/`));
    } finally {
      await uplinked.stop();
    }
  }
  console.log(`\n# npm install of ${PACKAGES} packages, fresh project and npm cache each time, median of ${ROUNDS}`);
  const medians: Record<string, { seconds: number; upstreamRequests: number }> = {};
  for (const [what, figures] of Object.entries(rows)) {
    if (figures.length === 0) continue;
    medians[what] = summary(figures);
    console.log(`${what.padEnd(16)} ${medians[what]!.seconds.toFixed(2).padStart(6)} s   ${String(medians[what]!.upstreamRequests).padStart(4)} upstream requests   (runs: ${figures.map((figure) => figure.seconds.toFixed(2)).join(', ')})`);
  }
  const cold = medians['proxy cold']!.seconds / medians.direct!.seconds;
  console.log(`${mark(cold <= TARGETS.coldVsDirect)} proxy cold / direct = ${cold.toFixed(2)}× (target ≤ ${TARGETS.coldVsDirect}×)`);
  if (medians['verdaccio warm']) {
    const warm = medians['proxy warm']!.seconds / medians['verdaccio warm'].seconds;
    console.log(`${mark(warm <= TARGETS.warmVsVerdaccio)} proxy warm / verdaccio warm = ${warm.toFixed(2)}× (target ≤ ${TARGETS.warmVsVerdaccio}×)`);
  } else {
    console.log('MISS verdaccio was not run: no warm comparison');
  }
}

// ---- 1 GiB blob through the proxy ----------------------------------------------------------------

async function blobPart(upstream: IBenchServer) {
  const block = crypto.randomBytes(16 * MiB);
  const hash = crypto.createHash('sha256');
  for (let sent = 0; sent < BLOB_BYTES; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, BLOB_BYTES - sent)));
  const digest = `sha256:${hash.digest('hex')}`;
  const body = Readable.from(
    (function* () {
      for (let sent = 0; sent < BLOB_BYTES; sent += block.length) yield block.subarray(0, Math.min(block.length, BLOB_BYTES - sent));
    })(),
  );
  const pushed = await benchRequest({ port: upstream.port, method: 'POST', path: `/v2/bench/big/blobs/uploads/?digest=${digest}`, headers: { authorization: basic }, body, contentLength: BLOB_BYTES });
  if (pushed.status !== 201) throw new Error(`blob push answered ${pushed.status}: ${pushed.text}`);
  const blobPath = `/v2/bench/big/blobs/${digest}`;
  // For comparison: what a registry takes to serve the stored blob to as many clients (the upstream itself).
  const local = rssSampler(upstream.child.pid!);
  const localBefore = local.now();
  const localMbs = await curlThroughput(`http://127.0.0.1:${upstream.port}${blobPath}`, {}, BLOB_CLIENTS, 1);
  const localPeak = local.stop();
  const proxy = await startRegistry(upstream.port);
  try {
    const rss = rssSampler(proxy.child.pid!);
    const rssBefore = rss.now();
    const before = (await upstreamCounts(upstream))[blobPath] ?? 0; // the comparison pulls counted too
    const mbs = await curlThroughput(`http://127.0.0.1:${proxy.port}${blobPath}`, {}, BLOB_CLIENTS, 1);
    const peak = rss.stop();
    const fetches = ((await upstreamCounts(upstream))[blobPath] ?? 0) - before;
    console.log(`\n# ${BLOB_CLIENTS} clients pull one uncached ${BLOB_BYTES / MiB} MiB OCI blob through the proxy at once`);
    console.log(`${(mbs).toFixed(0)} MB/s in total; proxy RSS ${rssBefore.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB; ${fetches} upstream fetch(es) of the blob`);
    console.log(`(the upstream serving its stored copy to ${BLOB_CLIENTS} clients: ${localMbs.toFixed(0)} MB/s, RSS ${localBefore.toFixed(0)} MiB before, peak ${localPeak.toFixed(0)} MiB)`);
    console.log(`${mark(peak <= TARGETS.peakRssMiB)} peak RSS ${peak.toFixed(0)} MiB (target ≤ ${TARGETS.peakRssMiB} MiB)`);
    console.log(`${mark(fetches === 1)} ${fetches} upstream fetch(es) (target 1)`);
  } finally {
    await proxy.stop();
  }
}

async function main() {
  const upstream = await startRegistry(null);
  try {
    for (let index = 0; index < PACKAGES; index++) {
      const { body } = await publishBody(packageName(index), '1.0.0');
      const published = await benchRequest({
        port: upstream.port,
        method: 'PUT',
        path: `/npm/${packageName(index)}`,
        headers: { authorization: `Bearer ${upstream.token}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
      });
      if (published.status !== 201) throw new Error(`publish of ${packageName(index)} answered ${published.status}`);
    }
    console.log(`# upstream and proxy: SmartRegistry on the filesystem, compiled, each in a child process; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
    if (process.env.BENCH_UPSTREAM_PARTS !== 'blob') await installPart(upstream);
    if (process.env.BENCH_UPSTREAM_PARTS !== 'install') await blobPart(upstream);
  } finally {
    await upstream.stop();
  }
}

if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(process.argv[3]!, process.argv[4] ? Number(process.argv[4]) : null));
else await main();
