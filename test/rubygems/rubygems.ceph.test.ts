/**
 * RubyGems on Ceph RGW (an S3 engine that honours conditional writes and presigns): three instances on one bucket
 * push at once, and every version lands in the gem documents, /versions, /info and /names (the
 * conditional read-modify-write at work); with `downloads.redirect` a .gem GET is a presigned redirect.
 * The compact index entry is written after a change's answer: held back on one instance while another yanks,
 * unyanks or pushes, it does not undo what the other did; lost (a crash after the answer), another instance's
 * sweep lists the change.
 */
import { settle } from '../helpers/validationwindow.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdingHooks } from '../helpers/heldwrites.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createGemRegistry, gemspecYaml, makeGem, readVersionsFile, type IGemTestRegistry } from './fixtures.js';

const md5 = (text: string) => crypto.createHash('md5').update(text).digest('hex');

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

  describe('a compact index entry written after the answer', () => {
    const writes = holdingHooks();
    let lose: RegExp | null = null;
    /** Pushes, yanks and unyanks whose entry is held or lost; no sweep of its own during the tests. */
    let late: IGemTestRegistry;
    /** Changes the same gems meanwhile; no sweep of its own during the tests either. */
    let other: IGemTestRegistry;
    /** Sweeps the gem documents at most every 500 ms. */
    let sweeping: IGemTestRegistry;
    const SWEEP_MS = 500;
    /** Longer than the tests run, also on a loaded machine. */
    const NO_SWEEP_MS = 10 * 60_000;

    before(async () => {
      late = await createGemRegistry({
        storage,
        rubygemsOptions: { revalidateMs: NO_SWEEP_MS },
        storageHooks: {
          async beforePut(ctx) {
            if (lose?.test(ctx.key)) return { allowed: false, reason: 'lost by the test' };
            await writes.hooks.beforePut(ctx);
          },
        },
      });
      other = await createGemRegistry({ storage, rubygemsOptions: { revalidateMs: NO_SWEEP_MS } });
      sweeping = await createGemRegistry({ storage, rubygemsOptions: { revalidateMs: SWEEP_MS } });
      // Each instance's first read sweeps every gem: done now, so none of the races below is repaired by a sweep.
      for (const r of [late, other, sweeping]) assert.equal((await r.request('GET', '/rubygems/versions')).status, 200);
    });
    after(async () => {
      for (const r of [late, other, sweeping]) await r?.close();
    });

    const push = async (r: IGemTestRegistry, name: string, version: string) => assert.equal((await r.push(await makeGem(gemspecYaml(name, version)))).status, 200);
    const yank = async (r: IGemTestRegistry, name: string, version: string, yanked: boolean) => {
      const answer = await r.request(yanked ? 'DELETE' : 'PUT', `/rubygems/api/v1/gems/${yanked ? 'yank' : 'unyank'}?gem_name=${name}&version=${version}`);
      assert.equal(answer.status, 200, answer.text);
    };
    const settled = (r: IGemTestRegistry) => r.registry.getStorage().settled();
    /** The versions `/versions` serves of `name` on `r`, after checking its last line names `/info` as served there. */
    async function listed(r: IGemTestRegistry, name: string): Promise<string[]> {
      const versions = readVersionsFile((await r.request('GET', '/rubygems/versions')).text).get(name);
      assert.equal(versions?.infoMd5, md5((await r.request('GET', `/rubygems/info/${name}`)).text), `the last line of ${name} names its /info`);
      return [...versions.versions].sort();
    }
    /** Holds the late instance's compact index writes while `meanwhile` runs, then lets them land. */
    async function heldWhile(change: () => Promise<void>, meanwhile: () => Promise<void>) {
      const release = writes.hold(/^rubygems\/compact-index\.json$/);
      try {
        await change();
        await meanwhile();
      } finally {
        release();
      }
      await settled(late);
      await settle();
    }

    it('a yank through another instance while the push entry is on its way stays yanked', async () => {
      await push(late, 'late-yank', '1.0.0');
      await settled(late);
      await heldWhile(
        () => push(late, 'late-yank', '1.1.0'),
        async () => {
          await yank(other, 'late-yank', '1.1.0', true);
          await settled(other);
        },
      );
      for (const r of [late, other]) assert.deepEqual(await listed(r, 'late-yank'), ['1.0.0']);
      assert.doesNotMatch((await late.request('GET', '/rubygems/versions')).text, /late-yank .*1\.1\.0/, 'never listed');
    });

    it('an unyank through another instance while the yank entry is on its way stays unyanked', async () => {
      await push(late, 'late-unyank', '1.0.0');
      await push(late, 'late-unyank', '1.1.0');
      await settled(late);
      await heldWhile(
        () => yank(late, 'late-unyank', '1.1.0', true),
        async () => {
          await yank(other, 'late-unyank', '1.1.0', false);
          await settled(other);
        },
      );
      for (const r of [late, other]) assert.deepEqual(await listed(r, 'late-unyank'), ['1.0.0', '1.1.0']);
    });

    it('a push through another instance while a push entry is on its way: both listed', async () => {
      await push(late, 'late-both', '1.0.0');
      await settled(late);
      await heldWhile(
        () => push(late, 'late-both', '2.0.0'),
        async () => {
          await push(other, 'late-both', '2.1.0');
          await settled(other);
        },
      );
      for (const r of [late, other]) assert.deepEqual(await listed(r, 'late-both'), ['1.0.0', '2.0.0', '2.1.0']);
    });

    it('an entry lost after the answer is listed by the next read on another instance whose sweep is due', async () => {
      await push(late, 'late-lost', '1.0.0');
      await settled(late);
      await settle();
      for (const r of [other, sweeping]) assert.deepEqual(await listed(r, 'late-lost'), ['1.0.0']);
      lose = /^rubygems\/compact-index\.json$/;
      try {
        await push(late, 'late-lost', '1.1.0');
        await settled(late);
      } finally {
        lose = null;
      }
      await settle();
      // Not swept since the tests began: it serves the stored document, which lacks the push.
      const stored = readVersionsFile((await other.request('GET', '/rubygems/versions')).text).get('late-lost');
      assert.deepEqual([...(stored?.versions ?? [])], ['1.0.0']);
      await sleep(SWEEP_MS);
      assert.deepEqual(await listed(sweeping, 'late-lost'), ['1.0.0', '1.1.0']);
      await settle();
      assert.deepEqual(await listed(other, 'late-lost'), ['1.0.0', '1.1.0']);
    });
  });
});
