import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { nodeToWeb, streamToBuffer, streamToJson, toReadableStream, webToNode } from '../../ts/core/helpers.stream.js';
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
