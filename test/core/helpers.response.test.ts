import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { discardResponseBody, normalizeResponse, takeResponseBody } from '../../ts/core/helpers.response.js';
import { bytesToNode, streamToBuffer, streamToJson, takeUnreadNodeBytes, toReadableStream } from '../../ts/core/helpers.stream.js';
import { countWebStreams } from '../helpers/webstreams.js';


test('response: a byte body is a real ReadableStream, built once when first read', async () => {
  let response = normalizeResponse({ status: 200, body: { hello: 'world' } });
  const built = await countWebStreams(() => {
    response = normalizeResponse({ status: 200, body: { hello: 'world' } });
  });
  assert.equal(built, 0, 'normalizeResponse builds no Web stream');
  assert.equal(response.headers['Content-Type'], 'application/json');
  assert.equal(response.headers['Content-Length'], String(JSON.stringify({ hello: 'world' }).length));
  assert.ok(response.body instanceof ReadableStream);
  assert.equal(response.body, response.body, 'the same stream on every access');
  assert.deepEqual(await streamToJson(response.body), { hello: 'world' });
  assert.deepEqual(Object.keys(response).sort(), ['body', 'headers', 'status']);
});

test('response: copies and replaced bodies behave like plain properties', async () => {
  const original = normalizeResponse({ status: 201, body: 'text body' });
  const copy = { ...original, status: 202 };
  assert.ok(copy.body instanceof ReadableStream);
  assert.equal(await new Response(copy.body).text(), 'text body');

  const replaced = normalizeResponse({ status: 200, body: Buffer.from('old') });
  replaced.body = toReadableStream('new');
  assert.equal((await streamToBuffer(takeResponseBody(replaced) as ReadableStream<Uint8Array>)).toString(), 'new');

  const emptied = normalizeResponse({ status: 200, body: Buffer.from('gone') });
  emptied.body = undefined;
  assert.equal(emptied.body, undefined);
  assert.equal(takeResponseBody(emptied), undefined);
});

test('response: takeResponseBody gives bytes and Node streams without building Web streams', async () => {
  const bytes = Buffer.from('manifest bytes');
  const source = Readable.from([Buffer.from('blob')]);
  let taken: unknown[] = [];
  const built = await countWebStreams(() => {
    taken = [
      takeResponseBody(normalizeResponse({ status: 200, body: bytes })),
      takeResponseBody(normalizeResponse({ status: 200, body: source })),
      takeResponseBody(normalizeResponse({ status: 204 })),
    ];
  });
  assert.equal(built, 0);
  assert.equal(taken[0], bytes);
  assert.equal(taken[1], source);
  assert.equal(taken[2], undefined);

  // Once built and still unread, the stream's bytes are taken; once read, the stream itself.
  const built2 = normalizeResponse({ status: 200, body: bytes });
  void built2.body;
  assert.equal(takeResponseBody(built2), bytes);
  const read = normalizeResponse({ status: 200, body: bytes });
  await read.body!.getReader().read();
  assert.ok(takeResponseBody(read) instanceof ReadableStream);
  // Taking spends the body.
  const spent = normalizeResponse({ status: 200, body: bytes });
  takeResponseBody(spent);
  assert.equal(spent.body, undefined);
});

test('response: discarding a Node-stream body destroys the stream', () => {
  const source = Readable.from([Buffer.from('never sent')]);
  discardResponseBody(takeResponseBody(normalizeResponse({ status: 200, body: source })));
  assert.equal(source.destroyed, true);
});

test('response: a Node stream made from bytes is sent as those bytes, unless someone read it', async () => {
  const bytes = Buffer.from('a small stored object');
  const taken = takeResponseBody(normalizeResponse({ status: 200, body: bytesToNode(bytes) }));
  assert.ok(taken instanceof Uint8Array, 'the adapter gets the bytes for one write');
  assert.equal(Buffer.from(taken).toString(), 'a small stored object');

  const asStream = normalizeResponse({ status: 200, body: bytesToNode(bytes) });
  assert.equal(await new Response(asStream.body).text(), 'a small stored object', 'an ordinary stream to any other reader');

  const started = bytesToNode(bytes);
  started.read(0);
  for await (const chunk of started) assert.ok(chunk.length > 0);
  assert.equal(takeUnreadNodeBytes(started), undefined, 'a read stream is spent');
  assert.deepEqual(await streamToBuffer(bytesToNode(bytes)), bytes);
});
