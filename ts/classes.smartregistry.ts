import * as crypto from 'node:crypto';
import { AuthManager } from './core/classes.authmanager.js';
import type { BaseRegistry } from './core/classes.baseregistry.js';
import { Logger } from './core/classes.logger.js';
import { RegistryStorage } from './core/classes.registrystorage.js';
import { normalizeBasePath, ociTokenIdentity, resolveLimits, validateRegistryConfig } from './core/helpers.config.js';
import { discardResponseBody, jsonResponse, normalizeResponse, takeResponseBody } from './core/helpers.response.js';
import { REGISTRY_PROTOCOLS, type IRegistryConfig, type IRequestContext, type IResponse, type TRegistryProtocol } from './core/interfaces.core.js';
import { createStorageBackend } from './core/storage/index.js';
import { resolveDownloads } from './core/helpers.downloads.js';
import { handleFetchRequest } from './adapters/fetch.js';
import { WebPage } from './web/classes.webpage.js';
import { DEFAULT_PROTOCOL_FACTORIES, type TProtocolFactory } from './protocols.js';

export interface ISmartRegistryOptions {
  /** Replace or add protocol implementations (custom protocols, tests). */
  protocolFactories?: Partial<Record<TRegistryProtocol, TProtocolFactory>>;
}

interface IMount {
  /** '' for the host root. */
  prefix: string;
  /** What the handler reports as its own base path (for generated URLs). */
  basePath: string;
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

  constructor(config: IRegistryConfig, options: ISmartRegistryOptions = {}) {
    validateRegistryConfig(config);
    this.config = config;
    this.factories = { ...DEFAULT_PROTOCOL_FACTORIES, ...options.protocolFactories };
    this.logger = new Logger(config.logging);
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
    const storage = new RegistryStorage(await createStorageBackend(this.config.storage), this.config.storageHooks, this.logger);
    this.storage = storage;
    await storage.init();
    const auth = new AuthManager(this.config.auth, storage, this.config.authProvider, { ociTokenIdentity: ociTokenIdentity(this.config) });
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
      });
      await handler.init();
      this.handlers.set(protocol, handler);
      this.mounts.push({ prefix: basePath, basePath, handler });
      for (const rootPath of handler.rootPaths()) {
        this.mounts.push({ prefix: normalizeBasePath(rootPath), basePath: '', handler });
      }
    }
    if (this.config.web?.enabled) {
      const basePath = normalizeBasePath(this.config.web.basePath);
      const page = new WebPage({ auth, logger: this.logger, trustProxy: this.config.trustProxy === true, handlers: this.handlers });
      this.mounts.push({ prefix: basePath, basePath, handler: page });
    }
    // Longest prefix wins.
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    this.initialized = true;
  }

  /** Route one request. Never throws: unexpected faults are a 500 with an error id that is logged. */
  async handleRequest(ctx: IRequestContext): Promise<IResponse> {
    let response: IResponse;
    try {
      response = await this.route(ctx);
    } catch (error) {
      const errorId = crypto.randomUUID();
      this.logger.error(`unhandled error ${errorId} on ${ctx?.method} ${ctx?.path}`, error);
      response = normalizeResponse(jsonResponse(500, { error: 'internal server error', errorId }));
    }
    if (ctx?.method?.toUpperCase() === 'HEAD') {
      const body = takeResponseBody(response);
      if (body !== undefined) {
        discardResponseBody(body);
        response = { status: response.status, statusText: response.statusText, headers: response.headers };
      }
    }
    return response;
  }

  /** Web-standard entry point: `Request` → `Response` (Bun, Deno, any fetch-style server). */
  fetch(request: Request): Promise<Response> {
    return handleFetchRequest(this, request);
  }

  private async route(ctx: IRequestContext): Promise<IResponse> {
    if (!this.initialized) {
      return normalizeResponse(jsonResponse(503, { error: 'registry is not initialized: call init() first' }));
    }
    const path = (ctx.path || '/').split('?')[0];
    for (const mount of this.mounts) {
      if (mount.prefix !== '' && path !== mount.prefix && !path.startsWith(`${mount.prefix}/`)) continue;
      const relativePath = mount.prefix === '' ? path : path.slice(mount.prefix.length) || '/';
      const relative = relativePath.startsWith('/') ? relativePath : `/${relativePath}`;
      return mount.handler.handleRequest({ ...ctx, path }, mount.basePath === mount.prefix ? relative : path, mount.basePath);
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

  getRegistry(protocol: TRegistryProtocol): BaseRegistry | undefined {
    return this.handlers.get(protocol);
  }

  isInitialized(): boolean {
    return this.initialized;
  }

  async destroy(): Promise<void> {
    for (const handler of this.handlers.values()) await handler.destroy();
    this.handlers.clear();
    this.mounts = [];
    await this.authManager?.destroy();
    await this.storage?.destroy();
    this.authManager = undefined;
    this.storage = undefined;
    this.initialized = false;
    this.initRun = undefined;
  }
}
