import * as crypto from 'node:crypto';
import { BaseRegistry, auditParams, type IProtocolDependencies, type IRoute, type IRequestRecord, type IRouteRequest } from '../core/classes.baseregistry.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { mapLimited } from '../core/helpers.async.js';
import { ociPaths } from '../core/storage.paths.js';
import { etagMatches, jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { serveObject, type IObjectSource, type IServedObject } from '../core/helpers.serve.js';
import type { IRequestContext, IResponse } from '../core/interfaces.core.js';
import { OciBlobStore } from './classes.ociblobstore.js';
import { OciCatalogue } from './classes.ocicatalogue.js';
import { OciGarbageCollector } from './classes.ocigarbagecollector.js';
import { OciReferenceGuard } from './classes.ocireferenceguard.js';
import { OciManifestStore, type IStoredManifest } from './classes.ocimanifeststore.js';
import { MANIFEST_ACCEPT, checkUpstreamManifest, upstreamBlobUrl, upstreamManifestUrl } from './helpers.ociupstream.js';
import type { TCacheStatus } from '../upstream/interfaces.upstream.js';
import { ANONYMOUS_TOKEN, OciTokenService } from './classes.ocitokenservice.js';
import { OciUploads, UPLOAD_SESSION_MAX_AGE_MS } from './classes.ociuploads.js';
import {
  MEDIA_TYPE,
  defaultErrorCode,
  isValidName,
  isValidTag,
  looksLikeDigest,
  nextPageLink,
  ociError,
  ociErrorDocument,
  paginate,
  parseDigest,
  parseManifest,
  parsePageRequest,
  referencedBlobs,
  referrerDescriptor,
  requireDigest,
  uploadRangeHeader,
} from './helpers.oci.js';
import type { IOciGarbageCollectionReport, IOciOptions, IParsedDigest, IReferrersIndex, IUploadSession } from './interfaces.oci.js';

/** The spec asks registries to accept manifests of at least 4 MiB; larger ones are refused (413). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Most layers (image) or manifests (index) one manifest may list; each costs a storage check on push. */
export const MAX_MANIFEST_DESCRIPTORS = 1024;
/** Storage checks one manifest push runs at the same time. */
export const REFERENCE_CHECK_CONCURRENCY = 16;
/** Longest page of tags or repositories one response carries (more follow through `Link`). */
const MAX_PAGE = 10_000;
/** Longest page of referrers (each is a document read from storage). */
const MAX_REFERRERS_PAGE = 1000;
/** The resource only a scope over every repository matches (`oci:repository:*`). */
const EVERY_REPOSITORY = 'oci:repository:*';
const API_VERSION_HEADERS = { 'Docker-Distribution-API-Version': 'registry/2.0' };
const ANONYMOUS_AUTHORIZATION = new RegExp(`^\\s*bearer\\s+${ANONYMOUS_TOKEN}\\s*$`, 'i');

type TAction = 'pull' | 'push' | 'delete';

/**
 * OCI Distribution Specification v1.1: pull, push, content discovery and content management, with
 * the Docker token flow. Answers `/v2/...` below its basePath and, through `rootPaths()`, on the host
 * root where container clients always look.
 */
export class OciRegistry extends BaseRegistry {
  readonly blobs: OciBlobStore;
  readonly manifests: OciManifestStore;
  readonly uploads: OciUploads;
  readonly tokens: OciTokenService;
  private readonly guard: OciReferenceGuard;
  private readonly collector: OciGarbageCollector;
  /** Requests that came with the anonymous token: no credentials, but they went through the token flow. */
  private readonly anonymousContexts = new WeakSet<IRequestContext>();

  constructor(deps: IProtocolDependencies) {
    super(deps);
    const options = deps.config as IOciOptions;
    const gc = OciGarbageCollector.resolveConfig(options);
    this.guard = new OciReferenceGuard(this.storage, gc.gracePeriodMs);
    this.blobs = new OciBlobStore(this.storage, this.guard);
    this.manifests = new OciManifestStore(this.storage);
    this.uploads = new OciUploads(this.storage, this.blobs, this.logger);
    this.collector = new OciGarbageCollector({ storage: this.storage, blobs: this.blobs, uploads: this.uploads, logger: this.logger, events: deps.events, config: gc });
    this.tokens = new OciTokenService(this.auth, deps.authConfig, () => this.anonymousRead);
  }

  override catalogue(): OciCatalogue {
    return new OciCatalogue(this.manifests);
  }

  override rootPaths(): string[] {
    return ['/v2'];
  }

  override async init(): Promise<void> {
    const moved = await this.manifests.migrateCatalog({ protocol: 'oci' }, this.logger);
    if (moved > 0) this.logger.info(`oci: moved ${moved} catalog entries to the sorted layout (oci/names/)`);
    this.uploads.startCleanup();
    this.collector.startSchedule();
  }

  override async destroy(): Promise<void> {
    await this.collector.stopSchedule();
    await this.uploads.stopCleanup();
    await super.destroy();
  }

  /**
   * Delete what nothing references any more, online: blobs no repository links, repository links no kept
   * manifest references, manifests the retention rules let go, abandoned upload sessions. A dry run lists
   * them without deleting. Safe while pushes and pulls go on, on any number of instances (OciReferenceGuard).
   */
  collectGarbage(options: { dryRun?: boolean } = {}): Promise<IOciGarbageCollectionReport> {
    return this.collector.collect(options);
  }

  /** Remove upload sessions (and their data) nobody touched for `maxAgeMs`. Returns how many. */
  cleanupUploads(maxAgeMs = UPLOAD_SESSION_MAX_AGE_MS): Promise<number> {
    return this.uploads.cleanup(maxAgeMs, { protocol: 'oci' });
  }

  // ---- the route table -----------------------------------------------------------------------

  protected routes(): IRoute[] {
    const pull = this.repositoryPermission('pull');
    const push = this.repositoryPermission('push');
    const remove = this.repositoryPermission('delete');
    return [
      { method: 'GET', pattern: '/v2/', permission: 'optional', handler: (req) => this.versionCheck(req) },
      { method: 'GET', pattern: '/v2', permission: 'optional', handler: (req) => this.versionCheck(req) },
      { method: ['GET', 'POST'], pattern: '/v2/token', permission: 'public', handler: (req) => this.tokens.issue(req) },
      { method: 'GET', pattern: '/v2/_catalog', permission: 'optional', handler: (req) => this.catalog(req) },
      { method: 'GET', pattern: '/v2/:name+/tags/list', permission: pull, handler: (req) => this.listTags(req) },
      { method: 'GET', pattern: '/v2/:name+/referrers/:digest', permission: pull, handler: (req) => this.listReferrers(req) },
      { method: 'GET', pattern: '/v2/:name+/manifests/:reference', permission: pull, handler: (req) => this.getManifest(req) },
      { method: 'PUT', pattern: '/v2/:name+/manifests/:reference', permission: push, handler: (req) => this.putManifest(req), audit: auditParams('publish', 'name', 'reference') },
      { method: 'DELETE', pattern: '/v2/:name+/manifests/:reference', permission: remove, handler: (req) => this.deleteManifest(req), audit: auditParams('delete', 'name', 'reference') },
      { method: 'POST', pattern: '/v2/:name+/blobs/uploads/', permission: push, handler: (req) => this.startUpload(req) },
      { method: 'POST', pattern: '/v2/:name+/blobs/uploads', permission: push, handler: (req) => this.startUpload(req) },
      { method: 'GET', pattern: '/v2/:name+/blobs/uploads/:uuid', permission: push, handler: (req) => this.uploadStatus(req) },
      { method: 'PATCH', pattern: '/v2/:name+/blobs/uploads/:uuid', permission: push, handler: (req) => this.patchUpload(req) },
      { method: 'PUT', pattern: '/v2/:name+/blobs/uploads/:uuid', permission: push, handler: (req) => this.finishUpload(req) },
      { method: 'DELETE', pattern: '/v2/:name+/blobs/uploads/:uuid', permission: push, handler: (req) => this.cancelUpload(req) },
      { method: 'GET', pattern: '/v2/:name+/blobs/:digest', permission: pull, handler: (req) => this.getBlob(req) },
      { method: 'DELETE', pattern: '/v2/:name+/blobs/:digest', permission: remove, handler: (req) => this.deleteBlob(req), audit: auditParams('delete', 'name', 'digest') },
    ];
  }

  /** Scope check on the repository in the path; its name is checked against the spec's grammar first. */
  private repositoryPermission(action: TAction) {
    return (req: IRouteRequest) => ({ resource: `oci:repository:${this.nameOf(req)}`, action });
  }

  private nameOf(req: IRouteRequest): string {
    const name = req.params.name;
    if (!isValidName(name)) throw ociError.nameInvalid(name);
    return name;
  }

  // ---- request and response plumbing ---------------------------------------------------------

  override async handleRequest(ctx: IRequestContext, relativePath: string, publicBasePath: string, record?: IRequestRecord): Promise<IResponse> {
    // The description's examples omit `/v2` below the basePath (`/oci/library/nginx/manifests/latest`).
    let path = relativePath;
    if (path !== '/v2' && !path.startsWith('/v2/')) path = path === '/' ? '/v2/' : `/v2${path}`;
    let context = ctx;
    const authorizationKey = authorizationHeaderName(ctx.headers);
    if (authorizationKey !== undefined) {
      const value = ctx.headers[authorizationKey];
      if (typeof value === 'string' && ANONYMOUS_AUTHORIZATION.test(value)) {
        const headers = { ...ctx.headers };
        delete headers[authorizationKey];
        context = { ...ctx, headers };
        this.anonymousContexts.add(context);
      }
    }
    const response = await super.handleRequest(context, path, publicBasePath, record);
    Object.assign(response.headers, API_VERSION_HEADERS);
    return response;
  }

  protected override renderError(error: RegistryError, req?: IRouteRequest): IHandlerResponse {
    if (error.code === 'INSUFFICIENT_SCOPE') {
      // A Bearer token without the scope: 401 with a challenge naming it, so the client (docker,
      // containerd) fetches a wider token. Basic credentials cannot widen: a plain 403 DENIED.
      const scheme = (req?.headers.authorization ?? '').trim().split(/\s+/)[0]?.toLowerCase();
      if (scheme === 'bearer') {
        const challenge = this.tokens.challenge(req, req ? this.challengeScope(req) : undefined, 'insufficient_scope');
        return jsonResponse(401, ociErrorDocument('UNAUTHORIZED', error.message, error.detail), { ...error.headers, 'WWW-Authenticate': challenge });
      }
      return jsonResponse(403, ociErrorDocument('DENIED', error.message, error.detail), { ...error.headers });
    }
    return super.renderError(error, req);
  }

  protected override errorBody(error: RegistryError): unknown {
    return ociErrorDocument(error.code ?? defaultErrorCode(error), error.message, error.detail);
  }

  protected override challengeHeaders(req?: IRouteRequest): Record<string, string> {
    return { 'WWW-Authenticate': this.tokens.challenge(req, req ? this.challengeScope(req) : undefined) };
  }

  /** The scope a client should ask the token endpoint for to repeat this request. */
  private challengeScope(req: IRouteRequest): string | undefined {
    if (req.path === '/v2/_catalog') return 'registry:catalog:*';
    const name = req.params.name;
    if (!name || !isValidName(name)) return undefined;
    if (req.path.includes('/blobs/uploads')) {
      // A cross-repository mount reads `from`: ask for that too, or the token cannot mount (distribution does the same).
      // A mount without `from` needs pull on every repository: the catalog scope carries the user's whole pull reach.
      const mount = req.method === 'POST' && req.query.mount !== undefined;
      const from = mount ? req.query.from : undefined;
      if (mount && !from) return `repository:${name}:pull,push registry:catalog:*`;
      return from && from !== name && isValidName(from) ? `repository:${name}:pull,push repository:${from}:pull` : `repository:${name}:pull,push`;
    }
    switch (req.method) {
      case 'GET':
      case 'HEAD':
        return `repository:${name}:pull`;
      case 'DELETE':
        return `repository:${name}:delete`;
      default:
        return `repository:${name}:pull,push`;
    }
  }

  /** Path prefix of this registry's `/v2` as the client reached it ('' on the host root). */
  private prefix(req: IRouteRequest): string {
    let pathname: string;
    try {
      pathname = new URL(req.baseUrl).pathname;
    } catch {
      pathname = '';
    }
    return pathname.replace(/\/+$/, '');
  }

  private blobLocation(req: IRouteRequest, name: string, digest: string): string {
    return `${this.prefix(req)}/v2/${name}/blobs/${digest}`;
  }

  private uploadLocation(req: IRouteRequest, name: string, uuid: string): string {
    return `${this.prefix(req)}/v2/${name}/blobs/uploads/${uuid}`;
  }

  private emptyResponse(status: number, headers: Record<string, string>): IHandlerResponse {
    return { status, headers: { ...headers, 'Content-Length': '0' } };
  }

  private get maxBlobBytes(): number {
    return this.deps.limits.maxArtifactBytes;
  }

  private get maxManifestBytes(): number {
    return Math.min(this.deps.limits.maxMetadataBytes, MAX_MANIFEST_BYTES);
  }

  // ---- base ------------------------------------------------------------------------------------

  /** `GET /v2/`: 200 for any valid credentials (or the anonymous token when anonymous reads are on), else the challenge. */
  private async versionCheck(req: IRouteRequest): Promise<IHandlerResponse> {
    if (!req.token && !(this.anonymousRead && this.anonymousContexts.has(req.ctx))) {
      throw RegistryError.unauthorized('authentication required', { code: 'UNAUTHORIZED' });
    }
    return jsonResponse(200, {});
  }

  // ---- content discovery -----------------------------------------------------------------------

  /** One page read from storage, filtered by what the caller may pull while it fills. */
  private async catalog(req: IRouteRequest): Promise<IHandlerResponse> {
    const token = req.token;
    if (!token && !this.anonymousRead) throw RegistryError.unauthorized('authentication required', { code: 'UNAUTHORIZED' });
    const page = parsePageRequest(req.query);
    if (page.last !== undefined && !isValidName(page.last)) {
      throw ociError.unsupported(`last must be a repository name, got ${JSON.stringify(page.last.slice(0, 200))}`);
    }
    const limit = Math.min(page.n ?? MAX_PAGE, MAX_PAGE);
    const visible = async (names: string[]) =>
      token ? Promise.all(names.map((name) => this.auth.authorize(token, `oci:repository:${name}`, 'pull'))) : names.map(() => true);
    const { names, more } = limit === 0 ? { names: [], more: false } : await this.manifests.listRepositoriesPage(page.last, limit, visible);
    const headers: Record<string, string> = {};
    if (more) headers.Link = nextPageLink(`${this.prefix(req)}/v2/_catalog`, page.n, names[names.length - 1]);
    return jsonResponse(200, { repositories: names }, headers);
  }

  private async listTags(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const page = parsePageRequest(req.query);
    if (!(await this.manifests.repositoryExists(name))) throw ociError.nameUnknown(name);
    if (page.last !== undefined && !isValidTag(page.last)) {
      throw ociError.unsupported(`last must be a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}), got ${JSON.stringify(page.last.slice(0, 200))}`);
    }
    const limit = Math.min(page.n ?? MAX_PAGE, MAX_PAGE);
    // One tag more than the page shows tells whether another page follows.
    const tags = limit === 0 ? [] : await this.manifests.listTagsPage(name, page.last, limit + 1);
    const { items, next } = paginate(tags, { n: limit }, MAX_PAGE);
    const headers: Record<string, string> = {};
    if (next !== undefined) headers.Link = nextPageLink(`${this.prefix(req)}/v2/${name}/tags/list`, page.n ?? items.length, next);
    return jsonResponse(200, { name, tags: items }, headers);
  }

  /** Referrers API (1.1): never 404 — an unknown subject simply has no referrers. Paged by `n`/`last` (a referrer digest) with `Link`. */
  private async listReferrers(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const subject = requireDigest(req.params.digest);
    const page = parsePageRequest(req.query);
    const after = page.last === undefined ? undefined : requireDigest(page.last, 'last');
    const artifactType = req.query.artifactType;
    const limit = Math.min(page.n ?? MAX_REFERRERS_PAGE, MAX_REFERRERS_PAGE);
    const headers: Record<string, string> = { 'Content-Type': MEDIA_TYPE.ociIndex };
    if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
    const { descriptors, more } =
      limit === 0
        ? { descriptors: [], more: false }
        : await this.manifests.listReferrersPage(name, subject, {
            after,
            limit,
            accept: artifactType ? (descriptor) => descriptor.artifactType === artifactType : undefined,
          });
    if (more) {
      // The filter carries over to the next page.
      const filters: Record<string, string> = artifactType ? { artifactType } : {};
      headers.Link = nextPageLink(`${this.prefix(req)}/v2/${name}/referrers/${subject.digest}`, page.n, descriptors[descriptors.length - 1].digest, filters);
    }
    const index: IReferrersIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: descriptors };
    return jsonResponse(200, index, headers);
  }

  // ---- manifests -------------------------------------------------------------------------------

  /** A tag or a digest → the manifest's digest; null for a tag that does not exist. */
  private async resolveReference(name: string, reference: string): Promise<IParsedDigest | null> {
    if (looksLikeDigest(reference)) return requireDigest(reference, 'reference');
    if (!isValidTag(reference)) throw ociError.manifestUnknown(reference);
    return this.manifests.resolveTag(name, reference);
  }

  private async manifestMissing(name: string, reference: string): Promise<RegistryError> {
    return (await this.manifests.repositoryExists(name)) ? ociError.manifestUnknown(reference) : ociError.nameUnknown(name);
  }

  private async getManifest(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const reference = req.params.reference;
    const digest = await this.resolveReference(name, reference);
    const manifest: (IStoredManifest & { cache?: TCacheStatus }) | null =
      (digest ? await this.manifests.getManifest(name, digest) : null) ?? (await this.upstreamManifest(req, name, reference));
    if (!manifest) throw await this.manifestMissing(name, reference);
    const headers: Record<string, string> = {
      'Content-Type': manifest.mediaType,
      'Content-Length': String(manifest.bytes.length),
      'Docker-Content-Digest': manifest.digest,
      ETag: `"${manifest.digest}"`,
    };
    if (manifest.cache) headers['X-Cache'] = manifest.cache;
    if (etagMatches(req.headers['if-none-match'], headers.ETag)) return { status: 304, headers: { ETag: headers.ETag, 'Docker-Content-Digest': manifest.digest } };
    return { status: 200, headers, body: req.method === 'HEAD' ? undefined : manifest.bytes };
  }

  /**
   * A manifest this registry does not hold, from the upstreams: by digest it never changes (cached for
   * good, checked against the digest); by tag it is revalidated after the metadata TTL.
   */
  private async upstreamManifest(req: IRouteRequest, name: string, reference: string): Promise<(IStoredManifest & { cache: TCacheStatus }) | null> {
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    if (!selection) return null;
    const expected = looksLikeDigest(reference) ? requireDigest(reference, 'reference') : null;
    const document = await this.upstream.getDocument(selection, {
      cacheKey: `manifests/${name}:${reference}`,
      url: (upstream) => upstreamManifestUrl(upstream, name, reference),
      headers: { accept: MANIFEST_ACCEPT },
      immutable: expected !== null,
    });
    if (!document) return null;
    const checked = checkUpstreamManifest(document.body, document.contentType, expected);
    if (!checked) {
      this.logger.warn(`oci: upstream ${document.upstream.id} sent no usable manifest for ${name}:${reference}`);
      return null;
    }
    return { digest: checked.digest, mediaType: checked.mediaType, bytes: document.body, cache: document.cache };
  }

  private async putManifest(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const reference = req.params.reference;
    const target = looksLikeDigest(reference) ? requireDigest(reference, 'reference') : undefined;
    if (!target && !isValidTag(reference)) {
      throw ociError.manifestInvalid(`tag ${JSON.stringify(reference)} is not valid: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    }
    const bytes = await req.body.buffer(this.maxManifestBytes);
    const declared = req.body.contentLength;
    if (declared !== undefined && declared !== bytes.length) {
      throw ociError.sizeInvalid(`Content-Length says ${declared} bytes but the manifest has ${bytes.length}`);
    }
    const parsed = parseManifest(bytes, req.headers['content-type']);
    const algorithm = target?.algorithm ?? 'sha256';
    const hex = crypto.createHash(algorithm).update(bytes).digest('hex');
    if (target && target.hex !== hex) {
      throw ociError.digestInvalid(`the manifest has digest ${algorithm}:${hex}, not ${target.digest}`, {
        expected: target.digest,
        actual: `${algorithm}:${hex}`,
      });
    }
    const digest: IParsedDigest = { algorithm, hex, digest: `${algorithm}:${hex}` };
    const heldAt = Date.now();
    const held = await this.checkReferences(name, parsed);

    const subjectDigest = parsed.subject ? parseDigest(parsed.subject.digest) : null;
    const ctx = req.storageContext;
    await this.manifests.putManifest(
      name,
      digest,
      parsed.mediaType,
      bytes,
      subjectDigest ? { digest: subjectDigest, descriptor: referrerDescriptor(parsed, digest.digest, bytes.length) } : undefined,
      ctx,
    );
    const lost = await this.guard.stillHeld([...held.keys()], heldAt);
    if (lost.length > 0) {
      // Written so long after the check that a collection may have taken a reference: not served broken.
      await this.manifests.deleteManifest(name, digest, ctx);
      throw ociError.manifestBlobUnknown(lost.map((key) => held.get(key)!));
    }
    if (!target) await this.manifests.setTag(name, reference, digest.digest, ctx);
    await this.manifests.ensureRepository(name, ctx);
    const headers: Record<string, string> = {
      Location: `${this.prefix(req)}/v2/${name}/manifests/${digest.digest}`,
      'Docker-Content-Digest': digest.digest,
    };
    if (subjectDigest) headers['OCI-Subject'] = subjectDigest.digest;
    return this.emptyResponse(201, headers);
  }

  /** Everything a manifest points at (except its subject) must be in the repository already. Returns the keys held, with their digests. */
  private async checkReferences(name: string, parsed: ReturnType<typeof parseManifest>): Promise<Map<string, string>> {
    const listed = parsed.kind === 'image' ? parsed.layers.length : parsed.manifests.length;
    if (listed > MAX_MANIFEST_DESCRIPTORS) {
      const what = parsed.kind === 'image' ? 'layers' : 'manifests';
      throw ociError.manifestInvalid(`the manifest lists ${listed} ${what}; at most ${MAX_MANIFEST_DESCRIPTORS} are accepted`);
    }
    // Each reference is held (OciReferenceGuard): a garbage collection cannot take it before the manifest is written.
    const holdLink = async ({ algorithm, hex }: IParsedDigest) => {
      const key = ociPaths.layerLink(name, algorithm, hex);
      return (await this.guard.hold([key])).length === 0 ? key : null;
    };
    const hold =
      parsed.kind === 'image'
        ? holdLink
        : async (digest: IParsedDigest) => {
            const key = ociPaths.manifest(name, digest.algorithm, digest.hex);
            return (await this.guard.hold([key])).length === 0 ? key : holdLink(digest);
          };
    const descriptors = parsed.kind === 'image' ? referencedBlobs(parsed) : parsed.manifests;
    const unique = [...new Set(descriptors.map((descriptor) => descriptor.digest))];
    const held = await mapLimited(unique, REFERENCE_CHECK_CONCURRENCY, (digest) => hold(parseDigest(digest)!));
    const missing = unique.filter((_, index) => held[index] === null);
    if (missing.length > 0) throw ociError.manifestBlobUnknown(missing);
    return new Map(unique.map((digest, index) => [held[index]!, digest]));
  }

  private async deleteManifest(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const reference = req.params.reference;
    const ctx = req.storageContext;
    if (looksLikeDigest(reference)) {
      const digest = requireDigest(reference, 'reference');
      if (!(await this.manifests.deleteManifest(name, digest, ctx))) throw await this.manifestMissing(name, reference);
    } else {
      if (!isValidTag(reference) || !(await this.manifests.deleteTag(name, reference, ctx))) throw await this.manifestMissing(name, reference);
    }
    return this.emptyResponse(202, {});
  }

  // ---- blobs -----------------------------------------------------------------------------------

  private async getBlob(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const digest = requireDigest(req.params.digest);
    const record = await this.blobs.getLinkedHeld(name, digest);
    if (!record) {
      const proxied = await this.upstreamBlob(req, name, digest);
      if (!proxied) throw ociError.blobUnknown(digest.digest);
      return proxied;
    }
    const object: IServedObject = {
      size: record.size,
      etag: `"${record.digest}"`,
      lastModified: new Date(record.createdAt),
      contentType: 'application/octet-stream',
      headers: { 'Docker-Content-Digest': record.digest, 'Cache-Control': 'max-age=31536000' },
    };
    // A record whose bytes a collection took after it was read is a blob that is not there (404, never 500).
    const source: IObjectSource = {
      describe: async () => ((await this.blobs.hasData(record, req.storageContext)) ? object : null),
      open: async (span) => {
        const opened = await this.blobs.open(record, span, req.storageContext);
        return opened && { object, body: opened.stream, length: opened.length };
      },
      directUrl: this.blobs.directUrl(record, req.storageContext),
    };
    return serveObject(req, source, { notFound: () => ociError.blobUnknown(digest.digest) });
  }

  /** A blob this registry does not hold, streamed from the first upstream that has it and cached, verified by its digest. */
  private async upstreamBlob(req: IRouteRequest, name: string, digest: IParsedDigest): Promise<IHandlerResponse | null> {
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    if (!selection) return null;
    return this.upstream.serveArtifact(
      selection,
      {
        cacheKey: `blobs/${name}@${digest.digest}`,
        url: (upstream) => upstreamBlobUrl(upstream, name, digest.digest),
        expect: { [digest.algorithm]: digest.hex },
        contentType: 'application/octet-stream',
        responseHeaders: { 'Docker-Content-Digest': digest.digest, 'Cache-Control': 'max-age=31536000' },
      },
      req,
      req.storageContext,
      () => ociError.blobUnknown(digest.digest),
    );
  }

  private async deleteBlob(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const digest = requireDigest(req.params.digest);
    if (!(await this.blobs.unlink(name, digest, req.storageContext))) throw ociError.blobUnknown(digest.digest);
    return this.emptyResponse(202, {});
  }

  /** Make a stored blob part of a repository. */
  private async linkBlob(req: IRouteRequest, name: string, digest: IParsedDigest, size: number): Promise<IHandlerResponse> {
    await this.blobs.link(name, digest, size, req.storageContext);
    await this.manifests.ensureRepository(name, req.storageContext);
    return this.emptyResponse(201, { Location: this.blobLocation(req, name, digest.digest), 'Docker-Content-Digest': digest.digest });
  }

  // ---- uploads ---------------------------------------------------------------------------------

  /** POST: cross-repository mount, single-request monolithic upload (`?digest=`), or a new session. */
  private async startUpload(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const ctx = req.storageContext;
    if (req.query.mount !== undefined) {
      const mounted = await this.tryMount(req, name);
      if (mounted) return mounted;
    } else if (req.query.digest !== undefined) {
      const digest = requireDigest(req.query.digest);
      const body = req.body.stream(this.maxBlobBytes);
      const record = await this.uploads.storeWhole(digest, body, ctx, { declaredLength: req.body.contentLength, maxBytes: this.maxBlobBytes });
      return this.linkBlob(req, name, digest, record.size);
    }
    req.body.discard();
    const session = await this.uploads.create(name, ctx);
    return this.emptyResponse(202, {
      Location: this.uploadLocation(req, name, session.uuid),
      'Docker-Upload-UUID': session.uuid,
      Range: uploadRangeHeader(0),
    });
  }

  /** 201 when the blob is linked in `from` and the caller may pull there; otherwise null (→ a normal session). */
  private async tryMount(req: IRouteRequest, name: string): Promise<IHandlerResponse | null> {
    const digest = requireDigest(req.query.mount, 'mount');
    const from = req.query.from;
    if (!from) return this.tryMountWithoutSource(req, name, digest);
    if (!isValidName(from)) return null;
    const source = `oci:repository:${from}`;
    const mayPull = req.token ? await this.auth.authorize(req.token, source, 'pull') : this.anonymousRead;
    const record = await this.blobs.getLinked(from, digest);
    if (!record) return null;
    if (!mayPull) {
      if (req.token && (await this.mayWidenTo(req, source, 'pull'))) {
        throw RegistryError.denied(`token does not grant pull on ${from}, the mount's source`, { code: 'INSUFFICIENT_SCOPE' });
      }
      return null;
    }
    // Held: a collection that is about to delete the record fails, or has deleted it and the mount falls back to an upload.
    if (!(await this.blobs.holdForMount(digest, record, req.storageContext))) return null;
    req.body.discard();
    return this.linkBlob(req, name, digest, record.size);
  }

  /**
   * A mount without `from` (the spec lets a registry find the blob itself): 201 when the blob is stored
   * and the caller may pull every repository, so knowing a digest never gets anyone bytes they could
   * not read anyway; otherwise null (→ a normal session).
   */
  private async tryMountWithoutSource(req: IRouteRequest, name: string, digest: IParsedDigest): Promise<IHandlerResponse | null> {
    if (!req.token) return null;
    const record = await this.blobs.getRecord(digest);
    if (!record) return null;
    if (!(await this.auth.authorize(req.token, EVERY_REPOSITORY, 'pull'))) {
      if (await this.mayWidenTo(req, EVERY_REPOSITORY, 'pull')) {
        throw RegistryError.denied('token does not grant pull on every repository, which a mount without from needs', { code: 'INSUFFICIENT_SCOPE' });
      }
      return null;
    }
    if (!(await this.blobs.holdForMount(digest, record, req.storageContext))) return null;
    req.body.discard();
    return this.linkBlob(req, name, digest, record.size);
  }

  /**
   * Whether a Bearer token's user holds `action` on `resource` though the token does not (it was issued
   * for a narrower scope): then a 401 with the wider challenge gets the client a token that has it.
   */
  private async mayWidenTo(req: IRouteRequest, resource: string, action: TAction): Promise<boolean> {
    const scheme = (req.headers.authorization ?? '').trim().split(/\s+/)[0]?.toLowerCase();
    if (scheme !== 'bearer' || !req.token) return false;
    return this.auth.authorize(await this.auth.passwordToken(req.token.userId, 'oci'), resource, action);
  }

  private async uploadStatus(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const session = await this.uploads.require(name, req.params.uuid);
    return this.emptyResponse(204, {
      Location: this.uploadLocation(req, name, session.uuid),
      'Docker-Upload-UUID': session.uuid,
      Range: uploadRangeHeader(session.size),
    });
  }

  private async patchUpload(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const session = await this.uploads.require(name, req.params.uuid);
    const updated = await this.appendBody(req, name, session);
    return this.emptyResponse(202, {
      Location: this.uploadLocation(req, name, updated.uuid),
      'Docker-Upload-UUID': updated.uuid,
      Range: uploadRangeHeader(updated.size),
    });
  }

  private appendBody(req: IRouteRequest, name: string, session: IUploadSession) {
    return this.uploads.appendRequestBody(session, req.body.stream(Number.MAX_SAFE_INTEGER), req.storageContext, {
      contentRange: req.headers['content-range'],
      declaredLength: req.body.contentLength,
      maxTotalBytes: this.maxBlobBytes,
      location: this.uploadLocation(req, name, session.uuid),
    });
  }

  /** PUT ?digest=: the optional last chunk, then digest verification; the blob becomes part of the repository. */
  private async finishUpload(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const digest = requireDigest(req.query.digest);
    let session = await this.uploads.require(name, req.params.uuid);
    if (!req.body.isEmpty) session = await this.appendBody(req, name, session);
    else req.body.discard();
    const record = await this.uploads.complete(session, digest, req.storageContext);
    return this.linkBlob(req, name, digest, record.size);
  }

  private async cancelUpload(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.nameOf(req);
    const session = await this.uploads.require(name, req.params.uuid);
    req.body.discard();
    await this.uploads.cancel(session, req.storageContext);
    return this.emptyResponse(204, {});
  }
}

/** The name the Authorization header has in `headers` (any case); a loop, not a key array, as every request asks. */
function authorizationHeaderName(headers: IRequestContext['headers'] | undefined): string | undefined {
  for (const name in headers) if (name.toLowerCase() === 'authorization') return name;
  return undefined;
}
