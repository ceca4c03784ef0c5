/**
 * The npm flows that depend on storage semantics (listing, deletes), once more on the S3 backend, against a
 * local S3 server started by the test. Races between instances need conditional writes, which s3rver ignores:
 * they run on Ceph RGW (npm.ceph.test.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { createNpmRegistry, publishBody, type INpmTestRegistry } from './fixtures.js';

const CORGI = 'application/vnd.npm.install-v1+json';

describe('npm on the S3 backend', () => {
  let s3: IS3TestServer;
  let first: INpmTestRegistry;
  let second: INpmTestRegistry;

  before(async () => {
    s3 = await startS3Server();
    const storage = { type: 's3' as const, ...s3.descriptor, bucketName: 'npm-test' };
    first = await createNpmRegistry({ storage });
    second = await createNpmRegistry({ storage });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await s3?.stop();
  });

  it('publishes, serves both documents and the tarball', async () => {
    assert.equal((await first.publish('s3-pkg', '1.0.0')).status, 201);
    const doc = await second.request('GET', '/npm/s3-pkg');
    assert.equal(doc.status, 200);
    assert.equal(doc.json.versions['1.0.0'].dist.tarball, 'http://registry.example.com/npm/s3-pkg/-/s3-pkg-1.0.0.tgz');
    assert.equal((await second.request('GET', '/npm/s3-pkg', { headers: { accept: CORGI } })).json['dist-tags'].latest, '1.0.0');
    const tarball = await second.request('GET', '/npm/s3-pkg/-/s3-pkg-1.0.0.tgz');
    assert.equal(tarball.status, 200);
    assert.equal(tarball.bytes.length, Number(tarball.headers['content-length']));
    const again = await first.request('GET', '/npm/s3-pkg', { headers: { 'if-none-match': doc.headers.etag } });
    assert.equal(again.status, 304);
  });

  it('refuses republishing and bad input without storing anything', async () => {
    const before = await first.keys();
    assert.equal((await first.publish('s3-pkg', '1.0.0')).status, 403);
    const { body } = await publishBody('s3-bad', '1.0.0');
    body.versions['1.0.0'].dist.shasum = '0'.repeat(40);
    assert.equal((await first.request('PUT', '/npm/s3-bad', { body })).status, 400);
    assert.deepEqual(await first.keys(), before);
  });

  it('unpublishes a version and then the package, and searches', async () => {
    await first.publish('s3-pkg', '1.1.0');
    assert.equal((await second.request('GET', '/npm/-/v1/search?text=s3-pkg')).json.objects[0]?.package.name, 's3-pkg');
    const doc = (await first.request('GET', '/npm/s3-pkg?write=true')).json;
    delete doc.versions['1.1.0'];
    assert.equal((await first.request('PUT', `/npm/s3-pkg/-rev/${doc._rev}`, { body: doc })).status, 200);
    assert.equal((await second.request('GET', '/npm/s3-pkg')).json['dist-tags'].latest, '1.0.0');
    assert.equal((await second.request('GET', '/npm/s3-pkg/-/s3-pkg-1.1.0.tgz')).status, 404);
    const { _rev } = (await second.request('GET', '/npm/s3-pkg?write=true')).json;
    assert.equal((await second.request('DELETE', `/npm/s3-pkg/-rev/${_rev}`)).status, 200);
    assert.equal((await first.request('GET', '/npm/s3-pkg')).status, 404);
    // The delete's own removals follow its answer on the second instance; first.keys() waits only for the first's.
    await second.registry.getStorage().settled();
    assert.deepEqual((await first.keys()).filter((key) => key.startsWith('npm/packages/s3-pkg/')), []);
  });
});
