import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingTransform, digestBytes } from '../../ts/core/helpers.hash.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

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

describe('digestBytes (a body in memory)', () => {
  const data = Buffer.from('a metadata document');

  it('gives what the hashing transform gives: every digest asked for, with or without a running hash', async () => {
    for (const options of [{ hashes: ['sha1', 'md5', 'blake2b-256'] as const }, { hashOnlyRunning: true, hashes: ['sha512'] as const }]) {
      const streamed = await hashThrough(
        new HashingTransform({ ...options, hashes: [...options.hashes], running: crypto.createHash('sha256').update('earlier') }),
        data,
      );
      const running = crypto.createHash('sha256').update('earlier');
      assert.deepEqual(await digestBytes(data, { ...options, hashes: [...options.hashes], running }), streamed);
      assert.equal(running.digest('hex'), sha256(Buffer.concat([Buffer.from('earlier'), data])), 'the running hash was fed');
    }
  });

  it('refuses more than maxBytes as too large, and fails with what verify throws', async () => {
    await assert.rejects(digestBytes(data, { maxBytes: data.length - 1 }), (error) => error instanceof RegistryError && error.kind === 'too-large');
    assert.equal((await digestBytes(data, { maxBytes: data.length })).size, data.length);
    let seen = '';
    await assert.rejects(
      digestBytes(data, {
        verify: (result) => {
          seen = result.digests.sha256;
          throw new Error('digest mismatch');
        },
      }),
      /digest mismatch/,
    );
    assert.equal(seen, sha256(data), 'verify saw the digests');
  });
});
