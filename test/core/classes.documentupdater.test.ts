import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { DELETE, RegistryStorage } from '../../ts/core/classes.registrystorage.js';

const ctx = { protocol: 'npm' as const };

async function withStorage(run: (storage: RegistryStorage) => Promise<void>) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-updater-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir));
  await storage.init();
  try {
    await run(storage);
  } finally {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('document updater: a failed read still settles the work it was given', async () => {
  await withStorage(async (storage) => {
    await storage.putObject('npm/broken.json', Buffer.from('{not json'), ctx);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The upload has failed already, while the document is still being read (no timing involved).
      const upload = Promise.reject(new Error('tarball upload failed'));
      await assert.rejects(storage.updateDocument('npm/broken.json', ctx, () => ({ a: 1 }), { prerequisite: upload }), SyntaxError);
      // Unhandled rejections are reported between event-loop turns: the read took several.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

test('document updater: a delete does not erase a write that came in between', async () => {
  await withStorage(async (storage) => {
    await storage.putJson('npm/doc.json', { versions: ['1.0.0'] }, ctx);
    let raced = false;
    const result = await storage.updateJson<{ versions: string[] }>('npm/doc.json', ctx, async (current) => {
      if (!raced) {
        raced = true;
        // Another instance publishes after our read.
        await storage.putJson('npm/doc.json', { versions: ['1.0.0', '2.0.0'] }, ctx);
        return DELETE;
      }
      // On the retry the new version is there: keep the document.
      return { versions: current!.versions.filter((version) => version !== '1.0.0') };
    });
    assert.deepEqual(result, { versions: ['2.0.0'] });
    assert.deepEqual((await storage.getJson('npm/doc.json'))?.value, { versions: ['2.0.0'] });
  });
});
