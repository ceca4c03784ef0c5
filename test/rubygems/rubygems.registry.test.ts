import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { createGemRegistry, gemspecYaml, makeGem, type IGemTestRegistry } from './fixtures.js';
import { RUBY_DEPENDENCIES_HEX } from './rubyvectors.js';

const md5 = (text: string | Buffer) => crypto.createHash('md5').update(text).digest('hex');

describe('rubygems: push and the compact index', () => {
  let r: IGemTestRegistry;
  let baseGem: Buffer;
  before(async () => {
    r = await createGemRegistry({ rubygemsOptions: { now: () => new Date('2026-12-01T00:00:00.000Z') } });
    baseGem = await makeGem(gemspecYaml('base', '1.0.0'));
  });
  after(() => r.close());

  it('HEAD and GET of the base path answer 200', async () => {
    assert.equal((await r.request('GET', '/rubygems')).status, 200);
    assert.equal((await r.request('HEAD', '/rubygems/')).status, 200);
  });

  it('pushes gems (with the raw key) and lists them in /versions, /info and /names', async () => {
    const pushed = await r.push(baseGem);
    assert.equal(pushed.status, 200, pushed.text);
    assert.equal(pushed.text, 'Successfully registered gem: base (1.0.0)\n');
    assert.equal((await r.push(await makeGem(gemspecYaml('app', '2.0.0', { dependencies: { base: ['>= 1.0', '< 2'] } })))).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('app', '2.0.0', { platform: 'x86_64-linux' })))).status, 200);

    const baseInfo = `---\n1.0.0 |checksum:${crypto.createHash('sha256').update(baseGem).digest('hex')}\n`;
    const info = await r.request('GET', '/rubygems/info/base');
    assert.equal(info.status, 200);
    assert.equal(info.text, baseInfo);
    assert.equal(info.headers.etag, `"${md5(baseInfo)}"`);
    assert.equal(info.headers['repr-digest'], `sha-256=:${crypto.createHash('sha256').update(baseInfo).digest('base64')}:`);
    const appInfo = (await r.request('GET', '/rubygems/info/app')).text;
    assert.match(appInfo, /^---\n2\.0\.0 base:>= 1\.0&< 2\|checksum:[0-9a-f]{64}\n2\.0\.0-x86_64-linux \|checksum:[0-9a-f]{64}\n$/);

    const versions = await r.request('GET', '/rubygems/versions');
    assert.equal(
      versions.text,
      `created_at: 2026-12-01T00:00:00Z\n---\nbase 1.0.0 ${md5(baseInfo)}\napp 2.0.0 ${md5(appInfo.split('\n').slice(0, 2).join('\n') + '\n')}\napp 2.0.0-x86_64-linux ${md5(appInfo)}\n`,
    );
    assert.equal(versions.headers.etag, `"${md5(versions.text)}"`);
    assert.equal((await r.request('GET', '/rubygems/names')).text, '---\napp\nbase\n');
  });

  it('answers If-None-Match with 304 and a byte range of /versions with 206', async () => {
    const full = await r.request('GET', '/rubygems/versions');
    const same = await r.request('GET', '/rubygems/versions', { headers: { 'if-none-match': full.headers.etag } });
    assert.equal(same.status, 304);
    assert.equal(same.bytes.length, 0);
    // What bundler sends: the last byte it has, onwards.
    const start = full.bytes.length - 20;
    const part = await r.request('GET', '/rubygems/versions', { headers: { range: `bytes=${start}-` } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes ${start}-${full.bytes.length - 1}/${full.bytes.length}`);
    assert.deepEqual(part.bytes, full.bytes.subarray(start));
    assert.equal(part.headers.etag, full.headers.etag, 'the ETag names the whole document');
    const digest = `sha-256=:${crypto.createHash('sha256').update(full.bytes).digest('base64')}:`;
    assert.equal(full.headers['repr-digest'], digest);
    assert.equal(part.headers['repr-digest'], digest, 'Repr-Digest names the whole document too');
    const head = await r.request('HEAD', '/rubygems/versions');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(full.bytes.length));
    assert.equal(head.bytes.length, 0);
    const past = await r.request('GET', '/rubygems/versions', { headers: { range: `bytes=${full.bytes.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${full.bytes.length}`);
  });

  it('streams the .gem back byte for byte and describes it in the JSON API', async () => {
    const file = await r.request('GET', '/rubygems/gems/base-1.0.0.gem');
    assert.equal(file.status, 200);
    assert.deepEqual(file.bytes, baseGem);
    const platformFile = await r.request('GET', '/rubygems/gems/app-2.0.0-x86_64-linux.gem');
    assert.equal(platformFile.status, 200);
    assert.equal((await r.request('GET', '/rubygems/gems/base-9.0.0.gem')).status, 404);

    const versions = (await r.request('GET', '/rubygems/api/v1/versions/base.json')).json as Array<Record<string, unknown>>;
    assert.equal(versions.length, 1);
    assert.equal(versions[0].number, '1.0.0');
    assert.equal(versions[0].sha, crypto.createHash('sha256').update(baseGem).digest('hex'));
    const gem = (await r.request('GET', '/rubygems/api/v1/gems/app.json')).json as Record<string, any>;
    assert.equal(gem.name, 'app');
    assert.equal(gem.version, '2.0.0');
    assert.deepEqual(gem.dependencies.runtime, [{ name: 'base', requirements: '>= 1.0, < 2' }]);
    assert.equal(gem.gem_uri, 'http://registry.example.com/rubygems/gems/app-2.0.0.gem');
    const search = (await r.request('GET', '/rubygems/api/v1/search.json?query=ap')).json as Array<{ name: string }>;
    assert.deepEqual(search.map((hit) => hit.name), ['app']);
    const dependencies = (await r.request('GET', '/rubygems/api/v1/dependencies.json?gems=app')).json as Array<Record<string, unknown>>;
    assert.deepEqual(
      dependencies.map((entry) => [entry.number, entry.platform, entry.dependencies]),
      [
        ['2.0.0', 'ruby', [['base', '>= 1.0, < 2']]],
        ['2.0.0', 'x86_64-linux', []],
      ],
    );
    const marshal = await r.request('GET', '/rubygems/api/v1/dependencies?gems=base');
    assert.equal(marshal.bytes.subarray(0, 2).toString('hex'), '0408');
  });

  it('serves specs files and quick gemspecs', async () => {
    const specs = await r.request('GET', '/rubygems/specs.4.8.gz');
    assert.equal(specs.status, 200);
    const marshal = zlib.gunzipSync(specs.bytes).toString('latin1');
    assert.ok(marshal.indexOf('app') < marshal.indexOf('base'));
    assert.match(marshal, /x86_64-linux/);
    assert.equal((await r.request('GET', '/rubygems/latest_specs.4.8.gz')).status, 200);
    assert.equal(zlib.gunzipSync((await r.request('GET', '/rubygems/prerelease_specs.4.8.gz')).bytes).toString('hex'), '04085b00');
    const quick = await r.request('GET', '/rubygems/quick/Marshal.4.8/app-2.0.0-x86_64-linux.gemspec.rz');
    assert.equal(quick.status, 200);
    assert.match(zlib.inflateSync(quick.bytes).toString('latin1'), /Gem::Specification/);
  });

  it('refuses a duplicate and stores nothing', async () => {
    const before = await r.keys();
    const again = await r.push(baseGem);
    assert.equal(again.status, 409);
    assert.match(again.text, /already exists/);
    assert.deepEqual(await r.keys(), before);
  });
});

describe('rubygems: bad input stores nothing', () => {
  let r: IGemTestRegistry;
  before(async () => {
    r = await createGemRegistry({ rubygems: { limits: { maxArtifactBytes: 64 * 1024 } } });
  });
  after(() => r.close());

  const refused = async (gem: Buffer, status: number, message: RegExp) => {
    const before = await r.keys();
    const response = await r.push(gem);
    assert.equal(response.status, status, response.text);
    assert.match(response.headers['content-type'], /^text\/plain/);
    assert.match(response.text, message);
    assert.deepEqual(await r.keys(), before);
  };

  it('not a tar', () => refused(Buffer.from('this is not a gem at all'.repeat(100)), 400, /tar/));
  it('no metadata.gz', () => refused(Buffer.alloc(0), 400, /tar|metadata/));
  it('a tar without metadata.gz', async () => refused(await makeGem(null), 400, /no metadata\.gz/));
  it('a corrupt metadata.gz', async () => refused(await makeGem(null, { 'metadata.gz': Buffer.from('not gzip') }), 400, /gzip/));
  it('a metadata.gz gzip bomb', async () =>
    refused(await makeGem(null, { 'metadata.gz': zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)) }), 413, /inflates past/));
  it('YAML with an unknown Ruby object tag', async () =>
    refused(await makeGem(gemspecYaml('evil', '1.0.0').replace('metadata: {}', 'metadata: !ruby/object:ERB\n  src: x')), 400, /unknown mapping tag/));
  it('YAML with an alias bomb', async () => {
    const lines = ['  a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`  ${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    await refused(await makeGem(gemspecYaml('bomb', '1.0.0').replace('metadata: {}', `metadata:\n${lines.join('\n')}`)), 400, /alias/i);
  });
  it('a malformed name or version', async () => {
    await refused(await makeGem(gemspecYaml('../up', '1.0.0')), 400, /invalid gem name/);
    await refused(await makeGem(gemspecYaml('ok', '1.0.0;x')), 400, /not a valid version/);
  });
  it('an oversized upload', async () =>
    refused(await makeGem(gemspecYaml('big', '1.0.0'), { 'data.tar.gz': crypto.randomBytes(128 * 1024) }), 413, /limit/));
});

describe('rubygems: auth, yank and owners', () => {
  let r: IGemTestRegistry;
  before(async () => {
    r = await createGemRegistry();
    assert.equal((await r.push(await makeGem(gemspecYaml('alpha', '1.0.0')))).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('alpha', '1.1.0')))).status, 200);
  });
  after(() => r.close());

  it('a push without a key or with a wrong key is refused and stores nothing', async () => {
    const before = await r.keys();
    const gem = await makeGem(gemspecYaml('alpha', '9.0.0'));
    assert.equal((await r.request('POST', '/rubygems/api/v1/gems', { token: null, body: gem })).status, 401);
    assert.equal((await r.push(gem, 'wrong-key')).status, 401);
    assert.deepEqual(await r.keys(), before);
  });

  it('Bearer works as well as the raw key; reads need a read scope', async () => {
    const bearer = await r.request('GET', '/rubygems/info/alpha', { token: null, headers: { authorization: `Bearer ${r.tokens.reader}` } });
    assert.equal(bearer.status, 200);
    assert.equal((await r.request('GET', '/rubygems/info/alpha', { token: null })).status, 401);
  });

  it('a read scope on one gem reads its files and nothing else; no token gets 401 before anything is looked up', async () => {
    assert.equal((await r.request('GET', '/rubygems/gems/alpha-1.0.0.gem', { token: r.tokens.carol })).status, 200);
    assert.equal((await r.request('GET', '/rubygems/quick/Marshal.4.8/alpha-1.0.0.gemspec.rz', { token: r.tokens.carol })).status, 200);
    assert.equal((await r.request('GET', '/rubygems/info/alpha', { token: r.tokens.carol })).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('other', '1.0.0')))).status, 200);
    assert.equal((await r.request('GET', '/rubygems/gems/other-1.0.0.gem', { token: r.tokens.carol })).status, 403);
    assert.equal((await r.request('GET', '/rubygems/quick/Marshal.4.8/other-1.0.0.gemspec.rz', { token: r.tokens.carol })).status, 403);
    assert.equal((await r.request('GET', '/rubygems/info/other', { token: r.tokens.carol })).status, 403);
    assert.equal((await r.request('GET', '/rubygems/gems/other-1.0.0.gem', { token: null })).status, 401);
    assert.equal((await r.request('GET', '/rubygems/gems/missing-1.0.0.gem', { token: null })).status, 401);
  });

  it('scopes: bob may push only bob-* gems; a reader may not push', async () => {
    const before = await r.keys();
    assert.equal((await r.push(await makeGem(gemspecYaml('charlie', '1.0.0')), r.tokens.bob)).status, 403);
    assert.equal((await r.push(await makeGem(gemspecYaml('charlie', '1.0.0')), r.tokens.reader)).status, 403);
    assert.deepEqual(await r.keys(), before);
    assert.equal((await r.push(await makeGem(gemspecYaml('bob-tool', '1.0.0')), r.tokens.bob)).status, 200);
  });

  it('only owners push new versions; the first pusher owns the gem', async () => {
    const before = await r.keys();
    const denied = await r.push(await makeGem(gemspecYaml('alpha', '2.0.0')), r.tokens.dave);
    assert.equal(denied.status, 403);
    assert.deepEqual(await r.keys(), before);
    const owners = await r.request('GET', '/rubygems/api/v1/gems/alpha/owners.json');
    assert.deepEqual(owners.json, [{ handle: 'alice', email: 'alice' }]);
    const yaml = await r.request('GET', '/rubygems/api/v1/gems/alpha/owners.yaml');
    assert.equal(yaml.text, '- handle: alice\n  email: alice\n');
  });

  it('owners are added and removed by an owner, by form field `email`', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal((await r.request('POST', '/rubygems/api/v1/gems/alpha/owners', { token: r.tokens.dave, body: 'email=dave', headers: form })).status, 403);
    assert.equal((await r.request('POST', '/rubygems/api/v1/gems/alpha/owners', { body: 'email=dave', headers: form })).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('alpha', '2.0.0')), r.tokens.dave)).status, 200);
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/alpha/owners', { body: 'email=dave', headers: form })).status, 200);
    assert.deepEqual((await r.request('GET', '/rubygems/api/v1/gems/alpha/owners.json')).json, [{ handle: 'alice', email: 'alice' }]);
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/alpha/owners', { body: 'email=alice', headers: form })).status, 400);
  });

  it('yank needs the delete scope, removes the version everywhere and appends to /versions; unyank restores it', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const bobYank = await r.request('DELETE', '/rubygems/api/v1/gems/yank', { token: r.tokens.bob, body: 'gem_name=bob-tool&version=1.0.0', headers: form });
    assert.equal(bobYank.status, 403);
    assert.match((await r.request('GET', '/rubygems/info/bob-tool')).text, /^1\.0\.0 /m);

    const yank = await r.request('DELETE', '/rubygems/api/v1/gems/yank', { body: 'gem_name=alpha&version=1.1.0', headers: form });
    assert.equal(yank.status, 200, yank.text);
    const info = (await r.request('GET', '/rubygems/info/alpha')).text;
    assert.doesNotMatch(info, /^1\.1\.0 /m);
    assert.match((await r.request('GET', '/rubygems/versions')).text, new RegExp(`\\nalpha -1\\.1\\.0 ${md5(info)}\\n$`));
    assert.equal((await r.request('GET', '/rubygems/gems/alpha-1.1.0.gem')).status, 404);
    assert.doesNotMatch(zlib.gunzipSync((await r.request('GET', '/rubygems/specs.4.8.gz')).bytes).toString('latin1'), /1\.1\.0/);
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=alpha&version=1.1.0')).status, 422);

    // Query parameters work as well as the form.
    assert.equal((await r.request('PUT', '/rubygems/api/v1/gems/unyank?gem_name=alpha&version=1.1.0')).status, 200);
    assert.match((await r.request('GET', '/rubygems/info/alpha')).text, /^1\.1\.0 /m);
    // Refused yanks and owner changes leave storage as it was.
    const before = await r.keys();
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=alpha&version=7.0.0')).status, 404);
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=..&version=1.0.0')).status, 400);
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=alpha&version=1.0.0&platform=x/y')).status, 400);
    assert.equal((await r.request('PUT', '/rubygems/api/v1/gems/unyank?gem_name=alpha&version=1.0.0')).status, 422);
    assert.equal((await r.request('POST', '/rubygems/api/v1/gems/alpha/owners', { body: 'email=', headers: form })).status, 400);
    assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/alpha/owners', { body: 'email=nobody', headers: form })).status, 404);
    assert.deepEqual(await r.keys(), before);
  });
});

describe('rubygems: search and the legacy dependency API', () => {
  let r: IGemTestRegistry;
  before(async () => {
    r = await createGemRegistry();
    assert.equal((await r.push(await makeGem(gemspecYaml('sr-base', '1.1.0')))).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('sr-app', '1.0.0', { dependencies: { 'sr-base': ['>= 1.0', '< 2'] } })))).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('sr-native', '2.0.0', { platform: 'x86_64-linux' })))).status, 200);
  });
  after(() => r.close());

  it('/api/v1/dependencies answers in Marshal byte for byte as Ruby writes it, and in JSON', async () => {
    const marshal = await r.request('GET', '/rubygems/api/v1/dependencies?gems=sr-app,sr-base');
    assert.equal(marshal.status, 200);
    assert.equal(marshal.bytes.toString('hex'), RUBY_DEPENDENCIES_HEX);
    // Bundler probes the endpoint without gems.
    assert.equal((await r.request('GET', '/rubygems/api/v1/dependencies')).bytes.toString('hex'), '04085b00');
    const json = (await r.request('GET', '/rubygems/api/v1/dependencies.json?gems=sr-native')).json;
    assert.deepEqual(json, [{ name: 'sr-native', number: '2.0.0', platform: 'x86_64-linux', dependencies: [] }]);
    assert.equal((await r.request('GET', '/rubygems/api/v1/dependencies?gems=../x')).status, 400);
  });

  it('search.json finds gems by name and summary words, exact names first; a gem with every version yanked is not found', async () => {
    const names = async (query: string) =>
      ((await r.request('GET', `/rubygems/api/v1/search.json?query=${encodeURIComponent(query)}`)).json as Array<{ name: string }>).map((hit) => hit.name);
    assert.deepEqual(await names('sr'), ['sr-app', 'sr-base', 'sr-native']);
    assert.deepEqual(await names('sr-base'), ['sr-base']);
    assert.deepEqual(await names('native tests'), ['sr-native']);
    const hit = ((await r.request('GET', '/rubygems/api/v1/search.json?query=sr-native')).json as Array<Record<string, unknown>>)[0];
    assert.equal(hit.platform, 'x86_64-linux');
    assert.equal(hit.gem_uri, 'http://registry.example.com/rubygems/gems/sr-native-2.0.0-x86_64-linux.gem');
    const yank = await r.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=sr-native&version=2.0.0&platform=x86_64-linux');
    assert.equal(yank.status, 200, yank.text);
    assert.deepEqual(await names('sr'), ['sr-app', 'sr-base']);
    assert.equal((await r.request('GET', '/rubygems/api/v1/gems/sr-native.json')).status, 404);
    assert.equal((await r.request('GET', '/rubygems/names')).text, '---\nsr-app\nsr-base\n');
  });
});

describe('rubygems: anonymous reads', () => {
  let r: IGemTestRegistry;
  before(async () => {
    r = await createGemRegistry({ rubygems: { anonymousRead: true } });
    assert.equal((await r.push(await makeGem(gemspecYaml('open', '1.0.0')))).status, 200);
  });
  after(() => r.close());

  it('reads need no token; a push still does, and stores nothing without one', async () => {
    for (const path of ['/rubygems/versions', '/rubygems/info/open', '/rubygems/gems/open-1.0.0.gem', '/rubygems/api/v1/gems/open.json', '/rubygems/specs.4.8.gz']) {
      assert.equal((await r.request('GET', path, { token: null })).status, 200, path);
    }
    const before = await r.keys();
    assert.equal((await r.request('POST', '/rubygems/api/v1/gems', { token: null, body: await makeGem(gemspecYaml('open', '2.0.0')) })).status, 401);
    assert.deepEqual(await r.keys(), before);
  });
});
