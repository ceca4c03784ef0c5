// The download benchmark (issue 19, "Downloads straight from storage"): two registries on one Ceph RGW bucket,
// one streaming every artifact and one answering with presigned redirects, each in its own child process.
// curl follows the redirects, as the real clients do. Measured per registry:
//   - an OCI blob pull (BENCH_DOWNLOADS_MIB, default 256 MiB) by one client, MB/s (median of 3),
//   - the same blob pulled by 8 clients at once, MB/s in total,
//   - 1 MiB npm tarball GETs by 8 clients (BENCH_DOWNLOADS_TARBALL_GETS each, default 128: 1 GiB), MB/s,
//     twice (the second round shows whether memory keeps growing), then once more with an npm token on
//     every GET; all after unmeasured GETs (six rounds back to back, half of them with the token, then half a
//     round followed each way), so that the figures
//     are a running server's and not V8 compiling the path (a fresh process's first 1,000-2,000 GETs cost up
//     to twice the later ones; the token check is compiled on the first GETs that carry one),
//   - the same GETs with the 307 not followed: the registry answers back to back instead of once per
//     1 MiB download, which shows the redirect path's own cost in a busy process,
//   - the registry's CPU seconds per GiB served (and per request) and its peak RSS during each part,
//   - the floor: a bare node:http server answering every tarball GET with a 307 to the same presigned URL
//     (what Node and the kernel cost per redirected request, with no registry work at all), both ways.
// Each curl keeps one connection to the registry and one to the bucket for all its GETs, as npm's
// keep-alive agent does. CPU is the server process's own, from /proc (curl and RGW are not in it).
// A request that reaches an idle process costs several times one that reaches a busy one (the floor's
// two rows): at 8 clients the registry mostly waits while the clients read from the bucket.
// Target with redirects: under 0.1 CPU-s/GiB and no RSS growth. Needs Ceph RGW (test/infra/ceph, root).
// `--cold` measures instead what `handleRequest` of one redirected tarball GET costs in a compiled child with serve's
// flags: warm (back to back), and with the CPU caches evicted before each call (a write of twice the last-level cache, as curl and RGW leave
// them for a process woken per download), beside an `await` of a settled promise in the same conditions.
// Run: node --import tsx bench/downloads.ts [--tarballs-only] [--rounds=N] [--against=DIR] | [--cold] [--calls=N]
//   --tarballs-only: no blobs and no streaming registry, only the 1 MiB tarball GETs of the redirecting one and the floor;
//   --rounds=N: then N more rounds of the followed tarball GETs, alternating the servers (A B A B, the same minutes),
//     each registry's anonymous and then with its npm token;
//   --against=DIR: in those rounds also a redirecting registry built from another checkout (the code before a
//     change), started by that checkout's own bench/downloads.ts on the same bucket.
import * as crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as http from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { startCephS3 } from '../test/helpers/ceph.js';
import { publishBody } from '../test/npm/fixtures.js';
import { benchRequest, compiledScript, cpuSeconds, curlThroughput, mainThreadCpuSeconds, mark, median, parseBenchArgs, rssSampler, serveInChild, startBenchServer, type IBenchServer } from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BLOB_BYTES = Number(process.env.BENCH_DOWNLOADS_MIB ?? 256) * MiB;
const TARBALL_GETS = Number(process.env.BENCH_DOWNLOADS_TARBALL_GETS ?? 128);
const CLIENTS = 8;
const SINGLE_PULLS = 3;
/**
 * Unmeasured rounds of tarball GETs before the first measured one, half of them with the token. A fresh process
 * compiles for its first several thousand GETs (V8's compiler threads took up to half the CPU of the first 1,000
 * followed GETs after 2,000 unmeasured ones): a running registry's figures come after that.
 */
const WARM_UP_ROUNDS = 6;
/** GETs per client of each followed warm-up round (see warmUp). */
const FOLLOWED_WARM_UP_GETS = 64;
const TARGET_CPU_PER_GIB = 0.1;
const ADMIN = { user: 'bench', password: 'bench-password-0123456789' };
const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

async function buildRegistry(storage: IStorageConfig, redirect: boolean) {
  const registry = new SmartRegistry({
    storage,
    auth: { tokenStore: 'memory', anonymousRead: true, users: { [ADMIN.user]: { password: ADMIN.password, scopes: ['*'] } }, npmTokens: { enabled: true } },
    logging: { level: 'error' },
    downloads: { redirect },
    oci: { enabled: true, basePath: '/oci' },
    npm: { enabled: true, basePath: '/npm' },
  });
  await registry.init();
  return { registry, handler: createNodeHandler(registry) as http.RequestListener, token: await registry.getAuthManager().createNpmToken(ADMIN.user) };
}

const TARBALL_PATH = '/npm/bench-tarball/-/bench-tarball-1.0.0.tgz';

/** Publishes the 1 MiB tarball the GETs ask for, through `handleRequest`. */
async function publishTarball(registry: SmartRegistry, token: string): Promise<void> {
  const { body } = await publishBody('bench-tarball', '1.0.0', { tarball: crypto.randomBytes(MiB) });
  const published = await registry.handleRequest({ method: 'PUT', path: '/npm/bench-tarball', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, query: {}, body });
  if (published.status !== 201) throw new Error(`npm publish answered ${published.status}`);
}

/** Microseconds of `call`, median of `calls`, each after `before` (untimed). */
async function medianMicros(calls: number, before: () => void, call: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < calls; index++) {
    before();
    const started = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  return median(times)!;
}

/** The largest CPU cache's size as Linux reports it (a 16 MiB write left most of a 32 MiB L3 as it was); 16 MiB elsewhere. */
function lastLevelCacheBytes(): number {
  const units: Record<string, number> = { K: 1024, M: MiB };
  let largest = 16 * MiB;
  for (let index = 0; index < 8; index++) {
    let size: string;
    try {
      size = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`, 'utf8').trim();
    } catch {
      break;
    }
    const parsed = /^(\d+)([KM]?)$/.exec(size);
    if (parsed) largest = Math.max(largest, Number(parsed[1]) * (units[parsed[2]!] ?? 1));
  }
  return largest;
}

/** `--cold`, in the compiled child: one redirected GET's `handleRequest`, warm and with the caches evicted. */
async function coldCalls(storage: IStorageConfig, calls: number): Promise<void> {
  const { registry, token } = await buildRegistry(storage, true);
  try {
    await publishTarball(registry, token);
    // A fresh path and header object per call, as node:http hands them over.
    const get = (withToken: boolean) => async () => {
      const headers: Record<string, string> = { host: '127.0.0.1', 'user-agent': 'curl/7.88.1', accept: '*/*' };
      if (withToken) headers.authorization = `Bearer ${token}`;
      const response = await registry.handleRequest({ method: 'GET', path: `${TARBALL_PATH} `.trimEnd(), headers, query: {}, actor: { ip: '127.0.0.1' } });
      if (response.status !== 307) throw new Error(`GET answered ${response.status}`);
    };
    const settled = () => Promise.resolve();
    // Past V8's compiling: a running registry's figures.
    for (let index = 0; index < 20_000; index++) await get(index % 4 === 0)();
    const evicted = new Uint8Array(2 * lastLevelCacheBytes());
    const evict = () => {
      for (let index = 0; index < evicted.length; index += 64) evicted[index]++;
    };
    const nothing = () => undefined;
    const rows: [string, () => Promise<unknown>][] = [['an await of a settled promise', settled], ['redirected GET', get(false)], ['redirected GET with an npm token', get(true)]];
    for (const [caches, before] of [['warm', nothing], ['caches evicted', evict]] as const) {
      for (const [what, call] of rows) console.log(`${caches.padEnd(15)} ${what.padEnd(34)} ${(await medianMicros(calls, before, call)).toFixed(2).padStart(7)} µs (median of ${calls})`);
    }
  } finally {
    await registry.destroy();
  }
}

/** The floor's server: every request is a 307 to `location`, as the registry's redirect answers. */
const redirectOnly = (location: string): http.RequestListener => (_req, res) => {
  res.writeHead(307, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': '0' });
  res.end();
};

interface IPart {
  mbs: number;
  cpuPerGiB: number;
  /** The main thread's part: the rest is V8's compiler and GC helper threads and libuv's pool. */
  mainThreadCpuPerGiB: number;
  /** Server CPU per request in µs, and requests per second (tarball parts). */
  perRequest?: { cpuUs: number; rate: number };
  peakRssMiB: number;
  rssBeforeMiB: number;
}

/**
 * `pull` (MB/s of each run) against `server` handing out `bytes` in all, with the server's CPU seconds per
 * GiB (and per request, when `requests` are counted) and its peak RSS meanwhile.
 */
async function measure(server: IBenchServer, bytes: number, pull: () => Promise<number[]>, requests?: number): Promise<IPart> {
  const pid = server.child.pid!;
  const rss = rssSampler(pid);
  const rssBeforeMiB = rss.now();
  const cpuBefore = cpuSeconds(pid);
  const mainBefore = mainThreadCpuSeconds(pid);
  const started = performance.now();
  const runs = await pull();
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  const main = mainThreadCpuSeconds(pid) - mainBefore;
  return {
    mbs: median(runs)!,
    cpuPerGiB: cpu / (bytes / GiB),
    mainThreadCpuPerGiB: main / (bytes / GiB),
    ...(requests ? { perRequest: { cpuUs: (cpu * 1e6) / requests, rate: requests / seconds } } : {}),
    peakRssMiB: rss.stop(),
    rssBeforeMiB,
  };
}

/** `CLIENTS` curls, `gets` GETs of `url` each, the 307 followed to the bucket or not. */
function tarballPart(server: IBenchServer, url: string, bytesPerGet: number, options: { headers?: Record<string, string>; follow?: boolean; gets?: number } = {}) {
  const gets = options.gets ?? TARBALL_GETS;
  const requests = CLIENTS * gets;
  const pull = async () => [await curlThroughput(url, options.headers ?? {}, CLIENTS, gets, { followRedirects: options.follow ?? true })];
  return measure(server, requests * bytesPerGet, pull, requests);
}

/**
 * Unmeasured GETs without and with the token, 307s not followed (no bytes need to move), then one followed round
 * each way: a process woken per download runs paths back-to-back GETs leave cold (its first followed round after
 * back-to-back ones cost 0.115-0.131 CPU-s/GiB, ~0.017 of it on V8's helper threads, against 0.08-0.10 after).
 */
async function warmUp(server: IBenchServer, url: string) {
  const withToken = server.token ? { headers: { authorization: `Bearer ${server.token}` } } : {};
  for (let round = 0; round < WARM_UP_ROUNDS; round++) await tarballPart(server, url, 0, { follow: false, ...(round % 2 === 1 ? withToken : {}) });
  for (const headers of [{}, withToken]) await tarballPart(server, url, 0, { follow: true, gets: FOLLOWED_WARM_UP_GETS, ...headers });
}

const row = (who: string, what: string, part: IPart) =>
  `${who.padEnd(10)} ${what.padEnd(36)} ${part.mbs.toFixed(0).padStart(5)} MB/s  ${part.cpuPerGiB.toFixed(3).padStart(6)} CPU-s/GiB  ` +
  `(main thread ${part.mainThreadCpuPerGiB.toFixed(3)})  ${part.perRequest ? `${part.perRequest.cpuUs.toFixed(0).padStart(4)} µs/req ${part.perRequest.rate.toFixed(0).padStart(5)} req/s` : ' '.repeat(21)}  ` +
  `RSS ${part.rssBeforeMiB.toFixed(0)} → peak ${part.peakRssMiB.toFixed(0)} MiB`;

async function main() {
  const args = parseBenchArgs();
  if ('cold' in args) {
    const ceph = await startCephS3();
    try {
      const { file, execArgv, env } = compiledScript(SELF);
      const storage: IStorageConfig = { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName };
      console.log(`# handleRequest in a compiled child with serve's flags, Ceph RGW; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}; caches evicted by a ${(2 * lastLevelCacheBytes()) / MiB} MiB write`);
      const child = spawnSync(process.execPath, [...execArgv, file, '--cold-child', JSON.stringify(storage), String(Number(args.calls ?? 1000))], { env, stdio: 'inherit' });
      if (child.status !== 0) throw new Error(`the measuring child exited with ${child.status}`);
    } finally {
      await ceph.stop();
    }
    return;
  }
  const tarballsOnly = 'tarballs-only' in args;
  const rounds = Number(args.rounds ?? 0);
  const ceph = await startCephS3();
  const storage: IStorageConfig = { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName };
  const servers: Partial<Record<'streamed' | 'redirected', IBenchServer>> = {};
  if (!tarballsOnly) servers.streamed = await startBenchServer(SELF, ['--serve', JSON.stringify(storage), 'stream']);
  servers.redirected = await startBenchServer(SELF, ['--serve', JSON.stringify(storage), 'redirect']);
  const others: IBenchServer[] = [];
  try {
    const redirecting = servers.redirected;
    const tarball = crypto.randomBytes(MiB);
    const { body: publish } = await publishBody('bench-tarball', '1.0.0', { tarball });
    const published = await benchRequest({
      port: redirecting.port,
      method: 'PUT',
      path: '/npm/bench-tarball',
      headers: { authorization: `Bearer ${redirecting.token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(publish)),
    });
    if (published.status !== 201) throw new Error(`npm publish answered ${published.status}`);
    const tarballPath = TARBALL_PATH;
    const location = (await fetch(`http://127.0.0.1:${redirecting.port}${tarballPath}`, { redirect: 'manual' })).headers.get('location');
    if (!location) throw new Error('the redirecting registry answered the tarball GET without a Location');
    const floor = await startBenchServer(SELF, ['--serve-floor', location]);
    others.push(floor);
    // The other checkout's own bench starts its registry (compiled from its sources) on the same bucket.
    let before: IBenchServer | undefined;
    if (args.against) {
      const tree = path.resolve(args.against);
      const helpers = (await import(path.join(tree, 'bench', 'helpers.load.ts'))) as typeof import('./helpers.load.js');
      before = await helpers.startBenchServer(path.join(tree, 'bench', 'downloads.ts'), ['--serve', JSON.stringify(storage), 'redirect']);
      others.push(before);
    }
    const tarballUrl = (server: IBenchServer) => `http://127.0.0.1:${server.port}${tarballPath}`;

    const rows: string[] = [];
    const results: Record<string, Record<string, IPart>> = {};
    if (servers.streamed) {
      // One blob, pushed monolithically (stored as one object), read by both registries.
      const block = crypto.randomBytes(16 * MiB);
      const hash = crypto.createHash('sha256');
      for (let sent = 0; sent < BLOB_BYTES; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, BLOB_BYTES - sent)));
      const digest = `sha256:${hash.digest('hex')}`;
      const body = Readable.from((function* () {
        for (let sent = 0; sent < BLOB_BYTES; sent += block.length) yield block.subarray(0, Math.min(block.length, BLOB_BYTES - sent));
      })());
      const pushed = await benchRequest({ port: servers.streamed.port, method: 'POST', path: `/v2/bench/blobs/uploads/?digest=${digest}`, headers: { authorization: basic }, body, contentLength: BLOB_BYTES });
      if (pushed.status !== 201) throw new Error(`blob push answered ${pushed.status}`);
      for (const [mode, server] of Object.entries(servers)) {
        const blobUrl = `http://127.0.0.1:${server.port}/v2/bench/blobs/${digest}`;
        const follow = { followRedirects: true };
        const single = await measure(server, SINGLE_PULLS * BLOB_BYTES, async () => {
          const runs = [];
          for (let run = 0; run < SINGLE_PULLS; run++) runs.push(await curlThroughput(blobUrl, {}, 1, 1, follow));
          return runs;
        });
        const parallel = await measure(server, CLIENTS * BLOB_BYTES, async () => [await curlThroughput(blobUrl, {}, CLIENTS, 1, follow)]);
        results[mode] = { single, parallel };
        rows.push(row(mode, `${BLOB_BYTES / MiB} MiB blob, 1 client`, single), row(mode, `${BLOB_BYTES / MiB} MiB blob, ${CLIENTS} clients`, parallel));
      }
    }
    for (const [mode, server] of Object.entries(servers)) {
      await warmUp(server, tarballUrl(server));
      const tarballs = await tarballPart(server, tarballUrl(server), tarball.length);
      // The same again: whether the memory the first round took is reused (steady state) or keeps growing.
      const tarballsAgain = await tarballPart(server, tarballUrl(server), tarball.length);
      // As npm sends them: every GET with the token, checked on every request (curl drops it on the redirect to another host).
      const tarballsWithToken = await tarballPart(server, tarballUrl(server), tarball.length, { headers: { authorization: `Bearer ${server.token}` } });
      results[mode] = { ...results[mode], tarballs, tarballsAgain, tarballsWithToken };
      rows.push(
        row(mode, `1 MiB tarball × ${TARBALL_GETS}, ${CLIENTS} clients`, tarballs),
        row(mode, `  the same again`, tarballsAgain),
        row(mode, `  the same with an npm token`, tarballsWithToken),
      );
      if (mode === 'redirected') rows.push(row(mode, `  307 not followed (back to back)`, await tarballPart(server, tarballUrl(server), tarball.length, { follow: false })));
    }
    await warmUp(floor, tarballUrl(floor));
    rows.push(
      row('floor', `bare node:http 307, 1 MiB × ${TARBALL_GETS}`, await tarballPart(floor, tarballUrl(floor), tarball.length)),
      row('floor', `  307 not followed (back to back)`, await tarballPart(floor, tarballUrl(floor), tarball.length, { follow: false })),
    );
    // Alternated rounds: the servers one after the other, so that the machine's load bends them alike.
    const alternated: [string, IBenchServer][] = [...(before ? [['before', before] as [string, IBenchServer]] : []), ['redirected', redirecting], ['floor', floor]];
    if (before && rounds > 0) await warmUp(before, tarballUrl(before));
    for (let round = 1; round <= rounds; round++) {
      for (const [who, server] of alternated) {
        const load = os.loadavg()[0]!.toFixed(1);
        rows.push(row(who, `round ${round}: 1 MiB × ${TARBALL_GETS}, load ${load}`, await tarballPart(server, tarballUrl(server), tarball.length)));
        if (!server.token) continue;
        const withToken = { headers: { authorization: `Bearer ${server.token}` } };
        rows.push(row(who, `  with an npm token, load ${os.loadavg()[0]!.toFixed(1)}`, await tarballPart(server, tarballUrl(server), tarball.length, withToken)));
      }
    }
    console.log(`# Ceph RGW on loopback, curl --location, registry compiled in a child process; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
    for (const line of rows) console.log(line);
    const redirected = results.redirected!;
    for (const [what, part] of Object.entries(redirected)) {
      console.log(`${mark(part.cpuPerGiB < TARGET_CPU_PER_GIB)} redirects, ${what}: ${part.cpuPerGiB.toFixed(3)} CPU-s per GiB served (target under ${TARGET_CPU_PER_GIB})`);
    }
    // Steady state: the first tarball round may still grow the heap to its working size.
    const steady = [redirected.single, redirected.parallel, redirected.tarballsAgain].filter((part) => part !== undefined);
    const rssGrowth = Math.max(...steady.map((part) => part.peakRssMiB - part.rssBeforeMiB));
    console.log(`${mark(rssGrowth < 10)} redirects: RSS grows at most ${rssGrowth.toFixed(1)} MiB while serving in steady state (target: none)`);
  } finally {
    for (const server of [...others, ...Object.values(servers)]) await server.stop();
    await ceph.stop();
  }
}

if (process.argv[2] === '--serve-floor') await serveInChild(async () => ({ handler: redirectOnly(process.argv[3]!), token: '' }));
else if (process.argv[2] === '--cold-child') await coldCalls(JSON.parse(process.argv[3]!) as IStorageConfig, Number(process.argv[4]));
else if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]!) as IStorageConfig, process.argv[4] === 'redirect'));
else await main();
