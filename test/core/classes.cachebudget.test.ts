import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from '../../ts/core/classes.boundedcache.js';
import { CacheBudget } from '../../ts/core/classes.cachebudget.js';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { createNpmRegistry } from '../npm/fixtures.js';

const bufferCache = (budget: CacheBudget) => new BoundedCache<Buffer>({ maxEntries: 100, budget, sizeOf: (value) => value.length });

test('cache budget: past it, the least recently used entry of all the caches sharing it goes', () => {
  const budget = new CacheBudget(10);
  const documents = bufferCache(budget);
  const pages = bufferCache(budget);
  documents.set('d1', Buffer.alloc(3));
  pages.set('p1', Buffer.alloc(3));
  documents.set('d2', Buffer.alloc(3));
  assert.equal(budget.bytes, 9);
  assert.ok(documents.get('d1')); // d1 is now the most recently used; p1 the least
  pages.set('p2', Buffer.alloc(3)); // 12 > 10: one entry must go, and it is p1, in the other cache than d2
  assert.equal(pages.get('p1'), undefined);
  assert.ok(documents.get('d1'));
  assert.ok(documents.get('d2'));
  assert.ok(pages.get('p2'));
  assert.equal(budget.bytes, 9);
  assert.equal(documents.bytes + pages.bytes, 9);
});

test('cache budget: a hot entry of a cache that holds only it stays while colder entries of other caches go', () => {
  const budget = new CacheBudget(10);
  const index = bufferCache(budget);
  const documents = bufferCache(budget);
  index.set('the-index', Buffer.alloc(4));
  documents.set('d1', Buffer.alloc(3));
  documents.set('d2', Buffer.alloc(3));
  assert.ok(index.get('the-index')); // used after d1 and d2
  documents.set('d3', Buffer.alloc(3)); // 13 > 10: the least recently used is d1, not the index
  assert.ok(index.get('the-index'));
  assert.equal(documents.get('d1'), undefined);
  assert.ok(documents.get('d2'));
  assert.ok(documents.get('d3'));
});

test('cache budget: one cache may take the whole budget while the others keep nothing', () => {
  const budget = new CacheBudget(8);
  const busy = bufferCache(budget);
  const idle = bufferCache(budget);
  for (let i = 0; i < 8; i++) busy.set(`k${i}`, Buffer.alloc(1));
  assert.equal(busy.bytes, 8);
  idle.set('x', Buffer.alloc(2)); // the two least recently used entries of the busy cache make room
  assert.equal(busy.get('k0'), undefined);
  assert.equal(busy.get('k1'), undefined);
  assert.ok(busy.get('k2'));
  assert.ok(idle.get('x'));
  assert.equal(budget.bytes, 8);
});

test('cache budget: deletes, replacements and clear give bytes back; an entry larger than the budget is not kept', () => {
  const budget = new CacheBudget(10);
  const a = bufferCache(budget);
  const b = bufferCache(budget);
  a.set('x', Buffer.alloc(4));
  b.set('y', Buffer.alloc(4));
  a.set('x', Buffer.alloc(2));
  assert.equal(budget.bytes, 6);
  b.delete('y');
  assert.equal(budget.bytes, 2);
  b.set('z', Buffer.alloc(3));
  a.clear();
  assert.equal(budget.bytes, 3);
  b.set('huge', Buffer.alloc(11));
  assert.equal(b.get('huge'), undefined);
  assert.ok(b.get('z'), 'a refused entry does not flush the others');
  assert.equal(budget.bytes, 3);
});

test('cache budget: a cache keeps its own byte cap inside the shared budget', () => {
  const budget = new CacheBudget(100);
  const capped = new BoundedCache<Buffer>({ maxEntries: 100, maxBytes: 5, budget, sizeOf: (value) => value.length });
  capped.set('a', Buffer.alloc(3));
  capped.set('b', Buffer.alloc(3));
  assert.equal(capped.get('a'), undefined);
  assert.equal(budget.bytes, 3);
});

test('cache budget: the registry keeps every cache within cache.memoryBytes and still answers from storage', async () => {
  const budgetBytes = 16 * 1024;
  const r = await createNpmRegistry({ cache: { memoryBytes: budgetBytes } });
  try {
    const budget = r.registry.getStorage().cacheBudget;
    assert.equal(budget.maxBytes, budgetBytes);
    const names = Array.from({ length: 12 }, (_, i) => `budgeted-${i}`);
    for (const name of names) assert.equal((await r.publish(name, '1.0.0', { manifest: { description: 'x'.repeat(1000) } })).status, 201);
    for (const name of names) {
      const doc = await r.request('GET', `/npm/${name}`);
      assert.equal(doc.status, 200);
      assert.equal(doc.json.versions['1.0.0'].description, 'x'.repeat(1000));
      assert.ok(budget.bytes <= budgetBytes, `caches hold ${budget.bytes} bytes, budget ${budgetBytes}`);
    }
    const search = await r.request('GET', '/npm/-/v1/search?text=budgeted&size=20');
    assert.equal(search.json.total, names.length);
    assert.ok(budget.bytes > 0 && budget.bytes <= budgetBytes, `caches hold ${budget.bytes} bytes, budget ${budgetBytes}`);
  } finally {
    await r.close();
  }
});

test('cache budget: cache.memoryBytes must be a whole number of bytes', () => {
  for (const memoryBytes of [-1, 1.5, Number.NaN]) {
    assert.throws(
      () => new SmartRegistry({ storage: { type: 'filesystem', path: '/tmp/unused' }, auth: { tokenStore: 'memory' }, cache: { memoryBytes } }),
      /cache\.memoryBytes must be a whole number of bytes/,
    );
  }
});
