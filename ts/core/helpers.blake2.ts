import { createBLAKE2b } from 'hash-wasm';

/** What HashingTransform needs of a hash: node's crypto.Hash has the same two methods. */
export interface IIncrementalHash {
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}

/**
 * BLAKE2b with a 32-byte digest (PyPI's `blake2_256_digest`). Node's OpenSSL offers only
 * `blake2b512`, whose output length cannot be set, and a 256-bit BLAKE2b is not a truncated 512-bit
 * one; hash-wasm's WebAssembly build is ~20× faster than pure-JS implementations.
 */
export async function createBlake2b256(): Promise<IIncrementalHash> {
  const hasher = await createBLAKE2b(256);
  hasher.init();
  return { update: (data) => hasher.update(data), digest: () => hasher.digest('hex') };
}
