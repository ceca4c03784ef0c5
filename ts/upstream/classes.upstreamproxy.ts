import type { Readable } from 'node:stream';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import type { Logger } from '../core/classes.logger.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { rangeNotSatisfiable, serveObject, type IByteSpan, type IServeRequest } from '../core/helpers.serve.js';
import type { IHandlerResponse } from '../core/helpers.response.js';
import type { IRequestActor, TRegistryProtocol } from '../core/interfaces.protocol.js';
import type { THashAlgorithm } from '../core/storage/interfaces.storage.js';
import type { IStorageOperationContext } from '../core/classes.registrystorage.js';
import { CircuitBreaker } from './classes.circuitbreaker.js';
import { UpstreamCache, type IArtifactRecord, type ICachedDocument } from './classes.upstreamcache.js';
import { UpstreamFailure } from './classes.upstreamfailure.js';
import { UpstreamHttp, type IUpstreamHttpOptions } from './classes.upstreamhttp.js';
import { selectUpstreams, upstreamsByPriority, validateUpstreamConfig } from './helpers.upstreamselect.js';
import { PeriodicTask } from '../core/classes.periodictask.js';
import { teeForCache } from './helpers.teestream.js';
import { missAnswer, sliceOf } from './helpers.missrange.js';
import { statedDigests } from './helpers.digestheader.js';
import type { IProtocolUpstreamConfig, IUpstreamProvider, IUpstreamRegistryConfig, TCacheStatus } from './interfaces.upstream.js';

/** The upstreams one request may use, in the order they are asked. */
export interface IUpstreamSelection {
  config: IProtocolUpstreamConfig;
  upstreams: IUpstreamRegistryConfig[];
}

/** What `select` answers without a provider: one promise shared by every request. */
const NO_SELECTION: Promise<IUpstreamSelection | null> = Promise.resolve(null);

/** A metadata document, what the protocol asks an upstream for. */
export interface IDocumentRequest {
  /** The protocol's name for it in the cache (usually the path below the upstream's URL). */
  cacheKey: string;
  /** Its absolute URL at one upstream. */
  url: (upstream: IUpstreamRegistryConfig) => string;
  headers?: Record<string, string>;
  /** Answer headers worth keeping with the document (lower-case names). */
  keepHeaders?: string[];
  /** Never changes once fetched (an OCI manifest by digest): a cached copy is always fresh. */
  immutable?: boolean;
}

export interface IUpstreamDocument {
  body: Buffer;
  contentType?: string;
  /** The kept answer headers. */
  headers: Record<string, string>;
  upstream: IUpstreamRegistryConfig;
  cache: TCacheStatus;
}

/** An immutable artifact, what the protocol asks an upstream for. */
export interface IArtifactRequest {
  cacheKey: string;
  url: (upstream: IUpstreamRegistryConfig) => string;
  headers?: Record<string, string>;
  /** Hex digests the bytes must have (from the upstream's metadata or the digest in the request). */
  expect?: Partial<Record<THashAlgorithm, string>>;
  contentType: string;
  /** The protocol's own answer headers (OCI's `Docker-Content-Digest`). */
  responseHeaders?: Record<string, string>;
}

export interface IUpstreamProxyDependencies {
  protocol: TRegistryProtocol;
  storage: RegistryStorage;
  logger: Logger;
  provider?: IUpstreamProvider;
  maxArtifactBytes: number;
  maxMetadataBytes: number;
  /** Milliseconds now; injected by tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULTS = {
  metadataTtl: 300,
  negativeTtl: 60,
  timeoutMs: 30_000,
  retries: 2,
  retryBaseMs: 200,
  failureThreshold: 5,
  resetTimeoutMs: 30_000,
};

const CLEANUP_INTERVAL_MS = 60 * 60 * 1000;

interface IArtifactFlight {
  /** Settles once the artifact is stored (null: the upstream does not have it); waiting requests then serve the stored copy. */
  stored: Promise<IArtifactRecord | null>;
  waiters: number;
}

/**
 * The upstream proxy of one protocol: which upstreams a name goes to, the cache in storage with its
 * freshness rules (TTL, stale-while-revalidate, negative entries, revalidation with ETag and
 * Last-Modified), one fetch per artifact however many ask at once, a circuit breaker per upstream, and
 * 502/504 when nothing can answer. The protocol supplies only URLs, cache keys and its formats.
 */
export class UpstreamProxy {
  private readonly cache: UpstreamCache;
  private readonly http: UpstreamHttp;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly documentFlights = new Map<string, Promise<ICachedDocument | null>>();
  private readonly artifactFlights = new Map<string, IArtifactFlight>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly checkedConfigs = new WeakSet<IProtocolUpstreamConfig>();
  private cleanup?: PeriodicTask;
  private readonly now: () => number;

  constructor(private readonly deps: IUpstreamProxyDependencies) {
    this.now = deps.now ?? Date.now;
    this.cache = new UpstreamCache(deps.storage, deps.protocol, this.now);
    this.http = new UpstreamHttp(deps.sleep);
  }

  /** Whether upstreams may be asked at all (a provider is configured): a local read skips the lookup otherwise. */
  get configured(): boolean {
    return this.deps.provider !== undefined;
  }

  /** The upstreams a request about `resource` may use; null when there are none. */
  select(resource: string, method: string, actor?: IRequestActor): Promise<IUpstreamSelection | null> {
    // Every document read asks: without a provider, one settled promise instead of two async calls.
    if (!this.deps.provider) return NO_SELECTION;
    return this.selectFrom(resource, method, actor);
  }

  private async selectFrom(resource: string, method: string, actor?: IRequestActor): Promise<IUpstreamSelection | null> {
    const config = await this.resolve(resource, method, actor);
    const upstreams = config ? selectUpstreams(config, resource) : [];
    return config && upstreams.length > 0 ? { config, upstreams } : null;
  }

  /**
   * Every enabled upstream by priority, whatever its scope rules: for a listing that covers all names
   * (Composer's `available-packages`, RubyGems' `/versions`). The provider is asked about resource `*`.
   */
  selectAll(method: string, actor?: IRequestActor): Promise<IUpstreamSelection | null> {
    if (!this.deps.provider) return NO_SELECTION;
    return this.selectAllFrom(method, actor);
  }

  private async selectAllFrom(method: string, actor?: IRequestActor): Promise<IUpstreamSelection | null> {
    const config = await this.resolve('*', method, actor);
    const upstreams = config ? upstreamsByPriority(config) : [];
    return config && upstreams.length > 0 ? { config, upstreams } : null;
  }

  private async resolve(resource: string, method: string, actor?: IRequestActor): Promise<IProtocolUpstreamConfig | null> {
    if (!this.deps.provider) return null;
    const config = await this.deps.provider.resolveUpstreamConfig({ protocol: this.deps.protocol, resource, method, actor });
    if (!config || !config.enabled) return null;
    if (!this.checkedConfigs.has(config)) {
      // A provider's configuration is checked once, where it is first used (ids become storage keys).
      validateUpstreamConfig(`upstreamProvider (${this.deps.protocol})`, config);
      this.checkedConfigs.add(config);
    }
    this.scheduleCleanup(config.cache?.unusedArtifactDays);
    return config;
  }

  /** Stops the cleanup and waits for background work, so nothing writes after a shutdown. */
  async destroy(): Promise<void> {
    await this.cleanup?.stop();
    this.cleanup = undefined;
    await Promise.allSettled([...this.background]);
    await this.cache.drain();
  }

  /** The first configuration that names `unusedArtifactDays` starts an hourly cleanup with it. */
  private scheduleCleanup(days: number | undefined): void {
    if (days === undefined || this.cleanup || !(days > 0)) return;
    this.cleanup = new PeriodicTask(
      () =>
        this.removeUnreadArtifacts(days).catch((error: unknown) => {
          this.deps.logger.warn(`upstream cache cleanup (${this.deps.protocol}) failed`, error);
        }),
      CLEANUP_INTERVAL_MS,
    );
    this.cleanup.start();
  }

  /** Remove cached artifacts nobody read for `days` days. Returns how many. */
  removeUnreadArtifacts(days: number): Promise<number> {
    return this.cache.removeUnread(days);
  }

  /** The state of an upstream's circuit, for tests and health reports. */
  circuitState(upstreamId: string) {
    return this.breakers.get(upstreamId)?.state ?? 'closed';
  }

  // ---- documents --------------------------------------------------------------------------------

  /**
   * A metadata document from the first upstream (by priority) that has it: fresh from the cache, stale
   * while it is refreshed, or fetched. Null when none has it; an upstream error (502/504) when none
   * could say.
   */
  async getDocument(selection: IUpstreamSelection, request: IDocumentRequest): Promise<IUpstreamDocument | null> {
    let failure: UpstreamFailure | undefined;
    for (const upstream of selection.upstreams) {
      const outcome = await this.documentFrom(selection.config, upstream, request).catch((error: unknown) => {
        if (!(error instanceof UpstreamFailure)) throw error;
        failure = error;
        return null;
      });
      if (outcome) return outcome;
    }
    if (failure) throw upstreamError(failure);
    return null;
  }

  private async documentFrom(config: IProtocolUpstreamConfig, upstream: IUpstreamRegistryConfig, request: IDocumentRequest): Promise<IUpstreamDocument | null> {
    const caching = config.cache?.enabled !== false;
    const cached = caching ? await this.cache.readDocument(upstream.id, request.cacheKey) : null;
    if (cached && (this.isFresh(config, cached) || (request.immutable && cached.meta.status === 200))) return cached.meta.status === 200 ? this.answer(upstream, cached, 'HIT') : null;
    const usable = cached?.meta.status === 200 ? cached : null;
    if (usable && config.cache?.staleWhileRevalidate !== false) {
      this.inBackground(this.fetchDocument(config, upstream, request, usable).catch(() => undefined));
      return this.answer(upstream, usable, 'STALE');
    }
    try {
      const fetched = await this.fetchDocument(config, upstream, request, usable);
      if (!fetched || fetched.meta.status !== 200) return null;
      return this.answer(upstream, fetched, fetched === usable || fetched.body === usable?.body ? 'HIT' : 'MISS');
    } catch (error) {
      // The upstream is down: what we have is still an answer.
      if (usable && error instanceof UpstreamFailure) return this.answer(upstream, usable, 'STALE');
      throw error;
    }
  }

  private isFresh(config: IProtocolUpstreamConfig, cached: ICachedDocument): boolean {
    const ttl = cached.meta.status === 200 ? config.cache?.metadataTtl ?? DEFAULTS.metadataTtl : config.cache?.negativeTtl ?? DEFAULTS.negativeTtl;
    return this.now() - cached.meta.fetchedAt < ttl * 1000;
  }

  private answer(upstream: IUpstreamRegistryConfig, document: ICachedDocument, cache: TCacheStatus): IUpstreamDocument {
    return { body: document.body, contentType: document.meta.contentType, headers: document.meta.headers ?? {}, upstream, cache };
  }

  /** One fetch per upstream and document at a time; revalidates `cached` when given. Null: a 404. */
  private fetchDocument(
    config: IProtocolUpstreamConfig,
    upstream: IUpstreamRegistryConfig,
    request: IDocumentRequest,
    cached: ICachedDocument | null,
  ): Promise<ICachedDocument | null> {
    const flightKey = `${upstream.id}\n${request.cacheKey}`;
    let flight = this.documentFlights.get(flightKey);
    if (!flight) {
      flight = this.fetchDocumentOnce(config, upstream, request, cached).finally(() => this.documentFlights.delete(flightKey));
      this.documentFlights.set(flightKey, flight);
    }
    return flight;
  }

  private async fetchDocumentOnce(
    config: IProtocolUpstreamConfig,
    upstream: IUpstreamRegistryConfig,
    request: IDocumentRequest,
    cached: ICachedDocument | null,
  ): Promise<ICachedDocument | null> {
    const url = request.url(upstream);
    const headers: Record<string, string> = { ...request.headers };
    if (cached?.meta.etag) headers['if-none-match'] = cached.meta.etag;
    if (cached?.meta.lastModified) headers['if-modified-since'] = cached.meta.lastModified;
    const answer = await this.guarded(config, upstream, () =>
      this.http.getDocument(upstream, url, headers, this.deps.maxMetadataBytes, this.httpOptions(config)),
    );
    let document: ICachedDocument;
    if (answer.status === 304 && cached) {
      document = { meta: { ...cached.meta, fetchedAt: this.now() }, body: cached.body };
    } else if (answer.status === 200) {
      const kept: Record<string, string> = {};
      for (const name of request.keepHeaders ?? []) {
        const value = answer.headers.get(name);
        if (value !== null) kept[name] = value;
      }
      document = {
        meta: {
          status: 200,
          fetchedAt: this.now(),
          etag: answer.headers.get('etag') ?? undefined,
          lastModified: answer.headers.get('last-modified') ?? undefined,
          contentType: answer.headers.get('content-type') ?? undefined,
          headers: kept,
        },
        body: answer.body,
      };
    } else if (answer.status === 404 || answer.status === 410) {
      document = { meta: { status: 404, fetchedAt: this.now() }, body: Buffer.alloc(0) };
    } else {
      throw new UpstreamFailure(upstream.id, 'invalid', `GET ${url} answered ${answer.status} to a request without validators`);
    }
    if (config.cache?.enabled !== false) {
      await this.cache.writeDocument(upstream.id, request.cacheKey, document, cached !== null).catch((error: unknown) => {
        this.deps.logger.warn(`upstream ${upstream.id}: could not cache ${request.cacheKey}`, error);
      });
    }
    return document.meta.status === 200 ? document : null;
  }

  // ---- artifacts --------------------------------------------------------------------------------

  /**
   * Serve an immutable artifact: from the cache, or fetched from the first upstream that has it and
   * streamed to this client while it is stored and verified. Concurrent requests for it wait for that
   * one fetch and are served the stored copy. Null when no upstream has it.
   */
  async serveArtifact(
    selection: IUpstreamSelection,
    request: IArtifactRequest,
    serveRequest: IServeRequest,
    ctx: IStorageOperationContext,
    notFound: () => RegistryError,
  ): Promise<IHandlerResponse | null> {
    const caching = selection.config.cache?.enabled !== false;
    if (caching) {
      for (const upstream of selection.upstreams) {
        const record = await this.cache.artifactRecord(upstream.id, request.cacheKey);
        if (record) return this.serveCached(record, serveRequest, ctx, notFound, 'HIT');
      }
    }
    let failure: UpstreamFailure | undefined;
    for (const upstream of selection.upstreams) {
      try {
        const served = await this.artifactFrom(selection.config, upstream, request, serveRequest, ctx, notFound);
        if (served) return served;
      } catch (error) {
        if (!(error instanceof UpstreamFailure)) throw error;
        failure = error;
      }
    }
    if (failure) throw upstreamError(failure);
    return null;
  }

  private async serveCached(
    record: IArtifactRecord,
    serveRequest: IServeRequest,
    ctx: IStorageOperationContext,
    notFound: () => RegistryError,
    cache: TCacheStatus,
  ): Promise<IHandlerResponse> {
    const response = await serveObject(serveRequest, this.cache.artifactSource(record, ctx), { notFound });
    return { ...response, headers: { ...response.headers, 'X-Cache': cache } };
  }

  private async artifactFrom(
    config: IProtocolUpstreamConfig,
    upstream: IUpstreamRegistryConfig,
    request: IArtifactRequest,
    serveRequest: IServeRequest,
    ctx: IStorageOperationContext,
    notFound: () => RegistryError,
  ): Promise<IHandlerResponse | null> {
    const caching = config.cache?.enabled !== false;
    const flightKey = `${upstream.id}\n${request.cacheKey}`;
    const running = caching ? this.artifactFlights.get(flightKey) : undefined;
    if (running) {
      running.waiters++;
      try {
        const record = await running.stored;
        return record && this.serveCached(record, serveRequest, ctx, notFound, 'HIT');
      } finally {
        running.waiters--;
      }
    }
    // Registered before the first await, so every request that comes while it runs waits for this one fetch.
    let settle!: { resolve: (record: IArtifactRecord | null) => void; reject: (error: unknown) => void };
    const flight: IArtifactFlight = {
      stored: new Promise<IArtifactRecord | null>((resolve, reject) => (settle = { resolve, reject })),
      waiters: 0,
    };
    flight.stored.catch(() => undefined);
    if (caching) {
      this.artifactFlights.set(flightKey, flight);
      this.inBackground(flight.stored.finally(() => this.artifactFlights.delete(flightKey)));
    }
    try {
      return await this.fetchArtifact(config, upstream, request, serveRequest, ctx, notFound, flight, settle);
    } catch (error) {
      // A 416 refuses this request only: the fetch goes on for the others waiting for it.
      if (!(error instanceof RegistryError && error.kind === 'range-not-satisfiable')) settle.reject(error);
      throw error;
    }
  }

  private async fetchArtifact(
    config: IProtocolUpstreamConfig,
    upstream: IUpstreamRegistryConfig,
    request: IArtifactRequest,
    serveRequest: IServeRequest,
    ctx: IStorageOperationContext,
    notFound: () => RegistryError,
    flight: IArtifactFlight,
    settle: { resolve: (record: IArtifactRecord | null) => void; reject: (error: unknown) => void },
  ): Promise<IHandlerResponse | null> {
    const client = new AbortController();
    const url = request.url(upstream);
    const answer = await this.guarded(config, upstream, () =>
      this.http.openStream(upstream, url, request.headers ?? {}, this.httpOptions(config), client.signal),
    );
    if (!answer.body) {
      if (answer.status !== 404 && answer.status !== 410) throw new UpstreamFailure(upstream.id, 'invalid', `GET ${url} answered ${answer.status}`);
      settle.resolve(null);
      return null;
    }
    const headers: Record<string, string> = { 'Content-Type': request.contentType, ...request.responseHeaders, 'X-Cache': 'MISS' };
    // The upstream's length is the length of what we send only when fetch did not decode the body.
    const length = answer.headers.get('content-length');
    const encoding = answer.headers.get('content-encoding');
    if (length && (!encoding || encoding === 'identity')) headers['Content-Length'] = length;
    const size = headers['Content-Length'] === undefined ? undefined : Number(headers['Content-Length']);
    const miss = missAnswer(serveRequest, size);
    if (config.cache?.enabled === false) {
      settle.resolve(null);
      if (miss.kind === 'unsatisfiable') {
        // Nobody reads this body: the abort's error is expected.
        answer.body.on('error', () => undefined);
        client.abort(new Error('nothing to send'));
        throw rangeNotSatisfiable(serveRequest, size!, { headers: request.responseHeaders });
      }
      if (miss.kind === 'span') return this.partial(headers, miss.span, size!, sliceOf(answer.body, miss.span));
      return { status: 200, headers, body: answer.body };
    }
    const { toStore, toClient, finishClient } = teeForCache(answer.body, () => {
      // Nobody else waits for these bytes: stop fetching them (nothing is stored).
      if (flight.waiters === 0) client.abort(new Error('the client went away'));
    });
    const stored = this.cache.storeArtifact(upstream.id, request.cacheKey, toStore, {
      maxBytes: this.deps.maxArtifactBytes,
      // The digests the upstream states for its answer are checked too; the protocol's own win.
      expect: { ...statedDigests(answer.headers), ...request.expect },
      contentType: request.contentType,
      headers: request.responseHeaders,
    });
    stored.then(
      (record) => {
        settle.resolve(record);
        finishClient();
      },
      (error: unknown) => {
        this.deps.logger.warn(`upstream ${upstream.id}: ${url} was not cached`, error);
        settle.reject(new UpstreamFailure(upstream.id, 'invalid', `${url} could not be cached`, { cause: error }));
        answer.body!.destroy();
        toClient.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
    if (miss.kind === 'whole') return { status: 200, headers, body: toClient };
    if (miss.kind === 'span') return this.partial(headers, miss.span, size!, sliceOf(toClient, miss.span));
    // The fetch goes on, filling the cache, with nobody reading the client's copy.
    toClient.resume();
    if (miss.kind === 'unsatisfiable') throw rangeNotSatisfiable(serveRequest, size!, { headers: request.responseHeaders });
    // A conditional or HEAD request (or a range against an unknown length) is answered from the stored copy once it is complete.
    const record = await flight.stored;
    return this.serveCached(record!, serveRequest, ctx, notFound, 'MISS');
  }

  /** A 206 of a miss: the headers the stored copy's 206 would have (its validators come once it is stored). */
  private partial(headers: Record<string, string>, span: IByteSpan, size: number, body: Readable): IHandlerResponse {
    return {
      status: 206,
      headers: { ...headers, 'Accept-Ranges': 'bytes', 'Content-Length': String(span.end - span.start + 1), 'Content-Range': `bytes ${span.start}-${span.end}/${size}` },
      body,
    };
  }

  // ---- resilience -------------------------------------------------------------------------------

  private httpOptions(config: IProtocolUpstreamConfig): IUpstreamHttpOptions {
    const resilience = config.resilience ?? {};
    return {
      timeoutMs: resilience.timeoutMs ?? DEFAULTS.timeoutMs,
      retries: resilience.retries ?? DEFAULTS.retries,
      retryBaseMs: resilience.retryBaseMs ?? DEFAULTS.retryBaseMs,
    };
  }

  private breaker(config: IProtocolUpstreamConfig, upstream: IUpstreamRegistryConfig): CircuitBreaker {
    let breaker = this.breakers.get(upstream.id);
    if (!breaker) {
      breaker = new CircuitBreaker({
        failureThreshold: config.resilience?.failureThreshold ?? DEFAULTS.failureThreshold,
        resetTimeoutMs: config.resilience?.resetTimeoutMs ?? DEFAULTS.resetTimeoutMs,
        now: this.now,
      });
      this.breakers.set(upstream.id, breaker);
    }
    return breaker;
  }

  /** Run one upstream call through its circuit; failures are logged with their cause. */
  private async guarded<T>(config: IProtocolUpstreamConfig, upstream: IUpstreamRegistryConfig, call: () => Promise<T>): Promise<T> {
    const breaker = this.breaker(config, upstream);
    if (!breaker.tryAcquire()) throw new UpstreamFailure(upstream.id, 'circuit-open', 'circuit open after repeated failures');
    try {
      const result = await call();
      breaker.recordSuccess();
      return result;
    } catch (error) {
      if (error instanceof UpstreamFailure && error.countsAgainstUpstream) breaker.recordFailure();
      else breaker.release();
      this.deps.logger.warn(`upstream ${upstream.id} failed (${this.deps.protocol})`, error);
      throw error;
    }
  }

  /** Work nobody awaits (its failures are reported where they happen); `destroy` waits for it. */
  private inBackground(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.background.add(settled);
    void settled.then(() => this.background.delete(settled));
  }
}

/** What the client sees when no upstream could answer: 504 after a timeout, 502 otherwise. */
function upstreamError(failure: UpstreamFailure): RegistryError {
  const timedOut = failure.kind === 'timeout';
  return new RegistryError('upstream', timedOut ? 'the upstream registry did not answer in time' : 'the upstream registry is not reachable', {
    status: timedOut ? 504 : 502,
    cause: failure,
  });
}
