import * as crypto from 'node:crypto';
import { RegistryError, asRegistryError, isRegistryError, publicServerError } from './classes.registryerror.js';
import { RequestBody, type IResolvedLimits } from './classes.requestbody.js';
import type { IHeldRedirect, RegistryStorage, IStorageOperationContext } from './classes.registrystorage.js';
import { RememberedRedirects } from './classes.rememberedredirects.js';
import type { AuthManager } from './classes.authmanager.js';
import type { Logger } from './classes.logger.js';
import { assertSafeRequestPath } from './helpers.path.js';
import { normalizeBasePath } from './helpers.config.js';
import { RouteRequest } from './classes.routerequest.js';
import type { IPublicUrlOptions } from './helpers.publicurl.js';
import type { IResolvedDownloads } from './helpers.downloads.js';
import { isReadAction } from './helpers.scope.js';
import { compilePattern, matchPattern, upperCaseMethod, type ICompiledPattern } from './helpers.route.js';
import { normalizeResponse, jsonResponse, type IHandlerResponse } from './helpers.response.js';
import { withContentCoding } from './helpers.contentcoding.js';
import type { IAuthToken } from './interfaces.auth.js';
import type { IPackageCatalogue } from './interfaces.catalogue.js';
import type { IAuthConfig, IProtocolConfig, IRequestContext, IResponse, TRegistryProtocol } from './interfaces.core.js';
import type { IUpstreamProvider } from '../upstream/interfaces.upstream.js';
import type { IMetricsRecorder } from './interfaces.metrics.js';
import type { RegistryEvents } from './classes.registryevents.js';
import type { IEventTarget, TEventAction } from './interfaces.operations.js';
import { UpstreamProxy } from '../upstream/classes.upstreamproxy.js';

/** Methods whose route lists a protocol keeps: HTTP's own and WebDAV's are fewer. */
const MAX_REMEMBERED_METHODS = 32;

/** Everything a protocol handler is built from. */
export interface IProtocolDependencies {
  protocol: TRegistryProtocol;
  config: IProtocolConfig;
  authConfig: IAuthConfig;
  storage: RegistryStorage;
  auth: AuthManager;
  logger: Logger;
  limits: IResolvedLimits;
  /** `trustProxy` of the registry configuration: links may follow `X-Forwarded-*`. */
  trustProxy: boolean;
  /** Whether artifact GETs are redirected to the object store (the registry's `downloads`, then the protocol's). */
  downloads?: IResolvedDownloads;
  upstreamProvider?: IUpstreamProvider;
  /** Where the upstream proxy reports fetches, cache lookups and circuit states (a no-op when metrics are off). */
  metrics: IMetricsRecorder;
  /** Audit events: routes declare theirs (`IRoute.audit`); anything else calls `events.emit`. */
  events: RegistryEvents;
}

/** What the orchestrator learns about a request while a protocol handles it (metric labels). */
export interface IRequestRecord {
  /** 'none' for paths no protocol serves, 'web' for the web page. */
  protocol: TRegistryProtocol | 'none' | 'web';
  /** The matched route's pattern; 'unmatched' when none matched. */
  route: string;
  /** Who the request authenticated as, if anyone. */
  userId?: string;
}

/** One request as a route handler sees it. */
export interface IRouteRequest {
  ctx: IRequestContext;
  /** Upper-case; HEAD requests served by a GET route keep 'HEAD' here. */
  method: string;
  /** Path below the protocol's basePath, still encoded, starting with `/`. */
  path: string;
  /** Decoded route parameters. */
  params: Record<string, string>;
  /** First value of each query parameter. */
  query: Record<string, string>;
  /** Lower-case header names, multiple values joined with ', '. */
  headers: Record<string, string>;
  /** Set once the route's permission was checked (null: anonymous). */
  token: IAuthToken | null;
  body: RequestBody;
  /** Public URL of this protocol, without trailing slash (registryUrl, or Host + basePath; see helpers.publicurl). */
  baseUrl: string;
  /** Public URL of the host, without basePath. */
  hostUrl: string;
  /** Storage context for hooks: protocol and actor. */
  storageContext: IStorageOperationContext;
  /** This protocol's download settings: `serveObject` redirects artifact GETs by them. */
  downloads?: IResolvedDownloads;
  /** Set by `serveObject` when it redirected from memory alone (see `RememberedRedirects`). */
  heldRedirect?: IHeldRedirect;
  /**
   * What the request acted on, set by a handler that learns it from the body (a crate or a distribution
   * named inside the upload); an `audit` given as an action reads it.
   */
  eventTarget?: { resource: string; version?: string; subjects?: string[] };
}

export type TRoutePermission =
  /** Anyone, no token looked at. */
  | 'public'
  /** Anyone; a token, if sent, must be valid (401 otherwise) and reaches the handler as `req.token`. */
  | 'optional'
  /** A valid token. */
  | 'authenticated'
  /** A scope check: `{protocol}:{type}:{name}` and an action. */
  | ((req: IRouteRequest) => { resource: string; action: string });

/**
 * An audited route: its action, with what `req.eventTarget` names (no event when the handler set none:
 * the request was refused before it named anything, or is not audited, such as a checksum file); or a
 * function naming action, resource and version from the request (null: not audited).
 */
export type TRouteAudit = TEventAction | ((req: IRouteRequest) => IEventTarget | null);

/** The audit of a route whose resource (and version) are route parameters, e.g. `:name` and `:reference`. */
export function auditParams(action: TEventAction, resourceParam: string, versionParam?: string): TRouteAudit {
  return (req) => ({
    action,
    resource: req.params[resourceParam] ?? null,
    ...(versionParam && req.params[versionParam] !== undefined ? { version: req.params[versionParam] } : {}),
  });
}

/**
 * The audit of an owner change of the resource named by a route parameter (also when it is refused before
 * the body is read); the users it adds or removes are `req.eventTarget.subjects`, once the handler read them.
 */
export function auditOwnerChange(action: 'owner.add' | 'owner.remove', resourceParam: string): TRouteAudit {
  return (req) => ({
    action,
    resource: req.params[resourceParam] ?? null,
    ...(req.eventTarget?.subjects ? { subjects: req.eventTarget.subjects } : {}),
  });
}

export interface IRoute {
  method: string | string[];
  pattern: string;
  permission: TRoutePermission;
  handler: (req: IRouteRequest) => Promise<IHandlerResponse>;
  /** One audit event per request once it is answered (success, failure, or denied on 403; a 401 challenge is none). */
  audit?: TRouteAudit;
}

interface ICompiledRoute extends IRoute {
  methods: string[];
  compiled: ICompiledPattern;
}

/**
 * What every protocol handler shares: its route table, path safety, authentication and
 * authorization, request/response normalisation and rendering typed errors in its own shape.
 */
export abstract class BaseRegistry {
  readonly protocol: TRegistryProtocol;
  protected readonly config: IProtocolConfig;
  protected readonly storage: RegistryStorage;
  protected readonly auth: AuthManager;
  protected readonly logger: Logger;
  protected readonly deps: IProtocolDependencies;
  /** Answers for names this registry does not hold, from the configured upstreams (none: every lookup is null). */
  protected readonly upstream: UpstreamProxy;
  private compiledRoutes?: ICompiledRoute[];
  private readonly routesByMethod = new Map<string, ICompiledRoute[]>();
  private readonly urlOptionsByMount = new Map<string, IPublicUrlOptions>();
  /** Redirects of artifact GETs answered again without routing (only where downloads redirect). */
  private readonly redirects?: RememberedRedirects;

  constructor(deps: IProtocolDependencies) {
    this.deps = deps;
    this.protocol = deps.protocol;
    this.config = deps.config;
    this.storage = deps.storage;
    this.auth = deps.auth;
    if (deps.downloads?.redirect) this.redirects = new RememberedRedirects(deps.storage, deps.downloads, deps.auth);
    this.logger = deps.logger;
    this.upstream = new UpstreamProxy({
      protocol: deps.protocol,
      storage: deps.storage,
      logger: deps.logger,
      provider: deps.upstreamProvider,
      maxArtifactBytes: deps.limits.maxArtifactBytes,
      maxMetadataBytes: deps.limits.maxMetadataBytes,
    });
  }

  /** The protocol's whole surface: method + pattern → handler + permission. */
  protected abstract routes(): IRoute[];

  async init(): Promise<void> {}

  /** Protocols that override this call it too: background upstream refreshes finish before storage closes. */
  async destroy(): Promise<void> {
    await this.upstream.destroy();
  }

  /** The upstream proxy, for maintenance (`removeUnreadArtifacts`) and health reports. */
  getUpstreamProxy(): UpstreamProxy {
    return this.upstream;
  }

  get basePath(): string {
    return this.config.basePath;
  }

  /** The configured public URL of this protocol, if any. */
  get registryUrl(): string | undefined {
    return this.config.registryUrl;
  }

  /** Paths at the host root this protocol also answers (OCI's `/v2`). */
  rootPaths(): string[] {
    return [];
  }

  /** What the web page shows of this protocol's packages; null when it shows none. */
  catalogue(): IPackageCatalogue | null {
    return null;
  }

  /** May this token (null: anonymous) read the resource? The same decision as a route's read permission. */
  async tokenMayRead(token: IAuthToken | null, resource: string): Promise<boolean> {
    if (this.anonymousRead) return true;
    return token !== null && (await this.auth.authorize(token, resource, 'read'));
  }

  /** Does this protocol define `%2f` inside a path segment? */
  protected allowsEncodedSlash(): boolean {
    return false;
  }

  protected get anonymousRead(): boolean {
    return this.config.anonymousRead ?? this.deps.authConfig.anonymousRead ?? false;
  }

  /** Render a typed error: the protocol's body shape (`errorBody`), the challenge on 401, the error's headers. */
  protected renderError(error: RegistryError, req?: IRouteRequest): IHandlerResponse {
    // The error's own headers win over the default challenge.
    const headers = error.status === 401 ? { ...this.challengeHeaders(req), ...error.headers } : { ...error.headers };
    return jsonResponse(error.status, this.errorBody(error), { ...this.errorHeaders(), ...headers });
  }

  /** The error document in this protocol's shape. Default: `{ error }`. */
  protected errorBody(error: RegistryError): unknown {
    return { error: error.message };
  }

  /** Headers every error response of this protocol carries. */
  protected errorHeaders(): Record<string, string> {
    return {};
  }

  /** Headers sent with a 401 so the client knows how to authenticate. */
  protected challengeHeaders(_req?: IRouteRequest): Record<string, string> {
    return { 'WWW-Authenticate': `Basic realm="smartregistry ${this.protocol}"` };
  }

  /**
   * Handle a request whose path is relative to this protocol (basePath already removed).
   * Every error is rendered in this protocol's shape, so its client can show it; a 5xx is logged first, and an
   * error that is not a RegistryError is a 500 whose text is only the error id.
   */
  async handleRequest(ctx: IRequestContext, relativePath: string, publicBasePath: string, record?: IRequestRecord): Promise<IResponse> {
    let routeRequest: IRouteRequest | undefined;
    let audit: TRouteAudit | undefined;
    let response: IResponse;
    let changes = 0;
    let routePattern: string | undefined;
    const redirects = this.redirects && upperCaseMethod(ctx.method) === 'GET' ? this.redirects : undefined;
    // What a GET's answer is remembered under (see `RememberedRedirects`); undefined: only the route answers it.
    const credentials = redirects?.credentialsOf(lowerCaseHeaders(ctx.headers), ctx.query);
    if (credentials !== undefined) {
      const remembered = redirects!.answer(relativePath, credentials);
      if (remembered) {
        if (record) {
          record.route = remembered.route;
          if (remembered.userId !== undefined) record.userId = remembered.userId;
        }
        return normalizeResponse({ status: 307, headers: remembered.headers });
      }
      changes = redirects!.changesNow();
    }
    try {
      assertSafeRequestPath(relativePath, { allowEncodedSlash: this.allowsEncodedSlash() });
      const method = upperCaseMethod(ctx.method);
      const { route, params } = this.findRoute(method, relativePath);
      routePattern = route.pattern;
      if (record) record.route = route.pattern;
      audit = route.audit;
      routeRequest = this.buildRouteRequest(ctx, method, relativePath, params, publicBasePath);
      const permitted = this.checkPermission(route.permission, routeRequest, record);
      if (permitted) await permitted;
      response = normalizeResponse(withContentCoding(routeRequest.headers, await route.handler(routeRequest)));
    } catch (caught) {
      routeRequest?.body.discard();
      // A body the client cut short explains any failure but a refusal of what arrived before it.
      const cutOff = routeRequest?.body.cutOffError();
      const error = cutOff && !(isRegistryError(caught) && caught.status < 500) ? cutOff : caught;
      response = normalizeResponse(this.renderError(this.answerable(asRegistryError(error), ctx), routeRequest));
    }
    if (audit && routeRequest) this.emitRouteEvent(audit, routeRequest, response.status);
    else if (credentials !== undefined && routeRequest?.heldRedirect && response.status === 307 && routePattern !== undefined) {
      redirects!.remember(relativePath, credentials, { route: routePattern, headers: response.headers }, routeRequest.heldRedirect, changes, routeRequest.token);
    }
    return response;
  }

  private emitRouteEvent(audit: TRouteAudit, req: IRouteRequest, status: number): void {
    // A 401 is the challenge clients expect before they authenticate; a failed login has its own event.
    if (status === 401) return;
    let target: IEventTarget | null;
    try {
      if (typeof audit !== 'string') target = audit(req);
      else target = req.eventTarget ? { action: audit, ...req.eventTarget } : null;
    } catch {
      // The request named nothing valid (a refused name): it was bad input, before anything was done.
      return;
    }
    if (!target) return;
    const actor = req.token
      ? { userId: req.token.userId, ...(req.token.tokenId ? { tokenId: req.token.tokenId } : {}) }
      : req.ctx.actor?.userId
        ? { userId: req.ctx.actor.userId }
        : null;
    this.deps.events.emit({
      protocol: this.protocol,
      action: target.action,
      resource: target.resource,
      ...(target.version !== undefined ? { version: target.version } : {}),
      ...(target.subjects ? { subjects: target.subjects } : {}),
      actor,
      ...(req.ctx.actor?.ip ? { ip: req.ctx.actor.ip } : {}),
      result: status < 400 ? 'success' : status === 403 ? 'denied' : 'failure',
      status,
    });
  }

  /** A 5xx is logged here, once, with its whole cause chain; the client sees its error id, not the internal message. */
  private answerable(error: RegistryError, ctx: IRequestContext): RegistryError {
    if (error.status < 500) return error;
    const errorId = crypto.randomUUID();
    this.logger.error(`error ${errorId} on ${ctx.method} ${ctx.path}`, error);
    return publicServerError(error, errorId);
  }

  private getCompiledRoutes(): ICompiledRoute[] {
    this.compiledRoutes ??= this.routes().map((route) => ({
      ...route,
      methods: (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase()),
      compiled: compilePattern(route.pattern),
    }));
    return this.compiledRoutes;
  }

  private findRoute(method: string, path: string): { route: ICompiledRoute; params: Record<string, string> } {
    // HEAD falls back to the GET route; the orchestrator drops the body.
    const hit = this.findExplicit(method, path) ?? (method === 'HEAD' ? this.findExplicit('GET', path) : null);
    if (hit) return hit;
    const allowed = new Set<string>();
    for (const route of this.getCompiledRoutes()) {
      if (matchPattern(route.compiled, path)) route.methods.forEach((m) => allowed.add(m));
    }
    if (allowed.size === 0) throw RegistryError.notFound(`no ${this.protocol} endpoint at ${path}`);
    if (allowed.has('GET')) allowed.add('HEAD');
    throw new RegistryError('method-not-allowed', `method ${method} is not allowed here`, {
      headers: { Allow: [...allowed].sort().join(', ') },
    });
  }

  /** The routes of one method, in table order: a request looks only at its own method's. */
  private routesFor(method: string): ICompiledRoute[] {
    let routes = this.routesByMethod.get(method);
    if (!routes) {
      routes = this.getCompiledRoutes().filter((route) => route.methods.includes(method));
      // Any string may arrive as a method: a method no route has (HEAD, mostly) is remembered only while few are.
      if (routes.length > 0 || this.routesByMethod.size < MAX_REMEMBERED_METHODS) this.routesByMethod.set(method, routes);
    }
    return routes;
  }

  private findExplicit(method: string, path: string): { route: ICompiledRoute; params: Record<string, string> } | null {
    for (const route of this.routesFor(method)) {
      const params = matchPattern(route.compiled, path);
      if (params) return { route, params };
    }
    return null;
  }

  private buildRouteRequest(
    ctx: IRequestContext,
    method: string,
    path: string,
    params: Record<string, string>,
    publicBasePath: string,
  ): IRouteRequest {
    const headers = lowerCaseHeaders(ctx.headers);
    const query: Record<string, string> = {};
    const asked = ctx.query ?? {};
    for (const name in asked) {
      const value = asked[name];
      if (value === undefined || !Object.hasOwn(asked, name)) continue;
      query[name] = Array.isArray(value) ? String(value[0] ?? '') : String(value);
    }
    return new RouteRequest(ctx, method, path, params, query, headers, new RequestBody(ctx, this.deps.limits, headers['content-length']), this.deps.downloads, this.protocol, this.publicUrlOptions(publicBasePath));
  }

  /** What a request's public URLs are built from, one object per mount of this protocol. */
  private publicUrlOptions(publicBasePath: string): IPublicUrlOptions {
    let options = this.urlOptionsByMount.get(publicBasePath);
    if (!options) {
      const basePath = normalizeBasePath(this.config.basePath);
      options = { registryUrl: this.config.registryUrl, trustProxy: this.deps.trustProxy, publicBasePath, basePath };
      this.urlOptionsByMount.set(publicBasePath, options);
    }
    return options;
  }

  /**
   * Undefined when decided without I/O — a public route, a request without credentials, a token the default
   * provider knows — so most requests pass without a promise or a turn of the microtask queue.
   */
  private checkPermission(permission: TRoutePermission, req: IRouteRequest, record?: IRequestRecord): Promise<void> | undefined {
    if (permission === 'public') return undefined;
    if (!this.auth.sendsCredentials(req.headers)) return this.checkTokenPermission(permission, req);
    return this.authenticateThenCheck(permission, req, record);
  }

  private async authenticateThenCheck(permission: Exclude<TRoutePermission, 'public'>, req: IRouteRequest, record?: IRequestRecord): Promise<void> {
    req.token = await this.auth.authenticateRequest(req.headers, this.protocol, req.ctx.actor);
    if (record && req.token) record.userId = req.token.userId;
    const checked = this.checkTokenPermission(permission, req);
    if (checked) await checked;
  }

  /** The permission for `req.token` (null: anonymous) once it is known. */
  private checkTokenPermission(permission: Exclude<TRoutePermission, 'public'>, req: IRouteRequest): Promise<void> | undefined {
    if (permission === 'optional') return undefined;
    if (permission === 'authenticated') {
      if (!req.token) throw RegistryError.unauthorized('authentication required');
      return undefined;
    }
    const { resource, action } = permission(req);
    return this.checkScope(req, resource, action);
  }

  /**
   * The scope check of a route permission, for handlers that learn the resource only from storage
   * (a Maven path is a group or an artifact depending on what exists). Run after an 'optional' permission.
   */
  protected async requireScope(req: IRouteRequest, resource: string, action: string): Promise<void> {
    const checked = this.checkScope(req, resource, action);
    if (checked) await checked;
  }

  /** `requireScope`, undefined when decided at once (the default provider decides from the token alone). */
  private checkScope(req: IRouteRequest, resource: string, action: string): Promise<void> | undefined {
    // Signing in never gives less than anonymity: a user without a read scope still reads what anyone may.
    if (this.anonymousRead && isReadAction(action)) return undefined;
    if (!req.token) throw RegistryError.unauthorized('authentication required');
    const granted = this.auth.authorizeNow(req.token, resource, action);
    if (granted === true) return undefined;
    if (granted === false) throw insufficientScope(resource, action);
    return granted.then((allowed) => {
      if (!allowed) throw insufficientScope(resource, action);
    });
  }
}

/**
 * Header names in lower case, each with one string value. node:http hands them over so already (it lower-cases
 * names and joins repeated values), and then they are used as they are: a copy cost a small GET a new object
 * grown one property at a time.
 */
function lowerCaseHeaders(given: IRequestContext['headers'] | undefined): Record<string, string> {
  if (!given) return {};
  let ready = true;
  for (const name in given) {
    if (typeof given[name] !== 'string' || name.toLowerCase() !== name || !Object.hasOwn(given, name)) {
      ready = false;
      break;
    }
  }
  if (ready) return given as Record<string, string>;
  // for…in over own keys (the context's records are plain objects): no [name, value] array per header.
  const headers: Record<string, string> = {};
  for (const name in given) {
    const value = given[name];
    if (value === undefined || !Object.hasOwn(given, name)) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}

/** A code of its own, so token-flow protocols (OCI) can ask the client for a wider token. */
function insufficientScope(resource: string, action: string): RegistryError {
  return RegistryError.denied(`token does not grant ${action} on ${resource}`, { code: 'INSUFFICIENT_SCOPE' });
}
