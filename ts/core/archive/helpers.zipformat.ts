/**
 * The zip records a reader needs, parsed from bytes (no I/O): the end-of-central-directory record,
 * its ZIP64 locator and record, central-directory entries and local headers (APPNOTE.TXT 4.3).
 * Every number is little-endian; every malformed record is an 'invalid' RegistryError.
 */
import { RegistryError } from '../classes.registryerror.js';
import { assertSafeMemberName } from './helpers.archivenames.js';

export const EOCD_BYTES = 22;
/** The record plus the longest comment it may carry: where a reader has to look for it. */
export const MAX_EOCD_SEARCH_BYTES = EOCD_BYTES + 0xffff;
export const ZIP64_LOCATOR_BYTES = 20;
export const ZIP64_EOCD_BYTES = 56;
export const LOCAL_HEADER_BYTES = 30;

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_HEADER_BYTES = 46;
const ZIP64_EXTRA_ID = 0x0001;
/** A 32-bit field holding this (16-bit: 0xffff) means "see the ZIP64 field". */
const ZIP64_MARK_32 = 0xffffffff;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;

export const ZIP_METHOD_STORED = 0;
export const ZIP_METHOD_DEFLATE = 8;

export interface IZipEntry {
  /** `/`-separated; checked against zip-slip. A trailing `/` marks a directory. */
  name: string;
  isDirectory: boolean;
  /** 0 stored, 8 deflate; others are listed but cannot be read. */
  method: number;
  encrypted: boolean;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  /** Where the member's local header starts. */
  localHeaderOffset: number;
}

/** Where the central directory is and how many entries it claims. */
export interface IZipDirectoryLocation {
  entryCount: number;
  size: number;
  offset: number;
}

export interface IEndOfCentralDirectory extends IZipDirectoryLocation {
  /** True when a field holds its "see ZIP64" mark. */
  usesZip64Marks: boolean;
  splitAcrossDisks: boolean;
}

const invalid = (message: string) => RegistryError.invalid(`not a readable zip archive: ${message}`);

function readUInt64(bytes: Buffer, position: number, what: string): number {
  const value = bytes.readBigUInt64LE(position);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} ${value} is out of range`);
  return Number(value);
}

/**
 * Offset of the end-of-central-directory record in `tail` (the last bytes of the archive), or -1.
 * Searches backwards and takes the first record whose comment ends exactly at the end, so a
 * signature inside a comment is not mistaken for the record.
 */
export function findEndOfCentralDirectory(tail: Buffer): number {
  for (let position = tail.length - EOCD_BYTES; position >= 0; position--) {
    if (tail.readUInt32LE(position) !== EOCD_SIGNATURE) continue;
    if (tail.readUInt16LE(position + 20) === tail.length - position - EOCD_BYTES) return position;
  }
  return -1;
}

export function parseEndOfCentralDirectory(record: Buffer): IEndOfCentralDirectory {
  const disk = record.readUInt16LE(4);
  const directoryDisk = record.readUInt16LE(6);
  const entriesOnDisk = record.readUInt16LE(8);
  const entryCount = record.readUInt16LE(10);
  const size = record.readUInt32LE(12);
  const offset = record.readUInt32LE(16);
  return {
    entryCount,
    size,
    offset,
    usesZip64Marks: entryCount === 0xffff || size === ZIP64_MARK_32 || offset === ZIP64_MARK_32,
    splitAcrossDisks: disk !== directoryDisk || entriesOnDisk !== entryCount,
  };
}

/** The ZIP64 record's offset, when `bytes` (the 20 bytes before the EOCD record) are a ZIP64 locator. */
export function parseZip64Locator(bytes: Buffer): number | undefined {
  if (bytes.length < ZIP64_LOCATOR_BYTES || bytes.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) return undefined;
  if (bytes.readUInt32LE(16) > 1) throw invalid('archives split across disks are not supported');
  return readUInt64(bytes, 8, 'ZIP64 record offset');
}

export function parseZip64EndOfCentralDirectory(record: Buffer): IZipDirectoryLocation {
  if (record.length < ZIP64_EOCD_BYTES || record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) {
    throw invalid('the ZIP64 end-of-central-directory record is missing');
  }
  const entriesOnDisk = readUInt64(record, 24, 'entry count');
  const entryCount = readUInt64(record, 32, 'entry count');
  if (record.readUInt32LE(16) !== record.readUInt32LE(20) || entriesOnDisk !== entryCount) {
    throw invalid('archives split across disks are not supported');
  }
  return {
    entryCount,
    size: readUInt64(record, 40, 'central directory size'),
    offset: readUInt64(record, 48, 'central directory offset'),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalid(`an entry name is not UTF-8 (${bytes.toString('hex')})`);
  }
}

/** The 32-bit fields marked 0xffffffff, read from the ZIP64 extra field in the order the format fixes. */
function applyZip64Extra(extra: Buffer, entry: IZipEntry, offsetMarked: boolean): void {
  const sizesMarked = [entry.uncompressedSize === ZIP64_MARK_32, entry.compressedSize === ZIP64_MARK_32];
  if (!sizesMarked[0] && !sizesMarked[1] && !offsetMarked) return;
  for (let position = 0; position + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(position);
    const length = extra.readUInt16LE(position + 2);
    const data = extra.subarray(position + 4, position + 4 + length);
    position += 4 + length;
    if (id !== ZIP64_EXTRA_ID) continue;
    let cursor = 0;
    const next = (what: string) => {
      if (cursor + 8 > data.length) throw invalid(`the ZIP64 field of ${JSON.stringify(entry.name)} is too short`);
      const value = readUInt64(data, cursor, what);
      cursor += 8;
      return value;
    };
    if (sizesMarked[0]) entry.uncompressedSize = next('uncompressed size');
    if (sizesMarked[1]) entry.compressedSize = next('compressed size');
    if (offsetMarked) entry.localHeaderOffset = next('local header offset');
    return;
  }
  throw invalid(`${JSON.stringify(entry.name)} has 32-bit fields marked ZIP64 but no ZIP64 field`);
}

/**
 * Every entry of a central directory. Names are checked against zip-slip and must be unique, so a
 * member name means one member to every reader.
 */
export function parseCentralDirectory(directory: Buffer, entryCount: number): IZipEntry[] {
  const entries: IZipEntry[] = [];
  const names = new Set<string>();
  let position = 0;
  for (let index = 0; index < entryCount; index++) {
    if (position + CENTRAL_HEADER_BYTES > directory.length || directory.readUInt32LE(position) !== CENTRAL_HEADER_SIGNATURE) {
      throw invalid(`central directory entry ${index + 1} of ${entryCount} is missing`);
    }
    const flags = directory.readUInt16LE(position + 8);
    const nameLength = directory.readUInt16LE(position + 28);
    const extraLength = directory.readUInt16LE(position + 30);
    const commentLength = directory.readUInt16LE(position + 32);
    const nameStart = position + CENTRAL_HEADER_BYTES;
    const extraStart = nameStart + nameLength;
    const end = extraStart + extraLength + commentLength;
    if (end > directory.length) throw invalid(`central directory entry ${index + 1} runs past the directory`);
    const name = decodeName(directory.subarray(nameStart, extraStart));
    assertSafeMemberName(name);
    if (names.has(name)) throw invalid(`${JSON.stringify(name)} appears twice`);
    names.add(name);
    const localHeaderOffset = directory.readUInt32LE(position + 42);
    const entry: IZipEntry = {
      name,
      isDirectory: name.endsWith('/'),
      method: directory.readUInt16LE(position + 10),
      encrypted: (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0,
      crc32: directory.readUInt32LE(position + 16),
      compressedSize: directory.readUInt32LE(position + 20),
      uncompressedSize: directory.readUInt32LE(position + 24),
      localHeaderOffset,
    };
    applyZip64Extra(directory.subarray(extraStart, extraStart + extraLength), entry, localHeaderOffset === ZIP64_MARK_32);
    entries.push(entry);
    position = end;
  }
  return entries;
}

/** Bytes to read at a member's local header to check it: the fixed part and the name it must repeat. */
export const localHeaderProbeBytes = (entry: IZipEntry) => LOCAL_HEADER_BYTES + Buffer.byteLength(entry.name, 'utf8');

/**
 * Length of a member's local header with its name and extra field (where its data starts), from the
 * `localHeaderProbeBytes` read at its offset. The local name must be the central one: a zip whose
 * two disagree shows different files to different tools.
 */
export function parseLocalHeader(probe: Buffer, entry: IZipEntry): number {
  if (probe.length < LOCAL_HEADER_BYTES || probe.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) {
    throw invalid(`the local header of ${JSON.stringify(entry.name)} is missing`);
  }
  const nameLength = probe.readUInt16LE(26);
  const extraLength = probe.readUInt16LE(28);
  const localName = probe.subarray(LOCAL_HEADER_BYTES, LOCAL_HEADER_BYTES + nameLength);
  if (!localName.equals(Buffer.from(entry.name, 'utf8'))) {
    throw invalid(`the local header of ${JSON.stringify(entry.name)} names another file`);
  }
  return LOCAL_HEADER_BYTES + nameLength + extraLength;
}
