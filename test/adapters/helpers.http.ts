/** Loopback HTTP plumbing shared by the adapter tests. */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

export interface ITestServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 on a free port. */
export async function startHttp(listener: http.RequestListener): Promise<ITestServer> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The exact bytes a server sends for one request (Connection: close), to see what really went over the wire. */
export function rawExchange(port: number, head: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.end(head));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

/** Digest and length of a Node stream or Web stream, read incrementally. */
export async function digestStream(stream: Readable | ReadableStream<Uint8Array>): Promise<{ sha256: string; length: number }> {
  const hash = crypto.createHash('sha256');
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    length += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), length };
}

/** A Node stream as a pull-based Web stream (Node 20's Readable.toWeb throws when cancelled mid-flow). */
export function nodeToWebPull(readable: Readable): ReadableStream<Uint8Array> {
  const iterator = readable[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      async cancel() {
        readable.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Wait until a stream is destroyed (it may error on the way; that is expected on abort). */
export async function waitDestroyed(stream: Readable, timeoutMs = 10_000): Promise<void> {
  stream.on('error', () => undefined);
  if (stream.destroyed) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('source stream was not destroyed')), timeoutMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
