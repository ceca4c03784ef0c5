import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { RequestBody } from '../../ts/core/classes.requestbody.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { streamToBuffer, toReadableStream } from '../../ts/core/helpers.stream.js';
import type { IRequestContext } from '../../ts/core/interfaces.core.js';

const limits = { maxArtifactBytes: 1024, maxMetadataBytes: 64 };
const ctx = (body: IRequestContext['body'], headers: IRequestContext['headers'] = {}, rawBody?: Uint8Array): IRequestContext => ({
  method: 'PUT',
  path: '/',
  headers,
  query: {},
  body,
  rawBody,
});
const isStatus = (status: number) => (error: unknown) => error instanceof RegistryError && error.status === status;

test('request body: every body kind reads as the same bytes', async () => {
  const json = '{"a":1}';
  const kinds: IRequestContext['body'][] = [
    json,
    Buffer.from(json),
    new Uint8Array(Buffer.from(json)),
    Readable.from([Buffer.from(json)]),
    toReadableStream(json),
  ];
  for (const kind of kinds) {
    assert.equal((await new RequestBody(ctx(kind), limits).buffer()).toString(), json);
  }
  assert.deepEqual(await new RequestBody(ctx({ a: 1 }), limits).json(), { a: 1 });
});

test('request body: rawBody wins over a parsed body', async () => {
  const body = new RequestBody(ctx({ a: 1 }, {}, Buffer.from('{"a": 1}')), limits);
  assert.equal((await body.buffer()).toString(), '{"a": 1}');
});

test('request body: declared length over the limit is refused before reading', async () => {
  let read = false;
  const stream = new Readable({
    read() {
      read = true;
      this.push(null);
    },
  });
  const body = new RequestBody(ctx(stream), limits, '100000');
  assert.throws(() => body.stream(), isStatus(413));
  await assert.rejects(new RequestBody(ctx(stream), limits, '100').buffer(), isStatus(413));
  assert.equal(read, false);
});

test('request body: undeclared length is bounded while reading', async () => {
  const body = new RequestBody(ctx(Readable.from([Buffer.alloc(50), Buffer.alloc(50)])), limits);
  await assert.rejects(body.buffer(), isStatus(413));
});

test('request body: malformed JSON is a 400 that says so', async () => {
  await assert.rejects(new RequestBody(ctx('{"a":'), limits).json(), (error: unknown) => {
    return isStatus(400)(error) && /malformed JSON/.test((error as Error).message);
  });
});

test('request body: a body is read once', async () => {
  const body = new RequestBody(ctx('x'), limits);
  assert.equal((await streamToBuffer(body.stream())).toString(), 'x');
  await assert.rejects(body.buffer());
});

test('request body: a body the client cut off is a 400, any other stream failure is not a client error', async () => {
  const cutOff = new Readable({ read() {} });
  const body = new RequestBody(ctx(cutOff), limits);
  const reading = streamToBuffer(body.stream());
  cutOff.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  await assert.rejects(reading);
  const error = body.cutOffError();
  assert.ok(error && error.status === 400, String(error));
  assert.match(error.message, /ended early/);

  const failed = new Readable({ read() {} });
  const other = new RequestBody(ctx(failed), limits);
  const otherReading = streamToBuffer(other.stream());
  failed.destroy(new Error('disk on fire'));
  await assert.rejects(otherReading);
  assert.equal(other.cutOffError(), null);
  assert.equal(new RequestBody(ctx(Readable.from([Buffer.from('intact')])), limits).cutOffError(), null);
});
