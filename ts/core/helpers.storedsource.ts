import type { IStorageOperationContext, RegistryStorage } from './classes.registrystorage.js';
import type { IObjectSource, IServedObject } from './helpers.serve.js';
import type { IObjectInfo } from './storage/interfaces.storage.js';

/** A stored object as `serveObject` reads it: stat for `describe`, one (ranged) get for `open`. */
export function storedObjectSource(
  storage: RegistryStorage,
  key: string,
  ctx: IStorageOperationContext,
  contentType: string,
): IObjectSource {
  const describe = (info: IObjectInfo): IServedObject => ({ size: info.size, etag: info.etag, lastModified: info.lastModified, contentType });
  return {
    describe: async () => {
      const info = await storage.stat(key);
      return info && describe(info);
    },
    open: async (span) => {
      const result = await storage.getObject(key, ctx, span);
      return result && { object: describe(result.info), stream: result.stream, length: result.length };
    },
  };
}
