/** `serve`'s socket timeouts: a slow request head is cut, a slow upload that keeps sending is not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { listen } from '../../ts/cli/server.js';
import { createEchoRegistry } from '../helpers/echoregistry.js';

// Small timeouts so the test runs in about a second.
const TIMEOUTS = { headersMs: 300, idleMs: 400, keepAliveMs: 200 };

/** Writes `parts` one at a time with `gapMs` between them; resolves with everything the server sent once it closes. */
async function trickle(port: number, parts: Buffer[], gapMs: number) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  let closed = false;
  const closing = once(socket, 'close').then(() => (closed = true));
  socket.on('error', () => undefined);
  let written = 0;
  for (const part of parts) {
    if (closed) break;
    socket.write(part);
    written++;
    await sleep(gapMs);
  }
  return { socket, closing, received, written: () => written };
}

test('serve timeouts: a client sending its headers byte by byte is disconnected after the headers timeout', { timeout: 20_000 }, async () => {
  const setup = await createEchoRegistry({ npm: '/npm' });
  const server = await listen(setup.registry, '127.0.0.1', 0, TIMEOUTS);
  try {
    const head = Buffer.from(`GET /npm/info/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`);
    const bytes = [...head].map((byte) => Buffer.from([byte]));
    // 50 ms a byte: each gap is well under the idle timeout, the whole head would take ~13 s.
    const started = Date.now();
    const client = await trickle(server.port, bytes, 50);
    await client.closing;
    const elapsed = Date.now() - started;
    assert.ok(client.written() < bytes.length, 'cut before the head was complete');
    assert.ok(elapsed < 3_000, `disconnected after ${elapsed} ms`);
    assert.match(Buffer.concat(client.received).toString('latin1'), /^HTTP\/1\.1 408 /);
  } finally {
    await server.close();
    await setup.cleanup();
  }
});

test('serve timeouts: an upload that keeps sending outlasts every timeout and succeeds', async () => {
  const setup = await createEchoRegistry({ npm: '/npm' });
  const server = await listen(setup.registry, '127.0.0.1', 0, TIMEOUTS);
  try {
    const chunks = Array.from({ length: 15 }, (_, i) => crypto.randomBytes(1024 + i));
    const body = Buffer.concat(chunks);
    const head = Buffer.from(`POST /npm/digest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    // 100 ms between chunks: 1.5 s in all, longer than the headers and idle timeouts together.
    const started = Date.now();
    const client = await trickle(server.port, [head, ...chunks], 100);
    await client.closing;
    assert.ok(Date.now() - started > TIMEOUTS.headersMs + TIMEOUTS.idleMs);
    assert.equal(client.written(), chunks.length + 1);
    const response = Buffer.concat(client.received).toString('latin1');
    assert.match(response, /^HTTP\/1\.1 200 /);
    const json = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(json, { length: body.length, sha256: crypto.createHash('sha256').update(body).digest('hex') });
  } finally {
    await server.close();
    await setup.cleanup();
  }
});

test('serve timeouts: a connection that goes silent mid-upload is closed after the idle timeout', { timeout: 10_000 }, async () => {
  const setup = await createEchoRegistry({ npm: '/npm' });
  const server = await listen(setup.registry, '127.0.0.1', 0, TIMEOUTS);
  try {
    const head = Buffer.from(`POST /npm/digest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n`);
    const started = Date.now();
    const client = await trickle(server.port, [head, Buffer.alloc(10)], 10);
    await client.closing;
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= TIMEOUTS.idleMs - 50 && elapsed < 3_000, `closed after ${elapsed} ms`);
  } finally {
    await server.close();
    await setup.cleanup();
  }
});

test('serve timeouts: a request the registry works on for longer than the idle timeout is answered, not cut', { timeout: 10_000 }, async () => {
  const setup = await createEchoRegistry({ npm: '/npm' });
  const server = await listen(setup.registry, '127.0.0.1', 0, TIMEOUTS);
  try {
    const body = crypto.randomBytes(4096);
    const head = Buffer.from(`POST /npm/digest?thinkMs=${TIMEOUTS.idleMs * 3} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    const client = await trickle(server.port, [head, body], 0);
    await client.closing;
    const response = Buffer.concat(client.received).toString('latin1');
    assert.match(response, /^HTTP\/1\.1 200 /, 'answered: silence while the registry works is not the client going quiet');
    assert.equal(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)).length, body.length);
  } finally {
    await server.close();
    await setup.cleanup();
  }
});
