/**
 * Every blob operation at once on a few 2-byte digests, through three instances on one storage (a folder, then
 * one Ceph RGW bucket): pushes (POST+PUT, single POST, chunks spread over the instances), deletes, re-pushes,
 * mounts, pulls, cancels racing closing PUTs and PATCHes, manifests naming the digests pushed, pulled and
 * deleted, and collections that also remove upload sessions at age 0. Checked for every answer: a 2xx, a 4xx in the OCI error shape, or a 503 with Retry-After (never another
 * 5xx); a 200 carries the right bytes; no collection fails.
 *
 * At grace period 0 a collection can take anything the moment nothing names it, also a blob a push has just
 * linked, so pulls may answer 404. With a grace period longer than a push, workers that own a repository check
 * more: what they pushed pulls from every instance until they delete it. A pull of a blob pushed in chunks whose
 * later part a collection takes after the 200 was sent is cut; it is counted, not failed (only opening every part
 * up front could avoid it). SMARTREGISTRY_STRESS_OPERATIONS sets the operations per worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { IStorageConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createOciFixture, header, sha256, type ICallResult, type IOciFixture } from './oci.fixtures.js';

const INSTANCES = 3;
const WORKERS_PER_INSTANCE = 3;
const OPERATIONS = Number(process.env.SMARTREGISTRY_STRESS_OPERATIONS ?? 40);
const BLOBS = ['ab', 'cd', 'ef'].map((text) => Buffer.from(text));
const REPOSITORIES = ['race/a', 'race/b', 'race/c'];
const TAGS = ['one', 'two'];
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** An image manifest with `config` and one `layer` among the digests raced on. */
function imageManifest(config: Buffer, layer: Buffer): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { bytes, digest: sha256(bytes) };
}
const AT_ZERO = { garbageCollection: { gracePeriod: 0, uploadMaxAge: 0 } };
/** Longer than a push on a loaded machine. */
const SHORT_GRACE = { garbageCollection: { gracePeriod: 5000, uploadMaxAge: 0 } };

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

type TPush = 'push-put' | 'push-whole' | 'push-chunks';
const PUSHES: TPush[] = ['push-put', 'push-whole', 'push-chunks'];

/** A push as clients send it; the chunks and the closing PUT go to any instance. The closing answer, or null when the upload could not start. */
async function push(kind: TPush, self: IOciFixture, any: () => IOciFixture, name: string, bytes: Buffer, tally: ITally): Promise<ICallResult | null> {
  const digest = sha256(bytes);
  if (kind === 'push-whole') return self.call('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: bytes });
  const started = await self.call('POST', `/v2/${name}/blobs/uploads/`);
  check(tally, 'post', started);
  const location = header(started.headers, 'location');
  if (started.status !== 202 || !location) return null;
  if (kind === 'push-put') return any().call('PUT', `${location}?digest=${digest}`, { body: bytes });
  check(tally, 'patch', await self.call('PATCH', location, { body: bytes.subarray(0, 1), headers: { 'content-range': '0-0' } }));
  check(tally, 'patch', await any().call('PATCH', location, { body: bytes.subarray(1), headers: { 'content-range': '1-1' } }));
  return any().call('PUT', `${location}?digest=${digest}`);
}

/** A GET of a blob; a body cut after the 200 is counted, not thrown (see the top of the file). */
async function pull(instance: IOciFixture, name: string, digest: string, tally: ITally): Promise<ICallResult | null> {
  try {
    return await instance.call('GET', `/v2/${name}/blobs/${digest}`);
  } catch (error) {
    if (!/blob data .* is missing from storage/.test(String(error))) throw error;
    tally.answers.set('pull cut-after-200', (tally.answers.get('pull cut-after-200') ?? 0) + 1);
    return null;
  }
}

/** One worker's loop on `self` over the shared repositories, with `others` for the steps a client's next request sends elsewhere. */
async function worker(self: IOciFixture, others: IOciFixture[], tally: ITally): Promise<void> {
  const any = () => pick([self, ...others]);
  for (let step = 0; step < OPERATIONS; step++) {
    const bytes = pick(BLOBS);
    const digest = sha256(bytes);
    const name = pick(REPOSITORIES);
    const operation = pick([...PUSHES, 'delete', 'pull', 'head', 'mount', 'cancel-vs-put', 'cancel-vs-patch', 'collect', 'manifest-put', 'manifest-get', 'manifest-delete'] as const);
    switch (operation) {
      case 'push-put':
      case 'push-whole':
      case 'push-chunks': {
        const closed = await push(operation, self, any, name, bytes, tally);
        if (closed) check(tally, operation, closed);
        break;
      }
      case 'cancel-vs-put':
      case 'cancel-vs-patch': {
        const started = await self.call('POST', `/v2/${name}/blobs/uploads/`);
        check(tally, 'post', started);
        const location = header(started.headers, 'location');
        if (started.status !== 202 || !location) break;
        if (operation === 'cancel-vs-put') {
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
      case 'delete':
        check(tally, operation, await self.call('DELETE', `/v2/${name}/blobs/${digest}`));
        break;
      case 'pull': {
        const pulled = await pull(self, name, digest, tally);
        if (pulled) check(tally, operation, pulled, bytes);
        break;
      }
      case 'head':
        check(tally, operation, await self.call('HEAD', `/v2/${name}/blobs/${digest}`));
        break;
      case 'mount':
        check(tally, operation, await self.call('POST', `/v2/${name}/blobs/uploads/?mount=${digest}&from=${pick(REPOSITORIES)}`));
        break;
      case 'manifest-put': {
        const { bytes: manifest } = imageManifest(bytes, pick(BLOBS));
        check(tally, operation, await self.pushManifest(name, pick(TAGS), manifest, OCI_MANIFEST));
        break;
      }
      case 'manifest-get': {
        const pulled = await self.call('GET', `/v2/${name}/manifests/${pick(TAGS)}`, { headers: { accept: OCI_MANIFEST } });
        check(tally, operation, pulled);
        if (pulled.status === 200 && sha256(pulled.body) !== header(pulled.headers, 'docker-content-digest')) tally.failures.push(`${operation}: body does not match its digest`);
        break;
      }
      case 'manifest-delete':
        check(tally, operation, await self.call('DELETE', `/v2/${name}/manifests/${imageManifest(bytes, pick(BLOBS)).digest}`));
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

/**
 * A worker with a repository of its own, which only it deletes from: with a grace period longer than a push, a
 * blob it pushed (201) must pull from every instance with its bytes until it deletes it, whatever the others do
 * to the same digests elsewhere; and once deleted it is 404.
 */
async function owner(self: IOciFixture, others: IOciFixture[], tally: ITally, name: string): Promise<void> {
  const any = () => pick([self, ...others]);
  for (let step = 0; step < OPERATIONS / 2; step++) {
    const bytes = pick(BLOBS);
    const digest = sha256(bytes);
    const kind = pick(PUSHES);
    const closed = await push(kind, self, any, name, bytes, tally);
    if (!closed) continue;
    check(tally, `own ${kind}`, closed);
    if (closed.status !== 201) continue;
    for (const instance of [self, ...others]) {
      const pulled = await instance.call('GET', `/v2/${name}/blobs/${digest}`);
      check(tally, 'own pull', pulled, bytes);
      if (pulled.status !== 200) tally.failures.push(`own pull of ${digest} after ${kind} answered 201: ${pulled.status} ${pulled.body.toString().slice(0, 200)}`);
    }
    if (Math.random() < 0.5) continue;
    const deleted = await any().call('DELETE', `/v2/${name}/blobs/${digest}`);
    check(tally, 'own delete', deleted);
    if (deleted.status !== 202) tally.failures.push(`own delete of ${digest}: ${deleted.status}`);
    const gone = await any().call('GET', `/v2/${name}/blobs/${digest}`);
    check(tally, 'own pull after delete', gone);
    if (gone.status !== 404) tally.failures.push(`own pull of ${digest} after its delete: ${gone.status}`);
  }
}

async function stress(t: TestContext, instances: IOciFixture[], withOwners: boolean): Promise<void> {
  const tally: ITally = { answers: new Map(), collections: 0, failures: [] };
  const startedAt = Date.now();
  const othersOf = (self: IOciFixture) => instances.filter((other) => other !== self);
  await Promise.all([
    ...instances.flatMap((self) => Array.from({ length: WORKERS_PER_INSTANCE }, () => worker(self, othersOf(self), tally))),
    ...(withOwners ? instances.map((self, index) => owner(self, othersOf(self), tally, `own/w${index}`)) : []),
  ]);
  const byStatus = new Map<string, number>();
  for (const [key, count] of tally.answers) {
    const status = key.split(' ').at(-1)!;
    byStatus.set(status, (byStatus.get(status) ?? 0) + count);
  }
  const total = [...byStatus.values()].reduce((sum, count) => sum + count, 0);
  t.diagnostic(`${total} answers in ${Date.now() - startedAt} ms, ${tally.collections} collections; by status: ${[...byStatus].sort().map(([status, count]) => `${status}: ${count}`).join(', ')}`);
  t.diagnostic(`by operation: ${[...tally.answers].sort().map(([key, count]) => `${key}: ${count}`).join(', ')}`);
  assert.deepEqual(tally.failures, []);
}

async function startInstances(oci: typeof AT_ZERO, storage?: IStorageConfig): Promise<IOciFixture[]> {
  const first = await createOciFixture({ storage, oci });
  const rest = [];
  for (let index = 1; index < INSTANCES; index++) rest.push(await createOciFixture({ storage, dataDir: first.dataDir, oci }));
  return [first, ...rest];
}

const CASES = [
  { title: 'collections at grace 0', oci: AT_ZERO, withOwners: false },
  { title: 'collections at grace 5 s, owners check every push pulls until deleted', oci: SHORT_GRACE, withOwners: true },
];

describe(`oci: every blob operation racing on ${BLOBS.length} digests through ${INSTANCES} instances`, () => {
  for (const { title, oci, withOwners } of CASES) {
    it(`filesystem, ${title}: ${INSTANCES * WORKERS_PER_INSTANCE} workers x ${OPERATIONS} operations, never a 500`, async (t) => {
      const instances = await startInstances(oci);
      try {
        await stress(t, instances, withOwners);
      } finally {
        for (const instance of instances.reverse()) await instance.cleanup();
      }
    });
  }

  describe('Ceph RGW', { skip: skipWithoutCeph('the OCI blob race stress test') }, () => {
    let ceph: ICephS3;
    const started: IOciFixture[] = [];
    before(async () => {
      ceph = await startCephS3();
    });
    after(async () => {
      for (const instance of started) await instance.cleanup();
      await ceph?.stop();
    });

    CASES.forEach(({ title, oci, withOwners }, index) => {
      it(`${title}: ${INSTANCES * WORKERS_PER_INSTANCE} workers x ${OPERATIONS} operations, never a 500`, async (t) => {
        const instances = await startInstances(oci, { type: 's3', ...ceph.descriptor, bucketName: `${ceph.bucketName}-${index}` });
        started.push(...instances);
        await stress(t, instances, withOwners);
      });
    });
  });
});
