import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { Logger } from '../../ts/core/classes.logger.js';
import { MAX_SEARCH_QUERY_LENGTH, SearchIndex, splitWords, type ISearchIndexSpec } from '../../ts/core/classes.searchindex.js';

/** A crate-like entry: the index is generic, nothing npm here. */
interface IItem {
  name: string;
  rev: number;
  summary: string;
}

const ctx = { protocol: 'cargo' as const };
const itemKey = (name: string) => `cargo/items/${name}.json`;

async function withIndex(
  run: (setup: { storage: RegistryStorage; index: SearchIndex<IItem>; clock: { now: number }; make: (residentBytes?: number) => SearchIndex<IItem> }) => Promise<void>,
) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-search-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir));
  await storage.init();
  const clock = { now: 1_000_000 };
  const spec: ISearchIndexSpec<IItem> = {
    label: 'test search',
    shardCount: 4,
    shardKey: (shard) => `cargo/search/shard-${shard}.json`,
    nameOf: (item) => item.name,
    revisionOf: (item) => item.rev,
    bound: (item) => ({ ...item, summary: item.summary.slice(0, 40) }),
    wordsOf: (item) => [item.name, ...splitWords(item.name), ...splitWords(item.summary)],
    ranker: (query) => (name) => (name === query ? 0 : name.startsWith(query) ? 1 : 2),
    async *rebuild(belongs) {
      for await (const info of storage.listAll('cargo/items/')) {
        const item = (await storage.getJson<IItem>(info.key))!.value;
        if (belongs(item.name)) yield item;
      }
    },
  };
  const make = (residentBytes?: number) =>
    new SearchIndex<IItem>(storage, spec, { revalidateMs: 1000, logger: new Logger({ level: 'silent' }), maxResidentBytes: residentBytes, now: () => clock.now });
  try {
    await run({ storage, index: make(), clock, make });
  } finally {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const names = (result: { entries: IItem[] }) => result.entries.map((item) => item.name);

async function addItems(storage: RegistryStorage, index: SearchIndex<IItem>, items: IItem[]) {
  for (const item of items) await storage.putJson(itemKey(item.name), item, ctx);
  await index.upsertMany(items, ctx);
}

const items: IItem[] = Array.from({ length: 40 }, (_, i) => ({ name: `serde-${i}`, rev: 1, summary: `a ${i % 2 ? 'json' : 'yaml'} codec number ${i}` }));

test('search index: generic entries, prefix words, ranking, paging, revision order, bounds', async () => {
  await withIndex(async ({ storage, index }) => {
    await addItems(storage, index, [...items, { name: 'serde', rev: 1, summary: 'the framework' }]);
    const first = await index.search('serde', 3, 0);
    assert.equal(first.total, 41);
    assert.deepEqual(names(first), ['serde', 'serde-0', 'serde-1']);
    assert.deepEqual(names(await index.search('serde', 2, 3)), ['serde-2', 'serde-3']);
    assert.equal((await index.search('json cod', 100, 0)).total, 20);
    assert.equal((await index.search('!!!', 10, 0)).total, 0);
    // An older revision does not replace a newer one; `remove` by an older revision leaves it.
    await index.upsert({ name: 'serde', rev: 5, summary: 'new' }, ctx);
    await index.upsert({ name: 'serde', rev: 3, summary: 'old' }, ctx);
    assert.equal((await index.search('serde', 1, 0)).entries[0].summary, 'new');
    await index.remove('serde', ctx, 4);
    assert.equal((await index.search('serde', 1, 0)).entries[0].name, 'serde');
    await index.remove('serde', ctx, 5);
    assert.equal((await index.search('serde', 1, 0)).entries[0].name, 'serde-0');
    // Entries are bounded by the spec; the query by the index.
    await index.upsert({ name: 'long', rev: 1, summary: 'x'.repeat(10_000) }, ctx);
    assert.equal((await index.search('long', 1, 0)).entries[0].summary.length, 40);
    const longQuery = `${'serde '.repeat(Math.ceil(MAX_SEARCH_QUERY_LENGTH / 6))}nomatch`;
    assert.equal((await index.search(longQuery, 10, 0)).total, 40, 'words past the length limit are not looked at');
  });
});

test('search index: a corrupt or truncated shard is skipped, not fatal, and rebuilt from the truth', async () => {
  await withIndex(async ({ storage, index, make }) => {
    await addItems(storage, index, items);
    // Truncate one shard that holds entries, as a crashed writer on a non-atomic store would.
    const key = 'cargo/search/shard-0.json';
    const stored = (await storage.getBytes(key))!;
    const inShard = Object.keys((JSON.parse(stored.bytes.toString()) as { packages: object }).packages).length;
    assert.ok(inShard > 0);
    await storage.putObject(key, stored.bytes.subarray(0, stored.bytes.length >> 1), ctx);

    const fresh = make();
    const during = await fresh.search('serde', 100, 0);
    assert.equal(during.total, items.length - inShard, 'the other shards still answer');
    await fresh.settled();
    const after = await fresh.search('serde', 100, 0);
    assert.equal(after.total, items.length);
    const rebuilt = JSON.parse((await storage.getBytes(key))!.bytes.toString()) as { packages: object };
    assert.equal(Object.keys(rebuilt.packages).length, inShard);
    // Not JSON at all, and JSON of the wrong shape: the same.
    await storage.putObject(key, Buffer.from('null'), ctx);
    const another = make();
    assert.equal((await another.search('serde', 100, 0)).total, items.length - inShard);
    await another.settled();
    assert.equal((await another.search('serde', 100, 0)).total, items.length);
  });
});

test('search index: shards beyond the memory budget are read again on demand; other instances are seen after revalidation', async () => {
  await withIndex(async ({ storage, index, clock, make }) => {
    await addItems(storage, index, items);
    const tiny = make(1); // nothing stays resident
    assert.equal((await tiny.search('json', 100, 0)).total, 20);
    assert.equal((await tiny.search('yaml', 100, 0)).total, 20);
    const other = make();
    assert.equal((await other.search('serde', 100, 0)).total, 40);
    await index.upsert({ name: 'serde-new', rev: 1, summary: 'json' }, ctx);
    assert.equal((await other.search('serde', 100, 0)).total, 40, 'within the revalidation window: the copy it has');
    clock.now += 1000;
    assert.equal((await other.search('serde', 100, 0)).total, 41);
    assert.equal((await tiny.search('serde', 100, 0)).total, 41);
  });
});

test('search index: an upsert changes the copy in memory without reading the shard; a stale copy loses nothing', async () => {
  await withIndex(async ({ storage, index, make }) => {
    await index.upsert({ name: 'alpha', rev: 1, summary: 'first' }, ctx);
    const shardReads: string[] = [];
    const getBytes = storage.getBytes.bind(storage);
    storage.getBytes = (key) => (key.includes('/search/') && shardReads.push(key), getBytes(key));
    await index.upsert({ name: 'alpha', rev: 2, summary: 'second' }, ctx);
    assert.deepEqual(shardReads, [], 'the shard this instance last wrote is not read back');

    // Another instance writes the same shard: this instance's copy is stale, its write is refused and redone on the stored shard.
    const other = make();
    await other.upsert({ name: 'alpha', rev: 3, summary: 'third' }, ctx);
    await index.upsert({ name: 'alpha', rev: 4, summary: 'fourth' }, ctx);
    const stored = (await storage.getJson<{ packages: Record<string, IItem> }>('cargo/search/shard-' + index.shardOf('alpha') + '.json'))!.value;
    assert.deepEqual(stored.packages.alpha, { name: 'alpha', rev: 4, summary: 'fourth' });
    await other.upsert({ name: 'alpha', rev: 3, summary: 'late' }, ctx);
    assert.equal((await storage.getJson<{ packages: Record<string, IItem> }>('cargo/search/shard-' + index.shardOf('alpha') + '.json'))!.value.packages.alpha.rev, 4, 'an older revision does not replace a newer one');
  });
});

test('search index: a search sees this instance\'s writes under way, also those nobody waited for', async () => {
  await withIndex(async ({ index }) => {
    void index.upsert({ name: 'unawaited', rev: 1, summary: 'written behind' }, ctx);
    assert.deepEqual(names(await index.search('unawaited', 10, 0)), ['unawaited']);
    void index.remove('unawaited', ctx);
    assert.equal((await index.search('unawaited', 10, 0)).total, 0);
  });
});

test('an upsert of the very entry the shard already holds writes nothing; another revision or force writes', async () => {
  await withIndex(async ({ storage, index, make }) => {
    const item: IItem = { name: 'serde', rev: 5, summary: 'serialization framework' };
    await index.upsert(item, ctx);
    const key = `cargo/search/shard-${index.shardOf('serde')}.json`;
    const etag = async () => (await storage.stat(key))!.etag;
    const first = await etag();
    await index.upsert({ ...item }, ctx);
    assert.equal(await etag(), first, 'the same entry again: not written');
    await index.upsert({ ...item, summary: 'serialization framework, faster' }, ctx);
    const second = await etag();
    assert.notEqual(second, first, 'another entry at the same revision: written');
    await index.upsert({ ...item, summary: 'serialization framework, faster' }, ctx, true);
    assert.notEqual(await etag(), second, 'forced: written');
    // Another instance's copy has not seen the change: its upsert of the entry it holds goes to storage, and an older one is refused there.
    const other = make();
    await other.upsert({ ...item, rev: 4, summary: 'old' }, ctx);
    assert.deepEqual((await other.search('serde', 10, 0)).entries.map((entry) => entry.summary), ['serialization framework, faster']);
  });
});

test('an upsert says whether its entry may outlive a removal made meanwhile: not when it replaced the entry in the shard as first found', async () => {
  await withIndex(async ({ index, make }) => {
    assert.equal(await index.upsert({ name: 'tokio', rev: 1, summary: 'runtime' }, ctx), true, 'added to a shard that did not hold it');
    assert.equal(await index.upsert({ name: 'tokio', rev: 2, summary: 'runtime' }, ctx), false, 'replaced its own entry, the shard as this instance wrote it');
    assert.equal(await index.upsert({ name: 'tokio', rev: 2, summary: 'runtime' }, ctx), false, 'the very entry again: nothing written');
    // Another instance removes the entry (a deletion): this instance's copy is stale, its write is redone on the stored shard.
    await make().remove('tokio', ctx);
    assert.equal(await index.upsert({ name: 'tokio', rev: 3, summary: 'runtime' }, ctx), true, 'written on the shard read again after the conflict');
    assert.deepEqual(names(await make().search('tokio', 10, 0)), ['tokio']);
  });
});
