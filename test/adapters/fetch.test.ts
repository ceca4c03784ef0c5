import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { createEchoRegistry, patternSha256, patternStream, patternWebStream, type IEchoSetup } from '../helpers/echoregistry.js';
import { digestStream, nodeToWebPull, startHttp, waitDestroyed, type ITestServer } from './helpers.http.js';

const MiB = 1024 * 1024;

/** The tiny bridge a fetch-style runtime provides: node request → Request → registry.fetch → response. */
function fetchBridge(registry: SmartRegistry): http.RequestListener {
  return async (req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? nodeToWebPull(req) : undefined,
      duplex: 'half',
    } as RequestInit);
    const response = await registry.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return void res.end();
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), res).catch(() => undefined);
  };
}

describe('adapter: registry.fetch(request)', () => {
  let setup: IEchoSetup;
  let server: ITestServer;
  before(async () => {
    setup = await createEchoRegistry({ npm: '/npm' }, { limits: { maxArtifactBytes: 256 * MiB, maxMetadataBytes: MiB } });
    server = await startHttp(fetchBridge(setup.registry));
  });
  after(async () => {
    await server.close();
    await setup.cleanup();
  });

  it('called directly with a Request: routing, query, Host-derived URLs', async () => {
    const response = await setup.registry.fetch(new Request('https://registry.example.com/npm/info/a?x=1&x=2'));
    assert.equal(response.status, 200);
    const json = (await response.json()) as { path: string; query: Record<string, string>; baseUrl: string };
    assert.equal(json.path, '/info/a');
    assert.deepEqual(json.query, { x: '1' });
    assert.equal(json.baseUrl, 'http://registry.example.com/npm');
  });

  it('called directly: HEAD, 404, 405, 500 and a streamed request body', async () => {
    const head = await setup.registry.fetch(new Request('http://localhost/npm/info/a', { method: 'HEAD' }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.equal((await setup.registry.fetch(new Request('http://localhost/nowhere'))).status, 404);
    const wrong = await setup.registry.fetch(new Request('http://localhost/npm/only-get', { method: 'PUT', body: 'x' }));
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    const failing = await setup.registry.fetch(new Request('http://localhost/npm/throw'));
    assert.equal(failing.status, 500);
    assert.match(((await failing.json()) as { error: string }).error, /\(error id [0-9a-f-]{36}\)$/);
    const size = 3 * MiB + 17;
    const stored = await setup.registry.fetch(
      new Request('http://localhost/npm/files/direct.bin', { method: 'PUT', body: patternWebStream(size), duplex: 'half' } as RequestInit),
    );
    assert.equal(stored.status, 201);
    assert.deepEqual(await stored.json(), { size, sha256: patternSha256(size) });
  });

  it('over HTTP through a bridge: 64 MiB up and down, bytes identical', async () => {
    const size = 64 * MiB;
    const put = await fetch(`${server.url}/npm/files/large.bin`, {
      method: 'PUT',
      body: nodeToWebPull(patternStream(size)),
      duplex: 'half',
    } as RequestInit);
    assert.equal(put.status, 201);
    assert.deepEqual(await put.json(), { size, sha256: patternSha256(size) });
    const get = await fetch(`${server.url}/npm/files/large.bin`);
    assert.deepEqual(await digestStream(get.body!), { sha256: patternSha256(size), length: size });
  });

  it('over HTTP through a bridge: the echo stream round-trips 64 MiB', async () => {
    const size = 64 * MiB;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'PUT', path: '/npm/stream', agent: false }, resolve);
      req.on('error', reject);
      patternStream(size).pipe(req);
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(await digestStream(response), { sha256: patternSha256(size), length: size });
  });

  it('a cancelled Response body destroys the source stream', async () => {
    const before = setup.echo('npm').downloads.length;
    const response = await setup.registry.fetch(new Request(`http://localhost/npm/big?size=${4096 * MiB}`));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await waitDestroyed(setup.echo('npm').downloads[before]);
  });

  it('a client abort mid-download through the bridge destroys the source stream', async () => {
    const before = setup.echo('npm').downloads.length;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: server.port, path: `/npm/big?size=${4096 * MiB}`, agent: false }, resolve).on('error', reject),
    );
    await new Promise((resolve) => response.once('data', resolve));
    response.destroy();
    const download = setup.echo('npm').downloads[before];
    await waitDestroyed(download);
    assert.ok(download.pulled < 4096 * MiB);
  });
});
