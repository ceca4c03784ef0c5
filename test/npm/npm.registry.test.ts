import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { assertHeadAndNotModifiedLikeGet } from '../helpers/headlikeget.js';
import { createNpmRegistry, escapeName, makeTarball, publishBody, type INpmTestRegistry } from './fixtures.js';

const CORGI = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';

describe('npm: publish and read', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
  });
  after(() => r.close());

  it('publishes a new package and serves the full document', async () => {
    const published = await r.publish('alpha', '1.0.0', { manifest: { keywords: ['first', 'greek'], license: 'MIT' } });
    assert.equal(published.status, 201, published.text);
    const res = await r.request('GET', '/npm/alpha');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.ok(res.headers.etag);
    const doc = res.json;
    assert.equal(doc.name, 'alpha');
    assert.equal(doc._id, 'alpha');
    assert.match(doc._rev, /^\d+-[0-9a-f]{32}$/);
    assert.deepEqual(doc['dist-tags'], { latest: '1.0.0' });
    assert.equal(doc.description, 'alpha test package');
    assert.deepEqual(doc.keywords, ['first', 'greek']);
    assert.equal(doc.license, 'MIT');
    assert.ok(doc.time.created && doc.time.modified && doc.time['1.0.0']);
    assert.deepEqual(doc.maintainers, [{ name: 'alice' }]);
    const version = doc.versions['1.0.0'];
    assert.equal(version._npmUser.name, 'alice');
    assert.equal(version.dist.tarball, 'http://registry.example.com/npm/alpha/-/alpha-1.0.0.tgz');
    assert.match(version.dist.integrity, /^sha512-/);
    assert.match(version.dist.shasum, /^[0-9a-f]{40}$/);
  });

  it('serves the abbreviated document for the install Accept header', async () => {
    const res = await r.request('GET', '/npm/alpha', { headers: { accept: CORGI } });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/vnd\.npm\.install-v1\+json/);
    assert.equal(res.headers.vary, 'Accept, Accept-Encoding');
    assert.deepEqual(Object.keys(res.json).sort(), ['_rev', 'dist-tags', 'modified', 'name', 'versions']);
    const version = res.json.versions['1.0.0'];
    assert.equal(version.dist.tarball, 'http://registry.example.com/npm/alpha/-/alpha-1.0.0.tgz');
    assert.equal(version.description, undefined, 'descriptions are not part of the abbreviated document');
    assert.equal(version.main, undefined);
  });

  it('answers 304 to If-None-Match with the current ETag, for both documents', async () => {
    for (const accept of [undefined, CORGI]) {
      const first = await r.request('GET', '/npm/alpha', { headers: accept ? { accept } : {} });
      const again = await r.request('GET', '/npm/alpha', { headers: { ...(accept ? { accept } : {}), 'if-none-match': first.headers.etag } });
      assert.equal(again.status, 304);
      assert.equal(again.bytes.length, 0);
      assert.equal(again.headers.etag, first.headers.etag);
    }
    const full = await r.request('GET', '/npm/alpha');
    const corgi = await r.request('GET', '/npm/alpha', { headers: { accept: CORGI } });
    assert.notEqual(full.headers.etag, corgi.headers.etag);
    const stale = await r.request('GET', '/npm/alpha', { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(stale.status, 200);
  });

  it('sends documents gzip-compressed when asked (as npm does), with a weak ETag', async () => {
    const dependencies = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`dependency-${i}`, `^${i}.0.0`]));
    await r.publish('zipped', '1.0.0', { manifest: { description: 'x'.repeat(2000), dependencies } });
    for (const accept of [undefined, CORGI]) {
      const plain = await r.request('GET', '/npm/zipped', { headers: accept ? { accept } : {} });
      const zipped = await r.request('GET', '/npm/zipped', { headers: { ...(accept ? { accept } : {}), 'accept-encoding': 'gzip,deflate' } });
      assert.equal(zipped.status, 200);
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.equal(Number(zipped.headers['content-length']), zipped.bytes.length);
      assert.ok(zipped.bytes.length < plain.bytes.length);
      assert.deepEqual(zlib.gunzipSync(zipped.bytes), plain.bytes);
      assert.equal(zipped.headers.etag, `W/${plain.headers.etag}`);
      const again = await r.request('GET', '/npm/zipped', { headers: { ...(accept ? { accept } : {}), 'accept-encoding': 'gzip', 'if-none-match': zipped.headers.etag } });
      assert.equal(again.status, 304);
    }
    const refused = await r.request('GET', '/npm/zipped', { headers: { 'accept-encoding': 'gzip;q=0, identity' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    // HEAD and 304 as every protocol's documents: the GET's headers, the tag the client holds.
    for (const accept of [undefined, CORGI]) {
      await assertHeadAndNotModifiedLikeGet((method, headers) => r.request(method, '/npm/zipped', { headers: { ...(accept ? { accept } : {}), ...headers } }));
    }
  });

  it('streams the tarball, answers HEAD, and 404s unknown files', async () => {
    const { tarball } = await publishBody('alpha', '1.0.0'); // same manifest → not the same bytes (gzip is deterministic, content too)
    const res = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(Number(res.headers['content-length']), res.bytes.length);
    assert.ok(zlib.gunzipSync(res.bytes).length > 0);
    const doc = (await r.request('GET', '/npm/alpha')).json;
    assert.equal(`sha512-${crypto.createHash('sha512').update(res.bytes).digest('base64')}`, doc.versions['1.0.0'].dist.integrity);
    assert.ok(tarball.length > 0);
    const head = await r.request('HEAD', '/npm/alpha/-/alpha-1.0.0.tgz');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(res.bytes.length));
    assert.equal(head.bytes.length, 0);
    assert.equal((await r.request('GET', '/npm/alpha/-/alpha-9.9.9.tgz')).status, 404);
    assert.equal((await r.request('GET', '/npm/alpha/-/other-1.0.0.tgz')).status, 404);
    assert.equal((await r.request('GET', '/npm/nope')).status, 404);
    assert.deepEqual((await r.request('GET', '/npm/nope')).json, { error: 'package nope not found' });
  });

  it('answers tarball Range and conditional requests like any stored object (206, 416, 304)', async () => {
    const whole = (await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz')).bytes;
    const size = whole.length;
    const ranged = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz', { headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers['content-range'], `bytes 10-19/${size}`);
    assert.equal(ranged.headers['accept-ranges'], 'bytes');
    assert.deepEqual(ranged.bytes, whole.subarray(10, 20));
    const suffix = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz', { headers: { range: 'bytes=-7' } });
    assert.equal(suffix.status, 206);
    assert.deepEqual(suffix.bytes, whole.subarray(size - 7));
    for (const range of [`bytes=${size}-`, 'bytes=500-0']) {
      const refused = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz', { headers: { range } });
      assert.equal(refused.status, 416, range);
      assert.equal(refused.headers['content-range'], `bytes */${size}`);
      assert.ok(refused.json.error, 'npm error shape');
    }
    const first = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz');
    assert.ok(first.headers['last-modified']);
    const again = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz', { headers: { 'if-none-match': first.headers.etag } });
    assert.equal(again.status, 304);
    assert.equal(again.bytes.length, 0);
    const since = await r.request('GET', '/npm/alpha/-/alpha-1.0.0.tgz', { headers: { 'if-modified-since': first.headers['last-modified'] } });
    assert.equal(since.status, 304);
  });

  it('publishes a second version; latest moves; one version by number and by tag', async () => {
    const res = await r.publish('alpha', '1.1.0', { manifest: { dependencies: { beta: '^1.0.0' } } });
    assert.equal(res.status, 201, res.text);
    const doc = (await r.request('GET', '/npm/alpha')).json;
    assert.deepEqual(Object.keys(doc.versions), ['1.0.0', '1.1.0']);
    assert.equal(doc['dist-tags'].latest, '1.1.0');
    const corgi = (await r.request('GET', '/npm/alpha', { headers: { accept: CORGI } })).json;
    assert.deepEqual(corgi.versions['1.1.0'].dependencies, { beta: '^1.0.0' });
    const byTag = await r.request('GET', '/npm/alpha/latest');
    assert.equal(byTag.status, 200);
    assert.equal(byTag.json.version, '1.1.0');
    assert.equal(byTag.json.dist.tarball, 'http://registry.example.com/npm/alpha/-/alpha-1.1.0.tgz');
    assert.equal((await r.request('GET', '/npm/alpha/1.0.0')).json.version, '1.0.0');
    assert.equal((await r.request('GET', '/npm/alpha/^1.0.0')).json.version, '1.1.0');
    assert.equal((await r.request('GET', '/npm/alpha/2.0.0')).status, 404);
  });

  it('publishes with another tag without moving latest, and marks install scripts', async () => {
    const res = await r.publish('alpha', '2.0.0-beta.1', { tag: 'next', manifest: { scripts: { postinstall: 'node x.js' } } });
    assert.equal(res.status, 201, res.text);
    const corgi = (await r.request('GET', '/npm/alpha', { headers: { accept: CORGI } })).json;
    assert.deepEqual(corgi['dist-tags'], { latest: '1.1.0', next: '2.0.0-beta.1' });
    assert.equal(corgi.versions['2.0.0-beta.1'].hasInstallScript, true);
    assert.equal(corgi.versions['1.1.0'].hasInstallScript, undefined);
  });

  it('refuses to publish over an existing version with the message npm shows, storing nothing', async () => {
    const before = await r.keys();
    const documentBefore = (await r.request('GET', '/npm/alpha')).text;
    const res = await r.publish('alpha', '1.0.0', { manifest: { description: 'changed' } });
    assert.equal(res.status, 403);
    assert.deepEqual(res.json, { error: 'You cannot publish over the previously published versions: 1.0.0.' });
    assert.deepEqual(await r.keys(), before);
    assert.equal((await r.request('GET', '/npm/alpha')).text, documentBefore);
  });

  it('publishes scoped packages under @scope%2fname and @scope/name alike', async () => {
    const res = await r.publish('@team/widget', '0.1.0');
    assert.equal(res.status, 201, res.text);
    const slashed = await r.request('PUT', '/npm/@team/widget', { body: (await publishBody('@team/widget', '0.2.0')).body });
    assert.equal(slashed.status, 201, slashed.text);
    for (const path of ['/npm/@team%2fwidget', '/npm/@team%2Fwidget', '/npm/@team/widget']) {
      const doc = await r.request('GET', path);
      assert.equal(doc.status, 200, path);
      assert.deepEqual(Object.keys(doc.json.versions), ['0.1.0', '0.2.0']);
      assert.equal(doc.json.versions['0.1.0'].dist.tarball, 'http://registry.example.com/npm/@team/widget/-/widget-0.1.0.tgz');
    }
    for (const path of ['/npm/@team/widget/-/widget-0.1.0.tgz', '/npm/@team%2fwidget/-/widget-0.1.0.tgz', '/npm/@team/widget/-/@team/widget-0.1.0.tgz']) {
      assert.equal((await r.request('GET', path)).status, 200, path);
    }
    assert.equal((await r.request('GET', '/npm/@team/widget/0.2.0')).json.version, '0.2.0');
    assert.equal((await r.request('GET', '/npm/@team%2fwidget/0.1.0')).json.version, '0.1.0');
  });

  it('writes tarball URLs that follow the Host header (nothing absolute is stored)', async () => {
    const res = await r.request('GET', '/npm/alpha', { headers: { host: 'mirror.example.com:8443' } });
    assert.equal(res.json.versions['1.0.0'].dist.tarball, 'http://mirror.example.com:8443/npm/alpha/-/alpha-1.0.0.tgz');
    const corgi = await r.request('GET', '/npm/alpha', { headers: { host: 'other.example.com', accept: CORGI } });
    assert.equal(corgi.json.versions['1.0.0'].dist.tarball, 'http://other.example.com/npm/alpha/-/alpha-1.0.0.tgz');
    const stored = await r.registry.getStorage().getBytes('npm/packages/alpha/packument.json');
    assert.ok(!stored!.bytes.toString().includes('example.com'));
  });

  it('accepts a body an Express parser already parsed', async () => {
    const { body } = await publishBody('parsed-body', '1.0.0');
    const res = await r.registry.handleRequest({
      method: 'PUT',
      path: '/npm/parsed-body',
      headers: { authorization: `Bearer ${r.tokens.alice}`, host: 'registry.example.com' },
      query: {},
      body: body as unknown as Record<string, unknown>,
    });
    assert.equal(res.status, 201);
    assert.equal((await r.request('GET', '/npm/parsed-body')).status, 200);
  });
});

describe('npm: registryUrl', () => {
  it('writes tarball URLs below the configured registryUrl whatever the Host', async () => {
    const r = await createNpmRegistry({ npm: { registryUrl: 'https://registry.example.com/npm/' } });
    try {
      assert.equal((await r.publish('gamma', '1.0.0')).status, 201);
      const res = await r.request('GET', '/npm/gamma', { headers: { host: '127.0.0.1:9999' } });
      assert.equal(res.json.versions['1.0.0'].dist.tarball, 'https://registry.example.com/npm/gamma/-/gamma-1.0.0.tgz');
    } finally {
      await r.close();
    }
  });
});

describe('npm: concurrent writers', () => {
  it('loses no version when many versions are published at once, from two instances on one directory', async () => {
    const first = await createNpmRegistry();
    const second = await createNpmRegistry({ dir: first.dir });
    try {
      const versions = Array.from({ length: 12 }, (_, i) => `1.0.${i}`);
      const results = await Promise.all(
        versions.map(async (version, i) => {
          const target = i % 2 === 0 ? first : second;
          const { body } = await publishBody('race', version);
          return target.request('PUT', '/npm/race', {
            body,
            token: i % 2 === 0 ? first.tokens.alice : second.tokens.alice,
          });
        }),
      );
      assert.deepEqual(results.map((res) => res.status), versions.map(() => 201));
      for (const r of [first, second]) {
        const doc = (await r.request('GET', '/npm/race')).json;
        assert.deepEqual(Object.keys(doc.versions).sort(), [...versions].sort());
        const corgi = (await r.request('GET', '/npm/race', { headers: { accept: CORGI } })).json;
        assert.deepEqual(Object.keys(corgi.versions).sort(), [...versions].sort(), 'abbreviated document caught up');
        assert.equal(corgi['dist-tags'].latest, doc['dist-tags'].latest);
      }
      const search = (await first.request('GET', '/npm/-/v1/search?text=race')).json;
      assert.equal(search.objects[0].package.version, (await first.request('GET', '/npm/race')).json['dist-tags'].latest);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('lets exactly one of two publishes of the same version win', async () => {
    const r = await createNpmRegistry();
    try {
      const a = await publishBody('same', '1.0.0', { manifest: { description: 'a' } });
      const b = await publishBody('same', '1.0.0', { manifest: { description: 'b' } });
      const results = await Promise.all([a, b].map(({ body }) => r.request('PUT', '/npm/same', { body })));
      const statuses = results.map((res) => res.status).sort();
      assert.equal(statuses[0], 201);
      assert.ok([403, 409].includes(statuses[1]), `second publish: ${statuses[1]}`);
      const doc = (await r.request('GET', '/npm/same')).json;
      const tarball = await r.request('GET', '/npm/same/-/same-1.0.0.tgz');
      assert.equal(`sha512-${crypto.createHash('sha512').update(tarball.bytes).digest('base64')}`, doc.versions['1.0.0'].dist.integrity);
    } finally {
      await r.close();
    }
  });

  it('takes over a tarball a failed publish left at its key once it is a minute old, and not before', async () => {
    const r = await createNpmRegistry();
    try {
      const key = 'npm/packages/leftover/tarballs/leftover-1.0.0.tgz';
      await r.registry.getStorage().putObject(key, Buffer.from('left by a publish that died'), { protocol: 'npm' });
      const young = await r.publish('leftover', '1.0.0');
      assert.equal(young.status, 409, young.text);
      assert.match(young.json.error, /another publish of leftover@1\.0\.0 is in progress/);
      assert.equal((await r.registry.getStorage().getBytes(key))?.bytes.toString(), 'left by a publish that died');
      const twoMinutesAgo = new Date(Date.now() - 120_000);
      await fsp.utimes(path.join(r.dir, key), twoMinutesAgo, twoMinutesAgo);
      const { body, tarball } = await publishBody('leftover', '1.0.0');
      const res = await r.request('PUT', '/npm/leftover', { body });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual((await r.request('GET', '/npm/leftover/-/leftover-1.0.0.tgz')).bytes, tarball);
    } finally {
      await r.close();
    }
  });

  it('a publish that fails after its packument landed keeps the tarballs of the versions it lists', async () => {
    // The derived write after the packument fails (as a lost race on S3 once did). Once the packument landed the
    // publish has happened (derived documents are repaired on read), so it answers 201 and keeps that version's tarball.
    const r = await createNpmRegistry({
      storageHooks: {
        beforePut: (ctx) => (ctx.key.endsWith('/landed/abbreviated.json') ? { allowed: false, reason: 'derived writes refused' } : { allowed: true }),
      },
    });
    try {
      const res = await r.publish('landed', '1.0.0');
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys((await r.request('GET', '/npm/landed')).json.versions), ['1.0.0'], 'the packument write landed');
      const tarball = await r.request('GET', '/npm/landed/-/landed-1.0.0.tgz');
      assert.equal(tarball.status, 200, 'the listed version keeps its tarball');
      const doc = (await r.request('GET', '/npm/landed')).json;
      assert.equal(`sha512-${crypto.createHash('sha512').update(tarball.bytes).digest('base64')}`, doc.versions['1.0.0'].dist.integrity);
    } finally {
      await r.close();
    }
  });

  it('sees another instance’s write on the next request when there is no validation window (the document cache is validated)', async () => {
    // With the default window (1 s) the first instance would serve what it checked a moment ago:
    // RegistryStorage.statRecent's own tests show the window with an injected clock.
    const first = await createNpmRegistry({ cache: { validationWindowMs: 0 } });
    const second = await createNpmRegistry({ dir: first.dir, cache: { validationWindowMs: 0 } });
    try {
      await first.publish('shared', '1.0.0');
      assert.deepEqual(Object.keys((await first.request('GET', '/npm/shared')).json.versions), ['1.0.0']);
      await second.publish('shared', '1.1.0');
      assert.deepEqual(Object.keys((await first.request('GET', '/npm/shared')).json.versions), ['1.0.0', '1.1.0']);
      assert.equal((await first.request('GET', '/npm/shared/latest')).json.version, '1.1.0');
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('npm: reads a write builds on are current, whatever the validation window', () => {
  it('?write=true and deprecate see another instance’s publish at once (a plain read may lag by the window)', async () => {
    const window = { validationWindowMs: 60_000 };
    const first = await createNpmRegistry({ cache: window });
    const second = await createNpmRegistry({ dir: first.dir, cache: window });
    try {
      await first.publish('shared', '1.0.0');
      assert.deepEqual(Object.keys((await second.request('GET', '/npm/shared')).json.versions), ['1.0.0']);
      await first.publish('shared', '1.1.0');
      // Within the window the second instance may answer a plain read from what it checked.
      assert.deepEqual(Object.keys((await second.request('GET', '/npm/shared')).json.versions), ['1.0.0']);
      // What `npm unpublish` / `npm dist-tag` read before they write back is what storage holds now.
      const doc = (await second.request('GET', '/npm/shared?write=true')).json;
      assert.deepEqual(Object.keys(doc.versions), ['1.0.0', '1.1.0']);
      delete doc.versions['1.1.0'];
      assert.equal((await second.request('PUT', `/npm/shared/-rev/${doc._rev}`, { body: doc })).status, 200);
      assert.deepEqual(Object.keys((await first.request('GET', '/npm/shared')).json.versions), ['1.0.0']);
      // A deprecation names versions the second instance has not seen yet: checked against storage, accepted.
      await first.publish('shared', '1.2.0');
      const current = (await first.request('GET', '/npm/shared?write=true')).json;
      current.versions['1.2.0'].deprecated = 'use 2';
      assert.equal((await second.request('PUT', '/npm/shared', { body: current })).status, 200);
      assert.equal((await first.request('GET', '/npm/shared?write=true')).json.versions['1.2.0'].deprecated, 'use 2');
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('npm: bad input stores nothing', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry({ npm: { limits: { maxArtifactBytes: 4096 } } });
    assert.equal((await r.publish('existing', '1.0.0')).status, 201);
  });
  after(() => r.close());

  const expectRefused = async (
    label: string,
    path: string,
    body: unknown,
    status: number,
    message: RegExp,
  ) => {
    const before = await r.keys();
    const res = await r.request('PUT', path, { body });
    assert.equal(res.status, status, `${label}: ${res.text}`);
    assert.match(res.json?.error ?? '', message, label);
    assert.deepEqual(await r.keys(), before, `${label}: storage changed`);
  };

  it('corrupt base64', async () => {
    const { body } = await publishBody('fresh', '1.0.0');
    body._attachments['fresh-1.0.0.tgz'].data = '!!not*base64!!';
    await expectRefused('corrupt base64', '/npm/fresh', body, 400, /not valid base64/);
    const { body: truncated } = await publishBody('fresh', '1.0.0');
    truncated._attachments['fresh-1.0.0.tgz'].data = truncated._attachments['fresh-1.0.0.tgz'].data.slice(0, -3);
    await expectRefused('truncated base64', '/npm/fresh', truncated, 400, /not valid base64/);
  });

  it('integrity mismatch', async () => {
    const { body } = await publishBody('fresh', '1.0.0');
    body.versions['1.0.0'].dist.integrity = `sha512-${crypto.createHash('sha512').update('other').digest('base64')}`;
    await expectRefused('integrity', '/npm/fresh', body, 400, /integrity mismatch/);
    await expectRefused('integrity on an existing package', '/npm/existing', await (async () => {
      const { body: again } = await publishBody('existing', '1.0.1');
      again.versions['1.0.1'].dist.integrity = 'sha512-AAAA';
      return again;
    })(), 400, /integrity mismatch/);
  });

  it('shasum mismatch', async () => {
    const { body } = await publishBody('fresh', '1.0.0');
    body.versions['1.0.0'].dist.shasum = '0'.repeat(40);
    await expectRefused('shasum', '/npm/fresh', body, 400, /shasum mismatch/);
  });

  it('missing _attachments', async () => {
    const { body } = await publishBody('fresh', '1.0.0');
    delete (body as { _attachments?: unknown })._attachments;
    await expectRefused('missing attachments, new package', '/npm/fresh', body, 400, /missing _attachments/);
    const { body: newVersion } = await publishBody('existing', '2.0.0');
    newVersion._attachments = {};
    await expectRefused('missing attachments, new version', '/npm/existing', newVersion, 400, /missing _attachments/);
  });

  it('attachment name not matching the version', async () => {
    const { body } = await publishBody('fresh', '1.0.0');
    body._attachments = { 'fresh-9.9.9.tgz': body._attachments['fresh-1.0.0.tgz'] };
    await expectRefused('attachment name', '/npm/fresh', body, 400, /does not match a version/);
    const { body: otherName } = await publishBody('fresh', '1.0.0');
    otherName._attachments = { 'evil-1.0.0.tgz': otherName._attachments['fresh-1.0.0.tgz'] };
    await expectRefused('attachment of another package', '/npm/fresh', otherName, 400, /does not match a version/);
  });

  it('invalid semver', async () => {
    for (const version of ['1.0', 'v1.0.0', 'latest', '1.0.0+build.1']) {
      const { body } = await publishBody('fresh', version);
      await expectRefused(`version ${version}`, '/npm/fresh', body, 400, /semver|normalised|does not match/);
    }
  });

  it('oversized tarball (configurable limit), declared length mismatch, empty tarball', async () => {
    const big = await makeTarball({ name: 'fresh', version: '1.0.0' }, 8192);
    const { body } = await publishBody('fresh', '1.0.0', { tarball: big });
    await expectRefused('oversized', '/npm/fresh', body, 413, /exceeds the limit|larger than the limit/);
    const { body: lying } = await publishBody('fresh', '1.0.0');
    lying._attachments['fresh-1.0.0.tgz'].length = 3;
    await expectRefused('length', '/npm/fresh', lying, 400, /length says 3/);
  });

  it('names: ../x, node_modules, uppercase, core module, URL/body mismatch', async () => {
    await expectRefused('node_modules', '/npm/node_modules', (await publishBody('node_modules', '1.0.0')).body, 400, /not a valid package name/);
    await expectRefused('uppercase', '/npm/Fresh', (await publishBody('Fresh', '1.0.0')).body, 400, /capital letters/);
    await expectRefused('core module', '/npm/http', (await publishBody('http', '1.0.0')).body, 400, /core module/);
    await expectRefused('leading dot', '/npm/.hidden', (await publishBody('.hidden', '1.0.0')).body, 400, /period|relative/);
    await expectRefused('mismatch', '/npm/fresh', (await publishBody('other', '1.0.0')).body, 400, /does not match the URL/);
    await expectRefused('space', '/npm/a%20b', (await publishBody('a b', '1.0.0')).body, 400, /URL-friendly/);
    for (const path of ['/npm/..%2fx', '/npm/../x', '/npm/%2e%2e/x', '/npm/@scope%2f..', '/npm/x%00y']) {
      const before = await r.keys();
      const res = await r.request('PUT', path, { body: (await publishBody('x', '1.0.0')).body });
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
      assert.deepEqual(await r.keys(), before);
    }
    assert.equal((await r.request('GET', '/npm/..%2fx')).status, 400);
  });

  it('malformed JSON, no versions, NUL characters, bad dist-tags', async () => {
    await expectRefused('malformed JSON', '/npm/fresh', '{"name": "fresh", ', 400, /malformed JSON/);
    await expectRefused('no versions', '/npm/fresh', { name: 'fresh', versions: {} }, 400, /no versions/);
    const { body: nul } = await publishBody('fresh', '1.0.0', { manifest: { description: 'a\u0000b' } });
    await expectRefused('NUL', '/npm/fresh', nul, 400, /NUL/);
    const { body: tag } = await publishBody('fresh', '1.0.0');
    tag['dist-tags'] = { '^1.0.0': '1.0.0' };
    await expectRefused('semver tag', '/npm/fresh', tag, 400, /SemVer range/);
    const { body: dangling } = await publishBody('fresh', '1.0.0');
    dangling['dist-tags'] = { latest: '7.7.7' };
    await expectRefused('dangling tag', '/npm/fresh', dangling, 400, /not being published/);
  });

  it('republishing leaves the stored document and tarball alone', async () => {
    const tarballBefore = (await r.request('GET', '/npm/existing/-/existing-1.0.0.tgz')).bytes;
    await expectRefused('republish', '/npm/existing', (await publishBody('existing', '1.0.0', { manifest: { description: 'x' } })).body, 403, /cannot publish over/);
    assert.deepEqual((await r.request('GET', '/npm/existing/-/existing-1.0.0.tgz')).bytes, tarballBefore);
  });

  it('a publish with nothing new (only a .sigstore attachment for a published version) is refused like a republish', async () => {
    const { body } = await publishBody('existing', '1.0.0');
    body._attachments = { 'existing-1.0.0.sigstore': { content_type: 'application/vnd.dev.sigstore.bundle+json;version=0.2', data: Buffer.from('{}').toString('base64'), length: 2 } };
    const untagged = { ...body, 'dist-tags': {} };
    await expectRefused('sigstore only, no dist-tags', '/npm/existing', untagged, 403, /cannot publish over the previously published versions: 1\.0\.0/);
    await expectRefused('sigstore only', '/npm/existing', body, 403, /cannot publish over/);
  });
});

describe('npm: dist-tags', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
    await r.publish('tagged', '1.0.0');
    await r.publish('tagged', '1.1.0');
    await r.publish('@s/tagged', '1.0.0');
  });
  after(() => r.close());

  it('lists, adds, moves and removes tags (also for scoped names)', async () => {
    assert.deepEqual((await r.request('GET', '/npm/-/package/tagged/dist-tags')).json, { latest: '1.1.0' });
    const add = await r.request('PUT', '/npm/-/package/tagged/dist-tags/stable', { body: '"1.0.0"', headers: { 'content-type': 'application/json' } });
    assert.equal(add.status, 201, add.text);
    assert.deepEqual((await r.request('GET', '/npm/-/package/tagged/dist-tags')).json, { latest: '1.1.0', stable: '1.0.0' });
    assert.equal((await r.request('GET', '/npm/tagged/stable')).json.version, '1.0.0');
    const corgi = (await r.request('GET', '/npm/tagged', { headers: { accept: CORGI } })).json;
    assert.equal(corgi['dist-tags'].stable, '1.0.0');
    assert.equal((await r.request('PUT', '/npm/-/package/tagged/dist-tags/latest', { body: '"1.0.0"' })).status, 201);
    assert.equal((await r.request('GET', '/npm/tagged')).json['dist-tags'].latest, '1.0.0');
    assert.equal((await r.request('DELETE', '/npm/-/package/tagged/dist-tags/stable')).status, 200);
    assert.deepEqual((await r.request('GET', '/npm/-/package/tagged/dist-tags')).json, { latest: '1.0.0' });
    assert.equal((await r.request('PUT', '/npm/-/package/@s%2ftagged/dist-tags/beta', { body: '"1.0.0"' })).status, 201);
    assert.deepEqual((await r.request('GET', '/npm/-/package/@s/tagged/dist-tags')).json, { latest: '1.0.0', beta: '1.0.0' });
  });

  it('refuses bad tags and versions', async () => {
    const before = await r.keys();
    assert.equal((await r.request('PUT', '/npm/-/package/tagged/dist-tags/1.x', { body: '"1.0.0"' })).status, 400);
    assert.equal((await r.request('PUT', '/npm/-/package/tagged/dist-tags/beta', { body: '"9.9.9"' })).status, 404);
    assert.equal((await r.request('PUT', '/npm/-/package/tagged/dist-tags/beta', { body: '{"v":1}' })).status, 400);
    assert.equal((await r.request('DELETE', '/npm/-/package/tagged/dist-tags/latest')).status, 400);
    assert.equal((await r.request('DELETE', '/npm/-/package/tagged/dist-tags/nope')).status, 404);
    assert.equal((await r.request('GET', '/npm/-/package/missing/dist-tags')).status, 404);
    assert.equal((await r.request('GET', '/npm/-/package/tagged/anything/dist-tags')).status, 404, 'two segments without a scope name no package');
    assert.equal((await r.request('HEAD', '/npm/-/package/tagged/1.0.0/dist-tags')).status, 404);
    assert.deepEqual(await r.keys(), before);
  });
});

describe('npm: deprecate and unpublish', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) assert.equal((await r.publish('life', version)).status, 201);
  });
  after(() => r.close());

  it('deprecates and undeprecates through a PUT of the whole document (the CLI flow)', async () => {
    const doc = (await r.request('GET', '/npm/life?write=true')).json;
    doc.versions['1.0.0'].deprecated = 'use 2.x';
    doc.versions['1.1.0'].deprecated = 'use 2.x';
    const put = await r.request('PUT', '/npm/life', { body: doc });
    assert.equal(put.status, 200, put.text);
    const corgi = (await r.request('GET', '/npm/life', { headers: { accept: CORGI } })).json;
    assert.equal(corgi.versions['1.0.0'].deprecated, 'use 2.x');
    assert.equal(corgi.versions['2.0.0'].deprecated, undefined);
    const again = (await r.request('GET', '/npm/life?write=true')).json;
    again.versions['1.1.0'].deprecated = '';
    assert.equal((await r.request('PUT', '/npm/life', { body: again })).status, 200);
    const full = (await r.request('GET', '/npm/life')).json;
    assert.equal(full.versions['1.0.0'].deprecated, 'use 2.x');
    assert.equal(full.versions['1.1.0'].deprecated, undefined);
    assert.equal(full.versions['2.0.0'].dist.tarball, 'http://registry.example.com/npm/life/-/life-2.0.0.tgz', 'stored form kept');
  });

  it('unpublishes one version the way libnpmpublish does; latest moves to the highest remaining', async () => {
    const doc = (await r.request('GET', '/npm/life?write=true')).json;
    const tarballUrl = new URL(doc.versions['2.0.0'].dist.tarball);
    delete doc.versions['2.0.0'];
    const put = await r.request('PUT', `/npm/life/-rev/${doc._rev}`, { body: doc });
    assert.equal(put.status, 200, put.text);
    const { _rev } = (await r.request('GET', '/npm/life?write=true')).json;
    const del = await r.request('DELETE', `${tarballUrl.pathname}/-rev/${_rev}`);
    assert.equal(del.status, 200, del.text);
    const after = (await r.request('GET', '/npm/life')).json;
    assert.deepEqual(Object.keys(after.versions), ['1.0.0', '1.1.0']);
    assert.equal(after['dist-tags'].latest, '1.1.0');
    assert.equal(after.time['2.0.0'], undefined);
    assert.equal((await r.request('GET', '/npm/life/-/life-2.0.0.tgz')).status, 404);
    const corgi = (await r.request('GET', '/npm/life', { headers: { accept: CORGI } })).json;
    assert.deepEqual(Object.keys(corgi.versions), ['1.0.0', '1.1.0']);
    const search = (await r.request('GET', '/npm/-/v1/search?text=life')).json;
    assert.equal(search.objects[0].package.version, '1.1.0');
  });

  it('refuses a stale revision (a document read before someone else’s change)', async () => {
    const stale = (await r.request('GET', '/npm/life?write=true')).json;
    await r.publish('life', '3.0.0');
    delete stale.versions['1.0.0'];
    const before = await r.keys();
    const res = await r.request('PUT', `/npm/life/-rev/${stale._rev}`, { body: stale });
    assert.equal(res.status, 409);
    assert.deepEqual(await r.keys(), before);
    assert.ok((await r.request('GET', '/npm/life')).json.versions['3.0.0'], 'the concurrent publish survived');
  });

  it('refuses to delete the tarball of a published version', async () => {
    const res = await r.request('DELETE', '/npm/life/-/life-1.0.0.tgz/-rev/1-x');
    assert.equal(res.status, 409);
    assert.equal((await r.request('GET', '/npm/life/-/life-1.0.0.tgz')).status, 200);
  });

  it('removes the package when its last version is unpublished', async () => {
    await r.publish('solo', '1.0.0');
    const doc = (await r.request('GET', '/npm/solo?write=true')).json;
    delete doc.versions['1.0.0'];
    assert.equal((await r.request('PUT', `/npm/solo/-rev/${doc._rev}`, { body: doc })).status, 200);
    assert.equal((await r.request('GET', '/npm/solo')).status, 404);
    assert.equal((await r.request('GET', '/npm/solo', { headers: { accept: CORGI } })).status, 404);
    assert.deepEqual((await r.keys()).filter((key) => key.includes('/solo/')), []);
  });

  it('unpublishes a whole package with DELETE /{name}/-rev/{rev}', async () => {
    const { _rev } = (await r.request('GET', '/npm/life?write=true')).json;
    assert.equal((await r.request('DELETE', '/npm/life/-rev/0-wrong')).status, 409);
    const res = await r.request('DELETE', `/npm/life/-rev/${_rev}`);
    assert.equal(res.status, 200, res.text);
    assert.equal((await r.request('GET', '/npm/life')).status, 404);
    assert.equal((await r.request('GET', '/npm/life/-/life-1.0.0.tgz')).status, 404);
    assert.deepEqual((await r.keys()).filter((key) => key.startsWith('npm/packages/life/')), []);
    assert.equal((await r.request('GET', '/npm/-/v1/search?text=life')).json.total, 0);
    assert.equal((await r.request('DELETE', `/npm/life/-rev/${_rev}`)).status, 404);
  });

  it('lets a version be published again after it was unpublished', async () => {
    assert.equal((await r.publish('life', '1.0.0')).status, 201);
  });

  it('deleting a package keeps the tarballs of a publish that landed right after the document was deleted', async () => {
    let racing: Promise<unknown> | undefined;
    const racer: INpmTestRegistry = await createNpmRegistry({
      storageHooks: {
        async afterDelete(ctx) {
          if (ctx.key !== 'npm/packages/racy/packument.json' || racing) return;
          racing = racer.publish('racy', '2.0.0');
          const published = (await racing) as { status: number; text: string };
          assert.equal(published.status, 201, published.text);
        },
      },
    });
    try {
      assert.equal((await racer.publish('racy', '1.0.0')).status, 201);
      assert.equal((await racer.request('DELETE', '/npm/racy/-rev/' + (await racer.request('GET', '/npm/racy?write=true')).json._rev)).status, 200);
      assert.ok(racing, 'the concurrent publish ran');
      assert.equal((await racer.request('GET', '/npm/racy/-/racy-1.0.0.tgz')).status, 404);
      const doc = (await racer.request('GET', '/npm/racy')).json;
      assert.deepEqual(Object.keys(doc.versions), ['2.0.0']);
      const tarball = await racer.request('GET', '/npm/racy/-/racy-2.0.0.tgz');
      assert.equal(tarball.status, 200, 'the tarball of the version published meanwhile is still there');
    } finally {
      await racer.close();
    }
  });
});

describe('npm: search', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
    await r.publish('left-pad', '1.0.0', { manifest: { description: 'pad a string on the left', keywords: ['string', 'pad'] } });
    await r.publish('pad', '2.0.0', { manifest: { description: 'padding' } });
    await r.publish('leftpad-extra', '1.0.0');
    await r.publish('@util/left-pad', '1.0.0');
    await r.publish('right', '1.0.0', { manifest: { description: 'the opposite of left' } });
    await r.publish('unrelated', '1.0.0', { manifest: { keywords: ['padding'] } });
  });
  after(() => r.close());

  it('puts exact and prefix name matches first', async () => {
    const res = await r.request('GET', '/npm/-/v1/search?text=left-pad&size=20');
    assert.equal(res.status, 200);
    const names = res.json.objects.map((o: any) => o.package.name);
    assert.deepEqual(names.slice(0, 2).sort(), ['@util/left-pad', 'left-pad']);
    const pad = (await r.request('GET', '/npm/-/v1/search?text=pad')).json.objects.map((o: any) => o.package.name);
    assert.equal(pad[0], 'pad');
    assert.ok(pad.includes('unrelated'), 'keyword match');
    assert.ok(pad.indexOf('unrelated') > pad.indexOf('left-pad'));
    const left = (await r.request('GET', '/npm/-/v1/search?text=left')).json;
    assert.deepEqual(left.objects.slice(0, 2).map((o: any) => o.package.name), ['left-pad', 'leftpad-extra']);
    assert.ok(left.objects.some((o: any) => o.package.name === 'right'), 'description match');
  });

  it('answers the fields npm search prints, and pages with size and from', async () => {
    const res = await r.request('GET', '/npm/-/v1/search?text=left-pad');
    const object = res.json.objects.find((o: any) => o.package.name === 'left-pad');
    assert.equal(object.package.version, '1.0.0');
    assert.equal(object.package.description, 'pad a string on the left');
    assert.deepEqual(object.package.keywords, ['string', 'pad']);
    assert.deepEqual(object.package.maintainers, [{ username: 'alice', email: '' }]);
    assert.equal(object.package.publisher.username, 'alice');
    assert.ok(!Number.isNaN(Date.parse(object.package.date)));
    assert.ok(object.score.final > 0);
    const all = (await r.request('GET', '/npm/-/v1/search?text=pad&size=20')).json;
    const page = (await r.request('GET', '/npm/-/v1/search?text=pad&size=2&from=1')).json;
    assert.equal(page.total, all.total);
    assert.deepEqual(page.objects.map((o: any) => o.package.name), all.objects.slice(1, 3).map((o: any) => o.package.name));
    assert.equal((await r.request('GET', '/npm/-/v1/search?text=zzzz')).json.total, 0);
  });

  it('finds packages published by another instance after revalidation, without listing the bucket', async () => {
    const other = await createNpmRegistry({ dir: r.dir });
    try {
      await other.publish('pad-from-elsewhere', '1.0.0');
    } finally {
      await other.close();
    }
    const second = await createNpmRegistry({ dir: r.dir, registryOptions: {} });
    try {
      const names = (await second.request('GET', '/npm/-/v1/search?text=pad-from')).json.objects.map((o: any) => o.package.name);
      assert.deepEqual(names, ['pad-from-elsewhere']);
    } finally {
      await second.registry.destroy();
    }
  });
});

describe('npm: authentication and authorization', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
    await r.publish('guarded', '1.0.0');
  });
  after(() => r.close());

  it('needs a token to read when anonymous reads are off', async () => {
    const res = await r.request('GET', '/npm/guarded', { token: null });
    assert.equal(res.status, 401);
    assert.match(res.headers['www-authenticate'], /^Bearer realm=/);
    assert.equal((await r.request('GET', '/npm/guarded/-/guarded-1.0.0.tgz', { token: null })).status, 401);
    assert.equal((await r.request('GET', '/npm/-/v1/search?text=x', { token: null })).status, 401);
  });

  it('answers 401 to an invalid token everywhere, whoami and ping included', async () => {
    for (const [method, path] of [
      ['GET', '/npm/guarded'],
      ['GET', '/npm/-/whoami'],
      ['GET', '/npm/-/ping'],
      ['GET', '/npm/-/v1/search?text=a'],
      ['GET', '/npm/-/npm/v1/tokens'],
      ['PUT', '/npm/guarded'],
      ['POST', '/npm/-/npm/v1/security/advisories/bulk'],
    ]) {
      const res = await r.request(method, path, { token: 'not-a-token', body: method === 'PUT' ? {} : undefined });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.match(res.headers['www-authenticate'], /^Bearer /);
      assert.ok(!/otp/i.test(res.headers['www-authenticate']));
    }
  });

  it('accepts Basic auth with a password or a token', async () => {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: null, headers: { authorization: basic('alice:alice-password') } })).json.username, 'alice');
    assert.equal((await r.request('GET', '/npm/guarded', { token: null, headers: { authorization: basic(`alice:${r.tokens.alice}`) } })).status, 200);
    const wrong = await r.request('GET', '/npm/guarded', { token: null, headers: { authorization: basic('alice:nope') } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate'], /^Basic /);
  });

  it('refuses writes without the write scope', async () => {
    const anonymous = await r.request('PUT', '/npm/guarded', { token: null, body: (await publishBody('guarded', '1.0.1')).body });
    assert.equal(anonymous.status, 401);
    const readonly = await r.request('PUT', '/npm/guarded', { token: r.tokens.readonly, body: (await publishBody('guarded', '1.0.1')).body });
    assert.equal(readonly.status, 403);
    const bob = await r.request('PUT', '/npm/guarded', { token: r.tokens.bob, body: (await publishBody('guarded', '1.0.1')).body });
    assert.equal(bob.status, 403);
    assert.equal((await r.publish('bob-tool', '1.0.0', { token: r.tokens.bob })).status, 201, 'bob may publish bob-*');
    assert.equal((await r.request('DELETE', '/npm/-/package/guarded/dist-tags/x', { token: r.tokens.readonly })).status, 403);
  });

  it('serves reads anonymously when configured, but still refuses invalid tokens', async () => {
    const open = await createNpmRegistry({ auth: { anonymousRead: true } });
    try {
      await open.publish('public-pkg', '1.0.0');
      assert.equal((await open.request('GET', '/npm/public-pkg', { token: null })).status, 200);
      assert.equal((await open.request('GET', '/npm/public-pkg/-/public-pkg-1.0.0.tgz', { token: null })).status, 200);
      assert.equal((await open.request('GET', '/npm/public-pkg', { token: 'garbage' })).status, 401);
      assert.equal((await open.request('PUT', '/npm/public-pkg', { token: null, body: (await publishBody('public-pkg', '2.0.0')).body })).status, 401);
      assert.equal((await open.request('GET', '/npm/-/whoami', { token: null })).status, 401);
    } finally {
      await open.close();
    }
  });
});

describe('npm: whoami, ping, audit, tokens', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
  });
  after(() => r.close());

  it('whoami and ping', async () => {
    assert.deepEqual((await r.request('GET', '/npm/-/whoami')).json, { username: 'alice' });
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: null })).status, 401);
    assert.deepEqual((await r.request('GET', '/npm/-/ping?write=true')).json, {});
    assert.equal((await r.request('GET', '/npm/-/ping', { token: null })).status, 200);
  });

  it('answers the audit endpoints with empty results', async () => {
    const bulk = await r.request('POST', '/npm/-/npm/v1/security/advisories/bulk', {
      body: zlib.gzipSync(JSON.stringify({ lodash: ['4.17.20'] })),
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(bulk.status, 200);
    assert.deepEqual(bulk.json, {});
    const quick = await r.request('POST', '/npm/-/npm/v1/security/audits/quick', { body: { name: 'x', requires: {} } });
    assert.equal(quick.status, 200);
    assert.equal(quick.json.metadata.vulnerabilities.critical, 0);
  });

  it('lists, creates (with the password) and revokes tokens', async () => {
    const created = await r.request('POST', '/npm/-/npm/v1/tokens', { body: { password: 'alice-password', readonly: true, name: 'ci' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.readonly, true);
    assert.match(created.json.key, /^[0-9a-f]{64}$/);
    const newToken = created.json.token;
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: newToken })).json.username, 'alice');
    assert.equal((await r.request('PUT', '/npm/x-pkg', { token: newToken, body: (await publishBody('x-pkg', '1.0.0')).body })).status, 403, 'read-only');

    const list = await r.request('GET', '/npm/-/npm/v1/tokens');
    assert.equal(list.status, 200);
    const listed = list.json.objects.find((t: any) => t.key === created.json.key);
    assert.ok(listed);
    assert.equal(listed.readonly, true);
    assert.equal(listed.name, 'ci');
    assert.ok(list.json.objects.length >= 3);
    assert.deepEqual(list.json.urls, {});

    assert.equal((await r.request('POST', '/npm/-/npm/v1/tokens', { body: { password: 'wrong' } })).status, 401);
    assert.equal((await r.request('POST', '/npm/-/npm/v1/tokens', { body: { password: 'alice-password', cidr_whitelist: ['10.0.0.0/8'] } })).status, 400);
    assert.equal((await r.request('DELETE', `/npm/-/npm/v1/tokens/token/${created.json.key}`, { token: r.tokens.bob })).status, 404, 'not bob’s token');
    assert.equal((await r.request('DELETE', `/npm/-/npm/v1/tokens/token/${created.json.key}`)).status, 204);
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: newToken })).status, 401);

    const byValue = (await r.request('POST', '/npm/-/npm/v1/tokens', { body: { password: 'alice-password' } })).json.token;
    assert.equal((await r.request('DELETE', `/npm/-/npm/v1/tokens/token/${byValue}`)).status, 204);
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: byValue })).status, 401);
  });
});

describe('npm: login', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
  });
  after(() => r.close());

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  it('runs the web flow: loginUrl page, doneUrl polled until signed in, token handed out once', async () => {
    const start = await r.request('POST', '/npm/-/v1/login', { token: 'stale-token-is-ignored', body: {} });
    assert.equal(start.status, 200);
    const { loginUrl, doneUrl } = start.json;
    assert.match(loginUrl, /^http:\/\/registry\.example\.com\/npm\/-\/v1\/login\/cli\/[0-9a-f]{32}$/);
    const done = new URL(doneUrl);
    const poll = () => r.request('GET', done.pathname + done.search, { token: null });
    const pending = await poll();
    assert.equal(pending.status, 202);
    assert.equal(pending.headers['retry-after'], '1');

    const loginPath = new URL(loginUrl).pathname;
    const page = await r.request('GET', loginPath, { token: null });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.text, /<form method="post">/);

    const wrong = await r.request('POST', loginPath, { token: null, body: form({ username: 'alice', password: 'nope' }) });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /Incorrect username or password/);
    assert.equal((await poll()).status, 202);

    const ok = await r.request('POST', loginPath, { token: null, body: form({ username: 'alice', password: 'alice-password' }) });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /signed in as <strong>alice<\/strong>/);

    const token = await poll();
    assert.equal(token.status, 200);
    assert.equal(typeof token.json.token, 'string');
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: token.json.token })).json.username, 'alice');
    assert.equal((await poll()).status, 404, 'the token is handed out once');

    const wrongSecret = await r.request('POST', '/npm/-/v1/login', { body: {} });
    const wrongDone = new URL(wrongSecret.json.doneUrl);
    assert.equal((await r.request('GET', `${wrongDone.pathname}?secret=guess`, { token: null })).status, 404);
    assert.equal((await r.request('GET', '/npm/-/v1/login/cli/ffffffffffffffffffffffffffffffff', { token: null })).status, 404);
  });

  it('creates accounts through the web flow only when sign-up is allowed', async () => {
    const closed = await r.request('POST', '/npm/-/v1/login', { body: { create: true } });
    const closedPath = new URL(closed.json.loginUrl).pathname;
    const refused = await r.request('POST', closedPath, { token: null, body: form({ username: 'carol', password: 'pw', action: 'create' }) });
    assert.equal(refused.status, 403);

    const open = await createNpmRegistry({ auth: { allowSignup: true } });
    try {
      const start = await open.request('POST', '/npm/-/v1/login', { token: null, body: { create: true } });
      const path = new URL(start.json.loginUrl).pathname;
      assert.match((await open.request('GET', path, { token: null })).text, /Create account/);
      const created = await open.request('POST', path, { token: null, body: form({ username: 'carol', password: 'carol-pw', email: 'c@example.com', action: 'create' }) });
      assert.equal(created.status, 200, created.text);
      const done = new URL(start.json.doneUrl);
      const token = (await open.request('GET', done.pathname + done.search, { token: null })).json.token;
      assert.equal((await open.request('GET', '/npm/-/whoami', { token })).json.username, 'carol');
    } finally {
      await open.close();
    }
  });

  it('logs in the legacy way (PUT /-/user/org.couchdb.user:name)', async () => {
    const body = { _id: 'org.couchdb.user:alice', name: 'alice', password: 'alice-password', type: 'user', roles: [], date: new Date().toISOString() };
    const res = await r.request('PUT', '/npm/-/user/org.couchdb.user:alice', { token: null, body });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.ok, true);
    assert.equal((await r.request('GET', '/npm/-/whoami', { token: res.json.token })).json.username, 'alice');
    const encoded = await r.request('PUT', '/npm/-/user/org.couchdb.user%3Aalice', { token: null, body });
    assert.equal(encoded.status, 201);
    const wrong = await r.request('PUT', '/npm/-/user/org.couchdb.user:alice', { token: null, body: { ...body, password: 'x' } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate'], /^Basic /);
    const mismatch = await r.request('PUT', '/npm/-/user/org.couchdb.user:bob', { token: null, body });
    assert.equal(mismatch.status, 400);
    const signup = await r.request('PUT', '/npm/-/user/org.couchdb.user:dave', { token: null, body: { name: 'dave', password: 'pw', email: 'd@example.com' } });
    assert.equal(signup.status, 401);
    assert.match(signup.json.error, /signing up is disabled/);
  });

  it('signs up the legacy way when allowed (npm adduser)', async () => {
    const open = await createNpmRegistry({ auth: { allowSignup: true } });
    try {
      const res = await open.request('PUT', '/npm/-/user/org.couchdb.user:erin', { token: null, body: { name: 'erin', password: 'erin-pw', email: 'e@example.com' } });
      assert.equal(res.status, 201, res.text);
      assert.equal((await open.request('GET', '/npm/-/whoami', { token: res.json.token })).json.username, 'erin');
      const again = await open.request('PUT', '/npm/-/user/org.couchdb.user:erin', { token: null, body: { name: 'erin', password: 'erin-pw' } });
      assert.equal(again.status, 201, 'existing user with the right password: a login');
      const taken = await open.request('PUT', '/npm/-/user/org.couchdb.user:erin', { token: null, body: { name: 'erin', password: 'other' } });
      assert.equal(taken.status, 401);
    } finally {
      await open.close();
    }
  });
});

describe('npm: routing details', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
  });
  after(() => r.close());

  it('answers 405 with Allow for a wrong method and 404 for unknown endpoints', async () => {
    const res = await r.request('POST', '/npm/-/whoami');
    assert.equal(res.status, 405);
    assert.match(res.headers.allow, /GET/);
    assert.equal((await r.request('GET', '/npm/a/b/c/d/e/f')).status, 404);
    assert.deepEqual(Object.keys((await r.request('GET', '/npm/missing')).json), ['error']);
  });

  it('uses npm-shaped error bodies', async () => {
    const res = await r.request('PUT', '/npm/fresh', { body: 'nope' });
    assert.equal(res.status, 400);
    assert.equal(typeof res.json.error, 'string');
  });

  it('publishes with escaped and unescaped tarball names for scoped packages in the attachment key', async () => {
    const { body } = await publishBody('@x/y', '1.0.0');
    body._attachments = { 'y-1.0.0.tgz': body._attachments['@x/y-1.0.0.tgz'] };
    assert.equal((await r.request('PUT', '/npm/@x%2fy', { body })).status, 201);
    assert.equal(escapeName('@x/y'), '@x%2fy');
  });
});
