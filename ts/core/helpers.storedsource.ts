import type { DocumentCache, ICachedDocument } from './classes.documentcache.js';
import type { IHeldRedirect, IStorageOperationContext, RegistryStorage } from './classes.registrystorage.js';
import { keptServedObject, type IByteSpan, type IObjectSource, type IOpenedObject, type IServedObject } from './helpers.serve.js';
import type { IPresignRequest } from './classes.presignedurls.js';
import type { IResolvedDownloads } from './helpers.downloads.js';
import type { IObjectInfo } from './storage/interfaces.storage.js';

/**
 * A stored metadata document as `serveObject` reads it: stat for `describe`, one (ranged) get for `open`.
 * Always served by the registry.
 */
export function storedObjectSource(storage: RegistryStorage, key: string, ctx: IStorageOperationContext, contentType: string): IObjectSource {
  return new StoredObjectSource(storage, key, ctx, contentType);
}

/** A class rather than an object of closures: one is made per GET of a stored object. */
class StoredObjectSource implements IObjectSource {
  constructor(
    protected readonly storage: RegistryStorage,
    protected readonly key: string,
    protected readonly ctx: IStorageOperationContext,
    private readonly contentType: string,
  ) {}

  async describe(): Promise<IServedObject | null> {
    const info = await this.stat();
    return info && this.served(info);
  }

  async open(span?: IByteSpan): Promise<IOpenedObject | null> {
    const result = await this.storage.getObject(this.key, this.ctx, span);
    return result && { object: this.served(result.info), body: result.stream, length: result.length };
  }

  protected stat(): Promise<IObjectInfo | null> {
    return this.storage.stat(this.key);
  }

  protected served(info: IObjectInfo): IServedObject {
    return { size: info.size, etag: info.etag, lastModified: info.lastModified, contentType: this.contentType };
  }
}

/** `directUrl` of an artifact stored whole at `key`: a presigned URL of the object store (see `downloads`). */
export function presignedDirectUrl(storage: RegistryStorage, key: string, ctx: IStorageOperationContext): NonNullable<IObjectSource['directUrl']> {
  return (object, downloads) => presignedUrl(storage, key, ctx, object, downloads);
}

function presignedUrl(storage: RegistryStorage, key: string, ctx: IStorageOperationContext, object: IServedObject, downloads: IResolvedDownloads): Promise<string | undefined> {
  return storage.presignedGet(key, ctx, { ...presignRequest(object, downloads), size: object.size });
}

function presignRequest(object: IServedObject, downloads: IResolvedDownloads): IPresignRequest {
  return { expiresIn: downloads.expiresIn, publicUrl: downloads.publicUrl, contentType: object.contentType, signedAtMs: downloads.nowMs() };
}

/**
 * A stored artifact (tarball, jar, crate, wheel, gem, dist): served like a document, or redirected to the
 * object store. Its ETag is the store's own, so the validators a client holds mean the same on both sides.
 * Its stat (for a redirect, a conditional or ranged GET, a HEAD) may be up to `cache.validationWindowMs` old,
 * as a metadata document's: a redirect then costs no storage round trip. Written or deleted through another
 * instance within the window, the client is sent to the key as it is now (the store answers 404 for a
 * deleted one); a plain streamed GET reads the object itself.
 */
export function storedArtifactSource(storage: RegistryStorage, key: string, ctx: IStorageOperationContext, contentType: string): IObjectSource {
  return new StoredArtifactSource(storage, key, ctx, contentType);
}

class StoredArtifactSource extends StoredObjectSource {
  /** From a remembered stat: no round trip, and no promise to wait on either. */
  describeNow(): IServedObject | null | undefined {
    const info = this.storage.knownRecentStat(this.key);
    return info ? this.served(info) : info;
  }

  directUrl(object: IServedObject, downloads: IResolvedDownloads): Promise<string | undefined> {
    return presignedUrl(this.storage, this.key, this.ctx, object, downloads);
  }

  directUrlNow(object: IServedObject, downloads: IResolvedDownloads): string | undefined {
    return this.storage.presignedGetNow(this.key, this.ctx, presignRequest(object, downloads));
  }

  heldUntil(): IHeldRedirect | undefined {
    return this.storage.redirectHeldUntil(this.key);
  }

  protected override stat(): Promise<IObjectInfo | null> {
    return this.storage.statRecent(this.key);
  }
}

/**
 * A document held as bytes (rendered, or read whole through a cache) as `serveObject` reads it:
 * `load` runs once per source, so a conditional GET's describe() and open() cost one load.
 */
export function bufferedObjectSource(load: () => Promise<IBufferedObject | null>): IObjectSource {
  return new BufferedObjectSource(load);
}

export interface IBufferedObject {
  object: IServedObject;
  bytes: Buffer;
}

const servedOfDocument = new WeakMap<ICachedDocument<unknown>, IBufferedObject>();

/**
 * A cached document's bytes and served object, made by `make` once per version of the document (the cache keeps
 * one object per version) and kept with it, its response headers too (keptServedObject): a GET of a kept
 * document builds none of them. `make` should be a function made once, not per request.
 */
export function keptDocumentObject<T>(document: ICachedDocument<T>, make: (document: ICachedDocument<T>) => IBufferedObject): IBufferedObject {
  let served = servedOfDocument.get(document);
  if (!served) {
    served = make(document);
    keptServedObject(served.object);
    servedOfDocument.set(document, served);
  }
  return served;
}

/** A class rather than an object of closures: one is made per document GET. */
class BufferedObjectSource implements IObjectSource {
  private loading?: Promise<IBufferedObject | null>;

  constructor(private readonly load: () => Promise<IBufferedObject | null>) {}

  /** A getter, not a field: nothing more to set per GET. */
  get inMemory(): boolean {
    return true;
  }

  async describe(): Promise<IServedObject | null> {
    return (await this.loaded())?.object ?? null;
  }

  async open(span?: IByteSpan): Promise<IOpenedObject | null> {
    const loaded = await this.loaded();
    if (!loaded) return null;
    const bytes = span ? loaded.bytes.subarray(span.start, span.end + 1) : loaded.bytes;
    return { object: loaded.object, body: bytes, length: bytes.length };
  }

  private loaded(): Promise<IBufferedObject | null> {
    return (this.loading ??= this.load());
  }
}

/**
 * A stored document served from `cache` as it is stored now (one recent stat when this instance holds it, a
 * read only after a change): a document that is served as stored (PyPI's PEP 658 metadata file).
 */
export function cachedDocumentSource(cache: DocumentCache, key: string, contentType: string): IObjectSource {
  return bufferedObjectSource(async () => {
    const document = await cache.read(key, asStored);
    if (!document) return null;
    const bytes = document.value;
    return { object: { size: bytes.length, etag: document.etag, lastModified: document.lastModified, contentType }, bytes };
  });
}

const asStored = (bytes: Buffer) => bytes;
