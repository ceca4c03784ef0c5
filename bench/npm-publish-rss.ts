// Publishes one 200 MiB npm tarball through handleRequest with a streamed body (generated on the fly,
// as npm sends it: manifest first, base64 attachment last) and prints the peak RSS of this process
// over its baseline, to show the publish body is not held in memory.
// Run: node --import tsx bench/npm-publish-rss.ts [--backend=fs|s3|all]
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { streamToBuffer } from '../ts/core/helpers.stream.js';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { startS3Server } from '../test/helpers/s3server.js';

const MiB = 1024 * 1024;
const TARBALL_BYTES = 200 * MiB;
/** A multiple of 3, so the base64 of consecutive chunks joins without padding. */
const CHUNK_BYTES = 3 * 256 * 1024;
const SAMPLE_EVERY_MS = 20;

/** The same pseudo-random bytes on every call (AES-CTR keystream with a fixed key). */
function* tarballChunks(): Generator<Buffer> {
  const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 3), Buffer.alloc(16));
  for (let sent = 0; sent < TARBALL_BYTES; sent += CHUNK_BYTES) yield cipher.update(Buffer.alloc(Math.min(CHUNK_BYTES, TARBALL_BYTES - sent)));
}

function dist() {
  const sha1 = crypto.createHash('sha1');
  const sha512 = crypto.createHash('sha512');
  for (const chunk of tarballChunks()) {
    sha1.update(chunk);
    sha512.update(chunk);
  }
  return { shasum: sha1.digest('hex'), integrity: `sha512-${sha512.digest('base64')}` };
}

function publishBody(name: string, digests: { shasum: string; integrity: string }): Readable {
  const head = JSON.stringify({ _id: name, name, 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name, version: '1.0.0', dist: digests } } }).slice(0, -1);
  async function* body() {
    yield Buffer.from(`${head},"_attachments":{"${name}-1.0.0.tgz":{"content_type":"application/octet-stream","data":"`);
    for (const chunk of tarballChunks()) yield Buffer.from(chunk.toString('base64'));
    yield Buffer.from(`","length":${TARBALL_BYTES}}}}`);
  }
  return Readable.from(body(), { objectMode: false });
}

async function benchBackend(label: string, storage: IStorageConfig): Promise<string> {
  const registry = new SmartRegistry({
    storage,
    auth: { tokenStore: 'memory', users: { bench: { password: 'bench-password', scopes: ['*:*:*:*'] } } },
    logging: { level: 'error' },
    npm: { enabled: true, basePath: '/npm', limits: { maxArtifactBytes: 512 * MiB } },
  });
  await registry.init();
  try {
    const token = await registry.getAuthManager().createNpmToken('bench', false);
    const headers = { authorization: `Bearer ${token}`, host: 'registry.example.com' };
    const digests = dist();
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), SAMPLE_EVERY_MS);
    const started = performance.now();
    let status: number;
    try {
      const response = await registry.handleRequest({ method: 'PUT', path: '/npm/rss-bench', query: {}, headers, body: publishBody('rss-bench', digests) });
      status = response.status;
      await streamToBuffer(response.body);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    if (status !== 201) throw new Error(`${label}: publish answered ${status}`);
    return `  ${label.padEnd(22)} 200 MiB publish in ${seconds.toFixed(1)} s   RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, +${((peak - baseline) / MiB).toFixed(0)} MiB`;
  } finally {
    await registry.destroy();
  }
}

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
  const backend = args.backend ?? 'all';
  const lines: string[] = [];
  if (backend === 'fs' || backend === 'all') {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-publish-'));
    try {
      lines.push(await benchBackend('filesystem', { type: 'filesystem', path: dir }));
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
  if (backend === 's3' || backend === 'all') {
    const s3 = await startS3Server();
    try {
      lines.push(await benchBackend('s3 (local s3rver)', { type: 's3', ...s3.descriptor, bucketName: 'bench-publish' }));
    } finally {
      await s3.stop();
    }
  }
  console.log(`npm publish memory (streamed body)\n${lines.join('\n')}`);
}

await main();
