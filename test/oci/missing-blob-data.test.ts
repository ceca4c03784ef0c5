/**
 * A blob whose record is stored but whose bytes are gone (a collection took them after a pull read the
 * record, or they were lost): GET and HEAD, streamed and redirected, answer 404 BLOB_UNKNOWN as for a blob
 * that is not there, never 500; the record is dropped, and the next push of the digest stores it again.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ociPaths } from '../../ts/core/storage.paths.js';
import type { IBlobRecord } from '../../ts/oci/interfaces.oci.js';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { createOciFixture, header, sha256, type IOciFixture } from './oci.fixtures.js';

const CTX = { protocol: 'oci' } as const;

const recordKey = (digest: string) => ociPaths.blobRecord('sha256', digest.slice('sha256:'.length));

/** The stored record of `digest`, or null. */
async function readRecord(f: IOciFixture, digest: string): Promise<IBlobRecord | null> {
  return (await f.registry.getStorage().getJson<IBlobRecord>(recordKey(digest)))?.value ?? null;
}

/** Delete one data part under the record (through the storage backend), leaving the record. */
async function deletePart(f: IOciFixture, digest: string, index: number): Promise<void> {
  const record = await readRecord(f, digest);
  assert.ok(record, `record of ${digest} is stored`);
  await f.registry.getStorage().deleteObject(record.parts[index].key, CTX);
}

/** Push `chunks` as one blob through PATCHes: a record of several parts. */
async function pushChunked(f: IOciFixture, name: string, chunks: string[]): Promise<string> {
  const started = await f.call('POST', `/v2/${name}/blobs/uploads/`);
  assert.equal(started.status, 202);
  const location = header(started.headers, 'location')!;
  let offset = 0;
  for (const chunk of chunks) {
    const res = await f.call('PATCH', location, { body: Buffer.from(chunk), headers: { 'content-range': `${offset}-${offset + chunk.length - 1}` } });
    assert.equal(res.status, 202);
    offset += chunk.length;
  }
  const digest = sha256(chunks.join(''));
  const done = await f.call('PUT', `${location}?digest=${digest}`);
  assert.equal(done.status, 201, done.body.toString());
  return digest;
}

function assertBlobUnknown(res: { status: number; code?: string; json: any }, digest: string, method: string) {
  assert.equal(res.status, 404, `${method}: ${res.status}`);
  if (method === 'HEAD') return;
  assert.equal(res.code, 'BLOB_UNKNOWN');
  assert.equal(res.json.errors[0].detail.digest, digest);
}

describe('oci: a blob record whose bytes are gone', () => {
  let f: IOciFixture;
  before(async () => {
    f = await createOciFixture();
  });
  after(() => f.cleanup());

  const cases: { label: string; request: { method: string; headers?: Record<string, string> } }[] = [
    { label: 'plain GET', request: { method: 'GET' } },
    { label: 'HEAD', request: { method: 'HEAD' } },
    { label: 'ranged GET', request: { method: 'GET', headers: { range: 'bytes=1-3' } } },
    { label: 'conditional GET', request: { method: 'GET', headers: { 'if-none-match': '"sha256:0"' } } },
  ];

  for (const { label, request } of cases) {
    it(`${label} of a blob stored whole: 404 BLOB_UNKNOWN, the record dropped, a new push serves it again`, async () => {
      const bytes = `whole blob for ${label}`;
      const digest = await f.pushBlob('gone/app', bytes);
      await deletePart(f, digest, 0);
      const res = await f.call(request.method, `/v2/gone/app/blobs/${digest}`, { headers: request.headers });
      assertBlobUnknown(res, digest, request.method);
      assert.equal(await readRecord(f, digest), null);
      // The dropped record no longer makes a push of the digest discard its bytes.
      await f.pushBlob('gone/app', bytes);
      const again = await f.call('GET', `/v2/gone/app/blobs/${digest}`);
      assert.equal(again.status, 200);
      assert.equal(again.body.toString(), bytes);
    });
  }

  for (const index of [0, 2]) {
    it(`plain GET and HEAD of a chunked blob whose part ${index} is gone: 404 BLOB_UNKNOWN before any byte`, async () => {
      const chunks = [`first part ${index}|`, 'second part|', 'third part'];
      const digest = await pushChunked(f, 'gone/chunked', chunks);
      assert.equal((await readRecord(f, digest))!.parts.length, 3);
      await deletePart(f, digest, index);
      assertBlobUnknown(await f.call('GET', `/v2/gone/chunked/blobs/${digest}`), digest, 'GET');
      assert.equal(await readRecord(f, digest), null);
      assertBlobUnknown(await f.call('HEAD', `/v2/gone/chunked/blobs/${digest}`), digest, 'HEAD');
    });
  }

  it('a mount of a blob whose bytes are gone is an upload session (202), not a link to nothing', async () => {
    const bytes = 'mounted without bytes';
    const digest = sha256(bytes);
    for (const query of [`mount=${digest}&from=gone/source`, `mount=${digest}`]) {
      await f.pushBlob('gone/source', bytes);
      await deletePart(f, digest, 0);
      const res = await f.call('POST', `/v2/gone/target/blobs/uploads/?${query}`);
      assert.equal(res.status, 202, query);
      assert.equal(await readRecord(f, digest), null, `${query}: the record is dropped`);
      assertBlobUnknown(await f.call('GET', `/v2/gone/target/blobs/${digest}`), digest, 'GET');
    }
    await f.pushBlob('gone/target', bytes);
    assert.equal((await f.call('GET', `/v2/gone/target/blobs/${digest}`)).body.toString(), bytes);
  });

  it('a record another push replaced with stored bytes is not dropped', async () => {
    const bytes = 'replaced before the drop';
    const digest = await f.pushBlob('gone/app', bytes);
    const first = await readRecord(f, digest);
    await deletePart(f, digest, 0);
    // The push finds the record without data and replaces it (its own parts).
    await f.pushBlob('gone/app', bytes);
    const replaced = await readRecord(f, digest);
    assert.notDeepEqual(replaced!.parts, first!.parts);
    const res = await f.call('GET', `/v2/gone/app/blobs/${digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), bytes);
    assert.deepEqual(await readRecord(f, digest), replaced);
  });
});

describe('oci: a blob record whose bytes are gone, redirected downloads on S3', () => {
  let s3: IS3TestServer;
  let f: IOciFixture;
  before(async () => {
    s3 = await startS3Server();
    f = await createOciFixture({ storage: { ...s3.descriptor, bucketName: 'missing-blob-data' }, oci: { downloads: { redirect: true } } });
  });
  after(async () => {
    await f?.cleanup();
    await s3?.stop();
  });

  it('GET is not redirected to bytes that are gone: 404 BLOB_UNKNOWN, the record dropped', async () => {
    const bytes = Buffer.alloc(4096, 'r');
    const digest = await f.pushBlob('gone/redirect', bytes);
    const redirected = await f.call('GET', `/v2/gone/redirect/blobs/${digest}`);
    assert.equal(redirected.status, 307, 'a blob with its bytes is redirected');
    await deletePart(f, digest, 0);
    assertBlobUnknown(await f.call('GET', `/v2/gone/redirect/blobs/${digest}`), digest, 'GET');
    assert.equal(await readRecord(f, digest), null);
    assertBlobUnknown(await f.call('HEAD', `/v2/gone/redirect/blobs/${digest}`), digest, 'HEAD');
  });
});
