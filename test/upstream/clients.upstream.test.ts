/**
 * Real clients through a proxy registry (a SmartRegistry behind createNodeHandler on 127.0.0.1) whose
 * upstream is another SmartRegistry on 127.0.0.1: `npm install` of a package with a dependency, and
 * `skopeo copy` of a multi-layer image, each checked byte for byte and against what the proxy cached.
 * Neither client ever talks to anything but the proxy.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing, runClient } from '../helpers/clients.js';
import { sendRequest } from '../helpers/requests.js';
import { startHttp, type ITestServer } from '../adapters/helpers.http.js';
import { publishBody } from '../npm/fixtures.js';
import { pushImage, type IPushedImage } from './oci.fixtures.js';
import { startProxyRegistry, startUpstreamRegistry, type IProxyRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const npmMissing = clientMissing('npm', ['--version']);
const skopeoMissing = clientMissing('skopeo', ['--version']);

describe('real clients through the upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  let proxy: IProxyRegistry;
  let server: ITestServer;
  let work: string;

  before(async () => {
    upstream = await startUpstreamRegistry();
    proxy = await startProxyRegistry({
      npm: { enabled: true, upstreams: [{ id: 'up', url: `${upstream.url}/npm`, priority: 1, enabled: true }] },
      oci: { enabled: true, upstreams: [{ id: 'up', url: upstream.url, priority: 1, enabled: true }] },
    });
    server = await startHttp(createNodeHandler(proxy.registry));
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-clients-'));
  });

  after(async () => {
    await server?.close();
    await proxy?.stop();
    await upstream?.stop();
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  it('npm install through the proxy: the package and its dependency come from the upstream, then from the cache', { skip: npmMissing }, async () => {
    const token = await upstream.registry.getAuthManager().createNpmToken('admin', false);
    const tarballs: Record<string, Buffer> = {};
    for (const [name, manifest] of [
      ['proxy-dep', {}],
      ['proxy-app', { dependencies: { 'proxy-dep': '^1.0.0' } }],
    ] as const) {
      const { body, tarball } = await publishBody(name, '1.0.0', { manifest });
      tarballs[name] = tarball;
      assert.equal((await sendRequest(upstream.registry, 'PUT', `/npm/${name}`, { headers: { authorization: `Bearer ${token}` }, body })).status, 201);
    }
    const install = async (label: string) => {
      const dir = path.join(work, label);
      await fsp.mkdir(path.join(dir, 'home'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${label}`, version: '1.0.0', private: true }));
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: path.join(dir, 'home') };
      Object.assign(env, {
        npm_config_userconfig: path.join(dir, 'home', '.npmrc'),
        npm_config_globalconfig: path.join(dir, 'home', 'global-npmrc'),
        npm_config_cache: path.join(dir, 'cache'),
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
      });
      const result = await runClient('npm', ['install', 'proxy-app', `--registry=${server.url}/npm/`], { cwd: dir, env, timeoutMs: 180_000 });
      assert.equal(result.code, 0, `npm install failed:\n${result.stdout}\n${result.stderr}`);
      for (const name of ['proxy-app', 'proxy-dep']) {
        const index = await fsp.readFile(path.join(dir, 'node_modules', name, 'index.js'), 'utf8');
        assert.equal(index, `module.exports = ${JSON.stringify(`${name}@1.0.0`)};\n`);
      }
      const lock = JSON.parse(await fsp.readFile(path.join(dir, 'package-lock.json'), 'utf8'));
      for (const name of ['proxy-app', 'proxy-dep']) {
        const entry = lock.packages[`node_modules/${name}`];
        assert.equal(entry.resolved, `${server.url}/npm/${name}/-/${name}-1.0.0.tgz`, 'tarball URLs point at the proxy');
        assert.equal(entry.integrity, `sha512-${crypto.createHash('sha512').update(tarballs[name]).digest('base64')}`);
      }
    };
    await install('cold');
    assert.equal(upstream.count('/npm/proxy-app/-/proxy-app-1.0.0.tgz'), 1);
    assert.equal(upstream.count('/npm/proxy-dep/-/proxy-dep-1.0.0.tgz'), 1);
    assert.equal((await proxy.keys('upstream/npm/up/artifacts/')).length, 4, `two tarballs and their records: ${await proxy.keys('upstream/')}`);
    await install('warm');
    assert.equal(upstream.count('/npm/proxy-app/-/proxy-app-1.0.0.tgz'), 1, 'the warm install read the tarballs from the cache');
    assert.equal(upstream.count('/npm/proxy-dep/-/proxy-dep-1.0.0.tgz'), 1);
  });

  it('skopeo copy through the proxy: every digest matches the upstream image, and the blobs are cached', { skip: skopeoMissing }, async () => {
    const image: IPushedImage = await pushImage(upstream.registry, 'mirror/app', 'v1', [2048, 3 * 1024 * 1024]);
    const config = path.join(work, 'skopeo');
    await fsp.mkdir(path.join(config, 'registries.d'), { recursive: true });
    await fsp.mkdir(path.join(config, 'tmp'), { recursive: true });
    await fsp.writeFile(path.join(config, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await fsp.writeFile(path.join(config, 'registries.conf'), 'unqualified-search-registries = []\n');
    await fsp.writeFile(path.join(config, 'containers.conf'), '');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: config,
      XDG_RUNTIME_DIR: config,
      CONTAINERS_REGISTRIES_CONF: path.join(config, 'registries.conf'),
      CONTAINERS_CONF: path.join(config, 'containers.conf'),
      REGISTRY_AUTH_FILE: path.join(config, 'auth.json'),
      TMPDIR: path.join(config, 'tmp'),
    };
    const target = path.join(work, 'copied');
    const result = await runClient(
      'skopeo',
      ['--policy', path.join(config, 'policy.json'), '--registries.d', path.join(config, 'registries.d'), 'copy', '--src-tls-verify=false', '--src-creds', 'admin:admin-password', `docker://127.0.0.1:${server.port}/mirror/app:v1`, `oci:${target}:v1`],
      { env, timeoutMs: 180_000 },
    );
    assert.equal(result.code, 0, `skopeo copy failed:\n${result.stderr}`);
    const index = JSON.parse(await fsp.readFile(path.join(target, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, image.manifestDigest);
    for (const digest of [image.manifestDigest, ...image.blobs]) {
      const bytes = await fsp.readFile(path.join(target, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      assert.equal(`sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`, digest);
    }
    assert.equal((await proxy.keys('upstream/oci/up/artifacts/')).length, image.blobs.length * 2, 'each blob and its record');
    for (const digest of image.blobs) assert.equal(upstream.count(`/v2/mirror/app/blobs/${digest}`), 1);
  });
});
