import { BoundedCache } from './classes.boundedcache.js';
import type { RegistryStorage } from './classes.registrystorage.js';

/** A stored document as last read: its etag, when it was written, and its parsed value (shared, read-only). */
export interface IStoredDocument<T> {
  etag: string;
  lastModified: Date;
  value: T;
}

interface ICachedDocument<T> extends IStoredDocument<T> {
  bytes: number;
}

export interface IStoredDocumentCacheOptions<T> {
  parse(bytes: Buffer): T;
  /** Bytes of parsed documents kept (counted as twice their stored size). */
  maxBytes: number;
  maxEntries?: number;
}

/**
 * Small stored documents (metadata, truth documents) parsed once per stored version: a read costs a
 * stat while the stored etag is the one parsed before, a read and a parse once it changed. Storage
 * stays the truth: another instance's write shows on the next read.
 */
export class StoredDocumentCache<T> {
  private readonly cache: BoundedCache<ICachedDocument<T>>;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly options: IStoredDocumentCacheOptions<T>,
  ) {
    this.cache = new BoundedCache<ICachedDocument<T>>({
      maxEntries: options.maxEntries ?? 10_000,
      maxBytes: options.maxBytes,
      sizeOf: (document) => document.bytes,
    });
  }

  /** The document stored at `key` now, or null. */
  async get(key: string): Promise<IStoredDocument<T> | null> {
    const info = await this.storage.stat(key);
    if (!info) {
      this.cache.delete(key);
      return null;
    }
    const cached = this.cache.get(key);
    if (cached && cached.etag === info.etag) return cached;
    const stored = await this.storage.getBytes(key);
    if (!stored) {
      this.cache.delete(key);
      return null;
    }
    const document: ICachedDocument<T> = {
      etag: stored.etag,
      lastModified: info.lastModified,
      value: this.options.parse(stored.bytes),
      bytes: stored.bytes.length * 2,
    };
    this.cache.set(key, document);
    return document;
  }
}
