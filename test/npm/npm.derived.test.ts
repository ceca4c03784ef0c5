import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmartlogDestinationBuffer } from '@push.rocks/smartlog/destination-buffer';
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';
import { npmPaths } from '../../ts/core/storage.paths.js';
import { holdingHooks, settledYet } from '../helpers/heldwrites.js';
import { createNpmRegistry } from './fixtures.js';

const CORGI = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';

test('npm derived documents: derived writes failing after the packument landed: the publish stands and the next read repairs them', async () => {
  // While the outage lasts, the storage refuses every write of a derived document (not the packument).
  let outage = false;
  let refused = 0;
  const log = new SmartlogDestinationBuffer();
  const r = await createNpmRegistry({
    logging: { level: 'warn', console: false, destinations: [log] },
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
    // The derived writes go on after the answer: the outage lasts until they are done.
    await r.registry.getStorage().settled();
    outage = false;
    // The packument landed, so the publish happened: a retry now would be refused as a republish.
    assert.equal(published.status, 201, published.text);
    assert.ok(refused >= 2, 'both derived writes were refused');
    const warnings = log.getEntries({ level: 'warn' }).map((entry) => entry.message);
    for (const label of ['npm abbreviated document', 'npm search entry']) {
      assert.ok(warnings.some((message) => message.includes(`${label} of flaky was not written`)), `${label}: ${warnings.join('\n')}`);
    }
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
    await storage.settled();
    const key = npmPaths.abbreviated('healing');
    const old = await storage.getBytes(key);
    assert.ok(old);
    assert.equal((await r.publish('healing', '1.1.0')).status, 201);
    await storage.settled();
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

test('npm derived documents: a publish is answered once the packument is written; reads on the instance wait for the abbreviated document and the search entry', async () => {
  const writes = holdingHooks();
  const r = await createNpmRegistry({ storageHooks: writes.hooks });
  try {
    assert.equal((await r.publish('prompt', '1.0.0')).status, 201);
    await r.registry.getStorage().settled();
    const release = writes.hold(/prompt\/abbreviated\.json$|\/search\//);
    writes.puts.length = 0;
    const published = await r.publish('prompt', '2.0.0');
    assert.equal(published.status, 201, 'answered while the derived writes are held');
    const stored = await r.registry.getStorage().getBytes(npmPaths.abbreviated('prompt'));
    assert.equal(JSON.parse(stored!.bytes.toString())['dist-tags'].latest, '1.0.0', 'the abbreviated document is not written yet');

    const abbreviated = r.request('GET', '/npm/prompt', { headers: { accept: CORGI } });
    const search = r.request('GET', '/npm/-/v1/search?text=prompt');
    assert.equal(await settledYet(abbreviated), false, 'the install read waits for the write under way');
    assert.equal(await settledYet(search), false, 'the search waits for the index update under way');
    release();
    assert.equal((await abbreviated).json['dist-tags'].latest, '2.0.0');
    assert.equal((await search).json.objects[0].package.version, '2.0.0');
    assert.equal(writes.puts.filter((key) => key.endsWith('prompt/abbreviated.json')).length, 1, 'written once: the read waited, it did not repair');
  } finally {
    await r.close();
  }
});

test('npm derived documents: another instance reading right after the answer derives the abbreviated document itself', async () => {
  const writes = holdingHooks();
  const a = await createNpmRegistry({ storageHooks: writes.hooks });
  const b = await createNpmRegistry({ dir: a.dir });
  try {
    assert.equal((await a.publish('shared', '1.0.0')).status, 201);
    assert.equal((await b.request('GET', '/npm/shared', { headers: { accept: CORGI } })).json['dist-tags'].latest, '1.0.0');
    const release = writes.hold(/shared\/abbreviated\.json$/);
    assert.equal((await a.publish('shared', '2.0.0')).status, 201);
    // A's write of the abbreviated document is still held: B finds it stale against the packument.
    const read = await b.request('GET', '/npm/shared', { headers: { accept: CORGI } });
    assert.equal(read.status, 200);
    assert.equal(read.json['dist-tags'].latest, '2.0.0');
    assert.deepEqual(Object.keys(read.json.versions).sort(), ['1.0.0', '2.0.0']);
    release();
    await a.registry.getStorage().settled();
    const stored = await a.registry.getStorage().getBytes(npmPaths.abbreviated('shared'));
    assert.equal(JSON.parse(stored!.bytes.toString())['dist-tags'].latest, '2.0.0', 'the late write of the same revision left it current');
  } finally {
    await b.close();
    await a.close();
  }
});
