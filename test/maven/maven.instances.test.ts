/**
 * Three instances on one storage deploying versions of one artifact at once lose nothing: the truth
 * changes by conditional read-modify-write, and every instance then serves metadata (with matching
 * checksums) and search results listing every version. On the filesystem backend, and on Ceph RGW
 * (s3rver ignores conditional writes).
 */
import { settle } from '../helpers/validationwindow.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createMavenRegistry, hex, pomOf, type IMavenTestRegistry } from './maven.fixtures.js';
import type { IMavenTestOptions } from './maven.fixtures.js';

const LIB = '/maven/org/race/lib';
const VERSIONS = ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5', '2.0-SNAPSHOT'];

async function concurrentDeploys(instances: IMavenTestRegistry[]) {
  const fileOf = (version: string) => (version.endsWith('-SNAPSHOT') ? `lib-2.0-20261126.101010-1.pom` : `lib-${version}.pom`);
  const results = await Promise.all(
    VERSIONS.map((version, i) => instances[i % instances.length].deploy(`${LIB}/${version}/${fileOf(version)}`, pomOf('org.race', 'lib', version))),
  );
  assert.deepEqual(results.map((res) => `${res.status} ${res.text}`), VERSIONS.map(() => '201 '));
  await settle();
  for (const instance of instances) {
    const xml = (await instance.request('GET', `${LIB}/maven-metadata.xml`)).text;
    assert.deepEqual([...xml.matchAll(/<version>([^<]+)<\/version>/g)].map((m) => m[1]), VERSIONS);
    assert.equal((await instance.request('GET', `${LIB}/maven-metadata.xml.sha256`)).text.trim(), hex('sha256', xml));
    const [entry] = (await instance.request('GET', '/maven/api/search?q=race')).json.results;
    assert.equal(entry.versionCount, VERSIONS.length);
  }
}

async function startInstances(storage: IMavenTestOptions['storage']): Promise<IMavenTestRegistry[]> {
  const instances: IMavenTestRegistry[] = [];
  for (let i = 0; i < 3; i++) instances.push(await createMavenRegistry({ storage, maven: { searchRevalidateMs: 0 } }));
  return instances;
}

describe('maven: three instances on one filesystem', () => {
  let dir: string;
  let instances: IMavenTestRegistry[] = [];
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-maven-shared-'));
    instances = await startInstances({ type: 'filesystem', path: dir });
  });
  after(async () => {
    for (const instance of instances) await instance.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('lose no version when deploying at once', () => concurrentDeploys(instances));
});

describe('maven: three instances on one Ceph RGW bucket', { skip: skipWithoutCeph('the maven concurrency tests') }, () => {
  let ceph: ICephS3;
  let instances: IMavenTestRegistry[] = [];
  before(async () => {
    ceph = await startCephS3();
    instances = await startInstances({ type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName });
  });
  after(async () => {
    for (const instance of instances) await instance.close();
    await ceph?.stop();
  });

  it('lose no version when deploying at once', () => concurrentDeploys(instances));
});
