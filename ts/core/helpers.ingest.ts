import type * as crypto from 'node:crypto';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { PassThrough, type Readable } from 'node:stream';
import { RegistryError } from './classes.registryerror.js';
import type { IStorageOperationContext, RegistryStorage } from './classes.registrystorage.js';
import { formatDigest } from './helpers.hash.js';
import type { IPutDigests, IPutOptions, THashAlgorithm, TPutCondition } from './storage/interfaces.storage.js';

/**
 * Streaming ingest of an artifact, the one data flow every protocol's uploads take:
 * request body → size limit → every digest the protocol needs, in one pass → storage → verify
 * (before the object becomes visible: a refused body stores nothing) → a record written once.
 * The protocol supplies only the key, the digests it wants and its own checks.
 */

export interface IIngestOptions {
  /** More bytes than this: a too-large error, nothing stored. */
  maxBytes: number;
  /** Digests to compute while the bytes stream (sha256 always is). */
  hashes?: THashAlgorithm[];
  /** Hex digests the bytes must have (from the client's manifest or URL). */
  expect?: Partial<Record<THashAlgorithm, string>>;
  /** The protocol's error for a digest that does not match (default: an 'invalid' error saying which). */
  mismatch?: (algorithm: THashAlgorithm, expected: string, actual: string) => RegistryError;
  /** The protocol's own checks of the finished digests and size; throwing refuses the body. */
  verify?: (result: IPutDigests) => void | Promise<void>;
  /** A hash that saw the bytes before these (an upload continued in parts): fed too, never finished. */
  running?: crypto.Hash;
  /** With `running`: hash once, into `running` only (see IPutOptions.hashOnlyRunning). */
  hashOnlyRunning?: boolean;
  /** Write only if nothing is stored at the key, or only over the version with this etag (precondition-failed otherwise). */
  condition?: TPutCondition;
  /** With `ifNoneMatch`: whether to write over an object found at the key (IPutOptions.onExisting). */
  onExisting?: IPutOptions['onExisting'];
}

export interface IIngestedArtifact extends IPutDigests {
  key: string;
  /** The stored object's etag: a reader of it right after (an archive's directory) need not ask storage again. */
  etag: string;
}

const defaultMismatch = (algorithm: THashAlgorithm, expected: string, actual: string) =>
  RegistryError.invalid(`${algorithm} digest mismatch: expected ${formatDigest(algorithm, expected, 'prefixed')}, the body has ${formatDigest(algorithm, actual, 'prefixed')}`);

/** Stream `body` into `key`, hashed, bounded and verified on the way. */
export async function ingestArtifact(
  storage: RegistryStorage,
  key: string,
  body: Readable | Uint8Array,
  ctx: IStorageOperationContext,
  options: IIngestOptions,
): Promise<IIngestedArtifact> {
  const expected = Object.entries(options.expect ?? {}) as [THashAlgorithm, string][];
  const hashes = [...new Set([...(options.hashes ?? []), ...expected.map(([algorithm]) => algorithm)])].filter((a) => a !== 'sha256');
  const mismatch = options.mismatch ?? defaultMismatch;
  const result = await storage.putObject(key, body, ctx, {
    maxBytes: options.maxBytes,
    hashes,
    running: options.running,
    hashOnlyRunning: options.hashOnlyRunning,
    ...options.condition,
    onExisting: options.onExisting,
    verify: async (digests) => {
      for (const [algorithm, hex] of expected) {
        const actual = digests.digests[algorithm]!;
        if (actual !== hex.toLowerCase()) throw mismatch(algorithm, hex.toLowerCase(), actual);
      }
      await options.verify?.(digests);
    },
  });
  return { key, size: result.size, digests: result.digests, etag: result.etag };
}

/** Creates tried when each finds a record that is gone again by the time it is read. */
const RECORD_ONCE_ATTEMPTS = 5;

/** An ingest under way (`startIngest`). */
export interface IIngestInProgress {
  /**
   * Size and digests once the last byte passed every check and storage had a turn to send it on (its request in
   * flight), while storage still flushes and commits the bytes.
   */
  verified: Promise<Omit<IIngestedArtifact, 'etag'>>;
  /** The artifact stored: the prerequisite of the document that lists it. */
  stored: Promise<IIngestedArtifact>;
}

/**
 * `ingestArtifact`, telling the digests before the artifact is stored: the document that lists it can be
 * made and handed to storage meanwhile, with `stored` as its prerequisite, so it never lists an artifact
 * that is not there. `verified` rejects with the ingest's error when a check refused the bytes.
 */
export function startIngest(
  storage: RegistryStorage,
  key: string,
  body: Readable | Uint8Array,
  ctx: IStorageOperationContext,
  options: IIngestOptions,
): IIngestInProgress {
  let passed!: (result: IPutDigests) => void;
  const checked = new Promise<IPutDigests>((resolve) => (passed = resolve));
  const stored = ingestArtifact(storage, key, body, ctx, {
    ...options,
    verify: async (result) => {
      await options.verify?.(result);
      passed(result);
    },
  });
  // The caller may give up (a refused record) before it awaits `stored`: its failure is reported there or nowhere.
  stored.catch(() => undefined);
  // Told after a setImmediate: the artifact's request leaves first (storage sends it on the same turn as the last
  // byte), and the document that lists it is made while that request is in flight, not before it is sent.
  const sent = checked.then(async ({ size, digests }) => {
    await setImmediate();
    return { key, size, digests };
  });
  const verified = Promise.race([sent, stored]);
  return { verified, stored };
}

/**
 * The record that makes stored bytes an artifact (OCI's blob record over its immutable parts), written
 * once: when two uploads of the same artifact race, the first record wins and stays; the other
 * writer gets the winner's record (and deletes what it stored, if the winner does not use it).
 */
export async function recordOnce<T>(
  storage: RegistryStorage,
  key: string,
  record: T,
  ctx: IStorageOperationContext,
): Promise<{ record: T; created: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await storage.createJsonOnce(key, record, ctx);
    if (outcome.created) return { record, created: true };
    const winner = await storage.getJson<T>(key);
    if (winner) return { record: winner.value, created: false };
    // Created and deleted again in between (a garbage collection took it): the key is free, ours may land now.
    if (attempt === RECORD_ONCE_ATTEMPTS) throw new RegistryError('conflict', 'the record changed while it was written; try again');
  }
}

/** An ingest whose bytes are pushed in (decoded from a body that carries the artifact inside it). */
export interface IPushedIngest extends IIngestInProgress {
  /** Resolves once the bytes were taken (backpressure); rejects when the ingest failed. */
  write(bytes: Uint8Array): Promise<void>;
  /** No more bytes: `verified` and `stored` tell how the ingest ends. */
  end(): void;
  /** The carrier failed: nothing is stored. */
  abort(error: unknown): void;
}

const PUSH_HIGH_WATER_MARK = 1024 * 1024;

/** `startIngest` fed by `write` calls instead of a stream the caller has. */
export function pushIngest(
  storage: RegistryStorage,
  key: string,
  ctx: IStorageOperationContext,
  options: IIngestOptions,
): IPushedIngest {
  const body = new PassThrough({ highWaterMark: PUSH_HIGH_WATER_MARK });
  // An abort can come before storage starts reading: the put sees the error through the stream's state.
  body.on('error', () => undefined);
  const { verified, stored } = startIngest(storage, key, body, ctx, options);
  // An aborted carrier never asks whether its bytes passed: the failure is reported by `stored`.
  verified.catch(() => undefined);
  // Settles only when the ingest failed (or ended early); handled here, surfaced by write.
  const failure = stored.then(() => {
    throw new Error('the ingest ended before its body');
  });
  failure.catch(() => body.destroy());
  return {
    verified,
    stored,
    async write(bytes) {
      if (body.destroyed) return failure;
      if (!body.write(bytes)) await Promise.race([once(body, 'drain'), failure]);
    },
    end() {
      body.end();
    },
    abort(error) {
      body.destroy(error instanceof Error ? error : new Error(String(error)));
    },
  };
}
