/**
 * The npm proxy through handleRequest, against a real upstream SmartRegistry on 127.0.0.1 (and a fault
 * server): packuments merged with local versions and tarball URLs rewritten to ours, abbreviated
 * documents, tarballs cached and verified, and redirects to another origin without our credentials.
 * The resilience cases every protocol shares are in resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { sendRequest } from '../helpers/requests.js';
import { publishBody } from '../npm/fixtures.js';
import { publishNpm } from './protocols.fixtures.js';
import type { IProtocolUpstreamConfig } from '../../ts/upstream/interfaces.upstream.js';
import { eventually, startFaultServer, startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const sha512 = (bytes: Buffer) => crypto.createHash('sha512').update(bytes).digest('hex');
const fast = { retries: 0, timeoutMs: 2000 };

const npmConfig = (upstreams: IProtocolUpstreamConfig['upstreams'], extra: Partial<IProtocolUpstreamConfig> = {}): { npm: IProtocolUpstreamConfig } => ({
  npm: { enabled: true, upstreams, resilience: fast, ...extra },
});

describe('npm upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  let tarball: Buffer;

  before(async () => {
    upstream = await startUpstreamRegistry();
    tarball = (await publishNpm(upstream.registry, 'left-pad', '1.0.0')).bytes;
    await publishNpm(upstream.registry, 'left-pad', '1.1.0');
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

});
