import * as crypto from 'node:crypto';
import { DELETE, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import { npmPaths } from '../core/storage.paths.js';
import { rankSearchMatch, searchTerms, type TSearchTier } from './helpers.npm.js';
import type { INpmSearchEntry } from './interfaces.npm.js';

/** Never change once data exists: a package's shard is derived from it. */
export const SEARCH_SHARD_COUNT = 128;

interface IShardDocument {
  v: 1;
  packages: Record<string, INpmSearchEntry>;
}

interface IIndexedEntry {
  entry: INpmSearchEntry;
  /** lower-case name */
  name: string;
  /** lower-case name, description and keywords */
  text: string;
}

interface ILoadedShard {
  /** Etag of the stored shard this copy was read from; null when read absent or changed locally since. */
  etag: string | null;
  entries: IIndexedEntry[];
}

export interface ISearchResult {
  total: number;
  entries: INpmSearchEntry[];
}

export const searchShardOf = (name: string) => crypto.createHash('sha1').update(name).digest()[0] % SEARCH_SHARD_COUNT;

const indexEntry = (entry: INpmSearchEntry): IIndexedEntry => ({
  entry,
  name: entry.name.toLowerCase(),
  text: [entry.name, entry.description ?? '', ...(entry.keywords ?? [])].join(' ').toLowerCase(),
});

/**
 * The package search index. It lives in storage as 128 small shards (a package's shard is a hash of
 * its name), each updated atomically on publish and unpublish, so a publish rewrites a few KB and
 * several instances never lose each other's updates. Queries run on an in-memory copy: shards
 * written by this instance are updated in place at once, and all shards are re-validated by etag
 * against storage at most every `revalidateMs`, so other instances' changes show up within that time.
 * A query never lists the bucket.
 */
export class NpmSearchIndex {
  private readonly shards: (ILoadedShard | undefined)[] = new Array(SEARCH_SHARD_COUNT);
  /** Bumped by local writes, so a revalidation that read a shard before the write does not undo it. */
  private readonly generations = new Uint32Array(SEARCH_SHARD_COUNT);
  private validatedAt = 0;
  private validating?: Promise<void>;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly revalidateMs: number,
  ) {}

  /** Add or replace a package's entry. */
  async upsert(entry: INpmSearchEntry, ctx: IStorageOperationContext): Promise<void> {
    await this.update(entry.name, ctx, (packages) => {
      packages[entry.name] = entry;
      return true;
    });
  }

  async remove(name: string, ctx: IStorageOperationContext): Promise<void> {
    await this.update(name, ctx, (packages) => {
      if (!Object.hasOwn(packages, name)) return false;
      delete packages[name];
      return true;
    });
  }

  /** Entries for many packages at once (index rebuilds, benchmarks): one write per shard. */
  async upsertMany(entries: INpmSearchEntry[], ctx: IStorageOperationContext): Promise<void> {
    const byShard = new Map<number, INpmSearchEntry[]>();
    for (const entry of entries) {
      const shard = searchShardOf(entry.name);
      byShard.set(shard, [...(byShard.get(shard) ?? []), entry]);
    }
    await Promise.all(
      [...byShard].map(async ([shard, shardEntries]) => {
        const stored = await this.storage.updateJson<IShardDocument>(npmPaths.searchShard(shard), ctx, (current) => {
          const doc = current ?? { v: 1, packages: {} };
          for (const entry of shardEntries) doc.packages[entry.name] = entry;
          return doc;
        });
        this.setShard(shard, stored, null);
      }),
    );
  }

  /** Exact name first, then name prefix, then every term in the name, then matches in description and keywords. */
  async search(text: string, size: number, from: number): Promise<ISearchResult> {
    await this.ensureFresh();
    const query = text.trim().toLowerCase();
    const terms = searchTerms(query);
    const tiers: IIndexedEntry[][] = [[], [], [], []];
    for (const shard of this.shards) {
      if (!shard) continue;
      for (const indexed of shard.entries) {
        const tier: TSearchTier | null = rankSearchMatch(query, terms, indexed.name, indexed.text);
        if (tier !== null) tiers[tier].push(indexed);
      }
    }
    const total = tiers.reduce((sum, tier) => sum + tier.length, 0);
    const wanted = from + size;
    const ordered: IIndexedEntry[] = [];
    for (const tier of tiers) {
      if (ordered.length >= wanted) break;
      // Only tiers that reach into the requested page are sorted.
      tier.sort((a, b) => a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      ordered.push(...tier.slice(0, wanted - ordered.length));
    }
    return { total, entries: ordered.slice(from, wanted).map((indexed) => indexed.entry) };
  }

  /** Drop the in-memory copy; the next query reloads from storage. */
  reset(): void {
    this.shards.fill(undefined);
    this.validatedAt = 0;
  }

  private async update(
    name: string,
    ctx: IStorageOperationContext,
    change: (packages: Record<string, INpmSearchEntry>) => boolean,
  ): Promise<void> {
    const shard = searchShardOf(name);
    const stored = await this.storage.updateJson<IShardDocument>(npmPaths.searchShard(shard), ctx, (current) => {
      const doc = current ?? { v: 1, packages: {} };
      if (!change(doc.packages)) return UNCHANGED;
      return Object.keys(doc.packages).length === 0 ? DELETE : doc;
    });
    // The etag of what was written is not known here: keep the content, reload on the next validation.
    this.setShard(shard, stored, null);
  }

  private setShard(shard: number, doc: IShardDocument | null, etag: string | null, generation?: number) {
    if (generation === undefined) this.generations[shard]++;
    else if (generation !== this.generations[shard]) return;
    this.shards[shard] = { etag, entries: Object.values(doc?.packages ?? {}).map(indexEntry) };
  }

  private async ensureFresh(): Promise<void> {
    if (Date.now() - this.validatedAt < this.revalidateMs) return;
    this.validating ??= this.revalidate().finally(() => (this.validating = undefined));
    await this.validating;
  }

  private async revalidate(): Promise<void> {
    const started = Date.now();
    await Promise.all(
      Array.from({ length: SEARCH_SHARD_COUNT }, async (_, shard) => {
        const key = npmPaths.searchShard(shard);
        const generation = this.generations[shard];
        const info = await this.storage.stat(key);
        const loaded = this.shards[shard];
        if (!info) {
          if (!loaded || loaded.etag !== null || loaded.entries.length > 0) this.setShard(shard, null, null, generation);
          return;
        }
        if (loaded && loaded.etag === info.etag) return;
        const stored = await this.storage.getJson<IShardDocument>(key);
        this.setShard(shard, stored?.value ?? null, stored?.etag ?? null, generation);
      }),
    );
    this.validatedAt = started;
  }
}
