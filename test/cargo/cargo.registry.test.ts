import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { assertHeadAndNotModifiedLikeGet } from '../helpers/headlikeget.js';
import { cargoKeys, createCargoRegistry, frame, makeCrate, publishMetadata, type ICargoTestRegistry } from './fixtures.js';

const sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex');
const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('cargo: config, publish, index, download', () => {
  let r: ICargoTestRegistry;
  before(async () => {
    r = await createCargoRegistry();
  });
  after(() => r.close());

  it('serves config.json with dl, api and auth-required', async () => {
    const res = await r.request('GET', '/cargo/config.json');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {
      dl: 'http://registry.example.com/cargo/api/v1/crates',
      api: 'http://registry.example.com/cargo',
      'auth-required': true,
    });
    const anonymous = await r.request('GET', '/cargo/config.json', { token: null });
    assert.equal(anonymous.status, 401, 'auth-required: cargo retries config.json with its token after a 401');
    assert.deepEqual(anonymous.json, { errors: [{ detail: 'authentication required' }] });
  });

  it('publishes a crate and answers with warnings', async () => {
    const crate = await makeCrate('alpha_one', '0.1.0');
    const body = frame(JSON.stringify(publishMetadata('alpha_one', '0.1.0', { keywords: ['greek'], categories: ['x'] })), crate);
    const res = await r.request('PUT', '/cargo/api/v1/crates/new', { body });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { warnings: { invalid_categories: ['x'], invalid_badges: [], other: [] } });

    const index = await r.request('GET', '/cargo/al/ph/alpha_one');
    assert.equal(index.status, 200, index.text);
    assert.match(index.headers['content-type'], /^text\/plain/);
    assert.ok(index.headers.etag && index.headers['last-modified']);
    assert.deepEqual(lines(index.text), [
      { name: 'alpha_one', vers: '0.1.0', deps: [], cksum: sha256(crate), features: {}, yanked: false, links: null },
    ]);
    const again = await r.request('GET', '/cargo/al/ph/alpha_one', { headers: { 'if-none-match': index.headers.etag } });
    assert.equal(again.status, 304);
    const since = await r.request('GET', '/cargo/al/ph/alpha_one', { headers: { 'if-modified-since': index.headers['last-modified'] } });
    assert.equal(since.status, 304);

    const download = await r.request('GET', '/cargo/api/v1/crates/alpha_one/0.1.0/download');
    assert.equal(download.status, 200);
    assert.ok(download.bytes.equals(crate));
  });

  it('serves index files at the standard paths for 1-, 2-, 3- and 4-letter names, lower case', async () => {
    for (const name of ['a', 'Ab', 'abc', 'abcd']) assert.equal((await r.publish(name, '1.0.0')).status, 200);
    for (const path of ['1/a', '2/ab', '3/a/abc', 'ab/cd/abcd']) {
      const res = await r.request('GET', `/cargo/${path}`);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
    }
    assert.equal(lines((await r.request('GET', '/cargo/2/ab')).text)[0].name, 'Ab');
    assert.equal((await r.request('GET', '/cargo/zz/cd/abcd')).status, 404, 'wrong prefix');
    assert.equal((await r.request('GET', '/cargo/3/b/abc')).status, 404, 'wrong prefix');
    assert.equal((await r.request('GET', '/cargo/no/ne/nonexistent')).status, 404);
  });

  it('keeps every version, dependencies, renamed dependencies and features2', async () => {
    const deps = [
      { name: 'abc', version_req: '^1', features: ['x'], optional: true, default_features: false, target: 'cfg(unix)', kind: 'normal', registry: null, explicit_name_in_toml: 'renamed' },
      { name: 'abcd', version_req: '^1.0.0', features: [], optional: false, default_features: true, target: null, kind: 'dev' },
    ];
    const features = { default: ['std'], std: [], opt: ['dep:renamed'], weak: ['renamed?/x'] };
    assert.equal((await r.publish('alpha_one', '0.2.0', { metadata: { deps, features, rust_version: '1.70', links: 'z' } })).status, 200);
    const [first, second] = lines((await r.request('GET', '/cargo/al/ph/alpha_one')).text);
    assert.equal(first.vers, '0.1.0');
    assert.deepEqual(second.deps, [
      { name: 'renamed', req: '^1', features: ['x'], optional: true, default_features: false, target: 'cfg(unix)', kind: 'normal', registry: null, package: 'abc' },
      { name: 'abcd', req: '^1.0.0', features: [], optional: false, default_features: true, target: null, kind: 'dev', registry: null },
    ]);
    assert.deepEqual(second.features, { default: ['std'], std: [] });
    assert.deepEqual(second.features2, { opt: ['dep:renamed'], weak: ['renamed?/x'] });
    assert.equal(second.v, 2);
    assert.equal(second.rust_version, '1.70');
    assert.equal(second.links, 'z');
  });

  it('refuses a duplicate version, also one differing only in build metadata, and stores nothing', async () => {
    const before = await cargoKeys(r);
    for (const vers of ['0.1.0', '0.1.0+build']) {
      const res = await r.publish('alpha_one', vers);
      assert.equal(res.status, 409, res.text);
      assert.match(res.json.errors[0].detail, /version 0\.1\.0 already exists/);
    }
    assert.deepEqual(await cargoKeys(r), before);
  });

  it('refuses names that differ only in case or -/_ from an existing crate', async () => {
    const before = await cargoKeys(r);
    for (const name of ['Alpha_One', 'alpha-one']) {
      const res = await r.publish(name, '9.0.0');
      assert.equal(res.status, 409, res.text);
      assert.match(res.json.errors[0].detail, /differs only in case/);
    }
    assert.equal((await r.request('GET', '/cargo/al/ph/alpha-one')).status, 404, 'only the published spelling has an index file');
    assert.deepEqual(await cargoKeys(r), before);
  });

  it('answers download of an unknown version with 404 in cargo\'s shape', async () => {
    const res = await r.request('GET', '/cargo/api/v1/crates/alpha_one/7.0.0/download');
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, { errors: [{ detail: 'crate `alpha_one` has no version 7.0.0' }] });
  });

  it('serves a byte range of a .crate and HEAD without a body', async () => {
    const full = await r.request('GET', '/cargo/api/v1/crates/abc/1.0.0/download');
    const part = await r.request('GET', '/cargo/api/v1/crates/abc/1.0.0/download', { headers: { range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.ok(part.bytes.equals(full.bytes.subarray(0, 10)));
    const head = await r.request('HEAD', '/cargo/api/v1/crates/abc/1.0.0/download');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(full.bytes.length));
  });

  it('answers an index file\'s HEAD and 304 with the headers of the GET they stand for, gzip asked or not', async () => {
    // Over the 1 KiB below which nothing is compressed.
    for (const vers of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0', '1.6.0']) {
      const res = await r.publish('head_vary', vers);
      assert.equal(res.status, 200, res.text);
    }
    await assertHeadAndNotModifiedLikeGet((method, headers) => r.request(method, '/cargo/he/ad/head_vary', { headers }));
  });
});

describe('cargo: yank, owners, search', () => {
  let r: ICargoTestRegistry;
  before(async () => {
    r = await createCargoRegistry();
    assert.equal((await r.publish('serde_like', '1.0.0', { metadata: { description: 'A serialization framework', keywords: ['serialization'] } })).status, 200);
    assert.equal((await r.publish('serde_like', '1.1.0', { metadata: { description: 'A serialization framework, again' } })).status, 200);
    assert.equal((await r.publish('tokio_like', '0.1.0', { metadata: { description: 'An async runtime' } })).status, 200);
  });
  after(() => r.close());

  it('yanks and unyanks a version; the index changes its ETag', async () => {
    const before = await r.request('GET', '/cargo/se/rd/serde_like');
    const yank = await r.request('DELETE', '/cargo/api/v1/crates/serde_like/1.1.0/yank');
    assert.equal(yank.status, 200, yank.text);
    assert.deepEqual(yank.json, { ok: true });
    const after = await r.request('GET', '/cargo/se/rd/serde_like', { headers: { 'if-none-match': before.headers.etag } });
    assert.equal(after.status, 200);
    assert.deepEqual(lines(after.text).map((line) => line.yanked), [false, true]);
    const search = await r.request('GET', '/cargo/api/v1/crates?q=serde');
    assert.equal(search.json.crates[0].max_version, '1.0.0', 'max_version skips yanked versions');
    assert.equal((await r.request('PUT', '/cargo/api/v1/crates/serde_like/1.1.0/unyank')).status, 200);
    assert.deepEqual(lines((await r.request('GET', '/cargo/se/rd/serde_like')).text).map((line) => line.yanked), [false, false]);
    assert.equal((await r.request('DELETE', '/cargo/api/v1/crates/serde_like/5.0.0/yank')).status, 404);
    assert.equal((await r.request('DELETE', '/cargo/api/v1/crates/nothing/1.0.0/yank')).status, 404);
  });

  it('needs the delete scope to yank', async () => {
    const res = await r.request('DELETE', '/cargo/api/v1/crates/serde_like/1.1.0/yank', { token: r.tokens.bob });
    assert.equal(res.status, 403);
    assert.match(res.json.errors[0].detail, /delete/);
  });

  it('searches by name, description and keyword with meta.total', async () => {
    const res = await r.request('GET', '/cargo/api/v1/crates?q=serde&per_page=5');
    assert.equal(res.status, 200);
    const expected = { name: 'serde_like', max_version: '1.1.0', description: 'A serialization framework, again' };
    assert.deepEqual(res.json, { crates: [expected], meta: { total: 1 } }, 'the description of the latest publish');
    assert.deepEqual((await r.request('GET', '/cargo/api/v1/crates?q=runtime')).json.crates.map((c: any) => c.name), ['tokio_like']);
    assert.deepEqual((await r.request('GET', '/cargo/api/v1/crates?q=serialization')).json.crates.map((c: any) => c.name), ['serde_like']);
    const all = await r.request('GET', '/cargo/api/v1/crates?q=&per_page=1');
    assert.equal(all.json.meta.total, 2);
    assert.equal(all.json.crates.length, 1);
  });

  it('lets the first publisher own the crate; others get 403 until added', async () => {
    const owners = await r.request('GET', '/cargo/api/v1/crates/serde_like/owners');
    assert.deepEqual(owners.json, { users: [{ id: 1, login: 'alice', name: 'alice' }] });

    const keysBefore = await cargoKeys(r);
    const foreign = await r.publish('serde_like', '2.0.0', { token: r.tokens.bob });
    assert.equal(foreign.status, 403, foreign.text);
    assert.deepEqual(foreign.json, { errors: [{ detail: 'you are not an owner of crate `serde_like`' }] });
    assert.deepEqual(await cargoKeys(r), keysBefore);
    assert.equal((await r.request('PUT', '/cargo/api/v1/crates/serde_like/owners', { token: r.tokens.bob, body: { users: ['bob'] } })).status, 403);

    const add = await r.request('PUT', '/cargo/api/v1/crates/serde_like/owners', { body: { users: ['bob'] } });
    assert.equal(add.status, 200, add.text);
    assert.equal(add.json.ok, true);
    assert.match(add.json.msg, /bob/);
    assert.equal((await r.publish('serde_like', '2.0.0', { token: r.tokens.bob })).status, 200);

    const unknown = await r.request('PUT', '/cargo/api/v1/crates/serde_like/owners', { body: { users: ['nobody'] } });
    assert.equal(unknown.status, 404);
    const remove = await r.request('DELETE', '/cargo/api/v1/crates/serde_like/owners', { body: { users: ['bob'] } });
    assert.equal(remove.status, 200);
    assert.equal((await r.publish('serde_like', '3.0.0', { token: r.tokens.bob })).status, 403);
    const removeAll = await r.request('DELETE', '/cargo/api/v1/crates/serde_like/owners', { body: { users: ['alice'] } });
    assert.equal(removeAll.status, 400);
    assert.match(removeAll.json.errors[0].detail, /every owner/);
  });

  it('lets bob own what he publishes first', async () => {
    assert.equal((await r.publish('bobs_crate', '0.1.0', { token: r.tokens.bob })).status, 200);
    assert.deepEqual((await r.request('GET', '/cargo/api/v1/crates/bobs_crate/owners')).json.users.map((u: any) => u.login), ['bob']);
  });
});

describe('cargo: auth', () => {
  let r: ICargoTestRegistry;
  before(async () => {
    r = await createCargoRegistry();
    assert.equal((await r.publish('authcrate', '1.0.0')).status, 200);
  });
  after(() => r.close());

  it('accepts the bare token and Bearer, refuses a wrong one with 401', async () => {
    assert.equal((await r.request('GET', '/cargo/au/th/authcrate')).status, 200);
    assert.equal((await r.request('GET', '/cargo/au/th/authcrate', { token: null, headers: { authorization: `Bearer ${r.tokens.alice}` } })).status, 200);
    const wrong = await r.request('GET', '/cargo/au/th/authcrate', { token: 'not-a-token' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Cargo');
    assert.equal((await r.request('GET', '/cargo/au/th/authcrate', { token: null })).status, 401);
    assert.equal((await r.request('GET', '/cargo/api/v1/crates/authcrate/1.0.0/download', { token: null })).status, 401);
  });

  it('a wrong token publishes nothing; a read-only token is refused', async () => {
    const before = await cargoKeys(r);
    const wrong = await r.publish('authcrate', '2.0.0', { token: 'wrong' });
    assert.equal(wrong.status, 401);
    const readonly = await r.publish('authcrate', '2.0.0', { token: r.tokens.readonly });
    assert.equal(readonly.status, 403);
    assert.deepEqual(await cargoKeys(r), before);
  });

  it('a scope for one crate grants that crate only (and config.json)', async () => {
    const auth = r.registry.getAuthManager();
    const token = await auth.createCargoToken('alice', false, { scopes: ['cargo:crate:onlyme:write'] });
    assert.equal((await r.request('GET', '/cargo/config.json', { token })).status, 200);
    assert.equal((await r.publish('onlyme', '1.0.0', { token })).status, 200);
    assert.equal((await r.publish('other', '1.0.0', { token })).status, 403);
    assert.equal((await r.request('GET', '/cargo/au/th/authcrate', { token })).status, 403);
  });
});

describe('cargo: registryUrl', () => {
  it('builds dl and api from registryUrl, whatever the Host', async () => {
    const r = await createCargoRegistry({ cargo: { registryUrl: 'https://registry.example.com/private/cargo/' } });
    try {
      const res = await r.request('GET', '/cargo/config.json', { headers: { host: 'internal:8080' } });
      assert.equal(res.json.dl, 'https://registry.example.com/private/cargo/api/v1/crates');
      assert.equal(res.json.api, 'https://registry.example.com/private/cargo');
    } finally {
      await r.close();
    }
  });
});

describe('cargo: over HTTP', () => {
  let r: ICargoTestRegistry;
  let server: http.Server;
  let port: number;
  before(async () => {
    r = await createCargoRegistry();
    assert.equal((await r.publish('owned', '1.0.0')).status, 200);
    server = http.createServer(createNodeHandler(r.registry));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await r.close();
  });

  it('answers a refused publish of a large .crate with the error, not a reset connection', async () => {
    const crate = await makeCrate('owned', '2.0.0', { extraBytes: 8 * 1024 * 1024 });
    const body = frame(JSON.stringify(publishMetadata('owned', '2.0.0')), crate);
    const res = await fetch(`http://127.0.0.1:${port}/cargo/api/v1/crates/new`, {
      method: 'PUT',
      headers: { authorization: r.tokens.bob, 'content-length': String(body.length) },
      body: new Uint8Array(body),
    });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { errors: [{ detail: 'you are not an owner of crate `owned`' }] });
  });
});

describe('cargo: anonymous reads', () => {
  let r: ICargoTestRegistry;
  before(async () => {
    r = await createCargoRegistry({ cargo: { anonymousRead: true } });
    assert.equal((await r.publish('open', '1.0.0')).status, 200);
  });
  after(() => r.close());

  it('leaves auth-required out of config.json and serves the index without a token', async () => {
    const config = await r.request('GET', '/cargo/config.json', { token: null });
    assert.equal(config.status, 200);
    assert.equal(config.json['auth-required'], undefined);
    assert.equal((await r.request('GET', '/cargo/3/o/open', { token: null })).status, 404);
    assert.equal((await r.request('GET', '/cargo/op/en/open', { token: null })).status, 200);
    assert.equal((await r.publish('open', '2.0.0', { token: null as unknown as string })).status, 401);
  });
});
