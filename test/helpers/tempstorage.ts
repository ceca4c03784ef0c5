import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';

/** A RegistryStorage on a fresh temporary directory, for tests that store uploads. */
export async function startTempStorage(prefix: string) {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  const storage = new RegistryStorage(new FilesystemBackend(root));
  await storage.init();
  return {
    storage,
    /** Every stored key: compared before and after a refused upload. */
    async keys(): Promise<string[]> {
      await storage.settled();
      const keys: string[] = [];
      for await (const object of storage.listAll('')) keys.push(object.key);
      return keys;
    },
    async stop(): Promise<void> {
      await storage.destroy();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}
