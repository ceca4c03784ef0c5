/**
 * The RubyGems proxy: the upstream's compact index (`/versions` merged with the local one, `/info`
 * served unchanged so its MD5 holds), `.gem` files cached and checked against the info checksum,
 * quick gemspecs, a local gem taking its whole name, the cache served with the upstream stopped (plain-text 502 for misses); `/names`, the Marshal specs
 * files, the JSON API and the dependency API for upstream gems merged with local ones; and a real
 * `bundle install`, `gem search --remote` and `gem install` (by the compact index, and by the specs
 * files and quick gemspecs) through the proxy. The resilience cases
 * every protocol shares are in resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing, runClient } from '../helpers/clients.js';
import { sendRequest } from '../helpers/requests.js';
import { startHttp } from '../adapters/helpers.http.js';
import { rubyEnv } from '../rubygems/client.js';
import { readVersionsFile } from '../rubygems/fixtures.js';
import { publishRubyGems } from './protocols.fixtures.js';
import { specsFileMarshal } from '../../ts/rubygems/helpers.rubygems.js';
import { oneUpstream, startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const bundleMissing = clientMissing('bundle', ['--version']);
const gemMissing = clientMissing('gem', ['--version']);
const md5 = (bytes: Buffer) => crypto.createHash('md5').update(bytes).digest('hex');

const push = async (registry: SmartRegistry, name: string, version: string, dependencies: Record<string, string[]> = {}) =>
  (await publishRubyGems(registry, name, version, dependencies)).bytes;

describe('rubygems upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  const gems: Record<string, Buffer> = {};

  before(async () => {
    upstream = await startUpstreamRegistry();
    gems['up-base-1.0.0'] = await push(upstream.registry, 'up-base', '1.0.0');
    gems['up-app-1.0.0'] = await push(upstream.registry, 'up-app', '1.0.0', { 'up-base': ['>= 1.0'] });
  });
  after(() => upstream.stop());

  it('serves the upstream compact index, .gem files checked against the info checksum and quick gemspecs, then from the cache', async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    try {
      const versions = await sendRequest(proxy.registry, 'GET', '/rubygems/versions');
      assert.equal(versions.status, 200, versions.text);
      assert.equal(versions.headers['x-cache'], 'MISS');
      const own = await sendRequest(upstream.registry, 'GET', '/rubygems/versions');
      assert.equal(versions.text, own.text, 'nothing local: the upstream file as it is');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/versions')).headers['x-cache'], 'HIT');

      const info = await sendRequest(proxy.registry, 'GET', '/rubygems/info/up-app');
      assert.equal(info.status, 200, info.text);
      assert.ok(info.bytes.equals((await sendRequest(upstream.registry, 'GET', '/rubygems/info/up-app')).bytes));
      assert.match(info.text, /^1\.0\.0 up-base:>= 1\.0\|checksum:[0-9a-f]{64}$/m);
      assert.equal(readVersionsFile(versions.text).get('up-app')?.infoMd5, md5(info.bytes), 'the MD5 bundler checks the info file against');

      const gem = await sendRequest(proxy.registry, 'GET', '/rubygems/gems/up-base-1.0.0.gem');
      assert.equal(gem.status, 200, gem.text);
      assert.equal(gem.headers['x-cache'], 'MISS');
      assert.ok(gem.bytes.equals(gems['up-base-1.0.0']));
      const again = await sendRequest(proxy.registry, 'GET', '/rubygems/gems/up-base-1.0.0.gem');
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.ok(again.bytes.equals(gems['up-base-1.0.0']));
      assert.equal(upstream.count('/rubygems/gems/up-base-1.0.0.gem'), 1);

      const quick = await sendRequest(proxy.registry, 'GET', '/rubygems/quick/Marshal.4.8/up-base-1.0.0.gemspec.rz');
      assert.equal(quick.status, 200, quick.text);
      assert.ok(quick.bytes.equals((await sendRequest(upstream.registry, 'GET', '/rubygems/quick/Marshal.4.8/up-base-1.0.0.gemspec.rz')).bytes));

      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/gems/up-base-9.9.9.gem')).status, 404);
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/info/nowhere')).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('a local gem takes its whole name: its own versions and info, no upstream files of that name', async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    try {
      const local = await push(proxy.registry, 'up-base', '2.0.0');
      const versions = await sendRequest(proxy.registry, 'GET', '/rubygems/versions');
      const listed = readVersionsFile(versions.text);
      assert.deepEqual([...listed.get('up-base')!.versions], ['2.0.0']);
      assert.deepEqual([...listed.get('up-app')!.versions], ['1.0.0']);
      const info = await sendRequest(proxy.registry, 'GET', '/rubygems/info/up-base');
      assert.equal(info.headers['x-cache'], undefined);
      assert.equal(listed.get('up-base')!.infoMd5, md5(info.bytes));
      assert.ok(info.text.includes('2.0.0 |checksum:'), info.text);
      const gem = await sendRequest(proxy.registry, 'GET', '/rubygems/gems/up-base-2.0.0.gem');
      assert.ok(gem.bytes.equals(local));
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/gems/up-base-1.0.0.gem')).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('lists upstream gems with local ones in /names and the specs files, a local gem by its own versions', async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    try {
      await push(proxy.registry, 'local-gem', '0.1.0');
      await push(proxy.registry, 'local-gem', '0.2.0.beta');
      // Held here too: only the local 2.0.0 is listed, never the upstream's 1.0.0.
      await push(proxy.registry, 'up-base', '2.0.0');
      const names = await sendRequest(proxy.registry, 'GET', '/rubygems/names');
      assert.equal(names.status, 200, names.text);
      assert.equal(names.headers['x-cache'], 'MISS');
      assert.equal(names.text, '---\nlocal-gem\nup-app\nup-base\n');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/names')).headers['x-cache'], 'HIT');

      const served = {
        'local-gem': [
          { version: '0.1.0', platform: 'ruby' },
          { version: '0.2.0.beta', platform: 'ruby' },
        ],
        'up-app': [{ version: '1.0.0', platform: 'ruby' }],
        'up-base': [{ version: '2.0.0', platform: 'ruby' }],
      };
      for (const which of ['specs', 'latest_specs', 'prerelease_specs'] as const) {
        const file = await sendRequest(proxy.registry, 'GET', `/rubygems/${which}.4.8.gz`);
        assert.equal(file.status, 200, file.text);
        assert.equal(file.headers['x-cache'], 'HIT');
        assert.ok(zlib.gunzipSync(file.bytes).equals(specsFileMarshal(served, which)), `${which}: the tuples of upstream and local gems`);
      }
      assert.equal(upstream.count('/rubygems/specs.4.8.gz'), 0, 'the specs files are derived from the compact index, never fetched');

      // An upstream gem taken away (a yank upstream) leaves the listings once /versions is fetched again.
      const own = await startUpstreamRegistry();
      const fresh = await startProxyRegistry(oneUpstream('rubygems', `${own.url}/rubygems`, { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }));
      try {
        await push(own.registry, 'gone-soon', '1.0.0');
        await push(own.registry, 'gone-soon', '1.1.0');
        const listed = async () => zlib.gunzipSync((await sendRequest(fresh.registry, 'GET', '/rubygems/specs.4.8.gz')).bytes);
        assert.ok((await listed()).equals(specsFileMarshal({ 'gone-soon': [{ version: '1.0.0', platform: 'ruby' }, { version: '1.1.0', platform: 'ruby' }] }, 'specs')));
        const key = await own.registry.getAuthManager().createRubyGemsToken('admin');
        const yank = await sendRequest(own.registry, 'DELETE', '/rubygems/api/v1/gems/yank', {
          headers: { authorization: key, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'gem_name=gone-soon&version=1.1.0',
        });
        assert.equal(yank.status, 200, yank.text);
        assert.ok((await listed()).equals(specsFileMarshal({ 'gone-soon': [{ version: '1.0.0', platform: 'ruby' }] }, 'specs')));
      } finally {
        await fresh.stop();
        await own.stop();
      }
    } finally {
      await proxy.stop();
    }
  });

  it('answers the JSON API and the dependency API for upstream gems; a local gem answers as it is here', async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    try {
      await push(proxy.registry, 'local-gem', '0.1.0', { 'up-app': ['~> 1.0'] });
      const gem = await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/gems/up-app.json');
      assert.equal(gem.status, 200, gem.text);
      assert.equal(gem.headers['x-cache'], 'MISS');
      const own = JSON.parse((await sendRequest(upstream.registry, 'GET', '/rubygems/api/v1/gems/up-app.json')).text);
      assert.deepEqual(JSON.parse(gem.text), {
        ...own,
        gem_uri: 'http://registry.example.com/rubygems/gems/up-app-1.0.0.gem',
        project_uri: 'http://registry.example.com/rubygems/api/v1/gems/up-app.json',
      });
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/gems/up-app.json')).headers['x-cache'], 'HIT');

      const versions = await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/versions/up-base.json');
      assert.equal(versions.status, 200, versions.text);
      assert.ok(versions.bytes.equals((await sendRequest(upstream.registry, 'GET', '/rubygems/api/v1/versions/up-base.json')).bytes));
      assert.equal(JSON.parse(versions.text)[0].sha, crypto.createHash('sha256').update(gems['up-base-1.0.0']).digest('hex'));

      const local = await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/gems/local-gem.json');
      assert.equal(local.headers['x-cache'], undefined);
      assert.equal(JSON.parse(local.text).version, '0.1.0');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/gems/nowhere.json')).status, 404);
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/versions/nowhere.json')).status, 404);

      const dependencies = await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/dependencies.json?gems=local-gem,up-app,up-base,nowhere');
      assert.equal(dependencies.status, 200, dependencies.text);
      assert.deepEqual(JSON.parse(dependencies.text), [
        { name: 'local-gem', number: '0.1.0', platform: 'ruby', dependencies: [['up-app', '~> 1.0']] },
        { name: 'up-app', number: '1.0.0', platform: 'ruby', dependencies: [['up-base', '>= 1.0']] },
        { name: 'up-base', number: '1.0.0', platform: 'ruby', dependencies: [] },
      ]);
      const marshal = await sendRequest(proxy.registry, 'GET', '/rubygems/api/v1/dependencies?gems=up-app');
      assert.equal(marshal.status, 200);
      assert.ok(marshal.bytes.equals((await sendRequest(upstream.registry, 'GET', '/rubygems/api/v1/dependencies?gems=up-app')).bytes));
    } finally {
      await proxy.stop();
    }
  });

  it('routes names between two upstreams by scope rules: /versions lists each gem from the upstream that may serve it', async () => {
    const company = await startUpstreamRegistry();
    try {
      const internal = await push(company.registry, 'corp-tool', '3.0.0');
      // The company upstream also has an up-base of its own; its rules keep it to corp-* names.
      await push(company.registry, 'up-base', '7.0.0');
      const proxy = await startProxyRegistry({
        rubygems: {
          enabled: true,
          resilience: { retries: 0 },
          upstreams: [
            { id: 'company', url: `${company.url}/rubygems`, priority: 1, enabled: true, scopeRules: [{ pattern: 'corp-*', action: 'include' }] },
            { id: 'public', url: `${upstream.url}/rubygems`, priority: 2, enabled: true, scopeRules: [{ pattern: 'corp-*', action: 'exclude' }] },
          ],
        },
      });
      try {
        const versions = readVersionsFile((await sendRequest(proxy.registry, 'GET', '/rubygems/versions')).text);
        assert.deepEqual([...versions.get('corp-tool')!.versions], ['3.0.0']);
        assert.deepEqual([...versions.get('up-base')!.versions], ['1.0.0'], 'up-base comes from the public upstream only');
        const info = await sendRequest(proxy.registry, 'GET', '/rubygems/info/up-base');
        assert.equal(versions.get('up-base')!.infoMd5, md5(info.bytes));
        assert.equal(versions.get('corp-tool')!.infoMd5, md5((await sendRequest(proxy.registry, 'GET', '/rubygems/info/corp-tool')).bytes));
        const gem = await sendRequest(proxy.registry, 'GET', '/rubygems/gems/corp-tool-3.0.0.gem');
        assert.ok(gem.bytes.equals(internal));
        assert.equal(upstream.count('/rubygems/info/corp-tool'), 0, 'corp-* names never go to the public upstream');
        assert.equal(company.count('/rubygems/info/up-base'), 0);
      } finally {
        await proxy.stop();
      }
    } finally {
      await company.stop();
    }
  });

  it('serves a new /versions when the upstream or the local index changes', async () => {
    const own = await startUpstreamRegistry();
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${own.url}/rubygems`, { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }));
    try {
      await push(own.registry, 'first-gem', '1.0.0');
      const listed = async () => readVersionsFile((await sendRequest(proxy.registry, 'GET', '/rubygems/versions')).text);
      assert.deepEqual([...(await listed()).keys()], ['first-gem']);
      const same = await sendRequest(proxy.registry, 'GET', '/rubygems/versions');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/versions', { headers: { 'if-none-match': same.headers.etag } })).status, 304);
      await push(own.registry, 'second-gem', '1.0.0');
      assert.deepEqual([...(await listed()).keys()], ['first-gem', 'second-gem']);
      await push(proxy.registry, 'local-gem', '0.1.0');
      assert.deepEqual([...(await listed()).keys()], ['first-gem', 'second-gem', 'local-gem']);
    } finally {
      await proxy.stop();
      await own.stop();
    }
  });

  it('serves the cache with the upstream stopped; a miss is a plain-text 502', async () => {
    const own = await startUpstreamRegistry();
    const gem = await push(own.registry, 'offline-gem', '0.1.0');
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${own.url}/rubygems`, { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }));
    try {
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/versions')).status, 200);
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/info/offline-gem')).status, 200);
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/gems/offline-gem-0.1.0.gem')).status, 200);
      await own.stop();
      const versions = await sendRequest(proxy.registry, 'GET', '/rubygems/versions');
      assert.equal(versions.headers['x-cache'], 'STALE');
      assert.ok(readVersionsFile(versions.text).has('offline-gem'));
      assert.equal((await sendRequest(proxy.registry, 'GET', '/rubygems/info/offline-gem')).headers['x-cache'], 'STALE');
      const cached = await sendRequest(proxy.registry, 'GET', '/rubygems/gems/offline-gem-0.1.0.gem');
      assert.ok(cached.bytes.equals(gem));
      const missing = await sendRequest(proxy.registry, 'GET', '/rubygems/info/never-seen');
      assert.equal(missing.status, 502);
      assert.match(missing.headers['content-type'], /^text\/plain/);
      assert.match(missing.text, /bad gateway/);
    } finally {
      await proxy.stop();
    }
  });

  it('bundle install through the proxy installs a gem and its dependency that only the upstream has', { skip: bundleMissing }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    const server = await startHttp(createNodeHandler(proxy.registry));
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-bundle-'));
    try {
      const app = path.join(root, 'app');
      await fsp.mkdir(app, { recursive: true });
      await fsp.writeFile(path.join(app, 'Gemfile'), `source ${JSON.stringify(`${server.url}/rubygems`)}\ngem "up-app"\n`);
      const env = rubyEnv({ home: root, dir: root, label: 'bundle' });
      const result = await runClient('bundle', ['install'], { cwd: app, env, timeoutMs: 120_000 });
      assert.equal(result.code, 0, `bundle install failed:\n${result.output}`);
      const lock = await fsp.readFile(path.join(app, 'Gemfile.lock'), 'utf8');
      assert.match(lock, /^ {4}up-app \(1\.0\.0\)$/m);
      assert.match(lock, /^ {4}up-base \(1\.0\.0\)$/m);
      for (const name of ['up-app-1.0.0', 'up-base-1.0.0']) {
        const [installed] = await findFiles(path.join(root, 'bundle-path-bundle'), `${name}.gem`);
        assert.ok(installed, `${name}.gem is in bundler's cache`);
        assert.ok((await fsp.readFile(installed)).equals(gems[name]), `${name}.gem has the upstream's bytes`);
      }
      assert.ok(upstream.count('/rubygems/versions') >= 1);
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it('gem search --remote lists upstream and local gems, gem install installs an upstream gem and its dependency', { skip: gemMissing }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    await push(proxy.registry, 'local-gem', '0.1.0');
    const server = await startHttp(createNodeHandler(proxy.registry));
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-gem-'));
    try {
      const env = rubyEnv({ home: root, dir: root, label: 'gem' });
      const source = ['--clear-sources', '--source', `${server.url}/rubygems/`];
      const search = await runClient('gem', ['search', '--remote', ...source], { cwd: root, env, timeoutMs: 120_000 });
      assert.equal(search.code, 0, `gem search failed:\n${search.output}`);
      assert.deepEqual(
        search.stdout.split('\n').filter((line) => /^\S+ \(/.test(line)),
        ['local-gem (0.1.0)', 'up-app (1.0.0)', 'up-base (1.0.0)'],
      );
      const install = await runClient('gem', ['install', 'up-app', ...source, '--no-document'], { cwd: root, env, timeoutMs: 120_000 });
      assert.equal(install.code, 0, `gem install failed:\n${install.output}`);
      const list = await runClient('gem', ['list', '--local', 'up-'], { cwd: root, env, timeoutMs: 60_000 });
      assert.match(list.stdout, /^up-app \(1\.0\.0\)$/m);
      assert.match(list.stdout, /^up-base \(1\.0\.0\)$/m);
      const [cached] = await findFiles(path.join(root, 'gems-gem'), 'up-base-1.0.0.gem');
      assert.ok(cached && (await fsp.readFile(cached)).equals(gems['up-base-1.0.0']), "up-base-1.0.0.gem has the upstream's bytes");
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it('gem install from the Marshal specs index (a source without the compact index) installs an upstream gem and its dependency', { skip: gemMissing }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('rubygems', `${upstream.url}/rubygems`));
    const handler = createNodeHandler(proxy.registry);
    const asked: string[] = [];
    // A 404 at the source root makes `gem` (3.3) take the index of specs files and quick gemspecs, as from an old gem server.
    const server = await startHttp((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/rubygems/') res.writeHead(404).end();
      else void handler(req, res);
    });
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-gemspecs-'));
    try {
      const env = rubyEnv({ home: root, dir: root, label: 'gem' });
      const install = await runClient('gem', ['install', 'up-app', '--clear-sources', '--source', `${server.url}/rubygems/`, '--no-document'], { cwd: root, env, timeoutMs: 120_000 });
      assert.equal(install.code, 0, `gem install failed:\n${install.output}`);
      const list = await runClient('gem', ['list', '--local', 'up-'], { cwd: root, env, timeoutMs: 60_000 });
      assert.match(list.stdout, /^up-app \(1\.0\.0\)$/m);
      assert.match(list.stdout, /^up-base \(1\.0\.0\)$/m);
      assert.ok(asked.some((url) => /^\/rubygems\/(latest_)?specs\.4\.8\.gz$/.test(url)), asked.join(' '));
      assert.ok(asked.includes('/rubygems/quick/Marshal.4.8/up-app-1.0.0.gemspec.rz'), asked.join(' '));
      assert.ok(!asked.some((url) => url.startsWith('/rubygems/info/')), 'not the compact index');
      const [cached] = await findFiles(path.join(root, 'gems-gem'), 'up-base-1.0.0.gem');
      assert.ok(cached && (await fsp.readFile(cached)).equals(gems['up-base-1.0.0']), "up-base-1.0.0.gem has the upstream's bytes");
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

/** Files named `name` below `dir`. */
async function findFiles(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}
