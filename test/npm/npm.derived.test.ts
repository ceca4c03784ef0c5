import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';
import { npmPaths } from '../../ts/core/storage.paths.js';
import { createNpmRegistry } from './fixtures.js';

const CORGI = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';

test('npm derived documents: derived writes failing after the packument landed: the publish stands and the next read repairs them', async () => {
  // While the outage lasts, the storage refuses every write of a derived document (not the packument).
  let outage = false;
  let refused = 0;
  const r = await createNpmRegistry({
    storageHooks: {
      beforePut(ctx: IStorageHookContext) {
        if (outage && (ctx.key.endsWith('/abbreviated.json') || ctx.key.includes('/search/'))) {
          refused++;
          throw new Error('bucket unavailable');
        }
      },
    },
  });
  try {
    assert.equal((await r.publish('flaky', '1.0.0')).status, 201);
    outage = true;
    const published = await r.publish('flaky', '2.0.0');
    outage = false;
    // The packument landed, so the publish happened: a retry now would be refused as a republish.
    assert.equal(published.status, 201, published.text);
    assert.ok(refused >= 2, 'both derived writes were refused');
    const full = await r.request('GET', '/npm/flaky');
    assert.equal(full.json['dist-tags'].latest, '2.0.0');

    const abbreviated = await r.request('GET', '/npm/flaky', { headers: { accept: CORGI } });
    assert.equal(abbreviated.status, 200);
    assert.equal(abbreviated.json['dist-tags'].latest, '2.0.0');
    assert.deepEqual(Object.keys(abbreviated.json.versions).sort(), ['1.0.0', '2.0.0']);
    assert.equal(abbreviated.json._rev, full.json._rev);
    // Repairing re-derived every document of the package, the search entry included.
    const search = await r.request('GET', '/npm/-/v1/search?text=flaky');
    assert.equal(search.json.objects[0].package.version, '2.0.0');
    const retry = await r.publish('flaky', '2.0.0');
    assert.equal(retry.status, 403);
  } finally {
    await r.close();
  }
});

test('npm derived documents: a missing or stale abbreviated document is derived again on read; a gone package leaves none', async () => {
  const r = await createNpmRegistry();
  try {
    assert.equal((await r.publish('healing', '1.0.0')).status, 201);
    const storage = r.registry.getStorage();
    const key = npmPaths.abbreviated('healing');
    const old = await storage.getBytes(key);
    assert.ok(old);
    assert.equal((await r.publish('healing', '1.1.0')).status, 201);
    // Another writer put back what an older revision derived (as a late write would): served fresh anyway.
    await storage.putObject(key, old.bytes, { protocol: 'npm' });
    let res = await r.request('GET', '/npm/healing', { headers: { accept: CORGI } });
    assert.equal(res.json['dist-tags'].latest, '1.1.0');
    await storage.deleteObject(key, { protocol: 'npm' });
    res = await r.request('GET', '/npm/healing', { headers: { accept: CORGI } });
    assert.equal(res.status, 200);
    assert.equal(res.json['dist-tags'].latest, '1.1.0');
    assert.ok(await storage.stat(key));

    // The packument gone (a writer died before removing what it derived): the leftover goes too.
    await storage.putObject(key, old.bytes, { protocol: 'npm' });
    await storage.deleteObject(npmPaths.packument('healing'), { protocol: 'npm' });
    res = await r.request('GET', '/npm/healing', { headers: { accept: CORGI } });
    assert.equal(res.status, 404);
    assert.equal(await storage.stat(key), null);
  } finally {
    await r.close();
  }
});
