import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptsGzip, withContentCoding } from '../../ts/core/helpers.contentcoding.js';
import type { IHandlerResponse } from '../../ts/core/helpers.response.js';

const GZIP = { 'accept-encoding': 'gzip, deflate' };
const document = (text = 'x') => Buffer.from(JSON.stringify({ versions: Array.from({ length: 200 }, (_, n) => ({ n, text })) }));
const answer = (body: Buffer, headers: Record<string, string> = {}): IHandlerResponse => ({
  status: 200,
  headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ETag: '"abc"', ...headers },
  body,
});

/** Asks for `body` until the answer is compressed (the copy is made on the thread pool), for 10 s at most. */
async function untilCompressed(body: Buffer, headers?: Record<string, string>): Promise<IHandlerResponse> {
  for (let turn = 0; turn < 1000; turn++) {
    const response = withContentCoding(GZIP, answer(body, headers));
    if (response.headers?.['Content-Encoding']) return response;
    await sleep(10);
  }
  throw new Error('never compressed');
}

describe('content coding of cached documents', () => {
  it('reads Accept-Encoding', () => {
    assert.equal(acceptsGzip('gzip, deflate'), true);
    assert.equal(acceptsGzip('gzip;q=1.0,deflate;q=0.6,identity;q=0.3'), true);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('br, gzip;q=0'), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip(undefined), false);
  });

  it('a body served again is sent gzip-compressed once its copy is made: weak ETag, its own length, Vary', async () => {
    const body = document();
    const first = withContentCoding(GZIP, answer(body, { Vary: 'Accept' }));
    assert.equal(first.body, body, 'the first answer goes as it is');
    assert.equal(first.headers!['Content-Length'], String(body.length));
    assert.equal(first.headers!.ETag, '"abc"');
    assert.equal(first.headers!.Vary, 'Accept, Accept-Encoding', 'the answer depends on Accept-Encoding already');
    const compressed = await untilCompressed(body, { Vary: 'Accept' });
    const bytes = compressed.body as Buffer;
    assert.deepEqual(zlib.gunzipSync(bytes), body);
    assert.ok(bytes.length < body.length / 4, `${bytes.length} bytes of ${body.length}`);
    assert.deepEqual(compressed.headers, {
      'Content-Type': 'application/json',
      'Content-Length': String(bytes.length),
      ETag: 'W/"abc"',
      Vary: 'Accept, Accept-Encoding',
      'Content-Encoding': 'gzip',
    });
    assert.equal(withContentCoding(GZIP, answer(body)).body, bytes, 'the copy is made once');
    const identity = withContentCoding({}, answer(body));
    assert.equal(identity.body, body, 'a client that does not ask for gzip gets the document as it is');
    assert.equal(identity.headers!.ETag, '"abc"');
  });

  it('a body built for each request is never compressed', async () => {
    for (let turn = 0; turn < 20; turn++) {
      const body = document();
      assert.equal(withContentCoding(GZIP, answer(body)).body, body);
      await sleep(10);
    }
  });

  it('leaves small bodies, archives, OCI manifests, coded bodies, partial answers and refusals as they are', async () => {
    const body = document();
    const kept: IHandlerResponse[] = [
      answer(Buffer.from('{"small":true}')),
      answer(body, { 'Content-Type': 'application/octet-stream' }),
      answer(body, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }),
      answer(body, { 'Content-Encoding': 'gzip' }),
      { ...answer(body), status: 206 },
    ];
    for (let turn = 0; turn < 50; turn++) {
      for (const response of kept) assert.equal(withContentCoding(GZIP, response), response);
      assert.equal(withContentCoding({ 'accept-encoding': 'gzip;q=0' }, answer(body)).body, body);
      await sleep(10);
    }
    assert.equal((await untilCompressed(body, { 'Content-Type': 'text/plain; charset=utf-8' })).headers!['Content-Encoding'], 'gzip');
    const pypi = document('pypi');
    assert.equal((await untilCompressed(pypi, { 'Content-Type': 'application/vnd.pypi.simple.v1+json' })).headers!['Content-Encoding'], 'gzip');
  });

  it('frozen headers (a kept document) are coded as unfrozen ones, once, and stay as they were', async () => {
    const body = document('kept');
    const plain = answer(body, { Vary: 'Accept' }).headers!;
    const kept = Object.freeze({ ...plain });
    const keptAnswer = (): IHandlerResponse => ({ status: 200, headers: kept, body });
    const first = withContentCoding(GZIP, keptAnswer());
    assert.equal(first.body, body);
    assert.deepEqual(first.headers, withContentCoding(GZIP, answer(document('kept'), { Vary: 'Accept' })).headers);
    let compressed = withContentCoding(GZIP, keptAnswer());
    for (let turn = 0; turn < 1000 && !compressed.headers!['Content-Encoding']; turn++) {
      await sleep(10);
      compressed = withContentCoding(GZIP, keptAnswer());
    }
    assert.deepEqual(zlib.gunzipSync(compressed.body as Buffer), body);
    assert.deepEqual(compressed.headers, {
      'Content-Type': 'application/json',
      'Content-Length': String((compressed.body as Buffer).length),
      ETag: 'W/"abc"',
      Vary: 'Accept, Accept-Encoding',
      'Content-Encoding': 'gzip',
    });
    const again = withContentCoding(GZIP, keptAnswer());
    assert.equal(again.headers, compressed.headers, 'the coded headers are made once');
    assert.equal(again.body, compressed.body);
    assert.deepEqual(kept, plain, 'the kept headers are not changed');
    const identity = withContentCoding({}, keptAnswer());
    assert.equal(identity.body, body);
    assert.equal(identity.headers, kept, 'a client that does not ask for gzip gets the document as it is');
    const archive = Object.freeze({ ...plain, 'Content-Type': 'application/octet-stream' });
    const archiveAnswer: IHandlerResponse = { status: 200, headers: archive, body };
    assert.equal(withContentCoding(GZIP, archiveAnswer), archiveAnswer, 'kept headers of an archive: never compressed');
    assert.equal(withContentCoding(GZIP, archiveAnswer), archiveAnswer);
  });

  it('a 304 for the weak tag a compressed answer carried names that tag', () => {
    const notModified: IHandlerResponse = { status: 304, headers: { ETag: '"abc"' } };
    assert.equal(withContentCoding({ 'if-none-match': 'W/"abc"' }, notModified).headers!.ETag, 'W/"abc"');
    assert.equal(withContentCoding({ 'if-none-match': '"abc"' }, notModified).headers!.ETag, '"abc"');
  });

  it('a HEAD standing for a 200 gets that 200\'s headers as coded for the request, and no body', async () => {
    const body = document('head');
    const get = answer(body, { Vary: 'Accept' });
    const head = (requestHeaders: Record<string, string>) =>
      withContentCoding(requestHeaders, { status: 200, headers: get.headers, standsFor: { headers: get.headers!, body } });
    const first = head(GZIP);
    assert.equal(first.body, undefined);
    assert.deepEqual(first.headers, { ...get.headers, Vary: 'Accept, Accept-Encoding' }, 'before the copy is made: the document as it is, with Vary');
    const compressed = await untilCompressed(body, { Vary: 'Accept' });
    const coded = head(GZIP);
    assert.deepEqual(coded, { status: 200, statusText: undefined, headers: compressed.headers }, 'the compressed GET\'s headers, its length too');
    assert.deepEqual(head({}).headers, get.headers, 'not asking gzip: the GET\'s headers as they are');
    const archive = answer(body, { 'Content-Type': 'application/octet-stream' });
    const archiveHead = withContentCoding(GZIP, { status: 200, headers: archive.headers, standsFor: { headers: archive.headers!, body } });
    assert.deepEqual(archiveHead.headers, archive.headers, 'what a GET would not code stays as it is');
  });

  it('a 304 standing for a 200 gets its Vary, names the tag the client holds, and has no body', async () => {
    const body = document('not-modified');
    const own = { Vary: 'Accept', 'Cache-Control': 'no-cache' };
    const get = answer(body, own);
    const notModified = (requestHeaders: Record<string, string>, standsFor = { headers: get.headers!, body }) =>
      withContentCoding(requestHeaders, { status: 304, headers: { ...own, ETag: '"abc"' }, standsFor });
    const check = () => {
      assert.deepEqual(notModified({ ...GZIP, 'if-none-match': '"abc"' }), {
        status: 304,
        statusText: undefined,
        headers: { 'Cache-Control': 'no-cache', ETag: '"abc"', Vary: 'Accept, Accept-Encoding' },
      });
      assert.deepEqual(notModified({ ...GZIP, 'if-none-match': 'W/"abc"' }).headers, { 'Cache-Control': 'no-cache', ETag: 'W/"abc"', Vary: 'Accept, Accept-Encoding' });
      assert.deepEqual(notModified({ 'if-none-match': '"abc"' }).headers, { ...own, ETag: '"abc"' }, 'not asking gzip: the plain 200\'s Vary');
    };
    check();
    await untilCompressed(body, own);
    check();
    const small = Buffer.from('{"small":true}');
    const smallGet = answer(small, own);
    assert.deepEqual(notModified({ ...GZIP, 'if-none-match': '"abc"' }, { headers: smallGet.headers!, body: small }).headers, { ...own, ETag: '"abc"' });
  });
});
