/**
 * RubyGems on Ceph RGW (an S3 engine that honours conditional writes and presigns): three instances on one bucket
 * push at once, and every version lands in the gem documents, /versions, /info and /names (the
 * conditional read-modify-write at work); with `downloads.redirect` a .gem GET is a presigned redirect.
 */
import { settle } from '../helpers/validationwindow.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createGemRegistry, gemspecYaml, makeGem, readVersionsFile, type IGemTestRegistry } from './fixtures.js';

describe('rubygems on Ceph RGW', { skip: skipWithoutCeph('the RubyGems concurrency test') }, () => {
  let ceph: ICephS3;
  let instances: IGemTestRegistry[] = [];
  let storage: IRegistryConfig['storage'];

  before(async () => {
    ceph = await startCephS3();
    storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
    instances = [await createGemRegistry({ storage }), await createGemRegistry({ storage }), await createGemRegistry({ storage })];
  });
  after(async () => {
    for (const instance of instances) await instance.close();
    await ceph?.stop();
  });

  it('loses no version when three instances push at once', async () => {
    const pushes = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5'].flatMap((version, i) => [
      { name: 'race', version, instance: instances[i % 3] },
      { name: `race-${i}`, version, instance: instances[(i + 1) % 3] },
    ]);
    const results = await Promise.all(pushes.map(async ({ name, version, instance }) => instance.push(await makeGem(gemspecYaml(name, version)))));
    for (const result of results) assert.equal(result.status, 200, result.text);

    await settle();
    const reader = instances[2];
    const info = (await reader.request('GET', '/rubygems/info/race')).text;
    assert.deepEqual(info.split('\n').slice(1, -1).map((line) => line.split(' ')[0]).sort(), ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5']);
    // Lines may name several versions (a derivation that came later carries what an earlier one missed).
    const versions = readVersionsFile((await reader.request('GET', '/rubygems/versions')).text);
    for (const { name, version } of pushes) assert.ok(versions.get(name)?.versions.has(version), `${name} ${version} is in /versions`);
    assert.equal(versions.get('race')?.infoMd5, crypto.createHash('md5').update(info).digest('hex'), 'the last line of a gem names its current /info');
    const names = (await reader.request('GET', '/rubygems/names')).text.split('\n').slice(1, -1);
    assert.deepEqual(names, ['race', ...pushes.filter((push) => push.name !== 'race').map((push) => push.name)].sort());
    const gem = await reader.request('GET', '/rubygems/gems/race-1.0.3.gem');
    assert.equal(gem.status, 200);
  });

  it('with downloads.redirect a .gem GET is a 307 to the bucket, which serves the pushed bytes; the index stays with the registry', async () => {
    const redirecting = await createGemRegistry({ storage, rubygems: { downloads: { redirect: true } } });
    try {
      const bytes = await makeGem(gemspecYaml('direct', '1.0.0'));
      assert.equal((await redirecting.push(bytes)).status, 200);
      const answer = await redirecting.request('GET', '/rubygems/gems/direct-1.0.0.gem');
      assert.equal(answer.status, 307);
      assert.equal(answer.bytes.length, 0);
      const direct = await fetch(answer.headers.location);
      assert.equal(direct.status, 200);
      assert.deepEqual(Buffer.from(await direct.arrayBuffer()), bytes);
      assert.equal((await redirecting.request('GET', '/rubygems/gems/direct-1.0.0.gem', { token: null })).headers.location, undefined);
      assert.equal((await redirecting.request('GET', '/rubygems/info/direct')).status, 200);
      assert.equal((await redirecting.request('HEAD', '/rubygems/gems/direct-1.0.0.gem')).status, 200);
    } finally {
      await redirecting.close();
    }
  });
});
