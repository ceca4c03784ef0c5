/**
 * Every blob operation at once on a few 2-byte digests, through three instances on one storage (a folder, then
 * one Ceph RGW bucket): pushes (POST+PUT, single POST, chunks spread over the instances), deletes, re-pushes,
 * mounts, pulls, cancels racing closing PUTs and PATCHes, and collections at grace period 0 that also remove
 * upload sessions at age 0, so a collection can take anything the moment nothing names it. With a grace of 0 a
 * collection may take a blob a push has just linked, so pulls may answer 404; what is checked is that every answer
 * is a 2xx, a 4xx in the OCI error shape, or a 503 with Retry-After (never another 5xx), that a 200 carries the
 * right bytes, and that no collection fails. A pull of a blob pushed in chunks whose later part a collection takes
 * after the 200 was sent is cut; it is counted, not failed (nothing but opening every part up front could avoid
 * it). SMARTREGISTRY_STRESS_OPERATIONS sets the operations per worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { IStorageConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createOciFixture, header, sha256, type ICallResult, type IOciFixture } from './oci.fixtures.js';

const INSTANCES = 3;
const WORKERS_PER_INSTANCE = 3;
const OPERATIONS = Number(process.env.SMARTREGISTRY_STRESS_OPERATIONS ?? 60);
const BLOBS = ['ab', 'cd', 'ef'].map((text) => Buffer.from(text));
const REPOSITORIES = ['race/a', 'race/b', 'race/c'];
const GC = { garbageCollection: { gracePeriod: 0, uploadMaxAge: 0 } };

interface ITally {
  /** Answers by operation and status, e.g. `push-put 201`. */
  answers: Map<string, number>;
  collections: number;
  failures: string[];
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

function check(tally: ITally, what: string, res: ICallResult, bytes?: Buffer): void {
  const key = `${what} ${res.status}`;
  tally.answers.set(key, (tally.answers.get(key) ?? 0) + 1);
  const text = res.body.toString().slice(0, 300);
  if (res.status >= 200 && res.status < 300) {
    if (bytes && res.status === 200 && !res.body.equals(bytes)) tally.failures.push(`${what}: wrong bytes ${res.body.toString('hex')}`);
    return;
  }
  // A HEAD's answer has no body.
  if (what === 'head' && res.status === 404) return;
  if (res.status >= 400 && res.status < 500 && typeof res.code === 'string' && typeof res.json?.errors?.[0]?.message === 'string') return;
  if (res.status === 503 && header(res.headers, 'retry-after') && typeof res.code === 'string') return;
  tally.failures.push(`${what}: ${res.status} ${text}`);
}

/** One worker's loop on `self`, with `others` for the steps a client's next request sends elsewhere. */
async function worker(self: IOciFixture, others: IOciFixture[], tally: ITally): Promise<void> {
  const any = () => pick([self, ...others]);
  for (let step = 0; step < OPERATIONS; step++) {
    const bytes = pick(BLOBS);
    const digest = sha256(bytes);
    const name = pick(REPOSITORIES);
    const operation = pick(['push-put', 'push-whole', 'push-chunks', 'delete', 'pull', 'head', 'mount', 'cancel-vs-put', 'cancel-vs-patch', 'collect']);
    switch (operation) {
      case 'push-put':
      case 'cancel-vs-put':
      case 'cancel-vs-patch':
      case 'push-chunks': {
        const started = await self.call('POST', `/v2/${name}/blobs/uploads/`);
        check(tally, 'post', started);
        const location = header(started.headers, 'location');
        if (started.status !== 202 || !location) break;
        if (operation === 'push-put') {
          check(tally, operation, await any().call('PUT', `${location}?digest=${digest}`, { body: bytes }));
        } else if (operation === 'push-chunks') {
          check(tally, 'patch', await self.call('PATCH', location, { body: bytes.subarray(0, 1), headers: { 'content-range': '0-0' } }));
          check(tally, 'patch', await any().call('PATCH', location, { body: bytes.subarray(1), headers: { 'content-range': '1-1' } }));
          check(tally, operation, await any().call('PUT', `${location}?digest=${digest}`));
        } else if (operation === 'cancel-vs-put') {
          check(tally, 'patch', await self.call('PATCH', location, { body: bytes }));
          const [closed, cancelled] = await Promise.all([any().call('PUT', `${location}?digest=${digest}`), any().call('DELETE', location)]);
          check(tally, 'put-vs-cancel', closed);
          check(tally, operation, cancelled);
        } else {
          check(tally, 'patch', await self.call('PATCH', location, { body: bytes.subarray(0, 1), headers: { 'content-range': '0-0' } }));
          const [patched, cancelled] = await Promise.all([
            any().call('PATCH', location, { body: bytes.subarray(1), headers: { 'content-range': '1-1' } }),
            any().call('DELETE', location),
          ]);
          check(tally, 'patch-vs-cancel', patched);
          check(tally, operation, cancelled);
          if (patched.status === 202) check(tally, 'put-after-race', await any().call('PUT', `${location}?digest=${digest}`));
        }
        break;
      }
      case 'push-whole':
        check(tally, operation, await self.call('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: bytes }));
        break;
      case 'delete':
        check(tally, operation, await self.call('DELETE', `/v2/${name}/blobs/${digest}`));
        break;
      case 'pull':
        try {
          check(tally, operation, await self.call('GET', `/v2/${name}/blobs/${digest}`), bytes);
        } catch (error) {
          // A chunked blob's later part taken by a collection after the 200 was sent: the body is cut (see OciBlobStore.open).
          if (!/blob data .* is missing from storage/.test(String(error))) throw error;
          tally.answers.set('pull cut-after-200', (tally.answers.get('pull cut-after-200') ?? 0) + 1);
        }
        break;
      case 'head':
        check(tally, operation, await self.call('HEAD', `/v2/${name}/blobs/${digest}`));
        break;
      case 'mount':
        check(tally, operation, await self.call('POST', `/v2/${name}/blobs/uploads/?mount=${digest}&from=${pick(REPOSITORIES)}`));
        break;
      case 'collect':
        try {
          await self.oci.collectGarbage();
          tally.collections++;
        } catch (error) {
          tally.failures.push(`collection: ${error instanceof Error ? error.stack : String(error)}`);
        }
        break;
    }
  }
}

async function stress(t: TestContext, instances: IOciFixture[]): Promise<void> {
  const tally: ITally = { answers: new Map(), collections: 0, failures: [] };
  const startedAt = Date.now();
  await Promise.all(
    instances.flatMap((self) => Array.from({ length: WORKERS_PER_INSTANCE }, () => worker(self, instances.filter((other) => other !== self), tally))),
  );
  const byStatus = new Map<string, number>();
  for (const [key, count] of tally.answers) {
    const status = key.split(' ')[1]!;
    byStatus.set(status, (byStatus.get(status) ?? 0) + count);
  }
  const total = [...byStatus.values()].reduce((sum, count) => sum + count, 0);
  t.diagnostic(`${total} answers in ${Date.now() - startedAt} ms, ${tally.collections} collections; by status: ${[...byStatus].sort().map(([status, count]) => `${status}: ${count}`).join(', ')}`);
  t.diagnostic(`by operation: ${[...tally.answers].sort().map(([key, count]) => `${key}: ${count}`).join(', ')}`);
  assert.deepEqual(tally.failures, []);
}

async function startInstances(storage?: IStorageConfig): Promise<IOciFixture[]> {
  const first = await createOciFixture({ storage, oci: GC });
  const rest = [];
  for (let index = 1; index < INSTANCES; index++) rest.push(await createOciFixture({ storage, dataDir: first.dataDir, oci: GC }));
  return [first, ...rest];
}

describe(`oci: every blob operation racing on ${BLOBS.length} digests, ${INSTANCES} instances, collections at grace 0`, () => {
  it(`filesystem: ${INSTANCES * WORKERS_PER_INSTANCE} workers x ${OPERATIONS} operations, never a 500`, async (t) => {
    const instances = await startInstances();
    try {
      await stress(t, instances);
    } finally {
      for (const instance of instances.reverse()) await instance.cleanup();
    }
  });

  describe('Ceph RGW', { skip: skipWithoutCeph('the OCI blob race stress test') }, () => {
    let ceph: ICephS3;
    let instances: IOciFixture[] = [];
    before(async () => {
      ceph = await startCephS3();
      instances = await startInstances({ type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName });
    });
    after(async () => {
      for (const instance of instances) await instance.cleanup();
      await ceph?.stop();
    });

    it(`${INSTANCES * WORKERS_PER_INSTANCE} workers x ${OPERATIONS} operations, never a 500`, async (t) => {
      await stress(t, instances);
    });
  });
});
