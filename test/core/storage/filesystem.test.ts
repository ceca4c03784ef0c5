import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { FilesystemBackend } from '../../../ts/core/storage/classes.filesystembackend.js';
import { sha256Hex } from '../../../ts/core/helpers.hash.js';
import { streamToBuffer } from '../../../ts/core/helpers.stream.js';
import { runBackendSuite } from './backend.suite.js';

const makeRoot = () => fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-fs-'));

runBackendSuite(
  'filesystem',
  async () => {
    const root = await makeRoot();
    return { backend: new FilesystemBackend(root), cleanup: () => fsp.rm(root, { recursive: true, force: true }) };
  },
);

const isKind = (kind: RegistryError['kind']) => (error: unknown) =>
  error instanceof RegistryError && error.kind === kind;

// Runs in a separate process: increments a counter document through conditional puts, with retry.
const COUNTER_PROCESS = `
const [root, key, times, backendUrl] = process.argv.slice(1);
const { FilesystemBackend } = await import(backendUrl);
const backend = new FilesystemBackend(root);
await backend.init();
for (let done = 0; done < Number(times); ) {
  const current = await backend.get(key);
  let count = 0;
  if (current) {
    const chunks = [];
    for await (const chunk of current.stream) chunks.push(chunk);
    count = JSON.parse(Buffer.concat(chunks).toString()).count;
  }
  try {
    await backend.put(key, Buffer.from(JSON.stringify({ count: count + 1 })), current ? { ifMatch: current.info.etag } : { ifNoneMatch: '*' });
    done++;
  } catch (error) {
    if (error.kind !== 'precondition-failed') throw error;
  }
}
`;

function runCounterProcess(root: string, key: string, times: number): Promise<void> {
  const backendUrl = pathToFileURL(path.resolve('ts/core/storage/classes.filesystembackend.ts')).href;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', COUNTER_PROCESS, root, key, String(times), backendUrl],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`counter process exited with ${code}\n${stderr}`))));
  });
}

describe('filesystem backend specifics', () => {
  let root: string;
  let backend: FilesystemBackend;

  before(async () => {
    root = await makeRoot();
    backend = new FilesystemBackend(root);
    await backend.init();
  });

  after(() => fsp.rm(root, { recursive: true, force: true }));

  it('reads an object up to 1 MiB in one chunk, a larger one in chunks of at most 256 KiB (what each download holds)', async () => {
    const small = crypto.randomBytes(1024 * 1024);
    const large = crypto.randomBytes(3 * 1024 * 1024 + 5);
    await backend.put('chunks/small', small);
    await backend.put('chunks/large', large);
    const chunksOf = async (key: string) => {
      const chunks: Buffer[] = [];
      for await (const chunk of (await backend.get(key))!.stream) chunks.push(chunk as Buffer);
      return chunks;
    };
    const smallChunks = await chunksOf('chunks/small');
    assert.equal(smallChunks.length, 1);
    assert.ok(Buffer.concat(smallChunks).equals(small));
    const largeChunks = await chunksOf('chunks/large');
    assert.ok(Buffer.concat(largeChunks).equals(large));
    assert.ok(largeChunks.length >= 13, `${largeChunks.length} chunks`);
    assert.ok(largeChunks.every((chunk) => chunk.length <= 256 * 1024), `largest chunk ${Math.max(...largeChunks.map((chunk) => chunk.length))} bytes`);
  });

  it('bytes read whole and kept (streamToBuffer) stay as they were while later reads reuse the read buffers', async () => {
    const first = crypto.randomBytes(700 * 1024);
    const second = crypto.randomBytes(700 * 1024);
    await backend.put('pooled/first', first);
    await backend.put('pooled/second', second);
    const kept = await streamToBuffer((await backend.get('pooled/first'))!.stream);
    for (let round = 0; round < 10; round++) await streamToBuffer((await backend.get('pooled/second'))!.stream);
    assert.ok(kept.equals(first), 'a later read wrote into the kept bytes');
    const ranged = await streamToBuffer((await backend.get('pooled/first', { start: 1000, end: 300_999 }))!.stream);
    await streamToBuffer((await backend.get('pooled/second'))!.stream);
    assert.ok(ranged.equals(first.subarray(1000, 301_000)));
  });

  it('leaves no temp file behind after failed puts', async () => {
    const failing = () =>
      Readable.from(
        (async function* () {
          yield Buffer.alloc(1000);
          throw new Error('client went away');
        })(),
        { objectMode: false },
      );
    // Repeated: an early failure once raced the temp file's open and left it behind.
    for (let round = 0; round < 20; round++) await assert.rejects(backend.put('tmp/a', failing()));
    await assert.rejects(backend.put('tmp/b', Buffer.alloc(2000), { maxBytes: 1000 }), isKind('too-large'));
    await assert.rejects(backend.put('tmp/c', Buffer.alloc(10), { verify: () => Promise.reject(new Error('no')) }));
    await backend.put('tmp/d', Buffer.from('x'));
    await assert.rejects(backend.put('tmp/d', Buffer.from('y'), { ifNoneMatch: '*' }), isKind('precondition-failed'));
    await assert.rejects(backend.copy('tmp/missing', 'tmp/e'), isKind('not-found'));
    assert.deepEqual(await fsp.readdir(path.join(root, '.tmp')), []);
    assert.deepEqual(await fsp.readdir(path.join(root, '.locks')), [], 'locks are released');
  });

  it('streams a put larger than its sync step intact and closes every file it opened', async () => {
    const openFiles = async () => (await fsp.readdir('/proc/self/fd').catch(() => [])).length;
    const before = await openFiles();
    const block = Buffer.alloc(1024 * 1024, 7);
    block.write('sync', 12345);
    const blocks = 80; // 80 MiB: two intermediate syncs and the final one
    const body = () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < blocks; i++) yield block;
        })(),
        { objectMode: false },
      );
    const expected = crypto.createHash('sha256');
    for (let i = 0; i < blocks; i++) expected.update(block);
    const result = await backend.put('big/blob', body());
    assert.equal(result.size, blocks * block.length);
    assert.equal(result.digests.sha256, expected.digest('hex'));
    assert.equal((await fsp.stat(path.join(root, 'big', 'blob'))).size, blocks * block.length);
    // A body that fails after the first sync step leaves neither a temp file nor an open handle behind.
    const failing = Readable.from(
      (function* () {
        for (let i = 0; i < 40; i++) yield block;
        throw new Error('client went away');
      })(),
      { objectMode: false },
    );
    await assert.rejects(backend.put('big/failed', failing), /client went away/);
    assert.deepEqual(await fsp.readdir(path.join(root, '.tmp')), []);
    assert.equal(await backend.stat('big/failed'), null);
    if (process.platform === 'linux') {
      // Closing a destroyed stream's handle may finish just after the put has failed.
      for (let wait = 0; wait < 50 && (await openFiles()) !== before; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await openFiles(), before, 'no file handle stays open');
    }
  });

  it('keeps its own directories out of keys and listings', async () => {
    await assert.rejects(backend.put('.tmp/x', Buffer.from('x')), isKind('internal'));
    await assert.rejects(backend.get('.locks/x'), isKind('internal'));
    await backend.put('visible', Buffer.from('x'));
    const keys = (await backend.list('')).objects.map((object) => object.key);
    assert.ok(keys.includes('visible'));
    assert.ok(!keys.some((key) => key.startsWith('.tmp') || key.startsWith('.locks')));
  });

  it('removes directories a delete leaves empty, up to the root only', async () => {
    await backend.put('prune/a/b/c/object', Buffer.from('x'));
    await backend.put('prune/keep', Buffer.from('x'));
    await backend.delete('prune/a/b/c/object');
    await assert.rejects(fsp.stat(path.join(root, 'prune', 'a')), { code: 'ENOENT' });
    assert.ok((await fsp.stat(path.join(root, 'prune'))).isDirectory());
    await backend.delete('prune/keep');
    await assert.rejects(fsp.stat(path.join(root, 'prune')), { code: 'ENOENT' });
    assert.ok((await fsp.stat(root)).isDirectory(), 'the root stays');
  });

  it('refuses a key that is also a directory of other keys with a conflict', async () => {
    await backend.put('nest/a/b', Buffer.from('x'));
    await assert.rejects(backend.put('nest/a', Buffer.from('y')), isKind('conflict'));
    await assert.rejects(backend.put('nest/a/b/c', Buffer.from('z')), isKind('conflict'));
    assert.equal((await backend.list('nest/')).objects.length, 1);
  });

  it('breaks a stale lock left by a crashed process', async () => {
    const lockFile = path.join(root, '.locks', sha256Hex('stale/doc'));
    await fsp.writeFile(lockFile, '99999\n');
    const longAgo = new Date(Date.now() - 120_000);
    await fsp.utimes(lockFile, longAgo, longAgo);
    const started = Date.now();
    await backend.put('stale/doc', Buffer.from('x'), { ifNoneMatch: '*' });
    assert.ok(Date.now() - started < 5_000);
  });

  it('writers of one key waiting on a stale lock break it once: conditional updates from all of them land', async () => {
    const key = 'stale/counter';
    await backend.put(key, Buffer.from('0'));
    const lockFile = path.join(root, '.locks', sha256Hex(key));
    await fsp.writeFile(lockFile, '99999\n');
    const longAgo = new Date(Date.now() - 120_000);
    await fsp.utimes(lockFile, longAgo, longAgo);
    // Read-modify-write with If-Match, retried on a lost race, as the document updater does.
    const increment = async () => {
      for (;;) {
        const current = await backend.get(key);
        const value = Number(Buffer.concat(await current!.stream.toArray()).toString());
        try {
          await backend.put(key, Buffer.from(String(value + 1)), { ifMatch: current!.info.etag });
          return;
        } catch (error) {
          if (!(error instanceof RegistryError && error.kind === 'precondition-failed')) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, increment));
    const final = await backend.get(key);
    assert.equal(Buffer.concat(await final!.stream.toArray()).toString(), '20', 'no increment was lost');
  });

  it('removes temp files abandoned for over an hour on init', async () => {
    const abandoned = path.join(root, '.tmp', 'crashed-upload');
    const recent = path.join(root, '.tmp', 'upload-in-progress');
    await fsp.writeFile(abandoned, 'half');
    await fsp.writeFile(recent, 'half');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await fsp.utimes(abandoned, twoHoursAgo, twoHoursAgo);
    await new FilesystemBackend(root).init();
    assert.deepEqual(await fsp.readdir(path.join(root, '.tmp')), ['upload-in-progress']);
    await fsp.rm(recent);
  });

  it('etags change on every write, also when the size stays the same', async () => {
    const etags = new Set<string>();
    for (let index = 0; index < 50; index++) etags.add((await backend.put('etag/doc', Buffer.from(`v${index % 10}`))).etag);
    assert.equal(etags.size, 50);
  });

  it('conditional writes are atomic across processes sharing the directory', async () => {
    const processes = 3;
    const incrementsEach = 15;
    await Promise.all(Array.from({ length: processes }, () => runCounterProcess(root, 'multi/counter', incrementsEach)));
    const result = await backend.get('multi/counter');
    assert.ok(result);
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    assert.equal((JSON.parse(Buffer.concat(chunks).toString()) as { count: number }).count, processes * incrementsEach);
  });
});
