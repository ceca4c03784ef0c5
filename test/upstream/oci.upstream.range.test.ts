/**
 * The OCI proxy answering a `Range` GET of a blob it has not cached yet: 206 with the range as the upstream
 * body arrives (not after the whole blob is stored), the cache filled by that one fetch; 416 at once for a
 * range outside the blob; and with the cache off, the range cut from the upstream body.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readResponse, sendRequest } from '../helpers/requests.js';
import { startHttp, type ITestServer } from '../adapters/helpers.http.js';
import type { IProtocolUpstreamConfig } from '../../ts/upstream/interfaces.upstream.js';
import { pushImage, type IPushedImage } from './oci.fixtures.js';
import { startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const ociConfig = (url: string, extra: Partial<IProtocolUpstreamConfig> = {}): { oci: IProtocolUpstreamConfig } => ({
  oci: { enabled: true, upstreams: [{ id: 'up', url, priority: 1, enabled: true }], resilience: { retries: 0, timeoutMs: 30_000 }, ...extra },
});

/**
 * In front of the upstream: blob bodies stop halfway until `release()`; `blobRequests` counts them.
 */
async function startHalfwayFront(upstreamUrl: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let blobRequests = 0;
  const server: ITestServer = await startHttp(async (req, res) => {
    const answer = await fetch(`${upstreamUrl}${req.url}`, { headers: { accept: req.headers.accept ?? '*/*' } });
    const body = Buffer.from(await answer.arrayBuffer());
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => (headers[name] = value));
    delete headers['content-encoding'];
    headers['content-length'] = String(body.length);
    res.writeHead(answer.status, headers);
    if (!/\/blobs\/sha256:/.test(req.url ?? '')) return void res.end(body);
    blobRequests++;
    res.write(body.subarray(0, body.length / 2));
    await released;
    res.end(body.subarray(body.length / 2));
  });
  return { server, release, blobRequests: () => blobRequests };
}

describe('oci upstream proxy: Range on a blob not cached yet', () => {
  let upstream: IUpstreamRegistry;
  let image: IPushedImage;
  /** The 300 KiB layer. */
  let layer: Buffer;
  let digest: string;

  before(async () => {
    upstream = await startUpstreamRegistry();
    image = await pushImage(upstream.registry, 'team/app', 'v1');
    layer = image.layers[1]!;
    digest = image.blobs[2]!;
  });
  after(() => upstream.stop());

  it('answers 206 with the range while the upstream is still sending, fills the cache with that one fetch, and serves the stored copy next', async () => {
    const front = await startHalfwayFront(`${upstream.url}/oci`);
    const proxy = await startProxyRegistry(ociConfig(front.server.url));
    try {
      const order: string[] = [];
      const answering = proxy.registry.handleRequest({
        method: 'GET',
        path: `/oci/v2/team/app/blobs/${digest}`,
        query: {},
        headers: { host: 'registry.example.com', range: 'bytes=10-19' },
      });
      // The upstream sends the second half only once the proxy answered (or, if it never does without it, after a while).
      let fallback: NodeJS.Timeout | undefined;
      await Promise.race([answering.then(() => order.push('answered')), new Promise((resolve) => (fallback = setTimeout(resolve, 20_000)))]);
      clearTimeout(fallback);
      order.push('upstream finished');
      front.release();
      const ranged = await readResponse(await answering);
      assert.deepEqual(order, ['answered', 'upstream finished'], 'the 206 came before the blob was whole');
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers['content-range'], `bytes 10-19/${layer.length}`);
      assert.equal(ranged.headers['content-length'], '10');
      assert.equal(ranged.headers['docker-content-digest'], digest);
      assert.equal(ranged.headers['x-cache'], 'MISS');
      assert.ok(ranged.bytes.equals(layer.subarray(10, 20)));

      const whole = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`);
      assert.equal(whole.status, 200);
      assert.equal(whole.headers['x-cache'], 'HIT');
      assert.ok(whole.bytes.equals(layer));
      const tail = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`, { headers: { range: 'bytes=-5' } });
      assert.equal(tail.status, 206);
      assert.ok(tail.bytes.equals(layer.subarray(layer.length - 5)));
      assert.equal(front.blobRequests(), 1, 'one fetch filled the cache');
    } finally {
      front.release();
      await proxy.stop();
      await front.server.close();
    }
  });

  it('a range outside the blob is 416 with Content-Range bytes */size while the fetch goes on to fill the cache', async () => {
    const front = await startHalfwayFront(`${upstream.url}/oci`);
    const proxy = await startProxyRegistry(ociConfig(front.server.url));
    try {
      for (const [blob, range] of [
        [digest, `bytes=${layer.length}-`],
        [image.blobs[1]!, 'bytes=500-0'],
      ] as const) {
        const refused = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${blob}`, { headers: { range } });
        assert.equal(refused.status, 416, range);
        const size = blob === digest ? layer.length : image.layers[0]!.length;
        assert.equal(refused.headers['content-range'], `bytes */${size}`);
        assert.equal(refused.json?.errors?.[0]?.code, 'BLOB_UNKNOWN', 'the code a stored blob\'s 416 has');
      }
      front.release();
      const whole = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`);
      assert.equal(whole.status, 200);
      assert.ok(whole.bytes.equals(layer));
      assert.equal(front.blobRequests(), 2, 'each blob fetched once: the refused request\'s fetch filled the cache');
      assert.equal(whole.headers['x-cache'], 'HIT');
      const cached = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`, { headers: { range: 'bytes=500-0' } });
      assert.equal(cached.status, 416, 'from the cached copy');
      assert.equal(cached.headers['content-range'], `bytes */${layer.length}`);
      assert.equal(cached.json?.errors?.[0]?.code, 'BLOB_UNKNOWN');
    } finally {
      front.release();
      await proxy.stop();
      await front.server.close();
    }
  });

  it('with the cache off, the range is cut from the upstream body: 206, and 416 outside it', async () => {
    const proxy = await startProxyRegistry(ociConfig(`${upstream.url}/oci`, { cache: { enabled: false } }));
    try {
      const ranged = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`, { headers: { range: 'bytes=1000-200000' } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers['content-range'], `bytes 1000-200000/${layer.length}`);
      assert.ok(ranged.bytes.equals(layer.subarray(1000, 200001)));
      const refused = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`, { headers: { range: `bytes=${layer.length + 1}-` } });
      assert.equal(refused.status, 416);
      assert.equal(refused.json?.errors?.[0]?.code, 'BLOB_UNKNOWN');
      assert.deepEqual(await proxy.keys('upstream/oci/up/artifacts/'), [], 'nothing cached');
    } finally {
      await proxy.stop();
    }
  });
});
