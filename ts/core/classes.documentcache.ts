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

  /**
   * What `read` would answer without asking storage (the recent stat is known and the document kept at its
   * etag; null: none stored), or undefined when it must ask. Hot reads take it first: an `await` of a value
   * already known costs a promise and a turn of the microtask queue.
   */
  known<T>(key: string): ICachedDocument<T> | null | undefined {
    const info = this.storage.knownRecentStat(key);
    if (info === undefined) return undefined;
    if (!info) {
      this.cache.delete(key);
      return null;
    }
    const kept = this.cache.get(key);
    return kept && kept.etag === info.etag ? (kept as ICachedDocument<T>) : undefined;
  }

  /** The document at `key` as stored now (null: none), parsed by `parse` (default JSON) when it changed; damaged bytes throw `corrupt`. */
  async read<T>(key: string, parse?: (bytes: Buffer) => T): Promise<ICachedDocument<T> | null> {
    const known = this.known<T>(key);
    if (known !== undefined) return known;
    const info = await this.storage.statRecent(key);
    if (!info) {
      this.cache.delete(key);
      return null;
    }
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
