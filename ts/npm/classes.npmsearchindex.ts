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
  /** lower-case name without its scope */
  bare: string;
}

/** Words of a shard, sorted, each with the (ascending) entries it occurs in. */
interface ITokenIndex {
  tokens: string[];
  postings: Int32Array[];
}

/** A shard as queries see it: its entries and an index of the words in them. */
interface ILoadedShard {
  /** Etag of the stored shard this copy was read from; null when read absent. */
  etag: string | null;
  entries: IIndexedEntry[];
  words: ITokenIndex;
}

export interface ISearchResult {
  total: number;
  entries: INpmSearchEntry[];
}

export const searchShardOf = (name: string) => crypto.createHash('sha1').update(name).digest()[0] % SEARCH_SHARD_COUNT;

const WORD_SEPARATORS = /[^a-z0-9]+/;
const splitWords = (text: string) => text.toLowerCase().split(WORD_SEPARATORS).filter(Boolean);

/** The words a package is found by: its name (whole, without scope, and in parts), description and keywords. */
function entryWords(entry: INpmSearchEntry): Set<string> {
  const name = entry.name.toLowerCase();
  const words = new Set<string>([name, ...splitWords(name), ...splitWords(entry.description ?? '')]);
  if (name.startsWith('@')) words.add(name.slice(name.indexOf('/') + 1));
  for (const keyword of entry.keywords ?? []) {
    words.add(keyword.toLowerCase());
    for (const word of splitWords(keyword)) words.add(word);
  }
  return words;
}

function loadShard(doc: IShardDocument | null, etag: string | null): ILoadedShard {
  const packages = Object.values(doc?.packages ?? {});
  const entries: IIndexedEntry[] = [];
  const postings = new Map<string, number[]>();
  packages.forEach((entry, index) => {
    const name = entry.name.toLowerCase();
    entries.push({ entry, name, bare: name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name });
    for (const word of entryWords(entry)) {
      const list = postings.get(word);
      if (list) list.push(index);
      else postings.set(word, [index]);
    }
  });
  const tokens = [...postings.keys()].sort();
  return { etag, entries, words: { tokens, postings: tokens.map((token) => Int32Array.from(postings.get(token)!)) } };
}

/** First index in sorted `tokens` not less than `value`. */
function lowerBound(tokens: string[], value: string): number {
  let low = 0;
  let high = tokens.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (tokens[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Better first: tier, then shorter name, then name. */
const ranksBefore = (a: IIndexedEntry, aTier: number, b: IIndexedEntry, bTier: number) =>
  aTier !== bTier ? aTier < bTier : a.name.length !== b.name.length ? a.name.length < b.name.length : a.name < b.name;

/** The best `limit` matches so far, kept sorted; everything else is only counted. */
class TopMatches {
  readonly items: { indexed: IIndexedEntry; tier: number }[] = [];
  total = 0;
  constructor(private readonly limit: number) {}

  add(indexed: IIndexedEntry, tier: number) {
    this.total++;
    const items = this.items;
    if (items.length === this.limit) {
      const worst = items[items.length - 1];
      if (!ranksBefore(indexed, tier, worst.indexed, worst.tier)) return;
      items.pop();
    }
    let at = items.length;
    while (at > 0 && ranksBefore(indexed, tier, items[at - 1].indexed, items[at - 1].tier)) at--;
    items.splice(at, 0, { indexed, tier });
  }
}

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
  ) {
  }

  /** Add or replace a package's entry, unless the stored one was derived from a later revision (or `force`). */
  async upsert(entry: INpmSearchEntry, ctx: IStorageOperationContext, force = false): Promise<void> {
    await this.update(entry.name, ctx, (packages) => {
      const existing = packages[entry.name];
      if (!force && existing && (existing.rev ?? 0) > (entry.rev ?? 0)) return false;
      packages[entry.name] = entry;
      return true;
    });
  }

  /** Remove a package's entry, unless it was derived from a revision later than `rev`. */
  async remove(name: string, ctx: IStorageOperationContext, rev = Number.MAX_SAFE_INTEGER): Promise<void> {
    await this.update(name, ctx, (packages) => {
      const existing = packages[name];
      if (!existing || (existing.rev ?? 0) > rev) return false;
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
        const stored = await this.storage.updateDocument<IShardDocument>(npmPaths.searchShard(shard), ctx, (current) => {
          const doc = current ?? { v: 1, packages: {} };
          for (const entry of shardEntries) doc.packages[entry.name] = entry;
          return doc;
        });
        this.setShard(shard, stored.value, stored.etag);
      }),
    );
  }

  /**
   * Every query word must start a word of the package (name, name parts, description, keywords).
   * Ranked: exact name, then name prefix, then every query word in the name, then the rest; shorter
   * names first within a rank.
   */
  async search(text: string, size: number, from: number): Promise<ISearchResult> {
    await this.ensureFresh();
    const query = text.trim().toLowerCase().replace(/\s+/g, ' ');
    const terms = searchTerms(query);
    const words = [...new Set(splitWords(query))];
    const top = new TopMatches(from + size);
    if (terms.length > 0 && words.length === 0) return { total: 0, entries: [] };
    for (const shard of this.shards) {
      if (!shard || shard.entries.length === 0) continue;
      if (words.length === 0) {
        for (const indexed of shard.entries) top.add(indexed, 3);
        continue;
      }
      // marks[i] counts the query words entry i matched so far, in order, so each counts once.
      const marks = new Uint8Array(shard.entries.length);
      const { tokens, postings } = shard.words;
      for (let w = 0; w < words.length; w++) {
        const prefix = words[w];
        for (let t = lowerBound(tokens, prefix); t < tokens.length && tokens[t].startsWith(prefix); t++) {
          for (const index of postings[t]) if (marks[index] === w) marks[index] = w + 1;
        }
      }
      for (let index = 0; index < marks.length; index++) {
        if (marks[index] !== words.length) continue;
        const indexed = shard.entries[index];
        top.add(indexed, rankSearchMatch(query, terms, indexed.name, indexed.bare));
      }
    }
    return { total: top.total, entries: top.items.slice(from).map((item) => item.indexed.entry) };
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
    const stored = await this.storage.updateDocument<IShardDocument>(npmPaths.searchShard(shard), ctx, (current) => {
      const doc = current ?? { v: 1, packages: {} };
      if (!change(doc.packages)) return UNCHANGED;
      return Object.keys(doc.packages).length === 0 ? DELETE : doc;
    });
    if (stored.changed || !this.shards[shard]) this.setShard(shard, stored.value, stored.etag);
  }

  /** `doc` is read synchronously here and not kept (the writer may change it in place later). */
  private setShard(shard: number, doc: IShardDocument | null, etag: string | null, generation?: number) {
    if (generation === undefined) this.generations[shard]++;
    else if (generation !== this.generations[shard]) return;
    this.shards[shard] = loadShard(doc, etag);
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
