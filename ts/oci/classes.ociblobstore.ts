import * as crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { RegistryError, isPreconditionFailed } from '../core/classes.registryerror.js';
import { UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import { mapLimited } from '../core/helpers.async.js';
import { ingestArtifact, recordOnce } from '../core/helpers.ingest.js';
import type { IObjectSource } from '../core/helpers.serve.js';
import { presignedDirectUrl } from '../core/helpers.storedsource.js';
import { ociPaths } from '../core/storage.paths.js';
import type { IObjectInfo } from '../core/storage/interfaces.storage.js';
import type { OciReferenceGuard } from './classes.ocireferenceguard.js';
import { parseDigest } from './helpers.oci.js';
import type { IBlobPart, IBlobRecord, ILayerLink, IParsedDigest, TDigestAlgorithm } from './interfaces.oci.js';

/** Blob records read before, kept with their etag; this many stay in memory. */
const RECORD_CACHE_ENTRIES = 10_000;
/** Read ahead of a multi-part blob read per download; more only adds memory per concurrent pull. */
const READ_HIGH_WATER_MARK = 256 * 1024;

export interface IOpenedBlob {
  stream: Readable;
  /** Bytes in `stream`. */
  length: number;
}

export interface IStoredPart extends IBlobPart {
  /** Hex digest of the part in the algorithm asked for. */
  hex: string;
}


/** Stats of a record's parts run at once when checking that its data exists. */
const PART_CHECK_CONCURRENCY = 16;

const newRecord = (digest: IParsedDigest, size: number, parts: readonly IBlobPart[]): IBlobRecord => ({
  digest: digest.digest,
  size,
  parts: parts.filter((part) => part.size > 0).map(({ key, size: partSize }) => ({ key, size: partSize })),
  createdAt: new Date().toISOString(),
});

/** The parts a blob record does not reference. */
const surplusParts = (parts: readonly IBlobPart[], record: IBlobRecord) =>
  parts.filter((part) => !record.parts.some((kept) => kept.key === part.key));

/**
 * Content-addressed blobs, stored once for the whole registry, and the per-repository links that
 * decide which repository may serve which blob.
 *
 * A blob is a record (`oci/blobs/{alg}/{hex}.json`) naming the immutable data parts that hold its
 * bytes in order. Uploads write their bodies straight into parts and, once the digest is verified,
 * write the record: a chunked upload is never copied or reassembled, and a record is never rewritten.
 */
export class OciBlobStore {
  private readonly records = new BoundedCache<{ etag: string; record: IBlobRecord }>({ maxEntries: RECORD_CACHE_ENTRIES });

  constructor(
    private readonly storage: RegistryStorage,
    private readonly guard: OciReferenceGuard,
  ) {}

  // ---- records -------------------------------------------------------------------------------

  /**
   * The stored record, confirmed by a stat: the garbage collector may delete a record, and a later push
   * of the same digest writes a new one with other parts, so a remembered record is used only while its
   * etag is current.
   */
  async getRecord(digest: IParsedDigest): Promise<IBlobRecord | null> {
    const key = ociPaths.blobRecord(digest.algorithm, digest.hex);
    const info = await this.storage.stat(key);
    if (!info) {
      this.records.delete(digest.digest);
      return null;
    }
    const cached = this.records.get(digest.digest);
    if (cached?.etag === info.etag) return cached.record;
    const document = await this.storage.getJson<IBlobRecord>(key);
    if (!document) return null;
    this.records.set(digest.digest, { etag: document.etag, record: document.value });
    return document.value;
  }

  /** The record a listing found, read from storage only when this instance has not seen that version of it. */
  async listedRecord(info: IObjectInfo, digest: string): Promise<IBlobRecord | null> {
    const cached = this.records.get(digest);
    if (cached?.etag === info.etag) return cached.record;
    const document = await this.storage.getJson<IBlobRecord>(info.key);
    if (!document) return null;
    this.records.set(digest, { etag: document.etag, record: document.value });
    return document.value;
  }

  /** Hold the blob's record for a push about to link it (see OciReferenceGuard); false when it is gone. */
  async holdRecord(digest: IParsedDigest): Promise<boolean> {
    return (await this.guard.hold([ociPaths.blobRecord(digest.algorithm, digest.hex)])).length === 0;
  }

  /**
   * Hold the record for a mount about to link it: false when a collection took it, or when its bytes are gone
   * (the record is dropped; the mount falls back to an upload, which stores the blob again).
   */
  async holdForMount(digest: IParsedDigest, record: IBlobRecord, ctx: IStorageOperationContext): Promise<boolean> {
    return (await this.holdRecord(digest)) && (await this.hasData(record, ctx));
  }

  /** Forget a record the garbage collector deleted. */
  forgetRecord(digest: string): void {
    this.records.delete(digest);
  }

  /**
   * Make `parts` the content of `digest`. When the blob exists already (the same bytes were uploaded
   * before, or by a concurrent upload that won), the parts it does not reference are surplus and
   * deleted. (A retried completion hands over the record's own parts: those stay.)
   */
  async commit(digest: IParsedDigest, size: number, parts: IBlobPart[], ctx: IStorageOperationContext): Promise<IBlobRecord> {
    const existing = await this.getRecord(digest);
    // Held before the new parts go: a record the garbage collector takes meanwhile is replaced by ours.
    if (existing && (await this.holdRecord(digest))) {
      if (!(await this.dataExists(existing))) return this.replaceWithoutData(digest, size, parts, ctx);
      await this.deleteParts(surplusParts(parts, existing), ctx);
      return existing;
    }
    // Empty parts hold nothing worth keeping (an empty blob has no parts at all).
    await this.deleteParts(parts.filter((part) => part.size === 0), ctx);
    const written = await recordOnce(this.storage, ociPaths.blobRecord(digest.algorithm, digest.hex), newRecord(digest, size, parts), ctx);
    if (!written.created) await this.deleteParts(surplusParts(parts, written.record), ctx);
    return written.record;
  }

  /** Every part of the record is stored, at its size. */
  private async dataExists(record: IBlobRecord): Promise<boolean> {
    const found = await mapLimited(record.parts, PART_CHECK_CONCURRENCY, (part) => this.storage.stat(part.key));
    return found.every((info, index) => info !== null && info.size === record.parts[index].size);
  }

  /**
   * Whether the blob can be served: false when a part of its record is gone (a collection took the bytes
   * after this request read the record, or they were lost). Such a record is dropped, so the blob is not
   * there for anyone, as the spec wants of a blob without bytes.
   */
  async hasData(record: IBlobRecord, ctx: IStorageOperationContext): Promise<boolean> {
    if (await this.dataExists(record)) return true;
    await this.dropRecordWithoutData(record.digest, ctx);
    return false;
  }

  /**
   * Delete the record of `digest` if, as stored now, it still names missing bytes: conditional on the etag
   * checked, so a record a concurrent push replaced or held meanwhile stays.
   */
  private async dropRecordWithoutData(digest: string, ctx: IStorageOperationContext): Promise<void> {
    this.forgetRecord(digest);
    const parsed = parseDigest(digest);
    if (!parsed) return;
    const key = ociPaths.blobRecord(parsed.algorithm, parsed.hex);
    const current = await this.storage.getJson<IBlobRecord>(key);
    if (!current || (await this.dataExists(current.value))) return;
    try {
      await this.storage.deleteObject(key, ctx, { ifMatch: current.etag });
    } catch (error) {
      // Changed since it was read: whoever changed it decides.
      if (!isPreconditionFailed(error)) throw error;
    }
  }

  /**
   * A record whose bytes are gone would make every later push of the digest discard its own bytes and
   * every pull fail: the new parts replace it. Conditional, so a concurrent replacement that wins is kept.
   */
  private async replaceWithoutData(digest: IParsedDigest, size: number, parts: IBlobPart[], ctx: IStorageOperationContext): Promise<IBlobRecord> {
    this.forgetRecord(digest.digest);
    await this.deleteParts(parts.filter((part) => part.size === 0), ctx);
    const replacement = newRecord(digest, size, parts);
    const stored = await this.storage.updateJson<IBlobRecord>(ociPaths.blobRecord(digest.algorithm, digest.hex), ctx, async (current) =>
      current && (await this.dataExists(current)) ? UNCHANGED : replacement,
    );
    const record = stored ?? replacement;
    await this.deleteParts(surplusParts(parts, record), ctx);
    return record;
  }

  /**
   * After committing a part whose write began at `startedAt`, with no upload session naming it. The
   * collector takes such a part as an orphan once it is older than the grace period and no record names
   * it; a write slower than half the grace period may be dated by its start (S3 dates a multipart upload
   * so), so the part may have looked old before the record was written: check it is still there.
   */
  async confirmPartKept(record: IBlobRecord, part: IBlobPart, startedAt: number): Promise<void> {
    if (!record.parts.some((named) => named.key === part.key)) return;
    if ((await this.guard.stillHeld([part.key], startedAt)).length === 0) return;
    // The record names lost bytes: the next push of the digest replaces it (replaceWithoutData).
    this.forgetRecord(record.digest);
    throw new RegistryError('unavailable', `the bytes of ${record.digest} were collected while they were being stored: upload the blob again`, {
      code: 'BLOB_UPLOAD_INVALID',
      headers: { 'Retry-After': '1' },
    });
  }

  // ---- parts ---------------------------------------------------------------------------------

  /**
   * Stream a body into a new data part, hashed in `algorithm` in the same pass that stores it. With
   * `running` (the upload's running sha256) the bytes are hashed once, into it, and `hex` is the digest
   * of the upload through this part.
   */
  async putPart(
    key: string,
    body: Readable,
    ctx: IStorageOperationContext,
    options: { maxBytes: number; algorithm?: TDigestAlgorithm; running?: crypto.Hash },
  ): Promise<IStoredPart> {
    const algorithm = options.algorithm ?? 'sha256';
    const stored = await ingestArtifact(this.storage, key, body, ctx, {
      maxBytes: options.maxBytes,
      hashes: [algorithm],
      running: options.running,
      hashOnlyRunning: options.running !== undefined,
    });
    const hex = stored.digests[algorithm];
    if (!hex) throw new Error(`storage backend did not return a ${algorithm} digest`);
    return { key, size: stored.size, hex };
  }

  async deleteParts(parts: readonly IBlobPart[], ctx: IStorageOperationContext): Promise<void> {
    await this.storage.deleteObjects(parts.map((part) => part.key), ctx);
  }

  /** Feed the concatenated parts into `hash` (an upload continued on another instance has no running hash). */
  async hashPartsInto(parts: readonly IBlobPart[], hash: crypto.Hash, ctx: IStorageOperationContext): Promise<void> {
    const total = parts.reduce((sum, part) => sum + part.size, 0);
    if (total === 0) return;
    await pipeline(
      this.readParts(parts, 0, total - 1, ctx),
      new Writable({
        highWaterMark: READ_HIGH_WATER_MARK,
        write(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback();
        },
      }),
    );
  }

  /** Bytes `start..end` (inclusive) of the concatenation of `parts`, opened part by part as the reader gets there. */
  readParts(parts: readonly IBlobPart[], start: number, end: number, ctx: IStorageOperationContext): Readable {
    const storage = this.storage;
    async function* chunks() {
      let offset = 0;
      for (const part of parts) {
        const partStart = offset;
        const partEnd = offset + part.size - 1;
        offset += part.size;
        if (part.size === 0 || partEnd < start || partStart > end) continue;
        const from = Math.max(start, partStart) - partStart;
        const to = Math.min(end, partEnd) - partStart;
        const opened = await storage.getObject(part.key, ctx, from === 0 && to === part.size - 1 ? undefined : { start: from, end: to });
        // Taken meanwhile (a cancel or a collection of the upload, a collection of the blob): typed, never a bare 500.
        if (!opened) throw RegistryError.notFound(`blob data ${part.key} is missing from storage`, { code: 'BLOB_UNKNOWN' });
        yield* opened.stream;
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: READ_HIGH_WATER_MARK });
  }

  /** A blob's bytes (or a range of them), null when they are gone (see `hasData`). Single-part blobs stream straight from storage. */
  async open(record: IBlobRecord, range: { start: number; end: number } | undefined, ctx: IStorageOperationContext): Promise<IOpenedBlob | null> {
    const start = range?.start ?? 0;
    const end = range?.end ?? record.size - 1;
    const length = record.size === 0 ? 0 : end - start + 1;
    if (length === 0) return { stream: Readable.from([], { objectMode: false }), length };
    if (record.parts.length === 1) {
      const opened = await this.storage.getObject(record.parts[0].key, ctx, range);
      if (opened) return { stream: opened.stream, length: opened.length };
      await this.dropRecordWithoutData(record.digest, ctx);
      return null;
    }
    // Checked before answering: a part found missing once the 200 is sent could only cut the connection.
    if (!(await this.hasData(record, ctx))) return null;
    return { stream: this.readParts(record.parts, start, end, ctx), length };
  }

  /**
   * Where a client may read the blob straight from the object store. Only a blob stored as one object has
   * such a URL; one committed from several chunk uploads is several objects, and is streamed.
   */
  directUrl(record: IBlobRecord, ctx: IStorageOperationContext): IObjectSource['directUrl'] {
    return record.parts.length === 1 ? presignedDirectUrl(this.storage, record.parts[0].key, ctx) : undefined;
  }

  // ---- repository links ----------------------------------------------------------------------

  async isLinked(name: string, digest: IParsedDigest): Promise<boolean> {
    return (await this.storage.stat(ociPaths.layerLink(name, digest.algorithm, digest.hex))) !== null;
  }

  async link(name: string, digest: IParsedDigest, size: number, ctx: IStorageOperationContext): Promise<void> {
    const link: ILayerLink = { digest: digest.digest, size, linkedAt: new Date().toISOString() };
    await this.storage.putJson(ociPaths.layerLink(name, digest.algorithm, digest.hex), link, ctx);
  }

  /** False when the repository had no such link. The blob's bytes stay: other repositories may link them. */
  async unlink(name: string, digest: IParsedDigest, ctx: IStorageOperationContext): Promise<boolean> {
    const key = ociPaths.layerLink(name, digest.algorithm, digest.hex);
    if (!(await this.storage.stat(key))) return false;
    await this.storage.deleteObject(key, ctx);
    return true;
  }

  /** The linked blob's record, or null when the repository does not serve it. */
  async getLinked(name: string, digest: IParsedDigest): Promise<IBlobRecord | null> {
    const [linked, record] = await Promise.all([this.isLinked(name, digest), this.getRecord(digest)]);
    return linked ? record : null;
  }

  /**
   * `getLinked` for answering a client, who may push a manifest naming the blob next (docker and skopeo
   * skip uploading a blob HEAD finds): the link is held, so a collection cannot take it in between.
   */
  async getLinkedHeld(name: string, digest: IParsedDigest): Promise<IBlobRecord | null> {
    const [missing, record] = await Promise.all([this.guard.hold([ociPaths.layerLink(name, digest.algorithm, digest.hex)]), this.getRecord(digest)]);
    return missing.length === 0 ? record : null;
  }
}
