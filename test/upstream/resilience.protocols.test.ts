/**
 * The proxy's resilience, case by case for all seven protocols (one row each in protocols.fixtures.ts):
 * scope routing between two upstreams, priority fallback, the negative cache of a 404,
 * stale-while-revalidate, the circuit breaker (opens after N failures, a half-open probe, closes on a
 * success reached through a redirect to the real upstream), timeouts (504), dropped connections (502),
 * a retried 500, revalidation with ETag/Last-Modified, 100 concurrent requests causing one upstream
 * fetch, and serving from the cache with the upstream stopped. Upstreams are SmartRegistries and a fault
 * server on 127.0.0.1; requests go through handleRequest.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sendRequest } from '../helpers/requests.js';
import type { IProtocolUpstreamConfig } from '../../ts/upstream/interfaces.upstream.js';
import { PROTOCOL_ROWS } from './protocols.fixtures.js';
import { assertOneFetchFor100, eventually, startFaultServer, startProxyRegistry, startUpstreamRegistry, type IProxyRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

/** Long enough that a loaded machine does not reach it between two requests meant to find the circuit open. */
const RESET_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `body`, then stops everything it was given, the last started first. */
async function using<T extends { stop(): Promise<void> }[]>(started: [...T], body: (...things: T) => Promise<void>): Promise<void> {
  try {
    await body(...started);
  } finally {
    for (const thing of [...started].reverse()) await thing.stop();
  }
}

for (const row of PROTOCOL_ROWS) {
  const { protocol } = row;
  const config = (upstreams: IProtocolUpstreamConfig['upstreams'], extra: Partial<IProtocolUpstreamConfig> = {}) => ({
    [protocol]: { enabled: true, upstreams, resilience: { retries: 0, timeoutMs: 5000 }, ...extra } satisfies IProtocolUpstreamConfig,
  });
  const one = (url: string, extra: Partial<IProtocolUpstreamConfig> = {}) => config([{ id: 'up', url, priority: 1, enabled: true }], extra);
  const get = (proxy: IProxyRegistry, path: string, headers: Record<string, string> = {}) => sendRequest(proxy.registry, 'GET', `/${protocol}${path}`, { headers });
  const getMetadata = (proxy: IProxyRegistry, name: string) => get(proxy, row.metadata(name), row.metadataHeaders);
  const upstreamCount = (upstream: IUpstreamRegistry, path: string) => upstream.count(`${row.upstreamMount}${path}`);
  const circuit = (proxy: IProxyRegistry, id: string) => proxy.registry.getRegistry(protocol)!.getUpstreamProxy().circuitState(id);

  describe(`${protocol} proxy resilience`, () => {
    it('routes names by scope rules: the company upstream serves corp* names, the public one the rest', async () => {
      await using([await startUpstreamRegistry(), await startUpstreamRegistry()], async (company, open) => {
        const corp = row.name('corp-lib');
        const plain = row.name('plain-lib');
        const internal = await row.publish(company.registry, corp, '3.0.0');
        // The public upstream has a package of that name too; the rules must keep it out.
        const impostor = await row.publish(open.registry, corp, '9.0.0');
        const plainPublished = await row.publish(open.registry, plain, '1.0.0');
        const pattern = `${row.name('corp')}*`;
        await using(
          [
            await startProxyRegistry(
              config([
                { id: 'company', url: row.upstreamUrl(company.url), priority: 1, enabled: true, scopeRules: [{ pattern, action: 'include' }] },
                { id: 'public', url: row.upstreamUrl(open.url), priority: 2, enabled: true, scopeRules: [{ pattern, action: 'exclude' }] },
              ]),
            ),
          ],
          async (proxy) => {
            const corpMetadata = await getMetadata(proxy, corp);
            assert.equal(corpMetadata.status, 200, corpMetadata.text);
            assert.ok(internal.listedIn(corpMetadata), 'the company version is listed');
            assert.ok(!impostor.listedIn(corpMetadata), "the public upstream's package of that name is not");
            const artifact = await get(proxy, internal.artifact);
            assert.equal(artifact.status, 200, artifact.text);
            assert.ok(artifact.bytes.equals(internal.bytes));
            const plainMetadata = await getMetadata(proxy, plain);
            assert.equal(plainMetadata.status, 200, plainMetadata.text);
            assert.ok(plainPublished.listedIn(plainMetadata));
            assert.equal(upstreamCount(company, row.metadata(plain)), 0, 'the company upstream is never asked for other names');
            assert.equal(upstreamCount(open, row.metadata(corp)), 0, 'the public upstream is never asked for corp* names');
            assert.equal(upstreamCount(open, impostor.artifact), 0);
          },
        );
      });
    });

    it('falls back by priority to the upstream that has the package, and remembers the 404 of the first', async () => {
      await using([await startUpstreamRegistry(), await startUpstreamRegistry()], async (empty, full) => {
        const name = row.name('fallback-lib');
        const published = await row.publish(full.registry, name, '1.0.0');
        await using(
          [
            await startProxyRegistry(
              config([
                { id: 'second', url: row.upstreamUrl(full.url), priority: 2, enabled: true },
                { id: 'first', url: row.upstreamUrl(empty.url), priority: 1, enabled: true },
              ]),
            ),
          ],
          async (proxy) => {
            for (let i = 0; i < 3; i++) {
              const metadata = await getMetadata(proxy, name);
              assert.equal(metadata.status, 200, metadata.text);
              assert.ok(published.listedIn(metadata));
            }
            assert.equal(upstreamCount(empty, row.metadata(name)), 1, 'the first upstream said 404 once; that is remembered');
            assert.equal(upstreamCount(full, row.metadata(name)), 1, 'fresh within the TTL');
            const artifact = await get(proxy, published.artifact);
            assert.equal(artifact.status, 200, artifact.text);
            assert.ok(artifact.bytes.equals(published.bytes));
          },
        );
      });
    });

    it('remembers a 404 for negativeTtl: a name no upstream has is asked for once', async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        await using([await startProxyRegistry(one(row.upstreamUrl(upstream.url), { cache: { enabled: true, negativeTtl: 60 } }))], async (proxy) => {
          const name = row.name('nowhere-lib');
          for (let i = 0; i < 3; i++) assert.equal((await getMetadata(proxy, name)).status, 404);
          assert.equal(upstreamCount(upstream, row.metadata(name)), 1);
          // Published upstream meanwhile: still a 404 until the negative entry expires.
          await row.publish(upstream.registry, name, '1.0.0');
          assert.equal((await getMetadata(proxy, name)).status, 404);
          assert.equal(upstreamCount(upstream, row.metadata(name)), 1);
        });
        await using([await startProxyRegistry(one(row.upstreamUrl(upstream.url), { cache: { enabled: true, negativeTtl: 0 } }))], async (proxy) => {
          const name = row.name('later-lib');
          assert.equal((await getMetadata(proxy, name)).status, 404);
          const published = await row.publish(upstream.registry, name, '1.0.0');
          const metadata = await getMetadata(proxy, name);
          assert.equal(metadata.status, 200, 'with negativeTtl 0 the 404 is asked again');
          assert.ok(published.listedIn(metadata));
        });
      });
    });

    it('forgets a package its upstream no longer has, and keeps no 404 in storage', async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        const name = row.name('gone-lib');
        await row.publish(upstream.registry, name, '1.0.0');
        const server = await startFaultServer((req) => ({ kind: 'redirect', to: `${upstream.url}${req.url}` }));
        const stopServer = { stop: () => server.close() };
        const expiring = one(row.upstreamUrl(server.url), { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false, negativeTtl: 60 } });
        await using([stopServer, await startProxyRegistry(expiring)], async (_server, proxy) => {
          assert.equal((await getMetadata(proxy, name)).status, 200);
          const withDocument = await proxy.keys('upstream/');
          server.behave = () => ({ kind: 'status', status: 404 });
          assert.equal((await getMetadata(proxy, name)).status, 404, 'not served from the old copy');
          for (let i = 0; i < 3; i++) assert.equal((await getMetadata(proxy, row.name(`missing-${i}`))).status, 404);
          const left = await proxy.keys('upstream/');
          assert.equal(left.length, withDocument.length - 1, 'the gone document removed, no entry for any 404');
          assert.ok(left.every((key) => withDocument.includes(key)));
          assert.equal((await getMetadata(proxy, row.name('missing-0'))).status, 404);
          assert.equal(server.log.filter((entry) => entry.url === `${row.upstreamMount}${row.metadata(row.name('missing-0'))}`).length, 1, 'the 404 is remembered');
        });
      });
    });

    it('serves stale metadata at once and refreshes it in the background', async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        const name = row.name('swr-lib');
        const first = await row.publish(upstream.registry, name, '1.0.0');
        await using([await startProxyRegistry(one(row.upstreamUrl(upstream.url), { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: true } }))], async (proxy) => {
          const fresh = await getMetadata(proxy, name);
          assert.equal(fresh.status, 200, fresh.text);
          assert.equal(fresh.headers['x-cache'], 'MISS');
          const second = await row.publish(upstream.registry, name, '2.0.0');
          const stale = await getMetadata(proxy, name);
          assert.equal(stale.headers['x-cache'], 'STALE');
          assert.ok(first.listedIn(stale) && !second.listedIn(stale), 'the cached copy, served at once');
          await eventually(async () => second.listedIn(await getMetadata(proxy, name)), 'the background refresh');
        });
      });
    });

    it('opens the circuit after N failures, lets one probe through after the delay, and closes when it succeeds', async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        const name = row.name('breaker-lib');
        const published = await row.publish(upstream.registry, name, '1.0.0');
        const fault = await startFaultServer(() => ({ kind: 'status', status: 500 }));
        const stopFault = { stop: () => fault.close() };
        const breaking = one(row.upstreamUrl(fault.url), { resilience: { retries: 0, failureThreshold: 2, resetTimeoutMs: RESET_MS } });
        await using([stopFault, await startProxyRegistry(breaking)], async (_fault, proxy) => {
          for (let i = 0; i < 2; i++) {
            const failed = await getMetadata(proxy, row.name(`failing-${i}`));
            assert.equal(failed.status, 502, failed.text);
            row.assertBadGateway(failed);
          }
          assert.equal(fault.log.length, 2, 'one upstream request per failure');
          assert.equal(circuit(proxy, 'up'), 'open');
          const shortCut = await getMetadata(proxy, name);
          assert.equal(shortCut.status, 502);
          row.assertBadGateway(shortCut);
          assert.equal(fault.log.length, 2, 'an open circuit sends nothing');

          await sleep(RESET_MS + 50);
          assert.equal((await getMetadata(proxy, name)).status, 502, 'the probe failed');
          assert.equal(fault.log.length, 3, 'one probe');
          assert.equal(circuit(proxy, 'up'), 'open');
          assert.equal((await getMetadata(proxy, name)).status, 502);
          assert.equal(fault.log.length, 3, 'open again for another period after a failed probe');

          // The upstream is back (reached through a redirect to the real registry).
          fault.behave = (req) => ({ kind: 'redirect', to: `${upstream.url}${req.url}` });
          await sleep(RESET_MS + 50);
          const metadata = await getMetadata(proxy, name);
          assert.equal(metadata.status, 200, metadata.text);
          assert.ok(published.listedIn(metadata));
          assert.equal(circuit(proxy, 'up'), 'closed');
          const artifact = await get(proxy, published.artifact);
          assert.equal(artifact.status, 200, artifact.text);
          assert.ok(artifact.bytes.equals(published.bytes));
        });
      });
    });

    it('answers 504 for an upstream too slow and 502 for one that drops the connection, in the protocol shape; retries a 500', async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        const name = row.name('flaky-lib');
        const published = await row.publish(upstream.registry, name, '1.0.0');
        const server = await startFaultServer(() => ({ kind: 'slow', ms: 30_000 }));
        const stopServer = { stop: () => server.close() };
        const flaky = one(row.upstreamUrl(server.url), { resilience: { retries: 1, retryBaseMs: 1, timeoutMs: 1000, failureThreshold: 100 } });
        await using([stopServer, await startProxyRegistry(flaky)], async (_server, proxy) => {
          const slow = await getMetadata(proxy, name);
          assert.equal(slow.status, 504, slow.text);
          assert.match(slow.text, /gateway timeout/);
          server.behave = () => ({ kind: 'drop' });
          const dropped = await getMetadata(proxy, name);
          assert.equal(dropped.status, 502, dropped.text);
          row.assertBadGateway(dropped);

          // One 500, then the upstream answers (through a redirect to another port): the retry gets it.
          let failures = 0;
          server.behave = (req) => (failures++ === 0 ? { kind: 'status', status: 500 } : { kind: 'redirect', to: `${upstream.url}${req.url}` });
          const before = server.log.length;
          const metadata = await getMetadata(proxy, name);
          assert.equal(metadata.status, 200, metadata.text);
          assert.ok(published.listedIn(metadata));
          assert.equal(server.log.length - before, 2, 'the 500, then the retry');
          const artifact = await get(proxy, published.artifact);
          assert.equal(artifact.status, 200, artifact.text);
          assert.ok(artifact.bytes.equals(published.bytes), 'the artifact, followed across the redirect');
        });
      });
    });

    it("revalidates expired metadata with the upstream's validators: a 304 is a HIT", async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        const name = row.name('etag-lib');
        const published = await row.publish(upstream.registry, name, '1.0.0');
        await using([await startProxyRegistry(one(row.upstreamUrl(upstream.url), { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }))], async (proxy) => {
          assert.equal((await getMetadata(proxy, name)).headers['x-cache'], 'MISS');
          const again = await getMetadata(proxy, name);
          assert.equal(again.status, 200, again.text);
          assert.equal(again.headers['x-cache'], 'HIT', 'the upstream answered 304 to our validators');
          assert.ok(published.listedIn(again));
          assert.equal(upstreamCount(upstream, row.metadata(name)), 2);
          const second = await row.publish(upstream.registry, name, '2.0.0');
          const changed = await getMetadata(proxy, name);
          assert.equal(changed.headers['x-cache'], 'MISS');
          assert.ok(second.listedIn(changed));
        });
      });
    });

    it('fetches an uncached artifact once for 100 concurrent requests (counted at the upstream)', async () => {
      await using([await startUpstreamRegistry()], async (upstream) => {
        const published = await row.publish(upstream.registry, row.name('busy-lib'), '1.0.0');
        await using([await startProxyRegistry(one(row.upstreamUrl(upstream.url)))], async (proxy) => {
          assert.equal((await getMetadata(proxy, row.name('busy-lib'))).status, 200);
          await assertOneFetchFor100(proxy, upstream, `/${protocol}${published.artifact}`, `${row.upstreamMount}${published.artifact}`, published.bytes);
        });
      });
    });

    it('serves metadata and artifacts from the cache with the upstream stopped; a miss is a 502 in the protocol shape', async () => {
      const upstream = await startUpstreamRegistry();
      let stopped = false;
      try {
        const name = row.name('offline-lib');
        const published = await row.publish(upstream.registry, name, '1.0.0');
        await using([await startProxyRegistry(one(row.upstreamUrl(upstream.url), { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }))], async (proxy) => {
          assert.equal((await getMetadata(proxy, name)).status, 200);
          assert.equal((await get(proxy, published.artifact)).status, 200);
          await upstream.stop();
          stopped = true;
          const metadata = await getMetadata(proxy, name);
          assert.equal(metadata.status, 200, metadata.text);
          assert.equal(metadata.headers['x-cache'], 'STALE');
          assert.ok(published.listedIn(metadata));
          const artifact = await get(proxy, published.artifact);
          assert.equal(artifact.status, 200, artifact.text);
          assert.equal(artifact.headers['x-cache'], 'HIT');
          assert.ok(artifact.bytes.equals(published.bytes));
          const missing = await getMetadata(proxy, row.name('never-seen'));
          assert.equal(missing.status, 502, missing.text);
          row.assertBadGateway(missing);
        });
      } finally {
        if (!stopped) await upstream.stop();
      }
    });
  });
}
