import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentCache } from '../../ts/core/classes.documentcache.js';
import { startTempStorage } from '../helpers/tempstorage.js';

const ctx = { protocol: 'core' as const };

describe('DocumentCache', () => {
  let temp: Awaited<ReturnType<typeof startTempStorage>>;
  before(async () => {
    temp = await startTempStorage('smartregistry-documentcache-');
  });
  after(() => temp.stop());

  it('parses a document once while its etag stays, again once it changed, null once it is gone', async () => {
    const cache = new DocumentCache(temp.storage, { maxEntries: 10 });
    let parses = 0;
    const parse = (bytes: Buffer) => {
      parses++;
      return JSON.parse(bytes.toString()) as { n: number };
    };
    await temp.storage.putJson('d.json', { n: 1 }, ctx);
    const first = await cache.read('d.json', parse);
    assert.equal(first?.value.n, 1);
    assert.ok(first?.lastModified instanceof Date);
    assert.equal((await cache.read('d.json', parse))?.value.n, 1);
    assert.equal(parses, 1);
    await temp.storage.putJson('d.json', { n: 2 }, ctx);
    const second = await cache.read('d.json', parse);
    assert.equal(second?.value.n, 2);
    assert.notEqual(second?.etag, first?.etag);
    assert.equal(parses, 2);
    await temp.storage.deleteObject('d.json', ctx);
    assert.equal(await cache.read('d.json', parse), null);
  });
});
