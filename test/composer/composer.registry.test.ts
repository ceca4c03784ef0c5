import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createComposerRegistry, makePackageZip, sha1, type IComposerTestRegistry } from './fixtures.js';

const BASE = 'http://registry.example.com/composer';

/** Composer's MetadataMinifier::expand: each entry changes the one before. */
function expand(versions: Record<string, unknown>[]): Record<string, unknown>[] {
  let current: Record<string, unknown> = {};
  return versions.map((version) => {
    current = { ...current };
    for (const [key, value] of Object.entries(version)) {
      if (value === '__unset') delete current[key];
      else current[key] = value;
    }
    return current;
  });
}

describe('composer: packages.json, upload, metadata, dists', () => {
  let r: IComposerTestRegistry;
  const zips: Record<string, Buffer> = {};
  before(async () => {
    r = await createComposerRegistry();
    zips['1.0.0'] = await makePackageZip('acme/foo', '1.0.0', { extra: { require: { php: '>=8.1' } } });
    zips['1.1.0-beta2'] = await makePackageZip('acme/foo', '1.1.0-beta2', { version: null, atRoot: true });
    zips['dev-main'] = await makePackageZip('acme/foo', 'dev-main', { version: null });
  });
  after(() => r.close());

  it('answers packages.json with the v2 URLs and no packages before any upload', async () => {
    const res = await r.request('GET', '/composer/packages.json');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, {
      packages: [],
      'metadata-url': `${BASE}/p2/%package%.json`,
      'available-packages': [],
      search: `${BASE}/search.json?q=%query%&type=%type%`,
      list: `${BASE}/packages/list.json`,
    });
  });

  it('stores uploads: version from composer.json or ?version=, normalised by Composer\'s rules', async () => {
    const first = await r.upload('acme/foo', zips['1.0.0']);
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(first.json, { status: 'success', name: 'acme/foo', version: '1.0.0', version_normalized: '1.0.0.0', shasum: sha1(zips['1.0.0']) });
    const beta = await r.upload('acme/foo', zips['1.1.0-beta2'], { version: 'v1.1.0-beta2' });
    assert.equal(beta.status, 201, beta.text);
    assert.equal(beta.json.version_normalized, '1.1.0.0-beta2');
    const dev = await r.upload('acme/foo', zips['dev-main'], { version: 'dev-main' });
    assert.equal(dev.status, 201, dev.text);
    assert.equal((await r.request('GET', '/composer/packages.json')).json['available-packages'][0], 'acme/foo');
  });

  it('serves /p2/{name}.json (tagged) minified, with dist URL, reference and sha1 of each zip', async () => {
    const res = await r.request('GET', '/composer/p2/acme/foo.json');
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(res.json.minified, 'composer/2.0');
    const versions = expand(res.json.packages['acme/foo']);
    assert.deepEqual(versions.map((v) => [v.name, v.version, v.version_normalized]), [
      ['acme/foo', 'v1.1.0-beta2', '1.1.0.0-beta2'],
      ['acme/foo', '1.0.0', '1.0.0.0'],
    ]);
    const ref = sha1(zips['1.0.0']);
    assert.deepEqual(versions[1].dist, { type: 'zip', url: `${BASE}/dists/acme/foo/${ref}.zip`, reference: ref, shasum: ref });
    assert.deepEqual(versions[1].require, { php: '>=8.1' });
    assert.equal(versions[0].require, undefined, 'a key the newer upload lacks is __unset in the minified list');
    assert.deepEqual(versions[1].autoload, { 'psr-4': { 'Test\\': 'src/' } });
    assert.match(String(versions[1].time), /^\d{4}-\d\d-\d\dT/);
  });

  it('serves /p2/{name}~dev.json with the dev branches only', async () => {
    const res = await r.request('GET', '/composer/p2/acme/foo~dev.json');
    assert.equal(res.status, 200, res.text);
    const [dev] = expand(res.json.packages['acme/foo']);
    assert.equal(res.json.packages['acme/foo'].length, 1);
    assert.equal(dev.version, 'dev-main');
    assert.equal((dev.dist as { shasum: string }).shasum, sha1(zips['dev-main']));
  });

  it('answers If-Modified-Since and If-None-Match on metadata with 304, HEAD without a body', async () => {
    const res = await r.request('GET', '/composer/p2/acme/foo.json');
    assert.ok(res.headers['last-modified'] && res.headers.etag);
    const since = await r.request('GET', '/composer/p2/acme/foo.json', { headers: { 'if-modified-since': res.headers['last-modified'] } });
    assert.equal(since.status, 304);
    assert.equal(since.bytes.length, 0);
    const match = await r.request('GET', '/composer/p2/acme/foo.json', { headers: { 'if-none-match': res.headers.etag } });
    assert.equal(match.status, 304);
    const head = await r.request('HEAD', '/composer/p2/acme/foo.json');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(res.bytes.length));
    assert.equal(head.bytes.length, 0);
  });

  it('gives metadata another ETag and other dist URLs under another host', async () => {
    const here = await r.request('GET', '/composer/p2/acme/foo.json');
    const there = await r.request('GET', '/composer/p2/acme/foo.json', { headers: { host: 'mirror.example.com' } });
    assert.notEqual(here.headers.etag, there.headers.etag);
    const [newest] = expand(there.json.packages['acme/foo']);
    assert.match((newest.dist as { url: string }).url, /^http:\/\/mirror\.example\.com\/composer\/dists\/acme\/foo\/[0-9a-f]{40}\.zip$/);
  });

  it('answers 404 for unknown packages and malformed metadata names', async () => {
    for (const p of ['/composer/p2/acme/none.json', '/composer/p2/acme/none~dev.json', '/composer/p2/acme/Foo.json', '/composer/p2/acme/foo.txt']) {
      const res = await r.request('GET', p);
      assert.equal(res.status, 404, p);
      assert.equal(res.json.status, 'error');
    }
  });

  it('serves a dist by its reference: whole, by Range, conditional; 404 for another reference', async () => {
    const ref = sha1(zips['1.0.0']);
    const res = await r.request('GET', `/composer/dists/acme/foo/${ref}.zip`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/zip');
    assert.ok(res.bytes.equals(zips['1.0.0']));
    const range = await r.request('GET', `/composer/dists/acme/foo/${ref}.zip`, { headers: { range: 'bytes=0-3' } });
    assert.equal(range.status, 206);
    assert.deepEqual([...range.bytes], [0x50, 0x4b, 0x03, 0x04]);
    assert.equal((await r.request('GET', `/composer/dists/acme/foo/${ref}.zip`, { headers: { 'if-none-match': res.headers.etag } })).status, 304);
    assert.equal((await r.request('GET', `/composer/dists/acme/foo/${'0'.repeat(40)}.zip`)).status, 404);
    assert.equal((await r.request('GET', `/composer/dists/acme/foo/${ref}.tar`)).status, 404);
  });

  it('refuses a second upload of a tagged version (also spelled otherwise) and stores nothing', async () => {
    const before = await r.keys();
    for (const version of ['1.0.0', '1.0', 'v1.0.0.0']) {
      const res = await r.upload('acme/foo', await makePackageZip('acme/foo', version), {});
      assert.equal(res.status, 409, `${version}: ${res.text}`);
      assert.match(res.json.message, /acme\/foo version 1\.0\.0 already exists/);
    }
    assert.deepEqual(await r.keys(), before);
  });

  it('reads composer.json of a zip larger than the tail kept in memory from storage; a refused one stores nothing', async () => {
    // Random bytes stored uncompressed: the zip is larger than the 64 KiB kept while it streams in.
    const data = crypto.randomBytes(200 * 1024);
    const zipOf = (name: string) => makePackageZip(name, '2.0.0', { extraEntries: [{ name: `${name.replace('/', '-')}-2.0.0/data.bin`, data, method: 'stored' }] });
    const big = await zipOf('acme/big');
    assert.ok(big.length > 200 * 1024);
    const before = await r.keys();
    const misnamed = await r.upload('acme/big', await zipOf('acme/other'));
    assert.equal(misnamed.status, 400, misnamed.text);
    assert.match(misnamed.json.message, /composer\.json names package acme\/other/);
    assert.deepEqual(await r.keys(), before);
    const res = await r.upload('acme/big', big);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.shasum, sha1(big));
    const minified = (await r.request('GET', '/composer/p2/acme/big.json')).json.packages['acme/big'];
    assert.equal(minified[0].version, '2.0.0');
    const dist = await r.request('GET', `/composer/dists/acme/big/${sha1(big)}.zip`);
    assert.equal(dist.status, 200);
    assert.ok(dist.bytes.equals(big));
  });

  it('replaces a dev branch with a new upload and removes the old zip', async () => {
    const zipKeys = async () => (await r.keys()).filter((key) => key.startsWith('composer/packages/acme/foo/dists/'));
    const before = await zipKeys();
    const next = await makePackageZip('acme/foo', 'dev-main', { extra: { description: 'second head of main' } });
    assert.equal((await r.upload('acme/foo', next)).status, 201);
    const dev = expand((await r.request('GET', '/composer/p2/acme/foo~dev.json')).json.packages['acme/foo']);
    assert.equal(dev.length, 1);
    assert.equal((dev[0].dist as { reference: string }).reference, sha1(next));
    assert.equal(dev[0].description, 'second head of main');
    assert.equal((await r.request('GET', `/composer/dists/acme/foo/${sha1(zips['dev-main'])}.zip`)).status, 404);
    assert.equal((await zipKeys()).length, before.length, 'one zip in, one out');
  });

  it('repairs a missing or stale metadata file from the truth on read', async () => {
    const key = path.join(r.dir, 'composer/packages/acme/foo/p2.json');
    const good = (await r.request('GET', '/composer/p2/acme/foo.json')).json;
    await fsp.rm(key);
    assert.deepEqual((await r.request('GET', '/composer/p2/acme/foo.json')).json, good);
    await fsp.writeFile(key, JSON.stringify({ revision: '1-old', minified: 'composer/2.0', packages: { 'acme/foo': [] } }));
    assert.deepEqual((await r.request('GET', '/composer/p2/acme/foo.json')).json, good);
  });
});

describe('composer: an upload writes only the derived documents it changes', () => {
  let r: IComposerTestRegistry;
  before(async () => {
    r = await createComposerRegistry();
  });
  after(() => r.close());

  /** The inode of each stored file the package's metadata and search lie in: the filesystem backend writes a new file and renames it over the old. */
  async function written() {
    // What follows the answers is written first.
    await r.registry.getStorage().settled();
    const searchDir = path.join(r.dir, 'composer/search');
    const shards = await fsp.readdir(searchDir);
    assert.equal(shards.length, 1, 'one package, one search shard');
    const ino = async (file: string) => (await fsp.stat(file)).ino;
    return {
      tagged: await ino(path.join(r.dir, 'composer/packages/acme/bar/p2.json')),
      dev: await ino(path.join(r.dir, 'composer/packages/acme/bar/p2-dev.json')),
      search: await ino(path.join(searchDir, shards[0])),
    };
  }
  const versions = async (file: string) => {
    const res = await r.request('GET', `/composer/p2/acme/${file}`);
    assert.equal(res.status, 200, res.text);
    return expand(res.json.packages['acme/bar']).map((version) => version.version);
  };
  const found = async () => (await r.request('GET', '/composer/search.json?q=bar')).json.results.map((hit: { description: string }) => hit.description);
  const upload = async (version: string, description = 'the bar') => {
    const res = await r.upload('acme/bar', await makePackageZip('acme/bar', version, { version: version.startsWith('dev-') ? null : version, extra: { description } }), {
      version: version.startsWith('dev-') ? version : undefined,
    });
    assert.equal(res.status, 201, res.text);
  };

  it('leaves ~dev.json and the search entry alone on a tagged upload that changes neither; reads find them current', async () => {
    await upload('1.0.0');
    const first = await written();
    await upload('1.1.0');
    const second = await written();
    assert.notEqual(second.tagged, first.tagged, 'p2.json written');
    assert.equal(second.dev, first.dev, '~dev.json not written');
    assert.equal(second.search, first.search, 'search shard not written');
    assert.deepEqual(await versions('bar.json'), ['1.1.0', '1.0.0']);
    assert.deepEqual(await versions('bar~dev.json'), []);
    assert.deepEqual(await found(), ['the bar']);
    assert.deepEqual(await written(), second, 'the reads found every document current (no repair wrote one)');
  });

  it('leaves p2.json alone on a dev upload; writes the search entry once the description changes', async () => {
    const before = await written();
    await upload('dev-main');
    const afterDev = await written();
    assert.equal(afterDev.tagged, before.tagged, 'p2.json not written');
    assert.notEqual(afterDev.dev, before.dev, '~dev.json written');
    assert.equal(afterDev.search, before.search, 'search shard not written');
    assert.deepEqual(await versions('bar~dev.json'), ['dev-main']);
    await upload('1.2.0', 'the new bar');
    const afterDescription = await written();
    assert.notEqual(afterDescription.search, afterDev.search, 'search shard written');
    assert.equal(afterDescription.dev, afterDev.dev, '~dev.json not written');
    assert.deepEqual(await found(), ['the new bar']);
    assert.deepEqual(await versions('bar.json'), ['1.2.0', '1.1.0', '1.0.0']);
  });

  it('repairs a ~dev.json removed behind its back, although this instance remembers having written it', async () => {
    const key = path.join(r.dir, 'composer/packages/acme/bar/p2-dev.json');
    await fsp.rm(key);
    assert.deepEqual(await versions('bar~dev.json'), ['dev-main']);
    await fsp.stat(key);
    // The next tagged upload finds it current again and leaves it alone.
    const before = await written();
    await upload('1.3.0', 'the new bar');
    assert.equal((await written()).dev, before.dev);
    assert.deepEqual(await versions('bar~dev.json'), ['dev-main']);
  });

  it('writes everything again after the package was deleted and uploaded anew', async () => {
    assert.equal((await r.request('DELETE', '/composer/packages/acme/bar')).status, 200);
    assert.deepEqual(await found(), []);
    await upload('2.0.0', 'the bar again');
    assert.deepEqual(await versions('bar.json'), ['2.0.0']);
    assert.deepEqual(await versions('bar~dev.json'), []);
    assert.deepEqual(await found(), ['the bar again']);
  });
});

describe('composer: list, search', () => {
  let r: IComposerTestRegistry;
  before(async () => {
    r = await createComposerRegistry();
    const uploads: [string, Record<string, unknown>][] = [
      ['acme/logger', { description: 'Writes log lines', type: 'library' }],
      ['acme/log-viewer', { description: 'Shows logs in a browser', type: 'project' }],
      ['other/cache', { description: 'A cache for log lines', type: 'library' }],
      ['acme/private', { description: 'Private parts', type: 'library' }],
    ];
    for (const [name, extra] of uploads) assert.equal((await r.upload(name, await makePackageZip(name, '1.0.0', { extra }))).status, 201);
  });
  after(() => r.close());

  it('lists package names, filtered by * patterns and vendor', async () => {
    assert.deepEqual((await r.request('GET', '/composer/packages/list.json')).json, { packageNames: ['acme/log-viewer', 'acme/logger', 'acme/private', 'other/cache'] });
    assert.deepEqual((await r.request('GET', '/composer/packages/list.json?filter=acme/log*')).json.packageNames, ['acme/log-viewer', 'acme/logger']);
    assert.deepEqual((await r.request('GET', '/composer/packages/list.json?vendor=other')).json.packageNames, ['other/cache']);
    assert.deepEqual((await r.request('GET', '/composer/packages/list.json?vendor=acme&filter=*cache')).json.packageNames, []);
  });

  it('searches names and descriptions, by type, exact names first', async () => {
    const log = (await r.request('GET', '/composer/search.json?q=log')).json;
    assert.deepEqual(log.results.map((hit: { name: string }) => hit.name).sort(), ['acme/log-viewer', 'acme/logger', 'other/cache']);
    assert.equal(log.total, 3);
    assert.deepEqual(log.results.find((hit: { name: string }) => hit.name === 'acme/logger'), { name: 'acme/logger', description: 'Writes log lines', url: `${BASE}/p2/acme/logger.json` });
    const projects = (await r.request('GET', '/composer/search.json?q=log&type=project')).json;
    assert.deepEqual(projects.results.map((hit: { name: string }) => hit.name), ['acme/log-viewer']);
    assert.equal((await r.request('GET', '/composer/search.json?q=acme/logger')).json.results[0].name, 'acme/logger');
    assert.deepEqual((await r.request('GET', '/composer/search.json?q=nothing-like-it')).json, { results: [], total: 0 });
  });

  it('shows a token scoped to one package only that package, everywhere', async () => {
    const token = r.tokens.readonly;
    assert.deepEqual((await r.request('GET', '/composer/packages.json', { token })).json['available-packages'], ['acme/private']);
    assert.deepEqual((await r.request('GET', '/composer/packages/list.json', { token })).json.packageNames, ['acme/private']);
    assert.deepEqual((await r.request('GET', '/composer/search.json?q=', { token })).json.results.map((hit: { name: string }) => hit.name), ['acme/private']);
    assert.equal((await r.request('GET', '/composer/p2/acme/logger.json', { token })).status, 403);
    assert.equal((await r.request('GET', '/composer/p2/acme/private.json', { token })).status, 200);
  });
});

describe('composer: auth and delete', () => {
  let r: IComposerTestRegistry;
  before(async () => {
    r = await createComposerRegistry();
    for (const version of ['1.0.0', '2.0.0']) assert.equal((await r.upload('acme/foo', await makePackageZip('acme/foo', version))).status, 201);
    assert.equal((await r.upload('acme/foo', await makePackageZip('acme/foo', 'feature-x', { version: 'dev-feature/x' }))).status, 201);
  });
  after(() => r.close());

  it('needs a token for reads and lists (anonymous read is off), Bearer or Basic with the token as password', async () => {
    for (const p of ['/composer/packages.json', '/composer/packages/list.json', '/composer/search.json?q=a', '/composer/p2/acme/foo.json']) {
      const res = await r.request('GET', p, { token: null });
      assert.equal(res.status, 401, p);
      assert.deepEqual(res.json, { status: 'error', message: 'authentication required' });
      assert.match(res.headers['www-authenticate'], /^Basic /);
    }
    const basic = `Basic ${Buffer.from(`token:${r.tokens.bob}`).toString('base64')}`;
    assert.equal((await r.request('GET', '/composer/p2/acme/foo.json', { authorization: basic })).status, 200);
    const wrong = await r.request('GET', '/composer/packages.json', { authorization: `Bearer not-a-token` });
    assert.equal(wrong.status, 401);
  });

  it('checks write per package and stores nothing when refused', async () => {
    const before = await r.keys();
    const denied = await r.upload('acme/foo', await makePackageZip('acme/foo', '3.0.0'), { token: r.tokens.bob });
    assert.equal(denied.status, 403);
    assert.match(denied.json.message, /does not grant write on composer:package:acme\/foo/);
    assert.equal((await r.upload('acme/foo', await makePackageZip('acme/foo', '3.0.0'), { token: null })).status, 401);
    assert.deepEqual(await r.keys(), before);
    assert.equal((await r.upload('bob/tool', await makePackageZip('bob/tool', '0.1.0'), { token: r.tokens.bob })).status, 201);
  });

  it('deletes one version (needs delete), by its version or a spelling of it, then the package', async () => {
    assert.equal((await r.request('DELETE', '/composer/packages/acme/foo/1.0.0', { token: r.tokens.bob })).status, 403);
    const one = await r.request('DELETE', '/composer/packages/acme/foo/1.0');
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json, { status: 'success', deleted: 'acme/foo 1.0' });
    const tagged = expand((await r.request('GET', '/composer/p2/acme/foo.json')).json.packages['acme/foo']);
    assert.deepEqual(tagged.map((v) => v.version), ['2.0.0']);
    assert.equal((await r.request('DELETE', '/composer/packages/acme/foo/1.0.0')).status, 404);

    // A branch with a slash in its name, unencoded in the path.
    assert.equal((await r.request('DELETE', '/composer/packages/acme/foo/dev-feature/x')).status, 200);
    assert.deepEqual((await r.request('GET', '/composer/p2/acme/foo~dev.json')).json.packages['acme/foo'], []);

    const whole = await r.request('DELETE', '/composer/packages/acme/foo');
    assert.equal(whole.status, 200);
    assert.equal((await r.request('GET', '/composer/p2/acme/foo.json')).status, 404);
    assert.equal((await r.request('GET', '/composer/p2/acme/foo~dev.json')).status, 404);
    assert.deepEqual((await r.request('GET', '/composer/packages.json')).json['available-packages'], ['bob/tool']);
    assert.deepEqual((await r.request('GET', '/composer/search.json?q=foo')).json.results, []);
    assert.deepEqual((await r.keys()).filter((key) => key.includes('acme/foo')), [], 'no zip, document or marker left');
    assert.equal((await r.request('DELETE', '/composer/packages/acme/foo')).status, 404);
  });

  it('publishes again after a delete', async () => {
    assert.equal((await r.upload('acme/foo', await makePackageZip('acme/foo', '1.0.0'))).status, 201);
    assert.deepEqual(expand((await r.request('GET', '/composer/p2/acme/foo.json')).json.packages['acme/foo']).map((v) => v.version), ['1.0.0']);
  });
});

describe('composer: anonymous read and registryUrl', () => {
  let r: IComposerTestRegistry;
  before(async () => {
    r = await createComposerRegistry({ composer: { anonymousRead: true, registryUrl: 'https://registry.example.com/php' } });
    assert.equal((await r.upload('acme/open', await makePackageZip('acme/open', '1.0.0'))).status, 201);
  });
  after(() => r.close());

  it('lets anyone read, lists everything, and writes URLs below registryUrl', async () => {
    const root = await r.request('GET', '/composer/packages.json', { token: null });
    assert.equal(root.status, 200);
    assert.equal(root.json['metadata-url'], 'https://registry.example.com/php/p2/%package%.json');
    assert.deepEqual(root.json['available-packages'], ['acme/open']);
    const metadata = await r.request('GET', '/composer/p2/acme/open.json', { token: null });
    assert.equal(metadata.status, 200);
    const [entry] = expand(metadata.json.packages['acme/open']);
    assert.match((entry.dist as { url: string }).url, /^https:\/\/registry\.example\.com\/php\/dists\/acme\/open\/[0-9a-f]{40}\.zip$/);
    assert.equal((await r.request('GET', '/composer/packages.json', { authorization: 'Bearer not-a-token' })).status, 401, 'a wrong token is still refused');
  });

  it('still needs a token to upload', async () => {
    assert.equal((await r.upload('acme/open', await makePackageZip('acme/open', '2.0.0'), { token: null })).status, 401);
  });
});
