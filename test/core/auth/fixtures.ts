// Shared set-up for the auth tests: a RegistryStorage on a FilesystemBackend in a temp dir.
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryStorage } from '../../../ts/core/classes.registrystorage.js';
import { FilesystemBackend } from '../../../ts/core/storage/classes.filesystembackend.js';

export interface ITempStorage {
  storage: RegistryStorage;
  dir: string;
  /** Every stored file's bytes, as text: to prove what is (not) at rest. */
  readAll(): Promise<Map<string, string>>;
  cleanup(): Promise<void>;
}

export async function createTempStorage(): Promise<ITempStorage> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-auth-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir));
  await storage.init();
  return {
    storage,
    dir,
    async readAll() {
      const files = new Map<string, string>();
      for (const entry of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
        files.set(path.relative(dir, file), await fsp.readFile(file, 'utf8'));
      }
      return files;
    },
    async cleanup() {
      await storage.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
