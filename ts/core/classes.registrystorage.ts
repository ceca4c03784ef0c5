import type { Readable } from 'node:stream';
import { RegistryError, isPreconditionFailed } from './classes.registryerror.js';
import { WorkUnderWay } from './classes.workunderway.js';
import {
  DELETE,
  DocumentUpdater,
  UNCHANGED,
  type IDocumentUpdateOptions,
  type IDocumentUpdateResult,
  type TDocumentMutator,
} from './classes.documentupdater.js';
import { CacheBudget } from './classes.cachebudget.js';
import { PresignedUrls, type IPresignRequest } from './classes.presignedurls.js';
import { RecentStats } from './classes.recentstats.js';
import { mapLimited } from './helpers.async.js';
import { DEFAULT_CACHE_MEMORY_BYTES } from './helpers.config.js';
import { streamToBuffer } from './helpers.stream.js';
import { parseStoredJson } from './helpers.storeddocument.js';
import { isNetworkError, storageUnreachable } from './storage/helpers.unreachable.js';
import type { Logger } from './classes.logger.js';
import type {
  IStorageHookContext,
  IStorageHookResult,
  IStorageHooks,
  IStorageOperationContext,
} from './interfaces.core.js';
import type {
  IByteRange,
  IDeleteOptions,
  IGetResult,
  IListOptions,
  IListResult,
  IObjectInfo,
  IPutOptions,
  IPutResult,
  IStorageBackend,
} from './storage/interfaces.storage.js';

export type { IStorageOperationContext };

export const CORE_CONTEXT: IStorageOperationContext = { protocol: 'core' };

/** How long a redirect made from memory would be made the same way: see `RegistryStorage.redirectHeldUntil`. */
export interface IHeldRedirect {
  /** By the storage clock (`statClock`). */
  statUntil: number;
  /** By the signing clock (`downloads.nowMs`). */
  urlUntil: number;
}

export interface IJsonDocument<T> {
  value: T;
  etag: string;
}

/** What `createOnce` did: wrote the object, or found one already there (and left it alone). */
export type TCreateOnceResult = { created: true; result: IPutResult } | { created: false; reason: 'exists' };

export { DELETE, UNCHANGED, SerializedDocument, type TDocumentMutator } from './classes.documentupdater.js';

/** Deletes in flight at once when removing many objects. */
const DELETE_CONCURRENCY = 16;
/** JSON documents are metadata: refuse to buffer anything larger. */
const MAX_JSON_DOCUMENT_BYTES = 256 * 1024 * 1024;
/** Keys whose recent stat is remembered (a few hundred bytes each). */
const RECENT_STATS = 20_000;

export interface IRegistryStorageOptions {
  /** How long `statRecent` answers from memory (see `ICacheConfig.validationWindowMs`); default 0. */
  validationWindowMs?: number;
  /** Milliseconds now; injected by tests. */
  now?: () => number;
  /** The memory budget every cache of the registry shares (`ICacheConfig.memoryBytes`); default 64 MiB. */
  cacheBudget?: CacheBudget;
}


/**
 * Storage as protocols see it: a backend plus the storage hooks, JSON documents and the atomic
 * read-modify-write helper. Nothing outside core/storage talks to a backend directly.
 */
export class RegistryStorage {
  private readonly documents: DocumentUpdater;
  private readonly recentStats: RecentStats;
  /** The memory budget the caches of every protocol on this storage share. */
  readonly cacheBudget: CacheBudget;
  private readonly presignedUrls?: PresignedUrls;
  /** Writes that go on after their request was answered (derived documents): `settled` and `destroy` wait for them. */
  private readonly unfinished = new WorkUnderWay();

  constructor(
    private readonly backend: IStorageBackend,
    private readonly hooks: IStorageHooks = {},
    private readonly logger?: Logger,
    options: IRegistryStorageOptions = {},
  ) {
    this.cacheBudget = options.cacheBudget ?? new CacheBudget(DEFAULT_CACHE_MEMORY_BYTES);
    this.documents = new DocumentUpdater(this, this.cacheBudget);
    this.recentStats = new RecentStats((key) => this.backend.stat(key), {
      windowMs: options.validationWindowMs ?? 0,
      maxEntries: RECENT_STATS,
      now: options.now,
    });
    const presign = backend.presignGet?.bind(backend);
    if (presign) this.presignedUrls = new PresignedUrls(presign);
  }

  async init() {
    await this.backend.init();
  }

  async destroy() {
    await this.settled();
    await this.backend.destroy();
  }

  /** Let `work` go on after the answer; it must handle its own failure (it is only waited for, never reported). */
  finishLater(work: Promise<unknown>): void {
    this.unfinished.track(work);
  }

  /** Resolves once every work handed to `finishLater` has finished, also work added meanwhile. */
  async settled(): Promise<void> {
    await this.unfinished.settled();
  }

  getBackend(): IStorageBackend {
    return this.backend;
  }

  // ---- objects ---------------------------------------------------------------------------

  async getObject(key: string, ctx: IStorageOperationContext, range?: IByteRange): Promise<IGetResult | null> {
    const result = await this.backend.get(key, range);
    if (result) await this.runAfterHook('afterGet', 'get', key, ctx, { size: result.info.size });
    return result;
  }

  /** Whether the backend hands out URLs to read objects straight from the object store (S3 does, the filesystem not). */
  canPresign(): boolean {
    return typeof this.backend.presignGet === 'function';
  }

  /**
   * A presigned URL to read `key` straight from the object store, after the `afterGet` hook (handing out the
   * URL is the read; `metadata.redirect` is true). Undefined when the backend cannot presign, or when signing
   * failed (logged with its reason): the caller streams the object instead.
   */
  async presignedGet(key: string, ctx: IStorageOperationContext, request: IPresignRequest & { size: number }): Promise<string | undefined> {
    if (!this.presignedUrls) return undefined;
    let url: string;
    try {
      url = await this.presignedUrls.get(key, request);
    } catch (error) {
      this.logger?.warn(`could not presign a download URL for ${key}; streaming it instead`, error);
      return undefined;
    }
    await this.runAfterHook('afterGet', 'get', key, ctx, { size: request.size, redirect: true });
    return url;
  }

  /**
   * `presignedGet`'s answer when it needs no waiting: a URL handed out for `key` recently, and no `afterGet`
   * hook to run. Undefined otherwise (`presignedGet` then decides).
   */
  presignedGetNow(key: string, ctx: IStorageOperationContext, request: IPresignRequest): string | undefined {
    if (this.hooks.afterGet && ctx.protocol !== 'core') return undefined;
    return this.presignedUrls?.peek(key, request);
  }

  /**
   * Until when a redirect to `key` made from memory (`knownRecentStat` and `presignedGetNow`) would be made the
   * same way again: the stat's window by the storage clock, the URL's reuse by the signing clock. Undefined when
   * either would be asked for now.
   */
  redirectHeldUntil(key: string): IHeldRedirect | undefined {
    const statUntil = this.recentStats.heldUntil(key);
    const urlUntil = statUntil === undefined ? undefined : this.presignedUrls?.reusableUntil(key);
    return urlUntil === undefined ? undefined : { statUntil: statUntil!, urlUntil };
  }

  /** Bumped by every write and delete through this instance (and every stat a read found changed). */
  get changes(): number {
    return this.recentStats.changes;
  }

  /** Milliseconds now by the clock of the remembered stats (`IHeldRedirect.statUntil`). */
  statClock(): number {
    return this.recentStats.now();
  }

  async putObject(
    key: string,
    body: Readable | Uint8Array,
    ctx: IStorageOperationContext,
    options: IPutOptions = {},
  ): Promise<IPutResult> {
    await this.runBeforeHook('beforePut', 'put', key, ctx);
    let result: IPutResult;
    try {
      result = await this.backend.put(key, body, options);
    } finally {
      this.recentStats.forget(key);
    }
    await this.runAfterHook('afterPut', 'put', key, ctx, { size: result.size, digest: `sha256:${result.digests.sha256}` });
    return result;
  }

  /**
   * Write `key` only if nothing is stored there (a record that is never rewritten, a session id):
   * when two writers race, exactly one creates it and the other is told it exists.
   */
  async createOnce(
    key: string,
    body: Readable | Uint8Array,
    ctx: IStorageOperationContext,
    options: Omit<IPutOptions, 'ifMatch' | 'ifNoneMatch'> = {},
  ): Promise<TCreateOnceResult> {
    try {
      return { created: true, result: await this.putObject(key, body, ctx, { ...options, ifNoneMatch: '*' }) };
    } catch (error) {
      if (isPreconditionFailed(error)) return { created: false, reason: 'exists' };
      throw error;
    }
  }

  /** `createOnce` of a JSON document. */
  createJsonOnce<T>(key: string, value: T, ctx: IStorageOperationContext): Promise<TCreateOnceResult> {
    return this.createOnce(key, Buffer.from(JSON.stringify(value), 'utf8'), ctx);
  }

  async deleteObject(key: string, ctx: IStorageOperationContext, conditions?: IDeleteOptions): Promise<void> {
    await this.runBeforeHook('beforeDelete', 'delete', key, ctx);
    try {
      await this.backend.delete(key, conditions);
    } finally {
      this.recentStats.forget(key);
    }
    await this.runAfterHook('afterDelete', 'delete', key, ctx);
  }

  /** Delete many keys, a few at a time (thousands at once would exhaust file handles or sockets). */
  async deleteObjects(keys: readonly string[], ctx: IStorageOperationContext): Promise<void> {
    await mapLimited(keys, DELETE_CONCURRENCY, (key) => this.deleteObject(key, ctx));
  }

  stat(key: string): Promise<IObjectInfo | null> {
    return this.backend.stat(key);
  }

  /**
   * `stat` for serving reads: answered from a stat of at most the validation window ago, except
   * after this instance wrote the key. Not for decisions a write depends on (use `stat`).
   */
  statRecent(key: string): Promise<IObjectInfo | null> {
    return this.recentStats.get(key);
  }

  /** The next `statRecent` of `key` asks storage (a read found it changed since the remembered stat). */
  forgetRecentStat(key: string): void {
    this.recentStats.forget(key);
  }

  /** `statRecent`'s answer when it needs no storage round trip; undefined when it does. */
  knownRecentStat(key: string): IObjectInfo | null | undefined {
    return this.recentStats.peek(key);
  }

  list(prefix: string, options?: IListOptions): Promise<IListResult> {
    return this.backend.list(prefix, options);
  }

  /** Every key under a prefix: on the filesystem without a stat per object. */
  async *listKeys(prefix: string): AsyncGenerator<string> {
    if (this.backend.listKeys) {
      yield* this.backend.listKeys(prefix);
      return;
    }
    for await (const info of this.listAll(prefix)) yield info.key;
  }

  /** Every object under a prefix, page by page. */
  async *listAll(prefix: string): AsyncGenerator<IObjectInfo> {
    let continuationToken: string | undefined;
    do {
      const page = await this.backend.list(prefix, { continuationToken });
      yield* page.objects;
      continuationToken = page.nextToken;
    } while (continuationToken);
  }

  /**
   * Up to `limit` objects under `prefix` whose key suffix sorts after `startAfter` and passes `accept`,
   * reading no more pages than that takes (a page in the middle of a large prefix costs about one call).
   */
  async listPage(
    prefix: string,
    options: { startAfter?: string; limit: number; accept?: (info: IObjectInfo) => boolean },
  ): Promise<IObjectInfo[]> {
    const found: IObjectInfo[] = [];
    const startAfter = options.startAfter === undefined ? undefined : prefix + options.startAfter;
    let continuationToken: string | undefined;
    while (found.length < options.limit) {
      const page = await this.backend.list(prefix, { startAfter, continuationToken, limit: Math.min(1000, options.limit - found.length) });
      for (const info of page.objects) if (!options.accept || options.accept(info)) found.push(info);
      if (!page.nextToken) break;
      continuationToken = page.nextToken;
    }
    return found.slice(0, options.limit);
  }

  /**
   * One page of items made from the objects under `prefix` whose key suffix sorts after `startAfter`.
   * `convert` turns a batch of listed objects into items (null drops one), so a filter that needs I/O
   * (documents to read, permissions to ask) still fills the page; `more` tells whether another follows.
   */
  async collectPage<T>(
    prefix: string,
    options: { startAfter?: string; limit: number; convert: (objects: IObjectInfo[]) => Promise<(T | null)[]> },
  ): Promise<{ items: T[]; more: boolean }> {
    const found: T[] = [];
    // One item beyond the page tells whether another page follows.
    const wanted = options.limit + 1;
    let startAfter = options.startAfter;
    while (found.length < wanted) {
      const asked = wanted - found.length;
      const objects = await this.listPage(prefix, { startAfter, limit: asked });
      for (const item of objects.length === 0 ? [] : await options.convert(objects)) if (item !== null) found.push(item);
      if (objects.length < asked) break;
      startAfter = objects[objects.length - 1].key.slice(prefix.length);
    }
    return { items: found.slice(0, options.limit), more: found.length > options.limit };
  }

  // ---- small documents -------------------------------------------------------------------

  async getBytes(key: string): Promise<{ bytes: Buffer; etag: string } | null> {
    const result = await this.backend.get(key);
    if (!result) return null;
    // The engine can go away after the headers, while the body is read: a 503 as when it is not there at all.
    const bytes = await streamToBuffer(result.stream, MAX_JSON_DOCUMENT_BYTES).catch((error: unknown) => {
      throw isNetworkError(error) ? storageUnreachable(error) : error;
    });
    return { bytes, etag: result.info.etag };
  }

  async getJson<T>(key: string): Promise<IJsonDocument<T> | null> {
    const document = await this.getBytes(key);
    if (!document) return null;
    return { value: parseStoredJson<T>(key, document.bytes), etag: document.etag };
  }

  async putJson<T>(
    key: string,
    value: T,
    ctx: IStorageOperationContext,
    conditions: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'> = {},
  ): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(value), 'utf8');
    const result = await this.putObject(key, bytes, ctx, conditions);
    return result.etag;
  }

  /**
   * Atomic read-modify-write: read the document with its etag, apply `mutate`, write only if nobody
   * wrote in between, otherwise retry with the fresh document. Two instances publishing at once
   * both land. Returns the value now stored (null when deleted or absent).
   */
  async updateJson<T>(key: string, ctx: IStorageOperationContext, mutate: TDocumentMutator<T>): Promise<T | null> {
    return (await this.documents.update(key, ctx, mutate)).value;
  }

  /** `updateJson` with the written etag, pre-serialised bytes, and work that must finish before the write. */
  updateDocument<T>(
    key: string,
    ctx: IStorageOperationContext,
    mutate: TDocumentMutator<T>,
    options?: IDocumentUpdateOptions<T>,
  ): Promise<IDocumentUpdateResult<T>> {
    return this.documents.update(key, ctx, mutate, options);
  }

  /**
   * A refusal made before an upload is stored (a version that exists, a caller who is no owner): `check` throws
   * to refuse. It is tried on what this instance last wrote to `key` when it remembers that (no storage round
   * trip: the publish after a publish), and only if that refuses, on `readStored()`, the document as stored.
   * The conditional write of the document checks again, so a change another instance made meanwhile still counts.
   */
  async refuseEarly<T>(key: string, check: (current: T) => void, readStored: () => Promise<T | null>): Promise<void> {
    const remembered = this.documents.lastWrittenValue<T>(key);
    if (remembered !== undefined) {
      try {
        check(remembered);
        return;
      } catch {
        // Perhaps stale: storage decides.
      }
    }
    const stored = await readStored();
    if (stored) check(stored);
  }

  /**
   * The value this instance last wrote to `key` through `updateDocument` (as its mutator got it), while it remembers
   * it; not checked against storage. Read only.
   */
  rememberedDocument<T>(key: string): T | undefined {
    return this.documents.lastWrittenValue<T>(key);
  }

  /** Forget the remembered state of a document changed by other means than `updateDocument`. */
  forgetDocument(key: string): void {
    this.documents.forget(key);
  }

  // ---- hooks -----------------------------------------------------------------------------

  private hookContext(
    operation: IStorageHookContext['operation'],
    key: string,
    ctx: IStorageOperationContext,
    extra?: IStorageHookContext['metadata'],
  ): IStorageHookContext {
    return {
      protocol: ctx.protocol,
      operation,
      key,
      metadata: extra ? { ...ctx.metadata, ...extra } : ctx.metadata,
      actor: ctx.actor,
      timestamp: new Date(),
    };
  }

  private async runBeforeHook(
    name: 'beforePut' | 'beforeDelete',
    operation: IStorageHookContext['operation'],
    key: string,
    ctx: IStorageOperationContext,
  ) {
    const hook = this.hooks[name];
    if (!hook || ctx.protocol === 'core') return;
    let result: IStorageHookResult | void;
    try {
      result = await hook.call(this.hooks, this.hookContext(operation, key, ctx));
    } catch (error) {
      // A hook that throws chose no message for the client: a 500 whose cause is logged, never answered.
      throw new RegistryError('internal', `storage hook ${name} failed on ${operation} of ${key}`, { cause: error });
    }
    if (!result || result.allowed) return;
    const reason = result.reason || `${operation} refused by storage policy`;
    const isQuota = result.code ? result.code === 'quota' : /quota/i.test(reason);
    throw isQuota ? RegistryError.tooLarge(reason) : RegistryError.denied(reason);
  }

  private async runAfterHook(
    name: 'afterPut' | 'afterGet' | 'afterDelete',
    operation: IStorageHookContext['operation'],
    key: string,
    ctx: IStorageOperationContext,
    extra?: IStorageHookContext['metadata'],
  ) {
    const hook = this.hooks[name];
    if (!hook || ctx.protocol === 'core') return;
    try {
      await hook.call(this.hooks, this.hookContext(operation, key, ctx, extra));
    } catch (error) {
      // The operation itself succeeded; an audit hook failing must not undo or fail it.
      this.logger?.error(`storage hook ${name} failed for ${key}`, error);
    }
  }
}
