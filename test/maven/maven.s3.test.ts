/**
 * The Maven flows that depend on storage semantics (create-once releases, listing, deletes), on the S3
 * backend against a local S3 server, with two instances sharing the bucket (one after the other: s3rver
 * ignores conditional writes, so races run on Ceph RGW in maven.instances.test.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { createMavenRegistry, hex, pomOf, type IMavenTestRegistry } from './maven.fixtures.js';

describe('maven on the S3 backend', () => {
  let s3: IS3TestServer;
  let first: IMavenTestRegistry;
  let second: IMavenTestRegistry;
  const LIB = '/maven/org/s3/lib';

  before(async () => {
    s3 = await startS3Server();
    const storage = { type: 's3' as const, ...s3.descriptor, bucketName: 'maven-test' };
    // Each instance reads the other's writes at once: no validation window (the default 1 s would
    // let the first serve the SNAPSHOT it last checked for up to a second after the second deployed).
    const cache = { validationWindowMs: 0 };
    first = await createMavenRegistry({ storage, cache, maven: { snapshotsToKeep: 1 } });
    second = await createMavenRegistry({ storage, cache, maven: { snapshotsToKeep: 1 } });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await s3?.stop();
  });

  it('deploys on one instance and serves file, checksums and metadata on the other', async () => {
    assert.equal((await first.deploy(`${LIB}/1.0/lib-1.0.pom`, pomOf('org.s3', 'lib', '1.0'))).status, 201);
    assert.equal((await first.deploy(`${LIB}/1.0/lib-1.0.jar`, 'jar bytes')).status, 201);
    assert.equal((await second.request('GET', `${LIB}/1.0/lib-1.0.jar`)).text, 'jar bytes');
    assert.equal((await second.request('GET', `${LIB}/1.0/lib-1.0.jar.sha512`)).text.trim(), hex('sha512', 'jar bytes'));
    assert.match((await second.request('GET', `${LIB}/maven-metadata.xml`)).text, /<release>1\.0<\/release>/);
    assert.match((await second.request('GET', '/maven/org/s3/')).text, /lib\//);
    const found = await second.request('GET', '/maven/api/search?q=s3');
    assert.deepEqual(found.json.results.map((x: any) => `${x.groupId}:${x.artifactId}:${x.release}`), ['org.s3:lib:1.0']);
  });

  it('refuses a release redeploy from either instance and keeps storage as it was', async () => {
    const keys = await first.keys();
    assert.equal((await second.request('PUT', `${LIB}/1.0/lib-1.0.jar`, { body: 'other' })).status, 409);
    assert.deepEqual(await first.keys(), keys);
  });

  it('keeps one SNAPSHOT build and deletes the artifact', async () => {
    const SNAP = `${LIB}/2.0-SNAPSHOT`;
    assert.equal((await first.deploy(`${SNAP}/lib-2.0-20261126.101010-1.jar`, 'one')).status, 201);
    assert.equal((await second.deploy(`${SNAP}/lib-2.0-20261126.101011-2.jar`, 'two')).status, 201);
    assert.equal((await first.request('GET', `${SNAP}/lib-2.0-SNAPSHOT.jar`)).text, 'two');
    assert.equal((await first.request('GET', `${SNAP}/lib-2.0-20261126.101010-1.jar`)).status, 404);
    assert.equal((await second.request('DELETE', `${LIB}/`)).status, 204);
    assert.deepEqual((await first.keys()).filter((key) => key.startsWith('maven/')), []);
  });
});
