import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { FramedStreamReader } from '../../ts/core/classes.framedstreamreader.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';

/** A stream that hands over `bytes` in chunks of `size` (parts straddle chunk borders). */
const chunked = (bytes: Buffer, size: number) =>
  Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));

describe('FramedStreamReader', () => {
  const body = Buffer.from('0123456789abcdefghij');

  it('reads exact parts across chunk borders and streams the rest', async () => {
    for (const size of [1, 3, 7, 20, 100]) {
      const reader = new FramedStreamReader(chunked(body, size));
      assert.equal((await reader.read(4, 'head')).toString(), '0123');
      assert.equal((await reader.read(0, 'nothing')).length, 0);
      assert.equal((await reader.read(6, 'middle')).toString(), '456789');
      assert.equal(reader.position, 10);
      assert.equal((await streamToBuffer(reader.rest(10, 'tail'))).toString(), 'abcdefghij');
      assert.equal(reader.position, 20);
    }
  });

  it('says which part a short body ends inside', async () => {
    const reader = new FramedStreamReader(chunked(body, 3));
    await reader.read(15, 'head');
    await assert.rejects(reader.read(8, 'the JSON'), /body is truncated: it ends inside the JSON \(5 of 8 bytes\)/);
    await assert.rejects(streamToBuffer(new FramedStreamReader(chunked(body, 3)).rest(21, 'the file')), /ends inside the file \(20 of 21 bytes\)/);
  });

  it('fails the rest when the body goes on past its declared length', async () => {
    await assert.rejects(streamToBuffer(new FramedStreamReader(chunked(body, 4)).rest(19, 'the file')), /body has bytes after the file/);
  });

  it('drains the rest of the body when told to discard it', async () => {
    const source = chunked(Buffer.alloc(1024 * 1024), 1024);
    const reader = new FramedStreamReader(source);
    await reader.read(4, 'head');
    const ended = new Promise((resolve) => source.once('end', resolve));
    reader.discardRest();
    await ended;
    assert.equal(source.destroyed || source.readableEnded, true);
  });
});
