/**
 * The filesystem backend reads objects of 128 KiB to 1 MiB into pooled buffers and lends them to the node
 * adapter, which gives them back once the response has closed. A buffer given back too early would be
 * refilled by the next download while the socket still sends it: these downloads check every byte while
 * other downloads churn through the pool, with clients that read late, ranges, HEAD, 304 and clients that
 * go away mid-body.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { createNpmRegistry, makeTarball, type INpmTestRegistry } from '../npm/fixtures.js';
import { startHttp, type ITestServer } from './helpers.http.js';

const KiB = 1024;
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

interface IDownload {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: Buffer;
}

/** A GET whose body is read only after `readAfter` resolves (until then the server's writes stay pending). */
function download(url: string, headers: Record<string, string>, readAfter: Promise<void> = Promise.resolve(), method = 'GET'): Promise<IDownload> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent: false }, (response) => {
      response.pause();
      void readAfter.then(() => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, bytes: Buffer.concat(chunks) }));
        response.on('error', reject);
        response.resume();
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** A GET that hangs up after the first chunk of the body. */
function abandonedDownload(url: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false }, (response) => {
      response.once('data', () => {
        request.destroy();
        resolve();
      });
    });
    request.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error)));
  });
}

/**
 * `count` GETs of `path` pipelined on one connection whose answers are read only after `readAfter`: the
 * socket takes the first few MiB, the rest of the answers wait in the server for the client to read.
 */
function pipelinedDownloads(port: number, path: string, headers: Record<string, string>, count: number, readAfter: Promise<void>): Promise<IDownload[]> {
  const head = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head.repeat(count)));
    socket.pause();
    socket.on('error', reject);
    let received = Buffer.alloc(0);
    const answers: IDownload[] = [];
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (;;) {
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const lines = received.subarray(0, headEnd).toString('latin1').split('\r\n');
        const length = Number(/^content-length:\s*(\d+)$/im.exec(lines.join('\n'))?.[1] ?? 0);
        if (received.length < headEnd + 4 + length) return;
        answers.push({ status: Number(lines[0]!.split(' ')[1]), headers: {}, bytes: received.subarray(headEnd + 4, headEnd + 4 + length) });
        received = received.subarray(headEnd + 4 + length);
        if (answers.length === count) {
          socket.destroy();
          resolve(answers);
        }
      }
    });
    void readAfter.then(() => socket.resume());
  });
}

describe('adapter: node:http sends pooled whole reads intact', () => {
  let r: INpmTestRegistry;
  let server: ITestServer;
  let authorization: Record<string, string>;
  const tarballs = new Map<string, Buffer>();
  const url = (name: string) => `${server.url}/npm/${name}/-/${name}-1.0.0.tgz`;

  before(async () => {
    r = await createNpmRegistry();
    authorization = { authorization: `Bearer ${r.tokens.alice}` };
    // Random content does not compress: each tarball is about its extra bytes, all within the pooled sizes.
    for (const [name, extra] of [['held', 1000 * KiB], ['churn-a', 900 * KiB], ['churn-b', 600 * KiB], ['churn-c', 200 * KiB]] as const) {
      const tarball = await makeTarball({ name, version: '1.0.0' }, extra);
      assert.ok(tarball.length >= 128 * KiB && tarball.length <= 1024 * KiB, `${name}: ${tarball.length} bytes`);
      assert.equal((await r.publish(name, '1.0.0', { tarball })).status, 201);
      tarballs.set(name, tarball);
    }
    server = await startHttp(createNodeHandler(r.registry));
  });
  after(async () => {
    await server?.close();
    await r?.close();
  });

  it('downloads read late keep their bytes while other downloads reuse the read buffers', async () => {
    let release!: () => void;
    const late = new Promise<void>((resolve) => (release = resolve));
    const held = pipelinedDownloads(server.port, '/npm/held/-/held-1.0.0.tgz', authorization, 8, late);
    const churn = [];
    for (let round = 0; round < 10; round++) {
      churn.push(...(await Promise.all(['churn-a', 'churn-b', 'churn-c'].map(async (name) => ({ name, answer: await download(url(name), authorization) })))));
    }
    release();
    for (const { name, answer } of churn) {
      assert.equal(answer.status, 200);
      assert.equal(sha256(answer.bytes), sha256(tarballs.get(name)!), name);
    }
    for (const answer of await held) {
      assert.equal(answer.status, 200);
      assert.equal(answer.bytes.length, tarballs.get('held')!.length);
      assert.equal(sha256(answer.bytes), sha256(tarballs.get('held')!), 'a held download was overwritten by another');
    }
  });

  it('ranges, HEAD, 304 and clients that hang up leave the buffers good for the downloads after them', async () => {
    const held = tarballs.get('held')!;
    const whole = await download(url('held'), authorization);
    const etag = whole.headers.etag!;
    for (let round = 0; round < 5; round++) {
      const [ranged, head, notModified] = await Promise.all([
        download(url('held'), { ...authorization, range: 'bytes=100-300099' }),
        download(url('held'), authorization, undefined, 'HEAD'),
        download(url('held'), { ...authorization, 'if-none-match': etag }),
        abandonedDownload(url('churn-a'), authorization),
        abandonedDownload(url('held'), authorization),
      ]);
      assert.equal(ranged.status, 206);
      assert.ok(ranged.bytes.equals(held.subarray(100, 300100)));
      assert.equal(head.status, 200);
      assert.equal(head.bytes.length, 0);
      assert.equal(notModified.status, 304);
      assert.equal(notModified.bytes.length, 0);
    }
    const after = await Promise.all(['held', 'churn-a', 'churn-b', 'churn-c'].map((name) => download(url(name), authorization)));
    for (const [index, name] of ['held', 'churn-a', 'churn-b', 'churn-c'].entries()) {
      assert.equal(sha256(after[index]!.bytes), sha256(tarballs.get(name)!), name);
    }
  });
});
