import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { StreamingBase64Decoder } from '../../ts/core/helpers.base64.js';

/** Decode `text` fed in pieces of `size` characters. */
function decodeInPieces(text: string, size: number): Buffer {
  const decoder = new StreamingBase64Decoder('test data');
  const out: Buffer[] = [];
  for (let i = 0; i < text.length; i += size) out.push(decoder.write(text.slice(i, i + size)));
  out.push(decoder.end());
  return Buffer.concat(out);
}

const refuses = (text: string, size = 3) =>
  assert.throws(() => decodeInPieces(text, size), (error: unknown) => error instanceof RegistryError && /test data: data is not valid base64/.test(error.message), text);

describe('streaming base64', () => {
  it('decodes whatever the piece boundaries, with and without padding', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 31, 32, 33, 1000]) {
      const bytes = crypto.randomBytes(length);
      const text = bytes.toString('base64');
      for (const size of [1, 2, 3, 4, 5, 7, 64, 100_000]) assert.deepEqual(decodeInPieces(text, size), bytes, `${length} bytes in pieces of ${size}`);
    }
  });

  it('refuses other alphabets, padding before the end, missing padding and stray padding bits', () => {
    refuses('aGVs*G8=');
    refuses('aGVsbG8'); // unpadded
    refuses('aGVsbG9='); // non-canonical padding bits
    refuses('aGk=aGk='); // padding in the middle
    refuses('aGVsbG8=\n');
    refuses('aGVs-G8_'); // base64url
    refuses('a===');
    refuses('=');
  });
});
