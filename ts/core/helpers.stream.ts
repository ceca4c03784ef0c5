import { Readable } from 'node:stream';
import { RegistryError } from './classes.registryerror.js';

/** Marks a Web stream made from a Node stream, so Node adapters can pipe the source directly. */
const NODE_SOURCE = Symbol.for('smartregistry.nodeSource');
/** Marks a Web stream made from bytes, so adapters can send them in one write instead of streaming. */
const BYTES_SOURCE = Symbol.for('smartregistry.bytesSource');
/** The same for a Node stream made from bytes (a small object a backend read whole). */
const NODE_BYTES_SOURCE = Symbol.for('smartregistry.nodeBytesSource');

interface IBytesSource {
  bytes: Uint8Array;
  /** Set once the Web stream was pulled or cancelled, or its bytes were taken: then they are spent. */
  spent: boolean;
}

type TTaggedWebStream = ReadableStream<Uint8Array> & { [NODE_SOURCE]?: Readable; [BYTES_SOURCE]?: IBytesSource };

export const isWebReadableStream = (value: unknown): value is ReadableStream<Uint8Array> =>
  typeof value === 'object' && value !== null && typeof (value as ReadableStream).getReader === 'function';

export const isNodeReadable = (value: unknown): value is Readable =>
  value instanceof Readable ||
  (typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' &&
    typeof (value as Readable).on === 'function');

/**
 * Node stream → Web stream, remembering the source for `webToNode`. The source is not touched until
 * the Web stream is read (highWaterMark 0), so a Node adapter can still pipe the source itself.
 */
export function nodeToWeb(readable: Readable): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<unknown> | undefined;
  const web: TTaggedWebStream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        iterator ??= readable[Symbol.asyncIterator]();
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(typeof value === 'string' ? Buffer.from(value) : (value as Uint8Array));
        } catch (error) {
          controller.error(error);
        }
      },
      cancel() {
        readable.destroy();
      },
    },
    { highWaterMark: 0 },
  );
  web[NODE_SOURCE] = readable;
  return web;
}

/** Web stream → Node stream; a stream made by `nodeToWeb` and not yet read gives back its source. */
export function webToNode(web: ReadableStream<Uint8Array>): Readable {
  const source = (web as TTaggedWebStream)[NODE_SOURCE];
  if (source && !web.locked && !source.destroyed && !source.readableDidRead) return source;
  const bytes = takeUnreadBytes(web);
  if (bytes) return Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], { objectMode: false });
  return Readable.fromWeb(web as import('node:stream/web').ReadableStream<Uint8Array>);
}

/**
 * Bytes → Web stream, remembering them for `takeUnreadBytes`. Nothing is queued until the stream is
 * read (highWaterMark 0), so an adapter that takes the bytes leaves no half-read stream behind.
 */
export function bytesToWeb(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const source: IBytesSource = { bytes, spent: false };
  const web: TTaggedWebStream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        source.spent = true;
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
      cancel() {
        source.spent = true;
      },
    },
    { highWaterMark: 0 },
  );
  web[BYTES_SOURCE] = source;
  return web;
}

/**
 * The bytes behind a stream made by `bytesToWeb` that nobody has read, locked or cancelled; the
 * stream counts as read afterwards (it is cancelled). Undefined for any other stream.
 */
export function takeUnreadBytes(web: ReadableStream<Uint8Array>): Uint8Array | undefined {
  const source = (web as TTaggedWebStream)[BYTES_SOURCE];
  if (!source || source.spent || web.locked) return undefined;
  source.spent = true;
  void web.cancel().catch(() => undefined);
  return source.bytes;
}

/**
 * Bytes a backend lent from its pool of read buffers, taken from their stream by `borrowUnreadNodeBytes`.
 * The borrower calls `giveBack` once, when nothing reads them any more (a Node adapter: when the response
 * has closed, so the socket holds no write of them); the pool then refills the buffer for another read.
 */
export class LentBytes {
  constructor(
    readonly bytes: Uint8Array,
    private giveBackTo: (() => void) | undefined,
  ) {}

  /** Once: later calls do nothing (two gives would hand the buffer to two readers). */
  giveBack(): void {
    const giveBackTo = this.giveBackTo;
    this.giveBackTo = undefined;
    giveBackTo?.();
  }
}

interface INodeBytesSource {
  bytes: Uint8Array;
  /** Set while the bytes are lent and nobody has taken them from the stream. */
  giveBack?: () => void;
}

type TTaggedNodeStream = Readable & { [NODE_BYTES_SOURCE]?: INodeBytesSource };

/**
 * Bytes → Node stream, remembering them for `takeUnreadNodeBytes`: a Node adapter sends them in one
 * write (notably faster than piping, even a single chunk), anyone else reads an ordinary stream.
 * The bytes are handed over, not copied: whoever takes them may keep them. With `giveBack` they are lent
 * (a backend's pooled read buffer): given back when the stream closes unread or a keeper copies them; a
 * stream that was read gives them to its reader, and the pool forgets them.
 */
export function bytesToNode(bytes: Uint8Array, giveBack?: () => void): Readable {
  const readable: TTaggedNodeStream = Readable.from([bytes], { objectMode: false });
  const source: INodeBytesSource = { bytes, giveBack };
  readable[NODE_BYTES_SOURCE] = source;
  if (giveBack) {
    readable.once('close', () => {
      if (!readable.readableDidRead) takeGiveBack(source)?.();
    });
  }
  return readable;
}

function takeGiveBack(source: INodeBytesSource): (() => void) | undefined {
  const { giveBack } = source;
  source.giveBack = undefined;
  return giveBack;
}

/** The source of a stream made by `bytesToNode` that nobody has read; the stream is spent afterwards. */
function takeUnreadSource(readable: Readable): { bytes: Uint8Array; giveBack?: () => void } | undefined {
  const source = (readable as TTaggedNodeStream)[NODE_BYTES_SOURCE];
  if (!source || readable.readableDidRead || readable.destroyed) return undefined;
  const giveBack = takeGiveBack(source);
  readable.destroy();
  return { bytes: source.bytes, giveBack };
}

/**
 * The bytes behind a stream made by `bytesToNode` that nobody has read, to keep; the stream is spent
 * afterwards. Lent bytes are copied and given back at once: the pool's buffer is refilled, and a keeper
 * (a cache) holds no more memory than the bytes need.
 */
export function takeUnreadNodeBytes(readable: Readable): Uint8Array | undefined {
  const taken = takeUnreadSource(readable);
  if (!taken?.giveBack) return taken?.bytes;
  const copy = Buffer.from(taken.bytes);
  taken.giveBack();
  return copy;
}

/** As `takeUnreadNodeBytes`, for a borrower that gives lent bytes back once it has sent them: no copy. */
export function borrowUnreadNodeBytes(readable: Readable): Uint8Array | LentBytes | undefined {
  const taken = takeUnreadSource(readable);
  if (!taken?.giveBack) return taken?.bytes;
  return new LentBytes(taken.bytes, taken.giveBack);
}

/** Any body-like value → bytes. Objects (not streams or bytes) become JSON. */
function valueToBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return Buffer.from(JSON.stringify(data), 'utf8');
}

/** Wrap any data (bytes, string, object as JSON, Node or Web stream) as a Web ReadableStream. */
export function toReadableStream(data: unknown): ReadableStream<Uint8Array> {
  if (isWebReadableStream(data)) return data;
  if (isNodeReadable(data)) return nodeToWeb(data);
  return bytesToWeb(valueToBytes(data));
}

/** Any stream (or bytes) → Node Readable. */
export function toNodeReadable(data: unknown): Readable {
  if (isNodeReadable(data)) return data;
  if (isWebReadableStream(data)) return webToNode(data);
  return Readable.from([Buffer.from(valueToBytes(data))]);
}

/**
 * Read a stream whole. With `maxBytes`, stops reading and throws a too-large RegistryError as soon
 * as the limit is passed.
 */
export async function streamToBuffer(
  stream: ReadableStream<Uint8Array> | Readable | Uint8Array | string | undefined | null,
  maxBytes?: number,
): Promise<Buffer> {
  if (stream === undefined || stream === null) return Buffer.alloc(0);
  if (typeof stream === 'string') return Buffer.from(stream, 'utf8');
  if (stream instanceof Uint8Array) return Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  // A stream made from bytes: the same limit, without streaming them.
  const bytes = isWebReadableStream(stream) ? takeUnreadBytes(stream) : undefined;
  if (bytes) {
    if (maxBytes !== undefined && bytes.byteLength > maxBytes) {
      throw RegistryError.tooLarge(`body exceeds the limit of ${maxBytes} bytes`);
    }
    // A copy, as reading the stream gives: the caller may change it without touching the source.
    return Buffer.from(bytes);
  }
  const readable = toNodeReadable(stream);
  // A small object a backend read whole: no copy needed, nobody else holds these bytes.
  const nodeBytes = takeUnreadNodeBytes(readable);
  if (nodeBytes) {
    if (maxBytes !== undefined && nodeBytes.byteLength > maxBytes) {
      throw RegistryError.tooLarge(`body exceeds the limit of ${maxBytes} bytes`);
    }
    return Buffer.from(nodeBytes.buffer, nodeBytes.byteOffset, nodeBytes.byteLength);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of readable) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
      total += buffer.length;
      if (maxBytes !== undefined && total > maxBytes) {
        throw RegistryError.tooLarge(`body exceeds the limit of ${maxBytes} bytes`);
      }
      chunks.push(buffer);
    }
  } finally {
    if (!readable.readableEnded) readable.destroy();
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/** Read a stream whole and parse it as JSON. */
export async function streamToJson<T = any>(
  stream: ReadableStream<Uint8Array> | Readable | Uint8Array | string | undefined | null,
  maxBytes?: number,
): Promise<T> {
  const buffer = await streamToBuffer(stream, maxBytes);
  return JSON.parse(buffer.toString('utf8')) as T;
}
