import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { CORE_CONTEXT, DELETE, RegistryStorage, UNCHANGED } from '../../ts/core/classes.registrystorage.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import type { IStorageHookContext, IStorageHooks } from '../../ts/core/interfaces.core.js';

async function makeStorage(hooks?: IStorageHooks) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-storage-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir), hooks);
  await storage.init();
  return {
    storage,
    keys: async () => {
      const keys: string[] = [];
      for await (const object of storage.listAll('')) keys.push(object.key);
      return keys;
    },
    cleanup: async () => {
      await storage.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

const npm = { protocol: 'npm' as const, actor: { userId: 'alice' }, metadata: { packageName: 'pkg' } };
const hasStatus = (status: number, message?: RegExp) => (error: unknown) =>
  error instanceof RegistryError && error.status === status && (!message || message.test(error.message));

test('registry storage: hooks see protocol, operation, key, actor and metadata', async () => {
  const seen: IStorageHookContext[] = [];
  const record = (ctx: IStorageHookContext) => void seen.push(ctx);
  const { storage, cleanup } = await makeStorage({
    beforePut: record,
    afterPut: record,
    afterGet: record,
    beforeDelete: record,
    afterDelete: record,
  });
  try {
    await storage.putObject('npm/a', Buffer.from('abc'), npm);
    await storage.getObject('npm/a', npm).then((result) => result?.stream.resume());
    await storage.deleteObject('npm/a', npm);
    assert.deepEqual(
      seen.map((ctx) => ctx.operation),
      ['put', 'put', 'get', 'delete', 'delete'],
    );
    for (const ctx of seen) {
      assert.equal(ctx.protocol, 'npm');
      assert.equal(ctx.key, 'npm/a');
      assert.equal(ctx.actor?.userId, 'alice');
      assert.equal(ctx.metadata?.packageName, 'pkg');
      assert.ok(ctx.timestamp instanceof Date);
    }
    assert.equal(seen[1].metadata?.size, 3);
    assert.match(String(seen[1].metadata?.digest), /^sha256:[0-9a-f]{64}$/);
  } finally {
    await cleanup();
  }
});

test('registry storage: a veto refuses the write with the reason and stores nothing', async () => {
  const { storage, keys, cleanup } = await makeStorage({
    beforePut: (ctx) =>
      ctx.key.endsWith('big') ? { allowed: false, reason: 'Storage quota exceeded' } : { allowed: false, reason: 'read-only org' },
    beforeDelete: () => ({ allowed: false, reason: 'protected package', code: 'denied' }),
  });
  try {
    await assert.rejects(storage.putObject('npm/x', Buffer.from('1'), npm), hasStatus(403, /read-only org/));
    await assert.rejects(storage.putObject('npm/big', Buffer.from('1'), npm), hasStatus(413, /quota/));
    assert.deepEqual(await keys(), []);
    // Internal records (auth) run no hooks.
    await storage.putJson('auth/x.json', { a: 1 }, CORE_CONTEXT);
    await assert.rejects(storage.deleteObject('auth/x.json', npm), hasStatus(403, /protected/));
    assert.deepEqual(await keys(), ['auth/x.json']);
  } finally {
    await cleanup();
  }
});

test('registry storage: a before-hook that throws is a 500 and nothing is stored; an after-hook that throws is not', async () => {
  const { storage, keys, cleanup } = await makeStorage({
    beforePut: (ctx) => {
      if (ctx.key === 'npm/boom') throw new Error('quota service down');
    },
    afterPut: () => {
      throw new Error('audit log down');
    },
  });
  try {
    // The hook's own text is the cause (for the log), not the message (which a client could see).
    await assert.rejects(storage.putObject('npm/boom', Buffer.from('1'), npm), (error: RegistryError) => {
      assert.equal(error.kind, 'internal');
      assert.equal(error.status, 500);
      assert.match(error.message, /storage hook beforePut failed/);
      assert.equal((error.cause as Error).message, 'quota service down');
      return true;
    });
    await storage.putObject('npm/ok', Buffer.from('1'), npm);
    assert.deepEqual(await keys(), ['npm/ok']);
  } finally {
    await cleanup();
  }
});

test('registry storage: concurrent read-modify-write loses no update', async () => {
  const { storage, cleanup } = await makeStorage();
  try {
    const writers = 24;
    await Promise.all(
      Array.from({ length: writers }, (_, index) =>
        storage.updateJson<{ versions: number[] }>('npm/packages/p/doc.json', npm, (current) => ({
          versions: [...(current?.versions ?? []), index],
        })),
      ),
    );
    const stored = await storage.getJson<{ versions: number[] }>('npm/packages/p/doc.json');
    assert.deepEqual([...stored!.value.versions].sort((a, b) => a - b), Array.from({ length: writers }, (_, i) => i));
  } finally {
    await cleanup();
  }
});

test('registry storage: updateJson can leave a document unchanged or delete it', async () => {
  const { storage, keys, cleanup } = await makeStorage();
  try {
    assert.equal(await storage.updateJson('npm/d.json', npm, () => UNCHANGED), null);
    assert.deepEqual(await keys(), []);
    await storage.updateJson('npm/d.json', npm, () => ({ n: 1 }));
    const before = await storage.stat('npm/d.json');
    assert.deepEqual(await storage.updateJson('npm/d.json', npm, () => UNCHANGED), { n: 1 });
    assert.equal((await storage.stat('npm/d.json'))?.etag, before?.etag);
    assert.equal(await storage.updateJson('npm/d.json', npm, () => DELETE), null);
    assert.deepEqual(await keys(), []);
  } finally {
    await cleanup();
  }
});

test('registry storage: createOnce creates once; racing writers learn the object exists; a hook refusal still fails', async () => {
  const { storage, keys, cleanup } = await makeStorage({
    beforePut: (ctx) => (ctx.key.startsWith('npm/refused') ? { allowed: false, reason: 'not here' } : undefined),
  });
  try {
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((writer) => storage.createJsonOnce('npm/record.json', { writer }, npm)),
    );
    const created = results.filter((result) => result.created);
    assert.equal(created.length, 1);
    assert.deepEqual(results.filter((result) => !result.created), [
      { created: false, reason: 'exists' },
      { created: false, reason: 'exists' },
      { created: false, reason: 'exists' },
    ]);
    const winner = ['a', 'b', 'c', 'd'][results.findIndex((result) => result.created)];
    assert.deepEqual((await storage.getJson('npm/record.json'))?.value, { writer: winner });
    const again = await storage.createOnce('npm/record.json', Buffer.from('{"writer":"late"}'), npm);
    assert.deepEqual(again, { created: false, reason: 'exists' });
    assert.deepEqual((await storage.getJson('npm/record.json'))?.value, { writer: winner });
    await assert.rejects(storage.createJsonOnce('npm/refused.json', {}, npm), hasStatus(403, /not here/));
    assert.deepEqual(await keys(), ['npm/record.json']);
  } finally {
    await cleanup();
  }
});
