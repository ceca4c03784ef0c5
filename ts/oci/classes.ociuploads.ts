import * as crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { RegistryError, isPreconditionFailed, isRegistryError } from '../core/classes.registryerror.js';
import { UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { Logger } from '../core/classes.logger.js';
import { ociPaths } from '../core/storage.paths.js';
import type { OciBlobStore } from './classes.ociblobstore.js';
import { PeriodicTask } from '../core/classes.periodictask.js';
import { ociError, parseContentRange, uploadRangeHeader, type IInclusiveRange } from './helpers.oci.js';
import type { IBlobRecord, IParsedDigest, IUploadSession } from './interfaces.oci.js';

/** Sessions nobody touched for this long are abandoned. */
export const UPLOAD_SESSION_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const CLEANUP_INTERVAL_MS = 60 * 60 * 1000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EMPTY_SHA256 = crypto.createHash('sha256').digest('hex');
/** A closing PUT that claimed a session this long ago and never finished died with its instance. */
const STALE_COMPLETION_MS = 15 * 60 * 1000;
const isStale = (completing: { at: string }) => Date.now() - Date.parse(completing.at) >= STALE_COMPLETION_MS;
/** Running digests kept (one per upload in progress on this instance). */
const MAX_LIVE_HASHES = 1000;

/** Thrown inside an updateJson mutator when the session moved on; turned into a 416 outside. */
class SessionMoved extends Error {
  constructor(readonly current: IUploadSession | null) {
    super('upload session changed');
  }
}

/**
 * Blob upload sessions, kept in storage so that any instance on the same bucket can continue one.
 * Every PATCH body (and a closing PUT's body) becomes its own immutable data part; the session
 * document lists them. Closing verifies the digest and turns the parts into the blob as they are:
 * nothing is copied, nothing is gathered in memory.
 *
 * The digest is known without reading the data again in the usual cases: each part records the sha256
 * of the upload through it (`through`) when one pass hashed every byte so far — a first part's own
 * digest, or a running hash that chunks arriving one after another at this instance feed, each byte
 * hashed once. Otherwise (another instance took part, sha512) the parts are read once to hash them.
 * (A worker thread for the running hash was tried: on two cores it was no faster and cost ~70 MiB RSS.)
 */
export class OciUploads {
  /** Upload → its running sha256, valid for the first `offset` bytes. */
  private readonly live = new Map<string, { offset: number; hash: crypto.Hash }>();

  private readonly cleanupTask = new PeriodicTask(() => this.cleanupAbandoned(), CLEANUP_INTERVAL_MS);

  constructor(
    private readonly storage: RegistryStorage,
    private readonly blobs: OciBlobStore,
    private readonly logger: Logger,
  ) {}

  /** Abandoned sessions are removed now and every hour, by each instance (removing one twice is harmless). */
  startCleanup(): void {
    this.cleanupTask.start();
  }

  stopCleanup(): Promise<void> {
    return this.cleanupTask.stop();
  }

  private async cleanupAbandoned(): Promise<void> {
    try {
      const removed = await this.cleanup(UPLOAD_SESSION_MAX_AGE_MS, { protocol: 'oci' });
      if (removed > 0) this.logger.info(`oci: removed ${removed} abandoned upload session(s)`);
    } catch (error) {
      this.logger.warn('oci: upload session cleanup failed', error);
    }
  }

  /** A whole blob in one request (POST `?digest=`): stored as one data part, verified, committed. */
  async storeWhole(
    digest: IParsedDigest,
    body: Readable,
    ctx: IStorageOperationContext,
    options: { declaredLength?: number; maxBytes: number },
  ): Promise<IBlobRecord> {
    const key = ociPaths.blobData(crypto.randomUUID(), `${'0'.repeat(16)}-${crypto.randomBytes(4).toString('hex')}`);
    const startedAt = Date.now();
    const part = await this.blobs.putPart(key, body, ctx, { maxBytes: options.maxBytes, algorithm: digest.algorithm });
    if (options.declaredLength !== undefined && options.declaredLength !== part.size) {
      await this.blobs.deleteParts([part], ctx);
      throw ociError.sizeInvalid(`Content-Length says ${options.declaredLength} bytes but the body had ${part.size}`);
    }
    if (part.hex !== digest.hex) {
      await this.blobs.deleteParts([part], ctx);
      throw ociError.digestInvalid(`the uploaded content has digest ${digest.algorithm}:${part.hex}, not ${digest.digest}`, {
        expected: digest.digest,
        actual: `${digest.algorithm}:${part.hex}`,
      });
    }
    const record = await this.blobs.commit(digest, part.size, [part], ctx);
    await this.blobs.confirmPartKept(record, part, startedAt);
    return record;
  }

  /**
   * A chunk as a client sends it (PATCH, or the last chunk of the PUT): its `Content-Range` and
   * `Content-Length` are checked against each other and the limit before a byte is stored.
   */
  async appendRequestBody(
    session: IUploadSession,
    body: Readable,
    ctx: IStorageOperationContext,
    options: { contentRange?: string; declaredLength?: number; maxTotalBytes: number; location: string },
  ): Promise<IUploadSession> {
    const { contentRange, declaredLength, maxTotalBytes } = options;
    const range = contentRange === undefined ? undefined : parseContentRange(contentRange);
    if (range === null) throw ociError.blobUploadInvalid(`Content-Range ${JSON.stringify(contentRange)} is not <start>-<end>`);
    if (range && range.start !== session.size) {
      throw this.rangeError(session, `chunk starts at ${range.start} but the upload has ${session.size} bytes: chunks must be uploaded in order, without gaps or overlaps`, options.location);
    }
    if (range && declaredLength !== undefined && declaredLength !== range.end - range.start + 1) {
      throw ociError.sizeInvalid(`Content-Range ${contentRange} announces ${range.end - range.start + 1} bytes but Content-Length is ${declaredLength}`);
    }
    if (declaredLength !== undefined && declaredLength > maxTotalBytes - session.size) {
      throw ociError.sizeInvalid(`the blob would exceed the limit of ${maxTotalBytes} bytes`, 413);
    }
    return this.append(session, body, ctx, { range, maxTotalBytes, location: options.location });
  }

  static isValidUuid(uuid: string): boolean {
    return UUID_PATTERN.test(uuid);
  }

  async create(name: string, ctx: IStorageOperationContext): Promise<IUploadSession> {
    const now = new Date().toISOString();
    const session: IUploadSession = { uuid: crypto.randomUUID(), name, size: 0, parts: [], createdAt: now, updatedAt: now };
    const written = await this.storage.createJsonOnce(ociPaths.upload(session.uuid), session, ctx);
    if (!written.created) throw RegistryError.conflict('upload session id already in use, try again');
    return session;
  }

  /** The session of `name` with this id, or BLOB_UPLOAD_UNKNOWN (also for another repository's session). */
  async require(name: string, uuid: string): Promise<IUploadSession> {
    if (!OciUploads.isValidUuid(uuid)) throw ociError.blobUploadUnknown(uuid);
    const document = await this.storage.getJson<IUploadSession>(ociPaths.upload(uuid));
    if (!document || document.value.name !== name) throw ociError.blobUploadUnknown(uuid);
    return document.value;
  }

  /** 416 with the offset the client should continue from. */
  rangeError(session: IUploadSession, message: string, location: string): RegistryError {
    return new RegistryError('range-not-satisfiable', message, {
      code: 'BLOB_UPLOAD_INVALID',
      detail: { expectedStart: session.size },
      headers: { Range: uploadRangeHeader(session.size), Location: location, 'Docker-Upload-UUID': session.uuid },
    });
  }

  /** Append one body to the session; with a range (already checked to start where the session ends) it must be exactly as long as it says. */
  private async append(
    session: IUploadSession,
    body: Readable,
    ctx: IStorageOperationContext,
    options: { range?: IInclusiveRange; maxTotalBytes: number; location: string },
  ): Promise<IUploadSession> {
    const { range } = options;
    if (session.completing) throw ociError.blobUploadInvalid(`upload ${session.uuid} is being completed`);
    if (range && range.end + 1 > options.maxTotalBytes) {
      throw ociError.sizeInvalid(`the blob would exceed the limit of ${options.maxTotalBytes} bytes`, 413);
    }
    // A Content-Range announces a chunked upload: more parts will follow, so hash from the first byte.
    const running = await this.runningHashFor(session, ctx, range !== undefined);
    const partId = `${String(session.size).padStart(16, '0')}-${crypto.randomBytes(4).toString('hex')}`;
    const key = ociPaths.blobData(session.uuid, partId);
    let stored;
    try {
      stored = await this.blobs.putPart(key, body, ctx, { maxBytes: options.maxTotalBytes - session.size, running });
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'too-large') {
        throw ociError.sizeInvalid(`the blob exceeds the limit of ${options.maxTotalBytes} bytes`, 413);
      }
      throw error;
    }
    if (range && stored.size !== range.end - range.start + 1) {
      await this.blobs.deleteParts([stored], ctx);
      throw ociError.sizeInvalid(`Content-Range ${range.start}-${range.end} announces ${range.end - range.start + 1} bytes but the body had ${stored.size}`);
    }
    if (stored.size === 0) {
      await this.blobs.deleteParts([stored], ctx);
      return session;
    }

    // A running hash saw every byte so far; a first part's own digest is the upload's too.
    const through = running || session.size === 0 ? stored.hex : undefined;
    let updated: IUploadSession | null;
    try {
      updated = await this.storage.updateJson<IUploadSession>(ociPaths.upload(session.uuid), ctx, (current) => {
        if (!current || current.cancelled) throw new SessionMoved(null);
        if (current.size !== session.size || current.completing) throw new SessionMoved(current);
        return {
          ...current,
          size: current.size + stored.size,
          parts: [...current.parts, { key, size: stored.size, ...(through ? { through } : {}) }],
          updatedAt: new Date().toISOString(),
        };
      });
    } catch (error) {
      await this.blobs.deleteParts([stored], ctx);
      this.forget(session.uuid);
      if (error instanceof SessionMoved) {
        if (!error.current) throw ociError.blobUploadUnknown(session.uuid);
        throw this.rangeError(error.current, 'another request appended to this upload at the same time', options.location);
      }
      throw error;
    }
    if (!updated) throw ociError.blobUploadUnknown(session.uuid);
    if (running) this.rememberHash(session.uuid, updated.size, running);
    return updated;
  }

  /**
   * The upload's running sha256, continued, when one can be had cheaply: this instance
   * received every byte so far, or there is a single part to read again. A first part needs none
   * unless more are announced (its own sha256 is the blob's if it stays the only one, as when docker
   * or skopeo stream a whole layer in one PATCH).
   */
  private async runningHashFor(session: IUploadSession, ctx: IStorageOperationContext, chunked: boolean): Promise<crypto.Hash | undefined> {
    const live = this.live.get(session.uuid);
    // A copy: a failed put leaves it having seen part of a body.
    if (live && live.offset === session.size) return live.hash.copy();
    this.forget(session.uuid);
    if (session.parts.length === 0 && chunked) return crypto.createHash('sha256');
    if (session.parts.length !== 1) return undefined;
    const hash = crypto.createHash('sha256');
    await this.hashParts(session, hash, ctx);
    return hash;
  }

  /** Feed the session's parts into `hash`; a part that is gone (a cancel or a collection took the upload after it was read) is BLOB_UPLOAD_UNKNOWN. */
  private async hashParts(session: IUploadSession, hash: crypto.Hash, ctx: IStorageOperationContext): Promise<void> {
    try {
      await this.blobs.hashPartsInto(session.parts, hash, ctx);
    } catch (error) {
      if (isRegistryError(error, 'not-found')) throw ociError.blobUploadUnknown(session.uuid);
      throw error;
    }
  }

  private rememberHash(uuid: string, offset: number, hash: crypto.Hash) {
    this.forget(uuid);
    if (this.live.size >= MAX_LIVE_HASHES) this.forget(this.live.keys().next().value as string);
    this.live.set(uuid, { offset, hash });
  }

  private forget(uuid: string) {
    this.live.delete(uuid);
  }

  /**
   * Close the session: verify the digest of everything received and make it the blob. A wrong digest
   * discards the upload (DIGEST_INVALID) and leaves storage as it was before it started.
   */
  async complete(session: IUploadSession, digest: IParsedDigest, ctx: IStorageOperationContext): Promise<IBlobRecord> {
    const key = ociPaths.upload(session.uuid);
    const claimed = await this.storage.updateJson<IUploadSession>(key, ctx, (current) => {
      if (!current || current.cancelled) throw ociError.blobUploadUnknown(session.uuid);
      if (current.completing && !isStale(current.completing)) {
        throw ociError.blobUploadInvalid(`upload ${session.uuid} is already being completed`);
      }
      return { ...current, completing: { digest: digest.digest, at: new Date().toISOString() } };
    });
    if (!claimed) throw ociError.blobUploadUnknown(session.uuid);
    this.forget(session.uuid);

    let record: IBlobRecord;
    try {
      let hex: string | undefined;
      if (digest.algorithm === 'sha256') {
        const parts = claimed.parts;
        if (parts.length === 0) hex = EMPTY_SHA256;
        else hex = parts[parts.length - 1].through ?? (parts.length === 1 ? parts[0].sha256 : undefined);
      }
      if (hex === undefined) {
        const hash = crypto.createHash(digest.algorithm);
        await this.hashParts(claimed, hash, ctx);
        hex = hash.digest('hex');
      }
      if (hex !== digest.hex) {
        await this.discard(claimed, ctx);
        throw ociError.digestInvalid(`the uploaded content has digest ${digest.algorithm}:${hex}, not ${digest.digest}`, {
          expected: digest.digest,
          actual: `${digest.algorithm}:${hex}`,
        });
      }
      record = await this.blobs.commit(digest, claimed.size, claimed.parts, ctx);
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'BLOB_UPLOAD_UNKNOWN') {
        // Its bytes are gone (taken under a stale claim, or lost): there is nothing to retry with.
        await this.discard(claimed, ctx).catch(() => undefined);
      } else if (!(error instanceof RegistryError && error.code === 'DIGEST_INVALID')) {
        // Release the claim so the client can retry the PUT.
        await this.storage
          .updateJson<IUploadSession>(key, ctx, (current) => {
            if (!current) return UNCHANGED;
            const { completing: _released, ...rest } = current;
            return rest;
          })
          .catch(() => undefined);
      }
      throw error;
    }
    // The blob is stored: a session document left behind (a storage hook vetoed the delete, a
    // backend error) must not fail the request. cleanup() removes it later without touching the parts.
    try {
      await this.storage.deleteObject(key, ctx);
    } catch (error) {
      this.logger.warn(`oci: could not delete the completed upload session ${key}`, error);
    }
    return record;
  }

  /**
   * Cancel: the session and every byte it received are removed. Refused while a completion holds the
   * claim (its parts are becoming the blob); the session is marked first, so no completion starts after.
   */
  async cancel(session: IUploadSession, ctx: IStorageOperationContext): Promise<void> {
    const marked = await this.storage.updateJson<IUploadSession>(ociPaths.upload(session.uuid), ctx, (current) => {
      if (!current) throw ociError.blobUploadUnknown(session.uuid);
      if (current.completing && !isStale(current.completing)) {
        throw new RegistryError('conflict', `upload ${session.uuid} is being completed and can no longer be cancelled`, { code: 'BLOB_UPLOAD_INVALID' });
      }
      return current.cancelled ? UNCHANGED : { ...current, cancelled: true };
    });
    if (!marked) throw ociError.blobUploadUnknown(session.uuid);
    // A completion that died after committing left its parts as the blob: only the document goes.
    if (await this.partsBelongToBlob(marked)) {
      this.forget(marked.uuid);
      await this.storage.deleteObject(ociPaths.upload(marked.uuid), ctx);
      return;
    }
    await this.discard(marked, ctx);
  }

  private async discard(session: IUploadSession, ctx: IStorageOperationContext): Promise<void> {
    this.forget(session.uuid);
    // The document first: appends that finish afterwards find no session and remove their own part.
    await this.storage.deleteObject(ociPaths.upload(session.uuid), ctx);
    await this.deleteDataOf(session.uuid, ctx);
  }

  private async deleteDataOf(uuid: string, ctx: IStorageOperationContext): Promise<void> {
    const keys: string[] = [];
    for await (const info of this.storage.listAll(ociPaths.blobDataPrefix(uuid))) keys.push(info.key);
    await this.storage.deleteObjects(keys, ctx);
  }

  /**
   * Remove sessions nobody touched for `maxAgeMs`, with their data. A session whose completion
   * already produced the blob only loses its document: its parts are the blob now.
   */
  async cleanup(maxAgeMs: number, ctx: IStorageOperationContext): Promise<number> {
    return (await this.removeAbandoned(maxAgeMs, ctx)).length;
  }

  /** `cleanup`, returning the sessions removed (a dry run only finds them). */
  async removeAbandoned(maxAgeMs: number, ctx: IStorageOperationContext, options: { dryRun?: boolean } = {}): Promise<IUploadSession[]> {
    const cutoff = Date.now() - maxAgeMs;
    const stale: string[] = [];
    for await (const info of this.storage.listAll(ociPaths.uploadsPrefix())) {
      if (info.lastModified.getTime() < cutoff && info.key.endsWith('.json')) stale.push(info.key);
    }
    const removed: IUploadSession[] = [];
    for (const key of stale) {
      try {
        const document = await this.storage.getJson<IUploadSession>(key);
        if (!document) continue;
        const session = document.value;
        if (!OciUploads.isValidUuid(session.uuid) || ociPaths.upload(session.uuid) !== key) {
          this.logger.warn(`oci: ignoring malformed upload session document ${key}`);
          continue;
        }
        if (Date.parse(session.updatedAt) >= cutoff) continue;
        // A completion holds it (a claim leaves updatedAt as it was): its parts are becoming the blob.
        if (session.completing && !isStale(session.completing)) continue;
        if (options.dryRun) {
          removed.push(session);
          continue;
        }
        this.forget(session.uuid);
        // On the version read: a claim or an append that landed since keeps the session.
        if (!(await this.deleteIfUnchanged(key, document.etag, ctx))) continue;
        removed.push(session);
        if (!(await this.partsBelongToBlob(session))) await this.deleteDataOf(session.uuid, ctx);
      } catch (error) {
        this.logger.warn(`oci: could not clean up upload session ${key}`, error);
      }
    }
    return removed;
  }

  private async deleteIfUnchanged(key: string, etag: string, ctx: IStorageOperationContext): Promise<boolean> {
    try {
      await this.storage.deleteObject(key, ctx, { ifMatch: etag });
      return true;
    } catch (error) {
      if (isPreconditionFailed(error)) return false;
      throw error;
    }
  }

  private async partsBelongToBlob(session: IUploadSession): Promise<boolean> {
    if (!session.completing) return false;
    const [algorithm, hex] = session.completing.digest.split(':');
    if (algorithm !== 'sha256' && algorithm !== 'sha512') return false;
    const record = await this.blobs.getRecord({ algorithm, hex, digest: session.completing.digest });
    const prefix = ociPaths.blobDataPrefix(session.uuid);
    return !!record && record.parts.some((part) => part.key.startsWith(prefix));
  }
}
