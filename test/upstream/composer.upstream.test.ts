/**
 * The Composer proxy: the upstream's p2 metadata served with dist URLs of ours and merged with local
 * versions (a local version wins), dists cached and checked against the upstream's sha1 (or, without
 * one, a digest header of the dist's answer), and a real `composer require` through the proxy. The
 * resilience cases every protocol shares are in resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { sendRequest } from '../helpers/requests.js';
import { startHttp } from '../adapters/helpers.http.js';
import { greeterSource, sha1 } from '../composer/fixtures.js';
import { publishComposer } from './protocols.fixtures.js';
import { composerMissing, runComposer } from '../composer/client.js';
import { eventually, oneUpstream, startFaultServer, startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const PUBLIC = 'http://registry.example.com/composer';

const versionsOf = (json: any, name: string) => (json.packages[name] as { version?: string }[]).map((entry) => entry.version);

describe('composer upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  const zips: Record<string, Buffer> = {};

  before(async () => {
    upstream = await startUpstreamRegistry();
    zips['1.0.0'] = (await publishComposer(upstream.registry, 'acme/mirrored', '1.0.0')).bytes;
    zips['1.1.0'] = (await publishComposer(upstream.registry, 'acme/mirrored', '1.1.0')).bytes;
    zips['dev-main'] = (await publishComposer(upstream.registry, 'acme/mirrored', 'dev-main')).bytes;
  });
  after(() => upstream.stop());

  it('serves the upstream metadata with dist URLs of its own, dists checked against their sha1, then from the cache', async () => {
    const proxy = await startProxyRegistry(oneUpstream('composer', `${upstream.url}/composer`));
    try {
      const root = await sendRequest(proxy.registry, 'GET', '/composer/packages.json');
      assert.equal(root.status, 200);
      assert.equal(root.json['available-packages'], undefined, 'a proxy must let Composer ask for any name');
      assert.equal(root.json['metadata-url'], `${PUBLIC}/p2/%package%.json`);

      const metadata = await sendRequest(proxy.registry, 'GET', '/composer/p2/acme/mirrored.json');
      assert.equal(metadata.status, 200, metadata.text);
      assert.equal(metadata.headers['x-cache'], 'MISS');
      assert.equal(metadata.json.minified, 'composer/2.0');
      // Minified: the second entry names only what differs, so its dist is there.
      const [first, second] = metadata.json.packages['acme/mirrored'];
      assert.deepEqual([first.version, second.version], ['1.1.0', '1.0.0']);
      assert.deepEqual(second.dist, { type: 'zip', url: `${PUBLIC}/dists/acme/mirrored/${sha1(zips['1.0.0'])}.zip`, reference: sha1(zips['1.0.0']), shasum: sha1(zips['1.0.0']) });
      assert.equal(first.dist.url, `${PUBLIC}/dists/acme/mirrored/${sha1(zips['1.1.0'])}.zip`);
      const again = await sendRequest(proxy.registry, 'GET', '/composer/p2/acme/mirrored.json', { headers: { 'if-none-match': metadata.headers.etag } });
      assert.equal(again.status, 304);
      assert.equal(again.headers['x-cache'], 'HIT');

      const distPath = `/composer/dists/acme/mirrored/${sha1(zips['1.0.0'])}.zip`;
      const dist = await sendRequest(proxy.registry, 'GET', distPath);
      assert.equal(dist.status, 200, dist.text);
      assert.equal(dist.headers['x-cache'], 'MISS');
      assert.ok(dist.bytes.equals(zips['1.0.0']));
      const cached = await sendRequest(proxy.registry, 'GET', distPath);
      assert.equal(cached.headers['x-cache'], 'HIT');
      assert.ok(cached.bytes.equals(zips['1.0.0']));
      assert.equal(upstream.count(distPath), 1);
      assert.equal(upstream.count('/composer/p2/acme/mirrored.json'), 1, 'the metadata came from the cache after the first fetch');

      const unknown = await sendRequest(proxy.registry, 'GET', `/composer/dists/acme/mirrored/${'0'.repeat(40)}.zip`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.status, 'error');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/composer/p2/acme/nowhere.json')).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('serves the upstream dev branches from ~dev.json, their dists too', async () => {
    const proxy = await startProxyRegistry(oneUpstream('composer', `${upstream.url}/composer`));
    try {
      const dev = await sendRequest(proxy.registry, 'GET', '/composer/p2/acme/mirrored~dev.json');
      assert.equal(dev.status, 200, dev.text);
      assert.deepEqual(versionsOf(dev.json, 'acme/mirrored'), ['dev-main']);
      const [entry] = dev.json.packages['acme/mirrored'];
      assert.equal(entry.dist.url, `${PUBLIC}/dists/acme/mirrored/${sha1(zips['dev-main'])}.zip`);
      assert.deepEqual(versionsOf((await sendRequest(proxy.registry, 'GET', '/composer/p2/acme/mirrored.json')).json, 'acme/mirrored'), ['1.1.0', '1.0.0'], 'no branch among the tagged versions');
      const dist = await sendRequest(proxy.registry, 'GET', `/composer/dists/acme/mirrored/${sha1(zips['dev-main'])}.zip`);
      assert.equal(dist.status, 200, dist.text);
      assert.ok(dist.bytes.equals(zips['dev-main']));
    } finally {
      await proxy.stop();
    }
  });

  it('a local version wins over the upstream one; the other upstream versions are listed beside it', async () => {
    const proxy = await startProxyRegistry(oneUpstream('composer', `${upstream.url}/composer`));
    try {
      const local = (await publishComposer(proxy.registry, 'acme/mirrored', '1.0.0')).bytes;
      const metadata = await sendRequest(proxy.registry, 'GET', '/composer/p2/acme/mirrored.json');
      assert.equal(metadata.status, 200, metadata.text);
      assert.deepEqual(versionsOf(metadata.json, 'acme/mirrored'), ['1.0.0', '1.1.0']);
      const [own] = metadata.json.packages['acme/mirrored'];
      assert.equal(own.dist.shasum, sha1(local));
      const dist = await sendRequest(proxy.registry, 'GET', `/composer/dists/acme/mirrored/${sha1(local)}.zip`);
      assert.ok(dist.bytes.equals(local));
      assert.equal(dist.headers['x-cache'], undefined, 'the local zip, not the cache');
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a dist whose bytes do not match the upstream sha1, and caches nothing', async () => {
    const zip = zips['1.0.0'];
    const lying = await startFaultServer((req) => {
      if (req.url === '/p2/acme/lying.json') {
        const entry = { name: 'acme/lying', version: '1.0.0', version_normalized: '1.0.0.0', dist: { type: 'zip', url: '/zips/lying.zip', reference: sha1(zip), shasum: sha1(zip) } };
        return { kind: 'reply', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ packages: { 'acme/lying': [entry] } }) };
      }
      if (req.url === '/zips/lying.zip') return { kind: 'reply', status: 200, body: Buffer.concat([zip, Buffer.from('tampered')]) };
      return { kind: 'status', status: 404 };
    });
    const proxy = await startProxyRegistry(oneUpstream('composer', lying.url));
    try {
      const response = await proxy.registry.handleRequest({ method: 'GET', path: `/composer/dists/acme/lying/${sha1(zip)}.zip`, headers: { host: 'registry.example.com' }, query: {} });
      assert.equal(response.status, 200, 'the first bytes went out before the digest could be known');
      await assert.rejects(async () => {
        for await (const _ of response.body!) {
          // read until the stream fails
        }
      });
      await eventually(async () => (await proxy.keys('upstream/composer/up/artifacts/')).length === 0, 'nothing cached');
      assert.deepEqual(await proxy.keys('upstream/composer/up/artifacts/'), []);
    } finally {
      await proxy.stop();
      await lying.close();
    }
  });

  it("checks a dist without shasum against the digest the upstream states for its answer (Repr-Digest, Content-Digest)", async () => {
    const zip = zips['1.0.0'];
    const stated = (bytes: Buffer, algorithm: 'sha256' | 'sha512') => `${algorithm.replace('sha', 'sha-')}=:${crypto.createHash(algorithm).update(bytes).digest('base64')}:`;
    const dists: Record<string, { headers: Record<string, string>; body: Buffer }> = {
      // What Packagist gives: no shasum, and a dist host that says nothing about its bytes.
      silent: { headers: {}, body: zip },
      damaged: { headers: { 'repr-digest': stated(zip, 'sha256') }, body: zip.subarray(0, zip.length - 10) },
      stated: { headers: { 'content-digest': `md5=:AAAA:, ${stated(zip, 'sha512')}` }, body: zip },
    };
    const reference = (label: string) => crypto.createHash('sha1').update(label).digest('hex');
    const host = await startFaultServer((req) => {
      const match = /^\/p2\/acme\/(\w+)\.json$/.exec(req.url ?? '');
      if (match && dists[match[1]]) {
        const entry = { name: `acme/${match[1]}`, version: '1.0.0', version_normalized: '1.0.0.0', dist: { type: 'zip', url: `/zips/${match[1]}.zip`, reference: reference(match[1]), shasum: '' } };
        return { kind: 'reply', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ packages: { [`acme/${match[1]}`]: [entry] } }) };
      }
      const zipMatch = /^\/zips\/(\w+)\.zip$/.exec(req.url ?? '');
      if (zipMatch && dists[zipMatch[1]]) return { kind: 'reply', status: 200, headers: dists[zipMatch[1]].headers, body: dists[zipMatch[1]].body };
      return { kind: 'status', status: 404 };
    });
    const proxy = await startProxyRegistry(oneUpstream('composer', host.url));
    try {
      const distPath = (label: string) => `/composer/dists/acme/${label}/${reference(label)}.zip`;
      for (const label of ['silent', 'stated']) {
        const metadata = await sendRequest(proxy.registry, 'GET', `/composer/p2/acme/${label}.json`);
        assert.equal(metadata.status, 200, metadata.text);
        const dist = await sendRequest(proxy.registry, 'GET', distPath(label));
        assert.equal(dist.status, 200, dist.text);
        assert.ok(dist.bytes.equals(zip), label);
        assert.equal((await sendRequest(proxy.registry, 'GET', distPath(label))).headers['x-cache'], 'HIT', `${label} is cached`);
      }
      // The first bytes go out before the digest can be known: the body fails, each time, and nothing is kept.
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(sendRequest(proxy.registry, 'GET', distPath('damaged')), /sha256 digest mismatch/);
      }
      // Each cached dist is its bytes and a record.
      await eventually(async () => (await proxy.keys('upstream/composer/up/artifacts/')).length === 4, 'the damaged dist is dropped');
      assert.equal((await proxy.keys('upstream/composer/up/artifacts/')).filter((key) => key.endsWith('.json')).length, 2, 'the silent and the stated dist, not the damaged one');
      assert.equal(host.log.filter((entry) => entry.url === '/zips/damaged.zip').length, 2);
    } finally {
      await proxy.stop();
      await host.close();
    }
  });

  it('composer require through the proxy installs a package that only the upstream has', { skip: composerMissing() }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('composer', `${upstream.url}/composer`));
    const server = await startHttp(createNodeHandler(proxy.registry));
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-composer-'));
    try {
      const home = path.join(root, 'home');
      const app = path.join(root, 'app');
      await fsp.mkdir(home, { recursive: true });
      await fsp.mkdir(app, { recursive: true });
      const composerJson = { name: 'test/app', type: 'project', repositories: [{ type: 'composer', url: `${server.url}/composer` }, { packagist: false }], config: { 'secure-http': false } };
      await fsp.writeFile(path.join(app, 'composer.json'), JSON.stringify(composerJson));
      const run = await runComposer(['require', 'acme/mirrored:^1.0', '--no-audit', '--no-progress'], home, app);
      assert.equal(run.code, 0, `composer require failed:\n${run.stdout}\n${run.stderr}`);
      const installed = JSON.parse(await fsp.readFile(path.join(app, 'vendor/composer/installed.json'), 'utf8')) as { packages: { name: string; version: string; dist: { url: string; shasum: string } }[] };
      const pkg = installed.packages.find((candidate) => candidate.name === 'acme/mirrored');
      assert.equal(pkg?.version, '1.1.0');
      assert.equal(pkg?.dist.url, `${server.url}/composer/dists/acme/mirrored/${sha1(zips['1.1.0'])}.zip`);
      assert.equal(await fsp.readFile(path.join(app, 'vendor/acme/mirrored/src/Greeter.php'), 'utf8'), greeterSource('acme/mirrored', '1.1.0'));
      assert.ok((await proxy.keys('upstream/composer/up/artifacts/')).length > 0, 'the dist is in the cache');
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
