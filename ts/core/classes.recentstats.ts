import { BoundedCache } from './classes.boundedcache.js';
import type { IObjectInfo } from './storage/interfaces.storage.js';

export interface IRecentStatsOptions {
  /** How long a stat answers for its key; 0 asks storage every time. */
  windowMs: number;
  /** Most keys remembered (least recently used out). */
  maxEntries: number;
  /** Milliseconds now; injected by tests. */
  now?: () => number;
}

/**
 * Stats of stored documents remembered for a short window, so that a metadata read, which checks
 * two or three documents before it answers from memory, does not cost as many storage round trips.
 *
 * Staleness it allows: a write through this instance forgets the key at once (a publish is seen by
 * the next read here), a write by another instance on the same storage is seen once the window has
 * passed. Concurrent stats of one key share one round trip. A stat in flight when the key is
 * written is not remembered.
 */
export class RecentStats {
  private readonly remembered: BoundedCache<{ info: IObjectInfo | null }>;
  /** Bumped by every `forget`: what was made from remembered stats holds only while this is unchanged. */
  changes = 0;
  /** The clock of the window. */
  readonly now: () => number;

  constructor(
    private readonly stat: (key: string) => Promise<IObjectInfo | null>,
    private readonly options: IRecentStatsOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.remembered = new BoundedCache({ maxEntries: options.maxEntries, ttlMs: options.windowMs, now: this.now });
  }

  /** The object's info as stored at most `windowMs` ago (null: none), or now after this instance wrote it. */
  async get(key: string): Promise<IObjectInfo | null> {
    if (this.options.windowMs <= 0) return this.stat(key);
    // A hit without the loader closure and the shared-load machinery: metadata reads check several keys each.
    const kept = this.remembered.get(key);
    if (kept) return kept.info;
    const entry = await this.remembered.getOrLoad(key, async () => ({ info: await this.stat(key) }));
    return entry!.info;
  }

  /**
   * What `get` would answer without asking storage: the remembered info (null: none stored), or undefined
   * when storage must be asked. Reads that check several keys take it first: an `await` per key of a value
   * already known costs a promise and a turn of the microtask queue each.
   */
  peek(key: string): IObjectInfo | null | undefined {
    if (this.options.windowMs <= 0) return undefined;
    return this.remembered.get(key)?.info;
  }

  /** Until when (by `now`) `peek` answers for `key` without storage; undefined when it does not now. */
  heldUntil(key: string): number | undefined {
    if (this.options.windowMs <= 0) return undefined;
    const until = this.remembered.expiresAt(key);
    return until !== undefined && until > this.now() ? until : undefined;
  }

  /** This instance changed or deleted `key` (or tried to): the next `get` asks storage. */
  forget(key: string): void {
    this.changes++;
    this.remembered.delete(key);
  }
}
