// Shared set-up for the auth tests: a RegistryStorage on a FilesystemBackend in a temp dir, and a
// way to read back everything it holds (to prove what is, and is not, stored at rest).
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryStorage } from '../../../ts/core/classes.registrystorage.js';
import { FilesystemBackend } from '../../../ts/core/storage/classes.filesystembackend.js';

export interface ITempStorage {
  storage: RegistryStorage;
  /** Every stored object, as text. */
  readAll(): Promise<Map<string, string>>;
  cleanup(): Promise<void>;
}

export async function createTempStorage(): Promise<ITempStorage> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-auth-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir));
  await storage.init();
  return {
    storage,
    async readAll() {
      const files = new Map<string, string>();
      for await (const object of storage.listAll('')) {
        const document = await storage.getBytes(object.key);
        if (document) files.set(object.key, document.bytes.toString('utf8'));
      }
      return files;
    },
    async cleanup() {
      await storage.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
