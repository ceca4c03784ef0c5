/**
 * Redirects of anonymous artifact GETs answered again without routing (`RememberedRedirects`, issue 19), through
 * `handleRequest` on Ceph RGW: a repeated GET gets the very answer the route gave, and never one the route would
 * not give now — not after a write through the instance, not past the stat's validation window or the URL's reuse
 * share, and not to a request with credentials, a validator, a Range or a query, nor with an `afterGet` hook.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { sendRequest } from '../helpers/requests.js';
import { publishBody } from '../npm/fixtures.js';

const VALIDATION_WINDOW_MS = 400;
const basic = `Basic ${Buffer.from('alice:alice-password').toString('base64')}`;
const EXPIRES_IN = 300;

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
  const publish = async (name: string) => {
    const { body } = await publishBody(name, '1.0.0');
    const published = await sendRequest(registry, 'PUT', `/npm/${name}`, { body, headers: { authorization: `Bearer ${token}` } });
    assert.equal(published.status, 201, published.text);
    // The writes that follow the answer (derived documents, the search entry) are done: none changes storage later.
    await registry.getStorage().settled();
    return `/npm/${name}/-/${name}-1.0.0.tgz`;
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
});
