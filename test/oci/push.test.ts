/** Conformance area "push" through handleRequest: every upload flow, manifests, mounts and the errors. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createOciFixture, header, listFiles, sha256, sha512, type IOciFixture } from './oci.fixtures.js';
import { settle } from '../helpers/validationwindow.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('oci conformance: push (blobs)', () => {
  let f: IOciFixture;
  before(async () => {
    f = await createOciFixture({ limits: { maxArtifactBytes: 1024 * 1024 } });
  });
  after(() => f.cleanup());

  const start = async (name = 'push/app') => {
    const res = await f.call('POST', `/v2/${name}/blobs/uploads/`);
    assert.equal(res.status, 202);
    const location = header(res.headers, 'location')!;
    assert.match(location, new RegExp(`^/v2/${name}/blobs/uploads/[0-9a-f-]{36}$`));
    assert.equal(header(res.headers, 'docker-upload-uuid'), location.split('/').pop());
    return location;
  };

  it('refuses a name whose catalog entry would not fit in a key segment with NAME_INVALID, before storage', async () => {
    const tooLong = Array.from({ length: 64 }, () => 'abc').join('/'); // 255 characters, 381 with each / as %2F
    const before = await listFiles(f.dataDir);
    const res = await f.call('POST', `/v2/${tooLong}/blobs/uploads/?digest=${sha256('x')}`, { body: Buffer.from('x') });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'NAME_INVALID');
    assert.doesNotMatch(res.body.toString(), /oci\/|storage key/);
    assert.deepEqual(await listFiles(f.dataDir), before);
    const atLimit = `${'a'.repeat(251)}/b`; // 253 characters, 255 as stored
    await f.pushImage(atLimit, 'v1');
    assert.equal((await f.call('GET', `/v2/${atLimit}/manifests/v1`)).status, 200);
  });

  it('push blob monolithically: POST then PUT with the whole body', async () => {
    const location = await start();
    const data = Buffer.from('monolithic blob');
    const res = await f.call('PUT', `${location}?digest=${sha256(data)}`, { body: data });
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'location'), `/v2/push/app/blobs/${sha256(data)}`);
    assert.equal(header(res.headers, 'docker-content-digest'), sha256(data));
    const get = await f.call('GET', `/v2/push/app/blobs/${sha256(data)}`);
    assert.ok(get.body.equals(data));
  });

  it('push blob in a single POST ?digest=', async () => {
    const data = Buffer.from('single post');
    const res = await f.call('POST', `/v2/push/app/blobs/uploads/?digest=${sha256(data)}`, { body: data });
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'location'), `/v2/push/app/blobs/${sha256(data)}`);
  });

  it('push blob in chunks: PATCH with Content-Range, status GET, last chunk in the closing PUT', async () => {
    const location = await start();
    const chunks = ['chunk-one|', 'chunk-two|', 'chunk-three|', 'last'];
    let offset = 0;
    for (const chunk of chunks.slice(0, 3)) {
      const res = await f.call('PATCH', location, { body: Buffer.from(chunk), headers: { 'content-range': `${offset}-${offset + chunk.length - 1}` } });
      assert.equal(res.status, 202);
      offset += chunk.length;
      assert.equal(header(res.headers, 'range'), `0-${offset - 1}`);
      assert.equal(header(res.headers, 'location'), location);
    }
    const status = await f.call('GET', location);
    assert.equal(status.status, 204);
    assert.equal(header(status.headers, 'range'), `0-${offset - 1}`);
    const whole = chunks.join('');
    const res = await f.call('PUT', `${location}?digest=${sha256(whole)}`, {
      body: Buffer.from('last'),
      headers: { 'content-range': `${offset}-${offset + 3}` },
    });
    assert.equal(res.status, 201, res.body.toString());
    assert.equal((await f.call('GET', `/v2/push/app/blobs/${sha256(whole)}`)).body.toString(), whole);
    // A ranged read across chunk boundaries.
    const ranged = await f.call('GET', `/v2/push/app/blobs/${sha256(whole)}`, { headers: { range: 'bytes=5-24' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.body.toString(), whole.slice(5, 25));
    assert.equal((await f.call('GET', location)).code, 'BLOB_UPLOAD_UNKNOWN', 'the session is gone once closed');
  });

  it('push blob streamed in one PATCH without Content-Range (how skopeo and docker push), Node and Web streams', async () => {
    const data = Buffer.alloc(300_000, 7);
    let location = await start();
    let res = await f.call('PATCH', location, { body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]) });
    assert.equal(res.status, 202);
    assert.equal(header(res.headers, 'range'), `0-${data.length - 1}`);
    res = await f.call('PUT', `${location}?digest=${sha256(data)}`);
    assert.equal(res.status, 201);

    const other = Buffer.alloc(1000, 9);
    location = await start();
    const web = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(other.subarray(0, 10));
        controller.enqueue(other.subarray(10));
        controller.close();
      },
    });
    res = await f.call('PATCH', location, { body: web });
    assert.equal(res.status, 202);
    res = await f.call('PUT', `${location}?digest=${sha256(other)}`);
    assert.equal(res.status, 201);
  });

  it('many chunks keep a correct digest (running hash) and empty PATCH bodies change nothing', async () => {
    const location = await start();
    const parts: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < 9; i++) {
      const part = Buffer.alloc(1000 + i, i);
      parts.push(part);
      const res = await f.call('PATCH', location, { body: part, headers: { 'content-range': `${offset}-${offset + part.length - 1}` } });
      assert.equal(res.status, 202);
      offset += part.length;
      if (i === 4) assert.equal((await f.call('PATCH', location, { body: Buffer.alloc(0) })).status, 202);
    }
    const whole = Buffer.concat(parts);
    // Each chunk was hashed once, into the running hash: a part records the digest of the upload through
    // it, no digest of its own; the last one is the blob's.
    const session = await f.registry.getStorage().getJson<{ parts: Array<{ through?: string; sha256?: string }> }>(`oci/uploads/${location.split('/').pop()}.json`);
    assert.deepEqual(
      session!.value.parts.map((part) => [part.through, part.sha256]),
      parts.map((_, index) => [sha256(Buffer.concat(parts.slice(0, index + 1))).slice('sha256:'.length), undefined]),
    );
    const res = await f.call('PUT', `${location}?digest=${sha256(whole)}`);
    assert.equal(res.status, 201);
    assert.ok((await f.call('GET', `/v2/push/app/blobs/${sha256(whole)}`)).body.equals(whole));
  });

  it('an empty blob: stored without data, served with length 0', async () => {
    const before = (await listFiles(f.dataDir)).filter((file) => file.startsWith('oci/blob-data/'));
    let res = await f.call('POST', `/v2/push/empty/blobs/uploads/?digest=${sha256('')}`, { body: Buffer.alloc(0) });
    assert.equal(res.status, 201);
    const location = await start('push/empty');
    res = await f.call('PUT', `${location}?digest=${sha256('')}`);
    assert.equal(res.status, 201);
    res = await f.call('GET', `/v2/push/empty/blobs/${sha256('')}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.equal(header(res.headers, 'content-length'), '0');
    assert.deepEqual((await listFiles(f.dataDir)).filter((file) => file.startsWith('oci/blob-data/')), before);
  });

  it('sha512 digests, monolithic and chunked', async () => {
    const data = Buffer.from('sha512 content');
    let res = await f.call('POST', `/v2/push/app/blobs/uploads/?digest=${sha512(data)}`, { body: data });
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'docker-content-digest'), sha512(data));
    const location = await start();
    await f.call('PATCH', location, { body: data.subarray(0, 5), headers: { 'content-range': '0-4' } });
    await f.call('PATCH', location, { body: data.subarray(5), headers: { 'content-range': `5-${data.length - 1}` } });
    res = await f.call('PUT', `${location}?digest=${sha512(data)}`);
    assert.equal(res.status, 201);
    assert.ok((await f.call('GET', `/v2/push/app/blobs/${sha512(data)}`)).body.equals(data));
  });

  it('out-of-order, overlapping or gapped chunks answer 416 with the current Range', async () => {
    const location = await start();
    await f.call('PATCH', location, { body: Buffer.from('0123456789'), headers: { 'content-range': '0-9' } });
    for (const range of ['5-14', '11-20', '0-9']) {
      const res = await f.call('PATCH', location, { body: Buffer.from('abcdefghij'), headers: { 'content-range': range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.code, 'BLOB_UPLOAD_INVALID');
      assert.equal(header(res.headers, 'range'), '0-9');
    }
    const status = await f.call('GET', location);
    assert.equal(header(status.headers, 'range'), '0-9', 'refused chunks changed nothing');
  });

  it('a malformed Content-Range is BLOB_UPLOAD_INVALID; a length mismatch is SIZE_INVALID', async () => {
    const location = await start();
    let res = await f.call('PATCH', location, { body: Buffer.from('abc'), headers: { 'content-range': 'three bytes' } });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'BLOB_UPLOAD_INVALID');
    res = await f.call('PATCH', location, { body: Buffer.from('abc'), headers: { 'content-range': '0-9' } });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'SIZE_INVALID');
    res = await f.call('PATCH', location, { body: Readable.from([Buffer.from('abc')]), headers: { 'content-range': '0-9' } });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'SIZE_INVALID');
    assert.equal(header((await f.call('GET', location)).headers, 'range'), '0-0');
  });

  it('a wrong digest is DIGEST_INVALID and leaves storage as it was before the upload', async () => {
    const before = await listFiles(f.dataDir);
    const location = await start();
    await f.call('PATCH', location, { body: Buffer.from('some bytes'), headers: { 'content-range': '0-9' } });
    const res = await f.call('PUT', `${location}?digest=${sha256('other bytes')}`, { body: Buffer.from('!') });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'DIGEST_INVALID');
    assert.deepEqual(await listFiles(f.dataDir), before);
    assert.equal((await f.call('GET', location)).code, 'BLOB_UPLOAD_UNKNOWN');

    const single = await f.call('POST', `/v2/push/app/blobs/uploads/?digest=${sha256('x')}`, { body: Buffer.from('y') });
    assert.equal(single.code, 'DIGEST_INVALID');
    assert.deepEqual(await listFiles(f.dataDir), before);
  });

  it('a missing or malformed digest on the closing PUT is DIGEST_INVALID and keeps the session', async () => {
    const location = await start();
    let res = await f.call('PUT', location);
    assert.equal(res.code, 'DIGEST_INVALID');
    res = await f.call('PUT', `${location}?digest=sha256:zz`);
    assert.equal(res.status, 400);
    assert.equal(res.code, 'DIGEST_INVALID');
    assert.equal((await f.call('GET', location)).status, 204);
  });

  it('unknown, malformed and foreign upload ids are BLOB_UPLOAD_UNKNOWN', async () => {
    const uuid = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', `/v2/push/app/blobs/uploads/${uuid}`],
      ['PATCH', `/v2/push/app/blobs/uploads/${uuid}`],
      ['PUT', `/v2/push/app/blobs/uploads/${uuid}?digest=${sha256('')}`],
      ['DELETE', `/v2/push/app/blobs/uploads/${uuid}`],
      ['GET', '/v2/push/app/blobs/uploads/not-a-uuid'],
    ] as const) {
      const res = await f.call(method, path, method === 'PATCH' ? { body: Buffer.from('x') } : {});
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.code, 'BLOB_UPLOAD_UNKNOWN');
    }
    const location = await start('push/app');
    const foreign = location.replace('/push/app/', '/push/other/');
    assert.equal((await f.call('GET', foreign)).code, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('cancel an upload: 204, its data removed, then unknown', async () => {
    const before = await listFiles(f.dataDir);
    const location = await start();
    await f.call('PATCH', location, { body: Buffer.from('to be cancelled') });
    const res = await f.call('DELETE', location);
    assert.equal(res.status, 204);
    assert.equal((await f.call('GET', location)).code, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await listFiles(f.dataDir), before);
  });

  it('oversized blobs are refused with 413 SIZE_INVALID and store nothing', async () => {
    const before = await listFiles(f.dataDir);
    const big = Buffer.alloc(1024 * 1024 + 1);
    let res = await f.call('POST', `/v2/push/app/blobs/uploads/?digest=${sha256(big)}`, { body: big });
    assert.equal(res.status, 413);
    assert.equal(res.code, 'SIZE_INVALID');
    // Without a Content-Length the limit is enforced while streaming.
    res = await f.call('POST', `/v2/push/app/blobs/uploads/?digest=${sha256(big)}`, { body: Readable.from([big]) });
    assert.equal(res.status, 413);
    assert.deepEqual(await listFiles(f.dataDir), before);
    const location = await start();
    await f.call('PATCH', location, { body: Buffer.alloc(1024 * 1024 - 10), headers: { 'content-range': `0-${1024 * 1024 - 11}` } });
    res = await f.call('PATCH', location, { body: Readable.from([Buffer.alloc(20)]) });
    assert.equal(res.status, 413);
    assert.equal(res.code, 'SIZE_INVALID');
    res = await f.call('PATCH', location, { body: Buffer.alloc(20), headers: { 'content-range': `${1024 * 1024 - 10}-${1024 * 1024 + 9}` } });
    assert.equal(res.status, 413);
    await f.call('DELETE', location);
  });

  it('a chunk over the limit destroys the request body stream', async () => {
    const location = await start();
    const first = 1024 * 1024 - 10;
    let res = await f.call('PATCH', location, { body: Buffer.alloc(first), headers: { 'content-range': `0-${first - 1}` } });
    assert.equal(res.status, 202);
    // A body that would go on far past the limit: the registry stops reading and must release it.
    const body = Readable.from((function* () {
      for (let i = 0; i < 1024; i++) yield Buffer.alloc(16 * 1024, i);
    })());
    res = await f.call('PATCH', location, { body });
    assert.equal(res.status, 413);
    assert.equal(res.code, 'SIZE_INVALID');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(body.destroyed, true);
    await f.call('DELETE', location);
  });

  it('cross-repository mount: 201 when the caller may pull from the source, else a normal session (202)', async () => {
    const digest = await f.pushBlob('push/source', 'mountable');
    let res = await f.call('POST', `/v2/push/target/blobs/uploads/?mount=${digest}&from=push/source`);
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'location'), `/v2/push/target/blobs/${digest}`);
    assert.equal(header(res.headers, 'docker-content-digest'), digest);
    assert.equal((await f.call('GET', `/v2/push/target/blobs/${digest}`)).body.toString(), 'mountable');

    // alice may push alice/* but not pull push/source: no mount, an upload session instead.
    res = await f.call('POST', `/v2/alice/app/blobs/uploads/?mount=${digest}&from=push/source`, { as: 'alice' });
    assert.equal(res.status, 202);
    assert.ok(header(res.headers, 'docker-upload-uuid'));
    assert.equal((await f.call('GET', `/v2/alice/app/blobs/${digest}`, { as: 'alice' })).code, 'BLOB_UNKNOWN');
    // Unknown blob in the source: a session.
    res = await f.call('POST', `/v2/push/target/blobs/uploads/?mount=${sha256('absent')}&from=push/source`);
    assert.equal(res.status, 202);
    // No source given: mounted for a caller who may pull every repository (admin), a session for anyone
    // else (alice) and for a digest not stored at all.
    res = await f.call('POST', `/v2/push/anywhere/blobs/uploads/?mount=${digest}`);
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'location'), `/v2/push/anywhere/blobs/${digest}`);
    assert.equal((await f.call('GET', `/v2/push/anywhere/blobs/${digest}`)).body.toString(), 'mountable');
    res = await f.call('POST', `/v2/alice/app/blobs/uploads/?mount=${digest}`, { as: 'alice' });
    assert.equal(res.status, 202);
    assert.equal((await f.call('GET', `/v2/alice/app/blobs/${digest}`, { as: 'alice' })).code, 'BLOB_UNKNOWN');
    res = await f.call('POST', `/v2/push/anywhere/blobs/uploads/?mount=${sha256('absent')}`);
    assert.equal(res.status, 202);
    res = await f.call('POST', `/v2/push/target/blobs/uploads/?mount=nonsense&from=push/source`);
    assert.equal(res.code, 'DIGEST_INVALID');
  });

  it('another instance on the same storage continues an upload', async () => {
    const second = await createOciFixture({ dataDir: f.dataDir });
    try {
      const location = await start('push/shared');
      await f.call('PATCH', location, { body: Buffer.from('from instance one, '), headers: { 'content-range': '0-18' } });
      let res = await second.call('PATCH', location, { body: Buffer.from('from instance two, '), headers: { 'content-range': '19-37' } });
      assert.equal(res.status, 202, res.body.toString());
      res = await f.call('PATCH', location, { body: Buffer.from('back to one') });
      assert.equal(res.status, 202);
      const whole = 'from instance one, from instance two, back to one';
      res = await second.call('PUT', `${location}?digest=${sha256(whole)}`);
      assert.equal(res.status, 201, res.body.toString());
      assert.equal((await f.call('GET', `/v2/push/shared/blobs/${sha256(whole)}`)).body.toString(), whole);
    } finally {
      await second.cleanup();
    }
  });

  it('abandoned sessions are cleaned up with their data', async () => {
    const location = await start();
    const uuid = location.split('/').pop()!;
    await f.call('PATCH', location, { body: Buffer.from('abandoned') });
    const mine = async () => (await listFiles(f.dataDir)).filter((file) => file.includes(uuid));
    assert.equal((await mine()).length, 2, 'the session document and one data part');
    assert.equal(await f.oci.cleanupUploads(60_000), 0, 'fresh sessions stay');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok((await f.oci.cleanupUploads(1)) >= 1);
    assert.deepEqual(await mine(), []);
    assert.equal((await f.call('GET', location)).code, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('the same content uploaded twice is stored once', async () => {
    const data = Buffer.from('deduplicated content');
    await f.pushBlob('push/dedupe-a', data);
    const afterFirst = await listFiles(f.dataDir);
    await f.pushBlob('push/dedupe-b', data);
    const added = (await listFiles(f.dataDir)).filter((file) => !afterFirst.includes(file));
    assert.ok(added.every((file) => !file.startsWith('oci/blob-data/')), `no second copy of the data: ${added.join(', ')}`);
  });
});

describe('oci conformance: push (manifests)', () => {
  let f: IOciFixture;
  let config: string;
  let layer: string;
  const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const manifest = () => ({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 5 }],
  });

  before(async () => {
    f = await createOciFixture();
    config = await f.pushBlob('push/m', configBytes);
    layer = await f.pushBlob('push/m', 'layer');
  });
  after(() => f.cleanup());

  it('push manifest by tag: 201, Location by digest, Docker-Content-Digest', async () => {
    const bytes = Buffer.from(JSON.stringify(manifest(), null, 3));
    const res = await f.pushManifest('push/m', 'v1', bytes, OCI_MANIFEST);
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'docker-content-digest'), sha256(bytes));
    assert.equal(header(res.headers, 'location'), `/v2/push/m/manifests/${sha256(bytes)}`);
    assert.ok((await f.call('GET', '/v2/push/m/manifests/v1')).body.equals(bytes), 'stored byte for byte');
  });

  it('push manifest by digest; a digest that does not match is DIGEST_INVALID', async () => {
    const bytes = Buffer.from(JSON.stringify(manifest()));
    let res = await f.pushManifest('push/m', sha256(bytes), bytes, OCI_MANIFEST);
    assert.equal(res.status, 201);
    res = await f.pushManifest('push/m', sha256('something else'), bytes, OCI_MANIFEST);
    assert.equal(res.status, 400);
    assert.equal(res.code, 'DIGEST_INVALID');
  });

  it('moving a tag to another manifest', async () => {
    const other = { ...manifest(), annotations: { moved: 'yes' } };
    const res = await f.pushManifest('push/m', 'v1', other);
    assert.equal(res.status, 201);
    const get = await f.call('GET', '/v2/push/m/manifests/v1');
    assert.equal(header(get.headers, 'docker-content-digest'), header(res.headers, 'docker-content-digest'));
  });

  it('referenced blobs must exist in the repository: MANIFEST_BLOB_UNKNOWN', async () => {
    const before = await listFiles(f.dataDir);
    const missing = sha256('not uploaded');
    const res = await f.pushManifest('push/m', 'broken', {
      ...manifest(),
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: missing, size: 1 }],
    });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(res.json.errors[0].detail.digests, [missing]);
    // A blob of another repository does not count.
    const elsewhere = await f.pushBlob('push/elsewhere', 'elsewhere');
    const res2 = await f.pushManifest('push/m', 'broken', {
      ...manifest(),
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: elsewhere, size: 9 }],
    });
    assert.equal(res2.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await f.call('GET', '/v2/push/m/manifests/broken')).status, 404);
    assert.deepEqual((await listFiles(f.dataDir)).filter((file) => file.includes('push/m/')), before.filter((file) => file.includes('push/m/')));
  });

  it('invalid manifests are MANIFEST_INVALID, invalid tags too, and nothing is stored', async () => {
    let res = await f.pushManifest('push/m', 'bad', Buffer.from('{not json'), OCI_MANIFEST);
    assert.equal(res.code, 'MANIFEST_INVALID');
    res = await f.pushManifest('push/m', 'bad', { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] });
    assert.equal(res.code, 'MANIFEST_INVALID');
    res = await f.pushManifest('push/m', 'bad', Buffer.from(JSON.stringify(manifest())), 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(res.code, 'MANIFEST_INVALID', 'Content-Type and mediaType disagree');
    res = await f.pushManifest('push/m', '-bad-tag', manifest());
    assert.equal(res.code, 'MANIFEST_INVALID');
    // Docker schema 1, signed or not, by Content-Type or by the body alone: refused, and the message says why.
    for (const type of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json', undefined]) {
      res = await f.pushManifest('push/m', 'bad', Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'push/m', tag: 'bad', fsLayers: [], history: [] })), type);
      assert.equal(res.status, 400);
      assert.equal(res.code, 'UNSUPPORTED');
      assert.match(res.json.errors[0].message, /schema 1 is not supported/);
    }
    assert.equal((await f.call('GET', '/v2/push/m/manifests/bad')).status, 404);
  });

  it('manifests over 4 MiB are refused with 413', async () => {
    const huge = { ...manifest(), annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } };
    const res = await f.pushManifest('push/m', 'huge', huge);
    assert.equal(res.status, 413);
    assert.equal(res.code, 'SIZE_INVALID');
  });

  it('an index needs its child manifests; Docker manifest lists and schema 2 manifests work too', async () => {
    const child = Buffer.from(JSON.stringify({ ...manifest(), mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { ...manifest().config, mediaType: 'application/vnd.docker.container.image.v1+json' } }));
    const missing = await f.pushManifest('push/m', 'multi', {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(child), size: child.length }],
    });
    assert.equal(missing.code, 'MANIFEST_BLOB_UNKNOWN');
    let res = await f.pushManifest('push/m', sha256(child), child, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(res.status, 201, res.body.toString());
    res = await f.pushManifest('push/m', 'multi', {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: sha256(child), size: child.length, platform: { architecture: 'amd64', os: 'linux' } }],
    });
    assert.equal(res.status, 201);
    const get = await f.call('GET', '/v2/push/m/manifests/multi');
    assert.equal(header(get.headers, 'content-type'), 'application/vnd.docker.distribution.manifest.list.v2+json');
  });

  it('a manifest with a subject answers OCI-Subject, even when the subject is not pushed yet', async () => {
    const subject = sha256('a subject that does not exist yet');
    const res = await f.pushManifest('push/m', 'sig', {
      ...manifest(),
      artifactType: 'application/vnd.example.signature',
      subject: { mediaType: OCI_MANIFEST, digest: subject, size: 123 },
    });
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'oci-subject'), subject);
  });

  it('a tag moved or deleted by another instance on the same storage is seen within the cache window', async () => {
    const second = await createOciFixture({ dataDir: f.dataDir });
    try {
      const first = Buffer.from(JSON.stringify({ ...manifest(), annotations: { n: '1' } }));
      const moved = Buffer.from(JSON.stringify({ ...manifest(), annotations: { n: '2' } }));
      await f.pushManifest('push/m', 'shared', first, OCI_MANIFEST);
      assert.equal(header((await second.call('GET', '/v2/push/m/manifests/shared')).headers, 'docker-content-digest'), sha256(first));
      await f.pushManifest('push/m', 'shared', moved, OCI_MANIFEST);
      assert.equal(header((await f.call('GET', '/v2/push/m/manifests/shared')).headers, 'docker-content-digest'), sha256(moved), 'own writes at once');
      await settle();
      assert.equal(header((await second.call('GET', '/v2/push/m/manifests/shared')).headers, 'docker-content-digest'), sha256(moved));
      assert.equal((await f.call('DELETE', '/v2/push/m/manifests/shared')).status, 202);
      await settle();
      assert.equal((await second.call('GET', '/v2/push/m/manifests/shared')).status, 404);
    } finally {
      await second.cleanup();
    }
  });

  it('a Content-Length that does not match the manifest is SIZE_INVALID', async () => {
    const bytes = Buffer.from(JSON.stringify(manifest()));
    const res = await f.call('PUT', '/v2/push/m/manifests/len', { body: bytes, headers: { 'content-type': OCI_MANIFEST, 'content-length': String(bytes.length + 5) } });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'SIZE_INVALID');
  });

  it('a bridge that parsed the JSON body (Express) still works with rawBody', async () => {
    const bytes = Buffer.from(JSON.stringify(manifest(), null, 1));
    const res = await f.registry.handleRequest({
      method: 'PUT',
      path: '/v2/push/m/manifests/raw',
      headers: { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}`, 'content-type': OCI_MANIFEST, host: 'registry.example.com' },
      query: {},
      body: JSON.parse(bytes.toString()),
      rawBody: bytes,
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers['Docker-Content-Digest'], sha256(bytes));
  });
});
