/** What a cache sharing a budget lets the budget see and take. */
export interface ICacheBudgetMember {
  /** The use stamp of its least recently used entry; undefined when it keeps nothing. */
  oldestUse(): number | undefined;
  /** Drop its least recently used entry. */
  evictOldest(): void;
}

/**
 * One memory budget for many caches (documents, rendered pages, search shards of every protocol):
 * past it, the least recently used entry of all of them goes first, whichever cache holds it. So a
 * registry serving mostly npm lends npm the memory the other protocols do not use, and the caches
 * together never keep more than the budget.
 */
export class CacheBudget {
  private readonly members = new Set<ICacheBudgetMember>();
  private usedBytes = 0;
  private clock = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new Error('CacheBudget needs maxBytes >= 0');
  }

  /** Bytes the member caches keep together. */
  get bytes(): number {
    return this.usedBytes;
  }

  /** A use stamp: later uses get larger stamps, across all member caches. */
  stamp(): number {
    return ++this.clock;
  }

  join(member: ICacheBudgetMember): void {
    this.members.add(member);
  }

  /** A member kept `bytes` more (negative: fewer). */
  add(bytes: number): void {
    this.usedBytes += bytes;
  }

  /** Evict the least recently used entries of all members until the budget holds. */
  settle(): void {
    while (this.usedBytes > this.maxBytes) {
      let victim: ICacheBudgetMember | undefined;
      let oldest = Number.POSITIVE_INFINITY;
      for (const member of this.members) {
        const use = member.oldestUse();
        if (use !== undefined && use < oldest) {
          oldest = use;
          victim = member;
        }
      }
      if (!victim) return;
      victim.evictOldest();
    }
  }
}
