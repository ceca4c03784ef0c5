import { BaseRegistry, type IProtocolDependencies, type IRoute, type IRouteRequest } from '../core/classes.baseregistry.js';
import { ConcurrencyLimit } from '../core/classes.concurrencylimit.js';
import type { TEventAction } from '../core/interfaces.operations.js';
import { RegistryError, isRegistryError } from '../core/classes.registryerror.js';
import { sha256Hex } from '../core/helpers.hash.js';
import { memoizeBounded } from '../core/helpers.memo.js';
import { isPlainObject } from '../core/helpers.json.js';
import type { TCacheStatus } from '../upstream/interfaces.upstream.js';
import { mergeWithUpstream, parseUpstreamPackument, upstreamPackumentUrl, upstreamTarball } from './helpers.npmupstream.js';
import { assertSafeName } from '../core/helpers.path.js';
import { etagMatches, jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { httpDate, serveObject } from '../core/helpers.serve.js';
import { NpmDocumentCache } from './classes.npmdocumentcache.js';
import { NpmLoginFlow } from './classes.npmloginflow.js';
import { NpmPackageStore } from './classes.npmpackagestore.js';
import { NpmPublishParser } from './classes.npmpublishparser.js';
import type { NpmTarballUpload } from './classes.npmtarballupload.js';
import { attachmentVersions, checkDocumentName, planPublish } from './helpers.npmpublishplan.js';
import { NpmSearchIndex } from './classes.npmsearchindex.js';
import { NpmCatalogue } from './classes.npmcatalogue.js';
import { NpmTokenService } from './classes.npmtokenservice.js';
import {
  containsNul,
  distTagError,
  MAX_NAME_LENGTH,
  resolveVersionSpec,
  scopeOf,
  serializeAbbreviated,
  serializePackument,
  tarballFileName,
  validatePackageName,
  versionError,
  versionFromTarballFile,
  wantsAbbreviated,
} from './helpers.npm.js';
import { acceptsGzip, MIN_GZIP_BYTES, weakEtag } from '../core/helpers.contentcoding.js';
import type { INpmPackument, INpmPublishBody, INpmRegistryOptions, INpmSearchEntry } from './interfaces.npm.js';

const DEFAULT_SEARCH_REVALIDATE_MS = 1000;
const DEFAULT_LOGIN_SESSION_SECONDS = 600;
const DEFAULT_MAX_LOGIN_SESSIONS = 1000;
/** Each publish in flight holds its document (up to MAX_PUBLISH_DOCUMENT_CHARS) and stream buffers. */
const DEFAULT_MAX_CONCURRENT_PUBLISHES = 8;
const DEFAULT_MAX_WAITING_PUBLISHES = 32;
/** A publish document without its tarballs (readme, manifests) is kept in memory up to this size. */
const MAX_PUBLISH_DOCUMENT_CHARS = 16 * 1024 * 1024;
const MAX_SEARCH_SIZE = 250;
const MAX_SEARCH_FROM = 10_000;

const ABBREVIATED_TYPE = 'application/vnd.npm.install-v1+json; charset=utf-8';
const FULL_TYPE = 'application/json; charset=utf-8';

/** An empty `npm audit` report: no advisories, so installs and audits succeed. */
const EMPTY_AUDIT_REPORT = {
  actions: [],
  advisories: {},
  muted: [],
  metadata: {
    vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0 },
    dependencies: 0,
    devDependencies: 0,
    optionalDependencies: 0,
    totalDependencies: 0,
  },
};

/**
 * Why `name` may not name a package here (npm's rules for existing packages, then a safe storage key), or null.
 * Remembered per name up to the longest name npm allows: every request about a package checks its name, most of
 * them twice (the permission and the handler).
 */
function packageNameProblem(name: string): string | null {
  const validation = validatePackageName(name);
  if (!validation.validForOld) return `invalid package name ${JSON.stringify(name)}: ${validation.errors.join('; ')}`;
  try {
    assertSafeName(name, 'package name');
  } catch (error) {
    if (isRegistryError(error)) return error.message;
    throw error;
  }
  return null;
}
const rememberedPackageNameProblem = memoizeBounded(packageNameProblem, 1024);

const intParam = (value: string | undefined, fallback: number) => {
  const parsed = Number.parseInt(value ?? '', 10);
  return Number.isFinite(parsed) ? parsed : fallback;
};

/**
 * The npm registry protocol: what the npm CLI, pnpm and yarn talk to. Routes are below; formats are
 * in helpers.npm.ts; storage of packages in classes.npmpackagestore.ts; search and login in their
 * own classes.
 */
export class NpmRegistry extends BaseRegistry {
  private readonly cache: NpmDocumentCache;
  private readonly search: NpmSearchIndex;
  private readonly packages: NpmPackageStore;
  private readonly login: NpmLoginFlow;
  private readonly publishes: ConcurrencyLimit;
  private readonly tokens: NpmTokenService;
  private readonly catalogueView: NpmCatalogue;

  constructor(deps: IProtocolDependencies, options: INpmRegistryOptions = {}) {
    super(deps);
    this.publishes = new ConcurrencyLimit(
      options.maxConcurrentPublishes ?? DEFAULT_MAX_CONCURRENT_PUBLISHES,
      options.maxWaitingPublishes ?? DEFAULT_MAX_WAITING_PUBLISHES,
      'with other publishes',
    );
    this.tokens = new NpmTokenService(deps.auth);
    this.cache = new NpmDocumentCache(deps.storage, options.documentCacheBytes);
    this.search = new NpmSearchIndex(deps.storage, options.searchRevalidateMs ?? DEFAULT_SEARCH_REVALIDATE_MS, deps.logger);
    this.packages = new NpmPackageStore(deps.storage, this.cache, this.search, deps.logger);
    this.catalogueView = new NpmCatalogue(this.packages, this.search);
    this.login = new NpmLoginFlow(deps.storage, deps.auth, {
      allowSignup: deps.authConfig.allowSignup === true,
      sessionSeconds: options.loginSessionSeconds ?? DEFAULT_LOGIN_SESSION_SECONDS,
      maxSessions: options.maxLoginSessions ?? DEFAULT_MAX_LOGIN_SESSIONS,
      now: options.now ?? Date.now,
    });
  }

  override catalogue(): NpmCatalogue {
    return this.catalogueView;
  }

  /** The search index, for rebuilds and bulk loads. */
  getSearchIndex(): NpmSearchIndex {
    return this.search;
  }

  protected override allowsEncodedSlash(): boolean {
    return true;
  }

  // ---- the route table -----------------------------------------------------------------------

  protected routes(): IRoute[] {
    const read = this.packagePermission('read');
    const write = this.packagePermission('write');
    // Removing published versions is its own right, as in OCI: a CI token with `write` cannot unpublish.
    const remove = this.packagePermission('delete');
    const readAllPackages = () => ({ resource: 'npm:package:*', action: 'read' });
    const withPackageName = (handler: (req: IRouteRequest, name: string) => Promise<IHandlerResponse>) => (req: IRouteRequest) =>
      handler(req, this.packageName(req));
    // The version is what the handler found in the body (publish, unpublish), or the dist-tag's name.
    const audited = (action: TEventAction) => (req: IRouteRequest) => ({
      action,
      resource: this.packageName(req),
      version: req.eventTarget?.version ?? req.params.tag,
    });
    return [
      // Registry services, all below `/-/` (no package name starts with `-/`).
      { method: 'GET', pattern: '/-/ping', permission: 'optional', handler: async () => jsonResponse(200, {}) },
      { method: 'GET', pattern: '/-/whoami', permission: 'authenticated', handler: async (req) => jsonResponse(200, { username: req.token!.userId }) },
      { method: 'POST', pattern: '/-/v1/login', permission: 'public', handler: (req) => this.loginStart(req) },
      { method: 'GET', pattern: '/-/v1/login/cli/:loginId', permission: 'public', handler: (req) => this.login.page(req.params.loginId) },
      { method: 'POST', pattern: '/-/v1/login/cli/:loginId', permission: 'public', handler: async (req) => this.login.submit(req.params.loginId, await req.body.buffer(64 * 1024), req.ctx.actor?.ip) },
      { method: 'GET', pattern: '/-/v1/done/:loginId', permission: 'public', handler: (req) => this.login.done(req.params.loginId, req.query.secret ?? '') },
      { method: 'PUT', pattern: '/-/user/:couchId', permission: 'public', handler: (req) => this.couchLogin(req) },
      { method: 'GET', pattern: '/-/user/:couchId', permission: 'authenticated', handler: (req) => this.couchUser(req) },
      { method: 'GET', pattern: '/-/npm/v1/tokens', permission: 'authenticated', handler: (req) => this.tokens.list(req.token!.userId) },
      { method: 'POST', pattern: '/-/npm/v1/tokens', permission: 'authenticated', handler: async (req) => this.tokens.create(req.token!.userId, await req.body.json<unknown>(64 * 1024), req.ctx.actor?.ip) },
      { method: 'DELETE', pattern: '/-/npm/v1/tokens/token/:key', permission: 'authenticated', handler: (req) => this.tokens.revoke(req.token!.userId, req.params.key, req.ctx.actor?.ip) },
      { method: 'GET', pattern: '/-/v1/search', permission: readAllPackages, handler: (req) => this.searchPackages(req) },
      { method: 'POST', pattern: '/-/npm/v1/security/advisories/bulk', permission: 'optional', handler: (req) => this.audit(req, {}) },
      { method: 'POST', pattern: '/-/npm/v1/security/audits/quick', permission: 'optional', handler: (req) => this.audit(req, EMPTY_AUDIT_REPORT) },
      { method: 'POST', pattern: '/-/npm/v1/security/audits', permission: 'optional', handler: (req) => this.audit(req, EMPTY_AUDIT_REPORT) },

      // dist-tags (`npm dist-tag`), for `name`, `@scope%2fname` and `@scope/name`.
      ...['/-/package/:name/dist-tags', '/-/package/:scope/:name/dist-tags'].flatMap((base): IRoute[] => [
        { method: 'GET', pattern: base, permission: read, handler: withPackageName((req, name) => this.getDistTags(req, name)) },
        { method: 'PUT', pattern: `${base}/:tag`, permission: write, handler: withPackageName((req, name) => this.putDistTag(req, name)), audit: audited('dist-tag.set') },
        { method: 'DELETE', pattern: `${base}/:tag`, permission: write, handler: withPackageName((req, name) => this.deleteDistTag(req, name)), audit: audited('dist-tag.remove') },
      ]),

      // Tarballs; the CLI's unpublish deletes them with `/-rev/{rev}` appended.
      { method: 'GET', pattern: '/:name/-/:file', permission: read, handler: withPackageName((req, name) => this.getTarball(req, name)) },
      { method: 'GET', pattern: '/:scope/:name/-/:file', permission: read, handler: withPackageName((req, name) => this.getTarball(req, name)) },
      { method: 'GET', pattern: '/:scope/:name/-/:fileScope/:file', permission: read, handler: withPackageName((req, name) => this.getTarball(req, name)) },
      { method: 'DELETE', pattern: '/:name/-/:file/-rev/:rev', permission: remove, handler: withPackageName((req, name) => this.deleteTarball(req, name)) },
      { method: 'DELETE', pattern: '/:scope/:name/-/:file/-rev/:rev', permission: remove, handler: withPackageName((req, name) => this.deleteTarball(req, name)) },

      // Revision-checked changes: unpublish of versions (PUT) and of the whole package (DELETE).
      // (The tarball DELETE that follows an unpublish is its clean-up, not an event of its own.)
      { method: 'PUT', pattern: '/:name/-rev/:rev', permission: remove, handler: withPackageName((req, name) => this.unpublishVersions(req, name)), audit: audited('delete') },
      { method: 'PUT', pattern: '/:scope/:name/-rev/:rev', permission: remove, handler: withPackageName((req, name) => this.unpublishVersions(req, name)), audit: audited('delete') },
      { method: 'DELETE', pattern: '/:name/-rev/:rev', permission: remove, handler: withPackageName((req, name) => this.deletePackage(req, name)), audit: audited('delete') },
      { method: 'DELETE', pattern: '/:scope/:name/-rev/:rev', permission: remove, handler: withPackageName((req, name) => this.deletePackage(req, name)), audit: audited('delete') },

      // Documents: GET packument (or one version), PUT publish / deprecate, DELETE the package.
      { method: 'GET', pattern: '/:name', permission: read, handler: withPackageName((req, name) => this.getPackument(req, name)) },
      { method: 'PUT', pattern: '/:name', permission: write, handler: withPackageName((req, name) => this.putPackage(req, name)), audit: audited('publish') },
      { method: 'DELETE', pattern: '/:name', permission: remove, handler: withPackageName((req, name) => this.deletePackage(req, name)), audit: audited('delete') },
      { method: 'GET', pattern: '/:scope/:name', permission: read, handler: withPackageName((req, name) => this.getPackumentOrVersion(req, name)) },
      { method: 'PUT', pattern: '/:scope/:name', permission: write, handler: withPackageName((req, name) => this.putPackage(req, name)), audit: audited('publish') },
      { method: 'DELETE', pattern: '/:scope/:name', permission: remove, handler: withPackageName((req, name) => this.deletePackage(req, name)), audit: audited('delete') },
      { method: 'GET', pattern: '/:scope/:name/:version', permission: read, handler: withPackageName((req, name) => this.getVersion(req, name, req.params.version)) },
    ];
  }

  private packagePermission(action: 'read' | 'write' | 'delete') {
    return (req: IRouteRequest) => ({ resource: `npm:package:${this.packageName(req)}`, action });
  }

  /**
   * The package a request is about. `:scope/:name` is `@scope/name` when the first segment is a
   * scope; otherwise (GET `/{name}/{version}`) the first segment is the package and the second a
   * version or tag. Names are checked against npm's rules before they reach storage.
   */
  private packageName(req: IRouteRequest): string {
    const { scope, name } = req.params;
    let packageName: string;
    if (scope === undefined) packageName = name;
    else if (this.isScopeSegment(scope)) packageName = `${scope}/${name}`;
    else if ((req.method === 'GET' || req.method === 'HEAD') && !req.path.startsWith('/-/')) {
      // Only `/{name}/{version}`; below `/-/` (dist-tags) two segments are always `@scope/name`.
      if (req.params.version !== undefined || req.params.file !== undefined) throw RegistryError.notFound(`no npm endpoint at ${req.path}`);
      packageName = scope;
    } else {
      throw RegistryError.notFound(`no npm endpoint at ${req.path}`);
    }
    const problem = packageName.length > MAX_NAME_LENGTH ? packageNameProblem(packageName) : rememberedPackageNameProblem(packageName);
    if (problem !== null) throw RegistryError.invalid(problem);
    return packageName;
  }

  private isScopeSegment(segment: string) {
    return segment.startsWith('@') && !segment.includes('/');
  }

  // ---- errors --------------------------------------------------------------------------------

  // npm's `{ error }` body is the base class's default.

  protected override errorHeaders(): Record<string, string> {
    return { 'Cache-Control': 'no-store' };
  }

  /**
   * 401s carry `WWW-Authenticate`: `Bearer` makes the CLI say the token is invalid and suggest
   * `npm login`, `Basic` that the password is wrong. Neither mentions `otp`, which would make the CLI
   * prompt for a one-time password.
   */
  protected override challengeHeaders(req?: IRouteRequest): Record<string, string> {
    const scheme = (req?.headers.authorization ?? '').trim().split(/\s+/)[0]?.toLowerCase();
    return { 'WWW-Authenticate': `${scheme === 'basic' ? 'Basic' : 'Bearer'} realm="smartregistry npm"` };
  }

  // ---- documents -----------------------------------------------------------------------------

  private async getPackument(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const abbreviated = wantsAbbreviated(req.headers.accept);
    const proxied = this.upstream.configured ? await this.proxiedPackument(req, name) : null;
    if (proxied) return this.sendProxiedPackument(req, proxied, abbreviated);
    // `?write=true` is the CLI reading what it will send back with its `_rev` (unpublish, deprecate,
    // owner, dist-tag): it must be what storage holds now, not what this instance checked a moment ago.
    const freshness = req.query.write === 'true' ? 'current' : 'recent';
    const document = await this.packages.getDocument(name, req.baseUrl, abbreviated, freshness);
    if (!document) throw RegistryError.notFound(`package ${name} not found`);
    // npm asks for gzip; the compressed copy is made once per stored version of the document.
    const gzip = document.bytes.length >= MIN_GZIP_BYTES && acceptsGzip(req.headers['accept-encoding']);
    const headers: Record<string, string> = {
      ETag: document.etag,
      'Last-Modified': httpDate(document.lastModified),
      'Cache-Control': 'no-cache',
      Vary: 'Accept, Accept-Encoding',
    };
    // A 304 names the tag the client holds, as every document's: the content coding weakens it when that is the gzip form's.
    if (etagMatches(req.headers['if-none-match'], document.etag)) return { status: 304, headers };
    if (gzip) headers.ETag = weakEtag(document.etag);
    headers['Content-Type'] = abbreviated ? ABBREVIATED_TYPE : FULL_TYPE;
    const body = gzip ? await this.cache.compressed(document) : document.bytes;
    if (gzip) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = String(body.length);
    return { status: 200, headers, body };
  }

  // ---- upstream ------------------------------------------------------------------------------

  /**
   * The packument merged from an upstream and the local package (local versions and tags win), or null
   * when no upstream serves this name or none has it. With the upstreams down, the local package alone
   * is served when there is one.
   */
  private async proxiedPackument(req: IRouteRequest, name: string): Promise<{ doc: INpmPackument; cache: TCacheStatus } | null> {
    const found = await this.upstreamPackument(req, name).catch(async (error: unknown) => {
      if (await this.packages.exists(name)) return null;
      throw error;
    });
    if (!found) return null;
    const local = await this.packages.getParsed(name, req.baseUrl);
    return { doc: mergeWithUpstream(local, found.doc, req.baseUrl), cache: found.cache };
  }

  /** The upstream's own packument of `name` (tarball URLs as the upstream has them) and the upstream it came from. */
  private async upstreamPackument(req: IRouteRequest, name: string) {
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    if (!selection) return null;
    const document = await this.upstream.getDocument(selection, {
      cacheKey: name,
      url: (upstream) => upstreamPackumentUrl(upstream.url, name),
      headers: { accept: 'application/json' },
    });
    if (!document) return null;
    const doc = parseUpstreamPackument(document.body, name);
    if (!doc) {
      this.logger.warn(`npm: upstream ${document.upstream.id} sent no usable packument for ${name}`);
      return null;
    }
    return { doc, upstream: document.upstream, cache: document.cache, selection };
  }

  private sendProxiedPackument(req: IRouteRequest, proxied: { doc: INpmPackument; cache: TCacheStatus }, abbreviated: boolean): IHandlerResponse {
    const bytes = Buffer.from(abbreviated ? serializeAbbreviated(proxied.doc) : serializePackument(proxied.doc), 'utf8');
    const etag = `"${sha256Hex(bytes).slice(0, 40)}"`;
    const headers: Record<string, string> = { ETag: etag, 'Cache-Control': 'no-cache', Vary: 'Accept, Accept-Encoding', 'X-Cache': proxied.cache };
    if (etagMatches(req.headers['if-none-match'], etag)) return { status: 304, headers };
    headers['Content-Type'] = abbreviated ? ABBREVIATED_TYPE : FULL_TYPE;
    headers['Content-Length'] = String(bytes.length);
    return { status: 200, headers, body: bytes };
  }

  /** A tarball this registry does not hold, from the upstream whose packument lists its version. */
  private async proxiedTarball(req: IRouteRequest, name: string, version: string, file: string): Promise<IHandlerResponse | null> {
    const found = await this.upstreamPackument(req, name);
    if (!found) return null;
    const tarball = upstreamTarball(found.doc, found.upstream.url, version);
    if (!tarball) return null;
    return this.upstream.serveArtifact(
      { config: found.selection.config, upstreams: [found.upstream] },
      { cacheKey: `${name}/-/${tarballFileName(name, version)}`, url: () => tarball.url, expect: tarball.expect, contentType: 'application/octet-stream' },
      req,
      req.storageContext,
      () => RegistryError.notFound(`tarball ${file} of ${name} not found`),
    );
  }

  private getPackumentOrVersion(req: IRouteRequest, name: string) {
    return this.isScopeSegment(req.params.scope) ? this.getPackument(req, name) : this.getVersion(req, name, req.params.name);
  }

  /** `GET /{name}/{version|tag|range}`: one version manifest. */
  private async getVersion(req: IRouteRequest, name: string, spec: string): Promise<IHandlerResponse> {
    const doc = (await this.proxiedPackument(req, name))?.doc ?? (await this.packages.getParsed(name, req.baseUrl));
    if (!doc) throw RegistryError.notFound(`package ${name} not found`);
    const version = resolveVersionSpec(doc, spec);
    if (!version) throw RegistryError.notFound(`version ${spec} of ${name} not found`);
    return jsonResponse(200, doc.versions[version], { 'Cache-Control': 'no-cache' });
  }

  /**
   * `PUT /{name}`: a publish when attachments come with it, otherwise a metadata change (deprecate).
   * The body streams: its tarballs go to storage while it is read, only the rest of the document is kept.
   * A few at a time: more wait (their bodies unread) or are refused with 429.
   */
  private putPackage(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    return this.publishes.run(() => this.readPackagePut(req, name));
  }

  private async readPackagePut(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const validation = validatePackageName(name);
    if (!validation.validForNew && !(await this.packages.exists(name))) {
      throw RegistryError.invalid(`invalid package name ${JSON.stringify(name)}: ${validation.warnings.join('; ')}`);
    }
    const limits = req.body.limits;
    const upload = this.packages.openUpload(name, req.storageContext, limits.maxArtifactBytes);
    try {
      const parser = new NpmPublishParser({
        maxDocumentChars: Math.min(limits.maxMetadataBytes, MAX_PUBLISH_DOCUMENT_CHARS),
        maxAttachmentBytes: limits.maxArtifactBytes,
        openAttachment: (file, documentSoFar) => {
          checkDocumentName(documentSoFar, name);
          return upload.open(file, documentSoFar);
        },
      });
      const maxBody = limits.maxMetadataBytes + Math.ceil(limits.maxArtifactBytes / 3) * 4;
      const { document } = await parser.parse(req.body.stream(maxBody));
      const body = document as INpmPublishBody;
      checkDocumentName(body, name);
      const versions = body.versions;
      if (!isPlainObject(versions) || Object.keys(versions).length === 0) throw RegistryError.invalid('the document has no versions');
      const attachments = isPlainObject(body._attachments) ? body._attachments : {};
      if (Object.keys(attachments).length === 0) return await this.updateMetadata(req, name, versions);
      return await this.publish(req, name, body, versions, attachments, upload);
    } catch (error) {
      await this.packages.discardUpload(name, upload, req.storageContext);
      throw error;
    }
  }

  private async publish(
    req: IRouteRequest,
    name: string,
    body: INpmPublishBody,
    versions: Record<string, unknown>,
    attachments: Record<string, unknown>,
    upload: NpmTarballUpload,
  ): Promise<IHandlerResponse> {
    const tarballs = attachmentVersions(name, versions, attachments);
    req.eventTarget = { resource: name, version: [...tarballs.keys()].join(',') };
    const existing = Object.keys(versions).some((v) => !tarballs.has(v)) ? await this.packages.getParsed(name, req.baseUrl, 'current') : null;
    const published = new Set(existing ? Object.keys(existing.versions) : []);
    const plan = planPublish({ name, body, versions, tarballs, published, publisher: { name: req.token!.userId }, upload });
    const { rev } = await this.packages.publish(name, plan, upload, req.storageContext);
    return jsonResponse(201, { ok: true, id: name, rev, success: true });
  }

  /** `npm deprecate` / undeprecate: the whole document comes back; only `deprecated` may change. */
  private async updateMetadata(req: IRouteRequest, name: string, versions: Record<string, unknown>): Promise<IHandlerResponse> {
    const current = await this.packages.getParsed(name, req.baseUrl, 'current');
    const unknown = Object.keys(versions).filter((version) => !current || !Object.hasOwn(current.versions, version));
    if (unknown.length) {
      throw RegistryError.invalid(`missing _attachments: version ${unknown.join(', ')} of ${name} has no tarball`);
    }
    for (const [version, manifest] of Object.entries(versions)) {
      if (isPlainObject(manifest) && containsNul(manifest.deprecated)) throw RegistryError.invalid(`deprecation message of ${version} contains a NUL character`);
    }
    const { rev } = await this.packages.updateDeprecations(name, versions, req.storageContext);
    return jsonResponse(200, { ok: true, id: name, rev });
  }

  private async unpublishVersions(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const body = await req.body.json<INpmPublishBody>();
    if (!isPlainObject(body) || !isPlainObject(body.versions)) throw RegistryError.invalid('the body must be the package document');
    if (isPlainObject(body._attachments) && Object.keys(body._attachments).length > 0) {
      throw RegistryError.invalid('publishing through /-rev/ is not supported: PUT /{name}');
    }
    const { rev, removed } = await this.packages.unpublishVersions(name, req.params.rev, body.versions, req.storageContext);
    req.eventTarget = { resource: name, version: removed.join(',') };
    return jsonResponse(200, { ok: true, id: name, rev, removed });
  }

  private async deletePackage(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    await this.packages.deletePackage(name, req.params.rev, req.storageContext);
    return jsonResponse(200, { ok: true, id: name });
  }

  // ---- tarballs ------------------------------------------------------------------------------

  private async getTarball(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const { file, fileScope } = req.params;
    if (fileScope !== undefined && fileScope !== scopeOf(name)) throw RegistryError.notFound(`no tarball ${fileScope}/${file} in ${name}`);
    const version = versionFromTarballFile(name, file);
    if (!version) throw RegistryError.notFound(`${file} is not a tarball of ${name}`);
    // `file` is `tarballFileName(name, version)` once the version was found in it.
    const source = this.packages.tarballSource(name, file, req.storageContext);
    const notFound = () => RegistryError.notFound(`tarball ${file} of ${name} not found`);
    try {
      return await serveObject(req, source, { notFound });
    } catch (error) {
      if (!isRegistryError(error, 'not-found')) throw error;
      const proxied = await this.proxiedTarball(req, name, version, file);
      if (!proxied) throw error;
      return proxied;
    }
  }

  private async deleteTarball(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    await this.packages.deleteTarball(name, req.params.file, req.storageContext);
    return jsonResponse(200, { ok: true });
  }

  // ---- dist-tags -----------------------------------------------------------------------------

  private async getDistTags(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const doc = (await this.proxiedPackument(req, name))?.doc ?? (await this.packages.getParsed(name, req.baseUrl));
    if (!doc) throw RegistryError.notFound(`package ${name} not found`);
    return jsonResponse(200, doc['dist-tags'], { 'Cache-Control': 'no-cache' });
  }

  private async putDistTag(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const tag = req.params.tag;
    const problem = distTagError(tag);
    if (problem) throw RegistryError.invalid(problem);
    const version = await req.body.json<unknown>(64 * 1024);
    if (typeof version !== 'string') throw RegistryError.invalid('the body must be a JSON string: the version to tag');
    const badVersion = versionError(version, name);
    if (badVersion) throw RegistryError.invalid(badVersion);
    const { rev, distTags } = await this.packages.setDistTag(name, tag, version, req.storageContext);
    return jsonResponse(201, { ok: true, id: name, rev, 'dist-tags': distTags });
  }

  private async deleteDistTag(req: IRouteRequest, name: string): Promise<IHandlerResponse> {
    const tag = req.params.tag;
    if (tag === 'latest') throw RegistryError.invalid('the latest tag cannot be removed; point it at another version instead');
    const { rev, distTags } = await this.packages.removeDistTag(name, tag, req.storageContext);
    return jsonResponse(200, { ok: true, id: name, rev, 'dist-tags': distTags });
  }

  // ---- search --------------------------------------------------------------------------------

  private async searchPackages(req: IRouteRequest): Promise<IHandlerResponse> {
    const text = (req.query.text ?? '').slice(0, 256);
    const size = Math.min(MAX_SEARCH_SIZE, Math.max(1, intParam(req.query.size, 20)));
    const from = Math.min(MAX_SEARCH_FROM, Math.max(0, intParam(req.query.from, 0)));
    const result = await this.search.search(text, size, from);
    const objects = result.entries.map((entry, index) => this.searchObject(entry, from + index));
    return jsonResponse(200, { objects, total: result.total, time: new Date().toUTCString() });
  }

  private searchObject(entry: INpmSearchEntry, rank: number) {
    return {
      package: {
        name: entry.name,
        scope: scopeOf(entry.name)?.slice(1) ?? 'unscoped',
        version: entry.version,
        description: entry.description ?? '',
        keywords: entry.keywords ?? [],
        date: entry.date,
        links: {},
        publisher: { username: entry.publisher ?? entry.maintainers[0] ?? '' },
        maintainers: entry.maintainers.map((username) => ({ username, email: '' })),
      },
      ...(entry.deprecated ? { flags: { deprecated: true } } : {}),
      score: { final: 1, detail: { quality: 1, popularity: 1, maintenance: 1 } },
      searchScore: 1 / (rank + 1),
    };
  }

  // ---- users, login, tokens ------------------------------------------------------------------

  private async audit(req: IRouteRequest, answer: object): Promise<IHandlerResponse> {
    req.body.discard();
    return jsonResponse(200, answer);
  }

  private async loginStart(req: IRouteRequest): Promise<IHandlerResponse> {
    const body = req.body.isEmpty ? {} : await req.body.json<unknown>(64 * 1024).catch(() => ({}));
    const create = isPlainObject(body) && body.create === true;
    return this.login.start(req.baseUrl, create);
  }

  /** `org.couchdb.user:{name}` (the colon may arrive encoded). */
  private couchName(req: IRouteRequest): string {
    const id = req.params.couchId;
    const prefix = 'org.couchdb.user:';
    if (!id.startsWith(prefix) || id.length === prefix.length) throw RegistryError.notFound(`no npm endpoint at ${req.path}`);
    return id.slice(prefix.length);
  }

  private async couchLogin(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.couchName(req);
    return this.login.couchLogin(name, await req.body.json<unknown>(64 * 1024), req.ctx.actor?.ip);
  }

  private async couchUser(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.couchName(req);
    if (name !== req.token!.userId) throw RegistryError.notFound(`user ${name} not found`);
    return jsonResponse(200, { _id: `org.couchdb.user:${name}`, name, type: 'user', roles: [] });
  }
}
