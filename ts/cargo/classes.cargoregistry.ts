import { BaseRegistry, auditOwnerChange, auditParams, type IProtocolDependencies, type IRoute, type IRouteRequest } from '../core/classes.baseregistry.js';
import { FramedStreamReader } from '../core/classes.framedstreamreader.js';
import { RegistryError } from '../core/classes.registryerror.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { etagMatches, jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { sha256Hex } from '../core/helpers.hash.js';
import type { TCacheStatus } from '../upstream/interfaces.upstream.js';
import { downloadUrl, mergeIndexFiles, parseIndexFile, parseUpstreamConfig, upstreamConfigUrl, upstreamIndexUrl, type IIndexLine } from './helpers.cargoupstream.js';
import { serveObject } from '../core/helpers.serve.js';
import { CargoCrateStore, type ICargoActor } from './classes.cargocratestore.js';
import { createCargoSearchIndex } from './classes.cargosearch.js';
import { CargoCatalogue } from './classes.cargocatalogue.js';
import { FRAME_LENGTH_BYTES, assertCrateName, assertVersion, indexPathOf, parsePublishMetadata, publishWarnings, readFrameLength, renderIndexFile } from './helpers.cargo.js';
import type { ICargoSearchEntry } from './interfaces.cargo.js';

export interface ICargoRegistryOptions {
  /** Most bytes a .crate may inflate to (stops gzip bombs). Default 512 MiB. */
  maxUnpackedBytes?: number;
  /** Other instances' publishes show in search after at most this long. Default 1 s. */
  searchRevalidateMs?: number;
}

const DEFAULT_MAX_UNPACKED_BYTES = 512 * 1024 * 1024;
const DEFAULT_SEARCH_REVALIDATE_MS = 1000;
const MAX_PER_PAGE = 100;
const MAX_OWNER_CHANGES = 100;

/**
 * The Cargo registry (sparse index, RFC 2789, with the Web API cargo publishes, yanks, searches and
 * manages owners through). Cargo is told to use `sparse+{baseUrl}/`. Formats are in helpers.cargo.ts,
 * crates in classes.cargocratestore.ts.
 */
export class CargoRegistry extends BaseRegistry {
  private readonly search: SearchIndex<ICargoSearchEntry>;
  private readonly crates: CargoCrateStore;
  private readonly catalogueView: CargoCatalogue;

  constructor(deps: IProtocolDependencies, options: ICargoRegistryOptions = {}) {
    super(deps);
    this.search = createCargoSearchIndex(deps.storage, deps.logger, options.searchRevalidateMs ?? DEFAULT_SEARCH_REVALIDATE_MS);
    this.crates = new CargoCrateStore(deps.storage, this.search, deps.logger, options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES);
    this.catalogueView = new CargoCatalogue(this.crates, this.search);
  }

  override catalogue(): CargoCatalogue {
    return this.catalogueView;
  }

  // ---- the route table -----------------------------------------------------------------------

  protected routes(): IRoute[] {
    const crate = (action: string) => (req: IRouteRequest) => ({ resource: `cargo:crate:${this.crateName(req)}`, action });
    const readAllCrates = () => ({ resource: 'cargo:crate:*', action: 'read' });
    return [
      // Any valid token (a token for one crate needs it too), or none with anonymous reads.
      { method: 'GET', pattern: '/config.json', permission: this.anonymousRead ? 'public' : 'authenticated', handler: async (req) => this.configJson(req) },
      // The Web API, before the index patterns (`/api/v1/crates` also has three segments).
      { method: 'PUT', pattern: '/api/v1/crates/new', permission: 'authenticated', handler: (req) => this.publish(req), audit: 'publish' },
      { method: 'GET', pattern: '/api/v1/crates', permission: readAllCrates, handler: (req) => this.searchCrates(req) },
      { method: 'GET', pattern: '/api/v1/crates/:name/:version/download', permission: crate('read'), handler: (req) => this.download(req) },
      { method: 'DELETE', pattern: '/api/v1/crates/:name/:version/yank', permission: crate('delete'), handler: (req) => this.yank(req, true), audit: auditParams('yank', 'name', 'version') },
      { method: 'PUT', pattern: '/api/v1/crates/:name/:version/unyank', permission: crate('delete'), handler: (req) => this.yank(req, false), audit: auditParams('unyank', 'name', 'version') },
      { method: 'GET', pattern: '/api/v1/crates/:name/owners', permission: crate('read'), handler: (req) => this.listOwners(req) },
      { method: 'PUT', pattern: '/api/v1/crates/:name/owners', permission: crate('write'), handler: (req) => this.changeOwners(req, true), audit: auditOwnerChange('owner.add', 'name') },
      { method: 'DELETE', pattern: '/api/v1/crates/:name/owners', permission: crate('write'), handler: (req) => this.changeOwners(req, false), audit: auditOwnerChange('owner.remove', 'name') },
      // Sparse index files: 1/{n}, 2/{n}, 3/{c}/{n}, {ab}/{cd}/{name}.
      ...['/1/:name', '/2/:name', '/3/:c/:name', '/:ab/:cd/:name'].map(
        (pattern): IRoute => ({ method: 'GET', pattern, permission: crate('read'), handler: (req) => this.indexFile(req) }),
      ),
    ];
  }

  /** The crate a request names, lower case (as index paths and scopes name it), checked by cargo's rules. */
  private crateName(req: IRouteRequest): string {
    return assertCrateName(req.params.name).toLowerCase();
  }

  // ---- errors --------------------------------------------------------------------------------

  /** Cargo prints `errors[].detail` of any non-2xx answer (a 5xx's message is already the public one). */
  protected override errorBody(error: RegistryError): unknown {
    return { errors: [{ detail: error.message }] };
  }

  protected override challengeHeaders(): Record<string, string> {
    return { 'WWW-Authenticate': 'Cargo' };
  }

  // ---- index ---------------------------------------------------------------------------------

  /** `config.json`: where crates download from, where the API is, and whether reads need a token. */
  private configJson(req: IRouteRequest): IHandlerResponse {
    return jsonResponse(200, {
      dl: `${req.baseUrl}/api/v1/crates`,
      api: req.baseUrl,
      ...(this.anonymousRead ? {} : { 'auth-required': true }),
    }, { 'Cache-Control': 'no-cache' });
  }

  private async indexFile(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.crateName(req);
    const notFound = () => RegistryError.notFound(`crate \`${name}\` does not exist`);
    // Only the one path the layout gives a name (`/ab/xy/abcd` is not abcd's file).
    if (req.path !== `/${indexPathOf(name)}`) throw notFound();
    const proxied = !this.upstream.configured
      ? null
      : await this.upstreamIndex(req, name).catch(async (error: unknown) => {
          // With the upstreams down, a local crate is still served as it is.
          if (await this.crates.getCrate(name)) return null;
          throw error;
        });
    if (proxied) return this.sendMergedIndex(req, name, proxied.lines, proxied.cache);
    return await serveObject(req, await this.crates.indexSource(name, req.storageContext), { notFound });
  }

  // ---- upstream ------------------------------------------------------------------------------

  /** The upstream's index lines of `name` and where they came from; null when no upstream serves or has the crate. */
  private async upstreamIndex(req: IRouteRequest, name: string) {
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    if (!selection) return null;
    const document = await this.upstream.getDocument(selection, { cacheKey: `index/${name}`, url: (upstream) => upstreamIndexUrl(upstream.url, name) });
    if (!document) return null;
    const lines = parseIndexFile(document.body, name);
    return lines.length > 0 ? { lines, upstream: document.upstream, cache: document.cache, selection } : null;
  }

  /** The upstream's index file with the local crate's lines over it (a local version always wins). */
  private async sendMergedIndex(req: IRouteRequest, name: string, upstreamLines: IIndexLine[], cache: TCacheStatus): Promise<IHandlerResponse> {
    const crate = await this.crates.getCrate(name);
    const local = crate && crate.name.toLowerCase() === name ? parseIndexFile(renderIndexFile(crate), name) : [];
    const bytes = Buffer.from(mergeIndexFiles(local, upstreamLines), 'utf8');
    const etag = `"${sha256Hex(bytes).slice(0, 32)}"`;
    const headers: Record<string, string> = { ETag: etag, 'Cache-Control': 'no-cache', 'X-Cache': cache };
    const ok = { status: 200, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(bytes.length) }, body: bytes };
    // The 200 it stands for gives a 304 its Vary when gzip is asked (content coding, RFC 9110 15.4.5).
    if (etagMatches(req.headers['if-none-match'], etag)) return { status: 304, headers, standsFor: ok };
    return ok;
  }

  /** A .crate this registry does not hold: from the upstream whose index lists the version, by its `dl`, checked against `cksum`. */
  private async upstreamCrate(req: IRouteRequest, name: string, version: string, notFound: () => RegistryError): Promise<IHandlerResponse | null> {
    const found = await this.upstreamIndex(req, name);
    const line = found?.lines.find((entry) => entry.vers === version);
    if (!found || !line) return null;
    const only = { config: found.selection.config, upstreams: [found.upstream] };
    const config = await this.upstream.getDocument(only, { cacheKey: 'config.json', url: (upstream) => upstreamConfigUrl(upstream.url) });
    const dl = config && parseUpstreamConfig(config.body);
    if (!dl) {
      this.logger.warn(`cargo: upstream ${found.upstream.id} has no usable config.json`);
      return null;
    }
    return this.upstream.serveArtifact(
      only,
      { cacheKey: `crates/${name}/${version}`, url: () => downloadUrl(dl, line), expect: { sha256: line.cksum }, contentType: 'application/x-tar' },
      req,
      req.storageContext,
      notFound,
    );
  }

  // ---- publish -------------------------------------------------------------------------------

  /**
   * `PUT /api/v1/crates/new`: u32 LE length, metadata JSON, u32 LE length, .crate; read from the
   * stream, lengths checked against each other and the body, the .crate streamed into storage.
   */
  private async publish(req: IRouteRequest): Promise<IHandlerResponse> {
    const { maxMetadataBytes, maxArtifactBytes } = req.body.limits;
    const declared = req.body.contentLength;
    const reader = new FramedStreamReader(req.body.stream(maxMetadataBytes + maxArtifactBytes + 2 * FRAME_LENGTH_BYTES));
    try {
      const jsonLength = readFrameLength(await reader.read(FRAME_LENGTH_BYTES, 'the metadata length'));
      if (jsonLength > maxMetadataBytes) throw RegistryError.tooLarge(`publish metadata of ${jsonLength} bytes exceeds the limit of ${maxMetadataBytes} bytes`);
      if (declared !== undefined && 2 * FRAME_LENGTH_BYTES + jsonLength > declared) {
        throw RegistryError.invalid(`the metadata length (${jsonLength}) runs past the body's ${declared} bytes`);
      }
      const metadata = parsePublishMetadata(await reader.read(jsonLength, 'the metadata JSON'));
      req.eventTarget = { resource: metadata.name, version: metadata.vers };
      const crateLength = readFrameLength(await reader.read(FRAME_LENGTH_BYTES, 'the .crate length'));
      if (declared !== undefined && reader.position + crateLength !== declared) {
        throw RegistryError.invalid(`the declared lengths (${jsonLength} + ${crateLength} bytes) disagree with the body's ${declared} bytes`);
      }
      if (crateLength > maxArtifactBytes) throw RegistryError.tooLarge(`the .crate of ${crateLength} bytes exceeds the limit of ${maxArtifactBytes} bytes`);
      if (crateLength === 0) throw RegistryError.invalid('the .crate is empty');
      const actor = await this.actor(req, metadata.name.toLowerCase(), 'write');
      await this.crates.publish(metadata, reader.rest(crateLength, 'the .crate'), crateLength, actor, req.storageContext);
      return jsonResponse(200, { warnings: publishWarnings(metadata) });
    } catch (error) {
      reader.discardRest();
      throw error;
    }
  }

  /** The caller, after checking the token grants `action` on the crate; an admin scope passes ownership checks. */
  private async actor(req: IRouteRequest, name: string, action: string): Promise<ICargoActor> {
    const token = req.token;
    if (!token) throw RegistryError.unauthorized('authentication required');
    const resource = `cargo:crate:${name}`;
    if (!(await this.auth.authorize(token, resource, action))) throw RegistryError.denied(`token does not grant ${action} on ${resource}`);
    return { userId: token.userId, isAdmin: await this.auth.authorize(token, resource, 'admin') };
  }

  // ---- download, yank ------------------------------------------------------------------------

  private async download(req: IRouteRequest): Promise<IHandlerResponse> {
    const name = this.crateName(req);
    const version = assertVersion(req.params.version);
    const notFound = () => RegistryError.notFound(`crate \`${name}\` has no version ${version}`);
    const source = await this.crates.crateSource(name, version, req.storageContext);
    if (!source) {
      const proxied = await this.upstreamCrate(req, name, version, notFound);
      if (!proxied) throw notFound();
      return proxied;
    }
    return serveObject(req, source, { notFound });
  }

  private async yank(req: IRouteRequest, yanked: boolean): Promise<IHandlerResponse> {
    const name = this.crateName(req);
    const version = assertVersion(req.params.version);
    await this.crates.setYanked(name, version, yanked, await this.actor(req, name, 'delete'), req.storageContext);
    return jsonResponse(200, { ok: true });
  }

  // ---- owners --------------------------------------------------------------------------------

  private async listOwners(req: IRouteRequest): Promise<IHandlerResponse> {
    const owners = await this.crates.owners(this.crateName(req));
    return jsonResponse(200, { users: owners.map((login, index) => ({ id: index + 1, login, name: login })) });
  }

  /** `cargo owner --add/--remove`: `{ users: [login …] }`; added users must exist. */
  private async changeOwners(req: IRouteRequest, add: boolean): Promise<IHandlerResponse> {
    const name = this.crateName(req);
    const body = await req.body.json<{ users?: unknown }>(64 * 1024);
    const users = body?.users;
    if (!Array.isArray(users) || users.length === 0 || users.length > MAX_OWNER_CHANGES || !users.every((user) => typeof user === 'string' && user !== '')) {
      throw RegistryError.invalid(`expected { "users": [login, …] } with 1 to ${MAX_OWNER_CHANGES} logins`);
    }
    req.eventTarget = { resource: name, subjects: users as string[] };
    const actor = await this.actor(req, name, 'write');
    if (add) {
      for (const user of users as string[]) {
        if ((await this.auth.getUserScopes(user)) === null) throw RegistryError.notFound(`could not find user with login \`${user}\``);
      }
    }
    const crateName = await this.crates.changeOwners(name, users as string[], add, actor, req.storageContext);
    const list = (users as string[]).map((user) => `\`${user}\``).join(', ');
    const msg = add ? `user ${list} has been added as an owner of crate \`${crateName}\`` : `owners successfully removed: ${list}`;
    return jsonResponse(200, { ok: true, msg });
  }

  // ---- search --------------------------------------------------------------------------------

  /** `GET /api/v1/crates?q=&per_page=`: `cargo search`. */
  private async searchCrates(req: IRouteRequest): Promise<IHandlerResponse> {
    const perPage = Math.min(Math.max(Number.parseInt(req.query.per_page ?? '10', 10) || 10, 1), MAX_PER_PAGE);
    const page = Math.max(Number.parseInt(req.query.page ?? '1', 10) || 1, 1);
    const result = await this.search.search(req.query.q ?? '', perPage, Math.min((page - 1) * perPage, 10_000));
    return jsonResponse(200, {
      crates: result.entries.map((entry) => ({ name: entry.name, max_version: entry.max_version, description: entry.description })),
      meta: { total: result.total },
    });
  }
}
