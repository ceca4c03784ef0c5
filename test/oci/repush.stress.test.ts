/**
 * One small digest deleted and pushed again, over and over, by two instances on one storage (filesystem
 * and Ceph RGW), with cancels racing closing PUTs: a push that followed a delete once answered 500 (a
 * cancel that won against a running completion left the blob record pointing at deleted parts; later
 * pushes of the digest discarded their own bytes). Every answer here must be the spec's, also while both
 * instances collect garbage as the digest is pushed again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createOciFixture, header, sha256, type ICallResult, type IOciFixture } from './oci.fixtures.js';

const ROUNDS = 30;
/** Rounds of the race with collections: each waits out the grace period once. */
const GC_ROUNDS = 6;
const GRACE_MS = 3000;
const BYTES = Buffer.from('ab');
const DIGEST = sha256(BYTES);

/** POST a session, then PUT ?digest= with the whole body (what the conformance suites do). */
async function pushByPut(instance: IOciFixture, name: string): Promise<ICallResult[]> {
  const started = await instance.call('POST', `/v2/${name}/blobs/uploads/`);
  if (started.status !== 202) return [started];
  const location = header(started.headers, 'location')!;
  return [started, await instance.call('PUT', `${location}?digest=${DIGEST}`, { body: BYTES, headers: { 'content-type': 'application/octet-stream' } })];
}

async function stress(instances: [IOciFixture, IOciFixture]): Promise<void> {
  const unexpected: string[] = [];
  const expect = (answers: ICallResult[], allowed: number[], what: string) => {
    for (const res of answers) if (!allowed.includes(res.status)) unexpected.push(`${what}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  };
  for (let round = 0; round < ROUNDS; round++) {
    const [a, b] = round % 2 === 0 ? instances : [instances[1], instances[0]];
    // In sequence: push on one instance, delete on the other, push again.
    expect(await pushByPut(a, 'stress/one'), [201, 202], 'push');
    expect([await b.call('DELETE', `/v2/stress/one/blobs/${DIGEST}`)], [202], 'delete');
    expect(await pushByPut(b, 'stress/one'), [201, 202], 'push after delete');
    // At once: both instances push the digest while one deletes it from a third repository.
    const together = await Promise.all([
      pushByPut(a, 'stress/two'),
      pushByPut(b, 'stress/two'),
      a.call('POST', `/v2/stress/three/blobs/uploads/?digest=${DIGEST}`, { body: BYTES }).then((res) => [res]),
      b.call('DELETE', `/v2/stress/three/blobs/${DIGEST}`).then((res) => [res]),
    ]);
    expect(together[0].concat(together[1], together[2]), [201, 202], 'concurrent push');
    expect(together[3], [202, 404], 'concurrent delete');
    // A cancel racing the closing PUT on the other instance: either may win, but the digest stays whole.
    const racing = await a.call('POST', '/v2/stress/race/blobs/uploads/');
    const location = header(racing.headers, 'location')!;
    expect([await a.call('PATCH', location, { body: BYTES })], [202], 'patch before the race');
    const [closed, cancelled] = await Promise.all([a.call('PUT', `${location}?digest=${DIGEST}`), b.call('DELETE', location)]);
    expect([closed], [201, 404], 'closing PUT racing a cancel');
    expect([cancelled], [204, 404, 409], 'cancel racing the closing PUT');
    if (closed.status === 201) expect([await b.call('GET', `/v2/stress/race/blobs/${DIGEST}`)], [200], 'pull after the race');
    for (const instance of instances) {
      for (const name of ['stress/one', 'stress/two']) {
        const pulled = await instance.call('GET', `/v2/${name}/blobs/${DIGEST}`);
        expect([pulled], [200], `pull ${name}`);
        if (pulled.status === 200 && !pulled.body.equals(BYTES)) unexpected.push(`pull ${name}: wrong bytes ${pulled.body.toString('hex')}`);
      }
    }
  }
  assert.deepEqual(unexpected, []);
}

/**
 * The digest unlinked everywhere and older than the grace period, then pushed again into two repositories
 * through both instances while both collect garbage: the collections may take the record (and then the
 * pushes store the bytes anew) or the pushes hold it first; either way every push answers 201 and every
 * pull the right bytes.
 */
async function stressWithCollections(instances: [IOciFixture, IOciFixture]): Promise<number> {
  const unexpected: string[] = [];
  const expect = (answers: ICallResult[], allowed: number[], what: string) => {
    for (const res of answers) if (!allowed.includes(res.status)) unexpected.push(`${what}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  };
  const [a, b] = instances;
  const pushWhole = (instance: IOciFixture, name: string) => instance.call('POST', `/v2/${name}/blobs/uploads/?digest=${DIGEST}`, { body: BYTES }).then((res) => [res]);
  let roundsCollected = 0;
  for (let round = 0; round < GC_ROUNDS; round++) {
    expect(await pushByPut(a, 'gc/one'), [201, 202], 'push');
    expect(await pushWhole(b, 'gc/two'), [201], 'push');
    for (const name of ['gc/one', 'gc/two']) expect([await a.call('DELETE', `/v2/${name}/blobs/${DIGEST}`)], [202], 'delete');
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 200)); // the record is collectable now
    const [collectedByA, collectedByB, ...pushes] = await Promise.all([
      a.oci.collectGarbage(),
      b.oci.collectGarbage(),
      pushByPut(a, 'gc/one'),
      pushWhole(b, 'gc/two'),
      pushByPut(b, 'gc/one'),
      pushWhole(a, 'gc/two'),
    ]);
    if (collectedByA.blobs.length + collectedByB.blobs.length > 0) roundsCollected++;
    for (const answers of pushes as ICallResult[][]) expect(answers, [201, 202], 'push racing the collections');
    for (const instance of instances) {
      for (const name of ['gc/one', 'gc/two']) {
        const pulled = await instance.call('GET', `/v2/${name}/blobs/${DIGEST}`);
        expect([pulled], [200], `pull ${name}`);
        if (pulled.status === 200 && !pulled.body.equals(BYTES)) unexpected.push(`pull ${name}: wrong bytes ${pulled.body.toString('hex')}`);
      }
    }
  }
  assert.deepEqual(unexpected, []);
  return roundsCollected;
}

/** Not asserted (a push may hold the record first in every round), only reported: how often a collection won. */
const collectionsWon = (rounds: number) => `a collection took the record before the pushes in ${rounds} of ${GC_ROUNDS} rounds`;

describe('oci: delete and re-push of one digest across two instances', () => {
  it(`filesystem: ${ROUNDS} rounds, every answer 201/202/200 with the right bytes`, async () => {
    const first = await createOciFixture();
    const second = await createOciFixture({ dataDir: first.dataDir });
    try {
      await stress([first, second]);
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });

  it(`filesystem: ${GC_ROUNDS} rounds of pushes racing collections of the unlinked digest, every push 201, every pull the bytes`, async (t) => {
    const oci = { garbageCollection: { gracePeriod: GRACE_MS } };
    const first = await createOciFixture({ oci });
    const second = await createOciFixture({ dataDir: first.dataDir, oci });
    try {
      t.diagnostic(collectionsWon(await stressWithCollections([first, second])));
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });

  describe('Ceph RGW', { skip: skipWithoutCeph('the OCI re-push stress test') }, () => {
    let ceph: ICephS3;
    let instances: IOciFixture[] = [];
    let collecting: IOciFixture[] = [];
    before(async () => {
      ceph = await startCephS3();
      const storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
      instances = [await createOciFixture({ storage }), await createOciFixture({ storage })];
      const oci = { garbageCollection: { gracePeriod: GRACE_MS } };
      const gcStorage = { ...storage, bucketName: `${ceph.bucketName}-gc` };
      collecting = [await createOciFixture({ storage: gcStorage, oci }), await createOciFixture({ storage: gcStorage, oci })];
    });
    after(async () => {
      for (const instance of [...instances, ...collecting]) await instance.cleanup();
      await ceph?.stop();
    });

    it(`${ROUNDS} rounds, every answer 201/202/200 with the right bytes`, async () => {
      await stress([instances[0]!, instances[1]!]);
    });

    it(`${GC_ROUNDS} rounds of pushes racing collections of the unlinked digest, every push 201, every pull the bytes`, async (t) => {
      t.diagnostic(collectionsWon(await stressWithCollections([collecting[0]!, collecting[1]!])));
    });
  });
});
