import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npmPaths } from '../../ts/core/storage.paths.js';
import type { NpmRegistry } from '../../ts/npm/classes.npmregistry.js';
import { SEARCH_ENTRY_LIMITS } from '../../ts/npm/helpers.npm.js';
import { createNpmRegistry } from './fixtures.js';

test('npm search: a truncated shard is skipped (no 500) and rebuilt from the packuments', async () => {
  const r = await createNpmRegistry();
  try {
    const names = Array.from({ length: 12 }, (_, i) => `shardy-${i}`);
    for (const name of names) assert.equal((await r.publish(name, '1.0.0')).status, 201);
    const storage = r.registry.getStorage();
    const index = (r.registry.getRegistry('npm') as NpmRegistry).getSearchIndex();
    const shard = index.shardOf('shardy-0');
    const key = npmPaths.searchShard(shard);
    const bytes = (await storage.getBytes(key))!.bytes;
    await storage.putObject(key, bytes.subarray(0, bytes.length - 7), { protocol: 'npm' });
    index.reset();

    const res = await r.request('GET', '/npm/-/v1/search?text=shardy&size=50');
    assert.equal(res.status, 200, res.text);
    const inBrokenShard = names.filter((name) => index.shardOf(name) === shard);
    assert.equal(res.json.total, names.length - inBrokenShard.length);
    await index.settled();
    const healed = await r.request('GET', '/npm/-/v1/search?text=shardy&size=50');
    assert.equal(healed.json.total, names.length);
    assert.deepEqual(
      healed.json.objects.map((object: { package: { name: string } }) => object.package.name).sort(),
      [...names].sort(),
    );
  } finally {
    await r.close();
  }
});

test('npm search: entries are bounded (keyword count and length, description) and so is the query', async () => {
  const r = await createNpmRegistry();
  try {
    const keywords = ['k'.repeat(5000), ...Array.from({ length: 100 }, (_, i) => `kw${i}`)];
    const published = await r.publish('wordy', '1.0.0', { manifest: { keywords, description: 'd'.repeat(20_000) } });
    assert.equal(published.status, 201);
    const found = await r.request('GET', '/npm/-/v1/search?text=wordy');
    const pkg = found.json.objects[0].package;
    assert.equal(pkg.keywords.length, SEARCH_ENTRY_LIMITS.keywords);
    assert.equal(pkg.keywords[0].length, SEARCH_ENTRY_LIMITS.keywordLength);
    assert.equal(pkg.description.length, SEARCH_ENTRY_LIMITS.descriptionLength);
    // The stored shard holds the bounded entry, not the 5,000-character keyword.
    const index = (r.registry.getRegistry('npm') as NpmRegistry).getSearchIndex();
    const shard = (await r.registry.getStorage().getBytes(npmPaths.searchShard(index.shardOf('wordy'))))!.bytes;
    assert.ok(shard.length < 5000, `shard is ${shard.length} bytes`);
    const long = await r.request('GET', `/npm/-/v1/search?text=${'wordy '.repeat(2000)}`);
    assert.equal(long.status, 200);
    assert.equal(long.json.total, 1);
  } finally {
    await r.close();
  }
});
