/**
 * The OCI proxy through handleRequest, against a real upstream SmartRegistry on 127.0.0.1: manifests by
 * tag (revalidated) and by digest (cached for good, checked), blobs streamed and cached by digest, the
 * upstream's own token flow, a `library/` namespace, and serving from the cache with the upstream
 * stopped (OCI error JSON for what was never cached). The resilience cases every protocol shares are in
 * resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sendRequest } from '../helpers/requests.js';
import { startHttp } from '../adapters/helpers.http.js';
import type { IProtocolUpstreamConfig } from '../../ts/upstream/interfaces.upstream.js';
import { ADMIN, pushImage, sha256, type IPushedImage } from './oci.fixtures.js';
import { startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const ociConfig = (upstreams: IProtocolUpstreamConfig['upstreams'], extra: Partial<IProtocolUpstreamConfig> = {}): { oci: IProtocolUpstreamConfig } => ({
  oci: { enabled: true, upstreams, resilience: { retries: 0, timeoutMs: 5000 }, ...extra },
});
const MANIFEST_ACCEPT = { accept: 'application/vnd.oci.image.manifest.v1+json' };

describe('oci upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  let image: IPushedImage;

  before(async () => {
    upstream = await startUpstreamRegistry();
    image = await pushImage(upstream.registry, 'team/app', 'v1');
  });
  after(() => upstream.stop());

  it('serves a manifest by tag and its blobs from the upstream, then from the cache', async () => {
    const proxy = await startProxyRegistry(ociConfig([{ id: 'up', url: upstream.url, priority: 1, enabled: true }]));
    try {
      const manifest = await sendRequest(proxy.registry, 'GET', '/oci/v2/team/app/manifests/v1', { headers: MANIFEST_ACCEPT });
      assert.equal(manifest.status, 200, manifest.text);
      assert.ok(manifest.bytes.equals(image.manifest), 'the exact manifest bytes');
      assert.equal(manifest.headers['docker-content-digest'], image.manifestDigest);
      assert.equal(manifest.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(manifest.headers['x-cache'], 'MISS');

      for (const [index, digest] of image.blobs.entries()) {
        const blob = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${digest}`);
        assert.equal(blob.status, 200, blob.text);
        assert.equal(sha256(blob.bytes), digest);
        assert.ok(blob.bytes.equals(index === 0 ? image.config : image.layers[index - 1]));
        assert.equal(blob.headers['docker-content-digest'], digest);
        assert.equal(blob.headers['x-cache'], 'MISS');
      }
      const cached = await proxy.keys('upstream/oci/up/artifacts/');
      assert.equal(cached.length, image.blobs.length * 2, 'each blob and its record');
      const again = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${image.blobs[2]}`);
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.equal(upstream.count(`/v2/team/app/blobs/${image.blobs[2]}`), 1);

      const ranged = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/blobs/${image.blobs[2]}`, { headers: { range: 'bytes=10-19' } });
      assert.equal(ranged.status, 206);
      assert.ok(ranged.bytes.equals(image.layers[1].subarray(10, 20)));

      const byDigest = await sendRequest(proxy.registry, 'GET', `/oci/v2/team/app/manifests/${image.manifestDigest}`, { headers: MANIFEST_ACCEPT });
      assert.equal(byDigest.status, 200);
      assert.ok(byDigest.bytes.equals(image.manifest));
      const head = await sendRequest(proxy.registry, 'HEAD', '/oci/v2/team/app/manifests/v1', { headers: MANIFEST_ACCEPT });
      assert.equal(head.status, 200);
      assert.equal(head.headers['docker-content-digest'], image.manifestDigest);
      assert.equal(head.headers['x-cache'], 'HIT');
    } finally {
      await proxy.stop();
    }
  });

  it('revalidates tags against the upstream and sees a moved tag', async () => {
    const own = await startUpstreamRegistry();
    try {
      const first = await pushImage(own.registry, 'moving', 'latest', [64]);
      const proxy = await startProxyRegistry(
        ociConfig([{ id: 'up', url: own.url, priority: 1, enabled: true }], { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }),
      );
      try {
        const a = await sendRequest(proxy.registry, 'GET', '/oci/v2/moving/manifests/latest', { headers: MANIFEST_ACCEPT });
        assert.equal(a.headers['docker-content-digest'], first.manifestDigest);
        const b = await sendRequest(proxy.registry, 'GET', '/oci/v2/moving/manifests/latest', { headers: MANIFEST_ACCEPT });
        assert.equal(b.headers['x-cache'], 'HIT', 'revalidated: the upstream answered 304');
        const revalidation = own.log.filter((entry) => entry.url === '/v2/moving/manifests/latest');
        assert.equal(revalidation.length, 2);
        const second = await pushImage(own.registry, 'moving', 'latest', [65]);
        const c = await sendRequest(proxy.registry, 'GET', '/oci/v2/moving/manifests/latest', { headers: MANIFEST_ACCEPT });
        assert.equal(c.headers['docker-content-digest'], second.manifestDigest);
        assert.equal(c.headers['x-cache'], 'MISS');
      } finally {
        await proxy.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('goes through the upstream token flow: 401 with a Bearer realm, then the token request with our credentials', async () => {
    const locked = await startUpstreamRegistry({ anonymousRead: false });
    // Like registries that take only tokens on /v2: Basic credentials are dropped before they reach it.
    const front = await startHttp(async (req, res) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host') headers[name] = value;
      if (headers.authorization?.startsWith('Basic ')) delete headers.authorization;
      const answer = await fetch(`${locked.url}${req.url}`, { headers, redirect: 'manual' });
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => (out[name] = value));
      delete out['content-encoding'];
      delete out['content-length'];
      res.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
    });
    try {
      const pushed = await pushImage(locked.registry, 'private/app', 'v1', [128]);
      const proxy = await startProxyRegistry(
        ociConfig([{ id: 'locked', url: front.url, priority: 1, enabled: true, auth: { type: 'basic', username: 'admin', password: 'admin-password' } }]),
      );
      try {
        const manifest = await sendRequest(proxy.registry, 'GET', '/oci/v2/private/app/manifests/v1', { headers: MANIFEST_ACCEPT });
        assert.equal(manifest.status, 200, manifest.text);
        assert.equal(manifest.headers['docker-content-digest'], pushed.manifestDigest);
        const blob = await sendRequest(proxy.registry, 'GET', `/oci/v2/private/app/blobs/${pushed.blobs[1]}`);
        assert.equal(blob.status, 200);
        assert.ok(blob.bytes.equals(pushed.layers[0]));
        const tokenRequests = locked.log.filter((entry) => entry.url.startsWith('/oci/v2/token') || entry.url.startsWith('/v2/token'));
        assert.ok(tokenRequests.length >= 1, 'a token was requested');
        assert.ok(tokenRequests.every((entry) => entry.authorization?.startsWith('Basic ')), 'with our credentials');
        assert.ok(locked.log.some((entry) => entry.url === '/v2/private/app/manifests/v1' && entry.authorization?.startsWith('Bearer ')));
      } finally {
        await proxy.stop();
      }
    } finally {
      await front.close();
      await locked.stop();
    }
  });

  it('asks for single-segment names below the configured library/ namespace', async () => {
    const hub = await startUpstreamRegistry();
    try {
      const alpine = await pushImage(hub.registry, 'library/alpine', '3', [32]);
      const proxy = await startProxyRegistry(ociConfig([{ id: 'hub', url: hub.url, priority: 1, enabled: true, ociDefaultNamespace: 'library' }]));
      try {
        const manifest = await sendRequest(proxy.registry, 'GET', '/oci/v2/alpine/manifests/3', { headers: MANIFEST_ACCEPT });
        assert.equal(manifest.status, 200, manifest.text);
        assert.equal(manifest.headers['docker-content-digest'], alpine.manifestDigest);
        const blob = await sendRequest(proxy.registry, 'GET', `/oci/v2/alpine/blobs/${alpine.blobs[1]}`);
        assert.ok(blob.bytes.equals(alpine.layers[0]));
        assert.equal(hub.count('/v2/library/alpine/manifests/3'), 1);
      } finally {
        await proxy.stop();
      }
    } finally {
      await hub.stop();
    }
  });

  it('serves cached manifests and blobs with the upstream stopped; the rest is a 502 in OCI error JSON', async () => {
    const own = await startUpstreamRegistry();
    const pushed = await pushImage(own.registry, 'offline', 'v1', [256]);
    const proxy = await startProxyRegistry(
      ociConfig([{ id: 'up', url: own.url, priority: 1, enabled: true }], { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }),
    );
    try {
      assert.equal((await sendRequest(proxy.registry, 'GET', '/oci/v2/offline/manifests/v1', { headers: MANIFEST_ACCEPT })).status, 200);
      assert.equal((await sendRequest(proxy.registry, 'GET', `/oci/v2/offline/manifests/${pushed.manifestDigest}`, { headers: MANIFEST_ACCEPT })).status, 200);
      assert.equal((await sendRequest(proxy.registry, 'GET', `/oci/v2/offline/blobs/${pushed.blobs[1]}`)).status, 200);
      await own.stop();
      const byTag = await sendRequest(proxy.registry, 'GET', '/oci/v2/offline/manifests/v1', { headers: MANIFEST_ACCEPT });
      assert.equal(byTag.status, 200);
      assert.equal(byTag.headers['x-cache'], 'STALE');
      const byDigest = await sendRequest(proxy.registry, 'GET', `/oci/v2/offline/manifests/${pushed.manifestDigest}`, { headers: MANIFEST_ACCEPT });
      assert.equal(byDigest.headers['x-cache'], 'HIT');
      const blob = await sendRequest(proxy.registry, 'GET', `/oci/v2/offline/blobs/${pushed.blobs[1]}`);
      assert.ok(blob.bytes.equals(pushed.layers[0]));
      const missing = await sendRequest(proxy.registry, 'GET', `/oci/v2/offline/blobs/${pushed.blobs[0]}`);
      assert.equal(missing.status, 502);
      assert.ok(Array.isArray(missing.json.errors), missing.text);
    } finally {
      await proxy.stop();
    }
  });

  it('a local image wins over the upstream one of the same name and tag', async () => {
    const proxy = await startProxyRegistry(ociConfig([{ id: 'up', url: upstream.url, priority: 1, enabled: true }]));
    try {
      const local = await pushImage(proxy.registry, 'team/app', 'v1', [16]);
      const manifest = await sendRequest(proxy.registry, 'GET', '/oci/v2/team/app/manifests/v1', { headers: { ...ADMIN, ...MANIFEST_ACCEPT } });
      assert.equal(manifest.headers['docker-content-digest'], local.manifestDigest);
      assert.equal(manifest.headers['x-cache'], undefined);
    } finally {
      await proxy.stop();
    }
  });
});
