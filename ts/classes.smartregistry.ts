import * as crypto from 'node:crypto';
import { AuthManager } from './core/classes.authmanager.js';
import type { BaseRegistry } from './core/classes.baseregistry.js';
import { HealthCheck } from './core/classes.healthcheck.js';
import { JsonLinesEventLog } from './core/classes.jsonlineseventlog.js';
import { Logger } from './core/classes.logger.js';
import { RegistryEvents, type TEventListener } from './core/classes.registryevents.js';
import { WebhookDelivery, type IWebhookDeliveryOptions } from './core/classes.webhookdelivery.js';
import { OperationsEndpoints } from './core/classes.operationsendpoints.js';
import { RegistryMetrics } from './core/classes.registrymetrics.js';
import { RequestLog } from './core/classes.requestlog.js';
import { buildStorageReport, type IStorageReport, type IStorageReportOptions } from './core/classes.storagereport.js';
import { CacheBudget } from './core/classes.cachebudget.js';
import { RegistryStorage } from './core/classes.registrystorage.js';
import { DEFAULT_CACHE_MEMORY_BYTES, DEFAULT_VALIDATION_WINDOW_MS, normalizeBasePath, ociTokenIdentity, resolveLimits, validateRegistryConfig } from './core/helpers.config.js';
import { borrowResponseBody, discardResponseBody, jsonResponse, normalizeResponse } from './core/helpers.response.js';
import { REGISTRY_PROTOCOLS, type IRegistryConfig, type IRequestContext, type IResponse, type TRegistryProtocol } from './core/interfaces.core.js';
import { NO_METRICS } from './core/interfaces.metrics.js';
import { createStorageBackend } from './core/storage/index.js';
import { resolveDownloads } from './core/helpers.downloads.js';
import { upperCaseMethod } from './core/helpers.route.js';
import { InstrumentedBackend } from './core/storage/classes.instrumentedbackend.js';
import type { IRequestRecord } from './core/classes.baseregistry.js';
import { handleFetchRequest } from './adapters/fetch.js';
import { WebPage } from './web/classes.webpage.js';
import { DEFAULT_PROTOCOL_FACTORIES, type TProtocolFactory } from './protocols.js';

export interface ISmartRegistryOptions {
  /** Replace or add protocol implementations (custom protocols, tests). */
  protocolFactories?: Partial<Record<TRegistryProtocol, TProtocolFactory>>;
  /** How webhook retries wait (tests hand in a clock of their own). */
  webhookDelivery?: IWebhookDeliveryOptions;
}

interface IMount {
  /** '' for the host root. */
  prefix: string;
  /** What the handler reports as its own base path (for generated URLs). */
  basePath: string;
  /** The `protocol` label of its requests' metrics and log entries. */
  label: IRequestRecord['protocol'];
  handler: Pick<BaseRegistry, 'handleRequest'>;
}

/** The orchestrator: configuration → protocol handlers, routing by basePath, the error boundary. */
export class SmartRegistry {
  private readonly config: IRegistryConfig;
  private readonly factories: Partial<Record<TRegistryProtocol, TProtocolFactory>>;
  private readonly logger: Logger;
  private storage?: RegistryStorage;
  private authManager?: AuthManager;
  private readonly handlers = new Map<TRegistryProtocol, BaseRegistry>();
  private mounts: IMount[] = [];
  private initialized = false;
  private initRun?: Promise<void>;
  private readonly metrics?: RegistryMetrics;
  private readonly operations: OperationsEndpoints;
  private readonly events: RegistryEvents;
  private readonly webhookDelivery?: IWebhookDeliveryOptions;
  private readonly requestLog?: RequestLog;

  constructor(config: IRegistryConfig, options: ISmartRegistryOptions = {}) {
    validateRegistryConfig(config);
    this.config = config;
    this.factories = { ...DEFAULT_PROTOCOL_FACTORIES, ...options.protocolFactories };
    this.logger = new Logger(config.logging);
    if (config.metrics?.enabled) this.metrics = new RegistryMetrics({ processMetrics: config.metrics.processMetrics });
    const metrics = this.metrics;
    this.events = new RegistryEvents(this.logger, metrics ? (event) => metrics.countEvent(event) : undefined);
    this.webhookDelivery = options.webhookDelivery;
    if (config.logging?.requests) this.requestLog = new RequestLog(config.logging.requests);
    const health = new HealthCheck(() => this.storage?.getBackend(), () => this.initialized, {
      storageTimeoutMs: config.health?.storageTimeoutMs ?? 2000,
    }, this.logger);
    this.operations = new OperationsEndpoints(config.metrics, config.health, { metrics: this.metrics, health, auth: () => this.authManager });
  }

  /** Safe to call more than once, also concurrently; a failed init releases what it opened. */
  init(): Promise<void> {
    this.initRun ??= this.initOnce().catch(async (error) => {
      await this.destroy().catch(() => undefined);
      throw error;
    });
    return this.initRun;
  }

  private async initOnce(): Promise<void> {
    const backend = await createStorageBackend(this.config.storage);
    const backendName = this.config.storage.type === 'filesystem' ? 'filesystem' : 's3';
    const storage = new RegistryStorage(
      this.metrics ? new InstrumentedBackend(backend, backendName, this.metrics.storage) : backend,
      this.config.storageHooks,
      this.logger,
      {
        validationWindowMs: this.config.cache?.validationWindowMs ?? DEFAULT_VALIDATION_WINDOW_MS,
        cacheBudget: new CacheBudget(this.config.cache?.memoryBytes ?? DEFAULT_CACHE_MEMORY_BYTES),
      },
    );
    this.storage = storage;
    await storage.init();
    this.events.attach([
      ...(this.config.events?.log ? [new JsonLinesEventLog(this.config.events.log, this.logger)] : []),
      ...(this.config.events?.webhooks ?? []).map((webhook) => new WebhookDelivery(webhook, this.logger, this.webhookDelivery)),
    ]);
    const auth = new AuthManager(this.config.auth, storage, this.config.authProvider, {
      ociTokenIdentity: ociTokenIdentity(this.config),
      events: this.events,
    });
    this.authManager = auth;
    await auth.init();

    for (const protocol of REGISTRY_PROTOCOLS) {
      const protocolConfig = this.config[protocol];
      if (!protocolConfig?.enabled) continue;
      const basePath = normalizeBasePath(protocolConfig.basePath);
      const factory = this.factories[protocol];
      if (!factory) {
        this.logger.warn(`${protocol} is enabled but not implemented yet; ${basePath || '/'} answers 404`);
        continue;
      }
      const downloads = resolveDownloads(this.config.downloads, protocolConfig.downloads);
      if (downloads.redirect && !storage.canPresign()) {
        this.logger.warn(`${protocol}: downloads.redirect is on, but filesystem storage has no URLs of its own: the registry streams the artifacts`);
      }
      const handler = factory({
        protocol,
        config: { ...protocolConfig, basePath },
        authConfig: this.config.auth,
        storage,
        auth,
        logger: this.logger,
        limits: resolveLimits(this.config.limits, protocolConfig.limits),
        downloads,
        trustProxy: this.config.trustProxy === true,
        upstreamProvider: this.config.upstreamProvider,
        metrics: this.metrics ?? NO_METRICS,
        events: this.events,
      });
      await handler.init();
      this.handlers.set(protocol, handler);
      this.mounts.push({ prefix: basePath, basePath, handler, label: protocol });
      for (const rootPath of handler.rootPaths()) {
        this.mounts.push({ prefix: normalizeBasePath(rootPath), basePath: '', handler, label: protocol });
      }
    }
    if (this.config.web?.enabled) {
      const basePath = normalizeBasePath(this.config.web.basePath);
      const page = new WebPage({ auth, storage, logger: this.logger, trustProxy: this.config.trustProxy === true, handlers: this.handlers });
      this.events.attach([page.recentPublishes]);
      this.mounts.push({ prefix: basePath, basePath, handler: page, label: 'web' });
    }
    // Longest prefix wins.
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    this.initialized = true;
  }

  /** Route one request. Never throws: unexpected faults are a 500 with an error id that is logged. */
  async handleRequest(ctx: IRequestContext): Promise<IResponse> {
    const observed = this.metrics !== undefined || this.requestLog !== undefined;
    const started = observed ? performance.now() : 0;
    const requestId = this.requestLog?.idFor(ctx);
    const record: IRequestRecord = { protocol: 'none', route: 'unmatched' };
    let response: IResponse;
    try {
      response = await this.route(ctx, record);
    } catch (error) {
      const errorId = crypto.randomUUID();
      this.logger.error(`unhandled error ${errorId} on ${ctx?.method} ${ctx?.path}`, error);
      response = normalizeResponse(jsonResponse(500, { error: 'internal server error', errorId }));
    }
    if (ctx?.method !== undefined && upperCaseMethod(ctx.method) === 'HEAD') {
      // Borrowed, not taken: lent bytes go straight back instead of being copied to be dropped.
      const body = borrowResponseBody(response);
      if (body !== undefined) {
        discardResponseBody(body);
        response = { status: response.status, statusText: response.statusText, headers: response.headers };
      }
    }
    if (requestId) response.headers['X-Request-Id'] = requestId;
    if (observed) this.observe(ctx, record, response, started, requestId);
    return response;
  }

  /**
   * `'event'`: every audited action (publish, delete, yank, dist-tag change, token creation and revocation,
   * failed login) as one IRegistryEvent, right after it happened. A listener that throws is logged.
   */
  on(name: 'event', listener: TEventListener): this {
    if (name !== 'event') throw new Error(`smartregistry: unknown event '${String(name)}' (only 'event')`);
    this.events.on(listener);
    return this;
  }

  off(name: 'event', listener: TEventListener): this {
    if (name === 'event') this.events.off(listener);
    return this;
  }

  /** The Prometheus metrics, when `metrics.enabled`: `scrape()` gives the text format. */
  getMetrics(): RegistryMetrics | undefined {
    return this.metrics;
  }

  /** Metrics and the request log, from one measurement. */
  private observe(ctx: IRequestContext, record: IRequestRecord, response: IResponse, started: number, requestId?: string): void {
    const method = ctx?.method !== undefined ? upperCaseMethod(ctx.method) : '';
    const hasBody = method !== 'HEAD' && response.status !== 204 && response.status !== 304;
    const seconds = (performance.now() - started) / 1000;
    const bytesIn = requestBytes(ctx);
    const bytesOut = hasBody ? Number(response.headers['Content-Length'] ?? response.headers['content-length'] ?? 0) || 0 : 0;
    this.metrics?.observeRequest({ protocol: record.protocol, route: record.route, method, status: response.status, seconds, bytesIn, bytesOut });
    this.requestLog?.write({
      time: new Date().toISOString(),
      requestId: requestId!,
      method,
      path: withoutQuery(ctx?.path ?? ''),
      protocol: record.protocol,
      route: record.route,
      status: response.status,
      durationMs: Math.round(seconds * 1e6) / 1000,
      bytesIn,
      bytesOut,
      ...(record.userId ? { userId: record.userId } : {}),
      ...(ctx?.actor?.ip ? { ip: ctx.actor.ip } : {}),
    });
  }

  /** Web-standard entry point: `Request` → `Response` (Bun, Deno, any fetch-style server). */
  fetch(request: Request): Promise<Response> {
    return handleFetchRequest(this, request);
  }

  /** Not async: most requests return their protocol's promise as it is, without one more around it. */
  private route(ctx: IRequestContext, record: IRequestRecord): Promise<IResponse> | IResponse {
    const path = withoutQuery(ctx.path || '/');
    const operation = this.operations.find(path);
    if (operation) {
      record.route = path;
      return operation(ctx).then(normalizeResponse);
    }
    if (!this.initialized) {
      return normalizeResponse(jsonResponse(503, { error: 'registry is not initialized: call init() first' }));
    }
    for (const mount of this.mounts) {
      if (!underPrefix(path, mount.prefix)) continue;
      const relativePath = mount.prefix === '' ? path : path.slice(mount.prefix.length) || '/';
      const relative = relativePath.startsWith('/') ? relativePath : `/${relativePath}`;
      record.protocol = mount.label;
      // A copy only when the path lost a query: most requests pass their context on as it is.
      return mount.handler.handleRequest(path === ctx.path ? ctx : { ...ctx, path }, mount.basePath === mount.prefix ? relative : path, mount.basePath, record);
    }
    return normalizeResponse(jsonResponse(404, { error: `no registry is mounted at ${path}` }));
  }

  getStorage(): RegistryStorage {
    if (!this.storage) throw new Error('smartregistry: call init() before getStorage()');
    return this.storage;
  }

  getAuthManager(): AuthManager {
    if (!this.authManager) throw new Error('smartregistry: call init() before getAuthManager()');
    return this.authManager;
  }

  /** Bytes and objects per protocol and per package, from one pass over the storage listing. */
  storageReport(options?: IStorageReportOptions): Promise<IStorageReport> {
    return buildStorageReport(this.getStorage(), options);
  }

  getRegistry(protocol: TRegistryProtocol): BaseRegistry | undefined {
    return this.handlers.get(protocol);
  }

  isInitialized(): boolean {
    return this.initialized;
  }

  async destroy(): Promise<void> {
    // Writes that went on after their answer (derived documents) still need every protocol's parts.
    await this.storage?.settled();
    for (const handler of this.handlers.values()) await handler.destroy();
    this.handlers.clear();
    this.mounts = [];
    await this.authManager?.destroy();
    await this.events.closeSinks();
    await this.storage?.destroy();
    this.authManager = undefined;
    this.storage = undefined;
    this.initialized = false;
    this.initRun = undefined;
  }
}

/** Request body bytes: the declared Content-Length, else the length of a body handed over as bytes. */
function requestBytes(ctx: IRequestContext): number {
  const declared = ctx?.headers?.['content-length'] ?? ctx?.headers?.['Content-Length'];
  if (declared !== undefined) return Number(Array.isArray(declared) ? declared[0] : declared) || 0;
  const body = ctx?.rawBody ?? ctx?.body;
  if (body instanceof Uint8Array) return body.byteLength;
  return typeof body === 'string' ? Buffer.byteLength(body) : 0;
}

/** `path` is `prefix` or below it (`/npm` covers `/npm/x`, not `/npmx`), without building `${prefix}/` per mount. */
function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '' || path === prefix) return true;
  return path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f;
}

/** A path with any `?query` cut off (bridges may hand one over); the same string when it has none. */
function withoutQuery(path: string): string {
  const question = path.indexOf('?');
  return question === -1 ? path : path.slice(0, question);
}
