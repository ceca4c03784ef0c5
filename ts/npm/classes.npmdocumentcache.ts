import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
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

/**
 * Ready-to-serve packuments. Storage is the truth: every lookup stats the object and uses the cached
 * bytes only when the etag is still the same, so a write by any instance is seen on the next request.
 * What it saves is reading, splicing and (for version reads) parsing the document again. Concurrent
 * misses for one document share one read. Bounded by bytes, least recently used first out.
 */
export class NpmDocumentCache {
  private readonly entries = new Map<string, ICacheEntry>();
  private readonly loading = new Map<string, Promise<ICacheEntry | null>>();
  private bytes = 0;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly maxBytes: number,
  ) {}

  /** The document at `key` with tarball URLs below `baseUrl`; null when it does not exist. */
  async get(key: string, baseUrl: string): Promise<IServedDocument | null> {
    return this.entry(key, baseUrl);
  }

  /**
   * The document parsed, with absolute tarball URLs below `baseUrl`; read-only (it is shared).
   * Parsed once per stored version of the document, not per request.
   */
  async getParsed<T = INpmPackument>(key: string, baseUrl: string): Promise<{ etag: string; value: T } | null> {
    const entry = await this.entry(key, baseUrl);
    if (!entry) return null;
    entry.parsed ??= JSON.parse(entry.bytes.toString('utf8'));
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
    if (entry.key !== undefined && this.entries.get(`${entry.baseUrl}\n${entry.key}`) === entry) {
      entry.gzipped = compressing;
      void compressing.then(
        (bytes) => {
          if (this.entries.get(`${entry.baseUrl}\n${entry.key}`) !== entry) return;
          entry.gzipSize = bytes.length;
          this.bytes += bytes.length;
        },
        () => (entry.gzipped = undefined),
      );
    }
    return compressing;
  }

  /** Forget a document (after this instance changed it; other instances notice by etag). */
  invalidate(key: string): void {
    for (const [cacheKey, entry] of this.entries) {
      if (entry.key === key) this.drop(cacheKey);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private async entry(key: string, baseUrl: string): Promise<ICacheEntry | null> {
    const cacheKey = `${baseUrl}\n${key}`;
    const info = await this.storage.stat(key);
    if (!info) {
      this.drop(cacheKey);
      return null;
    }
    const cached = this.entries.get(cacheKey);
    if (cached && cached.etag === info.etag) {
      // Refresh its place in the LRU order.
      this.entries.delete(cacheKey);
      this.entries.set(cacheKey, cached);
      return cached;
    }
    const pendingKey = `${cacheKey}\n${info.etag}`;
    let pending = this.loading.get(pendingKey);
    if (!pending) {
      pending = this.load(key, baseUrl, cacheKey, info.lastModified).finally(() => this.loading.delete(pendingKey));
      this.loading.set(pendingKey, pending);
    }
    return pending;
  }

  private async load(key: string, baseUrl: string, cacheKey: string, lastModified: Date): Promise<ICacheEntry | null> {
    const stored = await this.storage.getBytes(key);
    if (!stored) {
      this.drop(cacheKey);
      return null;
    }
    const entry: ICacheEntry = { key, baseUrl, etag: stored.etag, bytes: spliceBaseUrl(stored.bytes, baseUrl), lastModified };
    this.drop(cacheKey);
    if (entry.bytes.length <= this.maxBytes / 4) {
      this.entries.set(cacheKey, entry);
      this.bytes += entry.bytes.length;
      for (const [oldest] of this.entries) {
        if (this.bytes <= this.maxBytes) break;
        this.drop(oldest);
      }
    }
    return entry;
  }

  private drop(cacheKey: string) {
    const old = this.entries.get(cacheKey);
    if (!old) return;
    this.entries.delete(cacheKey);
    this.bytes -= old.bytes.length + (old.gzipSize ?? 0);
    old.gzipSize = undefined;
  }
}
