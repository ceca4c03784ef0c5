import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { RegistryStorage, type IStorageOperationContext } from '../../ts/core/classes.registrystorage.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import { keptServedObject, parseRangeHeader, serveObject, type IObjectSource, type IServedObject } from '../../ts/core/helpers.serve.js';
import type { IHandlerResponse } from '../../ts/core/helpers.response.js';
import { resolveDownloads } from '../../ts/core/helpers.downloads.js';
import { bufferedObjectSource } from '../../ts/core/helpers.storedsource.js';

describe('serving: Range header parsing', () => {
  it('one range, open range, suffix range, clamped end', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-9', 100), { kind: 'range', start: 0, end: 9 });
    assert.deepEqual(parseRangeHeader('bytes=90-', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=90-500', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-10', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-1000', 100), { kind: 'range', start: 0, end: 99 });
    assert.deepEqual(parseRangeHeader('Bytes = 5-5', 100), { kind: 'range', start: 5, end: 5 });
  });
  it('unsatisfiable: past the end, last before first, empty suffix, any range of an empty object', () => {
    assert.deepEqual(parseRangeHeader('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRangeHeader('bytes=500-0', 1000), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRangeHeader('bytes=-0', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRangeHeader('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRangeHeader('bytes=200-300,400-', 100), { kind: 'unsatisfiable' });
  });
  it('ignored (whole object): none, other units, malformed, several ranges with one satisfiable', () => {
    assert.deepEqual(parseRangeHeader(undefined, 100), { kind: 'none' });
    assert.deepEqual(parseRangeHeader('items=0-1', 100), { kind: 'none' });
    for (const bad of ['bytes=', 'bytes=-', 'bytes=a-b', 'bytes=1-2-3', 'bytes 0-1', 'bytes=0x1-2', 'bytes=99999999999999999999-']) {
      assert.deepEqual(parseRangeHeader(bad, 100), { kind: 'none' }, bad);
    }
    assert.deepEqual(parseRangeHeader('bytes=0-1,5-6', 100), { kind: 'none' });
    assert.deepEqual(parseRangeHeader('bytes=0-1,500-600', 100), { kind: 'none' });
  });
});

describe('serving: a stored object', () => {
  const ctx: IStorageOperationContext = { protocol: 'npm' };
  const bytes = crypto.randomBytes(1000);
  let dir: string;
  let storage: RegistryStorage;
  let lastModified: Date;

  /** A source over storage as npm's tarballs use it, counting the round trips. */
  const calls = { describe: 0, open: 0 };
  const describeInfo = (info: { size: number; etag: string; lastModified: Date }): IServedObject => ({
    size: info.size,
    etag: info.etag,
    lastModified: info.lastModified,
    contentType: 'application/octet-stream',
    headers: { 'X-Protocol': 'yes' },
  });
  const source = (key: string): IObjectSource => ({
    describe: async () => {
      calls.describe++;
      const info = await storage.stat(key);
      return info && describeInfo(info);
    },
    open: async (span) => {
      calls.open++;
      const result = await storage.getObject(key, ctx, span);
      return result && { object: describeInfo(result.info), body: result.stream, length: result.length };
    },
  });
  const notFound = () => RegistryError.notFound('no such object');
  const serve = (method: string, headers: Record<string, string> = {}, key = 'objects/a') =>
    serveObject({ method, headers }, source(key), { notFound });
  const bodyOf = async (response: IHandlerResponse) => streamToBuffer(response.body as never);
  const rejectsWith = (status: number, check?: (error: RegistryError) => void) => (error: unknown) => {
    assert.ok(error instanceof RegistryError);
    assert.equal(error.status, status);
    check?.(error);
    return true;
  };

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-serve-'));
    storage = new RegistryStorage(new FilesystemBackend(dir));
    await storage.init();
    await storage.putObject('objects/a', bytes, ctx);
    lastModified = (await storage.stat('objects/a'))!.lastModified;
  });
  after(async () => {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a plain GET is one storage round trip with every header', async () => {
    calls.describe = calls.open = 0;
    const response = await serve('GET');
    assert.equal(response.status, 200);
    assert.deepEqual({ ...calls }, { describe: 0, open: 1 });
    const headers = response.headers!;
    assert.equal(headers['Content-Length'], '1000');
    assert.equal(headers['Accept-Ranges'], 'bytes');
    assert.equal(headers['Content-Type'], 'application/octet-stream');
    assert.equal(headers['X-Protocol'], 'yes');
    assert.match(headers.ETag, /^"[^"]+"$/);
    assert.equal(headers['Last-Modified'], lastModified.toUTCString());
    assert.ok((await bodyOf(response)).equals(bytes));
  });

  it('HEAD: the headers a GET would send, no body', async () => {
    const response = await serve('HEAD');
    assert.equal(response.status, 200);
    assert.equal(response.body, undefined);
    assert.equal(response.headers!['Content-Length'], '1000');
    const ranged = await serve('HEAD', { range: 'bytes=10-19' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.body, undefined);
    assert.equal(ranged.headers!['Content-Length'], '10');
    assert.equal(ranged.headers!['Content-Range'], 'bytes 10-19/1000');
  });

  it('If-None-Match with the current etag (also in a list, also weak) is 304 without a body', async () => {
    const etag = (await serve('HEAD')).headers!.ETag;
    for (const ifNoneMatch of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const response = await serve('GET', { 'if-none-match': ifNoneMatch });
      assert.equal(response.status, 304, ifNoneMatch);
      assert.equal(response.body, undefined);
      assert.equal(response.headers!.ETag, etag);
      assert.equal(response.headers!['X-Protocol'], 'yes');
    }
  });

  it('a stale If-None-Match is a full 200; it wins over a matching If-Modified-Since', async () => {
    const response = await serve('GET', { 'if-none-match': '"stale"', 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() });
    assert.equal(response.status, 200);
    assert.ok((await bodyOf(response)).equals(bytes));
  });

  it('If-Modified-Since: 304 at or after Last-Modified, 200 before it or when unparsable', async () => {
    assert.equal((await serve('GET', { 'if-modified-since': lastModified.toUTCString() })).status, 304);
    const earlier = await serve('GET', { 'if-modified-since': new Date(lastModified.getTime() - 2000).toUTCString() });
    assert.equal(earlier.status, 200);
    assert.ok((await bodyOf(earlier)).equals(bytes));
    const garbage = await serve('GET', { 'if-modified-since': 'yesterday-ish' });
    assert.equal(garbage.status, 200);
    await bodyOf(garbage);
  });

  it('one range is 206 with exactly those bytes; open and suffix ranges too', async () => {
    for (const [range, start, end] of [['bytes=10-19', 10, 19], ['bytes=990-', 990, 999], ['bytes=-5', 995, 999], ['bytes=900-5000', 900, 999]] as const) {
      const response = await serve('GET', { range });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers!['Content-Range'], `bytes ${start}-${end}/1000`);
      assert.equal(response.headers!['Content-Length'], String(end - start + 1));
      assert.ok((await bodyOf(response)).equals(bytes.subarray(start, end + 1)), range);
    }
  });

  it('a range covering the whole object, a malformed one and several ranges answer 200 with everything', async () => {
    for (const range of ['bytes=0-', 'bytes=0-999', 'bytes=abc', 'bytes=0-1,5-6', 'lines=1-2']) {
      const response = await serve('GET', { range });
      assert.equal(response.status, 200, range);
      assert.equal(response.headers!['Content-Range'], undefined);
      assert.ok((await bodyOf(response)).equals(bytes), range);
    }
  });

  it('unsatisfiable ranges are 416 with Content-Range bytes */size (the protocol gives it its code)', async () => {
    for (const range of ['bytes=1000-', 'bytes=500-0', 'bytes=-0', 'bytes=2000-3000,4000-']) {
      await assert.rejects(serve('GET', { range }), rejectsWith(416, (error) => {
        assert.equal(error.headers['Content-Range'], 'bytes */1000');
        assert.equal(error.kind, 'range-not-satisfiable');
      }), range);
    }
  });

  it('If-Range: the range applies with the current etag or date, otherwise the whole object', async () => {
    const etag = (await serve('HEAD')).headers!.ETag;
    assert.equal((await serve('HEAD', { range: 'bytes=0-9', 'if-range': etag })).status, 206);
    assert.equal((await serve('HEAD', { range: 'bytes=0-9', 'if-range': lastModified.toUTCString() })).status, 206);
    const stale = await serve('GET', { range: 'bytes=0-9', 'if-range': '"stale"' });
    assert.equal(stale.status, 200);
    assert.ok((await bodyOf(stale)).equals(bytes));
  });

  it('a missing object is the protocol not-found, whatever the request', async () => {
    await assert.rejects(serve('GET', {}, 'objects/missing'), rejectsWith(404));
    await assert.rejects(serve('HEAD', {}, 'objects/missing'), rejectsWith(404));
    await assert.rejects(serve('GET', { range: 'bytes=0-1' }, 'objects/missing'), rejectsWith(404));
  });

  it('an empty object: 200 with no bytes, any range 416', async () => {
    await storage.putObject('objects/empty', new Uint8Array(0), ctx);
    const response = await serve('GET', {}, 'objects/empty');
    assert.equal(response.status, 200);
    assert.equal(response.headers!['Content-Length'], '0');
    assert.equal((await bodyOf(response)).length, 0);
    await assert.rejects(serve('GET', { range: 'bytes=0-' }, 'objects/empty'), rejectsWith(416));
  });
});

describe('serving: redirected downloads', () => {
  const object: IServedObject = {
    size: 10,
    etag: '"v1"',
    lastModified: new Date('2024-01-01T00:00:00Z'),
    contentType: 'application/octet-stream',
    headers: { 'Docker-Content-Digest': 'sha256:abc', 'Cache-Control': 'max-age=31536000' },
  };
  const opened: string[] = [];
  const source = (location: string | undefined): IObjectSource => ({
    describe: async () => object,
    open: async () => {
      opened.push('open');
      return { object, body: Readable.from([Buffer.from('0123456789')]), length: 10 };
    },
    directUrl: async () => location,
  });
  const downloads = resolveDownloads({ redirect: true });
  const serve = (method: string, headers: Record<string, string>, location: string | null = 'https://objects.example.com/b/k?sig', redirect = downloads) =>
    serveObject({ method, headers, downloads: redirect }, source(location ?? undefined), { notFound: () => RegistryError.notFound('missing') });

  it('a GET is a 307 with the Location, the protocol headers, no caching and an empty body; nothing is opened', async () => {
    opened.length = 0;
    const requests: Record<string, string>[] = [{}, { range: 'bytes=2-4' }, { 'if-none-match': '"other"' }];
    for (const headers of requests) {
      const response = await serve('GET', headers);
      assert.equal(response.status, 307);
      assert.deepEqual(response.headers, {
        'Docker-Content-Digest': 'sha256:abc',
        Location: 'https://objects.example.com/b/k?sig',
        'Cache-Control': 'no-store',
        'Content-Length': '0',
      });
      assert.equal(response.body, undefined);
    }
    assert.deepEqual(opened, []);
  });

  it('HEAD, a matching validator and an unsatisfiable range are answered here', async () => {
    assert.equal((await serve('HEAD', {})).status, 200);
    assert.equal((await serve('GET', { 'if-none-match': '"v1"' })).status, 304);
    await assert.rejects(serve('GET', { range: 'bytes=10-' }), (error: unknown) => error instanceof RegistryError && error.kind === 'range-not-satisfiable');
  });

  it('a source that knows its object and URL is redirected from them: describe and directUrl are not asked', async () => {
    const asked: string[] = [];
    const knowing = (known: IServedObject | null | undefined, location: string | undefined): IObjectSource => ({
      ...source('https://objects.example.com/b/k?asked'),
      describe: async () => (asked.push('describe'), object),
      directUrl: async () => (asked.push('directUrl'), 'https://objects.example.com/b/k?asked'),
      describeNow: () => known,
      directUrlNow: () => location,
    });
    const serveKnowing = (headers: Record<string, string>, known: IServedObject | null | undefined, location?: string) =>
      serveObject({ method: 'GET', headers, downloads }, knowing(known, location), { notFound: () => RegistryError.notFound('missing') });
    const known = await serveKnowing({}, object, 'https://objects.example.com/b/k?known');
    assert.equal(known.status, 307);
    assert.equal(known.headers!.Location, 'https://objects.example.com/b/k?known');
    assert.equal((await serveKnowing({ 'if-none-match': '"v1"' }, object, 'https://objects.example.com/b/k?known')).status, 304);
    await assert.rejects(serveKnowing({}, null, 'https://objects.example.com/b/k?known'), (error: unknown) => error instanceof RegistryError && error.kind === 'not-found');
    assert.deepEqual(asked, []);
    // Not known: asked as before.
    assert.equal((await serveKnowing({}, undefined, undefined)).headers!.Location, 'https://objects.example.com/b/k?asked');
    assert.deepEqual(asked, ['describe', 'directUrl']);
  });

  it('streams when there is no URL, no directUrl, or redirects are off', async () => {
    assert.equal((await serve('GET', {}, null)).status, 200);
    assert.equal((await serve('GET', {}, 'https://objects.example.com/x', resolveDownloads())).status, 200);
    const documentSource: IObjectSource = { ...source('https://objects.example.com/x'), directUrl: undefined };
    const response = await serveObject({ method: 'GET', headers: {}, downloads }, documentSource, { notFound: () => RegistryError.notFound('missing') });
    assert.equal(response.status, 200);
  });
});

describe('serving: a kept object (a document held with its bytes)', () => {
  const bytes = Buffer.from('0123456789'.repeat(20));
  const served = (): IServedObject => ({
    size: bytes.length,
    etag: '"kept"',
    lastModified: new Date('2026-01-02T03:04:05Z'),
    contentType: 'text/plain; charset=utf-8',
    headers: { 'Repr-Digest': 'sha-256=:abc=:' },
  });
  const kept = keptServedObject(served());
  const plain = served();
  const sourceOf = (object: IServedObject): IObjectSource => ({
    describe: async () => object,
    open: async (span) => {
      const body = span ? bytes.subarray(span.start, span.end + 1) : bytes;
      return { object, body, length: body.length };
    },
  });
  const serve = (object: IServedObject, method: string, headers: Record<string, string> = {}) =>
    serveObject({ method, headers }, sourceOf(object), { notFound: () => RegistryError.notFound('missing') });

  it('answers with the headers an object not kept gets, the same frozen record each time', async () => {
    const first = await serve(kept, 'GET');
    assert.deepEqual(first.headers, (await serve(plain, 'GET')).headers);
    assert.equal(first.headers!['Content-Length'], '200');
    assert.equal(first.headers!['Repr-Digest'], 'sha-256=:abc=:');
    assert.equal(first.body, bytes);
    assert.equal((await serve(kept, 'GET')).headers, first.headers);
    assert.ok(Object.isFrozen(first.headers));
    assert.deepEqual((await serve(kept, 'HEAD')).headers, first.headers);
  });

  it('ranges, conditional answers and copies of the object are answered as before', async () => {
    const ranged = await serve(kept, 'GET', { range: 'bytes=10-19' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers!['Content-Length'], '10');
    assert.equal(ranged.headers!['Content-Range'], 'bytes 10-19/200');
    assert.deepEqual(ranged.headers, (await serve(plain, 'GET', { range: 'bytes=10-19' })).headers);
    assert.equal((await serve(kept, 'GET', { 'if-none-match': '"kept"' })).status, 304);
    const copy = { ...kept, headers: { 'X-Cache': 'HIT' } };
    const copied = await serve(copy, 'GET');
    assert.equal(copied.headers!['X-Cache'], 'HIT');
    assert.equal(copied.headers!['Repr-Digest'], undefined, "a copy answers with its own headers, not the kept object's");
  });
});

describe('serving: a document held in memory stands for its GET in a HEAD and a 304', () => {
  const bytes = Buffer.from('{"version":1}'.repeat(200));
  const object: IServedObject = { size: bytes.length, etag: '"doc"', contentType: 'application/json', headers: { Vary: 'Accept' } };
  const opened = { count: 0 };
  const held = () => bufferedObjectSource(async () => ({ object, bytes }));
  /** Read from storage each time: opening it is a round trip. */
  const stored = (): IObjectSource => ({
    describe: async () => object,
    open: async (span) => {
      opened.count++;
      const body = span ? bytes.subarray(span.start, span.end + 1) : bytes;
      return { object, body: Readable.from([body]), length: body.length };
    },
  });
  const serve = (source: IObjectSource, method: string, headers: Record<string, string> = {}) =>
    serveObject({ method, headers }, source, { notFound: () => RegistryError.notFound('missing') });

  it('a HEAD and a 304 carry the 200 a GET gets, its headers and bytes, to be coded as that GET (never sent)', async () => {
    const get = await serve(held(), 'GET');
    const head = await serve(held(), 'HEAD');
    assert.equal(head.body, undefined);
    assert.deepEqual(head.headers, get.headers);
    assert.deepEqual(head.standsFor, { headers: get.headers, body: bytes });
    for (const request of [{ 'if-none-match': '"doc"' }, { 'if-none-match': 'W/"doc"' }]) {
      for (const method of ['GET', 'HEAD']) {
        const notModified = await serve(held(), method, request);
        assert.equal(notModified.status, 304);
        assert.equal(notModified.body, undefined);
        assert.deepEqual(notModified.headers, { Vary: 'Accept', ETag: '"doc"' });
        assert.deepEqual(notModified.standsFor, { headers: get.headers, body: bytes });
      }
    }
  });

  it('a ranged HEAD, and a HEAD or 304 of an object read from storage, stand for nothing: nothing more is opened', async () => {
    const ranged = await serve(held(), 'HEAD', { range: 'bytes=0-9' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.standsFor, undefined);
    assert.equal((await serve(stored(), 'HEAD')).standsFor, undefined);
    assert.equal((await serve(stored(), 'GET', { 'if-none-match': '"doc"' })).standsFor, undefined);
    assert.equal(opened.count, 0);
  });
});

