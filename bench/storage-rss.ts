// Streams a 1 GiB generated object through put and get on each storage backend and prints throughput
// and the peak RSS of this process, to show that nothing holds a whole object in memory.
// Run: node --import tsx bench/storage-rss.ts
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FilesystemBackend } from '../ts/core/storage/classes.filesystembackend.js';
import { S3Backend } from '../ts/core/storage/classes.s3backend.js';
import type { IStorageBackend } from '../ts/core/storage/interfaces.storage.js';
import { startS3Server } from '../test/helpers/s3server.js';

const MiB = 1024 * 1024;
const OBJECT_BYTES = 1024 * MiB;
const SAMPLE_EVERY_MS = 50;
const KEY = 'bench/blob-1gib';

/** Pseudo-random bytes made on the fly (AES-CTR keystream), 1 MiB at a time. */
function generatedStream(size: number): Readable {
  const cipher = crypto.createCipheriv('aes-128-ctr', crypto.randomBytes(16), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let remaining = size;
  return new Readable({
    highWaterMark: MiB,
    read() {
      if (remaining === 0) return void this.push(null);
      const length = Math.min(remaining, MiB);
      remaining -= length;
      this.push(cipher.update(zeros.subarray(0, length)));
    },
  });
}

const discard = () => new Writable({ highWaterMark: MiB, write: (_chunk, _encoding, callback) => callback() });

/** Runs `action` while sampling RSS; returns MiB/s and the peak RSS seen. */
async function measure(action: () => Promise<void>) {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), SAMPLE_EVERY_MS);
  const started = process.hrtime.bigint();
  try {
    await action();
  } finally {
    clearInterval(sampler);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return { mibPerSecond: OBJECT_BYTES / MiB / seconds, seconds, peakRssMiB: peakRss / MiB };
}

async function benchBackend(name: string, backend: IStorageBackend): Promise<string[]> {
  await backend.init();
  const baselineMiB = process.memoryUsage().rss / MiB;
  const put = await measure(async () => {
    const result = await backend.put(KEY, generatedStream(OBJECT_BYTES));
    if (result.size !== OBJECT_BYTES) throw new Error(`${name}: stored ${result.size} bytes`);
  });
  const get = await measure(async () => {
    const result = await backend.get(KEY);
    if (!result || result.length !== OBJECT_BYTES) throw new Error(`${name}: read back ${result?.length} bytes`);
    await pipeline(result.stream, discard());
  });
  await backend.delete(KEY);
  await backend.destroy();
  const row = (phase: string, figures: typeof put) =>
    `${name.padEnd(12)} ${phase.padEnd(4)} ${figures.mibPerSecond.toFixed(0).padStart(7)} MiB/s ` +
    `${figures.seconds.toFixed(1).padStart(6)} s   peak RSS ${figures.peakRssMiB.toFixed(0).padStart(4)} MiB ` +
    `(baseline ${baselineMiB.toFixed(0)} MiB)`;
  return [row('put', put), row('get', get)];
}

async function main() {
  console.log(`1 GiB object, put includes sha256; RSS of this process sampled every ${SAMPLE_EVERY_MS} ms`);
  console.log(`node ${process.version}, ${os.cpus().length} cores`);

  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bench-fs-'));
  try {
    for (const line of await benchBackend('filesystem', new FilesystemBackend(root))) console.log(line);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }

  const server = await startS3Server();
  try {
    const backend = new S3Backend({ ...server.descriptor, bucketName: 'smartregistry-bench' });
    for (const line of await benchBackend('s3 (s3rver)', backend)) console.log(line);
  } finally {
    await server.stop();
  }
}

await main();
