import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentCache } from '../../ts/core/classes.documentcache.js';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
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

  it('known: the kept document while its recent stat is known, null once known gone, undefined when storage must be asked', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-documentcache-known-'));
    const storage = new RegistryStorage(new FilesystemBackend(root), undefined, undefined, { validationWindowMs: 60_000 });
    await storage.init();
    try {
      const cache = new DocumentCache(storage, { maxEntries: 10 });
      assert.equal(cache.known('k.json'), undefined, 'never asked');
      assert.equal(await cache.read('k.json'), null);
      assert.equal(cache.known('k.json'), null, 'known missing');
      await storage.putJson('k.json', { n: 1 }, ctx);
      assert.equal(cache.known('k.json'), undefined, 'written here: its stat is asked again');
      const read = await cache.read<{ n: number }>('k.json');
      assert.equal(cache.known<{ n: number }>('k.json'), read, 'the kept document itself');
      await storage.deleteObject('k.json', ctx);
      assert.equal(cache.known('k.json'), undefined, 'deleted here: asked again');
      assert.equal(await cache.read('k.json'), null);
    } finally {
      await storage.destroy();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
