// Byte bodies (Buffer, Uint8Array views, strings, JSON objects) take a fast path: the node adapter
// writes them with one `res.end(bytes)` and no Web stream is built unless someone reads `body`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { BaseRegistry, type IRoute } from '../../ts/core/classes.baseregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import { patternChunk } from '../helpers/echoregistry.js';
import { countWebStreams } from '../helpers/webstreams.js';
import { rawExchange, startHttp, type ITestServer } from './helpers.http.js';

const BIG = patternChunk(0, 3 * 1024 * 1024 + 17);
/** A view into the middle of a larger buffer: the adapter must send exactly the view. */
const VIEW = new Uint8Array(BIG.buffer, BIG.byteOffset + 1000, 5000);
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

class BytesRegistry extends BaseRegistry {
  protected routes(): IRoute[] {
    return [
      { method: 'GET', pattern: '/big', permission: 'public', handler: async () => ({ status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: BIG }) },
      { method: 'GET', pattern: '/view', permission: 'public', handler: async () => ({ status: 200, body: VIEW }) },
      { method: 'GET', pattern: '/text', permission: 'public', handler: async () => ({ status: 200, body: 'grüße' }) },
      { method: 'GET', pattern: '/json', permission: 'public', handler: async () => ({ status: 200, body: { list: [1, 2, 3], name: 'x' } }) },
      { method: 'GET', pattern: '/empty', permission: 'public', handler: async () => ({ status: 200, body: new Uint8Array(0) }) },
      { method: 'GET', pattern: '/cached', permission: 'public', handler: async (req) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { ETag: '"v1"' }, body: Buffer.from('unused') } : { status: 200, headers: { ETag: '"v1"' }, body: Buffer.from('fresh') }) },
    ];
  }
}

/** GET over a plain socket (no Web streams on the client side either); returns head and body bytes. */
async function rawGet(port: number, method: string, target: string, extraHeaders = ''): Promise<{ head: string; body: Buffer }> {
  const raw = await rawExchange(port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extraHeaders}\r\n`);
  const split = raw.indexOf('\r\n\r\n');
  return { head: raw.subarray(0, split).toString('latin1'), body: raw.subarray(split + 4) };
}

function httpGet(port: number, target: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('byte bodies: fast path through the adapters', () => {
  let dataDir: string;
  let registry: SmartRegistry;
  let server: ITestServer;
  before(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bytes-'));
    registry = new SmartRegistry(
      { storage: { type: 'filesystem', path: dataDir }, auth: { tokenStore: 'memory' }, logging: { level: 'silent' }, npm: { enabled: true, basePath: '/b' } },
      { protocolFactories: { npm: (deps) => new BytesRegistry(deps) } },
    );
    await registry.init();
    server = await startHttp(createNodeHandler(registry));
  });
  after(async () => {
    await server.close();
    await registry.destroy();
    await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('node:http: bytes, views, text, JSON and empty bodies arrive intact with their lengths', async () => {
    const big = await httpGet(server.port, '/b/big');
    assert.equal(big.status, 200);
    assert.equal(big.headers['content-length'], String(BIG.length));
    assert.equal(sha256(big.body), sha256(BIG));
    const view = await httpGet(server.port, '/b/view');
    assert.equal(view.headers['content-length'], '5000');
    assert.deepEqual(new Uint8Array(view.body), VIEW);
    const text = await httpGet(server.port, '/b/text');
    assert.equal(text.body.toString('utf8'), 'grüße');
    assert.equal(text.headers['content-length'], String(Buffer.byteLength('grüße')));
    assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
    const json = await httpGet(server.port, '/b/json');
    assert.deepEqual(JSON.parse(json.body.toString()), { list: [1, 2, 3], name: 'x' });
    const empty = await rawGet(server.port, 'GET', '/b/empty');
    assert.match(empty.head, /^HTTP\/1\.1 200/);
    assert.match(empty.head, /content-length: 0/i);
    assert.equal(empty.body.length, 0);
  });

  it('node:http: HEAD and 304 send headers and no body bytes', async () => {
    const head = await rawGet(server.port, 'HEAD', '/b/big');
    assert.match(head.head, /^HTTP\/1\.1 200/);
    assert.match(head.head, new RegExp(`content-length: ${BIG.length}`, 'i'));
    assert.equal(head.body.length, 0);
    const notModified = await rawGet(server.port, 'GET', '/b/cached', 'If-None-Match: "v1"\r\n');
    assert.match(notModified.head, /^HTTP\/1\.1 304/);
    assert.equal(notModified.body.length, 0);
  });

  it('node:http: a byte body goes out without building a Web stream', async () => {
    const built = await countWebStreams(async () => {
      const reply = await rawGet(server.port, 'GET', '/b/json');
      assert.deepEqual(JSON.parse(reply.body.toString()), { list: [1, 2, 3], name: 'x' });
    });
    assert.equal(built, 0);
  });

  it('registry.fetch: byte bodies arrive intact, HEAD and 304 have none', async () => {
    const big = await registry.fetch(new Request('http://127.0.0.1/b/big'));
    assert.equal(big.headers.get('content-length'), String(BIG.length));
    assert.equal(sha256(new Uint8Array(await big.arrayBuffer())), sha256(BIG));
    const view = await registry.fetch(new Request('http://127.0.0.1/b/view'));
    assert.deepEqual(new Uint8Array(await view.arrayBuffer()), VIEW);
    assert.equal(await (await registry.fetch(new Request('http://127.0.0.1/b/text'))).text(), 'grüße');
    const head = await registry.fetch(new Request('http://127.0.0.1/b/big', { method: 'HEAD' }));
    assert.equal(head.body, null);
    assert.equal(head.headers.get('content-length'), String(BIG.length));
    const notModified = await registry.fetch(new Request('http://127.0.0.1/b/cached', { headers: { 'if-none-match': '"v1"' } }));
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body, null);
  });

  it('handleRequest: the body is a working ReadableStream; a HEAD has none', async () => {
    const response = await registry.handleRequest({ method: 'GET', path: '/b/big', headers: {}, query: {} });
    assert.ok(response.body instanceof ReadableStream);
    assert.equal(sha256(await streamToBuffer(response.body)), sha256(BIG));
    const piped = await registry.handleRequest({ method: 'GET', path: '/b/json', headers: {}, query: {} });
    assert.deepEqual(await new Response(piped.body).json(), { list: [1, 2, 3], name: 'x' });
    const head = await registry.handleRequest({ method: 'HEAD', path: '/b/big', headers: {}, query: {} });
    assert.equal(head.body, undefined);
    assert.equal(head.headers['Content-Length'], String(BIG.length));
  });
});
