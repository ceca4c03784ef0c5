/** The benchmark's load generator counts what servers send: real node:http answers, cut at every byte. */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { test } from 'node:test';
import { HttpResponseCounter } from '../../bench/helpers.responsecounter.js';

/** The raw bytes node:http sends for three keep-alive answers: fixed length, chunked (with a trailer), and a 304. */
async function rawAnswers(): Promise<Buffer> {
  const server = http.createServer((req, res) => {
    if (req.url === '/fixed') return void res.writeHead(200, { 'content-length': '5' }).end('hello');
    if (req.url === '/chunked') {
      res.writeHead(200, { trailer: 'x-done' });
      res.write('a'.repeat(20));
      res.write('b'.repeat(300));
      res.addTrailers({ 'x-done': 'yes' });
      return void res.end();
    }
    res.writeHead(304).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(['/fixed', '/chunked', '/cached'].map((url) => `GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.destroy();
  server.close();
  return Buffer.concat(chunks);
}

test('response counter: status and body length of each answer, however the bytes are cut', async () => {
  const bytes = await rawAnswers();
  assert.match(bytes.toString('latin1'), /transfer-encoding: chunked/i);
  for (let cut = 1; cut < bytes.length; cut++) {
    const seen: [number, number][] = [];
    const counter = new HttpResponseCounter((status, bodyBytes) => seen.push([status, bodyBytes]));
    counter.push(bytes.subarray(0, cut));
    counter.push(bytes.subarray(cut));
    assert.deepEqual(seen, [[200, 5], [200, 320], [304, 0]], `cut at ${cut}`);
  }
  const oneByOne: [number, number][] = [];
  const counter = new HttpResponseCounter((status, bodyBytes) => oneByOne.push([status, bodyBytes]));
  for (let at = 0; at < bytes.length; at++) counter.push(bytes.subarray(at, at + 1));
  assert.deepEqual(oneByOne, [[200, 5], [200, 320], [304, 0]]);
});

test('response counter: keeps nothing of a pushed chunk, so the reader may reuse one buffer for every read', async () => {
  const bytes = await rawAnswers();
  const reused = Buffer.alloc(bytes.length);
  for (let cut = 1; cut < bytes.length; cut++) {
    const seen: [number, number][] = [];
    const counter = new HttpResponseCounter((status, bodyBytes) => seen.push([status, bodyBytes]));
    for (const piece of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
      piece.copy(reused);
      counter.push(reused.subarray(0, piece.length));
      reused.fill('X');
    }
    assert.deepEqual(seen, [[200, 5], [200, 320], [304, 0]], `cut at ${cut}`);
  }
});
