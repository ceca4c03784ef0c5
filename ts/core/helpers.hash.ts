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

/**
 * The one hashing tap: a pass-through that computes every digest a protocol needs in one pass (and
 * continues a running hash), enforces a size limit and runs a verification before signalling the
 * end of the data. Storage backends run every put through it.
 */
export class HashingTransform extends Transform {
  private readonly hashers = new Map<THashAlgorithm, IIncrementalHash>();
  private bytes = 0;
  private finalResult?: IPutDigests;

  constructor(private readonly options: IHashingOptions = {}) {
    super();
  }

  /** Node's OpenSSL has no BLAKE2b-256, and ours comes from WebAssembly, which is created asynchronously. */
  override _construct(callback: (error?: Error | null) => void): void {
    const algorithms = new Set<THashAlgorithm>(['sha256', ...(this.options.hashes ?? [])]);
    if (this.runningIsSha256) algorithms.delete('sha256');
    Promise.all(
      [...algorithms].map(async (algorithm) => {
        this.hashers.set(algorithm, algorithm === 'blake2b-256' ? await createBlake2b256() : crypto.createHash(algorithm));
      }),
    ).then(() => callback(), callback);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.options.maxBytes !== undefined && this.bytes > this.options.maxBytes) {
      callback(RegistryError.tooLarge(`body exceeds the limit of ${this.options.maxBytes} bytes`));
      return;
    }
    for (const hasher of this.hashers.values()) hasher.update(chunk);
    this.options.running?.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const digests = {} as IPutDigests['digests'];
    for (const [algorithm, hasher] of this.hashers) digests[algorithm] = hasher.digest('hex');
    // A copy: the running hash goes on with the next part.
    if (this.runningIsSha256) digests.sha256 = this.options.running!.copy().digest('hex');
    const result: IPutDigests = { size: this.bytes, digests };
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

  private get runningIsSha256(): boolean {
    return this.options.hashOnlyRunning === true && this.options.running !== undefined;
  }

  /** Available once the stream has ended successfully. */
  get result(): IPutDigests {
    if (!this.finalResult) throw new Error('HashingTransform has not finished');
    return this.finalResult;
  }
}
