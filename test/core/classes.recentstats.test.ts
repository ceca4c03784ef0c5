import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecentStats } from '../../ts/core/classes.recentstats.js';
import { DocumentCache } from '../../ts/core/classes.documentcache.js';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';

const ctx = { protocol: 'core' as const };

describe('RecentStats', () => {
  let root: string;
  let backend: FilesystemBackend;
  let stats = 0;
  const countedStat = (key: string) => {
    stats++;
    return backend.stat(key);
  };
  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-recentstats-'));
    backend = new FilesystemBackend(root);
    await backend.init();
  });
  after(() => fsp.rm(root, { recursive: true, force: true }));

  it('answers from one stat within the window, asks storage again after it', async () => {
    let now = 1000;
    const recent = new RecentStats(countedStat, { windowMs: 1000, maxEntries: 10, now: () => now });
    await backend.put('a.json', Buffer.from('{"n":1}'));
    stats = 0;
    const first = await recent.get('a.json');
    assert.equal(first?.size, 7);
    now += 999;
    assert.equal((await recent.get('a.json'))?.etag, first?.etag);
    assert.equal(stats, 1);
    await backend.put('a.json', Buffer.from('{"n":22}'));
    assert.equal((await recent.get('a.json'))?.etag, first?.etag, 'a write by someone else is seen only after the window');
    now += 1;
    const second = await recent.get('a.json');
    assert.equal(second?.size, 8);
    assert.notEqual(second?.etag, first?.etag);
    assert.equal(stats, 2);
  });

  it('remembers that nothing is stored, until the key is forgotten', async () => {
    const recent = new RecentStats(countedStat, { windowMs: 60_000, maxEntries: 10 });
    stats = 0;
    assert.equal(await recent.get('b.json'), null);
    await backend.put('b.json', Buffer.from('{}'));
    assert.equal(await recent.get('b.json'), null);
    recent.forget('b.json');
    assert.equal((await recent.get('b.json'))?.size, 2);
    assert.equal(stats, 2);
  });

  it('shares one stat between concurrent reads; a stat in flight when the key is forgotten is not kept', async () => {
    const recent = new RecentStats(countedStat, { windowMs: 60_000, maxEntries: 10 });
    await backend.put('c.json', Buffer.from('{}'));
    stats = 0;
    const reads = [recent.get('c.json'), recent.get('c.json'), recent.get('c.json')];
    recent.forget('c.json');
    await Promise.all(reads);
    assert.equal(stats, 1);
    await recent.get('c.json');
    assert.equal(stats, 2, 'the stat that was in flight was not remembered');
    await recent.get('c.json');
    assert.equal(stats, 2);
  });

  it('asks storage every time with a window of 0', async () => {
    const recent = new RecentStats(countedStat, { windowMs: 0, maxEntries: 10 });
    stats = 0;
    await recent.get('a.json');
    await recent.get('a.json');
    assert.equal(stats, 2);
  });
});

describe('RegistryStorage.statRecent: two instances on one storage', () => {
  let root: string;
  let now = 0;
  let a: RegistryStorage;
  let b: RegistryStorage;
  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-statrecent-'));
    const open = async () => {
      const storage = new RegistryStorage(new FilesystemBackend(root), {}, undefined, { validationWindowMs: 1000, now: () => now });
      await storage.init();
      return storage;
    };
    a = await open();
    b = await open();
  });
  after(() => fsp.rm(root, { recursive: true, force: true }));

  it('a write is seen at once by the instance that made it, by the other once the window has passed', async () => {
    const cacheA = new DocumentCache(a, { maxEntries: 10 });
    const cacheB = new DocumentCache(b, { maxEntries: 10 });
    assert.equal(await cacheA.read('doc.json'), null);
    assert.equal(await cacheB.read('doc.json'), null);

    await a.putJson('doc.json', { v: 1 }, ctx);
    assert.deepEqual((await cacheA.read('doc.json'))?.value, { v: 1 });
    assert.equal(await cacheB.read('doc.json'), null, 'within the window');
    now += 1000;
    assert.deepEqual((await cacheB.read('doc.json'))?.value, { v: 1 });
    assert.deepEqual((await cacheA.read('doc.json'))?.value, { v: 1 });

    await b.updateJson<{ v: number }>('doc.json', ctx, (current) => ({ v: (current?.v ?? 0) + 1 }));
    assert.deepEqual((await cacheB.read('doc.json'))?.value, { v: 2 });
    assert.deepEqual((await cacheA.read('doc.json'))?.value, { v: 1 }, 'within the window');
    now += 1000;
    assert.deepEqual((await cacheA.read('doc.json'))?.value, { v: 2 });

    await a.deleteObject('doc.json', ctx);
    assert.equal(await cacheA.read('doc.json'), null);
    now += 1000;
    assert.equal(await cacheB.read('doc.json'), null);
  });

  it('stat (for writes) is never answered from memory', async () => {
    await a.statRecent('fresh.json');
    await b.putJson('fresh.json', { v: 1 }, ctx);
    assert.equal(await a.statRecent('fresh.json'), null);
    assert.notEqual(await a.stat('fresh.json'), null);
  });
});
