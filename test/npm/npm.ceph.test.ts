/**
 * npm on Ceph RGW with several SmartRegistry instances on one bucket: the race that lost publishes when Ceph's
 * 409 ConcurrentModification was not read as a lost conditional write (issue 7).
 */
import { settle } from '../helpers/validationwindow.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createNpmRegistry, publishBody, type INpmTestRegistry, type IReadResponse } from './fixtures.js';

const CORGI = 'application/vnd.npm.install-v1+json';
const INSTANCES = 3;
const PUBLISHES = 60;

describe('npm: several instances on one Ceph RGW bucket', { skip: skipWithoutCeph('the npm concurrency tests') }, () => {
  let ceph: ICephS3;
  let instances: INpmTestRegistry[] = [];

  before(async () => {
    ceph = await startCephS3();
    // No allowUnconditionalWrites: Ceph enforces conditions, and the start-up probe must see that.
    const storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
    instances = [];
    for (let index = 0; index < INSTANCES; index++) instances.push(await createNpmRegistry({ storage }));
  });
  after(async () => {
    for (const instance of instances) await instance.close();
    await ceph?.stop();
  });

  it(`${INSTANCES} instances × ${PUBLISHES} concurrent publishes of one package: all listed and downloadable everywhere, no 5xx`, async () => {
    const versions = Array.from({ length: PUBLISHES }, (_, index) => `1.0.${index}`);
    const bodies = await Promise.all(versions.map((version) => publishBody('crowd', version)));
    const published = await Promise.all(
      bodies.map(({ body }, index) => instances[index % INSTANCES]!.request('PUT', '/npm/crowd', { body })),
    );
    const answers: IReadResponse[] = [...published];
    const serverErrors = () => answers.filter((res) => res.status >= 500).map((res) => `${res.status} ${res.text}`);
    assert.deepEqual(serverErrors(), [], 'no publish answered 5xx');
    const refused = published.filter((res) => res.status !== 201).map((res) => `${res.status} ${res.text}`);
    assert.deepEqual(refused, [], 'every publish answered 201');

    await settle();
    for (const instance of instances) {
      const doc = await instance.request('GET', '/npm/crowd');
      const corgi = await instance.request('GET', '/npm/crowd', { headers: { accept: CORGI } });
      answers.push(doc, corgi);
      assert.deepEqual(Object.keys(doc.json.versions).sort(), [...versions].sort(), 'the packument lists every version');
      assert.deepEqual(Object.keys(corgi.json.versions).sort(), [...versions].sort(), 'the abbreviated document lists every version');
      const tarballs = await Promise.all(versions.map((version) => instance.request('GET', `/npm/crowd/-/crowd-${version}.tgz`)));
      answers.push(...tarballs);
      tarballs.forEach((tarball, index) => {
        assert.equal(tarball.status, 200, `crowd@${versions[index]} downloadable`);
        assert.deepEqual(tarball.bytes, bodies[index]!.tarball, `crowd@${versions[index]} has its bytes`);
      });
    }
    assert.deepEqual(serverErrors(), [], 'no answer was a 5xx');
  });

  it('lets exactly one of two instances publishing the same version win; the tarball matches the packument', async () => {
    const a = await publishBody('same', '1.0.0', { manifest: { description: 'a' } });
    const b = await publishBody('same', '1.0.0', { manifest: { description: 'b' } });
    const results = await Promise.all([a, b].map(({ body }, index) => instances[index]!.request('PUT', '/npm/same', { body })));
    const statuses = results.map((res) => res.status).sort();
    assert.equal(statuses[0], 201);
    assert.ok([403, 409].includes(statuses[1]!), `second publish: ${statuses[1]}`);
    const doc = (await instances[2]!.request('GET', '/npm/same')).json;
    const winner = doc.versions['1.0.0'].description === 'a' ? a : b;
    assert.deepEqual((await instances[2]!.request('GET', '/npm/same/-/same-1.0.0.tgz')).bytes, winner.tarball);
  });

  it('dist-tags moved by every instance at once all land', async () => {
    const owner = instances[0]!;
    assert.equal((await owner.publish('tagged', '1.0.0')).status, 201);
    const tags = Array.from({ length: 15 }, (_, index) => `tag${index}`);
    const results = await Promise.all(
      tags.map((tag, index) =>
        instances[index % INSTANCES]!.request('PUT', `/npm/-/package/tagged/dist-tags/${tag}`, { body: JSON.stringify('1.0.0'), headers: { 'content-type': 'application/json' } }),
      ),
    );
    assert.deepEqual(results.map((res) => res.status), tags.map(() => 201));
    await settle();
    const listed = (await instances[1]!.request('GET', '/npm/-/package/tagged/dist-tags')).json;
    for (const tag of tags) assert.equal(listed[tag], '1.0.0', tag);
  });
});
