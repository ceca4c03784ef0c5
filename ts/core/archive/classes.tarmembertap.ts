import * as zlib from 'node:zlib';
import { PassThrough, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import tar from 'tar-stream';
import { RegistryError, isRegistryError } from '../classes.registryerror.js';
import { pipeStreamsAsync } from '../helpers.pipe.js';
import { toNodeReadable } from '../helpers.stream.js';
import { assertSafeMemberName } from './helpers.archivenames.js';
import { INFLATE_INLINE_BYTES, gunzipSyncBounded, isZlibError } from './helpers.compression.js';

export interface ITarLimits {
  /** Most entries (files, directories, links) the archive may hold. */
  maxMembers: number;
  /** Largest member kept in memory (those `wanted` picks); other members only pass by. */
  maxMemberBytes: number;
  /** Most bytes of tar: what a gzip stream may inflate to (stops gzip bombs), or a plain tar's size. */
  maxTarBytes: number;
}

export const DEFAULT_TAR_LIMITS: ITarLimits = {
  maxMembers: 100_000,
  maxMemberBytes: 8 * 1024 * 1024,
  maxTarBytes: 1024 * 1024 * 1024,
};

export interface ITarMemberOptions {
  /** `tar.gz` for a `.crate` or an sdist, `tar` for a `.gem`. */
  format: 'tar' | 'tar.gz';
  /** Which regular files to keep, by their full name (pax and GNU long names resolved). */
  wanted: (name: string) => boolean;
  limits?: Partial<ITarLimits>;
  /**
   * The archive's length, when the upload declared it. A tar.gz of at most INFLATE_INLINE_BYTES is inflated in one call
   * on the event loop once whole (a few microseconds), not chunk by chunk in libuv's thread pool, whose hops and
   * back cost a small crate's publish about a millisecond before its PUT could start.
   */
  knownLength?: number;
}

const TAR_BLOCK_BYTES = 512;
/** A tar ends with two zero blocks; without them a plain tar cut at a member boundary would look whole. */
const END_MARKER_BYTES = 2 * TAR_BLOCK_BYTES;
const END_MARKER = Buffer.alloc(END_MARKER_BYTES);

/**
 * A pass-through for an upload that finds members of the tar or tar.gz flowing through it: every
 * byte goes on unchanged (into storage), and `members` holds the wanted members once the archive
 * ended whole. A bad archive (not gzip, not tar, truncated, over a limit) fails the stream before
 * its end, so whatever stores it stores nothing; `members` rejects with the same RegistryError.
 */
export class TarMemberTap extends Transform {
  /** The wanted members by name; rejects with a RegistryError (or the error that stopped the stream). */
  readonly members: Promise<ReadonlyMap<string, Buffer>>;
  private readonly input: Transform;
  private parseFinished = false;
  /** Set when the stream failed from outside the parser (the client went away, storage failed). */
  private outsideError?: Error;
  /** Why `members` rejected: later chunks fail at once. */
  private failure?: Error;

  constructor(options: ITarMemberOptions) {
    super();
    const limits = { ...DEFAULT_TAR_LIMITS, ...options.limits };
    const collector = new MemberCollector(options.wanted, limits);
    const counter = new TarByteCounter(limits.maxTarBytes, options.format);
    const extract = tar.extract();
    extract.on('entry', collector.onEntry);
    this.input =
      options.format === 'tar'
        ? new PassThrough()
        : options.knownLength !== undefined && options.knownLength <= INFLATE_INLINE_BYTES
          ? new InlineGunzip(options.knownLength, limits.maxTarBytes)
          : zlib.createGunzip();
    // streamx streams (tar-stream's) work in a Node stream chain; only their types differ.
    this.members = pipeStreamsAsync(this.input, counter, extract as unknown as Writable).then(
      () => {
        this.parseFinished = true;
        if (!counter.endsWithEndMarker()) throw RegistryError.invalid('tar archive is truncated (no end-of-archive marker)');
        return collector.found as ReadonlyMap<string, Buffer>;
      },
      (error: unknown) => {
        this.parseFinished = true;
        this.failure = this.outsideError ?? describeParseError(error);
        throw this.failure;
      },
    );
    this.members.catch((error: Error) => this.destroy(error));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failure) return callback(this.failure);
    this.push(chunk);
    if (this.input.write(chunk)) callback();
    else this.input.once('drain', () => callback());
  }

  /** The stream ends only once the archive proved whole, so a bad one never becomes a stored object. */
  override _flush(callback: TransformCallback): void {
    this.input.end();
    this.members.then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.parseFinished) {
      this.outsideError = error ?? new Error('the archive stream was stopped before its end');
      this.input.destroy(this.outsideError);
    }
    callback(error);
  }
}

/** The wanted members of a whole tar or tar.gz (bytes, or a stream read to its end). */
export async function readTarMembers(
  source: Readable | ReadableStream<Uint8Array> | Uint8Array,
  options: ITarMemberOptions,
): Promise<ReadonlyMap<string, Buffer>> {
  const tap = new TarMemberTap(options);
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeStreamsAsync(toNodeReadable(source), tap, discard);
  return tap.members;
}

/** Keeps the wanted members of the entries tar-stream hands over, within the limits. */
class MemberCollector {
  readonly found = new Map<string, Buffer>();
  private count = 0;

  constructor(
    private readonly wanted: (name: string) => boolean,
    private readonly limits: ITarLimits,
  ) {}

  readonly onEntry = (...[header, stream, next]: tar.ExtractEvents['entry']): void => {
    // A failing entry fails the whole extract, which reports it.
    stream.on('error', () => undefined);
    const keep = this.wanted(header.name);
    const refusal = this.refusal(header, keep);
    if (refusal) {
      stream.resume();
      next(refusal);
    } else if (!keep) {
      stream.on('end', () => next());
      stream.resume();
    } else {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
      stream.on('end', () => {
        this.found.set(header.name, Buffer.concat(chunks));
        next();
      });
    }
  };

  private refusal(header: tar.Header, keep: boolean): RegistryError | undefined {
    const name = header.name;
    try {
      assertSafeMemberName(name);
    } catch (error) {
      return error as RegistryError;
    }
    if (++this.count > this.limits.maxMembers) {
      return RegistryError.tooLarge(`tar archive has more than ${this.limits.maxMembers} members`);
    }
    if (!keep) return undefined;
    const quoted = JSON.stringify(name);
    if (header.type !== 'file' && header.type !== 'contiguous-file') return RegistryError.invalid(`tar member ${quoted} is not a regular file`);
    if (this.found.has(name)) return RegistryError.invalid(`tar member ${quoted} appears twice`);
    const size = header.size ?? 0;
    if (size > this.limits.maxMemberBytes) {
      return RegistryError.tooLarge(`tar member ${quoted} has ${size} bytes, over the limit of ${this.limits.maxMemberBytes}`);
    }
    return undefined;
  }
}

/** A small gzip stream of a declared length, inflated in one call when it has ended. */
class InlineGunzip extends Transform {
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(
    private readonly declaredBytes: number,
    private readonly maxInflatedBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.declaredBytes) return callback(RegistryError.invalid(`the archive has more than the ${this.declaredBytes} bytes declared`));
    this.chunks.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    let inflated: Buffer;
    try {
      // 'gzip stream': the words TarByteCounter uses when a streamed gzip inflates too far.
      inflated = gunzipSyncBounded(Buffer.concat(this.chunks), this.maxInflatedBytes, 'gzip stream');
    } catch (error) {
      return callback(error as Error);
    }
    callback(null, inflated);
  }
}

/** Counts tar bytes against the limit and keeps the last two blocks to check the end marker. */
class TarByteCounter extends Transform {
  private total = 0;
  private tail = Buffer.alloc(0);

  constructor(
    private readonly maxBytes: number,
    private readonly format: ITarMemberOptions['format'],
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      const what = this.format === 'tar.gz' ? 'gzip stream inflates' : 'tar archive runs';
      callback(RegistryError.tooLarge(`${what} past the limit of ${this.maxBytes} bytes`));
      return;
    }
    // A copy of at most two blocks: the tail must not hold on to a large chunk.
    this.tail = Buffer.from(chunk.length >= END_MARKER_BYTES ? chunk.subarray(-END_MARKER_BYTES) : Buffer.concat([this.tail, chunk]).subarray(-END_MARKER_BYTES));
    callback(null, chunk);
  }

  endsWithEndMarker(): boolean {
    // Compared natively: a callback per byte cost a push some 0.1-0.5 ms while it ran too rarely to be optimized.
    return this.tail.equals(END_MARKER);
  }
}

function describeParseError(error: unknown): Error {
  if (isRegistryError(error)) return error;
  if (isZlibError(error)) {
    const reason = error.code === 'Z_BUF_ERROR' ? 'is truncated' : `is not gzip-compressed data (${error.message})`;
    return RegistryError.invalid(`archive ${reason}`);
  }
  const message = (error as Error)?.message ?? String(error);
  if (/unexpected end of data/i.test(message)) return RegistryError.invalid('tar archive is truncated');
  return RegistryError.invalid(`not a tar archive: ${message}`);
}
