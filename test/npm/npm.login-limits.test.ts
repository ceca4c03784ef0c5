/**
 * What an anonymous client can make the npm login endpoints keep or compute is bounded: web-login
 * sessions expire and are swept, at most `maxLoginSessions` are open, and failed password logins
 * back off. The clock is injected; nothing waits on the wall clock.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NpmRegistry } from '../../ts/npm/classes.npmregistry.js';
import { createNpmRegistry, type INpmTestRegistry } from './fixtures.js';

const SESSION_SECONDS = 600;
/** Past a session's lifetime, with a margin for the storage clock (object ages come from it). */
const PAST_EXPIRY_MS = SESSION_SECONDS * 1000 + 60_000;

describe('npm web login: session sweep and cap', () => {
  let r: INpmTestRegistry;
  let clock = Date.now();
  const sessionKeys = async () => (await r.keys()).filter((key) => key.startsWith('npm/login/'));
  const start = () => r.request('POST', '/npm/-/v1/login', { token: null, body: {} });

  before(async () => {
    r = await createNpmRegistry({
      registryOptions: {
        protocolFactories: { npm: (deps) => new NpmRegistry(deps, { maxLoginSessions: 3, loginSessionSeconds: SESSION_SECONDS, now: () => clock }) },
      },
    });
  });
  after(() => r.close());

  it('refuses a new login with 429 in npm shape while the cap is reached; storage stays as it was', async () => {
    const started = [await start(), await start(), await start()];
    for (const res of started) assert.equal(res.status, 200);
    const before = await r.keys();
    const full = await start();
    assert.equal(full.status, 429);
    assert.deepEqual(full.json, { error: 'too many npm logins are in progress; try again in a minute' });
    assert.equal(full.headers['retry-after'], '60');
    assert.deepEqual(await r.keys(), before);
    assert.equal((await sessionKeys()).length, 3);
  });

  it('expired sessions are swept by the next start, without anyone opening them', async () => {
    const old = await sessionKeys();
    clock += PAST_EXPIRY_MS;
    const fresh = await start();
    assert.equal(fresh.status, 200, fresh.text);
    const now = await sessionKeys();
    assert.equal(now.length, 1);
    assert.ok(!old.includes(now[0]), 'only the new session is left');
  });

  it('an expired session opened by its link answers the expired page', async () => {
    const res = await start();
    clock += PAST_EXPIRY_MS;
    const page = await r.request('GET', new URL(res.json.loginUrl).pathname, { token: null });
    assert.equal(page.status, 404);
    assert.match(page.text, /Login expired/);
  });
});

describe('npm: failed password logins back off', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry();
  });
  after(() => r.close());

  it('after five wrong passwords for a name, further tries answer 429 with Retry-After, also the right one', async () => {
    const basic = (password: string) => ({ token: null, headers: { authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` } });
    for (let i = 0; i < 6; i++) assert.equal((await r.request('GET', '/npm/-/whoami', basic(`wrong-${i}`))).status, 401);
    const refused = await r.request('GET', '/npm/-/whoami', basic('alice-password'));
    assert.equal(refused.status, 429);
    assert.match(refused.json.error, /too many failed logins; try again in 1 s/);
    assert.equal(refused.headers['retry-after'], '1');
    // The legacy login endpoint is held back the same way; tokens keep working.
    const couch = await r.request('PUT', '/npm/-/user/org.couchdb.user:alice', { token: null, body: { name: 'alice', password: 'alice-password' } });
    assert.equal(couch.status, 429);
    assert.equal((await r.request('GET', '/npm/-/whoami')).json.username, 'alice');
  });
});
