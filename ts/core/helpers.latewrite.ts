import type { RegistryStorage } from './classes.registrystorage.js';

/**
 * A write that follows a change's answer (derived documents, search entries) of a package whose truth is stored
 * at `truthKey`. When the package was deleted, through another instance, after the answer and before the write
 * landed, the deletion's removals may have come first and what was written would outlive it (a search entry is
 * never repaired): `undo` then removes it again, in revision order, so a newer publish's writes stay. A stat
 * that fails (storage unreachable) counts as still stored, the common case.
 */
export async function writeUnlessDeletedMeanwhile<R>(storage: RegistryStorage, truthKey: string, write: () => Promise<R>, undo: (written: R) => Promise<R>): Promise<R> {
  const written = await write();
  if (await storage.stat(truthKey).catch(() => true)) return written;
  return undo(written);
}
