/** The Docker token flow, challenges, anonymous access, routing on the host root and under the basePath, hooks. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createOciFixture, header, sha256, type IOciFixture } from './oci.fixtures.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function decodeJwt(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

describe('oci auth: challenge and token endpoint', () => {
  let f: IOciFixture;
  before(async () => {
    f = await createOciFixture();
    await f.pushImage('auth/app', 'v1');
  });
  after(() => f.cleanup());

  it('an anonymous GET /v2/ gets 401 and a Bearer challenge pointing at the token endpoint on the host root', async () => {
    const res = await f.call('GET', '/v2/', { as: null });
    assert.equal(res.status, 401);
    assert.equal(res.code, 'UNAUTHORIZED');
    assert.equal(header(res.headers, 'docker-distribution-api-version'), 'registry/2.0');
    assert.equal(header(res.headers, 'www-authenticate'), 'Bearer realm="http://registry.example.com/v2/token",service="registry.example.com"');
  });

  it('under the basePath the realm is the basePath token endpoint', async () => {
    const res = await f.call('GET', '/oci/v2/', { as: null });
    assert.equal(header(res.headers, 'www-authenticate'), 'Bearer realm="http://registry.example.com/oci/v2/token",service="registry.example.com"');
  });

  it('a 401 on a repository names the scope the client should ask for', async () => {
    let res = await f.call('GET', '/v2/auth/app/manifests/v1', { as: null });
    assert.equal(res.status, 401);
    assert.match(header(res.headers, 'www-authenticate')!, /scope="repository:auth\/app:pull"$/);
    res = await f.call('HEAD', '/v2/auth/app/manifests/v1', { as: null });
    assert.equal(res.status, 401);
    assert.equal(res.body.length, 0);
    assert.match(header(res.headers, 'www-authenticate')!, /scope="repository:auth\/app:pull"/);
    res = await f.call('POST', '/v2/auth/app/blobs/uploads/', { as: null });
    assert.match(header(res.headers, 'www-authenticate')!, /scope="repository:auth\/app:pull,push"/);
    res = await f.call('DELETE', `/v2/auth/app/manifests/${sha256('x')}`, { as: null });
    assert.match(header(res.headers, 'www-authenticate')!, /scope="repository:auth\/app:delete"/);
  });

  it('the token endpoint issues a JWT with the requested scopes the user holds', async () => {
    const res = await f.call('GET', '/v2/token?service=registry.example.com&scope=repository:auth/app:pull,push');
    assert.equal(res.status, 200);
    assert.ok(res.json.token);
    assert.equal(res.json.access_token, res.json.token);
    assert.equal(res.json.expires_in, 3600);
    assert.ok(!Number.isNaN(Date.parse(res.json.issued_at)));
    assert.deepEqual(decodeJwt(res.json.token).scopes.sort(), ['oci:repository:auth/app:pull', 'oci:repository:auth/app:push']);

    const token = res.json.token;
    assert.equal((await f.call('GET', '/v2/', { as: bearer(token) })).status, 200);
    assert.equal((await f.call('GET', '/v2/auth/app/manifests/v1', { as: bearer(token) })).status, 200);
    const digest = await f.pushBlob('auth/app', 'pushed with a bearer token', bearer(token));
    assert.equal((await f.call('GET', `/v2/auth/app/blobs/${digest}`, { as: bearer(token) })).status, 200);
    // The token is for auth/app only: 401 with a challenge for the scope needed (the token flow's
    // insufficient_scope), so the client fetches a wider token.
    const other = await f.call('GET', '/v2/auth/other/tags/list', { as: bearer(token) });
    assert.equal(other.status, 401);
    assert.equal(other.code, 'UNAUTHORIZED');
    assert.equal(
      header(other.headers, 'www-authenticate'),
      'Bearer realm="http://registry.example.com/v2/token",service="registry.example.com",scope="repository:auth/other:pull",error="insufficient_scope"',
    );
  });

  it('repeated scope parameters (cross-repository mount) are all granted', async () => {
    const res = await f.call('GET', '/v2/token', { query: { scope: ['repository:auth/target:pull,push', 'repository:auth/app:pull'] } });
    assert.deepEqual(decodeJwt(res.json.token).scopes.sort(), ['oci:repository:auth/app:pull', 'oci:repository:auth/target:pull', 'oci:repository:auth/target:push']);
    const layer = (await f.call('GET', '/v2/auth/app/manifests/v1')).json.layers[0].digest;
    const mount = await f.call('POST', `/v2/auth/target/blobs/uploads/?mount=${layer}&from=auth/app`, { as: bearer(res.json.token) });
    assert.equal(mount.status, 201);
  });

  it('a mount asks for the source in its challenge: a token-flow client that may read the source mounts (201)', async () => {
    const layer = (await f.call('GET', '/v2/auth/app/manifests/v1')).json.layers[0].digest;
    const mountPath = `/v2/auth/mounted/blobs/uploads/?mount=${layer}&from=auth/app`;
    const wider = 'repository:auth/mounted:pull,push repository:auth/app:pull';
    // No credentials yet: the challenge names both repositories.
    let res = await f.call('POST', mountPath, { as: null });
    assert.equal(res.status, 401);
    assert.match(header(res.headers, 'www-authenticate')!, new RegExp(`scope="${wider}"`));
    // A token for the target only (a client that cached it from an earlier push): 401 insufficient_scope, not a silent 202.
    const narrow = (await f.call('GET', '/v2/token?scope=repository:auth/mounted:pull,push')).json.token;
    res = await f.call('POST', mountPath, { as: bearer(narrow) });
    assert.equal(res.status, 401);
    assert.match(header(res.headers, 'www-authenticate')!, new RegExp(`scope="${wider}",error="insufficient_scope"`));
    assert.equal((await f.call('GET', `/v2/auth/mounted/blobs/${layer}`)).status, 404, 'nothing mounted by the refused request');
    const token = (await f.call('GET', '/v2/token', { query: { scope: wider } })).json.token;
    res = await f.call('POST', mountPath, { as: bearer(token) });
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'location'), `/v2/auth/mounted/blobs/${layer}`);
    assert.equal((await f.call('GET', `/v2/auth/mounted/blobs/${layer}`, { as: bearer(token) })).status, 200);
    // alice may not read auth/app: her token can never widen to it, so she gets an upload session.
    const alice = (await f.call('GET', `/v2/token?scope=${encodeURIComponent('repository:alice/app:pull,push repository:auth/app:pull')}`, { as: 'alice' })).json.token;
    res = await f.call('POST', `/v2/alice/app/blobs/uploads/?mount=${layer}&from=auth/app`, { as: bearer(alice) });
    assert.equal(res.status, 202);
    assert.match(header(res.headers, 'location')!, /^\/v2\/alice\/app\/blobs\/uploads\//);
  });

  it('a mount without from asks for the user\'s whole pull reach; it mounts when that covers every repository', async () => {
    const layer = (await f.call('GET', '/v2/auth/app/manifests/v1')).json.layers[0].digest;
    const mountPath = `/v2/auth/found/blobs/uploads/?mount=${layer}`;
    const wider = 'repository:auth/found:pull,push registry:catalog:*';
    let res = await f.call('POST', mountPath, { as: null });
    assert.equal(res.status, 401);
    assert.match(header(res.headers, 'www-authenticate')!, new RegExp(`scope="${wider.replace('*', '\\*')}"`));
    const narrow = (await f.call('GET', '/v2/token?scope=repository:auth/found:pull,push')).json.token;
    res = await f.call('POST', mountPath, { as: bearer(narrow) });
    assert.equal(res.status, 401, 'admin may read everything: widen the token');
    const token = (await f.call('GET', '/v2/token', { query: { scope: wider } })).json.token;
    res = await f.call('POST', mountPath, { as: bearer(token) });
    assert.equal(res.status, 201);
    assert.equal((await f.call('GET', `/v2/auth/found/blobs/${layer}`)).status, 200);
    // alice's pull reach is alice/*: a session, never a 401 she could not get past.
    const alice = (await f.call('GET', '/v2/token', { query: { scope: 'repository:alice/found:pull,push registry:catalog:*' }, as: 'alice' })).json.token;
    res = await f.call('POST', `/v2/alice/found/blobs/uploads/?mount=${layer}`, { as: bearer(alice) });
    assert.equal(res.status, 202);
  });

  it('only what the user may do is granted: a reader asking for push gets pull', async () => {
    const res = await f.call('GET', '/v2/token?scope=repository:auth/app:pull,push,delete', { as: 'reader' });
    assert.equal(res.status, 200);
    assert.deepEqual(decodeJwt(res.json.token).scopes, ['oci:repository:auth/app:pull']);
    const push = await f.call('POST', '/v2/auth/app/blobs/uploads/', { as: bearer(res.json.token) });
    assert.equal(push.status, 401);
    assert.equal(push.code, 'UNAUTHORIZED');
    assert.match(header(push.headers, 'www-authenticate')!, /^Bearer .*scope="repository:auth\/app:pull,push",error="insufficient_scope"$/);
    // Basic credentials cannot be widened by a new token: still 403 DENIED, no challenge.
    const basicPush = await f.call('POST', '/v2/auth/app/blobs/uploads/', { as: 'reader' });
    assert.equal(basicPush.status, 403);
    assert.equal(basicPush.code, 'DENIED');
    assert.equal(header(basicPush.headers, 'www-authenticate'), undefined);
    const star = await f.call('GET', '/v2/token?scope=repository:auth/app:*', { as: 'admin' });
    assert.deepEqual(decodeJwt(star.json.token).scopes.sort(), ['oci:repository:auth/app:delete', 'oci:repository:auth/app:pull', 'oci:repository:auth/app:push']);
  });

  it('wrong credentials get 401 with a Basic challenge; no credentials get 401 when anonymous reads are off', async () => {
    let res = await f.call('GET', '/v2/token?scope=repository:auth/app:pull', { as: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } });
    assert.equal(res.status, 401);
    assert.equal(res.code, 'UNAUTHORIZED');
    assert.equal(header(res.headers, 'www-authenticate'), 'Basic realm="smartregistry"');
    res = await f.call('GET', '/v2/token?scope=repository:auth/app:pull', { as: null });
    assert.equal(res.status, 401);
    res = await f.call('GET', '/v2/auth/app/manifests/v1', { as: { authorization: 'Bearer not-a-token' } });
    assert.equal(res.status, 401);
    res = await f.call('GET', '/v2/auth/app/manifests/v1', { as: { authorization: 'Bearer smartregistry-anonymous' } });
    assert.equal(res.status, 401, 'the anonymous token is worth nothing when anonymous reads are off');
  });

  it('a user name with a token as password works at the token endpoint and on API calls', async () => {
    const auth = f.registry.getAuthManager();
    const token = await auth.createOciToken('admin', ['oci:repository:auth/*:pull'], 600);
    const asBasic = { authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` };
    const res = await f.call('GET', '/v2/token?scope=repository:auth/app:pull,push', { as: asBasic });
    assert.equal(res.status, 200);
    assert.deepEqual(decodeJwt(res.json.token).scopes, ['oci:repository:auth/app:pull']);
    assert.equal((await f.call('GET', '/v2/auth/app/manifests/v1', { as: asBasic })).status, 200);
  });

  it('a catalog token reaches no further than the credentials it was exchanged for', async () => {
    await f.pushImage('alice/one', 'v1');
    let res = await f.call('GET', '/v2/token?scope=registry:catalog:*', { as: 'alice' });
    assert.deepEqual(decodeJwt(res.json.token).scopes, ['oci:repository:alice/*:pull']);
    let catalog = await f.call('GET', '/v2/_catalog', { as: bearer(res.json.token) });
    assert.deepEqual(catalog.json.repositories, ['alice/one']);
    // A token limited to one repository, exchanged at the token endpoint, lists only that one.
    const narrow = await f.registry.getAuthManager().createOciToken('admin', ['oci:repository:auth/app:pull'], 600);
    res = await f.call('GET', '/v2/token?scope=registry:catalog:*', { as: { authorization: `Basic ${Buffer.from(`admin:${narrow}`).toString('base64')}` } });
    assert.deepEqual(decodeJwt(res.json.token).scopes, ['oci:repository:auth/app:pull']);
    assert.ok(res.json.expires_in <= 600, 'and lives no longer than it');
    catalog = await f.call('GET', '/v2/_catalog', { as: bearer(res.json.token) });
    assert.deepEqual(catalog.json.repositories, ['auth/app']);
  });

  it('the OAuth2 password grant (POST, as containerd does) issues the same token', async () => {
    const form = new URLSearchParams({ grant_type: 'password', username: 'admin', password: 'admin-password', service: 'x', scope: 'repository:auth/app:pull', client_id: 'test' });
    let res = await f.call('POST', '/v2/token', { as: null, body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200);
    assert.deepEqual(decodeJwt(res.json.access_token).scopes, ['oci:repository:auth/app:pull']);
    res = await f.call('POST', '/v2/token', { as: null, body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: 'no' }).toString() });
    assert.equal(res.status, 401);
    res = await f.call('POST', '/v2/token', { as: null, body: 'grant_type=refresh_token&refresh_token=x' });
    assert.equal(res.status, 400);
  });

  it('the token endpoint also answers under the basePath', async () => {
    const res = await f.call('GET', '/oci/v2/token?scope=repository:auth/app:pull');
    assert.equal(res.status, 200);
  });

  it('unknown endpoints and methods answer in the OCI error shape', async () => {
    let res = await f.call('GET', '/v2/auth/app/unknown/thing');
    assert.equal(res.status, 404);
    assert.ok(Array.isArray(res.json.errors));
    res = await f.call('PATCH', '/v2/auth/app/manifests/v1');
    assert.equal(res.status, 405);
    assert.equal(res.code, 'UNSUPPORTED');
    res = await f.call('GET', '/v2/auth/app/manifests/..%2f..%2fetc');
    assert.equal(res.status, 400);
  });
});

describe('oci auth: configured realm, registryUrl, anonymous reads', () => {
  it('auth.ociTokens.realm and service are used as configured', async () => {
    const f = await createOciFixture({ ociTokens: { enabled: true, realm: 'https://auth.example.com/token', service: 'my-registry' } });
    try {
      const res = await f.call('GET', '/v2/auth/app/manifests/v1', { as: null });
      assert.equal(header(res.headers, 'www-authenticate'), 'Bearer realm="https://auth.example.com/token",service="my-registry",scope="repository:auth/app:pull"');
    } finally {
      await f.cleanup();
    }
  });

  it('with registryUrl, realm, Location and Link follow the path the request came in on (host root or basePath)', async () => {
    const f = await createOciFixture({ registryUrl: 'https://registry.example.com/containers', basePath: '/containers' });
    try {
      for (const prefix of ['', '/containers']) {
        let res = await f.call('GET', `${prefix}/v2/`, { as: null });
        assert.equal(header(res.headers, 'www-authenticate'), `Bearer realm="https://registry.example.com${prefix}/v2/token",service="registry.example.com"`);
        res = await f.call('POST', `${prefix}/v2/url/app/blobs/uploads/`);
        const upload = header(res.headers, 'location')!;
        assert.match(upload, new RegExp(`^${prefix}/v2/url/app/blobs/uploads/[0-9a-f-]{36}$`));
        res = await f.call('PATCH', upload, { body: Buffer.from('ab') });
        assert.equal(header(res.headers, 'location'), upload);
        res = await f.call('PUT', `${upload}?digest=${sha256('ab')}`);
        assert.equal(header(res.headers, 'location'), `${prefix}/v2/url/app/blobs/${sha256('ab')}`);
        const image = await f.pushImage('url/app', `t${prefix.length}`);
        res = await f.call('PUT', `${prefix}/v2/url/app/manifests/again`, { body: image.bytes, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
        assert.equal(header(res.headers, 'location'), `${prefix}/v2/url/app/manifests/${image.digest}`);
        res = await f.call('GET', `${prefix}/v2/url/app/tags/list?n=1`);
        assert.match(header(res.headers, 'link')!, new RegExp(`^<${prefix}/v2/url/app/tags/list\\?n=1&last=`));
        await f.pushImage('url/other', 'v1');
        res = await f.call('GET', `${prefix}/v2/_catalog?n=1`);
        assert.match(header(res.headers, 'link')!, new RegExp(`^<${prefix}/v2/_catalog\\?n=1&last=`));
      }
    } finally {
      await f.cleanup();
    }
  });

  it('with anonymous reads the token endpoint hands out the anonymous token: pull works, push does not', async () => {
    const f = await createOciFixture({ anonymousRead: true });
    try {
      await f.pushImage('anon/app', 'v1');
      const token = await f.call('GET', '/v2/token?scope=repository:anon/app:pull,push', { as: null });
      assert.equal(token.status, 200);
      const anonymous = bearer(token.json.token);
      assert.equal((await f.call('GET', '/v2/', { as: anonymous })).status, 200);
      assert.equal((await f.call('GET', '/v2/anon/app/manifests/v1', { as: anonymous })).status, 200);
      assert.equal((await f.call('GET', '/v2/anon/app/manifests/v1', { as: null })).status, 200, 'no token at all: anonymous read');
      const push = await f.call('POST', '/v2/anon/app/blobs/uploads/', { as: anonymous });
      assert.equal(push.status, 401);
      assert.match(header(push.headers, 'www-authenticate')!, /scope="repository:anon\/app:pull,push"/);
      assert.equal((await f.call('GET', '/v2/', { as: null })).status, 401, 'a bare GET /v2/ still gets the challenge');
      assert.deepEqual((await f.call('GET', '/v2/_catalog', { as: null })).json.repositories, ['anon/app']);
    } finally {
      await f.cleanup();
    }
  });
});

describe('oci storage hooks', () => {
  it('a beforePut refusal fails the push with DENIED, a quota with 413, and an audit hook sees the actor', async () => {
    const seen: string[] = [];
    let mode: 'allow' | 'deny' | 'quota' = 'allow';
    const f = await createOciFixture({
      hooks: {
        beforePut(ctx) {
          if (ctx.key.startsWith('oci/blob-data/') && mode === 'deny') return { allowed: false, reason: 'blocked by policy' };
          if (ctx.key.startsWith('oci/blob-data/') && mode === 'quota') return { allowed: false, reason: 'quota exceeded' };
          return { allowed: true };
        },
        afterPut(ctx) {
          if (ctx.key.startsWith('oci/repositories/')) seen.push(`${ctx.actor?.userId}:${ctx.key}`);
        },
      },
    });
    try {
      mode = 'deny';
      let res = await f.call('POST', `/v2/hooks/app/blobs/uploads/?digest=${sha256('x')}`, { body: Buffer.from('x') });
      assert.equal(res.status, 403);
      assert.equal(res.code, 'DENIED');
      assert.match(res.json.errors[0].message, /blocked by policy/);
      // A storage policy refusal stays 403 with a Bearer token too: a wider token would not help.
      const token = (await f.call('GET', '/v2/token?scope=repository:hooks/app:pull,push')).json.token;
      res = await f.call('POST', `/v2/hooks/app/blobs/uploads/?digest=${sha256('x')}`, { body: Buffer.from('x'), as: bearer(token) });
      assert.equal(res.status, 403);
      assert.equal(res.code, 'DENIED');
      mode = 'quota';
      res = await f.call('POST', `/v2/hooks/app/blobs/uploads/?digest=${sha256('x')}`, { body: Buffer.from('x') });
      assert.equal(res.status, 413);
      mode = 'allow';
      await f.pushBlob('hooks/app', 'x');
      assert.ok(seen.some((entry) => entry.startsWith('admin:oci/repositories/hooks/app/_layers/')), seen.join('\n'));
    } finally {
      await f.cleanup();
    }
  });

  it('a completed upload whose session document cannot be deleted answers 201, and a late retry keeps the blob', async () => {
    let vetoSessionDeletes = true;
    const f = await createOciFixture({
      hooks: {
        beforeDelete(ctx) {
          if (vetoSessionDeletes && ctx.key.startsWith('oci/uploads/')) return { allowed: false, reason: 'sessions are kept' };
          return { allowed: true };
        },
      },
    });
    try {
      const data = Buffer.from('blob whose session outlives it');
      const digest = sha256(data);
      const started = await f.call('POST', '/v2/hooks/retry/blobs/uploads/');
      const location = header(started.headers, 'location')!;
      const uuid = location.split('/').pop()!;
      assert.equal((await f.call('PATCH', location, { body: data })).status, 202);
      let res = await f.call('PUT', `${location}?digest=${digest}`);
      assert.equal(res.status, 201, res.body.toString());
      assert.ok((await f.call('GET', `/v2/hooks/retry/blobs/${digest}`)).body.equals(data));

      // The session document stayed, claimed. Once its claim is stale, the client retries the PUT:
      // the blob's own data must survive the second completion.
      const sessionFile = path.join(f.dataDir, 'oci', 'uploads', `${uuid}.json`);
      const session = JSON.parse(await fsp.readFile(sessionFile, 'utf8'));
      assert.ok(session.completing);
      session.completing.at = new Date(Date.now() - 60 * 60 * 1000).toISOString();
      await fsp.writeFile(sessionFile, JSON.stringify(session));
      vetoSessionDeletes = false;
      res = await f.call('PUT', `${location}?digest=${digest}`);
      assert.equal(res.status, 201, res.body.toString());
      const get = await f.call('GET', `/v2/hooks/retry/blobs/${digest}`);
      assert.equal(get.status, 200);
      assert.ok(get.body.equals(data));
    } finally {
      await f.cleanup();
    }
  });
});
