import * as crypto from 'node:crypto';
import type { AuthManager } from '../core/classes.authmanager.js';
import type { BaseRegistry } from '../core/classes.baseregistry.js';
import { BoundedCache } from '../core/classes.boundedcache.js';
import type { Logger } from '../core/classes.logger.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { isRegistryError, RegistryError } from '../core/classes.registryerror.js';
import { assertSafeRequestPath } from '../core/helpers.path.js';
import { resolvePublicUrls } from '../core/helpers.publicurl.js';
import { normalizeResponse, type IHandlerResponse } from '../core/helpers.response.js';
import type { ICatalogueEntry, ICataloguePackage, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { IRequestContext, IResponse, TRegistryProtocol } from '../core/interfaces.core.js';
import { WEB_ASSETS } from './assets.js';
import { RecentPublishes, type IRecentPublish } from './classes.recentpublishes.js';
import { WebSessions } from './classes.websessions.js';
import { RequestBody } from '../core/classes.requestbody.js';
import type { SafeHtml } from './helpers.html.js';
import { identifyVisitor, type IWebVisitor } from './helpers.webauth.js';
import { homeContent, layout, messageContent, packageContent, searchContent, signInContent, type IPageFrame, type IProtocolListing } from './helpers.webpages.js';

/** Packages listed per protocol on the home page and per protocol in search results. */
const LISTED_PER_PROTOCOL = 20;
/** Search hits looked at per protocol for a visitor who may read only some packages. */
const CANDIDATES_PER_PROTOCOL = 200;
const MAX_QUERY_CHARS = 256;
/** Dependencies looked up to be linked (a package may list hundreds; the rest are shown as names). */
const MAX_LINKED_DEPENDENCIES = 100;
/** Publishes kept in storage for the home page, and shown there to a visitor (after their read checks). */
const RECENT_KEPT = 100;
const RECENT_SHOWN = 20;
const RECENT_REVALIDATE_MS = 1000;
/** Rendered pages (anonymous, and per person signed in with the form) are kept this long, in at most this many bytes. */
const RENDERED_PAGE_MS = 1000;
const SESSION_COOKIE = 'smartregistry_session';
const SESSION_SECONDS = 12 * 60 * 60;
/** A sign-in form is a user name and a password: nothing bigger is read. */
const MAX_FORM_BYTES = 16 * 1024;
const FORM_LIMITS = { maxArtifactBytes: MAX_FORM_BYTES, maxMetadataBytes: MAX_FORM_BYTES };
const NO_PACKAGE = 'No such package, or you may not read it.';

/**
 * Nothing runs but our own script and style; no frames, no plugins, no foreign images (a readme's
 * image would tell its host who reads a private package), forms post and scripts fetch only here.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // Other sites learn nothing; this page's own form posts still carry their Origin (no-referrer would make it `null`).
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

export interface IWebPageDependencies {
  auth: AuthManager;
  storage: RegistryStorage;
  logger: Logger;
  trustProxy: boolean;
  /** The mounted protocol handlers; those with a catalogue are shown. */
  handlers: ReadonlyMap<TRegistryProtocol, BaseRegistry>;
}

interface IShown {
  protocol: TRegistryProtocol;
  handler: BaseRegistry;
  catalogue: IPackageCatalogue;
}

/**
 * The registry's web page for people: home, search across every protocol, a page per package, all
 * rendered on the server. A visitor sees exactly what the protocols would let them read; a package
 * they may not read answers the same 404 as one that does not exist.
 */
export class WebPage {
  private readonly shown: IShown[];
  /** An audit event sink: the registry attaches it so publishes reach the home page. */
  readonly recentPublishes: RecentPublishes;
  private readonly sessions: WebSessions;
  private readonly renderedPages: BoundedCache<Buffer>;

  constructor(private readonly deps: IWebPageDependencies) {
    this.renderedPages = new BoundedCache({ maxEntries: 1000, ttlMs: RENDERED_PAGE_MS, budget: deps.storage.cacheBudget, sizeOf: (body) => body.length });
    this.shown = [...deps.handlers].flatMap(([protocol, handler]) => {
      const catalogue = handler.catalogue();
      return catalogue ? [{ protocol, handler, catalogue }] : [];
    });
    const catalogues = new Map(this.shown.map((entry) => [entry.protocol, entry.catalogue]));
    this.recentPublishes = new RecentPublishes(deps.storage, catalogues, deps.logger, { maxEntries: RECENT_KEPT, revalidateMs: RECENT_REVALIDATE_MS });
    this.sessions = new WebSessions(deps.storage, SESSION_SECONDS);
  }

  async handleRequest(ctx: IRequestContext, relativePath: string, publicBasePath: string): Promise<IResponse> {
    const base = publicBasePath;
    const headers = lowerCaseHeaders(ctx.headers);
    let here: string | undefined;
    try {
      const method = ctx.method.toUpperCase();
      assertSafeRequestPath(relativePath);
      const segments = relativePath.split('/').slice(1).map((segment) => decodeURIComponent(segment));
      const formPath = segments.length === 1 && (segments[0] === 'sign-in' || segments[0] === 'sign-out') ? segments[0] : null;
      if (method === 'POST' && formPath) return await this.formPost(ctx, formPath, base, headers);
      if (method !== 'GET' && method !== 'HEAD') {
        throw new RegistryError('method-not-allowed', `method ${method} is not allowed here`, { headers: { Allow: formPath ? 'GET, HEAD, POST' : 'GET, HEAD' } });
      }
      if (segments[0] === '-' && segments[1] === 'assets' && segments.length === 3) return normalizeResponse(this.asset(segments[2]));
      const sessionUserId = headers.authorization ? null : await this.sessions.verify(cookieValue(headers.cookie, SESSION_COOKIE));
      const visitor = await identifyVisitor(this.deps.auth, headers.authorization, ctx.actor?.ip, sessionUserId);
      const query = firstValue(ctx.query?.q).slice(0, MAX_QUERY_CHARS);
      const version = firstValue(ctx.query?.version) || undefined;
      here = pageAddress(base, relativePath, query, version);
      const frame = { base, userId: visitor.userId, signOut: sessionUserId !== null, here };
      if (formPath === 'sign-in') return this.signIn(frame, visitor, safeNext(base, firstValue(ctx.query?.next)));
      // Every anonymous visitor sees the same page (for the same public host), a person signed in with the form
      // their own (their user's scopes decide it): rendered once a second at most. Basic credentials are not
      // cached: a token may reach less than its user.
      const forwarded = this.deps.trustProxy ? [headers['x-forwarded-proto'], headers['x-forwarded-host'], headers['x-forwarded-prefix']] : [];
      const pageKey = [relativePath, query, version, headers.host, ...forwarded].join('\u0000');
      const cacheKey = visitor.userId === null ? pageKey : sessionUserId !== null && visitor.userId === sessionUserId ? `${sessionUserId}\u0001${pageKey}` : null;
      const cached = cacheKey === null ? undefined : this.renderedPages.get(cacheKey);
      if (cached) return this.page(200, cached);
      const body = Buffer.from((await this.content(frame, visitor, segments, relativePath, query, version, headers)).text, 'utf8');
      if (cacheKey !== null) this.renderedPages.set(cacheKey, body);
      return this.page(200, body);
    } catch (error) {
      if (!isRegistryError(error)) throw error;
      return this.errorPage(base, error, here);
    }
  }

  /** The home, search and package pages; anything else is a 404. */
  private async content(
    frame: Omit<IPageFrame, 'title'>,
    visitor: IWebVisitor,
    segments: string[],
    relativePath: string,
    query: string,
    version: string | undefined,
    headers: Record<string, string>,
  ): Promise<SafeHtml> {
    if (relativePath === '/' || relativePath === '') {
      const [listings, recent] = await Promise.all([this.listings(visitor, ''), this.visibleRecent(visitor)]);
      return layout({ ...frame, title: 'Packages' }, homeContent(frame.base, listings, recent));
    }
    if (segments[0] === 'search' && segments.length === 1) {
      return layout({ ...frame, title: `Search ${query}`, query }, searchContent(frame.base, query, await this.listings(visitor, query)));
    }
    if (segments[0] === 'packages' && segments.length >= 3) return this.packagePage(frame, visitor, segments[1], segments.slice(2).join('/'), version, headers);
    throw RegistryError.notFound('There is no page here.');
  }

  private async packagePage(frame: Omit<IPageFrame, 'title'>, visitor: IWebVisitor, protocol: string, name: string, version: string | undefined, headers: Record<string, string>): Promise<SafeHtml> {
    const shown = this.shown.find((entry) => entry.protocol === protocol);
    // Permission first, existence after: a package the visitor may not read looks like one that does not exist.
    if (!shown || !(await shown.handler.tokenMayRead(await visitor.tokenFor(shown.protocol), shown.catalogue.resourceOf(name)))) {
      throw RegistryError.notFound(NO_PACKAGE);
    }
    const urls = resolvePublicUrls(headers, { registryUrl: shown.handler.registryUrl, trustProxy: this.deps.trustProxy, publicBasePath: shown.handler.basePath });
    const pkg = await shown.catalogue.describe(name, version, urls);
    if (!pkg) throw RegistryError.notFound(NO_PACKAGE);
    return layout({ ...frame, title: pkg.name }, packageContent(frame.base, shown.protocol, pkg, await this.ourDependencies(shown, visitor, pkg)));
  }

  /** The dependencies that are packages here the visitor may read: found by name in the protocol's search index. */
  private async ourDependencies(shown: IShown, visitor: IWebVisitor, pkg: ICataloguePackage): Promise<Set<string>> {
    const ours = new Set<string>();
    const token = await visitor.tokenFor(shown.protocol);
    for (const dependency of pkg.dependencies.slice(0, MAX_LINKED_DEPENDENCIES)) {
      const resource = shown.catalogue.resourceOf(dependency.name);
      const { entries } = await shown.catalogue.search(dependency.name, 1, 0);
      if (entries[0] && shown.catalogue.resourceOf(entries[0].name) === resource && (await shown.handler.tokenMayRead(token, resource))) ours.add(dependency.name);
    }
    return ours;
  }

  /** Per protocol: the visible matches of a query (everything for ''), a count only for visitors who may read all. */
  private async listings(visitor: IWebVisitor, query: string): Promise<IProtocolListing[]> {
    return Promise.all(
      this.shown.map(async ({ protocol, handler, catalogue }) => {
        const token = await visitor.tokenFor(protocol);
        if (await handler.tokenMayRead(token, catalogue.resourceOf('*'))) {
          const result = await catalogue.search(query, LISTED_PER_PROTOCOL, 0);
          return { protocol, total: result.total, entries: result.entries };
        }
        const candidates = await catalogue.search(query, CANDIDATES_PER_PROTOCOL, 0);
        const entries: ICatalogueEntry[] = [];
        for (const entry of candidates.entries) {
          if (entries.length >= LISTED_PER_PROTOCOL) break;
          if (await handler.tokenMayRead(token, catalogue.resourceOf(entry.name))) entries.push(entry);
        }
        return { protocol, entries };
      }),
    );
  }

  /** The newest publishes of packages the visitor may read. */
  private async visibleRecent(visitor: IWebVisitor): Promise<IRecentPublish[]> {
    const visible: IRecentPublish[] = [];
    for (const entry of await this.recentPublishes.list()) {
      if (visible.length >= RECENT_SHOWN) break;
      const shown = this.shown.find((candidate) => candidate.protocol === entry.protocol);
      if (shown && (await shown.handler.tokenMayRead(await visitor.tokenFor(shown.protocol), shown.catalogue.resourceOf(entry.name)))) visible.push(entry);
    }
    return visible;
  }

  /** The sign-in form; a visitor who is signed in already goes on to `next`. */
  private signIn(frame: Omit<IPageFrame, 'title'>, visitor: IWebVisitor, next: string): IResponse {
    if (visitor.userId) return this.redirect(next);
    return this.page(200, layout({ ...frame, here: undefined, title: 'Sign in' }, signInContent(frame.base, next)));
  }

  /**
   * `POST /sign-in` (user name and password → a session cookie) and `POST /sign-out`. Only forms of
   * this page count: a post another site's page makes (CSRF, or signing a visitor in as someone else)
   * is refused by its Origin; the cookie is HttpOnly and SameSite=Lax besides.
   */
  private async formPost(ctx: IRequestContext, form: 'sign-in' | 'sign-out', base: string, headers: Record<string, string>): Promise<IResponse> {
    if (!isSameOrigin(headers, this.deps.trustProxy)) throw RegistryError.denied('This form can only be sent from this registry\'s own page.');
    const secure = this.publicUrl(headers, base).startsWith('https:');
    if (form === 'sign-out') return this.redirect(`${base}/`, sessionCookie(base, '', 0, secure));
    const fields = new URLSearchParams(await new RequestBody(ctx, FORM_LIMITS, headers['content-length']).text(MAX_FORM_BYTES));
    const username = fields.get('username') ?? '';
    const password = fields.get('password') ?? '';
    const next = safeNext(base, fields.get('next') ?? '');
    const frame = { base, userId: null, title: 'Sign in' };
    if (!username || !password) return this.page(400, layout(frame, signInContent(base, next, 'Enter your user name and password.', username)));
    const userId = await this.deps.auth.authenticate({ username, password, ...(ctx.actor?.ip ? { ip: ctx.actor.ip } : {}) });
    if (!userId) return this.page(401, layout(frame, signInContent(base, next, 'Wrong user name or password.', username)));
    return this.redirect(next, sessionCookie(base, await this.sessions.issue(userId), SESSION_SECONDS, secure));
  }

  private publicUrl(headers: Record<string, string>, base: string): string {
    return resolvePublicUrls(headers, { trustProxy: this.deps.trustProxy, publicBasePath: base }).hostUrl;
  }

  private redirect(location: string, cookie?: string): IResponse {
    return normalizeResponse({ status: 303, headers: { ...SECURITY_HEADERS, Location: location, 'Cache-Control': 'no-store', ...(cookie ? { 'Set-Cookie': cookie } : {}) } });
  }

  private asset(file: string): IHandlerResponse {
    const asset = WEB_ASSETS[file];
    if (!asset) throw RegistryError.notFound('There is no page here.');
    const etag = `"${crypto.createHash('sha256').update(asset.body).digest('hex').slice(0, 16)}"`;
    return { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': asset.contentType, ETag: etag, 'Cache-Control': 'public, max-age=300' }, body: asset.body };
  }

  private page(status: number, body: SafeHtml | Buffer, headers: Record<string, string> = {}): IResponse {
    // Pages depend on who asks: never stored by shared caches, never shown from cache to someone else.
    return normalizeResponse({
      status,
      headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', Vary: 'Authorization, Cookie', ...headers },
      body: Buffer.isBuffer(body) ? body : Buffer.from(body.text, 'utf8'),
    });
  }

  private errorPage(base: string, error: RegistryError, here?: string): IResponse {
    const status = error.status;
    const heading = status === 404 ? 'Not found' : status === 401 ? 'Sign in' : status === 429 ? 'Too many attempts' : status >= 500 ? 'Something went wrong' : 'Cannot show this page';
    const text = status >= 500 ? 'The registry could not answer this request.' : error.message;
    if (status >= 500) this.deps.logger.error(`web page error ${error.message}`, error);
    const challenge: Record<string, string> = status === 401 ? { 'WWW-Authenticate': 'Basic realm="smartregistry", charset="UTF-8"' } : {};
    return this.page(status, layout({ base, title: heading, userId: null, here }, messageContent(heading, text)), { ...error.headers, ...challenge });
  }
}

function lowerCaseHeaders(headers: IRequestContext['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return result;
}

/** This page's own address (path and the query it reads), for signing in and coming back; none for the home page. */
function pageAddress(base: string, relativePath: string, query: string, version: string | undefined): string | undefined {
  if (relativePath === '/' || relativePath === '' || relativePath === '/sign-in') return undefined;
  const search = new URLSearchParams({ ...(query ? { q: query } : {}), ...(version ? { version } : {}) }).toString();
  return `${base}${relativePath}${search ? `?${search}` : ''}`;
}

/** Where signing in leads: a page below this one's base path, never another site (`//host`, `/\host`). */
function safeNext(base: string, next: string): string {
  const home = `${base}/`;
  if (!next.startsWith(home) || next.startsWith('//') || /[\\\u0000-\u001f]/.test(next)) return home;
  return next;
}

/** One cookie's value from a `Cookie` header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const [key, ...value] = pair.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const sessionCookie = (base: string, value: string, maxAge: number, secure: boolean) =>
  `${SESSION_COOKIE}=${value}; Path=${base || '/'}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

/**
 * Was this post made by a page of this host? Browsers say so in `Sec-Fetch-Site`, older ones name the
 * page's origin in `Origin`; a client that sends neither is no browser, so no CSRF victim.
 */
function isSameOrigin(headers: Record<string, string>, trustProxy: boolean): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = headers.origin;
  if (origin === undefined) return true;
  const host = (trustProxy ? headers['x-forwarded-host']?.split(',')[0].trim() : undefined) || headers.host;
  try {
    return origin !== 'null' && new URL(origin).host === host;
  } catch {
    return false;
  }
}

const firstValue = (value: string | string[] | undefined) => (Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
