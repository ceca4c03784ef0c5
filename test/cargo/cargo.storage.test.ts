/**
 * Cargo flows that depend on storage: derived index files repaired on read, an interrupted publish
 * that leaves nothing listed, several instances on one storage (filesystem and S3) losing nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CORE_CONTEXT } from '../../ts/core/classes.registrystorage.js';
import { cargoPaths } from '../../ts/core/storage.paths.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { cargoKeys, createCargoRegistry, type ICargoTestRegistry } from './fixtures.js';

const versionsIn = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line).vers as string);

describe('cargo: derived index files', () => {
  let r: ICargoTestRegistry;
  before(async () => {
    r = await createCargoRegistry();
  });
  after(() => r.close());

  it('repairs a missing or stale index file on read', async () => {
    assert.equal((await r.publish('repairme', '1.0.0')).status, 200);
    assert.equal((await r.publish('repairme', '1.1.0')).status, 200);
    const storage = r.registry.getStorage();
    await storage.deleteObject(cargoPaths.index('repairme'), CORE_CONTEXT);
    const repaired = await r.request('GET', '/cargo/re/pa/repairme');
    assert.equal(repaired.status, 200);
    assert.deepEqual(versionsIn(repaired.text), ['1.0.0', '1.1.0']);

    // A stale copy (from the first revision) is replaced by one from the current truth.
    await storage.putJson(cargoPaths.index('repairme'), { revision: '1-old', name: 'repairme', index: '' }, CORE_CONTEXT);
    const fresh = await r.request('GET', '/cargo/re/pa/repairme');
    assert.deepEqual(versionsIn(fresh.text), ['1.0.0', '1.1.0']);
  });
});

describe('cargo: interrupted publish', () => {
  let r: ICargoTestRegistry;
  let dir: string;
  let refuse: RegExp | null = null;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-cargo-hooks-'));
    r = await createCargoRegistry({
      dir,
      storageHooks: {
        beforePut: (ctx) => (refuse && refuse.test(ctx.key) ? { allowed: false, reason: 'refused by the test' } : undefined),
      },
    });
  });
  after(async () => {
    await r.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a failed write of the truth leaves no .crate and no index line', async () => {
    assert.equal((await r.publish('halfway', '1.0.0')).status, 200);
    const before = await cargoKeys(r);
    refuse = /halfway\/crate\.json$/;
    const res = await r.publish('halfway', '1.1.0');
    refuse = null;
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.json, { errors: [{ detail: 'refused by the test' }] });
    assert.deepEqual(await cargoKeys(r), before, 'the uploaded .crate was removed');
    assert.deepEqual(versionsIn((await r.request('GET', '/cargo/ha/lf/halfway')).text), ['1.0.0']);
  });

  it('a failed index write after the truth still publishes; the next read derives the index', async () => {
    refuse = /halfway\/index\.json$/;
    const res = await r.publish('halfway', '1.2.0');
    refuse = null;
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(versionsIn((await r.request('GET', '/cargo/ha/lf/halfway')).text), ['1.0.0', '1.2.0']);
  });
});

/** Instances on one storage publish versions of one crate at once; every version lands once. */
async function concurrentPublishes(instances: ICargoTestRegistry[]) {
  const [first, second] = instances;
  const versions = Array.from({ length: 12 }, (_, i) => `1.${i}.0`);
  const results = await Promise.all(versions.map((vers, i) => instances[i % instances.length].publish('together', vers)));
  results.forEach((res, i) => assert.equal(res.status, 200, `${versions[i]}: ${res.text}`));
  const index = await second.request('GET', '/cargo/to/ge/together');
  assert.deepEqual(versionsIn(index.text).sort(), [...versions].sort());
  // The same new version from both at once: exactly one publish wins.
  const race = await Promise.all([first.publish('together', '9.0.0'), second.publish('together', '9.0.0')]);
  assert.deepEqual(race.map((res) => res.status).sort(), [200, 409]);
  assert.equal(versionsIn((await first.request('GET', '/cargo/to/ge/together')).text).filter((v) => v === '9.0.0').length, 1);
  const files = (await cargoKeys(first)).filter((key) => key.startsWith('cargo/crates/together/files/9.0.0/'));
  assert.equal(files.length, 1, 'the losing upload was removed');
  const search = await first.request('GET', '/cargo/api/v1/crates?q=together');
  assert.equal(search.json.crates[0].max_version, '9.0.0');
}

describe('cargo: two instances on one filesystem', () => {
  let first: ICargoTestRegistry;
  let second: ICargoTestRegistry;
  before(async () => {
    first = await createCargoRegistry();
    second = await createCargoRegistry({ dir: first.dir });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('lose no version when publishing at once', () => concurrentPublishes([first, second]));
});

describe('cargo on the S3 backend (s3rver)', () => {
  let s3: IS3TestServer;
  let first: ICargoTestRegistry;
  let second: ICargoTestRegistry;
  before(async () => {
    s3 = await startS3Server();
    const storage = { type: 's3' as const, ...s3.descriptor, bucketName: 'cargo-test' };
    first = await createCargoRegistry({ storage });
    second = await createCargoRegistry({ storage });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await s3?.stop();
  });

  it('publishes, serves the index with 304 and the .crate, yanks', async () => {
    assert.equal((await first.publish('ons3', '1.0.0')).status, 200);
    await first.registry.getStorage().settled();
    const index = await second.request('GET', '/cargo/on/s3/ons3');
    assert.equal(index.status, 200);
    assert.deepEqual(versionsIn(index.text), ['1.0.0']);
    assert.equal((await second.request('GET', '/cargo/on/s3/ons3', { headers: { 'if-none-match': index.headers.etag } })).status, 304);
    const crate = await second.request('GET', '/cargo/api/v1/crates/ons3/1.0.0/download');
    assert.equal(crate.status, 200);
    assert.equal(crate.bytes.length, Number(crate.headers['content-length']));
    assert.equal((await second.request('DELETE', '/cargo/api/v1/crates/ons3/1.0.0/yank')).status, 200);
    // s3rver ignores conditional writes (one writer per key at a time is this process's own lock): the publish's and
    // the yank's index writes, which follow their answers, land before the other instance reads, so the two never
    // write one key at once.
    await second.registry.getStorage().settled();
    const afterYank = await first.request('GET', '/cargo/on/s3/ons3');
    assert.equal(afterYank.status, 200, afterYank.text);
    assert.equal(JSON.parse(afterYank.text).yanked, true);
  });
});

// Races between instances need conditional writes, which s3rver ignores: they run on Ceph RGW.
describe('cargo: three instances on one Ceph RGW bucket', { skip: skipWithoutCeph('the cargo concurrency tests') }, () => {
  let ceph: ICephS3;
  const instances: ICargoTestRegistry[] = [];
  before(async () => {
    ceph = await startCephS3();
    const storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
    for (let i = 0; i < 3; i++) instances.push(await createCargoRegistry({ storage }));
  });
  after(async () => {
    for (const instance of instances) await instance.close();
    await ceph?.stop();
  });

  it('lose no version when publishing at once', () => concurrentPublishes(instances));
});
