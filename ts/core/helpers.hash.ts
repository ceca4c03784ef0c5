import * as crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { RegistryError } from './classes.registryerror.js';
import { createBlake2b256, type IIncrementalHash } from './helpers.blake2.js';
import type { IPutDigests, THashAlgorithm } from './storage/interfaces.storage.js';

// One-shot: a third of createHash's cost, paid on every authenticated request (the token's id).
export const sha256Hex = (data: Uint8Array | string) => crypto.hash('sha256', data, 'hex');

/** How a protocol writes a digest: `hex`, `base64`, SRI (`sha512-<base64>`) or prefixed (`sha256:<hex>`). */
export type TDigestForm = 'hex' | 'base64' | 'sri' | 'prefixed';

export function formatDigest(algorithm: THashAlgorithm, hex: string, form: TDigestForm): string {
  switch (form) {
    case 'hex':
      return hex;
    case 'base64':
      return Buffer.from(hex, 'hex').toString('base64');
    case 'sri':
      return `${algorithm}-${Buffer.from(hex, 'hex').toString('base64')}`;
    case 'prefixed':
      return `${algorithm}:${hex}`;
  }
}

export interface IHashingOptions {
  hashes?: THashAlgorithm[];
  maxBytes?: number;
  /** A hash that saw the bytes before these (an upload continued in parts): fed too, never finished. */
  running?: crypto.Hash;
  /** With `running`: sha256 only through `running` (see IPutOptions.hashOnlyRunning). */
  hashOnlyRunning?: boolean;
  /** Runs in flush, before the stream ends: an error here fails the pipeline before anything commits. */
  verify?: (result: IPutDigests) => void | Promise<void>;
}

/** The hashers of every digest `options` asks for (sha256 unless the running hash stands for it). */
async function createHashers(options: IHashingOptions): Promise<Map<THashAlgorithm, IIncrementalHash>> {
  const algorithms = new Set<THashAlgorithm>(['sha256', ...(options.hashes ?? [])]);
  if (runningIsSha256(options)) algorithms.delete('sha256');
  const hashers = new Map<THashAlgorithm, IIncrementalHash>();
  // Node's OpenSSL has no BLAKE2b-256, and ours comes from WebAssembly, which is created asynchronously.
  await Promise.all(
    [...algorithms].map(async (algorithm) => {
      hashers.set(algorithm, algorithm === 'blake2b-256' ? await createBlake2b256() : crypto.createHash(algorithm));
    }),
  );
  return hashers;
}

const runningIsSha256 = (options: IHashingOptions) => options.hashOnlyRunning === true && options.running !== undefined;

const tooLarge = (maxBytes: number) => RegistryError.tooLarge(`body exceeds the limit of ${maxBytes} bytes`);

function finishDigests(hashers: Map<THashAlgorithm, IIncrementalHash>, size: number, options: IHashingOptions): IPutDigests {
  const digests = {} as IPutDigests['digests'];
  for (const [algorithm, hasher] of hashers) digests[algorithm] = hasher.digest('hex');
  // A copy: the running hash goes on with the next part.
  if (runningIsSha256(options)) digests.sha256 = options.running!.copy().digest('hex');
  return { size, digests };
}

/**
 * What a HashingTransform would make of `bytes`, for a body already in memory (a metadata document): the same
 * digests, limit and verification without a stream around the bytes.
 */
export async function digestBytes(bytes: Uint8Array, options: IHashingOptions = {}): Promise<IPutDigests> {
  if (options.maxBytes !== undefined && bytes.length > options.maxBytes) throw tooLarge(options.maxBytes);
  const hashers = await createHashers(options);
  for (const hasher of hashers.values()) hasher.update(bytes);
  options.running?.update(bytes);
  const result = finishDigests(hashers, bytes.length, options);
  await options.verify?.(result);
  return result;
}

/**
 * The one hashing tap: a pass-through that computes every digest a protocol needs in one pass (and
 * continues a running hash), enforces a size limit and runs a verification before signalling the
 * end of the data. Storage backends run every streamed put through it (a body in memory through digestBytes).
 */
export class HashingTransform extends Transform {
  private hashers = new Map<THashAlgorithm, IIncrementalHash>();
  private bytes = 0;
  private finalResult?: IPutDigests;

  constructor(private readonly options: IHashingOptions = {}) {
    super();
  }

  override _construct(callback: (error?: Error | null) => void): void {
    createHashers(this.options).then((hashers) => {
      this.hashers = hashers;
      callback();
    }, callback);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.options.maxBytes !== undefined && this.bytes > this.options.maxBytes) {
      callback(tooLarge(this.options.maxBytes));
      return;
    }
    for (const hasher of this.hashers.values()) hasher.update(chunk);
    this.options.running?.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const result = finishDigests(this.hashers, this.bytes, this.options);
    Promise.resolve()
      .then(() => this.options.verify?.(result))
      .then(
        () => {
          this.finalResult = result;
          callback();
        },
        (error) => callback(error),
      );
  }

  /** Available once the stream has ended successfully. */
  get result(): IPutDigests {
    if (!this.finalResult) throw new Error('HashingTransform has not finished');
    return this.finalResult;
  }
}
