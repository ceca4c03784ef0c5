/**
 * The npm proxy through handleRequest, against a real upstream SmartRegistry on 127.0.0.1 (and a fault
 * server): packuments merged with local versions and tarball URLs rewritten to ours, tarballs cached
 * and verified, scope routing, priority fallback, negative cache, stale-while-revalidate, circuit
 * breaker, timeouts, redirects, coalescing, and serving from the cache with the upstream stopped.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { sendRequest } from '../helpers/requests.js';
import { publishBody } from '../npm/fixtures.js';
import type { IProtocolUpstreamConfig } from '../../ts/upstream/interfaces.upstream.js';
import { assertOneFetchFor100, eventually, startFaultServer, startProxyRegistry, startUpstreamRegistry, type IProxyRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const sha512 = (bytes: Buffer) => crypto.createHash('sha512').update(bytes).digest('hex');
const fast = { retries: 0, timeoutMs: 2000 };

async function publish(upstream: IUpstreamRegistry, name: string, version: string, manifest: Record<string, unknown> = {}) {
  const token = await upstream.registry.getAuthManager().createNpmToken('admin', false);
  const { body, tarball } = await publishBody(name, version, { manifest });
  const response = await sendRequest(upstream.registry, 'PUT', `/npm/${name.replace('/', '%2f')}`, { headers: { authorization: `Bearer ${token}` }, body });
  assert.equal(response.status, 201, response.text);
  return tarball;
}

const npmConfig = (upstreams: IProtocolUpstreamConfig['upstreams'], extra: Partial<IProtocolUpstreamConfig> = {}): { npm: IProtocolUpstreamConfig } => ({
  npm: { enabled: true, upstreams, resilience: fast, ...extra },
});

describe('npm upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  let tarball: Buffer;

  before(async () => {
    upstream = await startUpstreamRegistry();
    tarball = await publish(upstream, 'left-pad', '1.0.0');
    await publish(upstream, 'left-pad', '1.1.0');
  });
  after(() => upstream.stop());

  it('serves the upstream packument with tarball URLs of its own, then from the cache', async () => {
    const proxy = await startProxyRegistry(npmConfig([{ id: 'up', url: `${upstream.url}/npm`, priority: 1, enabled: true }]));
    try {
      const first = await sendRequest(proxy.registry, 'GET', '/npm/left-pad');
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers['x-cache'], 'MISS');
      assert.deepEqual(Object.keys(first.json.versions).sort(), ['1.0.0', '1.1.0']);
      assert.equal(first.json['dist-tags'].latest, '1.1.0');
      assert.equal(first.json.versions['1.0.0'].dist.tarball, 'http://registry.example.com/npm/left-pad/-/left-pad-1.0.0.tgz');
      const second = await sendRequest(proxy.registry, 'GET', '/npm/left-pad');
      assert.equal(second.headers['x-cache'], 'HIT');
      assert.equal(upstream.count('/npm/left-pad'), 1);
      assert.deepEqual(second.json, first.json);

      const abbreviated = await sendRequest(proxy.registry, 'GET', '/npm/left-pad', { headers: { accept: 'application/vnd.npm.install-v1+json' } });
      assert.equal(abbreviated.status, 200);
      assert.match(abbreviated.headers['content-type'], /install-v1/);
      assert.equal(abbreviated.json.versions['1.0.0'].dist.tarball, first.json.versions['1.0.0'].dist.tarball);
      assert.equal(abbreviated.json.versions['1.0.0'].description, undefined);

      const before = await proxy.keys('upstream/');
      assert.equal(before.filter((key) => key.includes('/artifacts/')).length, 0);
      const got = await sendRequest(proxy.registry, 'GET', '/npm/left-pad/-/left-pad-1.0.0.tgz');
      assert.equal(got.status, 200, got.text);
      assert.equal(got.headers['x-cache'], 'MISS');
      assert.equal(sha512(got.bytes), sha512(tarball));
      const cached = await proxy.keys('upstream/npm/up/artifacts/');
      assert.equal(cached.length, 2, 'the tarball and its record');
      const again = await sendRequest(proxy.registry, 'GET', '/npm/left-pad/-/left-pad-1.0.0.tgz');
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.ok(again.bytes.equals(tarball));
      assert.equal(upstream.count('/npm/left-pad/-/left-pad-1.0.0.tgz'), 1);

      const version = await sendRequest(proxy.registry, 'GET', '/npm/left-pad/1.0.0');
      assert.equal(version.status, 200);
      assert.equal(version.json.version, '1.0.0');
      const tags = await sendRequest(proxy.registry, 'GET', '/npm/-/package/left-pad/dist-tags');
      assert.deepEqual(tags.json, { latest: '1.1.0' });
    } finally {
      await proxy.stop();
    }
  });

  it('merges local versions over the upstream ones; local dist-tags win', async () => {
    const proxy = await startProxyRegistry(npmConfig([{ id: 'up', url: `${upstream.url}/npm`, priority: 1, enabled: true }]));
    try {
      const token = await proxy.registry.getAuthManager().createNpmToken('admin', false);
      const { body, tarball: local } = await publishBody('left-pad', '1.1.0', { manifest: { description: 'local build' }, tag: 'latest' });
      // The local registry has no left-pad yet: publishing 1.1.0 here is allowed and shadows the upstream's 1.1.0.
      assert.equal((await sendRequest(proxy.registry, 'PUT', '/npm/left-pad', { headers: { authorization: `Bearer ${token}` }, body })).status, 201);
      const doc = await sendRequest(proxy.registry, 'GET', '/npm/left-pad');
      assert.deepEqual(Object.keys(doc.json.versions).sort(), ['1.0.0', '1.1.0']);
      assert.equal(doc.json.versions['1.1.0'].description, 'local build');
      const got = await sendRequest(proxy.registry, 'GET', '/npm/left-pad/-/left-pad-1.1.0.tgz');
      assert.ok(got.bytes.equals(local), 'the local tarball wins');
      assert.equal(got.headers['x-cache'], undefined);
    } finally {
      await proxy.stop();
    }
  });

  it('routes @company/* to one upstream and the rest to another (one glob dialect with auth scopes)', async () => {
    const company = await startUpstreamRegistry();
    try {
      await publish(company, '@company/tool', '2.0.0');
      const proxy = await startProxyRegistry(
        npmConfig([
          { id: 'company', url: `${company.url}/npm`, priority: 1, enabled: true, scopeRules: [{ pattern: '@company/*', action: 'include' }] },
          { id: 'public', url: `${upstream.url}/npm`, priority: 10, enabled: true, scopeRules: [{ pattern: '@company/*', action: 'exclude' }] },
        ]),
      );
      try {
        const scoped = await sendRequest(proxy.registry, 'GET', '/npm/@company%2ftool');
        assert.equal(scoped.status, 200, scoped.text);
        assert.equal(scoped.json.versions['2.0.0'].dist.tarball, 'http://registry.example.com/npm/@company/tool/-/tool-2.0.0.tgz');
        const plain = await sendRequest(proxy.registry, 'GET', '/npm/left-pad');
        assert.equal(plain.status, 200);
        assert.equal(company.count('/npm/left-pad'), 0, 'the company upstream is never asked for other names');
        assert.equal(upstream.log.filter((entry) => entry.url.includes('company')).length, 0, 'the public upstream is never asked for @company/*');
        const missing = await sendRequest(proxy.registry, 'GET', '/npm/@company%2fnothing');
        assert.equal(missing.status, 404);
        assert.ok(missing.json.error);
      } finally {
        await proxy.stop();
      }
    } finally {
      await company.stop();
    }
  });

  it('falls back by priority and remembers a 404 for negativeTtl', async () => {
    const empty = await startUpstreamRegistry();
    try {
      const proxy = await startProxyRegistry(
        npmConfig([
          { id: 'second', url: `${upstream.url}/npm`, priority: 2, enabled: true },
          { id: 'first', url: `${empty.url}/npm`, priority: 1, enabled: true },
        ]),
      );
      try {
        const earlier = upstream.count('/npm/left-pad');
        for (let i = 0; i < 3; i++) {
          const doc = await sendRequest(proxy.registry, 'GET', '/npm/left-pad');
          assert.equal(doc.status, 200);
        }
        assert.equal(empty.count('/npm/left-pad'), 1, 'the first upstream said 404 once; that is remembered');
        assert.equal(upstream.count('/npm/left-pad') - earlier, 1);
      } finally {
        await proxy.stop();
      }
    } finally {
      await empty.stop();
    }
  });

  it('serves stale metadata at once and refreshes it in the background', async () => {
    const own = await startUpstreamRegistry();
    try {
      await publish(own, 'swr-pkg', '1.0.0');
      const proxy = await startProxyRegistry(
        npmConfig([{ id: 'up', url: `${own.url}/npm`, priority: 1, enabled: true }], { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: true } }),
      );
      try {
        assert.equal((await sendRequest(proxy.registry, 'GET', '/npm/swr-pkg')).headers['x-cache'], 'MISS');
        await publish(own, 'swr-pkg', '2.0.0');
        const stale = await sendRequest(proxy.registry, 'GET', '/npm/swr-pkg');
        assert.equal(stale.headers['x-cache'], 'STALE');
        assert.deepEqual(Object.keys(stale.json.versions), ['1.0.0'], 'the cached copy, served at once');
        await eventually(async () => {
          const doc = await sendRequest(proxy.registry, 'GET', '/npm/swr-pkg');
          return Object.hasOwn(doc.json.versions, '2.0.0');
        }, 'the background refresh');
      } finally {
        await proxy.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('keeps serving what it cached once the upstream is gone; uncached names get 502 in npm shape', async () => {
    const own = await startUpstreamRegistry();
    const bytes = await publish(own, 'gone-pkg', '1.0.0');
    const proxy = await startProxyRegistry(
      npmConfig([{ id: 'up', url: `${own.url}/npm`, priority: 1, enabled: true }], { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }),
    );
    try {
      assert.equal((await sendRequest(proxy.registry, 'GET', '/npm/gone-pkg')).status, 200);
      assert.equal((await sendRequest(proxy.registry, 'GET', '/npm/gone-pkg/-/gone-pkg-1.0.0.tgz')).status, 200);
      await own.stop();
      const doc = await sendRequest(proxy.registry, 'GET', '/npm/gone-pkg');
      assert.equal(doc.status, 200);
      assert.equal(doc.headers['x-cache'], 'STALE');
      const got = await sendRequest(proxy.registry, 'GET', '/npm/gone-pkg/-/gone-pkg-1.0.0.tgz');
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(bytes));
      const missing = await sendRequest(proxy.registry, 'GET', '/npm/never-seen');
      assert.equal(missing.status, 502);
      assert.match(missing.json.error, /bad gateway \(error id /);
    } finally {
      await proxy.stop();
    }
  });

  it('opens the circuit after repeated failures: no more requests go out, and the answer is a 502 at once', async () => {
    const fault = await startFaultServer(() => ({ kind: 'status', status: 500 }));
    const proxy = await startProxyRegistry(
      npmConfig([{ id: 'broken', url: fault.url, priority: 1, enabled: true }], { resilience: { retries: 0, failureThreshold: 2, resetTimeoutMs: 60_000 } }),
    );
    try {
      for (let i = 0; i < 2; i++) assert.equal((await sendRequest(proxy.registry, 'GET', `/npm/pkg-${i}`)).status, 502);
      assert.equal(fault.log.length, 2);
      const open = await sendRequest(proxy.registry, 'GET', '/npm/pkg-3');
      assert.equal(open.status, 502);
      assert.equal(fault.log.length, 2, 'an open circuit sends nothing');
      assert.equal(proxy.registry.getRegistry('npm')!.getUpstreamProxy().circuitState('broken'), 'open');
    } finally {
      await proxy.stop();
      await fault.close();
    }
  });

  it('retries a 500 with back-off, and answers 504 when the upstream is too slow', async () => {
    let calls = 0;
    const fault = await startFaultServer(() => (++calls < 3 ? { kind: 'status', status: 500 } : { kind: 'slow', ms: 5000 }));
    const proxy = await startProxyRegistry(
      npmConfig([{ id: 'slow', url: fault.url, priority: 1, enabled: true }], { resilience: { retries: 2, retryBaseMs: 1, timeoutMs: 200 } }),
    );
    try {
      const answer = await sendRequest(proxy.registry, 'GET', '/npm/slow-pkg');
      assert.equal(answer.status, 504);
      assert.match(answer.json.error, /gateway timeout/);
      assert.equal(fault.log.length, 3, 'two 500s retried, then the slow one');
    } finally {
      await proxy.stop();
      await fault.close();
    }
  });

  it('follows a redirect to another origin without sending our credentials there', async () => {
    const redirecting = await startFaultServer((req) => {
      if (req.url === '/npm/left-pad') return { kind: 'redirect', to: `${upstream.url}/npm/left-pad` };
      return { kind: 'redirect', to: `${upstream.url}${req.url}` };
    });
    const proxy = await startProxyRegistry(
      npmConfig([{ id: 'cdn', url: `${redirecting.url}/npm`, priority: 1, enabled: true, auth: { type: 'bearer', token: 'secret-token' } }]),
    );
    try {
      const seenBefore = upstream.log.length;
      const doc = await sendRequest(proxy.registry, 'GET', '/npm/left-pad');
      assert.equal(doc.status, 200, doc.text);
      assert.equal(redirecting.log[0].authorization, 'Bearer secret-token');
      const atTarget = upstream.log.slice(seenBefore);
      assert.ok(atTarget.length > 0);
      assert.ok(atTarget.every((entry) => entry.authorization === undefined), 'Authorization is dropped on the hop');
    } finally {
      await proxy.stop();
      await redirecting.close();
    }
  });

  it('refuses a tarball whose bytes do not match the upstream digest, and stores nothing', async () => {
    const good = await publishBody('bad-pkg', '1.0.0');
    const packument = {
      name: 'bad-pkg',
      'dist-tags': { latest: '1.0.0' },
      versions: { '1.0.0': { ...good.body.versions['1.0.0'], dist: { ...good.body.versions['1.0.0'].dist, tarball: 'placeholder' } } },
    };
    const lying = await startFaultServer((req) =>
      req.url === '/bad-pkg'
        ? { kind: 'reply', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(packument) }
        : { kind: 'reply', status: 200, body: Buffer.from('not the tarball the packument promised') },
    );
    const proxy = await startProxyRegistry(npmConfig([{ id: 'lying', url: lying.url, priority: 1, enabled: true }]));
    try {
      const response = await proxy.registry.handleRequest({ method: 'GET', path: '/npm/bad-pkg/-/bad-pkg-1.0.0.tgz', headers: { host: 'registry.example.com' }, query: {} });
      await assert.rejects(async () => {
        for await (const _ of response.body!) {
          // read until the stream fails
        }
      });
      await eventually(async () => (await proxy.keys('upstream/npm/lying/artifacts/')).length === 0, 'nothing cached');
      assert.deepEqual(await proxy.keys('upstream/npm/lying/artifacts/'), []);
    } finally {
      await proxy.stop();
      await lying.close();
    }
  });

  it('fetches an uncached tarball once for 100 concurrent requests', async () => {
    const own = await startUpstreamRegistry();
    try {
      const bytes = await publish(own, 'popular', '1.0.0');
      const proxy = await startProxyRegistry(npmConfig([{ id: 'up', url: `${own.url}/npm`, priority: 1, enabled: true }]));
      try {
        await sendRequest(proxy.registry, 'GET', '/npm/popular');
        await assertOneFetchFor100(proxy, own, '/npm/popular/-/popular-1.0.0.tgz', '/npm/popular/-/popular-1.0.0.tgz', bytes);
      } finally {
        await proxy.stop();
      }
    } finally {
      await own.stop();
    }
  });
});
