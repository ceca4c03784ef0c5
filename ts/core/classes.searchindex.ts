import * as crypto from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { BoundedCache } from './classes.boundedcache.js';
import { WorkUnderWay } from './classes.workunderway.js';
import type { Logger } from './classes.logger.js';
import { CORE_CONTEXT, DELETE, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from './classes.registrystorage.js';
import type { IDocumentUpdateResult } from './classes.documentupdater.js';
import { mapLimited } from './helpers.async.js';

/** What a protocol tells the index about its entries. */
export interface ISearchIndexSpec<E> {
  /** For logs. */
  label: string;
  /** Never change once data exists: an entry's shard is derived from its name. */
  shardCount: number;
  shardKey(shard: number): string;
  nameOf(entry: E): string;
  /** Revision of the truth the entry was derived from: an older one never replaces a newer. */
  revisionOf(entry: E): number;
  /** The entry trimmed to the index's bounds (keyword count and length, description length …). */
  bound(entry: E): E;
  /** The lower-case words an entry is found by; a query word must start one of them. */
  wordsOf(entry: E): Iterable<string>;
  /** For one query: the rank of a matching entry by its lower-case name (lower is better). */
  ranker(query: string): (name: string) => number;
  /** Every entry of one shard, from the truth documents (to rebuild a corrupt shard). */
  rebuild?(belongs: (name: string) => boolean): AsyncIterable<E>;
}

export interface ISearchIndexOptions {
  /** Other instances' writes are seen after at most this long. */
  revalidateMs: number;
  /**
   * At most this many bytes of loaded shards in memory (they share the storage's cache budget with
   * every other cache); shards that make room are read again when searched. Default: no cap of their own.
   */
  maxResidentBytes?: number;
  logger: Logger;
  now?: () => number;
}

export interface ISearchResult<E> {
  total: number;
  entries: E[];
}

interface IShardDocument<E> {
  v: 1;
  packages: Record<string, E>;
}

/** A change of a shard's entries; false when it changes nothing. */
type TShardChange<E> = (entries: Record<string, E>) => boolean;

/** Longest query looked at; query words taken from it at most. */
export const MAX_SEARCH_QUERY_LENGTH = 256;
const MAX_QUERY_WORDS = 16;
/** Shards read or stat'ed at once: a whole index read at once would peak memory for nothing. */
const LOAD_CONCURRENCY = 4;

const WORD_SEPARATORS = /[^a-z0-9]+/;
/** Lower-case words of a text (letters and digits). */
export const splitWords = (text: string) => text.toLowerCase().split(WORD_SEPARATORS).filter(Boolean);

/**
 * A shard as queries see it, compact: each entry kept as its JSON bytes (parsed only when it is
 * in a page of results), lower-case names for ranking, and the words in one sorted array with their
 * postings packed in one typed array. A few hundred bytes per entry instead of a tree of objects.
 */
class CompactShard<E> {
  readonly count: number;
  readonly names: string[] = [];
  private readonly records: Buffer;
  private readonly offsets: Uint32Array;
  readonly tokens: string[];
  /** Postings of tokens[t] are postings[starts[t] .. starts[t + 1]). */
  readonly starts: Uint32Array;
  readonly postings: Uint32Array;
  readonly bytes: number;

  constructor(
    readonly etag: string | null,
    entries: E[],
    spec: Pick<ISearchIndexSpec<E>, 'nameOf' | 'wordsOf'>,
  ) {
    this.count = entries.length;
    const parts: Buffer[] = [];
    this.offsets = new Uint32Array(entries.length + 1);
    const byToken = new Map<string, number[]>();
    let offset = 0;
    entries.forEach((entry, index) => {
      const json = Buffer.from(JSON.stringify(entry), 'utf8');
      parts.push(json);
      offset += json.length;
      this.offsets[index + 1] = offset;
      this.names.push(spec.nameOf(entry).toLowerCase());
      for (const word of new Set(spec.wordsOf(entry))) {
        const list = byToken.get(word);
        if (list) list.push(index);
        else byToken.set(word, [index]);
      }
    });
    this.records = Buffer.concat(parts);
    this.tokens = [...byToken.keys()].sort();
    this.starts = new Uint32Array(this.tokens.length + 1);
    let total = 0;
    this.tokens.forEach((token, t) => {
      total += byToken.get(token)!.length;
      this.starts[t + 1] = total;
    });
    this.postings = new Uint32Array(total);
    this.tokens.forEach((token, t) => this.postings.set(byToken.get(token)!, this.starts[t]));
    let textBytes = 0;
    for (const token of this.tokens) textBytes += 24 + token.length;
    for (const name of this.names) textBytes += 24 + name.length;
    this.bytes = this.records.length + this.offsets.byteLength + this.starts.byteLength + this.postings.byteLength + textBytes;
  }

  entry(index: number): E {
    return JSON.parse(this.records.toString('utf8', this.offsets[index], this.offsets[index + 1])) as E;
  }

  /** Whether the copy holds `json`, an entry's JSON, as the entry of lower-case `name`. */
  holds(name: string, json: string): boolean {
    for (let index = this.names.indexOf(name); index !== -1; index = this.names.indexOf(name, index + 1)) {
      if (this.records.toString('utf8', this.offsets[index], this.offsets[index + 1]) === json) return true;
    }
    return false;
  }

  /** The shard document this copy was made from. */
  document(nameOf: (entry: E) => string): IShardDocument<E> {
    const packages: Record<string, E> = {};
    for (let index = 0; index < this.count; index++) {
      const entry = this.entry(index);
      packages[nameOf(entry)] = entry;
    }
    return { v: 1, packages };
  }
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

interface IMatch {
  shard: CompactShard<unknown>;
  index: number;
  rank: number;
}

/** Better first: rank, then shorter name, then name. */
function ranksBefore(a: IMatch, b: IMatch): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  const aName = a.shard.names[a.index];
  const bName = b.shard.names[b.index];
  return aName.length !== bName.length ? aName.length < bName.length : aName < bName;
}

/** The best `limit` matches so far, kept sorted; everything else is only counted. */
class TopMatches {
  readonly items: IMatch[] = [];
  total = 0;
  constructor(private readonly limit: number) {}

  add(match: IMatch) {
    this.total++;
    const items = this.items;
    if (items.length === this.limit) {
      if (!ranksBefore(match, items[items.length - 1])) return;
      items.pop();
    }
    let at = items.length;
    while (at > 0 && ranksBefore(match, items[at - 1])) at--;
    items.splice(at, 0, match);
  }
}

/**
 * A search index generic over its entry type. It lives in storage as shards (an entry's shard is a
 * hash of its name), each updated atomically, so an update rewrites one small document and several
 * instances never lose each other's updates. Queries run on compact in-memory copies of the shards,
 * loaded on demand through the bounded cache (a few at a time) and revalidated by etag at most every
 * `revalidateMs`. A shard that cannot be read (corrupt, truncated) is skipped — searches still
 * answer from the others — and rebuilt from the truth documents.
 */
export class SearchIndex<E> {
  private readonly shards: BoundedCache<CompactShard<E>>;
  private validatedAt = Number.NEGATIVE_INFINITY;
  private validating?: Promise<void>;
  private readonly rebuilds = new Map<number, Promise<void>>();
  /** This instance's shard writes under way, until each settles: a search waits for them. */
  private readonly shardWrites = new WorkUnderWay();
  private readonly now: () => number;

  constructor(
    protected readonly storage: RegistryStorage,
    private readonly spec: ISearchIndexSpec<E>,
    private readonly options: ISearchIndexOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.shards = new BoundedCache<CompactShard<E>>({
      maxEntries: spec.shardCount,
      maxBytes: options.maxResidentBytes,
      budget: storage.cacheBudget,
      sizeOf: (shard) => shard.bytes,
    });
  }

  shardOf(name: string): number {
    return crypto.createHash('sha1').update(name).digest()[0] % this.spec.shardCount;
  }

  /**
   * Add or replace an entry, unless the stored one was derived from a later revision (or `force`). Resolves true
   * when the entry written may outlive a removal of it made meanwhile (see `writeUnlessDeletedMeanwhile`): it was
   * added to a shard that did not hold it, or written on a shard read again after a conflict. Replacing the entry
   * in the shard as first found, under that shard's etag, means no removal came in between; one coming after takes it.
   */
  async upsert(entry: E, ctx: IStorageOperationContext, force = false): Promise<boolean> {
    const bounded = this.spec.bound(entry);
    const name = this.spec.nameOf(bounded);
    const shard = this.shardOf(name);
    // Written already, this very entry (same revision): stored shards only move on to later revisions, so the copy
    // of one that holds it is not older than storage for this name. A protocol whose change leaves its entry alone
    // keeps the entry's revision (Composer) and writes nothing.
    if (!force && this.shards.get(String(shard))?.holds(name.toLowerCase(), JSON.stringify(bounded))) return false;
    let replaced = false;
    const written = await this.update(shard, ctx, (entries) => {
      const existing = entries[name];
      replaced = existing !== undefined;
      if (!force && existing && this.spec.revisionOf(existing) > this.spec.revisionOf(bounded)) return false;
      entries[name] = bounded;
      return true;
    });
    return written.changed && !(written.overwroteFound && replaced);
  }

  /** Remove an entry, unless it was derived from a revision later than `revision`. */
  async remove(name: string, ctx: IStorageOperationContext, revision = Number.MAX_SAFE_INTEGER): Promise<void> {
    await this.update(this.shardOf(name), ctx, (entries) => {
      const existing = entries[name];
      if (!existing || this.spec.revisionOf(existing) > revision) return false;
      delete entries[name];
      return true;
    });
  }

  /** Entries for many names at once (rebuilds, bulk loads): one write per shard. */
  async upsertMany(entries: E[], ctx: IStorageOperationContext): Promise<void> {
    const byShard = new Map<number, E[]>();
    for (const entry of entries) {
      const bounded = this.spec.bound(entry);
      const shard = this.shardOf(this.spec.nameOf(bounded));
      const list = byShard.get(shard);
      if (list) list.push(bounded);
      else byShard.set(shard, [bounded]);
    }
    await mapLimited([...byShard], LOAD_CONCURRENCY, ([shard, shardEntries]) =>
      this.update(shard, ctx, (stored) => {
        for (const entry of shardEntries) stored[this.spec.nameOf(entry)] = entry;
        return true;
      }),
    );
  }

  /**
   * Every query word must start a word of the entry. Ranked by the protocol's ranker, then shorter
   * names first, then by name. An empty query lists everything.
   */
  async search(text: string, size: number, from: number): Promise<ISearchResult<E>> {
    // What this instance has written shows at once, also when its writer did not wait for the write.
    if (!this.shardWrites.idle) await this.shardWrites.current();
    await this.ensureFresh();
    const query = text.slice(0, MAX_SEARCH_QUERY_LENGTH).trim().toLowerCase().replace(/\s+/g, ' ');
    const words = [...new Set(splitWords(query))].slice(0, MAX_QUERY_WORDS);
    const top = new TopMatches(from + size);
    if (query.length > 0 && words.length === 0) return { total: 0, entries: [] };
    const rank = this.spec.ranker(query);
    // Shards not in memory are read a few at a time first (the whole index at once would peak memory).
    const missing = Array.from({ length: this.spec.shardCount }, (_, shard) => shard).filter((shard) => !this.shards.has(String(shard)));
    await mapLimited(missing, LOAD_CONCURRENCY, (shard) => this.loadShard(shard));
    for (let number = 0; number < this.spec.shardCount; number++) {
      const shard = this.shards.get(String(number)) ?? (await this.loadShard(number));
      if (!shard || shard.count === 0) continue;
      if (words.length === 0) {
        for (let index = 0; index < shard.count; index++) top.add({ shard, index, rank: rank(shard.names[index]) });
        continue;
      }
      // marks[i] counts the query words entry i matched so far, in order, so each counts once.
      const marks = new Uint8Array(shard.count);
      const { tokens, starts, postings } = shard;
      for (let w = 0; w < words.length; w++) {
        const prefix = words[w];
        for (let t = lowerBound(tokens, prefix); t < tokens.length && tokens[t].startsWith(prefix); t++) {
          for (let p = starts[t]; p < starts[t + 1]; p++) if (marks[postings[p]] === w) marks[postings[p]] = w + 1;
        }
      }
      for (let index = 0; index < marks.length; index++) {
        if (marks[index] === words.length) top.add({ shard, index, rank: rank(shard.names[index]) });
      }
    }
    return { total: top.total, entries: top.items.slice(from).map((match) => match.shard.entry(match.index) as E) };
  }

  /** Drop the in-memory copies; the next query reads the shards again. */
  reset(): void {
    this.shards.clear();
    this.validatedAt = Number.NEGATIVE_INFINITY;
  }

  /** Settles when the shard writes and rebuilds under way have finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([this.shardWrites.current(), ...this.rebuilds.values()]);
  }

  /**
   * A change of one shard, kept among the writes under way until it settles. (Queuing a shard's changes behind the
   * write under way, to share the next one, was tried: three instances publishing at once to one shard took twice
   * as long, each instance then having a single conditional write in each round of the race.) The write starts on the
   * next turn of the event loop: a publish's entry is changed on the turn its truth is written, and its answer goes
   * out on that turn without waiting for the shard's copy, serialisation, hashing and signing (a search waits for it
   * all the same: it is under way from now).
   */
  private update(shard: number, ctx: IStorageOperationContext, change: TShardChange<E>): Promise<IDocumentUpdateResult<IShardDocument<E>>> {
    return this.shardWrites.track(setImmediate().then(() => this.write(shard, ctx, change)));
  }

  private async write(shard: number, ctx: IStorageOperationContext, change: TShardChange<E>): Promise<IDocumentUpdateResult<IShardDocument<E>>> {
    const stored = await this.storage.updateDocument<IShardDocument<E>>(this.spec.shardKey(shard), ctx, (current) => {
      const doc = current ?? { v: 1, packages: {} };
      if (!change(doc.packages)) return UNCHANGED;
      return Object.keys(doc.packages).length === 0 ? DELETE : doc;
    }, {
      remember: false,
      // The copy in memory saves reading the shard back; a stale one is refused by the conditional write.
      recall: () => {
        const copy = this.shards.get(String(shard));
        return copy?.etag ? { value: copy.document(this.spec.nameOf), etag: copy.etag } : undefined;
      },
    });
    // The compact copy is the only one kept in memory (the updater is told not to remember the shard).
    if (stored.changed || !this.shards.has(String(shard))) this.shards.set(String(shard), this.compact(stored.etag, stored.value));
    return stored;
  }

  private compact(etag: string | null, doc: IShardDocument<E> | null): CompactShard<E> {
    return new CompactShard<E>(etag, Object.values(doc?.packages ?? {}), this.spec);
  }

  /** A shard read from storage (single flight); undefined when it cannot be read (then rebuilt). */
  private loadShard(shard: number): Promise<CompactShard<E> | undefined> {
    return this.shards.getOrLoad(String(shard), async () => {
      const stored = await this.storage.getBytes(this.spec.shardKey(shard));
      if (!stored) return this.compact(null, null);
      let doc: IShardDocument<E>;
      try {
        doc = JSON.parse(stored.bytes.toString('utf8')) as IShardDocument<E>;
        if (!doc || typeof doc.packages !== 'object' || doc.packages === null) throw new Error('no packages object');
      } catch (error) {
        this.options.logger.warn(`${this.spec.label}: shard ${shard} cannot be read; skipped and rebuilt`, error);
        this.rebuild(shard, stored.etag);
        return undefined;
      }
      return this.compact(stored.etag, doc);
    });
  }

  /** Write a corrupt shard again from the truth documents (once at a time per shard). */
  private rebuild(shard: number, corruptEtag: string): void {
    const source = this.spec.rebuild;
    if (!source || this.rebuilds.has(shard)) return;
    const running = (async () => {
      const packages: Record<string, E> = {};
      for await (const entry of source((name) => this.shardOf(name) === shard)) {
        const bounded = this.spec.bound(entry);
        packages[this.spec.nameOf(bounded)] = bounded;
      }
      const doc: IShardDocument<E> = { v: 1, packages };
      // Only over the corrupt copy: a writer that replaced it meanwhile wins.
      const written = await this.storage.putJson(this.spec.shardKey(shard), doc, CORE_CONTEXT, { ifMatch: corruptEtag });
      this.shards.set(String(shard), this.compact(written, doc));
    })()
      .catch((error) => this.options.logger.warn(`${this.spec.label}: rebuilding shard ${shard} failed`, error))
      .finally(() => this.rebuilds.delete(shard));
    this.rebuilds.set(shard, running);
  }

  private async ensureFresh(): Promise<void> {
    if (this.now() - this.validatedAt < this.options.revalidateMs) return;
    this.validating ??= this.revalidate().finally(() => (this.validating = undefined));
    await this.validating;
  }

  /** Shards in memory whose stored etag changed are dropped (read again when next searched). */
  private async revalidate(): Promise<void> {
    const started = this.now();
    const numbers = Array.from({ length: this.spec.shardCount }, (_, shard) => shard);
    await mapLimited(numbers, LOAD_CONCURRENCY * 4, async (shard) => {
      const loaded = this.shards.get(String(shard));
      if (!loaded) return;
      const info = await this.storage.stat(this.spec.shardKey(shard));
      if ((info?.etag ?? null) !== loaded.etag && this.shards.get(String(shard)) === loaded) this.shards.delete(String(shard));
    });
    this.validatedAt = started;
  }
}
