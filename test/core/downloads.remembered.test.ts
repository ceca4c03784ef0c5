/**
 * Redirects of artifact GETs answered again without routing (`RememberedRedirects`, issue 19), through
 * `handleRequest` on Ceph RGW: a repeated GET gets the very answer the route gave, and never one the route would
 * not give now — not after a write through the instance, not past the stat's validation window or the URL's reuse
 * share, and not to a request with a validator, a Range or a query, nor with an `afterGet` hook. A GET with a token
 * is remembered per token: never past the token's revocation through this instance, its expiry, or the moment the
 * route would look its record or its user up in storage again; never with a password login or a given auth
 * provider, which the route asks every time.
 */
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import type { IAuthProvider, IAuthToken } from '../../ts/core/interfaces.auth.js';
import type { IRequestLogEntry } from '../../ts/core/interfaces.operations.js';
import { CORE_CONTEXT } from '../../ts/core/classes.registrystorage.js';
import { authPaths } from '../../ts/core/storage.paths.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { sendRequest } from '../helpers/requests.js';
import { publishBody } from '../npm/fixtures.js';

const VALIDATION_WINDOW_MS = 400;
const basic = `Basic ${Buffer.from('alice:alice-password').toString('base64')}`;
const EXPIRES_IN = 300;
/** The token store's and the user cache's windows (`cacheTtlMs`, `USER_CACHE_MS`): 5 s each. */
const AUTH_CACHE_MS = 5000;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * How many requests the route authenticated: a GET answered from a remembered answer runs no route, so it is not
 * counted. (A spy: the manager's own method still answers.)
 */
function countRouted(registry: SmartRegistry): { count: number } {
  const auth = registry.getAuthManager();
  const own = auth.authenticateRequest.bind(auth);
  const routed = { count: 0 };
  auth.authenticateRequest = (...args) => {
    routed.count++;
    return own(...args);
  };
  return routed;
}

describe('downloads: remembered redirects on Ceph RGW', { skip: skipWithoutCeph('the remembered redirect tests') }, () => {
  let ceph: ICephS3;
  let registry: SmartRegistry;
  let other: SmartRegistry;
  let token: string;
  let signingClock: () => Date;
  const config = (extra: Partial<IRegistryConfig> = {}): IRegistryConfig => ({
    storage: { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName },
    auth: { tokenStore: 'memory', anonymousRead: true, users: { alice: { password: 'alice-password', scopes: ['*'] } }, npmTokens: { enabled: true } },
    logging: { level: 'silent' },
    cache: { validationWindowMs: VALIDATION_WINDOW_MS },
    downloads: { redirect: true, expiresIn: EXPIRES_IN, now: () => signingClock() },
    npm: { enabled: true, basePath: '/npm' },
    ...extra,
  });
  const publish = async (name: string, into = registry, authorization = `Bearer ${token}`) => {
    const { body } = await publishBody(name, '1.0.0');
    const published = await sendRequest(into, 'PUT', `/npm/${name}`, { body, headers: { authorization } });
    assert.equal(published.status, 201, published.text);
    // The writes that follow the answer (derived documents, the search entry) are done: none changes storage later.
    await into.getStorage().settled();
    return `/npm/${name}/-/${name}-1.0.0.tgz`;
  };
  /**
   * A private registry on the bucket: no anonymous reads, and stats trusted for a minute, so that what ends a
   * remembered answer of a GET with a token is the token's own state. Destroyed after the test.
   */
  const started: SmartRegistry[] = [];
  const privateRegistry = async (tokenStore: 'memory' | 'storage', extra: Partial<IRegistryConfig> = {}) => {
    const instance = new SmartRegistry(config({
      auth: {
        tokenStore,
        allowSignup: true,
        signupScopes: ['npm:*:*:*'],
        users: { alice: { password: 'alice-password', scopes: ['*'] } },
        npmTokens: { enabled: true },
      },
      cache: { validationWindowMs: 60_000 },
      ...extra,
    }));
    started.push(instance);
    await instance.init();
    return instance;
  };

  before(async () => {
    ceph = await startCephS3();
    signingClock = () => new Date();
    registry = new SmartRegistry(config());
    await registry.init();
    // Another instance on the same bucket: its writes are not this instance's.
    other = new SmartRegistry(config());
    await other.init();
    token = await registry.getAuthManager().createNpmToken('alice');
  });
  after(async () => {
    await registry?.destroy();
    await other?.destroy();
    await ceph?.stop();
  });
  beforeEach(() => {
    signingClock = () => new Date();
  });
  afterEach(async () => {
    for (const instance of started.splice(0)) await instance.destroy();
  });

  it('a repeated anonymous GET gets the answer the route gave: status, Location and headers', async () => {
    const path = await publish('again');
    const first = await sendRequest(registry, 'GET', path);
    assert.equal(first.status, 307, first.text);
    for (let repeat = 0; repeat < 3; repeat++) {
      const again = await sendRequest(registry, 'GET', path);
      assert.equal(again.status, 307);
      assert.deepEqual(again.headers, first.headers);
    }
  });

  it('a delete through the instance is seen by the next GET', async () => {
    const path = await publish('deleted-here');
    assert.equal((await sendRequest(registry, 'GET', path)).status, 307);
    assert.equal((await sendRequest(registry, 'GET', path)).status, 307);
    const deleted = await sendRequest(registry, 'DELETE', '/npm/deleted-here', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await sendRequest(registry, 'GET', path)).status, 404);
  });

  it('a delete through another instance is seen once the stat\'s validation window has passed', async () => {
    const path = await publish('deleted-there');
    assert.equal((await sendRequest(registry, 'GET', path)).status, 307);
    assert.equal((await sendRequest(registry, 'GET', path)).status, 307);
    const deleted = await sendRequest(other, 'DELETE', '/npm/deleted-there', { headers: { authorization: basic } });
    assert.equal(deleted.status, 200, deleted.text);
    await sleep(VALIDATION_WINDOW_MS * 2);
    assert.equal((await sendRequest(registry, 'GET', path)).status, 404);
  });

  it('past the URL\'s reuse share a newly signed URL is handed out', async () => {
    const path = await publish('resigned');
    const started = Date.now();
    signingClock = () => new Date(started);
    const first = await sendRequest(registry, 'GET', path);
    assert.equal((await sendRequest(registry, 'GET', path)).headers.location, first.headers.location);
    // Past a fifth of the validity (60 s of 300 s), by the signing clock.
    signingClock = () => new Date(started + EXPIRES_IN * 1000 * 0.2 + 1000);
    const later = await sendRequest(registry, 'GET', path);
    assert.equal(later.status, 307);
    assert.notEqual(later.headers.location, first.headers.location);
    assert.match(later.headers.location!, new RegExp(`X-Amz-Date=${new Date(started + EXPIRES_IN * 200 + 1000).toISOString().replace(/[-:]|\.\d+/g, '')}`));
  });

  it('credentials, validators, HEAD, a Range and a query take the route: what it answers them', async () => {
    const path = await publish('routed');
    const first = await sendRequest(registry, 'GET', path);
    assert.equal(first.status, 307);
    assert.equal((await sendRequest(registry, 'GET', path)).status, 307);
    assert.equal((await sendRequest(registry, 'GET', path, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
    const head = await sendRequest(registry, 'HEAD', path);
    assert.equal(head.status, 200);
    assert.ok(Number(head.headers['content-length']) > 0);
    assert.ok(head.headers.etag);
    assert.equal((await sendRequest(registry, 'GET', path, { headers: { 'if-none-match': head.headers.etag } })).status, 304);
    assert.equal((await sendRequest(registry, 'GET', path, { headers: { range: 'bytes=999999999-' } })).status, 416);
    // A query is the route's to read: the same 307 here, but from the route.
    assert.equal((await sendRequest(registry, 'GET', `${path}?any=1`)).status, 307);
  });

  it('with an afterGet hook every GET runs it: nothing is answered from memory', async () => {
    const gets: string[] = [];
    const hooked = new SmartRegistry(config({ storageHooks: { afterGet: (ctx) => void gets.push(ctx.key) } }));
    await hooked.init();
    try {
      const path = await publish('hooked');
      for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(hooked, 'GET', path)).status, 307);
      assert.equal(gets.length, 3);
    } finally {
      await hooked.destroy();
    }
  });
  it('a token\'s repeated GET is answered from memory with the answer the route gave; Basic with a token too, a password login never', async () => {
    const instance = await privateRegistry('memory');
    const path = await publish('with-token', instance, basic);
    const routed = countRouted(instance);
    const npmToken = await instance.getAuthManager().createNpmToken('alice');
    // The first GET asks storage for the stat and signs the URL; the second is the route's answer from memory.
    assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(npmToken) })).status, 307);
    const routedAnswer = await sendRequest(instance, 'GET', path, { headers: bearer(npmToken) });
    assert.equal(routedAnswer.status, 307, routedAnswer.text);
    assert.equal(routed.count, 2);
    for (let repeat = 0; repeat < 3; repeat++) {
      const again = await sendRequest(instance, 'GET', path, { headers: bearer(npmToken) });
      assert.equal(again.status, 307);
      assert.deepEqual(again.headers, routedAnswer.headers);
    }
    assert.equal(routed.count, 2);
    // The same token in Basic (as twine and gem send one): remembered under its own header.
    const tokenBasic = { authorization: `Basic ${Buffer.from(`__token__:${npmToken}`).toString('base64')}` };
    for (let repeat = 0; repeat < 3; repeat++) assert.deepEqual((await sendRequest(instance, 'GET', path, { headers: tokenBasic })).headers, routedAnswer.headers);
    assert.equal(routed.count, 3);
    // A password login: its throttle and user lookup are the route's, every time.
    for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: { authorization: basic } })).status, 307);
    assert.equal(routed.count, 6);
    // Credentials longer than any token this registry issues (padded, still valid) are not kept.
    const padded = { authorization: `Bearer ${npmToken}${' '.repeat(3000)}` };
    for (let repeat = 0; repeat < 2; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: padded })).status, 307);
    assert.equal(routed.count, 8);
  });

  it('the request log names the token\'s user on a remembered answer, as on the routed one', async () => {
    const entries: IRequestLogEntry[] = [];
    const instance = await privateRegistry('memory', { logging: { level: 'silent', requests: (entry) => void entries.push(entry) } });
    const path = await publish('logged', instance, basic);
    const routed = countRouted(instance);
    const npmToken = await instance.getAuthManager().createNpmToken('alice');
    for (let repeat = 0; repeat < 4; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(npmToken) })).status, 307);
    assert.equal(routed.count, 2);
    assert.deepEqual(entries.slice(-4).map((entry) => [entry.status, entry.route, entry.userId]), Array(4).fill([307, '/:name/-/:file', 'alice']));
  });

  for (const tokenStore of ['memory', 'storage'] as const) {
    it(`${tokenStore} token store: a token revoked through this instance is refused at the next GET`, async () => {
      const instance = await privateRegistry(tokenStore);
      const path = await publish(`revoked-${tokenStore}`, instance, basic);
      const routed = countRouted(instance);
      const npmToken = await instance.getAuthManager().createNpmToken('alice');
      for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(npmToken) })).status, 307);
      assert.equal(routed.count, 2);
      await instance.getAuthManager().revokeToken(npmToken);
      assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(npmToken) })).status, 401);
    });
  }

  it('a JWT (the OCI token endpoint\'s kind, here with npm scopes): remembered per token, refused at once when revoked', async () => {
    const instance = await privateRegistry('memory');
    const path = await publish('with-jwt', instance, basic);
    const routed = countRouted(instance);
    const auth = instance.getAuthManager();
    const jwt = await auth.createOciToken('alice', ['npm:package:with-jwt:read']);
    const elsewhere = await auth.createOciToken('alice', ['npm:package:another:read']);
    assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(jwt) })).status, 307);
    const routedAnswer = await sendRequest(instance, 'GET', path, { headers: bearer(jwt) });
    assert.equal(routedAnswer.status, 307, routedAnswer.text);
    assert.deepEqual((await sendRequest(instance, 'GET', path, { headers: bearer(jwt) })).headers, routedAnswer.headers);
    assert.equal(routed.count, 2);
    for (let repeat = 0; repeat < 2; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(elsewhere) })).status, 403);
    await auth.revokeToken(jwt);
    assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(jwt) })).status, 401);
  });

  it('a token without read on the package is refused every time, however often another token was answered', async () => {
    const instance = await privateRegistry('memory');
    const path = await publish('scoped', instance, basic);
    const auth = instance.getAuthManager();
    const reader = await auth.createNpmToken('alice');
    const otherPackage = await auth.createNpmToken('alice', true, { scopes: ['npm:package:another:read'] });
    for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(reader) })).status, 307);
    for (let repeat = 0; repeat < 2; repeat++) {
      const refused = await sendRequest(instance, 'GET', path, { headers: bearer(otherPackage) });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.headers.location, undefined);
      assert.equal((await sendRequest(instance, 'GET', path)).status, 401);
    }
  });

  it('a token\'s remembered answer ends when the token expires', async () => {
    const instance = await privateRegistry('memory');
    const path = await publish('expiring', instance, basic);
    const routed = countRouted(instance);
    const shortLived = await instance.getAuthManager().createNpmToken('alice', false, { expiresIn: 1.5 });
    for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(shortLived) })).status, 307);
    assert.equal(routed.count, 2);
    await sleep(1600);
    assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer(shortLived) })).status, 401);
  });

  it('revoked through another instance: refused once this one would read the token\'s record again, as the route is', async () => {
    const here = await privateRegistry('storage');
    const path = await publish('revoked-there', here, basic);
    const there = await privateRegistry('storage');
    const routed = countRouted(here);
    // Its record is kept here from now for the token store's window; the user is first looked up later, so it
    // is kept longer: what ends the remembered answer is the record's window alone.
    const npmToken = await here.getAuthManager().createNpmToken('alice');
    const created = Date.now();
    await sleep(AUTH_CACHE_MS / 2);
    for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(here, 'GET', path, { headers: bearer(npmToken) })).status, 307);
    assert.equal(routed.count, 2);
    await there.getAuthManager().revokeToken(npmToken);
    await sleep(created + AUTH_CACHE_MS + 300 - Date.now());
    assert.equal((await sendRequest(here, 'GET', path, { headers: bearer(npmToken) })).status, 401);
  });

  it('a user\'s scopes narrowed through another instance: refused once this one would read the user again, as the route is', async () => {
    const here = await privateRegistry('storage');
    const path = await publish('narrowed', here, basic);
    const there = await privateRegistry('storage');
    const routed = countRouted(here);
    const auth = here.getAuthManager();
    assert.equal(await auth.createUser('carol', 'carol-password'), true);
    // The user is kept here from the first GET on; the second token's record, made later, is kept longer: what
    // ends the remembered answer is the user's window alone.
    const first = await auth.createNpmToken('carol');
    assert.equal((await sendRequest(here, 'GET', path, { headers: bearer(first) })).status, 307);
    const userLookedUp = Date.now();
    await sleep(AUTH_CACHE_MS / 2);
    const second = await auth.createNpmToken('carol');
    assert.equal((await sendRequest(here, 'GET', path, { headers: bearer(second) })).status, 307);
    assert.equal((await sendRequest(here, 'GET', path, { headers: bearer(second) })).status, 307);
    assert.equal(routed.count, 2);
    const storage = there.getStorage();
    const user = await storage.getJson<{ scopes: string[] }>(authPaths.user('carol'));
    await storage.putJson(authPaths.user('carol'), { ...user!.value, scopes: [] }, CORE_CONTEXT);
    await sleep(userLookedUp + AUTH_CACHE_MS + 300 - Date.now());
    assert.equal((await sendRequest(here, 'GET', path, { headers: bearer(second) })).status, 403);
  });

  it('a given auth provider is asked on every GET with a token', async () => {
    const path = await publish('own-provider');
    const asked: string[] = [];
    const provider: IAuthProvider = {
      authenticate: async () => null,
      validateToken: async (text) => {
        asked.push('validate');
        return text === 'good-token' ? ({ type: 'npm', userId: 'dora', scopes: ['npm:*:*:*'] } satisfies IAuthToken) : null;
      },
      createToken: async () => 'good-token',
      revokeToken: async () => {},
      authorize: async (authToken) => {
        asked.push('authorize');
        return authToken !== null;
      },
    };
    const instance = await privateRegistry('memory', { authProvider: provider });
    for (let repeat = 0; repeat < 3; repeat++) assert.equal((await sendRequest(instance, 'GET', path, { headers: bearer('good-token') })).status, 307);
    assert.deepEqual(asked, Array(3).fill(['validate', 'authorize']).flat());
  });
});
