import { BaseRegistry, type TRouteAudit, type IProtocolDependencies, type IRoute, type IRouteRequest, type TRoutePermission } from '../core/classes.baseregistry.js';
import type { TEventAction } from '../core/interfaces.operations.js';
import { RegistryError } from '../core/classes.registryerror.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { serveObject } from '../core/helpers.serve.js';
import { ComposerCatalogue } from './classes.composercatalogue.js';
import { bufferedObjectSource } from '../core/helpers.storedsource.js';
import { sha256Hex } from '../core/helpers.hash.js';
import type { TCacheStatus } from '../upstream/interfaces.upstream.js';
import { ComposerPackageStore } from './classes.composerpackagestore.js';
import { createComposerSearchIndex } from './classes.composersearch.js';
import { BASE_URL_MARK, distPath, isValidPackageName, namePatternMatcher, renderPackagesJson, type TMetadataFile } from './helpers.composer.js';
import { isDevVersion } from './helpers.composerversion.js';
import { mergeMetadataFile, parseUpstreamMetadata, upstreamMetadataUrl, type IUpstreamComposerVersion } from './helpers.composerupstream.js';
import type { IComposerSearchEntry } from './interfaces.composer.js';

export interface IComposerRegistryOptions {
  /** Most bytes the members of an uploaded zip may declare together. Default 4 GiB. */
  maxUnpackedBytes?: number;
  /** Other instances' changes show in search, packages.json and list.json after at most this long. Default 1 s. */
  revalidateMs?: number;
}

const DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024 ** 3;
const DEFAULT_REVALIDATE_MS = 1000;
const DEFAULT_PER_PAGE = 15;
const MAX_PER_PAGE = 100;
/** Search hits looked at before the type filter and the page. */
const MAX_SEARCH_HITS = 1000;
const METADATA_FILE = /^(.+?)(~dev)?\.json$/;
const DIST_FILE = /^([0-9a-f]{40})\.zip$/;

/**
 * The Composer repository (v2 protocol): `packages.json` pointing Composer at `/p2/` metadata files
 * (derived documents, tagged versions and dev branches apart), zips served from storage, search and
 * the package list, and our own upload and delete. Formats are in helpers.composer.ts and
 * helpers.composerversion.ts, packages in classes.composerpackagestore.ts.
 */
export class ComposerRegistry extends BaseRegistry {
  private readonly search: SearchIndex<IComposerSearchEntry>;
  private readonly packages: ComposerPackageStore;

  constructor(deps: IProtocolDependencies, options: IComposerRegistryOptions = {}) {
    super(deps);
    const revalidateMs = options.revalidateMs ?? DEFAULT_REVALIDATE_MS;
    this.search = createComposerSearchIndex(deps.storage, deps.logger, revalidateMs);
    this.packages = new ComposerPackageStore(deps.storage, this.search, deps.logger, {
      maxUnpackedBytes: options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
      namesRevalidateMs: revalidateMs,
    });
  }

  override catalogue(): ComposerCatalogue {
    return new ComposerCatalogue(this.packages, this.search);
  }

  // ---- the route table -----------------------------------------------------------------------

  protected routes(): IRoute[] {
    const pkg = (action: string) => (req: IRouteRequest) => ({ resource: `composer:package:${this.packageName(req)}`, action });
    const metadata = (req: IRouteRequest) => ({ resource: `composer:package:${this.metadataFile(req).name}`, action: 'read' });
    // The version: what the upload turned out to be, or the one deleted.
    const audited = (action: TEventAction): TRouteAudit => (req) => ({
      action,
      resource: this.packageName(req),
      ...((req.eventTarget?.version ?? req.params.version) ? { version: req.eventTarget?.version ?? req.params.version } : {}),
    });
    // Lists answer everyone who may read something; each caller sees the packages it may read.
    const lists: TRoutePermission = this.anonymousRead ? 'optional' : 'authenticated';
    return [
      { method: 'GET', pattern: '/packages.json', permission: lists, handler: (req) => this.packagesJson(req) },
      { method: 'GET', pattern: '/packages/list.json', permission: lists, handler: (req) => this.list(req) },
      { method: 'GET', pattern: '/search.json', permission: lists, handler: (req) => this.searchPackages(req) },
      { method: 'GET', pattern: '/p2/:vendor/:file', permission: metadata, handler: (req) => this.metadata(req) },
      { method: 'GET', pattern: '/dists/:vendor/:package/:file', permission: pkg('read'), handler: (req) => this.dist(req) },
      { method: 'PUT', pattern: '/packages/:vendor/:package', permission: pkg('write'), handler: (req) => this.upload(req), audit: audited('publish') },
      { method: 'DELETE', pattern: '/packages/:vendor/:package', permission: pkg('delete'), handler: (req) => this.remove(req, null), audit: audited('delete') },
      { method: 'DELETE', pattern: '/packages/:vendor/:package/:version+', permission: pkg('delete'), handler: (req) => this.remove(req, req.params.version), audit: audited('delete') },
    ];
  }

  /** `vendor/package` of a request, by Composer's name rule (lower case). */
  private packageName(req: IRouteRequest): string {
    const name = `${req.params.vendor}/${req.params.package}`;
    if (!isValidPackageName(name)) throw RegistryError.invalid(`invalid package name ${JSON.stringify(name)}: expected vendor/package in lower case`);
    return name;
  }

  /** `{package}.json` or `{package}~dev.json`; anything else is no metadata file (404: Composer reads that as "no such package"). */
  private metadataFile(req: IRouteRequest): { name: string; file: TMetadataFile } {
    const match = METADATA_FILE.exec(req.params.file);
    const name = `${req.params.vendor}/${match?.[1] ?? ''}`;
    if (!match || !isValidPackageName(name)) throw RegistryError.notFound(`no metadata file ${req.params.vendor}/${req.params.file}`);
    return { name, file: match[2] ? 'dev' : 'tagged' };
  }

  // ---- errors --------------------------------------------------------------------------------

  /** `{ status: "error", message }`: Composer prints the status line; scripts read the message (a 5xx's is already the public one). */
  protected override errorBody(error: RegistryError): unknown {
    return { status: 'error', message: error.message };
  }

  // ---- metadata ------------------------------------------------------------------------------

  private async packagesJson(req: IRouteRequest): Promise<IHandlerResponse> {
    const names = await this.readable(req, await this.packages.listNames());
    // `available-packages` tells Composer to ask for nothing else: with upstreams it must ask for every name.
    const proxying = (await this.upstream.selectAll(req.method, req.ctx.actor)) !== null;
    return jsonResponse(200, renderPackagesJson(req.baseUrl, proxying ? null : names), { 'Cache-Control': 'no-cache' });
  }

  private async metadata(req: IRouteRequest): Promise<IHandlerResponse> {
    const { name, file } = this.metadataFile(req);
    const proxied = !this.upstream.configured
      ? null
      : await this.upstreamMetadata(req, name, file).catch(async (error: unknown) => {
          // With the upstreams down, a local package is still served as it is.
          if (await this.packages.getPackage(name)) return null;
          throw error;
        });
    if (proxied) return this.proxiedMetadata(req, name, file, proxied.versions, proxied.cache);
    const source = await this.packages.metadataSource(name, file, req.baseUrl, req.storageContext);
    return await serveObject(req, source, { notFound: () => RegistryError.notFound(`package ${name} not found`) });
  }

  /** The names of `names` the caller may read. */
  private async readable(req: IRouteRequest, names: string[]): Promise<string[]> {
    if (this.anonymousRead || (await this.auth.authorize(req.token, 'composer:package:*', 'read'))) return names;
    const allowed: string[] = [];
    for (const name of names) if (await this.auth.authorize(req.token, `composer:package:${name}`, 'read')) allowed.push(name);
    return allowed;
  }

  // ---- list, search --------------------------------------------------------------------------

  /** `list.json[?filter=acme/*][&vendor=acme]`: `{ packageNames }`. */
  private async list(req: IRouteRequest): Promise<IHandlerResponse> {
    const { filter, vendor } = req.query;
    let names = await this.packages.listNames();
    if (vendor) names = names.filter((name) => name.startsWith(`${vendor.toLowerCase()}/`));
    if (filter) names = names.filter(namePatternMatcher(filter));
    return jsonResponse(200, { packageNames: await this.readable(req, names) });
  }

  /** `search.json?q=&type=&per_page=`: `{ results: [{ name, description, url }], total }`. */
  private async searchPackages(req: IRouteRequest): Promise<IHandlerResponse> {
    const perPage = Math.min(Math.max(Number.parseInt(req.query.per_page ?? '', 10) || DEFAULT_PER_PAGE, 1), MAX_PER_PAGE);
    const type = req.query.type?.trim();
    const hits = (await this.search.search(req.query.q ?? '', MAX_SEARCH_HITS, 0)).entries.filter((entry) => !type || entry.type === type);
    const readable = new Set(await this.readable(req, hits.map((entry) => entry.name)));
    const results = hits.filter((entry) => readable.has(entry.name));
    return jsonResponse(200, {
      results: results.slice(0, perPage).map((entry) => ({ name: entry.name, description: entry.description, url: `${req.baseUrl}/p2/${entry.name}.json` })),
      total: results.length,
    });
  }

  // ---- dists ---------------------------------------------------------------------------------

  private async dist(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.packageName(req);
    const reference = DIST_FILE.exec(req.params.file)?.[1];
    const notFound = () => RegistryError.notFound(`package ${name} has no dist ${req.params.file}`);
    const source = reference ? await this.packages.distSource(name, reference, req.storageContext) : null;
    if (!source) {
      const proxied = reference ? await this.upstreamDist(req, name, reference, notFound) : null;
      if (!proxied) throw notFound();
      return proxied;
    }
    return serveObject(req, source, { notFound });
  }

  // ---- upstream ------------------------------------------------------------------------------

  /** The versions of one upstream metadata file and where they came from; null when no upstream serves or has the package. */
  private async upstreamMetadata(req: IRouteRequest, name: string, file: TMetadataFile) {
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    if (!selection) return null;
    const document = await this.upstream.getDocument(selection, {
      cacheKey: `p2/${name}${file === 'dev' ? '~dev' : ''}`,
      url: (upstream) => upstreamMetadataUrl(upstream.url, name, file),
    });
    if (!document) return null;
    const versions = parseUpstreamMetadata(document.body, name, upstreamMetadataUrl(document.upstream.url, name, file));
    if (!versions) {
      this.logger.warn(`composer: upstream ${document.upstream.id} sent no usable metadata file for ${name}`);
      return null;
    }
    return { versions, upstream: document.upstream, cache: document.cache, selection };
  }

  /** The upstream's versions with dist URLs of ours, the local package's versions over them (a local version always wins). */
  private async proxiedMetadata(req: IRouteRequest, name: string, file: TMetadataFile, versions: IUpstreamComposerVersion[], cache: TCacheStatus): Promise<IHandlerResponse> {
    const local = ((await this.packages.getPackage(name))?.versions ?? [])
      .map((record) => record.entry)
      .filter((entry) => isDevVersion(entry.version_normalized) === (file === 'dev'))
      .map((entry) => ({ ...entry, dist: { ...entry.dist, url: entry.dist.url.replace(BASE_URL_MARK, req.baseUrl) } }));
    const bytes = mergeMetadataFile(name, local, versions, (distId) => `${req.baseUrl}${distPath(name, distId)}`);
    const object = { size: bytes.length, etag: `"${sha256Hex(bytes).slice(0, 32)}"`, contentType: 'application/json', headers: { 'X-Cache': cache } };
    return serveObject(req, bufferedObjectSource(async () => ({ object, bytes })), { notFound: () => RegistryError.notFound(`package ${name} not found`) });
  }

  /** A dist this registry does not hold: from the upstream whose metadata lists it, checked against its sha1 when the upstream gives one. */
  private async upstreamDist(req: IRouteRequest, name: string, distId: string, notFound: () => RegistryError): Promise<IHandlerResponse | null> {
    for (const file of ['tagged', 'dev'] as const) {
      const found = await this.upstreamMetadata(req, name, file);
      const version = found?.versions.find((candidate) => candidate.distId === distId);
      if (!found || !version) continue;
      return this.upstream.serveArtifact(
        { config: found.selection.config, upstreams: [found.upstream] },
        { cacheKey: `dists/${name}/${distId}`, url: () => version.distUrl, expect: version.sha1 ? { sha1: version.sha1 } : undefined, contentType: 'application/zip' },
        req,
        req.storageContext,
        notFound,
      );
    }
    return null;
  }

  // ---- upload, delete ------------------------------------------------------------------------

  /** `PUT /packages/{vendor}/{package}[?version=]` with the zip as the body. */
  private async upload(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.packageName(req);
    if (req.body.isEmpty) throw RegistryError.invalid('the upload is empty: send the package zip as the body');
    const maxBytes = req.body.limits.maxArtifactBytes;
    const entry = await this.packages.upload(
      { name, queryVersion: req.query.version || undefined, maxBytes, publishedBy: req.token?.userId ?? 'anonymous' },
      req.body.stream(maxBytes),
      req.storageContext,
    );
    req.eventTarget = { resource: name, version: entry.version };
    return jsonResponse(201, { status: 'success', name, version: entry.version, version_normalized: entry.version_normalized, shasum: entry.dist.shasum });
  }

  /** `DELETE /packages/{vendor}/{package}[/{version}]`. */
  private async remove(req: IRouteRequest, version: string | null): Promise<IHandlerResponse> {
    const name = this.packageName(req);
    if (!(await this.packages.delete(name, version, req.storageContext))) {
      throw RegistryError.notFound(version === null ? `package ${name} not found` : `package ${name} has no version ${version}`);
    }
    return jsonResponse(200, { status: 'success', deleted: version === null ? name : `${name} ${version}` });
  }
}
