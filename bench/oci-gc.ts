// OCI garbage collection time for 10,000 blobs (issue 9), on the filesystem and on S3 (s3rver), in
// process: 10,000 small blobs pushed through handleRequest into one repository, referenced by 10
// tagged manifests of 1,000 layers; 5 manifests deleted, so 5,000 blobs are garbage. Timed: listing the data parts alone and their keys alone (what the orphan search adds), a dry run
// (listing and reading everything, deleting nothing), the collection (5,000 links, records and data
// parts deleted), and a collection that finds nothing.
// Run: node --import tsx bench/oci-gc.ts [--backend=fs|s3|all] [--blobs=10000]
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { mapLimited } from '../ts/core/helpers.async.js';
import { streamToBuffer } from '../ts/core/helpers.stream.js';
import type { IRegistryConfig, IStorageConfig } from '../ts/core/interfaces.core.js';
import { ociPaths } from '../ts/core/storage.paths.js';
import type { OciRegistry } from '../ts/oci/classes.ociregistry.js';
import { parseBenchArgs, withBackends } from './helpers.load.js';

const args = parseBenchArgs();
const BLOBS = Number(args.blobs ?? 10_000);
/** Ten manifests (at most 1,000 layers each: the registry accepts 1,024). */
const LAYERS_PER_MANIFEST = Math.min(1000, Math.ceil(BLOBS / 10));
const PUSH_CONCURRENCY = 16;
const REPOSITORY = 'bench/gc';
const sha256 = (bytes: Buffer) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

function registryOn(storage: IStorageConfig, gracePeriod?: string): SmartRegistry {
  const config: IRegistryConfig = {
    storage,
    auth: { tokenStore: 'memory', users: { admin: { password: 'bench-password', scopes: ['*'] } } },
    logging: { level: 'error' },
    oci: { enabled: true, basePath: '/oci', ...(gracePeriod ? { garbageCollection: { gracePeriod } } : {}) },
  };
  return new SmartRegistry(config);
}

async function call(registry: SmartRegistry, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}, query: Record<string, string> = {}) {
  const response = await registry.handleRequest({
    method,
    path,
    query,
    headers: { host: 'registry.example.com', authorization: `Basic ${Buffer.from('admin:bench-password').toString('base64')}`, ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
    body,
  });
  const bytes = await streamToBuffer(response.body);
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${bytes.toString().slice(0, 200)}`);
}

interface IFigures {
  backend: string;
  pushSeconds: number;
  /** Listing the data parts alone, and their keys alone (what the orphan search lists). */
  partsListSeconds: number;
  partKeysSeconds: number;
  drySeconds: number;
  collectSeconds: number;
  idleSeconds: number;
  collected: number;
}

async function bench(backend: string, storage: IStorageConfig): Promise<IFigures> {
  const pusher = registryOn(storage);
  await pusher.init();
  let started = performance.now();
  const blobs = Array.from({ length: BLOBS }, () => crypto.randomBytes(64));
  const digests = await mapLimited(blobs, PUSH_CONCURRENCY, async (bytes) => {
    const digest = sha256(bytes);
    await call(pusher, 'POST', `/v2/${REPOSITORY}/blobs/uploads/`, bytes, { 'content-type': 'application/octet-stream' }, { digest });
    return digest;
  });
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  await call(pusher, 'POST', `/v2/${REPOSITORY}/blobs/uploads/`, config, {}, { digest: sha256(config) });
  const manifests: Buffer[] = [];
  for (let first = 0; first < digests.length; first += LAYERS_PER_MANIFEST) {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: digests.slice(first, first + LAYERS_PER_MANIFEST).map((digest) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: 64 })),
      }),
    );
    await call(pusher, 'PUT', `/v2/${REPOSITORY}/manifests/image-${manifests.length}`, manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    manifests.push(manifest);
  }
  for (const manifest of manifests.slice(0, manifests.length / 2)) await call(pusher, 'DELETE', `/v2/${REPOSITORY}/manifests/${sha256(manifest)}`);
  const pushSeconds = (performance.now() - started) / 1000;
  await pusher.destroy();
  console.log(`[${backend}] ${BLOBS} blobs in ${manifests.length} manifests pushed, half deleted, in ${pushSeconds.toFixed(1)} s`);

  const collector = registryOn(storage, '0s');
  await collector.init();
  try {
    const oci = collector.getRegistry('oci') as OciRegistry;
    started = performance.now();
    let parts = 0;
    for await (const _part of collector.getStorage().listAll(ociPaths.allBlobDataPrefix())) parts++;
    const partsListSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    let keys = 0;
    for await (const _key of collector.getStorage().listKeys(ociPaths.allBlobDataPrefix())) keys++;
    const partKeysSeconds = (performance.now() - started) / 1000;
    if (keys !== parts) throw new Error(`${parts} data parts listed, but ${keys} keys`);
    console.log(`[${backend}] ${parts} data parts listed in ${partsListSeconds.toFixed(2)} s, their keys alone (what a collection lists) in ${partKeysSeconds.toFixed(2)} s`);
    started = performance.now();
    const dry = await oci.collectGarbage({ dryRun: true });
    const drySeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const done = await oci.collectGarbage();
    const collectSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const idle = await oci.collectGarbage();
    const idleSeconds = (performance.now() - started) / 1000;
    if (dry.blobs.length !== BLOBS / 2 || done.blobs.length !== BLOBS / 2 || idle.blobs.length !== 0) {
      throw new Error(`expected ${BLOBS / 2} blobs collected, got dry ${dry.blobs.length}, real ${done.blobs.length}, then ${idle.blobs.length}`);
    }
    console.log(`[${backend}] dry run ${drySeconds.toFixed(2)} s, collection of ${done.blobs.length} blobs ${collectSeconds.toFixed(2)} s, nothing to do ${idleSeconds.toFixed(2)} s`);
    return { backend, pushSeconds, partsListSeconds, partKeysSeconds, drySeconds, collectSeconds, idleSeconds, collected: done.blobs.length };
  } finally {
    await collector.destroy();
  }
}

console.log(`OCI garbage collection benchmark — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} (a shared machine: figures are under load)`);
const results: IFigures[] = [];
await withBackends(args.backend ?? 'all', 'oci-gc', async (name, storage) => results.push(await bench(name, storage)));
console.log(`\nOCI garbage collection, ${BLOBS} blobs stored, ${BLOBS / 2} of them garbage (their links, records and data parts deleted)`);
for (const r of results) {
  console.log(`  ${r.backend}`);
  console.log(`    data parts listed alone ${r.partsListSeconds.toFixed(2).padStart(7)} s   (with a stat each)`);
  console.log(`    their keys alone        ${r.partKeysSeconds.toFixed(2).padStart(7)} s   (what the orphan search lists; on S3 the same listing)`);
  console.log(`    dry run (mark only)     ${r.drySeconds.toFixed(2).padStart(7)} s   ${(BLOBS / r.drySeconds).toFixed(0)} blobs/s examined`);
  console.log(`    collection              ${r.collectSeconds.toFixed(2).padStart(7)} s   ${(r.collected / r.collectSeconds).toFixed(0)} blobs/s removed`);
  console.log(`    collection, no garbage  ${r.idleSeconds.toFixed(2).padStart(7)} s`);
}
