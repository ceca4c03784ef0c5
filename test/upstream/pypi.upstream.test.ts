/**
 * The PyPI proxy: the upstream's project page (PEP 691 JSON) served as HTML or JSON with file URLs of
 * ours, merged with local files, files and their `.metadata` cached and checked against the page's
 * sha256, and a real `pip download` and `pip install` through the proxy. The resilience cases every
 * protocol shares are in resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing, envWithout, runClient } from '../helpers/clients.js';
import { sendRequest } from '../helpers/requests.js';
import { startHttp } from '../adapters/helpers.http.js';
import { coreMetadata } from '../pypi/fixtures.js';
import { publishPypi } from './protocols.fixtures.js';
import { oneUpstream, startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const pipMissing = clientMissing(PYTHON, ['-m', 'pip', '--version']);
const sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex');
const JSON_ACCEPT = { accept: 'application/vnd.pypi.simple.v1+json' };

/** A wheel published to `registry`: its file name and bytes. */
async function upload(registry: SmartRegistry, name: string, version: string): Promise<{ filename: string; bytes: Buffer }> {
  const published = await publishPypi(registry, name, version);
  return { filename: path.basename(published.artifact), bytes: published.bytes };
}

describe('pypi upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  let wheel: { filename: string; bytes: Buffer };

  before(async () => {
    upstream = await startUpstreamRegistry();
    wheel = await upload(upstream.registry, 'py-mirror', '1.0.0');
  });
  after(() => upstream.stop());

  it('serves the upstream page with file URLs of its own, its files and metadata, then from the cache', async () => {
    const proxy = await startProxyRegistry(oneUpstream('pypi', `${upstream.url}/pypi/simple`));
    try {
      const page = await sendRequest(proxy.registry, 'GET', '/pypi/simple/py-mirror/', { headers: JSON_ACCEPT });
      assert.equal(page.status, 200, page.text);
      assert.equal(page.headers['x-cache'], 'MISS');
      assert.deepEqual(page.json.versions, ['1.0.0']);
      const [file] = page.json.files;
      assert.equal(file.filename, wheel.filename);
      assert.equal(file.url, `http://registry.example.com/pypi/packages/py-mirror/${wheel.filename}`);
      assert.equal(file.hashes.sha256, sha256(wheel.bytes));
      assert.ok(file['core-metadata'].sha256);

      const html = await sendRequest(proxy.registry, 'GET', '/pypi/simple/py-mirror/', { headers: { accept: 'text/html' } });
      assert.equal(html.status, 200);
      assert.ok(html.text.includes(`href="http://registry.example.com/pypi/packages/py-mirror/${wheel.filename}#sha256=${sha256(wheel.bytes)}"`), html.text);
      assert.equal(html.headers['x-cache'], 'HIT');

      const got = await sendRequest(proxy.registry, 'GET', `/pypi/packages/py-mirror/${wheel.filename}`);
      assert.equal(got.status, 200, got.text);
      assert.ok(got.bytes.equals(wheel.bytes));
      assert.equal(got.headers['x-cache'], 'MISS');
      const metadata = await sendRequest(proxy.registry, 'GET', `/pypi/packages/py-mirror/${wheel.filename}.metadata`);
      assert.equal(metadata.status, 200, metadata.text);
      assert.equal(metadata.text, coreMetadata('py-mirror', '1.0.0'));
      assert.equal(sha256(metadata.bytes), file['core-metadata'].sha256);
      const again = await sendRequest(proxy.registry, 'GET', `/pypi/packages/py-mirror/${wheel.filename}`);
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.equal(upstream.log.filter((entry) => entry.url.startsWith('/pypi/packages/') && !entry.url.endsWith('.metadata')).length, 1);
      assert.equal((await proxy.keys('upstream/pypi/up/artifacts/')).length, 4, 'the wheel, its metadata and their records');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/pypi/packages/py-mirror/py_mirror-9.0.0-py3-none-any.whl')).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('merges local files with the upstream ones', async () => {
    const proxy = await startProxyRegistry(oneUpstream('pypi', `${upstream.url}/pypi/simple/`));
    try {
      const local = await upload(proxy.registry, 'py-mirror', '2.0.0');
      const page = await sendRequest(proxy.registry, 'GET', '/pypi/simple/py-mirror/', { headers: JSON_ACCEPT });
      assert.deepEqual(page.json.files.map((file: { filename: string }) => file.filename).sort(), [wheel.filename, local.filename].sort());
      assert.deepEqual(page.json.versions, ['1.0.0', '2.0.0']);
      const got = await sendRequest(proxy.registry, 'GET', `/pypi/packages/py-mirror/${local.filename}`);
      assert.ok(got.bytes.equals(local.bytes));
      assert.equal(got.headers['x-cache'], undefined, 'the local file, not the cache');
    } finally {
      await proxy.stop();
    }
  });

  it('pip install through the proxy installs the upstream wheel (and pip download fetches its exact bytes)', { skip: pipMissing }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('pypi', `${upstream.url}/pypi/simple`));
    const server = await startHttp(createNodeHandler(proxy.registry));
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-pip-'));
    try {
      const env = envWithout(/^(PIP_|PYTHON|VIRTUAL_ENV|PYENV)/i, { HOME: root, PIP_CONFIG_FILE: os.devNull, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_CACHE_DIR: path.join(root, 'cache') });
      const into = path.join(root, 'downloads');
      const result = await runClient(PYTHON, ['-m', 'pip', 'download', '--no-deps', '--only-binary', ':all:', '-d', into, 'py-mirror==1.0.0', '--index-url', `${server.url}/pypi/simple/`], { env, timeoutMs: 120_000 });
      assert.equal(result.code, 0, `pip download failed:\n${result.stderr}`);
      const downloaded = await fsp.readFile(path.join(into, wheel.filename));
      assert.ok(downloaded.equals(wheel.bytes));
      const target = path.join(root, 'site');
      const installed = await runClient(PYTHON, ['-m', 'pip', 'install', '--no-deps', '--target', target, 'py-mirror==1.0.0', '--index-url', `${server.url}/pypi/simple/`], { env, timeoutMs: 120_000 });
      assert.equal(installed.code, 0, `pip install failed:\n${installed.stderr}`);
      const imported = await runClient(PYTHON, ['-c', 'import py_mirror; print(py_mirror.VALUE)'], { env: { ...env, PYTHONPATH: target }, timeoutMs: 60_000 });
      assert.equal(imported.code, 0, `import py_mirror failed:\n${imported.stderr}`);
      assert.equal(imported.stdout.trim(), 'py-mirror 1.0.0');
      assert.equal((await proxy.keys('upstream/pypi/up/artifacts/')).filter((key) => key.endsWith('.json')).length >= 1, true);
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
