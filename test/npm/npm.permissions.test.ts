/**
 * Who may change what: signed-up users get `auth.signupScopes` (nothing by default), and removing
 * published versions needs `delete`, which `write` does not imply.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNpmRegistry, escapeName, publishBody, type INpmTestRegistry } from './fixtures.js';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** `npm adduser --auth-type=legacy`: creates the user when sign-up is on, answers its token. */
async function signUpLegacy(r: INpmTestRegistry, name: string): Promise<string> {
  const res = await r.request('PUT', `/npm/-/user/org.couchdb.user:${name}`, {
    token: null,
    body: { name, password: `${name}-password`, email: `${name}@example.com` },
  });
  assert.equal(res.status, 201, res.text);
  return res.json.token;
}

/** `npm adduser` (web): the sign-in page's "Create account", then the CLI collects the token. */
async function signUpWeb(r: INpmTestRegistry, name: string): Promise<string> {
  const start = await r.request('POST', '/npm/-/v1/login', { token: null, body: { create: true } });
  const created = await r.request('POST', new URL(start.json.loginUrl).pathname, {
    token: null,
    body: form({ username: name, password: `${name}-password`, action: 'create' }),
  });
  assert.equal(created.status, 200, created.text);
  const done = new URL(start.json.doneUrl);
  return (await r.request('GET', done.pathname + done.search, { token: null })).json.token;
}

/** Every way npm removes published versions, against `name`; each answers its status. */
async function removalStatuses(r: INpmTestRegistry, name: string, token: string): Promise<number[]> {
  const doc = (await r.request('GET', `/npm/${escapeName(name)}?write=true`)).json;
  const bare = name.split('/').pop();
  const withoutVersion = { ...doc, versions: {} };
  return [
    (await r.request('PUT', `/npm/${escapeName(name)}/-rev/${doc._rev}`, { token, body: withoutVersion })).status,
    (await r.request('DELETE', `/npm/${escapeName(name)}/-/${bare}-1.0.0.tgz/-rev/${doc._rev}`, { token })).status,
    (await r.request('DELETE', `/npm/${escapeName(name)}/-rev/${doc._rev}`, { token })).status,
    (await r.request('DELETE', `/npm/${escapeName(name)}`, { token })).status,
  ];
}

describe('npm: signed-up users', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry({ auth: { allowSignup: true, anonymousRead: true } });
    assert.equal((await r.publish('alice-pkg', '1.0.0')).status, 201);
  });
  after(() => r.close());

  for (const [how, signUp] of [['npm adduser (legacy)', signUpLegacy], ['the web login page', signUpWeb]] as const) {
    it(`a user signed up through ${how} can neither delete nor publish over alice's package`, async () => {
      const token = await signUp(r, how.startsWith('npm') ? 'mallory' : 'mallet');
      const before = await r.keys();

      assert.deepEqual(await removalStatuses(r, 'alice-pkg', token), [403, 403, 403, 403]);
      const { body } = await publishBody('alice-pkg', '2.0.0');
      assert.equal((await r.request('PUT', '/npm/alice-pkg', { token, body })).status, 403);
      assert.equal((await r.request('PUT', '/npm/-/package/alice-pkg/dist-tags/evil', { token, body: '"1.0.0"' })).status, 403);
      assert.deepEqual(await r.keys(), before, 'storage is as it was');

      // What an anonymous reader may do, a signed-up user may too.
      assert.equal((await r.request('GET', '/npm/alice-pkg', { token })).status, 200);
      assert.equal((await r.request('GET', '/npm/alice-pkg/-/alice-pkg-1.0.0.tgz', { token })).status, 200);
    });
  }

  it('without anonymous reads, a signed-up user reads nothing either', async () => {
    const closed = await createNpmRegistry({ auth: { allowSignup: true } });
    try {
      assert.equal((await closed.publish('alice-pkg', '1.0.0')).status, 201);
      const token = await signUpLegacy(closed, 'mallory');
      assert.equal((await closed.request('GET', '/npm/-/whoami', { token })).json.username, 'mallory');
      assert.equal((await closed.request('GET', '/npm/alice-pkg', { token })).status, 403);
    } finally {
      await closed.close();
    }
  });

  it('auth.signupScopes with {username}: each user publishes under their own npm scope only', async () => {
    const own = await createNpmRegistry({ auth: { allowSignup: true, signupScopes: ['npm:package:@{username}/*:write'] } });
    try {
      const token = await signUpLegacy(own, 'mallory');
      assert.equal((await own.publish('@mallory/tool', '1.0.0', { token })).status, 201);
      assert.equal((await own.publish('@alice/tool', '1.0.0', { token })).status, 403);
      assert.equal((await own.publish('unscoped-tool', '1.0.0', { token })).status, 403);
      // `write` on its own packages still does not let it unpublish them.
      assert.deepEqual(await removalStatuses(own, '@mallory/tool', token), [403, 403, 403, 403]);
    } finally {
      await own.close();
    }
  });
});

describe('npm: unpublish needs the delete scope', () => {
  let r: INpmTestRegistry;
  let publisher: string;
  let deleter: string;
  before(async () => {
    r = await createNpmRegistry({
      auth: {
        users: {
          alice: { password: 'alice-password', scopes: ['*'] },
          bob: { password: 'bob-password', scopes: ['npm:package:bob-*:write'] },
          ci: { password: 'ci-password', scopes: ['npm:package:*:write'] },
          janitor: { password: 'janitor-password', scopes: ['npm:package:*:write', 'npm:package:*:delete'] },
        },
      },
    });
    const auth = r.registry.getAuthManager();
    publisher = await auth.createNpmToken('ci', false);
    deleter = await auth.createNpmToken('janitor', false);
  });
  after(() => r.close());

  it('a write token publishes but cannot unpublish by any route', async () => {
    assert.equal((await r.publish('ci-pkg', '1.0.0', { token: publisher })).status, 201);
    const before = await r.keys();
    assert.deepEqual(await removalStatuses(r, 'ci-pkg', publisher), [403, 403, 403, 403]);
    assert.deepEqual(await r.keys(), before, 'storage is as it was');
    const denied = await r.request('DELETE', '/npm/ci-pkg', { token: publisher });
    assert.match(denied.json.error, /delete on npm:package:ci-pkg/);
  });

  it('the same for scoped packages', async () => {
    assert.equal((await r.publish('@ci/pkg', '1.0.0', { token: publisher })).status, 201);
    assert.deepEqual(await removalStatuses(r, '@ci/pkg', publisher), [403, 403, 403, 403]);
  });

  it('a token with delete unpublishes; * grants it too', async () => {
    const [one, two] = [await publishBody('gone-one', '1.0.0'), await publishBody('gone-two', '1.0.0')];
    assert.equal((await r.request('PUT', '/npm/gone-one', { token: publisher, body: one.body })).status, 201);
    assert.equal((await r.request('PUT', '/npm/gone-two', { token: publisher, body: two.body })).status, 201);
    assert.equal((await r.request('DELETE', '/npm/gone-one', { token: deleter })).status, 200);
    assert.equal((await r.request('DELETE', '/npm/gone-two', { token: r.tokens.alice })).status, 200);
    assert.equal((await r.request('GET', '/npm/gone-one')).status, 404);
    assert.equal((await r.request('GET', '/npm/gone-two')).status, 404);
  });
});
