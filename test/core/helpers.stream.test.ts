import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { bytesToWeb, nodeToWeb, streamToBuffer, streamToJson, takeUnreadBytes, toReadableStream, webToNode } from '../../ts/core/helpers.stream.js';
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
