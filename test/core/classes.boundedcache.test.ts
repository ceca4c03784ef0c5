import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from '../../ts/core/classes.boundedcache.js';

test('bounded cache: the least recently used entry makes room past the entry count', () => {
  const cache = new BoundedCache<number>({ maxEntries: 2 });
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1); // a is now the most recent
  cache.set('c', 3);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.equal(cache.size, 2);
});

test('bounded cache: the byte budget evicts, and an entry larger than the entry bound is not kept', () => {
  const cache = new BoundedCache<Buffer>({ maxEntries: 100, maxBytes: 10, maxEntryBytes: 6, sizeOf: (value) => value.length });
  cache.set('a', Buffer.alloc(4));
  cache.set('b', Buffer.alloc(4));
  assert.equal(cache.bytes, 8);
  cache.set('c', Buffer.alloc(4));
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.bytes, 8);
  cache.set('b', Buffer.alloc(7)); // too large: not kept, and the old b is gone too
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.bytes, 4);
  cache.set('d', Buffer.alloc(2), { bytes: 5 });
  assert.equal(cache.bytes, 9);
});

test('bounded cache: entries expire by the injected clock, per cache or per entry', () => {
  let now = 1000;
  const cache = new BoundedCache<string>({ maxEntries: 10, ttlMs: 50, now: () => now });
  cache.set('a', 'x');
  cache.set('b', 'y', { expiresAt: 1010 });
  now = 1009;
  assert.equal(cache.get('b'), 'y');
  now = 1010;
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 'x');
  now = 1050;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size, 0);
  cache.set('c', 'z', { expiresAt: 1000 }); // already expired: not kept
  assert.equal(cache.size, 0);
});

test('bounded cache: the validation callback drops entries it refuses', () => {
  const revoked = new Set<string>();
  const cache = new BoundedCache<string>({ maxEntries: 10, isValid: (_value, key) => !revoked.has(key) });
  cache.set('a', 'x');
  assert.equal(cache.get('a'), 'x');
  revoked.add('a');
  assert.equal(cache.get('a'), undefined);
  revoked.delete('a');
  assert.equal(cache.get('a'), undefined, 'a refused entry is gone, not hidden');
});

test('bounded cache: concurrent misses load once; a failed load is shared and keeps nothing', async () => {
  const cache = new BoundedCache<string>({ maxEntries: 10 });
  let loads = 0;
  let release!: (value: string) => void;
  const load = () => {
    loads++;
    return new Promise<string>((resolve) => (release = resolve));
  };
  const all = Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);
  await Promise.resolve();
  release('v');
  assert.deepEqual(await all, ['v', 'v', 'v']);
  assert.equal(loads, 1);
  assert.equal(await cache.getOrLoad('k', load), 'v');
  assert.equal(loads, 1);

  const failing = () => Promise.reject(new Error('storage down'));
  const results = await Promise.allSettled([cache.getOrLoad('f', failing), cache.getOrLoad('f', failing)]);
  assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
  assert.equal(cache.get('f'), undefined);
  assert.equal(await cache.getOrLoad('f', async () => 'ok'), 'ok', 'the next load runs again');
  assert.equal(await cache.getOrLoad('none', async () => undefined), undefined);
  assert.equal(cache.has('none'), false);
});

test('bounded cache: a load overtaken by a write or delete is not kept; isCurrent refuses stale values', async () => {
  const cache = new BoundedCache<string>({ maxEntries: 10 });
  let release!: (value: string) => void;
  const slow = cache.getOrLoad('k', () => new Promise<string>((resolve) => (release = resolve)));
  cache.delete('k');
  release('old');
  assert.equal(await slow, 'old');
  assert.equal(cache.get('k'), undefined, 'the superseded load did not land');

  cache.set('e', 'etag-1');
  let loads = 0;
  const value = await cache.getOrLoad('e', async () => (loads++, 'etag-2'), { isCurrent: (v) => v === 'etag-2' });
  assert.equal(value, 'etag-2');
  assert.equal(loads, 1);
  assert.equal(cache.get('e'), 'etag-2');
});

test('bounded cache: take, deleteWhere, clear; maxEntries must be given', () => {
  const cache = new BoundedCache<number>({ maxEntries: 10 });
  cache.set('x/1', 1);
  cache.set('x/2', 2);
  cache.set('y/1', 3);
  assert.equal(cache.take('x/1'), 1);
  assert.equal(cache.get('x/1'), undefined);
  cache.deleteWhere((key) => key.startsWith('x/'));
  assert.equal(cache.size, 1);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.bytes, 0);
  assert.throws(() => new BoundedCache<number>({ maxEntries: Number.NaN }), /maxEntries/);
  const none = new BoundedCache<number>({ maxEntries: 0 });
  none.set('a', 1);
  assert.equal(none.size, 0);
});
