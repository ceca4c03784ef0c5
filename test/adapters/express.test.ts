import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { createEchoRegistry, patternChunk, type IEchoSetup } from '../helpers/echoregistry.js';
import { startHttp, type ITestServer } from './helpers.http.js';

describe('adapter: Express middleware', () => {
  let setup: IEchoSetup;
  let server: ITestServer;
  before(async () => {
    setup = await createEchoRegistry({ npm: '/npm' });
    const app = express();
    app.get('/health', (_req, res) => void res.json({ ok: true }));
    // A JSON body parser in front: parsed bodies must reach the handler as well as raw streams.
    app.use(express.json({ limit: '1mb' }));
    app.use('/registry', createNodeHandler(setup.registry));
    app.use(createNodeHandler(setup.registry));
    server = await startHttp(app);
  });
  after(async () => {
    await server.close();
    await setup.cleanup();
  });

  it('serves next to the app’s own routes', async () => {
    assert.deepEqual(await (await fetch(`${server.url}/health`)).json(), { ok: true });
    const info = (await (await fetch(`${server.url}/npm/info/a`)).json()) as { protocol: string; path: string };
    assert.deepEqual([info.protocol, info.path], ['npm', '/info/a']);
  });

  it('mounted under a prefix, routes by the path below it', async () => {
    const info = (await (await fetch(`${server.url}/registry/npm/info/b`)).json()) as { path: string };
    assert.equal(info.path, '/info/b');
  });

  it('a body parsed by express.json() reaches the handler', async () => {
    const value = { name: 'pkg', versions: { '1.0.0': { dist: {} } } };
    const response = await fetch(`${server.url}/npm/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(value),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as { value: unknown }).value, value);
  });

  it('a body the parser skips (binary) still streams to the handler', async () => {
    const bytes = patternChunk(0, 3 * 1024 * 1024);
    const put = await fetch(`${server.url}/npm/files/blob.bin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    assert.equal(put.status, 201);
    assert.equal(((await put.json()) as { size: number }).size, bytes.length);
    const back = Buffer.from(await (await fetch(`${server.url}/npm/files/blob.bin`)).arrayBuffer());
    assert.ok(back.equals(bytes));
  });

  it('HEAD through Express has no body', async () => {
    const response = await fetch(`${server.url}/npm/info/a`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });
});
