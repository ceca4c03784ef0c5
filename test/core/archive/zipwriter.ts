/**
 * A test-only zip writer (APPNOTE.TXT 4.3) that can also write what a hostile or unusual archive
 * holds: ZIP64 records for small archives, streamed members with data descriptors, sizes and CRCs
 * that lie, local names that differ from central ones, an archive comment.
 */
import * as zlib from 'node:zlib';
import { Readable } from 'node:stream';

export interface ITestZipEntry {
  name: string;
  /** Bytes, or a source streamed as a stored member with a data descriptor (never held whole). */
  data: Buffer | (() => AsyncIterable<Buffer>);
  method?: 'stored' | 'deflate';
  /** What the central directory claims the member inflates to (a zip bomb lies here). */
  declaredSize?: number;
  declaredCrc32?: number;
  /** The name in the local header, when it should differ from the central one. */
  localName?: string;
  /** Compression method number written, overriding `method` (e.g. 12 for bzip2). */
  methodNumber?: number;
  encrypted?: boolean;
}

export interface ITestZipOptions {
  /** Write ZIP64 fields and records even though nothing needs them. */
  zip64?: boolean;
  comment?: Buffer;
}

const u16 = (value: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(value); return b; };
const u32 = (value: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(value); return b; };
const u64 = (value: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(value)); return b; };
const MARK32 = 0xffffffff;
const DOS_DATE_1980 = 0x21;

const zip64Extra = (values: number[]) => Buffer.concat([u16(0x0001), u16(values.length * 8), ...values.map(u64)]);

export async function* zipChunks(entries: ITestZipEntry[], options: ITestZipOptions = {}): AsyncGenerator<Buffer> {
  const zip64 = options.zip64 ?? false;
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const streamed = typeof entry.data === 'function';
    const method = entry.methodNumber ?? (entry.method === 'deflate' ? 8 : 0);
    const flags = 0x0800 | (streamed ? 0x0008 : 0) | (entry.encrypted ? 0x0001 : 0);
    const name = Buffer.from(entry.name, 'utf8');
    const localName = Buffer.from(entry.localName ?? entry.name, 'utf8');
    const version = zip64 ? 45 : 20;
    const localOffset = offset;

    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    let payload: Buffer | undefined;
    if (!streamed) {
      const data = entry.data as Buffer;
      payload = method === 8 ? zlib.deflateRawSync(data) : data;
      crc = zlib.crc32(data);
      size = data.length;
      compressedSize = payload.length;
    }
    const localExtra = zip64 ? zip64Extra([size, compressedSize]) : Buffer.alloc(0);
    const localHeader = Buffer.concat([
      u32(0x04034b50), u16(version), u16(flags), u16(method), u16(0), u16(DOS_DATE_1980),
      u32(crc), u32(zip64 ? MARK32 : compressedSize), u32(zip64 ? MARK32 : size),
      u16(localName.length), u16(localExtra.length), localName, localExtra,
    ]);
    yield localHeader;
    offset += localHeader.length;
    if (payload) {
      yield payload;
      offset += payload.length;
    } else {
      for await (const chunk of (entry.data as () => AsyncIterable<Buffer>)()) {
        crc = zlib.crc32(chunk, crc);
        size += chunk.length;
        offset += chunk.length;
        yield chunk;
      }
      compressedSize = size;
      const descriptor = Buffer.concat([
        u32(0x08074b50), u32(crc),
        ...(zip64 ? [u64(compressedSize), u64(size)] : [u32(compressedSize), u32(size)]),
      ]);
      yield descriptor;
      offset += descriptor.length;
    }

    const declaredSize = entry.declaredSize ?? size;
    const centralExtra = zip64 ? zip64Extra([declaredSize, compressedSize, localOffset]) : Buffer.alloc(0);
    central.push(Buffer.concat([
      u32(0x02014b50), u16(version), u16(version), u16(flags), u16(method), u16(0), u16(DOS_DATE_1980),
      u32(entry.declaredCrc32 ?? crc),
      u32(zip64 ? MARK32 : compressedSize), u32(zip64 ? MARK32 : declaredSize),
      u16(name.length), u16(centralExtra.length), u16(0), u16(0), u16(0), u32(0),
      u32(zip64 ? MARK32 : localOffset), name, centralExtra,
    ]));
  }

  const directory = Buffer.concat(central);
  const directoryOffset = offset;
  yield directory;
  offset += directory.length;
  if (zip64) {
    const zip64RecordOffset = offset;
    yield Buffer.concat([
      u32(0x06064b50), u64(ZIP64_RECORD_REST), u16(45), u16(45), u32(0), u32(0),
      u64(entries.length), u64(entries.length), u64(directory.length), u64(directoryOffset),
    ]);
    yield Buffer.concat([u32(0x07064b50), u32(0), u64(zip64RecordOffset), u32(1)]);
  }
  const comment = options.comment ?? Buffer.alloc(0);
  yield Buffer.concat([
    u32(0x06054b50), u16(0), u16(0),
    u16(zip64 ? 0xffff : entries.length), u16(zip64 ? 0xffff : entries.length),
    u32(zip64 ? MARK32 : directory.length), u32(zip64 ? MARK32 : directoryOffset),
    u16(comment.length), comment,
  ]);
}

/** Bytes of the ZIP64 end record after its signature and this size field. */
const ZIP64_RECORD_REST = 44;

export const zipStream = (entries: ITestZipEntry[], options?: ITestZipOptions) =>
  Readable.from(zipChunks(entries, options), { objectMode: false });

export async function zipBuffer(entries: ITestZipEntry[], options?: ITestZipOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of zipChunks(entries, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
