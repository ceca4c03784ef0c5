// The one behavioural suite every storage backend must pass (see DESIGN.md, principle 2).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import type { IPutOptions, IStorageBackend, THashAlgorithm } from '../../../ts/core/storage/interfaces.storage.js';

export interface IBackendFixture {
  backend: IStorageBackend;
  /** Called after `backend.destroy()`: stop servers, remove directories. */
  cleanup(): Promise<void>;
}

/** Bugs of a test server (not of our code): the tests that would only show them are skipped, loudly. */
export type TKnownServerBug =
  /** s3rver sorts `a/b` before `a-c`: it walks its directory tree instead of comparing keys. */
  | 'lists-slash-out-of-byte-order'
  /** s3rver reads `Range: bytes=0-0` as the whole object (`end || Infinity`). */
  | 'range-ending-at-byte-0';

export interface IBackendSuiteOptions {
  knownServerBugs?: TKnownServerBug[];
}

const MiB = 1024 * 1024;

const digestOf = (algorithm: THashAlgorithm, data: Uint8Array) => crypto.createHash(algorithm).update(data).digest('hex');

/** Deterministic bytes, so a failure can be reproduced. */
const bytesFrom = (seed: string, size: number) => {
  const cipher = crypto.createCipheriv('aes-128-ctr', crypto.createHash('md5').update(seed).digest(), Buffer.alloc(16));
  return cipher.update(Buffer.alloc(size));
};

/** `size` pseudo-random bytes made on the fly (AES-CTR keystream), never held in memory as a whole. */
export function generatedStream(seed: string, size: number, chunkBytes = MiB): Readable {
  const cipher = crypto.createCipheriv('aes-128-ctr', crypto.createHash('md5').update(seed).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(chunkBytes);
  let remaining = size;
  return new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (remaining === 0) {
        this.push(null);
        return;
      }
      const length = Math.min(remaining, chunkBytes);
      remaining -= length;
      this.push(cipher.update(zeros.subarray(0, length)));
    },
  });
}

/** Passes bytes through and hashes them on the way: the test's own view of what was sent or received. */
function sha256Tap() {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { tap, result: () => ({ sha256: hash.digest('hex'), bytes }) };
}

/** Yields `chunks`, then fails like a client connection that drops mid-upload. */
function failingStream(chunks: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      throw new Error('client went away');
    })(),
    { objectMode: false },
  );
}

const chunked = (data: Buffer, chunkBytes: number) => {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkBytes) chunks.push(data.subarray(offset, offset + chunkBytes));
  return Readable.from(chunks, { objectMode: false });
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function getBytes(backend: IStorageBackend, key: string): Promise<Buffer | null> {
  const result = await backend.get(key);
  return result ? readAll(result.stream) : null;
}

async function getRange(backend: IStorageBackend, key: string, start: number, end?: number) {
  const result = await backend.get(key, { start, end });
  assert.ok(result, `${key} exists`);
  const bytes = await readAll(result.stream);
  assert.equal(bytes.length, result.length, 'length matches the bytes streamed');
  return { bytes, result };
}

const isKind = (kind: RegistryError['kind']) => (error: unknown) => {
  assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  return true;
};

/** An error a client may see: of `kind`, and its message does not name the storage key (only its cause does). */
const isKindNamingNoKey = (kind: RegistryError['kind'], key: string) => (error: unknown) => {
  isKind(kind)(error);
  assert.ok(!(error as Error).message.includes(key), `the message names the key: ${(error as Error).message}`);
  return true;
};

/** Runs `tasks` with at most `limit` in flight. */
async function withConcurrency<T>(limit: number, items: T[], task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Read-modify-write with conditional put and retry, as RegistryStorage does it. */
async function incrementCounter(backend: IStorageBackend, key: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const current = await backend.get(key);
    const count = current ? (JSON.parse((await readAll(current.stream)).toString()) as { count: number }).count : 0;
    const condition: IPutOptions = current ? { ifMatch: current.info.etag } : { ifNoneMatch: '*' };
    try {
      await backend.put(key, Buffer.from(JSON.stringify({ count: count + 1 })), condition);
      return;
    } catch (error) {
      if (!(error instanceof RegistryError && error.kind === 'precondition-failed')) throw error;
    }
  }
  throw new Error('gave up after 500 conflicting attempts');
}

async function expectAllListed(backend: IStorageBackend, prefix: string, limit?: number) {
  const keys: string[] = [];
  const pageSizes: number[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await backend.list(prefix, { limit, continuationToken });
    pageSizes.push(page.objects.length);
    keys.push(...page.objects.map((object) => object.key));
    continuationToken = page.nextToken;
  } while (continuationToken);
  if (backend.listKeys) {
    const walked: string[] = [];
    for await (const key of backend.listKeys(prefix)) walked.push(key);
    assert.deepEqual(walked, keys, `listKeys(${prefix}) gives the keys list gives, in the same order`);
  }
  return { keys, pageSizes };
}

const byteOrder = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

export function runBackendSuite(
  name: string,
  makeBackend: () => Promise<IBackendFixture>,
  options: IBackendSuiteOptions = {},
): void {
  describe(`storage backend: ${name}`, () => {
    let fixture: IBackendFixture;
    let backend: IStorageBackend;

    before(async () => {
      fixture = await makeBackend();
      backend = fixture.backend;
      await backend.init();
    });

    after(async () => {
      await backend?.destroy();
      await fixture?.cleanup();
    });

    /** A test that only a known server bug would fail: reported as skipped, with a loud note. */
    const unlessServerBug = (bug: TKnownServerBug, title: string, body: () => Promise<void>) =>
      it(title, async (t: TestContext) => {
        if (options.knownServerBugs?.includes(bug)) {
          console.warn(`\n!!!!!! ${name}: SKIPPED "${title}" because of a known server bug: ${bug}\n`);
          t.skip(`known server bug: ${bug}`);
          return;
        }
        await body();
      });

    it('round-trips bytes and reports sha256, size and etag', async () => {
      const data = bytesFrom('round-trip', 100_000);
      const put = await backend.put('rt/blob', data);
      assert.equal(put.size, data.length);
      assert.equal(put.digests.sha256, digestOf('sha256', data));
      assert.ok(put.etag);
      const got = await backend.get('rt/blob');
      assert.ok(got);
      assert.deepEqual(await readAll(got.stream), data);
      assert.equal(got.length, data.length);
      assert.equal(got.info.size, data.length);
      assert.equal(got.info.etag, put.etag);
      assert.equal(got.info.key, 'rt/blob');
    });

    it('keeps keys with the characters names bring (scopes, +, spaces, quotes, unicode) apart and whole', async () => {
      const keys = ['chars/@scope/pkg', "chars/a+b c!'()*~=,;$&:%2F.tgz", 'chars/ünï-κ.jar', 'chars/a%20b'];
      for (const [index, key] of keys.entries()) await backend.put(key, Buffer.from(`object ${index}`), { ifNoneMatch: '*' });
      for (const [index, key] of keys.entries()) {
        assert.equal((await getBytes(backend, key))?.toString(), `object ${index}`, key);
        assert.equal((await backend.stat(key))?.size, `object ${index}`.length, key);
      }
      assert.deepEqual((await backend.list('chars/')).objects.map((object) => object.key), byteOrder(keys));
      for (const key of keys) await backend.delete(key);
      assert.deepEqual((await backend.list('chars/')).objects, []);
    });

    it('computes sha1, md5 and sha512 in the same pass when asked', async () => {
      const data = bytesFrom('digests', 70_000);
      const put = await backend.put('rt/digests', data, { hashes: ['sha1', 'md5', 'sha512'] });
      for (const algorithm of ['sha256', 'sha1', 'md5', 'sha512'] as const) {
        assert.equal(put.digests[algorithm], digestOf(algorithm, data), algorithm);
      }
    });

    it('puts from a Readable in many chunks', async () => {
      const data = bytesFrom('readable', 3 * MiB + 123);
      const put = await backend.put('rt/readable', chunked(data, 64 * 1024), { hashes: ['sha1'] });
      assert.equal(put.size, data.length);
      assert.equal(put.digests.sha256, digestOf('sha256', data));
      assert.equal(put.digests.sha1, digestOf('sha1', data));
      assert.deepEqual(await getBytes(backend, 'rt/readable'), data);
    });

    it('puts and gets an empty object', async () => {
      const put = await backend.put('rt/empty', new Uint8Array(0));
      assert.equal(put.size, 0);
      assert.equal(put.digests.sha256, digestOf('sha256', new Uint8Array(0)));
      const got = await backend.get('rt/empty');
      assert.ok(got);
      assert.equal(got.length, 0);
      assert.equal((await readAll(got.stream)).length, 0);
    });

    it('answers null for a missing key', async () => {
      assert.equal(await backend.get('missing/key'), null);
      assert.equal(await backend.stat('missing/key'), null);
      await backend.put('missing/sibling', Buffer.from('x'));
      assert.equal(await backend.get('missing'), null, 'a "directory" of keys is not an object');
      assert.equal(await backend.stat('missing'), null);
    });

    it('serves byte ranges (end inclusive)', async () => {
      const data = bytesFrom('ranges', 10_000);
      await backend.put('range/blob', data);
      const fromStart = await getRange(backend, 'range/blob', 9_000);
      assert.deepEqual(fromStart.bytes, data.subarray(9_000));
      assert.equal(fromStart.result.info.size, data.length, 'info.size is the whole object');
      assert.deepEqual((await getRange(backend, 'range/blob', 100, 199)).bytes, data.subarray(100, 200));
      assert.deepEqual((await getRange(backend, 'range/blob', 9_999, 9_999)).bytes, data.subarray(9_999));
      assert.deepEqual((await getRange(backend, 'range/blob', 9_990, 50_000)).bytes, data.subarray(9_990), 'end is clamped');
      await assert.rejects(backend.get('range/blob', { start: 10_000 }), isKindNamingNoKey('range-not-satisfiable', 'range/blob'));
      await assert.rejects(backend.get('range/blob', { start: 5, end: 4 }), isKind('invalid'));
      assert.equal(await backend.get('range/missing', { start: 0, end: 5 }), null);
    });

    unlessServerBug('range-ending-at-byte-0', 'serves the range 0-0 as the first byte', async () => {
      const data = bytesFrom('range-zero', 100);
      await backend.put('range/zero', data);
      assert.deepEqual((await getRange(backend, 'range/zero', 0, 0)).bytes, data.subarray(0, 1));
    });

    it('stats an object', async () => {
      const before = Date.now();
      const put = await backend.put('stat/blob', bytesFrom('stat', 4_321));
      const info = await backend.stat('stat/blob');
      assert.ok(info);
      assert.equal(info.key, 'stat/blob');
      assert.equal(info.size, 4_321);
      assert.equal(info.etag, put.etag);
      assert.ok(info.lastModified instanceof Date);
      assert.ok(Math.abs(info.lastModified.getTime() - before) < 60_000, 'lastModified is about now');
    });

    it('overwrites an object and changes its etag', async () => {
      const first = await backend.put('over/blob', Buffer.from('first version'));
      const second = await backend.put('over/blob', Buffer.from('second version, longer'));
      assert.notEqual(second.etag, first.etag);
      assert.equal((await getBytes(backend, 'over/blob'))?.toString(), 'second version, longer');
      const third = await backend.put('over/blob', Buffer.from('second version, LONGER'));
      assert.notEqual(third.etag, second.etag, 'same size, new content: new etag');
    });

    it('deletes, and deleting a missing key is fine', async () => {
      await backend.put('del/a/b/c', Buffer.from('x'));
      await backend.put('del/keep', Buffer.from('y'));
      await backend.delete('del/a/b/c');
      assert.equal(await backend.stat('del/a/b/c'), null);
      assert.equal(await backend.get('del/a/b/c'), null);
      await backend.delete('del/a/b/c');
      await backend.delete('del/never/existed');
      assert.deepEqual((await backend.list('del/')).objects.map((object) => object.key), ['del/keep']);
      await backend.put('del/a/b/c', Buffer.from('again'));
      assert.equal((await getBytes(backend, 'del/a/b/c'))?.toString(), 'again', 'the key can be written again');
    });

    const orderingKeys = ['o/a-c', 'o/a/b', 'o/a/b-x/y', 'o/a0', 'o/a.b', 'o/A', 'o/b', 'o/é', 'o/z', 'o/a/c', 'other/x'];
    const listKeys = async (prefix: string) => (await backend.list(prefix)).objects.map((object) => object.key);

    it('lists by prefix, also with a prefix inside a segment', async () => {
      await withConcurrency(4, orderingKeys, (key) => backend.put(key, Buffer.from(key)));
      const listed = await backend.list('o/');
      assert.deepEqual(
        byteOrder(listed.objects.map((object) => object.key)),
        byteOrder(orderingKeys.filter((key) => key.startsWith('o/'))),
      );
      assert.equal(listed.nextToken, undefined);
      const first = listed.objects[0]!;
      assert.equal(first.size, Buffer.byteLength(first.key));
      assert.ok(first.etag);
      assert.ok(first.lastModified instanceof Date);
      assert.deepEqual(byteOrder(await listKeys('o/a')), ['o/a-c', 'o/a.b', 'o/a/b', 'o/a/b-x/y', 'o/a/c', 'o/a0']);
      assert.deepEqual(byteOrder(await listKeys('o/a/b')), ['o/a/b', 'o/a/b-x/y']);
      assert.deepEqual(await listKeys('o/zz'), []);
      assert.deepEqual(await listKeys('nothing/here/'), []);
      assert.ok((await expectAllListed(backend, '')).keys.includes('other/x'), 'the empty prefix lists everything');
    });

    unlessServerBug('lists-slash-out-of-byte-order', 'lists in byte order (`a-c` < `a.b` < `a/b` < `a0`)', async () => {
      await withConcurrency(4, orderingKeys, (key) => backend.put(key, Buffer.from(key)));
      assert.deepEqual(await listKeys('o/'), byteOrder(orderingKeys.filter((key) => key.startsWith('o/'))));
      assert.deepEqual(await listKeys('o/a'), ['o/a-c', 'o/a.b', 'o/a/b', 'o/a/b-x/y', 'o/a/c', 'o/a0']);
      const everything = (await expectAllListed(backend, '', 7)).keys;
      assert.deepEqual(everything, byteOrder(everything), 'the whole store, page by page');
    });

    it('paginates over 1,100 keys', async () => {
      const keys = Array.from({ length: 1_100 }, (_, index) => {
        const group = String(Math.floor(index / 100)).padStart(2, '0');
        return `page/g${group}/k${String(index).padStart(4, '0')}`;
      });
      await withConcurrency(8, keys, (key) => backend.put(key, Buffer.from(key)));
      const bigPages = await expectAllListed(backend, 'page/');
      assert.deepEqual(bigPages.keys, keys);
      assert.deepEqual(bigPages.pageSizes, [1_000, 100], 'default page size is 1000');
      const smallPages = await expectAllListed(backend, 'page/', 250);
      assert.deepEqual(smallPages.keys, keys);
      assert.deepEqual(smallPages.pageSizes, [250, 250, 250, 250, 100]);
      const partial = await expectAllListed(backend, 'page/g1', 30);
      assert.deepEqual(partial.keys, keys.slice(1_000), 'prefix `page/g1` matches only the group g10');
      const exact = await backend.list('page/g03/', { limit: 100 });
      assert.equal(exact.objects.length, 100);
      assert.equal(exact.nextToken, undefined, 'no token when the page holds the rest exactly');
    });

    it('lists only keys after startAfter, which need not exist, and pages on from there', async () => {
      const keys = Array.from({ length: 30 }, (_, index) => `after/k${String(index).padStart(2, '0')}`);
      await withConcurrency(8, keys, (key) => backend.put(key, Buffer.from(key)));
      const listed = async (options: Parameters<IStorageBackend['list']>[1]) =>
        (await backend.list('after/', options)).objects.map((object) => object.key);
      assert.deepEqual(await listed({ startAfter: 'after/k24' }), keys.slice(25));
      assert.deepEqual(await listed({ startAfter: 'after/k24x' }), keys.slice(25), 'a key that does not exist');
      assert.deepEqual(await listed({ startAfter: 'a' }), keys, 'before the prefix: everything');
      assert.deepEqual(await listed({ startAfter: 'after/k29' }), []);
      const first = await backend.list('after/', { startAfter: 'after/k09', limit: 5 });
      assert.deepEqual(first.objects.map((object) => object.key), keys.slice(10, 15));
      assert.ok(first.nextToken, 'more follow');
      assert.deepEqual(
        await listed({ startAfter: 'after/k09', continuationToken: first.nextToken, limit: 5 }),
        keys.slice(15, 20),
        'the continuation token wins over startAfter',
      );
    });

    it('copies an object', async () => {
      const data = bytesFrom('copy', 50_000);
      await backend.put('copy/src dir/@scope/a b.tgz', data);
      await backend.copy('copy/src dir/@scope/a b.tgz', 'copy/dst/x.tgz');
      assert.deepEqual(await getBytes(backend, 'copy/dst/x.tgz'), data);
      assert.deepEqual(await getBytes(backend, 'copy/src dir/@scope/a b.tgz'), data, 'source untouched');
      await backend.put('copy/dst/x.tgz', Buffer.from('overwritten'));
      await backend.copy('copy/src dir/@scope/a b.tgz', 'copy/dst/x.tgz');
      assert.deepEqual(await getBytes(backend, 'copy/dst/x.tgz'), data, 'copy overwrites');
      await assert.rejects(backend.copy('copy/missing', 'copy/dst/y'), isKindNamingNoKey('not-found', 'copy/missing'));
      assert.equal(await backend.stat('copy/dst/y'), null);
    });

    describe('nothing half-written stays behind', () => {
      const previous = Buffer.from('the previous, complete version');

      it('rejects a body over maxBytes (too-large) and keeps the previous object', async () => {
        await backend.put('limit/existing', previous);
        // 20 MiB in 1 MiB chunks: goes past the limit in the second multipart part on S3.
        await assert.rejects(
          backend.put('limit/existing', generatedStream('limit', 20 * MiB), { maxBytes: 12 * MiB }),
          isKind('too-large'),
        );
        assert.deepEqual(await getBytes(backend, 'limit/existing'), previous);
        await assert.rejects(backend.put('limit/fresh', generatedStream('limit', 2 * MiB), { maxBytes: MiB }), isKind('too-large'));
        assert.equal(await backend.stat('limit/fresh'), null);
        await assert.rejects(backend.put('limit/bytes', new Uint8Array(1_001), { maxBytes: 1_000 }), isKind('too-large'));
        assert.equal(await backend.stat('limit/bytes'), null);
        const exact = await backend.put('limit/exact', new Uint8Array(1_000), { maxBytes: 1_000 });
        assert.equal(exact.size, 1_000, 'exactly maxBytes is allowed');
      });

      it('stores nothing when verify throws, and keeps the previous object', async () => {
        await backend.put('verify/existing', previous);
        const rejectDigest = () => {
          throw RegistryError.invalid('digest mismatch');
        };
        const data = bytesFrom('verify', 10 * MiB); // multipart on S3
        const seen: string[] = [];
        await assert.rejects(
          backend.put('verify/existing', chunked(data, MiB), {
            verify: (result) => {
              seen.push(result.digests.sha256);
              rejectDigest();
            },
          }),
          /digest mismatch/,
        );
        assert.deepEqual(seen, [digestOf('sha256', data)], 'verify sees the digest of the whole body');
        assert.deepEqual(await getBytes(backend, 'verify/existing'), previous);
        await assert.rejects(backend.put('verify/fresh', data, { verify: rejectDigest }), /digest mismatch/);
        assert.equal(await backend.stat('verify/fresh'), null);
        await assert.rejects(
          backend.put('verify/async', Buffer.from('x'), { verify: async () => Promise.reject(new Error('async no')) }),
          /async no/,
        );
        assert.equal(await backend.stat('verify/async'), null);
        const accepted = await backend.put('verify/ok', Buffer.from('fine'), { verify: async () => undefined });
        assert.equal(accepted.size, 4);
      });

      it('stores nothing when the body stream fails mid-way', async () => {
        await backend.put('abort/existing', previous);
        const tenMiB = Array.from({ length: 10 }, (_, index) => bytesFrom(`abort${index}`, MiB));
        await assert.rejects(backend.put('abort/existing', failingStream(tenMiB)), /client went away/);
        assert.deepEqual(await getBytes(backend, 'abort/existing'), previous);
        await assert.rejects(backend.put('abort/fresh', failingStream([Buffer.from('a little')])), /client went away/);
        assert.equal(await backend.stat('abort/fresh'), null);
      });

      it('stores nothing before `after` has fulfilled, and nothing at all when it rejects', async () => {
        await backend.put('after/existing', previous);
        let release!: () => void;
        const artifact = new Promise<void>((resolve) => (release = resolve));
        const waiting = backend.put('after/existing', Buffer.from('the next version'), { ifMatch: (await backend.stat('after/existing'))!.etag, after: artifact });
        // Another object's put and get give the waiting one time to take its body in.
        await backend.put('after/other', Buffer.from('other'));
        assert.deepEqual(await getBytes(backend, 'after/other'), Buffer.from('other'));
        assert.deepEqual(await getBytes(backend, 'after/existing'), previous, 'not stored while `after` is pending');
        release();
        await waiting;
        assert.deepEqual(await getBytes(backend, 'after/existing'), Buffer.from('the next version'));

        await assert.rejects(backend.put('after/existing', previous, { after: Promise.reject(new Error('upload failed')) }), /upload failed/);
        assert.deepEqual(await getBytes(backend, 'after/existing'), Buffer.from('the next version'));
        await assert.rejects(backend.put('after/fresh', generatedStream('after', 2 * MiB), { after: Promise.reject(new Error('upload failed')) }), /upload failed/);
        assert.equal(await backend.stat('after/fresh'), null);
      });

      it('dates an object that waited on `after` by when it was stored, not by when its body was taken in', async () => {
        // The garbage collector keeps what is younger than its collection by this date.
        let release!: () => void;
        const artifact = new Promise<void>((resolve) => (release = resolve));
        const waiting = backend.put('after/dated', Buffer.from('a document listing an artifact'), { after: artifact });
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        const releasedAt = Date.now();
        release();
        await waiting;
        // S3 dates objects to the second.
        const lastModified = (await backend.stat('after/dated'))!.lastModified.getTime();
        assert.ok(lastModified >= Math.floor(releasedAt / 1000) * 1000, `dated ${releasedAt - lastModified} ms before it was stored`);
      });
    });

    it('rejects invalid keys as internal errors (a caller bug: protocols validate names first)', async () => {
      const invalid = ['../x', 'a/../b', 'a/./b', '/abs', 'a\\b', 'a\u0000b', 'a\nb', '', 'a//b', 'a/', '.', '..', 'x'.repeat(1_025)];
      for (const key of invalid) {
        const label = JSON.stringify(key.slice(0, 20));
        await assert.rejects(backend.put(key, Buffer.from('x')), isKind('internal'), `put ${label}`);
        await assert.rejects(backend.get(key), isKind('internal'), `get ${label}`);
        await assert.rejects(backend.stat(key), isKind('internal'), `stat ${label}`);
        await assert.rejects(backend.delete(key), isKind('internal'), `delete ${label}`);
        await assert.rejects(backend.copy('rt/blob', key), isKind('internal'), `copy to ${label}`);
        await assert.rejects(backend.copy(key, 'ok/target'), isKind('internal'), `copy from ${label}`);
      }
      for (const prefix of ['/abs', '../', 'a/../', 'a\\b', 'a\u0000']) {
        await assert.rejects(backend.list(prefix), isKind('internal'), `list ${JSON.stringify(prefix)}`);
      }
    });

    describe('conditional writes', () => {
      it('ifNoneMatch * creates once, then fails with precondition-failed', async () => {
        const created = await backend.put('cond/new', Buffer.from('one'), { ifNoneMatch: '*' });
        assert.ok(created.etag);
        await assert.rejects(
          backend.put('cond/new', Buffer.from('two'), { ifNoneMatch: '*' }),
          isKindNamingNoKey('precondition-failed', 'cond/new'),
        );
        assert.equal((await getBytes(backend, 'cond/new'))?.toString(), 'one');
      });

      it('ifNoneMatch * with onExisting writes the same bytes over a left-over, or fails with its refusal', async () => {
        const leftOver = await backend.put('cond/left', Buffer.from('left over'));
        let asked = 0;
        const onExisting = async () => (asked++, { ifMatch: leftOver.etag });
        const replaced = await backend.put('cond/left', chunked(bytesFrom('lo', 50_000), 5_000), { ifNoneMatch: '*', onExisting });
        assert.equal(asked, 1);
        assert.equal(replaced.size, 50_000);
        assert.deepEqual(await getBytes(backend, 'cond/left'), bytesFrom('lo', 50_000));
        assert.equal((await backend.stat('cond/left'))?.etag, replaced.etag);
        // Asked only when the key is taken.
        await backend.put('cond/fresh', Buffer.from('fresh'), { ifNoneMatch: '*', onExisting });
        assert.equal(asked, 1);
        const refusal = RegistryError.denied('published already');
        await assert.rejects(
          backend.put('cond/left', Buffer.from('refused'), { ifNoneMatch: '*', onExisting: async () => Promise.reject(refusal) }),
          (error) => error === refusal,
        );
        // A second attempt under a condition that no longer holds fails as any conditional write does.
        await assert.rejects(
          backend.put('cond/left', Buffer.from('stale'), { ifNoneMatch: '*', onExisting: async () => ({ ifMatch: leftOver.etag }) }),
          isKind('precondition-failed'),
        );
        assert.deepEqual(await getBytes(backend, 'cond/left'), bytesFrom('lo', 50_000));
      });

      it('ifMatch succeeds with the current etag and fails with a stale or missing one', async () => {
        const first = await backend.put('cond/doc', Buffer.from('{"v":1}'));
        const second = await backend.put('cond/doc', Buffer.from('{"v":2}'), { ifMatch: first.etag });
        assert.equal((await backend.stat('cond/doc'))?.etag, second.etag, 'the returned etag is the stored one');
        await assert.rejects(
          backend.put('cond/doc', Buffer.from('{"v":3}'), { ifMatch: first.etag }),
          isKind('precondition-failed'),
        );
        assert.equal((await getBytes(backend, 'cond/doc'))?.toString(), '{"v":2}');
        const got = await backend.get('cond/doc');
        assert.ok(got);
        await readAll(got.stream);
        await backend.put('cond/doc', Buffer.from('{"v":3}'), { ifMatch: got.info.etag });
        await assert.rejects(
          backend.put('cond/absent', Buffer.from('x'), { ifMatch: first.etag }),
          isKind('precondition-failed'),
        );
        assert.equal(await backend.stat('cond/absent'), null);
      });

      it('delete with ifMatch removes only the version it names', async () => {
        const first = await backend.put('cond/gone', Buffer.from('one'));
        const second = await backend.put('cond/gone', Buffer.from('two'));
        await assert.rejects(backend.delete('cond/gone', { ifMatch: first.etag }), isKind('precondition-failed'));
        assert.equal((await getBytes(backend, 'cond/gone'))?.toString(), 'two');
        await backend.delete('cond/gone', { ifMatch: second.etag });
        assert.equal(await backend.stat('cond/gone'), null);
      });

      it('ifMatch also guards a streamed body', async () => {
        const first = await backend.put('cond/stream', Buffer.from('a'));
        await backend.put('cond/stream', chunked(bytesFrom('cs', 200_000), 10_000), { ifMatch: first.etag });
        await assert.rejects(
          backend.put('cond/stream', chunked(bytesFrom('cs', 200_000), 10_000), { ifMatch: first.etag }),
          isKind('precondition-failed'),
        );
      });

      it('4 concurrent read-modify-write writers lose no update', async () => {
        const writers = 4;
        const incrementsEach = 10;
        await Promise.all(
          Array.from({ length: writers }, async () => {
            for (let index = 0; index < incrementsEach; index++) await incrementCounter(backend, 'cond/counter');
          }),
        );
        const final = JSON.parse((await getBytes(backend, 'cond/counter'))!.toString()) as { count: number };
        assert.equal(final.count, writers * incrementsEach);
      });
    });

    it('streams 256 MiB in and out with sha256 checked on both sides', async () => {
      const size = 256 * MiB;
      const sent = sha256Tap();
      const put = await backend.put('large/blob', generatedStream('large', size).pipe(sent.tap));
      const expected = sent.result();
      assert.equal(expected.bytes, size);
      assert.equal(put.size, size);
      assert.equal(put.digests.sha256, expected.sha256);
      const got = await backend.get('large/blob');
      assert.ok(got);
      assert.equal(got.length, size);
      const received = sha256Tap();
      await pipeline(got.stream, received.tap, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
      assert.deepEqual(received.result(), expected);
      await backend.delete('large/blob');
    });
  });
}
