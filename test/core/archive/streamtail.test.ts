import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { StreamTail } from '../../../ts/core/archive/classes.streamtail.js';

const passThrough = async (chunks: Buffer[], limit: number) => {
  const tail = new StreamTail(limit);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), tail, async function* (source) {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return { passed: Buffer.concat(out), tail: tail.tail };
};

test('stream tail: passes every byte through and keeps the last `limit` of them', async () => {
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 400), bytes.subarray(400, 401), bytes.subarray(401)];
  for (const limit of [1, 100, 599, 600, 999, 1000, 5000]) {
    const { passed, tail } = await passThrough(chunks, limit);
    assert.deepEqual(passed, bytes);
    assert.deepEqual(tail, bytes.subarray(Math.max(0, bytes.length - limit)), `limit ${limit}`);
  }
  assert.deepEqual((await passThrough([], 10)).tail, Buffer.alloc(0));
});

test('stream tail: a failing source fails the pipeline through it', async () => {
  const failing = Readable.from(
    (async function* () {
      yield Buffer.from('abc');
      throw new Error('client went away');
    })(),
  );
  const sink = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) yield chunk;
  };
  await assert.rejects(pipeline(failing, new StreamTail(10), sink), /client went away/);
});
