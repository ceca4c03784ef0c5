import type { Readable } from 'node:stream';
import { BoundedCache } from '../core/classes.boundedcache.js';
import type { IStorageOperationContext, RegistryStorage } from '../core/classes.registrystorage.js';
import { ingestArtifact } from '../core/helpers.ingest.js';
import type { IObjectSource, IServedObject } from '../core/helpers.serve.js';
import { upstreamPaths } from '../core/storage.paths.js';
import type { THashAlgorithm } from '../core/storage/interfaces.storage.js';
import type { TRegistryProtocol } from '../core/interfaces.protocol.js';

/** What an upstream answered for a metadata request, as kept. */
export interface IDocumentMeta {
  /** 200, or 404 for a remembered "not found". */
  status: number;
  /** When the upstream last confirmed this answer (ms). */
  fetchedAt: number;
  etag?: string;
  lastModified?: string;
  contentType?: string;
  /** Headers of the answer the protocol wants back (OCI's `Docker-Content-Digest`). */
  headers?: Record<string, string>;
}

export interface ICachedDocument {
  meta: IDocumentMeta;
  body: Buffer;
}

/** The record of a cached artifact, written once its bytes are stored and verified. */
export interface IArtifactRecord {
  cacheKey: string;
  upstreamId: string;
  size: number;
  sha256: string;
  contentType: string;
  storedAt: string;
  headers?: Record<string, string>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const READ_MARKS_REMEMBERED = 10_000;
const NOT_FOUND_REMEMBERED = 10_000;
const NEWLINE = 0x0a;

/**
 * The proxy's storage: metadata answers (with their validators and age) and verified artifacts, per
 * upstream, in the registry's own storage (so every instance on the bucket shares them). A "not found"
 * is remembered in memory only, a bounded number of them: any client can ask for any name, and a
 * stored entry per name asked for would let it fill the bucket.
 */
export class UpstreamCache {
  private readonly ctx: IStorageOperationContext;
  /** Artifacts whose read marker this process wrote lately: the marker is rewritten at most daily. */
  private readonly readMarks = new BoundedCache<number>({ maxEntries: READ_MARKS_REMEMBERED });
  /** Read markers being written; `drain` waits for them. */
  private readonly pendingMarks = new Set<Promise<void>>();
  /** When each upstream last said "not found" for a document, by its storage key. */
  private readonly notFound = new BoundedCache<number>({ maxEntries: NOT_FOUND_REMEMBERED });

  constructor(
    private readonly storage: RegistryStorage,
    private readonly protocol: TRegistryProtocol,
    private readonly now: () => number,
  ) {
    this.ctx = { protocol };
  }

  // ---- documents ------------------------------------------------------------------------------

  async readDocument(upstreamId: string, cacheKey: string): Promise<ICachedDocument | null> {
    const key = upstreamPaths.document(this.protocol, upstreamId, cacheKey);
    const missingSince = this.notFound.get(key);
    if (missingSince !== undefined) return { meta: { status: 404, fetchedAt: missingSince }, body: Buffer.alloc(0) };
    const stored = await this.storage.getBytes(key);
    if (!stored) return null;
    const end = stored.bytes.indexOf(NEWLINE);
    if (end === -1) return null;
    try {
      return { meta: JSON.parse(stored.bytes.subarray(0, end).toString('utf8')) as IDocumentMeta, body: stored.bytes.subarray(end + 1) };
    } catch {
      return null; // a damaged entry is a miss; the next fetch overwrites it
    }
  }

  /** Keeps an answer; a 404 replaces what was stored (a package gone upstream is not served from an old copy). */
  async writeDocument(upstreamId: string, cacheKey: string, document: ICachedDocument, hadStored: boolean): Promise<void> {
    const key = upstreamPaths.document(this.protocol, upstreamId, cacheKey);
    if (document.meta.status !== 200) {
      this.notFound.set(key, document.meta.fetchedAt);
      if (hadStored) await this.storage.deleteObject(key, this.ctx);
      return;
    }
    this.notFound.delete(key);
    // JSON.stringify never emits a raw newline, so the first one ends the meta line.
    const head = Buffer.from(`${JSON.stringify(document.meta)}\n`, 'utf8');
    await this.storage.putObject(key, Buffer.concat([head, document.body]), this.ctx);
  }

  // ---- artifacts ------------------------------------------------------------------------------

  async artifactRecord(upstreamId: string, cacheKey: string): Promise<IArtifactRecord | null> {
    return (await this.storage.getJson<IArtifactRecord>(upstreamPaths.artifactRecord(this.protocol, upstreamId, cacheKey)))?.value ?? null;
  }

  /** Stream `body` into the cache, verified against `expect` before it becomes visible; then its record. */
  async storeArtifact(
    upstreamId: string,
    cacheKey: string,
    body: Readable,
    options: { maxBytes: number; expect?: Partial<Record<THashAlgorithm, string>>; contentType: string; headers?: Record<string, string> },
  ): Promise<IArtifactRecord> {
    const stored = await ingestArtifact(this.storage, upstreamPaths.artifact(this.protocol, upstreamId, cacheKey), body, this.ctx, {
      maxBytes: options.maxBytes,
      expect: options.expect,
    });
    const record: IArtifactRecord = {
      cacheKey,
      upstreamId,
      size: stored.size,
      sha256: stored.digests.sha256,
      contentType: options.contentType,
      storedAt: new Date(this.now()).toISOString(),
      ...(options.headers ? { headers: options.headers } : {}),
    };
    await this.storage.putJson(upstreamPaths.artifactRecord(this.protocol, upstreamId, cacheKey), record, this.ctx);
    return record;
  }

  /** A cached artifact as `serveObject` reads it; its read marker is refreshed (at most daily). */
  artifactSource(record: IArtifactRecord, ctx: IStorageOperationContext): IObjectSource {
    const key = upstreamPaths.artifact(this.protocol, record.upstreamId, record.cacheKey);
    const object: IServedObject = {
      size: record.size,
      etag: `"${record.sha256}"`,
      lastModified: new Date(record.storedAt),
      contentType: record.contentType,
      headers: record.headers,
    };
    return {
      describe: async () => object,
      open: async (span) => {
        const result = await this.storage.getObject(key, ctx, span);
        if (!result) return null;
        const marking = this.markRead(record).catch(() => undefined);
        this.pendingMarks.add(marking);
        void marking.then(() => this.pendingMarks.delete(marking));
        return { object, body: result.stream, length: result.length };
      },
    };
  }

  /** Waits for read markers being written (before storage closes). */
  async drain(): Promise<void> {
    await Promise.all([...this.pendingMarks]);
  }

  private async markRead(record: IArtifactRecord): Promise<void> {
    const marker = upstreamPaths.readMarker(this.protocol, record.upstreamId, record.cacheKey);
    const last = this.readMarks.get(marker);
    if (last !== undefined && this.now() - last < DAY_MS) return;
    this.readMarks.set(marker, this.now());
    await this.storage.putJson(marker, { readAt: this.now() }, this.ctx);
  }

  /** Remove cached artifacts not served for `days` days (by their read marker, else when they were stored). Returns how many. */
  async removeUnread(days: number): Promise<number> {
    const cutoff = this.now() - days * DAY_MS;
    let removed = 0;
    for await (const info of this.storage.listAll(upstreamPaths.protocolPrefix(this.protocol))) {
      if (!upstreamPaths.isArtifactRecord(info.key)) continue;
      const record = (await this.storage.getJson<IArtifactRecord>(info.key))?.value;
      if (!record) continue;
      const marker = upstreamPaths.readMarker(this.protocol, record.upstreamId, record.cacheKey);
      const lastRead = (await this.storage.getJson<{ readAt: number }>(marker))?.value.readAt ?? Date.parse(record.storedAt);
      if (lastRead >= cutoff) continue;
      // The record first: without it the bytes are never served, so a half-done removal serves nothing stale.
      await this.storage.deleteObject(info.key, this.ctx);
      await this.storage.deleteObjects([upstreamPaths.artifact(this.protocol, record.upstreamId, record.cacheKey), marker], this.ctx);
      this.readMarks.delete(marker);
      removed++;
    }
    return removed;
  }
}
