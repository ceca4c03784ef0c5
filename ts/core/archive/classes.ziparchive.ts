import * as zlib from 'node:zlib';
import { Readable, Writable } from 'node:stream';
import { RegistryError } from '../classes.registryerror.js';
import { pipeStreams, pipeStreamsAsync } from '../helpers.pipe.js';
import type { IStorageOperationContext, RegistryStorage } from '../classes.registrystorage.js';
import { StoredObjectReader, type IStoredObjectFacts } from './classes.storedobjectreader.js';
import { StreamTail } from './classes.streamtail.js';
import { isZlibError } from './helpers.compression.js';
import {
  EOCD_BYTES,
  MAX_EOCD_SEARCH_BYTES,
  ZIP64_EOCD_BYTES,
  ZIP64_LOCATOR_BYTES,
  ZIP_METHOD_DEFLATE,
  ZIP_METHOD_STORED,
  findEndOfCentralDirectory,
  localHeaderProbeBytes,
  parseCentralDirectory,
  parseEndOfCentralDirectory,
  parseLocalHeader,
  parseZip64EndOfCentralDirectory,
  parseZip64Locator,
  type IZipDirectoryLocation,
  type IZipEntry,
} from './helpers.zipformat.js';

export type { IZipEntry } from './helpers.zipformat.js';

export interface IZipLimits {
  /** Largest central directory accepted; it is held in memory while its entries are parsed. */
  maxDirectoryBytes: number;
  /** Most entries accepted. */
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: IZipLimits = {
  maxDirectoryBytes: 8 * 1024 * 1024,
  maxEntries: 100_000,
};

/** The first read at the end: the end record and, for most packages, the whole directory with it. */
const FIRST_TAIL_BYTES = 8 * 1024;
/**
 * Members in memory up to this size are inflated in one call instead of a stream: for a wheel's METADATA or a
 * composer.json the stream cost about 0.5 ms of CPU and a trip to the thread pool, the call some 10-30 µs; and
 * the bound keeps the call from blocking the event loop for more than a few milliseconds.
 */
const ONE_CALL_INFLATE_BYTES = 1024 * 1024;
/** What a tail keeper holds of an upload: the end record past the longest comment, and most small packages whole. */
const KEPT_TAIL_BYTES = 64 * 1024;

/** What a caller knows of a zip it has just stored (see `ZipArchive.open`). */
export interface IJustStoredZip extends IStoredObjectFacts {
  /** The object's last bytes as they were stored (`ZipArchive.tailKeeper()`). */
  tail?: Buffer;
}

const invalid = (message: string) => RegistryError.invalid(`not a readable zip archive: ${message}`);

/**
 * A zip archive in storage, read by its central directory with ranged reads: opening it reads the
 * end of the archive and the directory, reading a member reads that member's bytes. Memory is
 * bounded by the directory (capped) and the member asked for (capped by the caller), never by the
 * archive, so a 1 GiB wheel costs a few KiB. Stored and deflated members, ZIP64.
 */
export class ZipArchive {
  private readonly byName: Map<string, IZipEntry>;

  private constructor(
    private readonly reader: TArchiveReader,
    /** The end of the archive, read when it was opened: for a small archive all of it, members too. */
    private readonly tail: { bytes: Buffer; start: number },
    /** Every entry, in directory order. */
    readonly entries: readonly IZipEntry[],
    /** Member data ends before the directory starts. */
    private readonly directoryOffset: number,
  ) {
    this.byName = new Map(entries.map((entry) => [entry.name, entry]));
  }

  /**
   * Reads the directory of the zip stored at `key`: 'not-found' when there is none, 'invalid' when it
   * is no zip (or has unsafe or duplicate member names), 'too-large' past the limits. `stored`: what the
   * caller knows of the object because it just stored it: size and etag (no stat then) and the tail its
   * `ZipArchive.tailKeeper()` kept (no read of the end then; for a small archive, no read at all).
   */
  static async open(
    storage: RegistryStorage,
    key: string,
    ctx: IStorageOperationContext,
    limits: Partial<IZipLimits> = {},
    stored?: IJustStoredZip,
  ): Promise<ZipArchive> {
    return ZipArchive.read(await StoredObjectReader.open(storage, key, ctx, stored), stored?.tail, limits);
  }

  /**
   * A zip held whole in memory: a small upload's kept tail, read while storage still commits the upload (the
   * document that lists it can be made meanwhile). Nothing is read from storage.
   */
  static fromBytes(bytes: Buffer, limits: Partial<IZipLimits> = {}): Promise<ZipArchive> {
    return ZipArchive.read(bytesReader(bytes), bytes, limits);
  }

  private static async read(reader: TArchiveReader, kept: Buffer | undefined, limits: Partial<IZipLimits>): Promise<ZipArchive> {
    const { maxDirectoryBytes, maxEntries } = { ...DEFAULT_ZIP_LIMITS, ...limits };
    const { tail, tailStart, endRecordOffset } = await readTail(reader, kept);
    const readAt = (offset: number, length: number) => bytesAt(reader, { bytes: tail, start: tailStart }, offset, length);

    const end = parseEndOfCentralDirectory(tail.subarray(endRecordOffset - tailStart, endRecordOffset - tailStart + EOCD_BYTES));
    let location: IZipDirectoryLocation = end;
    let directoryLimit = endRecordOffset;
    const locatorOffset = endRecordOffset - ZIP64_LOCATOR_BYTES;
    const zip64RecordOffset = locatorOffset >= 0 ? parseZip64Locator(await readAt(locatorOffset, ZIP64_LOCATOR_BYTES)) : undefined;
    if (zip64RecordOffset !== undefined) {
      if (zip64RecordOffset + ZIP64_EOCD_BYTES > locatorOffset) throw invalid('the ZIP64 locator points past itself');
      location = parseZip64EndOfCentralDirectory(await readAt(zip64RecordOffset, ZIP64_EOCD_BYTES));
      directoryLimit = zip64RecordOffset;
    } else if (end.usesZip64Marks) {
      throw invalid('the end record points to a ZIP64 record that is missing');
    } else if (end.splitAcrossDisks) {
      throw invalid('archives split across disks are not supported');
    }

    if (location.entryCount > maxEntries) {
      throw RegistryError.tooLarge(`zip archive has ${location.entryCount} entries, over the limit of ${maxEntries}`);
    }
    if (location.size > maxDirectoryBytes) {
      throw RegistryError.tooLarge(`zip central directory has ${location.size} bytes, over the limit of ${maxDirectoryBytes}`);
    }
    if (location.offset + location.size > directoryLimit) throw invalid('the central directory runs past its end record');
    const entries = parseCentralDirectory(await readAt(location.offset, location.size), location.entryCount);
    return new ZipArchive(reader, { bytes: tail, start: tailStart }, entries, location.offset);
  }

  /**
   * Put between an upload and its storage: keeps the end of the zip for `open` (its `tail`). Given the upload,
   * it reads it (an upload that fails destroys the keeper, so whoever reads the keeper sees the failure).
   */
  static tailKeeper(upload?: Readable): StreamTail {
    const keeper = new StreamTail(KEPT_TAIL_BYTES);
    if (upload) pipeStreams([upload, keeper], () => undefined);
    return keeper;
  }

  /** The first entry, in directory order, that `predicate` accepts. */
  findMember(predicate: (entry: IZipEntry) => boolean): IZipEntry | undefined {
    return this.entries.find(predicate);
  }

  /**
   * A member's bytes, checked against its size and CRC-32. 'not-found' for an unknown name,
   * 'too-large' when it holds more than `maxBytes`, 'invalid' when its data is not what its
   * directory entry says (a zip bomb that lies about its size ends here), 'unsupported' for
   * encryption or a method other than stored and deflate.
   */
  async readMember(member: string | IZipEntry, maxBytes: number): Promise<Buffer> {
    const entry = typeof member === 'string' ? this.byName.get(member) : member;
    if (!entry) throw RegistryError.notFound(`archive has no member ${JSON.stringify(member)}`);
    const what = `archive member ${JSON.stringify(entry.name)}`;
    if (entry.isDirectory) throw RegistryError.invalid(`${what} is a directory`);
    if (entry.encrypted) throw new RegistryError('unsupported', `${what} is encrypted`);
    if (entry.method !== ZIP_METHOD_STORED && entry.method !== ZIP_METHOD_DEFLATE) {
      throw new RegistryError('unsupported', `${what} uses compression method ${entry.method}; only stored and deflate are read`);
    }
    if (entry.uncompressedSize > maxBytes) {
      throw RegistryError.tooLarge(`${what} has ${entry.uncompressedSize} bytes, over the limit of ${maxBytes}`);
    }
    if (entry.method === ZIP_METHOD_STORED && entry.compressedSize !== entry.uncompressedSize) {
      throw invalid(`${what} is stored but its sizes differ`);
    }

    const probeLength = localHeaderProbeBytes(entry);
    if (entry.localHeaderOffset + probeLength > this.directoryOffset) throw invalid(`${what} starts past the member data`);
    const dataStart = entry.localHeaderOffset + parseLocalHeader(await bytesAt(this.reader, this.tail, entry.localHeaderOffset, probeLength), entry);
    if (dataStart + entry.compressedSize > this.directoryOffset) throw invalid(`${what} runs into the central directory`);

    if (dataStart >= this.tail.start && entry.uncompressedSize <= ONE_CALL_INFLATE_BYTES) return checkedMember(inflateInOneCall(inTail(this.tail, dataStart, entry.compressedSize), entry, what), entry, what);
    const source = dataStart >= this.tail.start ? Readable.from([inTail(this.tail, dataStart, entry.compressedSize)], { objectMode: false }) : await this.reader.stream(dataStart, entry.compressedSize);
    const collector = new DeclaredSizeCollector(entry.uncompressedSize, what);
    try {
      if (entry.method === ZIP_METHOD_DEFLATE) await pipeStreamsAsync(source, zlib.createInflateRaw(), collector);
      else await pipeStreamsAsync(source, collector);
    } catch (error) {
      if (isZlibError(error)) throw invalid(`${what} is not valid deflate data (${error.message})`);
      throw error;
    }
    return checkedMember(collector.data(), entry, what);
  }
}

/** A member's data as its directory entry declares it, CRC-32 included. */
function checkedMember(data: Buffer, entry: IZipEntry, what: string): Buffer {
  if (data.length !== entry.uncompressedSize) throw invalid(`${what} holds ${data.length} bytes, its directory entry declares ${entry.uncompressedSize}`);
  if (zlib.crc32(data) !== entry.crc32) throw invalid(`${what} fails its CRC-32 check`);
  return data;
}

/**
 * A member whose data is in memory, inflated in one synchronous call that stops past its declared size (a copy when
 * stored: the kept tail it lies in is not held by it).
 */
function inflateInOneCall(data: Buffer, entry: IZipEntry, what: string): Buffer {
  if (entry.method === ZIP_METHOD_STORED) return Buffer.from(data);
  try {
    return zlib.inflateRawSync(data, { maxOutputLength: entry.uncompressedSize + 1 });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw invalid(`${what} holds more than the ${entry.uncompressedSize} bytes its directory entry declares`);
    if (isZlibError(error)) throw invalid(`${what} is not valid deflate data (${error.message})`);
    throw error;
  }
}

/** Where an archive's bytes come from: storage (StoredObjectReader) or memory (bytesReader). */
type TArchiveReader = Pick<StoredObjectReader, 'size' | 'bytes' | 'stream'>;

/** Reads of bytes in memory, past their end refused as a stored object's are. */
function bytesReader(bytes: Buffer): TArchiveReader {
  const slice = (start: number, length: number) => {
    if (start < 0 || start + length > bytes.length) throw invalid(`a read of bytes ${start}-${start + length - 1} is past its end (${bytes.length} bytes)`);
    return bytes.subarray(start, start + length);
  };
  return {
    size: bytes.length,
    bytes: async (start, length) => slice(start, length),
    stream: async (start, length) => Readable.from([slice(start, length)], { objectMode: false }),
  };
}

const inTail = (tail: { bytes: Buffer; start: number }, offset: number, length: number) => tail.bytes.subarray(offset - tail.start, offset - tail.start + length);

/** Bytes inside the tail already read cost nothing; anything before it is one ranged read. */
async function bytesAt(reader: TArchiveReader, tail: { bytes: Buffer; start: number }, offset: number, length: number): Promise<Buffer> {
  return offset >= tail.start ? inTail(tail, offset, length) : reader.bytes(offset, length);
}

/**
 * The end of the archive holding the end record: the tail kept while it was stored when it holds the record,
 * else a short read first, the longest comment's worth if needed.
 */
async function readTail(reader: TArchiveReader, kept?: Buffer) {
  if (reader.size < EOCD_BYTES) throw invalid(`${reader.size} bytes is too short`);
  if (kept && kept.length <= reader.size) {
    const tailStart = reader.size - kept.length;
    const found = findEndOfCentralDirectory(kept);
    if (found >= 0) return { tail: kept, tailStart, endRecordOffset: tailStart + found };
  }
  for (const wanted of [FIRST_TAIL_BYTES, MAX_EOCD_SEARCH_BYTES]) {
    const length = Math.min(reader.size, wanted);
    const tailStart = reader.size - length;
    const tail = await reader.bytes(tailStart, length);
    const found = findEndOfCentralDirectory(tail);
    if (found >= 0) return { tail, tailStart, endRecordOffset: tailStart + found };
    if (length === reader.size) break;
  }
  throw invalid('no end-of-central-directory record');
}

/** Collects a member, failing as soon as it holds more than its directory entry declares. */
class DeclaredSizeCollector extends Writable {
  private readonly parts: Buffer[] = [];
  private total = 0;

  constructor(
    private readonly declared: number,
    private readonly what: string,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void): void {
    this.total += chunk.length;
    if (this.total > this.declared) {
      callback(invalid(`${this.what} holds more than the ${this.declared} bytes its directory entry declares`));
      return;
    }
    this.parts.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error) => void): void {
    if (this.total === this.declared) callback();
    else callback(invalid(`${this.what} holds ${this.total} bytes, its directory entry declares ${this.declared}`));
  }

  data(): Buffer {
    return Buffer.concat(this.parts, this.total);
  }
}
