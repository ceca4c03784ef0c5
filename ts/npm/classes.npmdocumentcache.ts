import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { BoundedCache } from '../core/classes.boundedcache.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { parseStoredJson } from '../core/helpers.storeddocument.js';
import { spliceBaseUrl } from './helpers.npm.js';
import type { INpmPackument } from './interfaces.npm.js';

/** A stored document as served: bytes with absolute tarball URLs, and the storage etag they came from. */
export interface IServedDocument {
  etag: string;
  bytes: Buffer;
  lastModified: Date;
}

const gzip = promisify(zlib.gzip);

interface ICacheEntry extends IServedDocument {
  key: string;
  baseUrl: string;
  /** The bytes gzip-compressed, made on the first request that accepts gzip. */
  gzipped?: Promise<Buffer>;
  /** Bytes of the compressed copy, once it is counted in the cache's size. */
  gzipSize?: number;
  /** The stored document parsed, made on first need (version and dist-tag reads), never per request. */
  parsed?: unknown;
}

/** Most documents kept whatever their size; the byte budget is the bound that matters. */
const MAX_DOCUMENTS = 100_000;

/**
 * Ready-to-serve packuments. Storage is the truth: every lookup stats the object (a recent stat,
 * `RegistryStorage.statRecent`) and uses the cached bytes only when the etag is still the same, so a
 * write by this instance is seen on the next request, one by another instance within the validation window.
 * What it saves is reading, splicing and (for version reads) parsing the document again. Concurrent
 * misses for one document share one read. Bounded by bytes, least recently used first out.
 */
export class NpmDocumentCache {
  private readonly entries: BoundedCache<ICacheEntry>;

  constructor(
    private readonly storage: RegistryStorage,
    maxBytes?: number,
  ) {
    this.entries = new BoundedCache<ICacheEntry>({
      maxEntries: MAX_DOCUMENTS,
      maxBytes,
      maxEntryBytes: (maxBytes ?? storage.cacheBudget.maxBytes) / 4,
      budget: storage.cacheBudget,
      sizeOf: (entry) => entry.bytes.length + (entry.gzipSize ?? 0),
    });
  }

  /** The document at `key` with tarball URLs below `baseUrl`; null when it does not exist. */
  get(key: string, baseUrl: string, freshness: TFreshness = 'recent'): Promise<IServedDocument | null> {
    return this.entry(key, baseUrl, freshness);
  }

  /**
   * The document parsed, with absolute tarball URLs below `baseUrl`; read-only (it is shared).
   * Parsed once per stored version of the document, not per request.
   */
  async getParsed<T = INpmPackument>(key: string, baseUrl: string, freshness: TFreshness = 'recent'): Promise<{ etag: string; value: T } | null> {
    const entry = await this.entry(key, baseUrl, freshness);
    if (!entry) return null;
    entry.parsed ??= parseStoredJson(key, entry.bytes);
    return { etag: entry.etag, value: entry.parsed as T };
  }

  /**
   * The document gzip-compressed (npm sends `Accept-Encoding: gzip,deflate`): compressed once per
   * stored version of the document, off the event loop, and kept with it.
   */
  compressed(document: IServedDocument): Promise<Buffer> {
    const entry = document as ICacheEntry;
    if (entry.gzipped) return entry.gzipped;
    const compressing = gzip(document.bytes);
    const cacheKey = entry.key === undefined ? undefined : cacheKeyOf(entry.key, entry.baseUrl);
    if (cacheKey !== undefined && this.entries.get(cacheKey) === entry) {
      entry.gzipped = compressing;
      void compressing.then(
        (bytes) => {
          if (this.entries.get(cacheKey) !== entry) return;
          entry.gzipSize = bytes.length;
          // Counted again with the compressed copy (or dropped, if the two no longer fit).
          this.entries.set(cacheKey, entry);
        },
        () => (entry.gzipped = undefined),
      );
    }
    return compressing;
  }

  /** Forget a document (after this instance changed it; other instances notice by etag). */
  invalidate(key: string): void {
    this.entries.deleteWhere((_, entry) => entry.key === key);
  }

  clear(): void {
    this.entries.clear();
  }

  private async entry(key: string, baseUrl: string, freshness: TFreshness): Promise<ICacheEntry | null> {
    const cacheKey = cacheKeyOf(key, baseUrl);
    const known = freshness === 'current' ? undefined : this.storage.knownRecentStat(key);
    const info = known !== undefined ? known : freshness === 'current' ? await this.storage.stat(key) : await this.storage.statRecent(key);
    if (!info) {
      this.entries.delete(cacheKey);
      return null;
    }
    // The usual case, without the loader's closures and the shared-load machinery.
    const kept = this.entries.get(cacheKey);
    if (kept && kept.etag === info.etag) return kept;
    const entry = await this.entries.getOrLoad(cacheKey, () => this.load(key, baseUrl, info.lastModified), {
      isCurrent: (cached) => cached.etag === info.etag,
    });
    return entry ?? null;
  }

  private async load(key: string, baseUrl: string, lastModified: Date): Promise<ICacheEntry | undefined> {
    const stored = await this.storage.getBytes(key);
    if (!stored) return undefined;
    // Parsed once per stored version, to never serve damaged bytes as a document (the value is not kept:
    // most reads never need it).
    parseStoredJson(key, stored.bytes);
    return { key, baseUrl, etag: stored.etag, bytes: spliceBaseUrl(stored.bytes, baseUrl), lastModified };
  }
}

/**
 * `recent`: a stat within the validation window will do (plain reads). `current`: checked against
 * storage now — for a read a write is about to build on (`?write=true`, deprecate, publish), which
 * another instance may have changed a moment ago.
 */
export type TFreshness = 'recent' | 'current';

const cacheKeyOf = (key: string, baseUrl: string) => `${baseUrl}\n${key}`;
