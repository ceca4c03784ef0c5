/**
 * A kept document's HEAD and 304 answered with the headers its GET gets (RFC 9110 9.3.2 and 15.4.5), with and
 * without gzip asked: what every protocol's documents share, checked the same way for each.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IReadResponse } from './requests.js';

/** One request for the document with these extra headers (the protocol's own Accept and credentials added). */
export type TDocumentRequest = (method: string, headers: Record<string, string>) => Promise<IReadResponse>;

const GZIP = { 'accept-encoding': 'gzip' };

/** The GET as a gzip-asking client gets it once its compressed copy is made (off the event loop, on a later GET). */
async function compressedGet(request: TDocumentRequest): Promise<IReadResponse> {
  for (let turn = 0; turn < 500; turn++) {
    const res = await request('GET', GZIP);
    assert.equal(res.status, 200, res.text);
    if (res.headers['content-encoding'] === 'gzip') return res;
    await sleep(10);
  }
  throw new Error('the document was never sent compressed');
}

/** Headers as a client compares them: the request id differs per answer. */
function headersOf(res: IReadResponse): Record<string, string> {
  const { 'x-request-id': _id, ...headers } = res.headers;
  return headers;
}

export async function assertHeadAndNotModifiedLikeGet(request: TDocumentRequest): Promise<void> {
  const zipped = await compressedGet(request);
  assert.match(zipped.headers.vary, /Accept-Encoding/);
  assert.match(zipped.headers.etag, /^W\//);
  const zippedHead = await request('HEAD', GZIP);
  assert.equal(zippedHead.status, 200);
  assert.equal(zippedHead.bytes.length, 0);
  assert.deepEqual(headersOf(zippedHead), headersOf(zipped), 'a HEAD asking gzip: the compressed GET’s headers');

  const plain = await request('GET', {});
  assert.equal(plain.headers['content-encoding'], undefined);
  const plainHead = await request('HEAD', {});
  assert.equal(plainHead.bytes.length, 0);
  assert.deepEqual(headersOf(plainHead), headersOf(plain), 'a HEAD not asking gzip: the plain GET’s headers');
  assert.equal(`W/${plain.headers.etag}`, zipped.headers.etag);

  // A 304 carries the Vary and Cache-Control of the 200 it stands for, and the tag the client holds.
  for (const etag of [zipped.headers.etag, plain.headers.etag]) {
    const notModified = await request('GET', { ...GZIP, 'if-none-match': etag });
    assert.equal(notModified.status, 304, `If-None-Match: ${etag}`);
    assert.equal(notModified.bytes.length, 0);
    assert.equal(notModified.headers.etag, etag);
    assert.equal(notModified.headers.vary, zipped.headers.vary, `the Vary of the 200 for If-None-Match: ${etag}`);
    assert.equal(notModified.headers['cache-control'], zipped.headers['cache-control']);
    assert.equal(notModified.headers['content-encoding'], undefined);
  }
  const plainNotModified = await request('GET', { 'if-none-match': plain.headers.etag });
  assert.equal(plainNotModified.status, 304);
  assert.equal(plainNotModified.headers.etag, plain.headers.etag);
  assert.equal(plainNotModified.headers.vary, plain.headers.vary, 'not asking gzip: the Vary of the plain 200');
  const zippedHeadNotModified = await request('HEAD', { ...GZIP, 'if-none-match': zipped.headers.etag });
  assert.equal(zippedHeadNotModified.status, 304);
  assert.equal(zippedHeadNotModified.headers.vary, zipped.headers.vary);
}
