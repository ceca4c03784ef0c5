import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingTransform } from '../../ts/core/helpers.hash.js';

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

async function hashThrough(transform: HashingTransform, data: Buffer) {
  await pipeline(Readable.from([data]), transform, async (source) => {
    for await (const _chunk of source);
  });
  return transform.result;
}

describe('HashingTransform with a running hash', () => {
  const earlier = Buffer.from('bytes of an earlier part, ');
  const now = Buffer.from('bytes of this part');

  it('by default: sha256 of this object alone, and the running hash fed too', async () => {
    const running = crypto.createHash('sha256').update(earlier);
    const result = await hashThrough(new HashingTransform({ running, hashes: ['sha512'] }), now);
    assert.equal(result.digests.sha256, sha256(now));
    assert.equal(result.digests.sha512, crypto.createHash('sha512').update(now).digest('hex'));
    assert.equal(running.digest('hex'), sha256(Buffer.concat([earlier, now])));
  });

  it('hashOnlyRunning: sha256 is the running digest so far, and the running hash goes on', async () => {
    const running = crypto.createHash('sha256').update(earlier);
    const result = await hashThrough(new HashingTransform({ running, hashOnlyRunning: true, hashes: ['sha512'] }), now);
    assert.equal(result.digests.sha256, sha256(Buffer.concat([earlier, now])));
    assert.equal(result.digests.sha512, crypto.createHash('sha512').update(now).digest('hex'), 'other digests are this object\'s');
    assert.equal(result.size, now.length);
    running.update('more');
    assert.equal(running.digest('hex'), sha256(Buffer.concat([earlier, now, Buffer.from('more')])));
  });
});
