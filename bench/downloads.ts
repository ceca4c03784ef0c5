// The download benchmark (issue 19, "Downloads straight from storage"): two registries on one Ceph RGW bucket,
// one streaming every artifact and one answering with presigned redirects, each in its own child process.
// curl follows the redirects, as the real clients do. Measured per registry:
//   - an OCI blob pull (BENCH_DOWNLOADS_MIB, default 256 MiB) by one client, MB/s (median of 3),
//   - the same blob pulled by 8 clients at once, MB/s in total,
//   - 1 MiB npm tarball GETs by 8 clients (BENCH_DOWNLOADS_TARBALL_GETS each), MB/s, twice (the second
//     round shows whether memory keeps growing), then once more with an npm token on every GET,
//   - the registry's CPU seconds per GiB served and its peak RSS during each part,
//   - the floor: a bare node:http server answering every tarball GET with a 307 to the same presigned URL
//     (what Node and the kernel cost per redirected request, with no registry work at all).
// Target with redirects: under 0.1 CPU-s/GiB and no RSS growth. Needs Ceph RGW (test/infra/ceph, root).
// Run: node --import tsx bench/downloads.ts
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import type * as http from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { startCephS3 } from '../test/helpers/ceph.js';
import { publishBody } from '../test/npm/fixtures.js';
import { benchRequest, cpuSeconds, curlThroughput, mark, median, rssSampler, serveInChild, startBenchServer, type IBenchServer } from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BLOB_BYTES = Number(process.env.BENCH_DOWNLOADS_MIB ?? 256) * MiB;
const TARBALL_GETS = Number(process.env.BENCH_DOWNLOADS_TARBALL_GETS ?? 64);
const CLIENTS = 8;
const SINGLE_PULLS = 3;
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
  return { handler: createNodeHandler(registry) as http.RequestListener, token: await registry.getAuthManager().createNpmToken(ADMIN.user) };
}

/** The floor's server: every request is a 307 to `location`, as the registry's redirect answers. */
const redirectOnly = (location: string): http.RequestListener => (_req, res) => {
  res.writeHead(307, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': '0' });
  res.end();
};

interface IPart {
  mbs: number;
  cpuPerGiB: number;
  peakRssMiB: number;
  rssBeforeMiB: number;
}

/** `pull` (MB/s of each run) against `server` moving `bytes` in all, with the server's CPU seconds per GiB and peak RSS meanwhile. */
async function measure(server: IBenchServer, bytes: number, pull: () => Promise<number[]>): Promise<IPart> {
  const pid = server.child.pid!;
  const rss = rssSampler(pid);
  const rssBeforeMiB = rss.now();
  const cpuBefore = cpuSeconds(pid);
  const runs = await pull();
  const cpu = cpuSeconds(pid) - cpuBefore;
  return { mbs: median(runs)!, cpuPerGiB: cpu / (bytes / GiB), peakRssMiB: rss.stop(), rssBeforeMiB };
}

async function main() {
  const ceph = await startCephS3();
  const storage: IStorageConfig = { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName };
  const servers: Record<'streamed' | 'redirected', IBenchServer> = {
    streamed: await startBenchServer(SELF, ['--serve', JSON.stringify(storage), 'stream']),
    redirected: await startBenchServer(SELF, ['--serve', JSON.stringify(storage), 'redirect']),
  };
  try {
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
    const tarball = crypto.randomBytes(MiB);
    const { body: publish } = await publishBody('bench-tarball', '1.0.0', { tarball });
    const published = await benchRequest({
      port: servers.streamed.port,
      method: 'PUT',
      path: '/npm/bench-tarball',
      headers: { authorization: `Bearer ${servers.streamed.token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(publish)),
    });
    if (published.status !== 201) throw new Error(`npm publish answered ${published.status}`);

    const rows: string[] = [];
    const results: Record<string, Record<string, IPart>> = {};
    for (const [mode, server] of Object.entries(servers)) {
      const base = `http://127.0.0.1:${server.port}`;
      const blobUrl = `${base}/v2/bench/blobs/${digest}`;
      const tarballUrl = `${base}/npm/bench-tarball/-/bench-tarball-1.0.0.tgz`;
      const follow = { followRedirects: true };
      const single = await measure(server, SINGLE_PULLS * BLOB_BYTES, async () => {
        const runs = [];
        for (let run = 0; run < SINGLE_PULLS; run++) runs.push(await curlThroughput(blobUrl, {}, 1, 1, follow));
        return runs;
      });
      const parallel = await measure(server, CLIENTS * BLOB_BYTES, async () => [await curlThroughput(blobUrl, {}, CLIENTS, 1, follow)]);
      const tarballPart = (headers: Record<string, string> = {}) =>
        measure(server, CLIENTS * TARBALL_GETS * tarball.length, async () => [await curlThroughput(tarballUrl, headers, CLIENTS, TARBALL_GETS, follow)]);
      const tarballs = await tarballPart();
      // The same again: whether the memory the first round took is reused (steady state) or keeps growing.
      const tarballsAgain = await tarballPart();
      // As npm sends them: every GET with the token, checked on every request (curl drops it on the redirect to another host).
      const tarballsWithToken = await tarballPart({ authorization: `Bearer ${server.token}` });
      results[mode] = { single, parallel, tarballs, tarballsAgain, tarballsWithToken };
      const row = (what: string, part: IPart) =>
        `${mode.padEnd(10)} ${what.padEnd(34)} ${part.mbs.toFixed(0).padStart(6)} MB/s  ${part.cpuPerGiB.toFixed(3).padStart(7)} CPU-s/GiB  ` +
        `RSS ${part.rssBeforeMiB.toFixed(0)} → peak ${part.peakRssMiB.toFixed(0)} MiB`;
      rows.push(
        row(`${BLOB_BYTES / MiB} MiB blob, 1 client`, single),
        row(`${BLOB_BYTES / MiB} MiB blob, ${CLIENTS} clients`, parallel),
        row(`1 MiB tarball × ${TARBALL_GETS}, ${CLIENTS} clients`, tarballs),
        row(`  the same again`, tarballsAgain),
        row(`  the same with an npm token`, tarballsWithToken),
      );
    }
    const tarballPath = '/npm/bench-tarball/-/bench-tarball-1.0.0.tgz';
    const location = (await fetch(`http://127.0.0.1:${servers.redirected.port}${tarballPath}`, { redirect: 'manual' })).headers.get('location');
    if (!location) throw new Error('the redirecting registry answered the tarball GET without a Location');
    const floor = await startBenchServer(SELF, ['--serve-floor', location]);
    try {
      const floorPart = () =>
        measure(floor, CLIENTS * TARBALL_GETS * tarball.length, async () => [await curlThroughput(`http://127.0.0.1:${floor.port}${tarballPath}`, {}, CLIENTS, TARBALL_GETS, { followRedirects: true })]);
      await floorPart();
      const part = await floorPart();
      rows.push(
        `${'floor'.padEnd(10)} ${`bare node:http 307, 1 MiB × ${TARBALL_GETS}, ${CLIENTS} clients`.padEnd(34)} ${part.mbs.toFixed(0).padStart(6)} MB/s  ${part.cpuPerGiB.toFixed(3).padStart(7)} CPU-s/GiB  ` +
          `RSS ${part.rssBeforeMiB.toFixed(0)} → peak ${part.peakRssMiB.toFixed(0)} MiB (second round)`,
      );
    } finally {
      await floor.stop();
    }
    console.log(`# Ceph RGW on loopback, curl --location, registry compiled in a child process; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
    for (const line of rows) console.log(line);
    const redirected = results.redirected!;
    for (const [what, part] of Object.entries(redirected)) {
      console.log(`${mark(part.cpuPerGiB < TARGET_CPU_PER_GIB)} redirects, ${what}: ${part.cpuPerGiB.toFixed(3)} CPU-s per GiB served (target under ${TARGET_CPU_PER_GIB})`);
    }
    // Steady state: the first tarball round may still grow the heap to its working size.
    const steady = [redirected.single!, redirected.parallel!, redirected.tarballsAgain!];
    const rssGrowth = Math.max(...steady.map((part) => part.peakRssMiB - part.rssBeforeMiB));
    console.log(`${mark(rssGrowth < 10)} redirects: RSS grows at most ${rssGrowth.toFixed(1)} MiB while serving in steady state (target: none)`);
  } finally {
    for (const server of Object.values(servers)) await server.stop();
    await ceph.stop();
  }
}

if (process.argv[2] === '--serve-floor') await serveInChild(async () => ({ handler: redirectOnly(process.argv[3]!), token: '' }));
else if (process.argv[2] === '--serve') await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]!) as IStorageConfig, process.argv[4] === 'redirect'));
else await main();
