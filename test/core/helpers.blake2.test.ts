import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBlake2b256 } from '../../ts/core/helpers.blake2.js';
import { HashingTransform } from '../../ts/core/helpers.hash.js';

// BLAKE2b with a 32-byte digest (RFC 7693 parameters; the values Python's hashlib.blake2b(digest_size=32) gives).
const VECTORS: [string, string][] = [
  ['', '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8'],
  ['abc', 'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319'],
];

describe('BLAKE2b-256', () => {
  it('matches fixed vectors, fed in pieces', async () => {
    for (const [text, hex] of VECTORS) {
      const hash = await createBlake2b256();
      for (const char of text) hash.update(Buffer.from(char));
      assert.equal(hash.digest('hex'), hex);
    }
  });

  it('gives each hash its own state when hashers are used again, and refuses a hash already digested', async () => {
    const first = await createBlake2b256();
    first.update(Buffer.from('abc'));
    assert.equal(first.digest('hex'), VECTORS[1][1]);
    // The hasher behind `first` now serves these; `first` must not reach it any more.
    const [second, third] = [await createBlake2b256(), await createBlake2b256()];
    second.update(Buffer.from('ab'));
    third.update(Buffer.from('abc'));
    assert.throws(() => first.update(Buffer.from('x')), /already taken/);
    assert.throws(() => first.digest('hex'), /already taken/);
    second.update(Buffer.from('c'));
    assert.equal(second.digest('hex'), VECTORS[1][1]);
    assert.equal(third.digest('hex'), VECTORS[1][1]);
    assert.equal((await createBlake2b256()).digest('hex'), VECTORS[0][1]);
  });

  it('is one of the digests the hashing tap computes in its single pass', async () => {
    const tap = new HashingTransform({ hashes: ['md5', 'blake2b-256'] });
    await pipeline(Readable.from([Buffer.from('a'), Buffer.from('bc')]), tap, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
    assert.deepEqual(tap.result.digests, {
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      md5: '900150983cd24fb0d6963f7d28e17f72',
      'blake2b-256': VECTORS[1][1],
    });
  });
});
