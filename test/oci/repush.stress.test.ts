/**
 * One small digest deleted and pushed again, over and over, by two instances on one storage (filesystem
 * and Ceph RGW), with cancels racing closing PUTs: a push that followed a delete once answered 500 (a
 * cancel that won against a running completion left the blob record pointing at deleted parts; later
 * pushes of the digest discarded their own bytes). Every answer here must be the spec's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createOciFixture, header, sha256, type ICallResult, type IOciFixture } from './oci.fixtures.js';

const ROUNDS = 30;
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

  describe('Ceph RGW', { skip: skipWithoutCeph('the OCI re-push stress test') }, () => {
    let ceph: ICephS3;
    let instances: IOciFixture[] = [];
    before(async () => {
      ceph = await startCephS3();
      const storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
      instances = [await createOciFixture({ storage }), await createOciFixture({ storage })];
    });
    after(async () => {
      for (const instance of instances) await instance.cleanup();
      await ceph?.stop();
    });

    it(`${ROUNDS} rounds, every answer 201/202/200 with the right bytes`, async () => {
      await stress([instances[0]!, instances[1]!]);
    });
  });
});
