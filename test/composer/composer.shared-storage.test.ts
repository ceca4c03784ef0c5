/**
 * Several Composer instances on one store: an upload through one is served by another (on S3,
 * composer.json is read from the stored zip by ranged reads), and concurrent uploads through three
 * instances lose no version and duplicate none — on the filesystem and on Ceph RGW (s3rver ignores
 * conditional writes, so races are not run on it).
 */
import { settle } from '../helpers/validationwindow.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import type { IStorageConfig } from '../../ts/core/interfaces.core.js';
import { createComposerRegistry, makePackageZip, sha1, type IComposerTestRegistry } from './fixtures.js';

/** Composer's MetadataMinifier::expand, reduced to the versions. */
const versionsOf = (minified: Record<string, unknown>[]) => {
  let version: unknown;
  return minified.map((entry) => (version = entry.version ?? version));
};

async function instances(storage: IStorageConfig, count: number): Promise<IComposerTestRegistry[]> {
  const started: IComposerTestRegistry[] = [];
  for (let i = 0; i < count; i++) started.push(await createComposerRegistry({ storage }));
  return started;
}

describe('composer on the S3 backend, two instances', () => {
  let s3: IS3TestServer;
  let registries: IComposerTestRegistry[] = [];

  before(async () => {
    s3 = await startS3Server();
    registries = await instances({ type: 's3', ...s3.descriptor, bucketName: 'composer-test' }, 2);
  });
  after(async () => {
    for (const registry of registries) await registry.close();
    await s3?.stop();
  });

  it('uploads through one instance; the other serves packages.json, metadata and the zip (with Range)', async () => {
    const [first, second] = registries;
    const zip = await makePackageZip('acme/s3', '1.0.0');
    assert.equal((await first.upload('acme/s3', zip)).status, 201);
    assert.deepEqual((await second.request('GET', '/composer/packages.json')).json['available-packages'], ['acme/s3']);
    const metadata = await second.request('GET', '/composer/p2/acme/s3.json');
    assert.equal(metadata.status, 200);
    assert.equal(metadata.json.packages['acme/s3'][0].dist.shasum, sha1(zip));
    const file = await second.request('GET', `/composer/dists/acme/s3/${sha1(zip)}.zip`);
    assert.ok(file.bytes.equals(zip));
    const range = await second.request('GET', `/composer/dists/acme/s3/${sha1(zip)}.zip`, { headers: { range: 'bytes=-22' } });
    assert.equal(range.status, 206);
    assert.ok(range.bytes.equals(zip.subarray(zip.length - 22)));
  });
});

describe('composer on Ceph RGW, three instances on one bucket', { skip: skipWithoutCeph('the composer concurrency tests') }, () => {
  let ceph: ICephS3;
  let registries: IComposerTestRegistry[] = [];
  before(async () => {
    ceph = await startCephS3();
    registries = await instances({ type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName }, 3);
  });
  after(async () => {
    for (const registry of registries) await registry.close();
    await ceph?.stop();
  });

  it('concurrent uploads: every version lands, one version lands once', () => concurrentUploads(registries));

  it('redirects a dist GET to the bucket when downloads.redirect is on; metadata stays with the registry', async () => {
    const redirecting = await createComposerRegistry({
      storage: { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName },
      downloads: { redirect: true, expiresIn: 300 },
    });
    try {
      const zip = await makePackageZip('acme/direct', '1.0.0');
      assert.equal((await redirecting.upload('acme/direct', zip)).status, 201);
      const dist = await redirecting.request('GET', `/composer/dists/acme/direct/${sha1(zip)}.zip`);
      assert.equal(dist.status, 307, dist.text);
      const direct = await fetch(dist.headers.location);
      assert.equal(direct.status, 200);
      assert.ok(Buffer.from(await direct.arrayBuffer()).equals(zip));
      assert.equal((await redirecting.request('GET', '/composer/p2/acme/direct.json')).status, 200);
      assert.equal((await redirecting.request('GET', `/composer/dists/acme/direct/${'0'.repeat(40)}.zip`)).status, 404);
    } finally {
      await redirecting.close();
    }
  });
});

describe('composer on the filesystem backend, three instances on one directory', () => {
  let dir: string;
  let registries: IComposerTestRegistry[] = [];
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-composer-shared-'));
    registries = await instances({ type: 'filesystem', path: dir }, 3);
  });
  after(async () => {
    for (const registry of registries) await registry.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('concurrent uploads: every version lands, one version lands once', () => concurrentUploads(registries));
});

async function concurrentUploads(registries: IComposerTestRegistry[]) {
  const versions = Array.from({ length: 9 }, (_, index) => `1.${index}.0`);
  const zips = await Promise.all(versions.map((version) => makePackageZip('acme/race', version)));
  const results = await Promise.all(versions.map((_, index) => registries[index % registries.length].upload('acme/race', zips[index])));
  assert.deepEqual(results.map((result) => result.status), versions.map(() => 201), results.map((result) => result.text).join('\n'));
  await settle();
  const metadata = (await registries[0].request('GET', '/composer/p2/acme/race.json')).json;
  assert.deepEqual(versionsOf(metadata.packages['acme/race']).sort(), [...versions].sort());

  const same = await makePackageZip('acme/race', '2.0.0');
  const racing = await Promise.all(registries.map((registry) => registry.upload('acme/race', same)));
  assert.deepEqual(racing.map((result) => result.status).sort(), [201, 409, 409]);
  const zipsStored = (await registries[0].keys()).filter((key) => key.startsWith('composer/packages/acme/race/dists/'));
  assert.equal(zipsStored.length, versions.length + 1, 'the losing uploads left no zip behind');
  await settle();
  assert.deepEqual((await registries[1].request('GET', '/composer/packages/list.json')).json.packageNames, ['acme/race']);
}
