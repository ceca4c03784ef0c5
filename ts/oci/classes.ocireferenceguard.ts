import { CORE_CONTEXT, type RegistryStorage } from '../core/classes.registrystorage.js';
import { isPreconditionFailed } from '../core/classes.registryerror.js';
import { mapLimited } from '../core/helpers.async.js';

/** Keys held at once by one push. */
const HOLD_CONCURRENCY = 16;

/**
 * The push side of online garbage collection. The collector deletes a blob record, a repository's blob
 * link or a manifest only when it is unreferenced and its storage `lastModified` is older than the grace
 * period, and only with a conditional delete on the etag it listed. A push that is about to rely on such an
 * object (a manifest naming a layer or a child manifest, an upload or mount reusing a stored blob, a client
 * told by HEAD that a blob is there) *holds* it first: an object older than half the grace period is
 * rewritten (its JSON with a new `heldAt`), conditionally on the etag just read. Either the rewrite lands first, and the
 * collector's delete fails on the changed etag (or the collector, listing later, sees a young object), or the
 * delete lands first, and the rewrite fails: the push then treats the object as missing and answers
 * accordingly (MANIFEST_BLOB_UNKNOWN, a new upload). Both are operations on one key, so exactly one wins.
 * An object younger than half the grace period needs no rewrite: the collector cannot take it before the
 * push's dependent write unless that write comes more than half the grace period later, which `stillHeld`
 * checks.
 */
export class OciReferenceGuard {
  constructor(
    private readonly storage: RegistryStorage,
    readonly gracePeriodMs: number,
  ) {}

  /** Hold each key; returns the keys that do not exist (or were just collected). */
  async hold(keys: readonly string[]): Promise<string[]> {
    const held = await mapLimited(keys, HOLD_CONCURRENCY, (key) => this.holdOne(key));
    return keys.filter((_, index) => !held[index]);
  }

  /** After the write that depends on keys held at `heldAt`: the keys that went missing (none when it came in time). */
  async stillHeld(keys: readonly string[], heldAt: number): Promise<string[]> {
    if (Date.now() - heldAt < this.gracePeriodMs / 2) return [];
    const present = await mapLimited(keys, HOLD_CONCURRENCY, async (key) => (await this.storage.stat(key)) !== null);
    return keys.filter((_, index) => !present[index]);
  }

  private async holdOne(key: string): Promise<boolean> {
    const info = await this.storage.stat(key);
    if (!info) return false;
    if (Date.now() - info.lastModified.getTime() < this.gracePeriodMs / 2) return true;
    const current = await this.storage.getJson<Record<string, unknown>>(key);
    if (!current) return false;
    try {
      // A changed field, not the same bytes: S3 etags are content hashes, and the etag must change.
      // Bookkeeping, not a user's write: no storage hooks (the core context).
      await this.storage.putJson(key, { ...current.value, heldAt: new Date().toISOString() }, CORE_CONTEXT, { ifMatch: current.etag });
      return true;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      // Someone else rewrote it meanwhile (another push holding it: it is young now), or the collector took it.
      return (await this.storage.stat(key)) !== null;
    }
  }
}
