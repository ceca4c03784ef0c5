import type { DocumentCache } from './classes.documentcache.js';
import type { IStorageOperationContext, RegistryStorage } from './classes.registrystorage.js';
import type { IByteSpan, IObjectSource, IOpenedObject, IServedObject } from './helpers.serve.js';
import type { IObjectInfo } from './storage/interfaces.storage.js';

/**
 * A stored metadata document as `serveObject` reads it: stat for `describe`, one (ranged) get for `open`.
 * Always served by the registry.
 */
export function storedObjectSource(
  storage: RegistryStorage,
  key: string,
  ctx: IStorageOperationContext,
  contentType: string,
  stat: (key: string) => Promise<IObjectInfo | null> = (at) => storage.stat(at),
): IObjectSource {
  const describe = (info: IObjectInfo): IServedObject => ({ size: info.size, etag: info.etag, lastModified: info.lastModified, contentType });
  return {
    describe: async () => {
      const info = await stat(key);
      return info && describe(info);
    },
    open: async (span) => {
      const result = await storage.getObject(key, ctx, span);
      return result && { object: describe(result.info), body: result.stream, length: result.length };
    },
  };
}

/** `directUrl` of an artifact stored whole at `key`: a presigned URL of the object store (see `downloads`). */
export function presignedDirectUrl(storage: RegistryStorage, key: string, ctx: IStorageOperationContext): NonNullable<IObjectSource['directUrl']> {
  return (object, downloads) =>
    storage.presignedGet(key, ctx, {
      size: object.size,
      expiresIn: downloads.expiresIn,
      publicUrl: downloads.publicUrl,
      contentType: object.contentType,
      signedAt: downloads.now(),
    });
}

/**
 * A stored artifact (tarball, jar, crate, wheel, gem, dist): served like a document, or redirected to the
 * object store. Its ETag is the store's own, so the validators a client holds mean the same on both sides.
 * Its stat (for a redirect, a conditional or ranged GET, a HEAD) may be up to `cache.validationWindowMs` old,
 * as a metadata document's: a redirect then costs no storage round trip. Written or deleted through another
 * instance within the window, the client is sent to the key as it is now (the store answers 404 for a
 * deleted one); a plain streamed GET reads the object itself.
 */
export function storedArtifactSource(
  storage: RegistryStorage,
  key: string,
  ctx: IStorageOperationContext,
  contentType: string,
): IObjectSource {
  return { ...storedObjectSource(storage, key, ctx, contentType, (at) => storage.statRecent(at)), directUrl: presignedDirectUrl(storage, key, ctx) };
}

/**
 * A document held as bytes (rendered, or read whole through a cache) as `serveObject` reads it:
 * `load` runs once per source, so a conditional GET's describe() and open() cost one load.
 */
export function bufferedObjectSource(load: () => Promise<IBufferedObject | null>): IObjectSource {
  return new BufferedObjectSource(load);
}

interface IBufferedObject {
  object: IServedObject;
  bytes: Buffer;
}

/** A class rather than an object of closures: one is made per document GET. */
class BufferedObjectSource implements IObjectSource {
  private loading?: Promise<IBufferedObject | null>;

  constructor(private readonly load: () => Promise<IBufferedObject | null>) {}

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
