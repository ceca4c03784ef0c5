import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { CORE_CONTEXT, RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { StoredDocumentCache } from '../../ts/core/classes.storeddocumentcache.js';

test('stored document cache: parsed once per stored version, changes and deletes seen on the next read', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-docs-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir));
  await storage.init();
  try {
    const parsed: string[] = [];
    const cache = new StoredDocumentCache<{ n: number }>(storage, {
      maxBytes: 1024 * 1024,
      parse: (bytes) => {
        parsed.push(bytes.toString());
        return JSON.parse(bytes.toString()) as { n: number };
      },
    });
    assert.equal(await cache.get('docs/a.json'), null);
    const etag = await storage.putJson('docs/a.json', { n: 1 }, CORE_CONTEXT);
    const first = await cache.get('docs/a.json');
    assert.deepEqual(first?.value, { n: 1 });
    assert.equal(first?.etag, etag);
    assert.ok(first?.lastModified instanceof Date);
    assert.equal((await cache.get('docs/a.json'))?.value, first?.value);
    assert.deepEqual(parsed, ['{"n":1}']);
    await storage.putJson('docs/a.json', { n: 2 }, CORE_CONTEXT);
    assert.deepEqual((await cache.get('docs/a.json'))?.value, { n: 2 });
    assert.equal(parsed.length, 2);
    await storage.deleteObject('docs/a.json', CORE_CONTEXT);
    assert.equal(await cache.get('docs/a.json'), null);
  } finally {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
