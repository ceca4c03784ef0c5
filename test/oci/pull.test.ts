/** Conformance area "pull" through handleRequest: manifests and blobs by tag and digest, HEAD, ranges, errors. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOciFixture, header, sha256, type IOciFixture } from './oci.fixtures.js';

describe('oci conformance: pull', () => {
  let f: IOciFixture;
  let image: Awaited<ReturnType<IOciFixture['pushImage']>>;
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');

  before(async () => {
    f = await createOciFixture();
    image = await f.pushImage('pull/app', 'v1', ['first layer', 'second layer']);
    await f.pushBlob('pull/app', big);
  });
  after(() => f.cleanup());

  it('GET /v2/ answers 200 with the API version header for valid credentials', async () => {
    const res = await f.call('GET', '/v2/');
    assert.equal(res.status, 200);
    assert.equal(header(res.headers, 'docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(res.json, {});
  });

  it('pull manifest by tag: exact bytes, media type, Docker-Content-Digest', async () => {
    const res = await f.call('GET', '/v2/pull/app/manifests/v1');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(image.bytes));
    assert.equal(header(res.headers, 'content-type'), 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(header(res.headers, 'docker-content-digest'), image.digest);
    assert.equal(header(res.headers, 'content-length'), String(image.bytes.length));
  });

  it('pull manifest by digest', async () => {
    const res = await f.call('GET', `/v2/pull/app/manifests/${image.digest}`);
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(image.bytes));
  });

  it('HEAD manifest: headers, no body', async () => {
    const res = await f.call('HEAD', '/v2/pull/app/manifests/v1');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.equal(header(res.headers, 'content-length'), String(image.bytes.length));
    assert.equal(header(res.headers, 'docker-content-digest'), image.digest);
  });

  it('conditional GET with the digest ETag answers 304', async () => {
    const res = await f.call('GET', '/v2/pull/app/manifests/v1', { headers: { 'if-none-match': `"${image.digest}"` } });
    assert.equal(res.status, 304);
  });

  it('unknown tag and unknown digest: 404 MANIFEST_UNKNOWN; unknown repository: 404 NAME_UNKNOWN', async () => {
    let res = await f.call('GET', '/v2/pull/app/manifests/nope');
    assert.equal(res.status, 404);
    assert.equal(res.code, 'MANIFEST_UNKNOWN');
    res = await f.call('GET', `/v2/pull/app/manifests/${sha256('missing')}`);
    assert.equal(res.code, 'MANIFEST_UNKNOWN');
    res = await f.call('HEAD', '/v2/pull/app/manifests/nope');
    assert.equal(res.status, 404);
    res = await f.call('GET', '/v2/pull/nothing-here/manifests/v1');
    assert.equal(res.status, 404);
    assert.equal(res.code, 'NAME_UNKNOWN');
  });

  it('bad name, bad digest, bad tag', async () => {
    let res = await f.call('GET', '/v2/Pull/App/manifests/v1');
    assert.equal(res.status, 400);
    assert.equal(res.code, 'NAME_INVALID');
    res = await f.call('GET', '/v2/pull/app/manifests/sha256:xyz');
    assert.equal(res.status, 400);
    assert.equal(res.code, 'DIGEST_INVALID');
    res = await f.call('GET', '/v2/pull/app/blobs/sha256:1234');
    assert.equal(res.code, 'DIGEST_INVALID');
    res = await f.call('GET', '/v2/pull/app/manifests/-bad');
    assert.equal(res.status, 404);
  });

  it('pull blob: bytes and Docker-Content-Digest; HEAD gives the size', async () => {
    const res = await f.call('GET', `/v2/pull/app/blobs/${image.layers[0]}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'first layer');
    assert.equal(header(res.headers, 'docker-content-digest'), image.layers[0]);
    const head = await f.call('HEAD', `/v2/pull/app/blobs/${sha256(big)}`);
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(header(head.headers, 'content-length'), String(big.length));
  });

  it('pull a large blob whole', async () => {
    const res = await f.call('GET', `/v2/pull/app/blobs/${sha256(big)}`);
    assert.equal(res.status, 200);
    assert.equal(sha256(res.body), sha256(big));
  });

  it('Range requests answer 206 with Content-Range; out of bounds is 416', async () => {
    const digest = sha256(big);
    let res = await f.call('GET', `/v2/pull/app/blobs/${digest}`, { headers: { range: 'bytes=10-19' } });
    assert.equal(res.status, 206);
    assert.equal(header(res.headers, 'content-range'), `bytes 10-19/${big.length}`);
    assert.equal(res.body.length, 10);
    res = await f.call('GET', `/v2/pull/app/blobs/${digest}`, { headers: { range: 'bytes=-5' } });
    assert.equal(res.status, 206);
    assert.equal(header(res.headers, 'content-range'), `bytes ${big.length - 5}-${big.length - 1}/${big.length}`);
    res = await f.call('GET', `/v2/pull/app/blobs/${digest}`, { headers: { range: `bytes=${big.length}-` } });
    assert.equal(res.status, 416);
    assert.equal(header(res.headers, 'content-range'), `bytes */${big.length}`);
    assert.equal(res.code, 'BLOB_UNKNOWN', 'the code the proxied 416 has too');
  });

  it('blobs: a reversed range is 416, several ranges the whole blob, a known etag 304', async () => {
    const digest = sha256(big);
    let res = await f.call('GET', `/v2/pull/app/blobs/${digest}`, { headers: { range: 'bytes=500-0' } });
    assert.equal(res.status, 416);
    assert.equal(header(res.headers, 'content-range'), `bytes */${big.length}`);
    assert.equal(res.code, 'BLOB_UNKNOWN');
    res = await f.call('GET', `/v2/pull/app/blobs/${digest}`, { headers: { range: 'bytes=0-1,5-6' } });
    assert.equal(res.status, 200);
    assert.equal(sha256(res.body), digest);
    res = await f.call('GET', `/v2/pull/app/blobs/${digest}`, { headers: { 'if-none-match': `"${digest}"` } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(header(res.headers, 'docker-content-digest'), digest);
  });

  it('unknown blob: 404 BLOB_UNKNOWN, also for a blob that exists only in another repository', async () => {
    let res = await f.call('GET', `/v2/pull/app/blobs/${sha256('nothing')}`);
    assert.equal(res.status, 404);
    assert.equal(res.code, 'BLOB_UNKNOWN');
    await f.pushBlob('pull/other', 'only in other');
    res = await f.call('GET', `/v2/pull/app/blobs/${sha256('only in other')}`);
    assert.equal(res.status, 404);
    assert.equal(res.code, 'BLOB_UNKNOWN');
    res = await f.call('HEAD', `/v2/pull/app/blobs/${sha256('only in other')}`);
    assert.equal(res.status, 404);
  });

  it('names with several components and the description-style path without /v2 below the basePath', async () => {
    const nested = await f.pushImage('a/b/c/d', 'x');
    let res = await f.call('GET', '/oci/v2/a/b/c/d/manifests/x');
    assert.equal(res.status, 200);
    assert.equal(header(res.headers, 'docker-content-digest'), nested.digest);
    res = await f.call('GET', '/oci/a/b/c/d/manifests/x');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(nested.bytes));
  });
});
