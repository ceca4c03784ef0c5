import type { RegistryStorage } from './classes.registrystorage.js';

/** What a late write did: its result, and whether what it wrote may outlive a deletion made meanwhile. */
export interface ILateWrite<R> {
  written: R;
  /**
   * False when every document it wrote replaced the package's own part of a document as first found, conditional
   * on that version's etag (and when it wrote nothing): a deletion's removal that came first changed that version
   * and refused the write, one that comes after takes what was written.
   */
  mayOutliveDeletion: boolean;
}

/**
 * A write that follows a change's answer (derived documents, search entries) of a package whose truth is stored
 * at `truthKey`. When the package was deleted, through another instance, after the answer and before the write
 * landed, the deletion's removals may have come first and what was written would outlive it (a search entry is
 * never repaired): `undo` then removes it again, in revision order, so a newer publish's writes stay. A write that
 * cannot outlive a deletion (see `ILateWrite`) costs no check. A stat that fails (storage unreachable) counts as
 * still stored, the common case.
 */
export async function writeUnlessDeletedMeanwhile<R>(storage: RegistryStorage, truthKey: string, write: () => Promise<ILateWrite<R>>, undo: (written: R) => Promise<R>): Promise<R> {
  const { written, mayOutliveDeletion } = await write();
  if (!mayOutliveDeletion) return written;
  if (await storage.stat(truthKey).catch(() => true)) return written;
  return undo(written);
}
