import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  borrowUnreadNodeBytes,
  bytesToNode,
  bytesToWeb,
  LentBytes,
  nodeToWeb,
  streamToBuffer,
  streamToJson,
  takeUnreadBytes,
  takeUnreadNodeBytes,
  toReadableStream,
  webToNode,
} from '../../ts/core/helpers.stream.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

test('stream: toReadableStream wraps bytes, strings, objects and streams', async () => {
  assert.deepEqual(await streamToJson(toReadableStream({ hello: 'world' })), { hello: 'world' });
  assert.equal((await streamToBuffer(toReadableStream('text'))).toString(), 'text');
  assert.deepEqual([...(await streamToBuffer(toReadableStream(new Uint8Array([1, 2, 3]))))], [1, 2, 3]);
  assert.equal((await streamToBuffer(toReadableStream(Readable.from([Buffer.from('a'), Buffer.from('b')])))).toString(), 'ab');
  assert.equal((await streamToBuffer(toReadableStream(new Uint8Array(0)))).length, 0);
});

test('stream: streamToBuffer stops at the limit with a too-large error', async () => {
  let produced = 0;
  const endless = new Readable({
    read() {
      produced += 65536;
      this.push(Buffer.alloc(65536));
    },
  });
  await assert.rejects(streamToBuffer(endless, 1024 * 1024), (error: unknown) => error instanceof RegistryError && error.status === 413);
  assert.ok(produced < 4 * 1024 * 1024, `read ${produced} bytes before stopping`);
});

test('stream: webToNode gives back the source of an unread nodeToWeb stream', async () => {
  const source = Readable.from([Buffer.from('payload')]);
  const web = nodeToWeb(source);
  // Adapters get the stream later than the handler made it: the source must still be untouched.
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(webToNode(web), source);
  assert.equal((await streamToBuffer(webToNode(web))).toString(), 'payload');
});

test('stream: webToNode converts a plain Web stream', async () => {
  const web = toReadableStream('plain');
  assert.equal((await streamToBuffer(webToNode(web))).toString(), 'plain');
});

test('stream: a stream made from bytes reads normally in every way', async () => {
  const payload = Buffer.from('bytes behind a tagged stream');
  assert.equal((await streamToBuffer(toReadableStream(payload))).toString(), payload.toString());
  assert.equal((await streamToBuffer(webToNode(toReadableStream(payload)))).toString(), payload.toString());
  const chunks: Uint8Array[] = [];
  for await (const chunk of toReadableStream(payload) as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  assert.equal(Buffer.concat(chunks).toString(), payload.toString());
  assert.equal(await new Response(toReadableStream(payload)).text(), payload.toString());
  const reader = toReadableStream(payload).getReader();
  const first = await reader.read();
  assert.equal(Buffer.from(first.value!).toString(), payload.toString());
  assert.equal((await reader.read()).done, true);
  const [left, right] = toReadableStream(payload).tee();
  assert.deepEqual([(await streamToBuffer(left)).toString(), (await streamToBuffer(right)).toString()], [payload.toString(), payload.toString()]);
  // The limit applies as when streaming; an empty body is an empty buffer.
  await assert.rejects(streamToBuffer(toReadableStream(payload), 4), (error: unknown) => error instanceof RegistryError && error.status === 413);
  assert.equal((await streamToBuffer(toReadableStream(new Uint8Array(0)))).length, 0);
});

test('stream: takeUnreadBytes hands out the bytes of an untouched stream once, never of a read one', async () => {
  const payload = Buffer.from('take me');
  const web = bytesToWeb(payload);
  assert.equal(takeUnreadBytes(web), payload);
  assert.equal(takeUnreadBytes(web), undefined, 'spent after the first take');
  assert.equal((await web.getReader().read()).done, true, 'a taken stream reads as finished');

  const read = bytesToWeb(payload);
  await streamToBuffer(read);
  assert.equal(takeUnreadBytes(read), undefined);

  const locked = bytesToWeb(payload);
  const reader = locked.getReader();
  assert.equal(takeUnreadBytes(locked), undefined);
  assert.equal(Buffer.from((await reader.read()).value!).toString(), 'take me');

  const cancelled = bytesToWeb(payload);
  await cancelled.cancel();
  assert.equal(takeUnreadBytes(cancelled), undefined);

  assert.equal(takeUnreadBytes(nodeToWeb(Readable.from([payload]))), undefined);
  assert.equal(takeUnreadBytes(new ReadableStream<Uint8Array>()), undefined);
  // streamToBuffer copies: changing the result leaves the source alone.
  const copy = await streamToBuffer(bytesToWeb(payload));
  copy[0] = 0;
  assert.equal(payload.toString(), 'take me');
});

/** A lent stream over a pooled buffer, and how often it was given back. */
function lentStream(text: string) {
  // A buffer of its own, as a pool's are (not a slice of Node's shared 8 KiB pool).
  const buffer = Buffer.allocUnsafeSlow(text.length);
  buffer.write(text);
  const given: Buffer[] = [];
  return { buffer, given, stream: bytesToNode(buffer, () => given.push(buffer)) };
}

const closed = (stream: Readable) => new Promise((resolve) => (stream.closed ? resolve(undefined) : stream.once('close', resolve)));

test('stream: lent bytes are borrowed as they are and given back once, by the borrower', async () => {
  const { buffer, given, stream } = lentStream('lent');
  const borrowed = borrowUnreadNodeBytes(stream);
  assert.ok(borrowed instanceof LentBytes);
  assert.equal(borrowed.bytes, buffer, 'no copy');
  await closed(stream);
  assert.equal(given.length, 0, 'closing the spent stream does not give them back: the borrower does');
  borrowed.giveBack();
  borrowed.giveBack();
  assert.deepEqual(given, [buffer], 'once');
  assert.equal(borrowUnreadNodeBytes(stream), undefined, 'spent');
  // Bytes that are not lent are borrowed as plain bytes.
  const plain = Buffer.from('plain');
  assert.equal(borrowUnreadNodeBytes(bytesToNode(plain)), plain);
});

test('stream: lent bytes taken to keep are a copy, and the buffer goes back at once', async () => {
  const { buffer, given, stream } = lentStream('kept');
  const kept = takeUnreadNodeBytes(stream)!;
  assert.equal(Buffer.from(kept).toString(), 'kept');
  assert.notEqual(kept.buffer, buffer.buffer, 'a copy of their own');
  assert.deepEqual(given, [buffer]);
  const viaBuffer = lentStream('read whole');
  assert.equal((await streamToBuffer(viaBuffer.stream)).toString(), 'read whole');
  assert.deepEqual(viaBuffer.given, [viaBuffer.buffer]);
});

test('stream: a lent stream that was read keeps its bytes with the reader; one closed unread gives them back', async () => {
  const read = lentStream('read');
  const chunks: Buffer[] = [];
  for await (const chunk of read.stream) chunks.push(chunk as Buffer);
  assert.equal(chunks[0], read.buffer);
  await closed(read.stream);
  assert.equal(read.given.length, 0, 'the reader may still hold the chunk');

  const dropped = lentStream('dropped');
  dropped.stream.destroy();
  await closed(dropped.stream);
  assert.deepEqual(dropped.given, [dropped.buffer]);
});
