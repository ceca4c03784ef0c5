import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { AuthManager } from '../../../ts/core/classes.authmanager.js';
import { DefaultAuthProvider } from '../../../ts/core/classes.defaultauthprovider.js';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { looksLikeJwt } from '../../../ts/core/helpers.jwt.js';
import type { IAuthProvider, IAuthToken } from '../../../ts/core/interfaces.auth.js';
import { createTempStorage, type ITempStorage } from './fixtures.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const unauthorized = (message?: RegExp) => (error: unknown) =>
  error instanceof RegistryError && error.status === 401 && (!message || message.test(error.message));

describe('AuthManager', () => {
  let temp: ITempStorage;
  let auth: AuthManager;

  before(async () => {
    temp = await createTempStorage();
    auth = new AuthManager(
      {
        allowSignup: true,
        npmTokens: { enabled: true, defaultReadOnly: true },
        users: {
          alice: { password: 'alice-pw', scopes: ['*'] },
          reader: { password: 'reader-pw', scopes: ['*:*:*:read'] },
        },
      },
      temp.storage,
    );
    await auth.init();
  });
  after(async () => {
    await auth.destroy();
    await temp.cleanup();
  });

  test('per-protocol token helpers', async () => {
    const npm = await auth.validateToken(await auth.createNpmToken('alice'), 'npm');
    assert.equal(npm?.type, 'npm');
    assert.equal(npm?.readonly, true, 'npmTokens.defaultReadOnly applies');
    assert.equal((await auth.validateToken(await auth.createNpmToken('alice', false)))?.readonly, false);
    const helpers = [
      ['maven', auth.createMavenToken.bind(auth)],
      ['cargo', auth.createCargoToken.bind(auth)],
      ['composer', auth.createComposerToken.bind(auth)],
      ['pypi', auth.createPypiToken.bind(auth)],
      ['rubygems', auth.createRubyGemsToken.bind(auth)],
    ] as const;
    for (const [protocol, create] of helpers) {
      const token = await auth.validateToken(await create('alice', true, { name: protocol }), protocol);
      assert.equal(token?.type, protocol);
      assert.equal(token?.readonly, true);
      assert.deepEqual(token?.scopes, [`${protocol}:*:*:*`]);
    }
    const oci = await auth.createOciToken('alice', ['oci:repository:app:push'], 120);
    assert.ok(looksLikeJwt(oci));
    const ociToken = await auth.validateToken(oci, 'oci');
    assert.equal(await auth.authorize(ociToken, 'oci:repository:app', 'push'), true);
    assert.equal(await auth.authorize(ociToken, 'oci:repository:other', 'pull'), false);
    const generic = await auth.createToken('alice', 'cargo', { scopes: ['cargo:crate:serde:write'] });
    assert.deepEqual((await auth.validateToken(generic))?.scopes, ['cargo:crate:serde:write']);
    assert.equal('getJwtSecret' in auth, false);
  });

  test('users, listing and revocation through the manager', async () => {
    assert.equal(await auth.authenticate({ username: 'alice', password: 'alice-pw' }), 'alice');
    assert.equal(await auth.createUser('dora', 'dora-pw'), true);
    assert.equal(await auth.createUser('dora', 'dora-pw'), false);
    const token = await auth.createPypiToken('dora');
    const [listed] = await auth.listUserTokens('dora');
    assert.equal(listed.tokenId, crypto.createHash('sha256').update(token).digest('hex'));
    assert.equal(await auth.revokeTokenById('dora', listed.tokenId), true);
    assert.equal(await auth.validateToken(token), null);
    const other = await auth.createPypiToken('dora');
    await auth.revokeToken(other);
    assert.equal(await auth.validateToken(other), null);
    assert.deepEqual(await auth.getUserScopes('reader'), ['*:*:*:read']);
  });

  describe('authenticateRequest', () => {
    test('no header, or an empty one: anonymous (null)', async () => {
      assert.equal(await auth.authenticateRequest({}, 'npm'), null);
      assert.equal(await auth.authenticateRequest({ authorization: undefined }, 'npm'), null);
      assert.equal(await auth.authenticateRequest({ authorization: '  ' }, 'npm'), null);
    });

    test('Bearer token, header name in any case', async () => {
      const token = await auth.createNpmToken('alice', false);
      for (const name of ['authorization', 'Authorization', 'AUTHORIZATION']) {
        const result = await auth.authenticateRequest({ [name]: `Bearer ${token}` }, 'npm');
        assert.equal(result?.userId, 'alice', name);
        // Among other headers, one of them as long as the name.
        const among = await auth.authenticateRequest({ host: 'registry.example.com', 'Cache-Control': 'no-cache', [name]: `Bearer ${token}` }, 'npm');
        assert.equal(among?.userId, 'alice', name);
      }
      assert.equal((await auth.authenticateRequest({ authorization: `bearer   ${token}` }, 'npm'))?.type, 'npm');
      assert.equal((await auth.authenticateRequest({ authorization: [`Bearer ${token}`] }, 'npm'))?.userId, 'alice');
    });

    test('Basic user:password acts with the user scopes, nothing stored', async () => {
      const token = await auth.authenticateRequest({ authorization: basic('reader', 'reader-pw') }, 'maven');
      assert.ok(token);
      assert.equal(token.userId, 'reader');
      assert.equal(token.type, 'maven');
      assert.deepEqual(token.scopes, ['*:*:*:read']);
      assert.equal(token.tokenId, undefined);
      assert.equal(await auth.authorize(token, 'maven:artifact:com.example:lib', 'read'), true);
      assert.equal(await auth.authorize(token, 'maven:artifact:com.example:lib', 'write'), false);
      assert.deepEqual(await auth.listUserTokens('reader'), []);
    });

    test('Basic with a token as password (docker, twine __token__, gem) or as user name', async () => {
      const pypi = await auth.createPypiToken('alice', false);
      assert.equal((await auth.authenticateRequest({ authorization: basic('__token__', pypi) }, 'pypi'))?.tokenId !== undefined, true);
      assert.equal((await auth.authenticateRequest({ authorization: basic('anyone', pypi) }, 'pypi'))?.userId, 'alice');
      assert.equal((await auth.authenticateRequest({ authorization: basic(pypi, '') }, 'pypi'))?.userId, 'alice');
      const oci = await auth.createOciToken('alice', ['oci:repository:x:pull']);
      assert.equal((await auth.authenticateRequest({ authorization: basic('alice', oci) }, 'oci'))?.type, 'oci');
    });

    test('a bad token as user __token__ is a 401 every time, never a throttled password login (429)', async () => {
      const npm = await auth.createNpmToken('alice');
      for (let attempt = 0; attempt < 8; attempt++) {
        await assert.rejects(auth.authenticateRequest({ authorization: basic('__token__', crypto.randomUUID()) }, 'pypi'), unauthorized(/invalid, expired or revoked/));
      }
      await assert.rejects(auth.authenticateRequest({ authorization: basic('__token__', npm) }, 'pypi'), unauthorized(/issued for npm, not pypi/));
      const pypi = await auth.createPypiToken('alice', false);
      assert.equal((await auth.authenticateRequest({ authorization: basic('__token__', pypi) }, 'pypi'))?.userId, 'alice');
    });

    test('raw token without a scheme (cargo, rubygems)', async () => {
      const cargo = await auth.createCargoToken('alice');
      assert.equal((await auth.authenticateRequest({ authorization: cargo }, 'cargo'))?.type, 'cargo');
      const gem = await auth.createRubyGemsToken('alice');
      assert.equal((await auth.authenticateRequest({ Authorization: gem }, 'rubygems'))?.userId, 'alice');
    });

    test('a present but invalid header is a 401, never anonymous', async () => {
      const revoked = await auth.createNpmToken('alice');
      await auth.revokeToken(revoked);
      const cases: [header: string, message: RegExp][] = [
        [`Bearer ${crypto.randomUUID()}`, /invalid, expired or revoked/],
        [`Bearer ${revoked}`, /invalid, expired or revoked/],
        [crypto.randomUUID(), /invalid, expired or revoked/],
        ['Bearer a.b.c', /invalid, expired or revoked/],
        [basic('alice', 'wrong'), /invalid username, password or token/],
        [basic('nobody', 'alice-pw'), /invalid username, password or token/],
        [basic('', ''), /invalid username, password or token/],
        ['Basic !!!not-base64', /malformed Basic/],
        [`Basic ${Buffer.from('no-colon').toString('base64')}`, /malformed Basic/],
        ['Digest username="alice"', /unsupported authorization scheme/],
      ];
      for (const [header, message] of cases) {
        await assert.rejects(auth.authenticateRequest({ authorization: header }, 'npm'), unauthorized(message), header);
      }
    });

    test('a token for another protocol is refused with a clear message', async () => {
      const npm = await auth.createNpmToken('alice');
      await assert.rejects(auth.authenticateRequest({ authorization: `Bearer ${npm}` }, 'oci'), unauthorized(/issued for npm, not oci/));
      await assert.rejects(auth.authenticateRequest({ authorization: basic('alice', npm) }, 'pypi'), unauthorized());
      const everywhere = await auth.createToken('alice', 'npm', { scopes: ['*:*:*:*'] });
      assert.equal((await auth.authenticateRequest({ authorization: `Bearer ${everywhere}` }, 'composer'))?.userId, 'alice');
    });
  });
});

describe('AuthManager with a custom provider', () => {
  // A minimal provider: no listing, no sign-up, no scopes of its own.
  const provider: IAuthProvider = {
    async authenticate({ username, password }) {
      return username === 'ldap-user' && password === 'secret' ? 'ldap-user' : null;
    },
    async validateToken(token) {
      return token === 'static-token' ? { type: 'npm', userId: 'ldap-user', scopes: ['npm:*:*:*'] } : null;
    },
    async createToken() {
      return 'static-token';
    },
    async revokeToken() {},
    async authorize(token: IAuthToken | null, resource: string) {
      return token !== null && resource.startsWith(`${token.type}:`);
    },
  };

  test('optional features degrade politely and requests still authenticate', async () => {
    const temp = await createTempStorage();
    try {
      const auth = new AuthManager({}, temp.storage, provider);
      await auth.init();
      assert.deepEqual(await auth.listUserTokens('ldap-user'), []);
      assert.equal(await auth.revokeTokenById('ldap-user', 'x'), false);
      assert.equal(await auth.createUser('x', 'y'), false);
      assert.equal(await auth.getUserScopes('ldap-user'), null);
      const byPassword = await auth.authenticateRequest({ authorization: basic('ldap-user', 'secret') }, 'pypi');
      assert.deepEqual(byPassword?.scopes, ['pypi:*:*:*']);
      assert.equal(await auth.authorize(byPassword, 'pypi:package:x', 'write'), true);
      assert.equal((await auth.authenticateRequest({ authorization: 'Bearer static-token' }, 'npm'))?.userId, 'ldap-user');
      await assert.rejects(auth.authenticateRequest({ authorization: 'Bearer nope' }, 'npm'), unauthorized());
      await auth.destroy();
    } finally {
      await temp.cleanup();
    }
  });
});

describe('AuthManager.authorizeNow', () => {
  const config = { tokenStore: 'memory' as const, users: { alice: { password: 'alice-pw', scopes: ['*'] } } };

  test('its own default provider decides at once, as authorize does', async () => {
    const temp = await createTempStorage();
    try {
      const auth = new AuthManager(config, temp.storage);
      await auth.init();
      const token = await auth.validateToken(await auth.createToken('alice', 'npm', { scopes: ['npm:package:left-pad:read'] }), 'npm');
      assert.equal(auth.authorizeNow(token, 'npm:package:left-pad', 'read'), true);
      assert.equal(auth.authorizeNow(token, 'npm:package:left-pad', 'write'), false);
      assert.equal(auth.authorizeNow(token, 'npm:package:other', 'read'), false);
      assert.equal(auth.authorizeNow(null, 'npm:package:left-pad', 'read'), false);
      await auth.destroy();
    } finally {
      await temp.cleanup();
    }
  });

  test('a given provider is asked, even a subclass of the default one that overrides authorize', async () => {
    const temp = await createTempStorage();
    try {
      class DenyingProvider extends DefaultAuthProvider {
        override async authorize() {
          return false;
        }
      }
      const auth = new AuthManager(config, temp.storage, new DenyingProvider(config, temp.storage));
      await auth.init();
      const token = await auth.validateToken(await auth.createToken('alice', 'npm'), 'npm');
      assert.equal(token?.userId, 'alice');
      const answer = auth.authorizeNow(token, 'npm:package:left-pad', 'read');
      assert.ok(answer instanceof Promise, 'asked, not decided here');
      assert.equal(await answer, false);
      await auth.destroy();
    } finally {
      await temp.cleanup();
    }
  });
});
