import { Readable } from 'node:stream';
import { RegistryError } from '../classes.registryerror.js';
import type { IStorageOperationContext, RegistryStorage } from '../classes.registrystorage.js';
import { streamToBuffer } from '../helpers.stream.js';
import { failingAsUnreachable } from '../storage/helpers.unreachable.js';

/** What a reader needs to know of a stored object: every read checks the etag, so a replaced object is noticed. */
export interface IStoredObjectFacts {
  size: number;
  etag: string;
}

/**
 * Byte ranges of one stored object, read on demand: only the bytes asked for leave storage. Every
 * read must see the version that was opened, so an overwrite in between cannot mix two archives.
 */

export class StoredObjectReader {
  private constructor(
    private readonly storage: RegistryStorage,
    private readonly key: string,
    private readonly ctx: IStorageOperationContext,
    readonly size: number,
    private readonly etag: string,
  ) {}

  /** `stored`: the object's size and etag when the caller has them (it just stored the object), saving a stat. */
  static async open(storage: RegistryStorage, key: string, ctx: IStorageOperationContext, stored?: IStoredObjectFacts): Promise<StoredObjectReader> {
    const info = stored ?? (await storage.stat(key));
    if (!info) throw RegistryError.notFound('archive not found');
    return new StoredObjectReader(storage, key, ctx, info.size, info.etag);
  }

  /** `length` bytes from `start` as a stream. */
  async stream(start: number, length: number): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    const end = start + length - 1;
    if (start < 0 || end >= this.size) {
      throw RegistryError.invalid(`archive read of bytes ${start}-${end} is past its end (${this.size} bytes)`);
    }
    // A read to the end is sent open-ended; besides, some S3 servers take `bytes=0-0` for the whole object.
    const result = await this.storage.getObject(this.key, this.ctx, end === this.size - 1 ? { start } : { start, end });
    if (!result) throw RegistryError.conflict('the archive was deleted while it was read');
    if (result.info.etag !== this.etag) {
      result.stream.destroy();
      throw RegistryError.conflict('the archive was overwritten while it was read');
    }
    return failingAsUnreachable(result.stream);
  }

  /** `length` bytes from `start`, in memory: for headers and directories, never for member data. */
  async bytes(start: number, length: number): Promise<Buffer> {
    const bytes = await streamToBuffer(await this.stream(start, length), length);
    if (bytes.length !== length) throw new Error(`storage returned ${bytes.length} of ${length} requested bytes`);
    return bytes;
  }
}
