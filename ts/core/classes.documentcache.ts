import { BoundedCache } from './classes.boundedcache.js';
import type { RegistryStorage } from './classes.registrystorage.js';
import { parseStored, parseStoredJson } from './helpers.storeddocument.js';

/** A stored document as last read: its etag, when it was written, and its parsed value. */
export interface ICachedDocument<T> {
  etag: string;
  lastModified: Date;
  value: T;
}

export interface IDocumentCacheOptions {
  maxEntries: number;
}

/** Larger documents are read each time rather than kept (each counts twice its stored size, for the parsed copy). */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * Stored documents kept parsed between requests, validated by a recent `stat` on every read
 * (`RegistryStorage.statRecent`): a document another instance changed is read again once the
 * validation window has passed, so the cache is never the truth. Concurrent reads of the same
 * changed document share one read.
 */
export class DocumentCache {
  private readonly cache: BoundedCache<ICachedDocument<unknown> & { bytes: number }>;

  constructor(
    private readonly storage: RegistryStorage,
    options: IDocumentCacheOptions,
  ) {
    this.cache = new BoundedCache({ maxEntries: options.maxEntries, maxEntryBytes: MAX_DOCUMENT_BYTES, budget: storage.cacheBudget, sizeOf: (document) => document.bytes });
  }

  /** The document at `key` as stored now (null: none), parsed by `parse` (default JSON) when it changed; damaged bytes throw `corrupt`. */
  async read<T>(key: string, parse?: (bytes: Buffer) => T): Promise<ICachedDocument<T> | null> {
    const known = this.storage.knownRecentStat(key);
    const info = known === undefined ? await this.storage.statRecent(key) : known;
    if (!info) {
      this.cache.delete(key);
      return null;
    }
    // The usual case, without the loader's closures and the shared-load machinery.
    const kept = this.cache.get(key);
    if (kept && kept.etag === info.etag) return kept as ICachedDocument<T>;
    const document = await this.cache.getOrLoad(
      key,
      async () => {
        const stored = await this.storage.getBytes(key);
        if (!stored) return undefined;
        return { etag: stored.etag, lastModified: info.lastModified, value: parse ? parseStored(key, stored.bytes, parse) : parseStoredJson<T>(key, stored.bytes), bytes: stored.bytes.length * 2 };
      },
      { isCurrent: (cached) => cached.etag === info.etag },
    );
    return document ? (document as ICachedDocument<T>) : null;
  }
}
