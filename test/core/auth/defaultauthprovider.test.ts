import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { BoundedCache } from '../../../ts/core/classes.boundedcache.js';
import { DefaultAuthProvider, type IVerifiedJwt } from '../../../ts/core/classes.defaultauthprovider.js';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { hashPassword } from '../../../ts/core/helpers.password.js';
import { looksLikeJwt, signJwt } from '../../../ts/core/helpers.jwt.js';
import type { IAuthConfig } from '../../../ts/core/interfaces.core.js';
import { createTempStorage, type ITempStorage } from './fixtures.js';

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');
const isKind = (kind: string) => (error: unknown) => error instanceof RegistryError && error.kind === kind;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

for (const tokenStore of ['memory', 'storage'] as const) {
  describe(`DefaultAuthProvider (tokenStore ${tokenStore})`, () => {
    let temp: ITempStorage;
    let provider: DefaultAuthProvider;
    let config: IAuthConfig;

    before(async () => {
      temp = await createTempStorage();
      config = {
        tokenStore,
        allowSignup: true,
        users: {
          alice: { password: 'alice-pw', scopes: ['*:*:*:*'] },
          bob: { passwordHash: await hashPassword('bob-pw', { N: 1024, r: 8, p: 1 }), scopes: ['*'] },
          team: { password: 'team-pw', scopes: ['npm:package:@team/*:*', 'oci:repository:team/*:pull'] },
          nopass: { scopes: ['*'] },
        },
      };
      provider = new DefaultAuthProvider(config, temp.storage);
      await provider.init();
    });
    after(() => temp.cleanup());

    test('authenticate: configured users only, no built-in user', async () => {
      assert.equal(await provider.authenticate({ username: 'alice', password: 'alice-pw' }), 'alice');
      assert.equal(await provider.authenticate({ username: 'bob', password: 'bob-pw' }), 'bob');
      assert.equal(await provider.authenticate({ username: 'alice', password: 'wrong' }), null);
      assert.equal(await provider.authenticate({ username: 'alice', password: '' }), null);
      assert.equal(await provider.authenticate({ username: 'nobody', password: 'alice-pw' }), null);
      assert.equal(await provider.authenticate({ username: 'nopass', password: '' }), null);
      assert.equal(await provider.authenticate({ username: 'admin', password: 'admin' }), null);
      assert.equal(await provider.authenticate({ username: '../alice', password: 'alice-pw' }), null);
    });

    test('user scopes: as configured', async () => {
      assert.deepEqual(await provider.getUserScopes('alice'), ['*:*:*:*']);
      assert.deepEqual(await provider.getUserScopes('team'), ['npm:package:@team/*:*', 'oci:repository:team/*:pull']);
      assert.equal(await provider.getUserScopes('nobody'), null);
    });

    test('npm token: opaque UUID, validated with its scopes', async () => {
      const token = await provider.createToken('alice', 'npm', { name: 'laptop' });
      assert.match(token, UUID);
      const info = await provider.validateToken(token);
      assert.ok(info);
      assert.equal(info.type, 'npm');
      assert.equal(info.userId, 'alice');
      assert.deepEqual(info.scopes, ['npm:*:*:*']);
      assert.equal(info.readonly, false);
      assert.equal(info.tokenId, sha256(token));
      assert.equal(await provider.authorize(info, 'npm:package:lodash', 'write'), true);
      assert.equal(await provider.authorize(info, 'npm:package:lodash', 'delete'), true);
      assert.equal(await provider.authorize(info, 'oci:repository:nginx', 'pull'), false);
      assert.equal(await provider.authorize(null, 'npm:package:lodash', 'read'), false);
      assert.equal(await provider.validateToken(crypto.randomUUID()), null);
      assert.equal(await provider.validateToken(''), null);
    });

    test('protocol mismatch: refused unless the scopes reach that protocol', async () => {
      const npmToken = await provider.createToken('alice', 'npm');
      assert.ok(await provider.validateToken(npmToken, 'npm'));
      assert.equal(await provider.validateToken(npmToken, 'oci'), null);
      assert.equal(await provider.validateToken(npmToken, 'pypi'), null);
      const everywhere = await provider.createToken('alice', 'npm', { scopes: ['*:*:*:*'] });
      const asMaven = await provider.validateToken(everywhere, 'maven');
      assert.ok(asMaven);
      assert.equal(asMaven.type, 'npm');
      assert.equal(await provider.authorize(asMaven, 'maven:artifact:com.example:lib', 'write'), true);
      const npmAndPypi = await provider.createToken('alice', 'npm', { scopes: ['npm:*:*:*', 'pypi:package:*:read'] });
      assert.ok(await provider.validateToken(npmAndPypi, 'pypi'));
      assert.equal(await provider.validateToken(npmAndPypi, 'cargo'), null);
    });

    test('readonly tokens only ever read', async () => {
      const token = await provider.createToken('alice', 'cargo', { readonly: true, scopes: ['*:*:*:*'] });
      const info = await provider.validateToken(token, 'cargo');
      assert.ok(info?.readonly);
      assert.equal(await provider.authorize(info, 'cargo:crate:serde', 'read'), true);
      assert.equal(await provider.authorize(info, 'cargo:crate:serde', 'pull'), true);
      for (const action of ['write', 'push', 'delete', 'yank', '*']) {
        assert.equal(await provider.authorize(info, 'cargo:crate:serde', action), false, action);
      }
    });

    test('a token never grants more than its user may do', async () => {
      const token = await provider.createToken('team', 'npm', { scopes: ['*:*:*:*'] });
      const info = await provider.validateToken(token);
      assert.ok(info);
      assert.equal(await provider.authorize(info, 'npm:package:@team/tool', 'write'), true);
      assert.equal(await provider.authorize(info, 'npm:package:@team/tool', 'delete'), true);
      assert.equal(await provider.authorize(info, 'npm:package:@other/tool', 'read'), false);
      assert.equal(await provider.authorize(info, 'oci:repository:team/app', 'pull'), true);
      assert.equal(await provider.authorize(info, 'oci:repository:team/app', 'push'), false);
      // And a narrow token narrows a broad user.
      const narrow = await provider.validateToken(await provider.createToken('alice', 'npm', { scopes: ['npm:package:one:read'] }));
      assert.equal(await provider.authorize(narrow, 'npm:package:one', 'read'), true);
      assert.equal(await provider.authorize(narrow, 'npm:package:one', 'write'), false);
      assert.equal(await provider.authorize(narrow, 'npm:package:two', 'read'), false);
    });

    test('revoke: immediate, also after the token was validated (and cached)', async () => {
      const token = await provider.createToken('alice', 'pypi');
      assert.ok(await provider.validateToken(token));
      await provider.revokeToken(token);
      assert.equal(await provider.validateToken(token), null);
      await provider.revokeToken(token); // twice is fine
      await provider.revokeToken('not-a-token');
    });

    test('list and revoke by id: owner only, no clear token', async () => {
      const first = await provider.createToken('bob', 'npm', { name: 'ci' });
      const second = await provider.createToken('bob', 'rubygems', { readonly: true, expiresIn: 3600 });
      const listed = await provider.listUserTokens('bob');
      assert.deepEqual(listed.map((t) => t.tokenId).sort(), [sha256(first), sha256(second)].sort());
      const ci = listed.find((t) => t.tokenId === sha256(first));
      assert.deepEqual(
        { ...ci, createdAt: undefined },
        { tokenId: sha256(first), userId: 'bob', protocol: 'npm', scopes: ['npm:*:*:*'], readonly: false, name: 'ci', createdAt: undefined },
      );
      const gems = listed.find((t) => t.tokenId === sha256(second));
      assert.equal(gems?.readonly, true);
      assert.ok(gems?.expiresAt && new Date(gems.expiresAt).getTime() > Date.now());
      assert.ok(!JSON.stringify(listed).includes(first) && !JSON.stringify(listed).includes(second));

      assert.equal(await provider.revokeTokenById('alice', sha256(first)), false, "someone else's token");
      assert.equal(await provider.revokeTokenById('bob', 'not-an-id'), false);
      assert.equal(await provider.revokeTokenById('bob', sha256(first)), true);
      assert.equal(await provider.revokeTokenById('bob', sha256(first)), false, 'already gone');
      assert.equal(await provider.validateToken(first), null);
      assert.deepEqual((await provider.listUserTokens('bob')).map((t) => t.tokenId), [sha256(second)]);
      assert.deepEqual(await provider.listUserTokens('nobody'), []);
    });

    test('expired tokens are refused and not listed', async () => {
      const clock = { now: Date.now() };
      const timed = new DefaultAuthProvider(config, temp.storage, { now: () => clock.now });
      const expiring = await timed.createToken('nopass', 'maven', { expiresIn: 60 });
      const lasting = await timed.createToken('nopass', 'maven', { expiresIn: 3600 });
      assert.ok(await timed.validateToken(expiring), 'valid before it expires');
      clock.now += 60_000;
      assert.equal(await timed.validateToken(expiring), null);
      assert.ok(await timed.validateToken(lasting));
      assert.deepEqual((await timed.listUserTokens('nopass')).map((t) => t.tokenId), [sha256(lasting)]);
      await timed.revokeToken(lasting);
    });

    test('oci token: HS256 JWT with scopes, readonly, mismatch and revocation', async () => {
      const jwt = await provider.createToken('alice', 'oci', { scopes: ['oci:repository:library/nginx:pull,push'.replace(',push', '')] });
      assert.ok(looksLikeJwt(jwt));
      const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.exp - payload.iat, 3600);
      assert.ok(payload.jti && payload.nbf === payload.iat);
      const info = await provider.validateToken(jwt, 'oci');
      assert.ok(info);
      assert.equal(info.type, 'oci');
      assert.equal(info.userId, 'alice');
      assert.equal(await provider.authorize(info, 'oci:repository:library/nginx', 'pull'), true);
      assert.equal(await provider.authorize(info, 'oci:repository:library/nginx', 'push'), false);
      assert.equal(await provider.authorize(info, 'oci:repository:library/redis', 'pull'), false);
      assert.equal(await provider.validateToken(jwt, 'npm'), null);

      const [h, p, s] = jwt.split('.');
      const forged = Buffer.from(JSON.stringify({ ...payload, scopes: ['*:*:*:*'] })).toString('base64url');
      assert.equal(await provider.validateToken(`${h}.${forged}.${s}`), null);

      const readonly = await provider.validateToken(await provider.createToken('alice', 'oci', { readonly: true, scopes: ['oci:*:*:*'], expiresIn: 60 }));
      assert.ok(readonly?.readonly);
      assert.ok(readonly.expiresAt && readonly.expiresAt.getTime() - Date.now() <= 61_000);
      assert.equal(await provider.authorize(readonly, 'oci:repository:x', 'push'), false);

      const teamJwt = await provider.validateToken(await provider.createToken('team', 'oci', { scopes: ['oci:repository:*:push'] }));
      assert.equal(await provider.authorize(teamJwt, 'oci:repository:team/app', 'pull'), true);
      assert.equal(await provider.authorize(teamJwt, 'oci:repository:team/app', 'push'), false, 'user may only pull');
      assert.equal(await provider.authorize(teamJwt, 'oci:repository:other', 'pull'), false);

      await provider.revokeToken(jwt);
      assert.equal(await provider.validateToken(jwt), null);
    });

    test('oci token: verified once and cached, yet expiry, revocation and forgeries still count', async () => {
      const cache = new BoundedCache<IVerifiedJwt>({ maxEntries: 10 });
      const provider = new DefaultAuthProvider(config, temp.storage, { verifiedJwtCache: cache });
      const jwt = await provider.createToken('alice', 'oci', { scopes: ['oci:repository:cached/app:pull'] });
      const first = await provider.validateToken(jwt, 'oci');
      assert.ok(first);
      assert.ok(cache.has(jwt), 'the verified token is cached');
      // Every answer is a fresh object: a caller changing one does not change the next.
      first.scopes.push('*:*:*:*');
      first.userScopes?.push('*:*:*:*');
      const second = await provider.validateToken(jwt, 'oci');
      assert.ok(second && second !== first);
      assert.deepEqual(second.scopes, ['oci:repository:cached/app:pull']);
      assert.deepEqual(second.userScopes, ['*:*:*:*']);
      assert.equal(second.tokenId, sha256(jwt));
      assert.equal(await provider.validateToken(jwt, 'npm'), null, 'the protocol check still applies to a cached token');
      // A forged signature is never served from the cache of the genuine token.
      const [h, p] = jwt.split('.');
      assert.equal(await provider.validateToken(`${h}.${p}.${'A'.repeat(43)}`), null);

      // Revocation is immediate on this instance, and seen by an instance that has it cached.
      const sibling = new DefaultAuthProvider(config, temp.storage);
      if (tokenStore === 'storage') assert.ok(await sibling.validateToken(jwt, 'oci'), 'valid on a second instance sharing storage');
      await provider.revokeToken(jwt);
      assert.ok(!cache.has(jwt), 'dropped from the cache on revoke');
      assert.equal(await provider.validateToken(jwt, 'oci'), null);
      assert.equal(await provider.validateToken(jwt, 'oci'), null, 'still revoked on the next request');
      if (tokenStore === 'storage') {
        const fresh = new DefaultAuthProvider(config, temp.storage);
        assert.equal(await fresh.validateToken(jwt, 'oci'), null, 'revocation is shared through storage');
      }
    });

    test('oci token: a cached token stops working when it expires', async () => {
      const secret = 'cache-expiry-test-secret-0123456789';
      const clock = { now: Date.now() };
      const shortLived = new DefaultAuthProvider({ tokenStore, jwtSecret: secret, users: { u: { scopes: ['*'] } } }, temp.storage, { now: () => clock.now });
      await shortLived.init();
      // `exp` 28 s ago: inside the 30 s clock skew for two more seconds.
      const now = Math.floor(clock.now / 1000);
      const jwt = signJwt(
        { iss: 'smartregistry', aud: 'smartregistry', sub: 'u', protocol: 'oci', scopes: ['oci:*:*:*'], userScopes: ['*:*:*:*'], iat: now - 60, nbf: now - 60, exp: now - 28, jti: crypto.randomUUID() },
        secret,
      );
      assert.ok(await shortLived.validateToken(jwt, 'oci'));
      clock.now += 2_000;
      assert.equal(await shortLived.validateToken(jwt, 'oci'), null);
    });

    test('oci token: the cache stays bounded', async () => {
      const cache = new BoundedCache<IVerifiedJwt>({ maxEntries: 1000 });
      const bounded = new DefaultAuthProvider({ tokenStore, jwtSecret: 'bounded-cache-secret-0123456789abcdef', users: { u: { scopes: ['*'] } } }, temp.storage, { verifiedJwtCache: cache });
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 1100; i++) {
        const jwt = signJwt({ iss: 'smartregistry', aud: 'smartregistry', sub: 'u', protocol: 'oci', scopes: [], userScopes: [], iat: now, nbf: now, exp: now + 60, jti: `bounded-${i}` }, 'bounded-cache-secret-0123456789abcdef');
        assert.ok(await bounded.validateToken(jwt));
      }
      assert.ok(cache.size <= 1000);
    });

    test('createToken refuses unknown users, bad scopes and bad expiry', async () => {
      await assert.rejects(provider.createToken('nobody', 'npm'), isKind('invalid'));
      await assert.rejects(provider.createToken('alice', 'npm', { scopes: ['npm:write'] }), isKind('invalid'));
      await assert.rejects(provider.createToken('alice', 'npm', { expiresIn: -1 }), isKind('invalid'));
      await assert.rejects(provider.createToken('alice', 'svn' as never), isKind('invalid'));
    });

    test('createUser: sign-up, duplicates, configured names, bad names', async () => {
      assert.equal(await provider.createUser('carol', 'carol-pw', 'carol@example.com'), true);
      assert.equal(await provider.authenticate({ username: 'carol', password: 'carol-pw' }), 'carol');
      assert.equal(await provider.authenticate({ username: 'carol', password: 'nope' }), null);
      // auth.signupScopes is unset: a sign-up gets no scopes at all.
      assert.deepEqual(await provider.getUserScopes('carol'), []);
      assert.equal(await provider.createUser('carol', 'other'), false);
      assert.equal(await provider.authenticate({ username: 'carol', password: 'other' }), null);
      assert.equal(await provider.createUser('alice', 'x'), false);
      await assert.rejects(provider.createUser('..', 'x'), isKind('invalid'));
      await assert.rejects(provider.createUser('a:b', 'x'), isKind('invalid'));
      await assert.rejects(provider.createUser('dave', ''), isKind('invalid'));
      const token = await provider.createToken('carol', 'composer');
      assert.equal((await provider.validateToken(token))?.userId, 'carol');
    });

    test('createUser without allowSignup is refused', async () => {
      const closed = new DefaultAuthProvider({ tokenStore, users: {} }, temp.storage);
      assert.equal(await closed.createUser('erin', 'erin-pw'), false);
      assert.equal(await closed.authenticate({ username: 'erin', password: 'erin-pw' }), null);
    });

    test('configuration mistakes fail init clearly', async () => {
      await assert.rejects(new DefaultAuthProvider({ tokenStore, users: { 'a:b': { password: 'x', scopes: ['*'] } } }, temp.storage).init(), /invalid user name/);
      await assert.rejects(new DefaultAuthProvider({ tokenStore, users: { a: { passwordHash: 'md5$x', scopes: ['*'] } } }, temp.storage).init(), /passwordHash/);
      await assert.rejects(new DefaultAuthProvider({ tokenStore, users: { a: { scopes: ['npm'] } } }, temp.storage).init(), /invalid scope/);
      // A user without scopes used to be an administrator; now it is refused, saying what to write.
      const noScopes = { a: { password: 'x' } } as unknown as IAuthConfig['users'];
      await assert.rejects(new DefaultAuthProvider({ tokenStore, users: noScopes }, temp.storage).init(), /auth\.users\.a: `scopes` is missing/);
      await assert.rejects(new DefaultAuthProvider({ tokenStore, signupScopes: ['npm:package'] }, temp.storage).init(), /auth\.signupScopes: invalid scope/);
      await assert.rejects(new DefaultAuthProvider({ tokenStore, jwtSecret: '' }, temp.storage).init(), /jwtSecret/);
    });

    test('the configured jwtSecret signs OCI tokens', async () => {
      const a = new DefaultAuthProvider({ tokenStore, jwtSecret: 'shared-configured-secret-0123456789', users: { u: { scopes: ['*'] } } }, temp.storage);
      const b = new DefaultAuthProvider({ tokenStore, jwtSecret: 'shared-configured-secret-0123456789', users: { u: { scopes: ['*'] } } }, temp.storage);
      const c = new DefaultAuthProvider({ tokenStore, jwtSecret: 'a-different-secret-value-0123456789', users: { u: { scopes: ['*'] } } }, temp.storage);
      const jwt = await a.createToken('u', 'oci', { scopes: [] });
      assert.equal((await b.validateToken(jwt))?.userId, 'u');
      assert.equal(await c.validateToken(jwt), null);
    });

    test('a jwtSecret shorter than 32 bytes is a configuration error', async () => {
      await assert.rejects(new DefaultAuthProvider({ tokenStore, jwtSecret: 'x'.repeat(31) }, temp.storage).init(), /auth\.jwtSecret must be at least 32 bytes/);
      await new DefaultAuthProvider({ tokenStore, jwtSecret: 'x'.repeat(32) }, temp.storage).init();
    });

    test('oci tokens carry iss and aud; another deployment sharing the secret refuses them', async () => {
      const secret = 'secret-shared-by-two-deployments-0123';
      const users = { u: { scopes: ['*'] } };
      const deployment = (service?: string, issuer?: string) =>
        new DefaultAuthProvider({ tokenStore, jwtSecret: secret, users, ociTokens: { enabled: true, service, issuer } }, temp.storage);
      const jwt = await deployment('a.example.com', 'https://a.example.com').createToken('u', 'oci', { scopes: [] });
      const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
      assert.equal(claims.iss, 'https://a.example.com');
      assert.equal(claims.aud, 'a.example.com');
      assert.equal((await deployment('a.example.com', 'https://a.example.com').validateToken(jwt, 'oci'))?.userId, 'u');
      assert.equal(await deployment('b.example.com', 'https://a.example.com').validateToken(jwt, 'oci'), null, 'other audience');
      assert.equal(await deployment('a.example.com', 'https://b.example.com').validateToken(jwt, 'oci'), null, 'other issuer');
      assert.equal(await deployment().validateToken(jwt, 'oci'), null, 'default identity');
      // A token without the claims (as issued before) is not accepted either.
      const now = Math.floor(Date.now() / 1000);
      const bare = signJwt({ sub: 'u', protocol: 'oci', scopes: [], userScopes: [], iat: now, nbf: now, exp: now + 60, jti: 'no-claims' }, secret);
      assert.equal(await deployment().validateToken(bare, 'oci'), null);
      // The registry URL gives the defaults.
      const fromUrl = new DefaultAuthProvider({ tokenStore, jwtSecret: secret, users }, temp.storage, {
        ociTokenIdentity: { issuer: 'https://registry.example.com', audience: 'registry.example.com' },
      });
      const urlClaims = JSON.parse(Buffer.from((await fromUrl.createToken('u', 'oci', { scopes: [] })).split('.')[1], 'base64url').toString());
      assert.deepEqual([urlClaims.iss, urlClaims.aud], ['https://registry.example.com', 'registry.example.com']);
    });
  });
}

describe('DefaultAuthProvider with the storage token store', () => {
  let temp: ITempStorage;
  before(async () => {
    temp = await createTempStorage();
  });
  after(() => temp.cleanup());
  const config: IAuthConfig = { tokenStore: 'storage', allowSignup: true, users: { alice: { password: 'alice-pw', scopes: ['*'] } } };

  test('tokens are stored only as sha256', async () => {
    const provider = new DefaultAuthProvider(config, temp.storage);
    const token = await provider.createToken('alice', 'npm', { name: 'laptop' });
    const files = await temp.readAll();
    const record = files.get(`auth/tokens/${sha256(token)}.json`);
    assert.ok(record, 'record stored under the hash');
    assert.deepEqual(JSON.parse(record).userId, 'alice');
    assert.ok(files.has(`auth/user-tokens/alice/${sha256(token)}`), 'listing marker');
    for (const [file, content] of files) {
      assert.ok(!content.includes(token) && !file.includes(token), `clear token found in ${file}`);
    }
    // Nor are passwords: configured users stay in memory, signed-up users are stored hashed.
    await provider.createUser('bob', 'bob-secret-password');
    for (const [file, content] of await temp.readAll()) {
      assert.ok(!content.includes('bob-secret-password') && !content.includes('alice-pw'), `password in ${file}`);
    }
    assert.match(JSON.parse((await temp.readAll()).get('auth/users/bob.json')!).passwordHash, /^scrypt\$/);
  });

  test('tokens, users and the JWT secret survive a restart', async () => {
    const first = new DefaultAuthProvider(config, temp.storage);
    const token = await first.createToken('alice', 'pypi');
    const jwt = await first.createToken('alice', 'oci', { scopes: ['oci:repository:x:pull'] });
    await first.createUser('carol', 'carol-pw');
    await first.destroy();

    const second = new DefaultAuthProvider(config, temp.storage);
    await second.init();
    assert.equal((await second.validateToken(token, 'pypi'))?.userId, 'alice');
    assert.equal((await second.validateToken(jwt, 'oci'))?.userId, 'alice');
    assert.equal(await second.authenticate({ username: 'carol', password: 'carol-pw' }), 'carol');
    assert.ok((await second.listUserTokens('alice')).some((t) => t.tokenId === sha256(token)));
    await second.revokeToken(token);
    assert.equal(await second.validateToken(token), null);
  });

  test('two providers on one storage agree on a generated JWT secret', async () => {
    const fresh = await createTempStorage();
    try {
      const a = new DefaultAuthProvider({ users: { u: { scopes: ['*'] } } }, fresh.storage);
      const b = new DefaultAuthProvider({ users: { u: { scopes: ['*'] } } }, fresh.storage);
      await Promise.all([a.init(), b.init()]);
      const fromA = await a.createToken('u', 'oci', { scopes: ['oci:*:*:pull'] });
      const fromB = await b.createToken('u', 'oci', { scopes: ['oci:*:*:pull'] });
      assert.ok(await b.validateToken(fromA));
      assert.ok(await a.validateToken(fromB));
      const secretFile = (await fresh.readAll()).get('auth/jwt-secret.json');
      assert.ok(secretFile && JSON.parse(secretFile).secret.length >= 32);
      // A revocation on one instance is seen by the other.
      await a.revokeToken(fromB);
      assert.equal(await b.validateToken(fromB), null);
      // Without storage, each process has its own secret.
      const m1 = new DefaultAuthProvider({ tokenStore: 'memory', users: { u: { scopes: ['*'] } } }, fresh.storage);
      const m2 = new DefaultAuthProvider({ tokenStore: 'memory', users: { u: { scopes: ['*'] } } }, fresh.storage);
      assert.equal(await m2.validateToken(await m1.createToken('u', 'oci', { scopes: [] })), null);
    } finally {
      await fresh.cleanup();
    }
  });

  test('the memory token store writes nothing and forgets on restart', async () => {
    const fresh = await createTempStorage();
    try {
      const memoryConfig: IAuthConfig = { tokenStore: 'memory', allowSignup: true, jwtSecret: 'x'.repeat(32), users: { alice: { password: 'pw', scopes: ['*'] } } };
      const first = new DefaultAuthProvider(memoryConfig, fresh.storage);
      const token = await first.createToken('alice', 'npm');
      await first.createUser('bob', 'bob-pw');
      assert.equal((await fresh.readAll()).size, 0);
      const second = new DefaultAuthProvider(memoryConfig, fresh.storage);
      assert.equal(await second.validateToken(token), null);
      assert.equal(await second.authenticate({ username: 'bob', password: 'bob-pw' }), null);
    } finally {
      await fresh.cleanup();
    }
  });
});
