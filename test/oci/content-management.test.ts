/** Conformance area "content management" through handleRequest: deleting tags, manifests and blobs. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOciFixture, header, sha256, type IOciFixture } from './oci.fixtures.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('oci conformance: content management', () => {
  let f: IOciFixture;
  before(async () => {
    f = await createOciFixture();
  });
  after(() => f.cleanup());

  it('delete a tag: 202, the tag is gone, the manifest stays', async () => {
    const image = await f.pushImage('cm/tags', 'keep');
    await f.pushManifest('cm/tags', 'drop', image.bytes, OCI_MANIFEST);
    const res = await f.call('DELETE', '/v2/cm/tags/manifests/drop');
    assert.equal(res.status, 202);
    assert.equal((await f.call('GET', '/v2/cm/tags/manifests/drop')).code, 'MANIFEST_UNKNOWN');
    assert.equal((await f.call('GET', '/v2/cm/tags/manifests/keep')).status, 200);
    assert.equal((await f.call('GET', `/v2/cm/tags/manifests/${image.digest}`)).status, 200);
    assert.deepEqual((await f.call('GET', '/v2/cm/tags/tags/list')).json.tags, ['keep']);
    assert.equal((await f.call('DELETE', '/v2/cm/tags/manifests/drop')).code, 'MANIFEST_UNKNOWN');
  });

  it('delete a manifest by digest: 202, the digest and every tag pointing at it answer 404', async () => {
    const image = await f.pushImage('cm/manifests', 'a');
    await f.pushManifest('cm/manifests', 'b', image.bytes, OCI_MANIFEST);
    const other = await f.pushImage('cm/manifests', 'other', ['another layer']);
    const res = await f.call('DELETE', `/v2/cm/manifests/manifests/${image.digest}`);
    assert.equal(res.status, 202);
    for (const ref of ['a', 'b', image.digest]) {
      const get = await f.call('GET', `/v2/cm/manifests/manifests/${ref}`);
      assert.equal(get.status, 404, ref);
      assert.equal(get.code, 'MANIFEST_UNKNOWN');
    }
    assert.deepEqual((await f.call('GET', '/v2/cm/manifests/tags/list')).json.tags, ['other']);
    assert.equal((await f.call('GET', `/v2/cm/manifests/manifests/${other.digest}`)).status, 200);
    // The blobs stay until they are deleted themselves.
    assert.equal((await f.call('GET', `/v2/cm/manifests/blobs/${image.layers[0]}`)).status, 200);
    const again = await f.call('DELETE', `/v2/cm/manifests/manifests/${image.digest}`);
    assert.equal(again.status, 404);
    assert.equal(again.code, 'MANIFEST_UNKNOWN');
  });

  it('deleting a referrer removes it from its subject\'s referrers list', async () => {
    const image = await f.pushImage('cm/refs', 'v1');
    const empty = await f.pushBlob('cm/refs', '{}');
    const signature = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.signature.v1',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.bytes.length },
      }),
    );
    await f.pushManifest('cm/refs', sha256(signature), signature, OCI_MANIFEST);
    assert.equal((await f.call('GET', `/v2/cm/refs/referrers/${image.digest}`)).json.manifests.length, 1);
    assert.equal((await f.call('DELETE', `/v2/cm/refs/manifests/${sha256(signature)}`)).status, 202);
    assert.deepEqual((await f.call('GET', `/v2/cm/refs/referrers/${image.digest}`)).json.manifests, []);
  });

  it('delete a blob: 202, then 404 BLOB_UNKNOWN in that repository only', async () => {
    const digest = await f.pushBlob('cm/blobs', 'shared content');
    await f.pushBlob('cm/blobs-other', 'shared content');
    const res = await f.call('DELETE', `/v2/cm/blobs/blobs/${digest}`);
    assert.equal(res.status, 202);
    const gone = await f.call('GET', `/v2/cm/blobs/blobs/${digest}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.code, 'BLOB_UNKNOWN');
    assert.equal((await f.call('HEAD', `/v2/cm/blobs/blobs/${digest}`)).status, 404);
    assert.equal((await f.call('GET', `/v2/cm/blobs-other/blobs/${digest}`)).body.toString(), 'shared content');
    const again = await f.call('DELETE', `/v2/cm/blobs/blobs/${digest}`);
    assert.equal(again.status, 404);
    assert.equal(again.code, 'BLOB_UNKNOWN');
  });

  it('deleting in an unknown repository: NAME_UNKNOWN; a malformed digest: DIGEST_INVALID', async () => {
    let res = await f.call('DELETE', `/v2/cm/unknown/manifests/${sha256('x')}`);
    assert.equal(res.status, 404);
    assert.equal(res.code, 'NAME_UNKNOWN');
    res = await f.call('DELETE', '/v2/cm/blobs/blobs/sha256:short');
    assert.equal(res.status, 400);
    assert.equal(res.code, 'DIGEST_INVALID');
  });

  it('deleting needs the delete action: push alone is not enough', async () => {
    const image = await f.pushImage('cm/guarded', 'v1');
    const res = await f.call('DELETE', `/v2/cm/guarded/manifests/${image.digest}`, { as: 'pusher' });
    assert.equal(res.status, 403);
    assert.equal(res.code, 'DENIED');
    assert.equal((await f.call('DELETE', `/v2/cm/guarded/blobs/${image.layers[0]}`, { as: 'pusher' })).status, 403);
    assert.equal((await f.call('DELETE', '/v2/cm/guarded/manifests/v1', { as: 'reader' })).status, 403);
    // push implies pull
    assert.equal((await f.call('GET', '/v2/cm/guarded/manifests/v1', { as: 'pusher' })).status, 200);
    assert.equal(header(res.headers, 'docker-distribution-api-version'), 'registry/2.0');
    assert.equal((await f.call('GET', '/v2/cm/guarded/manifests/v1')).status, 200);
  });
});
