import { createBLAKE2b, type IHasher } from 'hash-wasm';

/** What HashingTransform needs of a hash: node's crypto.Hash has the same two methods. */
export interface IIncrementalHash {
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}

/**
 * Hashers whose digest was taken, kept for the next upload: making one instantiates the WebAssembly module
 * (about 0.1 ms of CPU and an await), setting one up again costs a few microseconds.
 */
const idle: IHasher[] = [];
/** As many as uploads hashing at once on a busy instance; more are made when needed and dropped after. */
const KEPT_IDLE = 16;

/**
 * BLAKE2b with a 32-byte digest (PyPI's `blake2_256_digest`). Node's OpenSSL offers only
 * `blake2b512`, whose output length cannot be set, and a 256-bit BLAKE2b is not a truncated 512-bit
 * one; hash-wasm's WebAssembly build is ~20× faster than pure-JS implementations.
 */
export async function createBlake2b256(): Promise<IIncrementalHash> {
  const hasher = idle.pop() ?? (await createBLAKE2b(256));
  hasher.init();
  let finished = false;
  const assertOpen = () => {
    // As node's crypto.Hash: a hash is done once digested (and the hasher may already serve another upload).
    if (finished) throw new Error('BLAKE2b-256: the digest was already taken');
  };
  return {
    update: (data) => {
      assertOpen();
      hasher.update(data);
    },
    digest: () => {
      assertOpen();
      finished = true;
      const hex = hasher.digest('hex');
      if (idle.length < KEPT_IDLE) idle.push(hasher);
      return hex;
    },
  };
}
