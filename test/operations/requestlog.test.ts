/** The request log: one entry per answer with the id that answers as X-Request-Id; `serve --log-format json`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IRequestLogEntry } from '../../ts/core/classes.requestlog.js';
import { publishBody } from '../npm/fixtures.js';
import { sendRequest } from '../helpers/requests.js';
import { launchServe } from '../helpers/serve.js';
import { authorizationFor } from '../reliability/cluster.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';

describe('request log', () => {
  it('writes one entry per request, answers its id as X-Request-Id, keeps a plain client id and drops the query', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-requestlog-'));
    const entries: IRequestLogEntry[] = [];
    const registry = new SmartRegistry({
      storage: { type: 'filesystem', path: dir },
      auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
      logging: { level: 'silent', requests: (entry) => entries.push(entry) },
      npm: { enabled: true, basePath: '/npm' },
    });
    try {
      await registry.init();
      const token = await registry.getAuthManager().createNpmToken('alice');
      const { body } = await publishBody('logged', '1.0.0');
      const bytes = Buffer.from(JSON.stringify(body));
      const put = await sendRequest(registry, 'PUT', '/npm/logged', { headers: { authorization: `Bearer ${token}` }, body: bytes });
      const got = await sendRequest(registry, 'GET', '/npm/logged?write=true', { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-42' } });
      const forged = await sendRequest(registry, 'GET', '/npm/missing', { headers: { 'x-request-id': 'bad\r\nid' } });
      assert.equal(entries.length, 3);
      assert.match(put.headers['x-request-id'], /^[0-9a-f-]{36}$/);
      assert.equal(got.headers['x-request-id'], 'trace-42');
      assert.match(forged.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an id with control characters is replaced');
      assert.deepEqual(entries.map((e) => e.requestId), [put.headers['x-request-id'], 'trace-42', forged.headers['x-request-id']]);
      const [first, second, third] = entries;
      assert.deepEqual(
        { method: first.method, path: first.path, protocol: first.protocol, route: first.route, status: first.status, userId: first.userId, bytesIn: first.bytesIn, bytesOut: first.bytesOut },
        { method: 'PUT', path: '/npm/logged', protocol: 'npm', route: '/:name', status: 201, userId: 'alice', bytesIn: bytes.length, bytesOut: put.bytes.length },
      );
      assert.equal(second.path, '/npm/logged', 'the query string is not logged');
      assert.equal(second.bytesOut, got.bytes.length);
      assert.deepEqual([third.status, third.userId], [401, undefined]);
      assert.ok(entries.every((e) => e.durationMs >= 0 && !Number.isNaN(Date.parse(e.time))));
    } finally {
      await registry.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('names the protocol, route pattern and user of a request in every protocol', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-requestlog-'));
    const entries: IRequestLogEntry[] = [];
    const reads: Record<TRegistryProtocol, string> = {
      npm: '/npm/left-pad',
      oci: '/oci/v2/library/app/manifests/latest',
      maven: '/maven/com/example/app/1.0/app-1.0.pom',
      cargo: '/cargo/api/v1/crates/app/1.0.0/download',
      composer: '/composer/p2/acme/app.json',
      pypi: '/pypi/simple/app/',
      rubygems: '/rubygems/info/app',
    };
    const protocols = Object.keys(reads) as TRegistryProtocol[];
    const registry = new SmartRegistry({
      storage: { type: 'filesystem', path: dir },
      auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
      logging: { level: 'silent', requests: (entry) => entries.push(entry) },
      ...Object.fromEntries(protocols.map((protocol) => [protocol, { enabled: true, basePath: `/${protocol}` }])),
    });
    try {
      await registry.init();
      for (const protocol of protocols) {
        const auth = registry.getAuthManager();
        const token = protocol === 'oci' ? await auth.createToken('alice', 'oci', { stored: true }) : await auth.createToken('alice', protocol);
        // authorizationFor names the cluster's admin for OCI's Basic user; the token decides who it is.
        const res = await sendRequest(registry, 'GET', reads[protocol], { headers: { authorization: authorizationFor(protocol, token) } });
        assert.equal(res.status, 404, `${protocol}: ${res.text.slice(0, 200)}`);
      }
      assert.deepEqual(
        entries.map((entry) => [entry.protocol, entry.status, entry.userId, typeof entry.route === 'string' && entry.route.startsWith('/')]),
        protocols.map((protocol) => [protocol, 404, 'alice', true]),
      );
    } finally {
      await registry.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('is off unless asked: no X-Request-Id', async () => {
    const registry = new SmartRegistry({ storage: { type: 'filesystem', path: os.tmpdir() }, auth: {}, logging: { level: 'silent' } });
    const res = await sendRequest(registry, 'GET', '/anything');
    assert.equal(res.headers['x-request-id'], undefined);
  });

  it('serve --log-format json prints one JSON line per request on stdout', { timeout: 60_000 }, async () => {
    const server = await launchServe({ args: ['--log-format', 'json'] });
    try {
      let out = '';
      server.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const res = await fetch(`${server.url}/npm/nothing-here`, { headers: { authorization: `Bearer ${server.tokens.npm}`, 'x-request-id': 'serve-trace-1' } });
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('x-request-id'), 'serve-trace-1');
      await res.arrayBuffer();
      while (!out.includes('serve-trace-1')) await new Promise((resolve) => server.child.stdout!.once('data', resolve));
      const entry = JSON.parse(out.split('\n').find((line) => line.includes('serve-trace-1'))!);
      assert.deepEqual([entry.method, entry.path, entry.protocol, entry.status, entry.userId, entry.ip], ['GET', '/npm/nothing-here', 'npm', 404, 'admin', '127.0.0.1']);
    } finally {
      await server.stop();
    }
  });
});
