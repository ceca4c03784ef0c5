import type { CacheBudget, ICacheBudgetMember } from './classes.cachebudget.js';

export interface IBoundedCacheOptions<V> {
  /** Most entries kept; the least recently used make room. */
  maxEntries: number;
  /** Most bytes kept in all (sizes from `sizeOf` or `set`'s `bytes`); default: no byte bound. */
  maxBytes?: number;
  /** Larger entries are not kept at all (so one cannot flush the rest); default `maxBytes`. */
  maxEntryBytes?: number;
  /** An entry is served at most this long after it was set; default: until evicted. */
  ttlMs?: number;
  /** The size of a value, counted against `maxBytes`. */
  sizeOf?: (value: V) => number;
  /** Checked on every hit: an entry it refuses is dropped and reads as a miss. */
  isValid?: (value: V, key: string) => boolean;
  /** Milliseconds now; injected by tests. */
  now?: () => number;
  /** A memory budget shared with other caches: past it, the least recently used entry of them all goes. */
  budget?: CacheBudget;
}

export interface ICacheSetOptions {
  /** Size of this value; default `sizeOf(value)`, or 0. */
  bytes?: number;
  /** When this entry stops being served (ms, by the cache's clock); default now + `ttlMs`. */
  expiresAt?: number;
}

export interface ICacheLoadOptions<V> {
  /** This caller's test of a hit (or of a shared load's result), e.g. an etag it just read. */
  isCurrent?: (value: V) => boolean;
}

interface IEntry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
  /** The budget's stamp of the last use (0 without a budget). */
  usedAt: number;
  /** `placements` when it was put at the recent end of `entries`. */
  placed: number;
}

interface IFlight<V> {
  promise: Promise<V | undefined>;
  /** Set when the key was written or dropped during the load: its result is not kept. */
  superseded: boolean;
}

/**
 * The one in-memory cache: least recently used out (nearly: see `get`) past a count and a byte budget, entries that
 * expire, a validation callback on every hit, and single-flight loading (concurrent misses of a key
 * share one load). Caches are an optimisation, never the truth: whatever is kept can be dropped.
 */
export class BoundedCache<V> implements ICacheBudgetMember {
  private readonly entries = new Map<string, IEntry<V>>();
  private readonly flights = new Map<string, IFlight<V>>();
  private totalBytes = 0;
  /** Entries put at the recent end so far: how far from that end an entry is, at most. */
  private placements = 0;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: IBoundedCacheOptions<V>) {
    if (!(options.maxEntries >= 0)) throw new Error('BoundedCache needs maxEntries >= 0');
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? this.maxBytes, this.maxBytes, options.budget?.maxBytes ?? Number.POSITIVE_INFINITY);
    this.ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now;
    options.budget?.join(this);
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The value kept for `key`, if it is still valid; a hit outside the recent half becomes the most recently used. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Most caches keep entries until evicted: no clock read for those.
    if ((entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= this.now()) || (this.options.isValid && !this.options.isValid(entry.value, key))) {
      this.drop(key);
      return undefined;
    }
    // An entry in the recent half stays where it is: moving it costs a Map delete and set on every hit
    // of a hot key (several per request), and it is not next in line to make room either way. Its use is
    // still stamped, so the shared budget sees a cache whose only (first) entry is hot as recently used.
    if (this.placements - entry.placed >= this.entries.size / 2) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.placed = ++this.placements;
    }
    entry.usedAt = this.stamp();
    return entry.value;
  }

  /** When the entry kept for `key` stops being served, by the cache's clock; undefined when none is kept. */
  expiresAt(key: string): number | undefined {
    return this.entries.get(key)?.expiresAt;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Keep `value` (replacing what was kept); too large a value is not kept and drops the old one. */
  set(key: string, value: V, options: ICacheSetOptions = {}): void {
    this.supersede(key);
    this.drop(key);
    const bytes = options.bytes ?? this.options.sizeOf?.(value) ?? 0;
    const expiresAt = options.expiresAt ?? this.now() + this.ttlMs;
    if (bytes > this.maxEntryBytes || this.options.maxEntries === 0 || expiresAt <= this.now()) return;
    this.entries.set(key, { value, bytes, expiresAt, usedAt: this.stamp(), placed: ++this.placements });
    this.totalBytes += bytes;
    this.options.budget?.add(bytes);
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.totalBytes <= this.maxBytes) break;
      this.drop(oldest);
    }
    this.options.budget?.settle();
  }

  /** Forget `key`; a load of it under way is not kept when it ends. */
  delete(key: string): void {
    this.supersede(key);
    this.drop(key);
  }

  /** Forget every entry the predicate picks. */
  deleteWhere(picks: (key: string, value: V) => boolean): void {
    for (const [key, entry] of [...this.entries]) {
      if (picks(key, entry.value)) this.delete(key);
    }
  }

  /** Take an entry out: returns it (if valid) and forgets it. */
  take(key: string): V | undefined {
    const value = this.get(key);
    this.delete(key);
    return value;
  }

  clear(): void {
    for (const key of this.flights.keys()) this.supersede(key);
    this.entries.clear();
    this.options.budget?.add(-this.totalBytes);
    this.totalBytes = 0;
  }

  /** For the shared budget: when the least recently used entry was last used. */
  oldestUse(): number | undefined {
    for (const entry of this.entries.values()) return entry.usedAt;
    return undefined;
  }

  /** For the shared budget: drop the least recently used entry. */
  evictOldest(): void {
    for (const key of this.entries.keys()) return this.drop(key);
  }

  /**
   * The kept value, or else `load()`'s, kept for next time. Concurrent misses of one key share one
   * load; a caller whose `isCurrent` refuses the shared result loads once more on its own. A load
   * answering undefined keeps nothing; a failed load keeps nothing and fails every caller sharing it.
   */
  async getOrLoad(key: string, load: () => Promise<V | undefined>, options: ICacheLoadOptions<V> = {}): Promise<V | undefined> {
    const kept = this.get(key);
    if (kept !== undefined && (!options.isCurrent || options.isCurrent(kept))) return kept;
    const flight = this.flights.get(key);
    if (flight) {
      const shared = await flight.promise;
      if (shared === undefined || !options.isCurrent || options.isCurrent(shared)) return shared;
    }
    return this.startFlight(key, load).promise;
  }

  private startFlight(key: string, load: () => Promise<V | undefined>): IFlight<V> {
    this.supersede(key);
    const flight = { superseded: false } as IFlight<V>;
    this.flights.set(key, flight);
    flight.promise = (async () => {
      try {
        const value = await load();
        if (value !== undefined && !flight.superseded) this.set(key, value);
        return value;
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }
    })();
    return flight;
  }

  private supersede(key: string) {
    const flight = this.flights.get(key);
    if (!flight) return;
    flight.superseded = true;
    this.flights.delete(key);
  }

  private drop(key: string) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    this.options.budget?.add(-entry.bytes);
  }

  private stamp(): number {
    return this.options.budget?.stamp() ?? 0;
  }
}
