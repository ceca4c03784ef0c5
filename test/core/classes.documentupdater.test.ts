import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { DELETE, RegistryStorage, UNCHANGED } from '../../ts/core/classes.registrystorage.js';
import { isRegistryError } from '../../ts/core/classes.registryerror.js';

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
      // A damaged document is an error of its own, never taken for "no document".
      await assert.rejects(storage.updateDocument('npm/broken.json', ctx, () => ({ a: 1 }), { prerequisite: upload }), (error) => isRegistryError(error, 'corrupt'));
      assert.equal((await storage.getBytes('npm/broken.json'))?.bytes.toString(), '{not json');
      // Unhandled rejections are reported between event-loop turns: the read took several.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

test('document updater: a prerequisite that fails is reported, even as a precondition-failed, and nothing is written', async () => {
  await withStorage(async (storage) => {
    await storage.putJson('npm/doc.json', { versions: ['1.0.0'] }, ctx);
    await storage.putObject('npm/artifact', Buffer.from('taken'), ctx);
    // An artifact that exists already: its create-once upload fails with precondition-failed, which must
    // not be taken for a lost race on the document (a retry would list a version whose upload failed).
    const upload = storage.putObject('npm/artifact', Buffer.from('mine'), ctx, { ifNoneMatch: '*' });
    await assert.rejects(
      storage.updateDocument<{ versions: string[] }>('npm/doc.json', ctx, (current) => ({ versions: [...current!.versions, '2.0.0'] }), { prerequisite: upload }),
      (error) => isRegistryError(error, 'precondition-failed'),
    );
    assert.deepEqual((await storage.getJson('npm/doc.json'))?.value, { versions: ['1.0.0'] });
    assert.equal((await storage.getBytes('npm/artifact'))?.bytes.toString(), 'taken');
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

/** Two RegistryStorage instances on one directory (two registry instances on one storage), counting stats and reads. */
async function withTwoInstances(run: (a: RegistryStorage, b: RegistryStorage, calls: { stat: number; get: number }) => Promise<void>) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-updater-'));
  const calls = { stat: 0, get: 0 };
  const counted = new FilesystemBackend(dir);
  const stat = counted.stat.bind(counted);
  const get = counted.get.bind(counted);
  counted.stat = (key) => (calls.stat++, stat(key));
  counted.get = (key, range) => (calls.get++, get(key, range));
  const a = new RegistryStorage(counted);
  const b = new RegistryStorage(new FilesystemBackend(dir));
  await a.init();
  await b.init();
  try {
    await run(a, b, calls);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const addVersion = (version: string) => (current: { versions: string[] } | null) => {
  if (current?.versions.includes(version)) throw new Error(`${version} exists`);
  return { versions: [...(current?.versions ?? []), version] };
};

test('document updater: the document this instance last wrote is changed without a stat or a read', async () => {
  await withTwoInstances(async (a, _b, calls) => {
    await a.updateJson('npm/doc.json', ctx, addVersion('1.0.0'));
    const before = { ...calls };
    await a.updateJson('npm/doc.json', ctx, addVersion('1.1.0'));
    await a.updateJson('npm/doc.json', ctx, addVersion('1.2.0'));
    assert.deepEqual(calls, before);
    assert.deepEqual((await a.getJson('npm/doc.json'))?.value, { versions: ['1.0.0', '1.1.0', '1.2.0'] });
  });
});

test('document updater: another instance’s write in between refuses the remembered write, and nothing is lost', async () => {
  await withTwoInstances(async (a, b) => {
    await a.updateJson('npm/doc.json', ctx, addVersion('1.0.0'));
    await b.updateJson('npm/doc.json', ctx, addVersion('2.0.0'));
    await a.updateJson('npm/doc.json', ctx, addVersion('1.1.0'));
    assert.deepEqual((await b.getJson('npm/doc.json'))?.value, { versions: ['1.0.0', '2.0.0', '1.1.0'] });
  });
});

test('document updater: a refusal or no change on the remembered state is checked against storage first', async () => {
  await withTwoInstances(async (a, b) => {
    await a.updateJson('npm/doc.json', ctx, addVersion('1.0.0'));
    // Another instance takes 1.0.0 away: the remembered state still lists it.
    await b.updateJson<{ versions: string[] }>('npm/doc.json', ctx, () => ({ versions: [] }));
    assert.deepEqual(await a.updateJson('npm/doc.json', ctx, addVersion('1.0.0')), { versions: ['1.0.0'] });

    await b.updateJson<{ versions: string[] }>('npm/doc.json', ctx, () => ({ versions: ['1.0.0', '3.0.0'] }));
    const seen = await a.updateJson<{ versions: string[] }>('npm/doc.json', ctx, (current) => (current?.versions.includes('1.0.0') ? UNCHANGED : { versions: ['x'] }));
    assert.deepEqual(seen, { versions: ['1.0.0', '3.0.0'] }, 'unchanged answers the stored state, not the remembered one');
    await assert.rejects(a.updateJson('npm/doc.json', ctx, addVersion('3.0.0')), /3\.0\.0 exists/);
  });
});
