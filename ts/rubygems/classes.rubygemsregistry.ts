import { dump as yamlDump } from 'js-yaml';
import { BaseRegistry, auditOwnerChange, type IProtocolDependencies, type IRoute, type IRouteRequest } from '../core/classes.baseregistry.js';
import { RegistryError, isRegistryError } from '../core/classes.registryerror.js';
import type { IHandlerResponse } from '../core/helpers.response.js';
import { jsonResponse } from '../core/helpers.response.js';
import { serveObject, type IServedObject } from '../core/helpers.serve.js';
import { bufferedObjectSource } from '../core/helpers.storedsource.js';
import { RubyGemsCatalogue } from './classes.rubygemscatalogue.js';
import { RubyGemsStore, compactIndexObject, type IGemActor } from './classes.rubygemsstore.js';
import { GEM_PLATFORM, GEM_VERSION, isValidGemName } from './helpers.gemspec.js';
import { RubySymbol, marshalDump, type TRubyValue } from './helpers.marshal.js';
import {
  compactNamesFile,
  compactVersionsFile,
  compareGemVersions,
  fullVersion,
  gemFileName,
  gemSummary,
  gzipBytes,
  isPrerelease,
  parseGemFileBase,
  quickGemspec,
  servedVersions,
  specsFileMarshal,
  type TSpecsFile,
} from './helpers.rubygems.js';
import {
  dependencyEntriesOfInfo,
  gemJsonWithOurUrls,
  infoChecksum,
  mergeVersionsFiles,
  parseVersionsFile,
  servedIndexOfVersionsLines,
  upstreamGemSourceUrl,
  type IDependencyEntry,
} from './helpers.rubygemsupstream.js';
import { upstreamAcceptsName } from '../upstream/helpers.upstreamselect.js';
import type { TCacheStatus } from '../upstream/interfaces.upstream.js';
import type { IUpstreamDocument } from '../upstream/classes.upstreamproxy.js';
import type { ICompactIndexDocument, IGemDocument, IGemSummary, IGemVersionRecord, IRubyGemsRegistryOptions, TServedIndex } from './interfaces.rubygems.js';

const DEFAULT_REVALIDATE_MS = 1000;
/** Appended `/versions` lines kept at least before a compaction: small registries keep the file as appended. */
const DEFAULT_VERSIONS_COMPACTION_BYTES = 64 * 1024;
const MAX_FORM_BYTES = 16 * 1024;
const MAX_DEPENDENCY_GEMS = 200;
const MAX_SEARCH_RESULTS = 30;
const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The RubyGems protocol: the compact index bundler and `gem` resolve with, the Marshal index files
 * older clients fall back to, the JSON API, push/yank and owners. Formats are in helpers.*.ts,
 * storage in classes.rubygemsstore.ts.
 */
export class RubyGemsRegistry extends BaseRegistry {
  private readonly store: RubyGemsStore;
  private lastMergedVersions?: { key: string; merged: IMergedVersions };

  constructor(deps: IProtocolDependencies, options: IRubyGemsRegistryOptions = {}) {
    super(deps);
    this.store = new RubyGemsStore(
      deps.storage,
      deps.logger,
      options.now ?? (() => new Date()),
      options.revalidateMs ?? DEFAULT_REVALIDATE_MS,
      options.versionsCompactionBytes ?? DEFAULT_VERSIONS_COMPACTION_BYTES,
    );
  }

  override catalogue(): RubyGemsCatalogue {
    return new RubyGemsCatalogue(this.store);
  }

  // ---- the route table -----------------------------------------------------------------------

  protected routes(): IRoute[] {
    const gem = (action: 'read' | 'write' | 'delete', from: (req: IRouteRequest) => string) => (req: IRouteRequest) => ({
      resource: `rubygems:gem:${this.gemName(from(req))}`,
      action,
    });
    const byParam = (req: IRouteRequest) => req.params.gem;
    const readAllGems = () => ({ resource: 'rubygems:gem:*', action: 'read' });
    return [
      // `gem install --source` probes the source itself.
      { method: 'GET', pattern: '/', permission: readAllGems, handler: async () => ({ status: 200, headers: { 'Content-Type': TEXT }, body: 'RubyGems repository\n' }) },

      // Compact index (bundler, gem).
      { method: 'GET', pattern: '/versions', permission: readAllGems, handler: (req) => this.compactVersions(req) },
      { method: 'GET', pattern: '/names', permission: readAllGems, handler: (req) => this.compactNames(req) },
      { method: 'GET', pattern: '/info/:gem', permission: gem('read', byParam), handler: (req) => this.compactInfo(req) },

      // Marshal index files and quick specs.
      ...(['specs', 'latest_specs', 'prerelease_specs'] as TSpecsFile[]).map(
        (which): IRoute => ({ method: 'GET', pattern: `/${which}.4.8.gz`, permission: readAllGems, handler: (req) => this.specsFile(req, which) }),
      ),
      // File names do not say where the name ends (`a-b-1.0`): the read scope is checked once the gem is found.
      { method: 'GET', pattern: '/quick/Marshal.4.8/:file', permission: 'optional', handler: (req) => this.quickSpec(req) },
      { method: 'GET', pattern: '/gems/:file', permission: 'optional', handler: (req) => this.gemFile(req) },

      // Push, yank, unyank: the gem is named by the upload or the form, so the scope
      // (`write` to push, `delete` to yank) is checked once that is read.
      { method: 'POST', pattern: '/api/v1/gems', permission: 'authenticated', handler: (req) => this.push(req), audit: 'publish' },
      { method: 'DELETE', pattern: '/api/v1/gems/yank', permission: 'authenticated', handler: (req) => this.yank(req, true), audit: 'yank' },
      { method: 'PUT', pattern: '/api/v1/gems/unyank', permission: 'authenticated', handler: (req) => this.yank(req, false), audit: 'unyank' },

      // JSON API.
      { method: 'GET', pattern: '/api/v1/versions/:file', permission: gem('read', (req) => stripSuffix(req.params.file, '.json')), handler: (req) => this.versionsJson(req) },
      { method: 'GET', pattern: '/api/v1/dependencies', permission: readAllGems, handler: (req) => this.dependencies(req, 'marshal') },
      { method: 'GET', pattern: '/api/v1/dependencies.json', permission: readAllGems, handler: (req) => this.dependencies(req, 'json') },
      { method: 'GET', pattern: '/api/v1/search.json', permission: readAllGems, handler: (req) => this.searchGems(req) },
      { method: 'GET', pattern: '/api/v1/gems/:gem/owners', permission: gem('read', byParam), handler: (req) => this.owners(req, 'json') },
      { method: 'GET', pattern: '/api/v1/gems/:gem/owners.json', permission: gem('read', byParam), handler: (req) => this.owners(req, 'json') },
      { method: 'GET', pattern: '/api/v1/gems/:gem/owners.yaml', permission: gem('read', byParam), handler: (req) => this.owners(req, 'yaml') },
      { method: 'POST', pattern: '/api/v1/gems/:gem/owners', permission: gem('write', byParam), handler: (req) => this.changeOwner(req, 'add'), audit: auditOwnerChange('owner.add', 'gem') },
      { method: 'DELETE', pattern: '/api/v1/gems/:gem/owners', permission: gem('write', byParam), handler: (req) => this.changeOwner(req, 'remove'), audit: auditOwnerChange('owner.remove', 'gem') },
      { method: 'GET', pattern: '/api/v1/gems/:file', permission: gem('read', (req) => stripSuffix(req.params.file, '.json')), handler: (req) => this.gemJson(req) },
    ];
  }

  /** A gem name from the request, checked before it reaches storage. */
  private gemName(name: string): string {
    if (!isValidGemName(name)) throw RegistryError.invalid(`invalid gem name ${JSON.stringify(name)}`);
    return name;
  }

  /** The caller, once the token grants `action` on the gem. */
  private async actor(req: IRouteRequest, name: string, action: 'write' | 'delete'): Promise<IGemActor> {
    await this.requireScope(req, `rubygems:gem:${name}`, action);
    return { userId: req.token!.userId };
  }

  // ---- errors --------------------------------------------------------------------------------

  /** RubyGems answers errors as plain text, which `gem` prints as it is. */
  protected override renderError(error: RegistryError, req?: IRouteRequest): IHandlerResponse {
    const rendered = super.renderError(error, req);
    return { status: rendered.status, headers: { ...rendered.headers, 'Content-Type': TEXT }, body: `${error.message}\n` };
  }

  // ---- compact index -------------------------------------------------------------------------

  private async compactVersions(req: IRouteRequest) {
    const found = this.upstream.configured ? await this.mergedIndex(req) : null;
    if (!found) return this.compactIndexFile(req, 'versions', (local) => Buffer.from(compactVersionsFile(local.createdAt, local.lines), 'utf8'));
    return this.proxiedFile(req, found.merged.file, found.cache);
  }

  /** The upstreams' `/versions` merged with the local index and where it came from; null without upstreams. */
  private async mergedIndex(req: IRouteRequest): Promise<{ merged: IMergedVersions; cache: TCacheStatus } | null> {
    const documents = await this.upstreamVersionsDocuments(req);
    if (documents.length === 0) return null;
    const { document: index, etag } = await this.store.compactIndex();
    const merged = this.mergedVersionsFile(documents, index, etag);
    return merged && { merged, cache: worstCache(documents.map((document) => document.cache)) };
  }

  /**
   * A file listing every gem (`/names`, the specs files): from the merged index when there are upstreams
   * (rendered once per merged index), else from the local one.
   */
  private async listingFile(req: IRouteRequest, what: string, render: (served: TServedIndex) => Buffer, contentType?: string) {
    const found = this.upstream.configured ? await this.mergedIndex(req) : null;
    if (!found) return this.compactIndexFile(req, what, (index) => render(servedIndex(index)), contentType);
    let file = found.merged.listings.get(what);
    if (!file) {
      const bytes = render(found.merged.served());
      file = { bytes, object: compactIndexObject(bytes, undefined, contentType) };
      found.merged.listings.set(what, file);
    }
    return this.proxiedFile(req, file, found.cache);
  }

  /**
   * The upstreams' `/versions` merged with the local index; the last one is kept while none of its sources
   * changed (a public `/versions` is tens of MB: split, merged and hashed once, not per request).
   */
  private mergedVersionsFile(documents: IUpstreamDocument[], index: ICompactIndexDocument, localEtag: string): IMergedVersions | null {
    const sources = documents.map((document) => `${document.upstream.id} ${document.headers.etag ?? ''} ${JSON.stringify(document.upstream.scopeRules ?? [])}`);
    const key = documents.every((document) => document.headers.etag) ? [localEtag, ...sources].join('\n') : null;
    if (key && this.lastMergedVersions?.key === key) return this.lastMergedVersions.merged;
    const files = documents.flatMap((document) => {
      const file = parseVersionsFile(document.body);
      if (!file) this.logger.warn(`rubygems: upstream ${document.upstream.id} sent no usable /versions`);
      return file ? [{ lines: file.lines, createdAt: file.createdAt, accepts: (name: string) => upstreamAcceptsName(document.upstream.scopeRules, name) }] : [];
    });
    if (files.length === 0) return null;
    const text = mergeVersionsFiles(files[0].createdAt, files, new Set(Object.keys(index.gems)), index.lines);
    const bytes = Buffer.from(text, 'utf8');
    let served: TServedIndex | undefined;
    const merged: IMergedVersions = {
      file: { bytes, object: compactIndexObject(bytes, undefined) },
      // Local gems as the local index has them; upstream ones as their lines say.
      served: () => (served ??= { ...servedIndexOfVersionsLines(parseVersionsFile(bytes)!.lines), ...servedIndex(index) }),
      listings: new Map(),
    };
    this.lastMergedVersions = key ? { key, merged } : undefined;
    return merged;
  }

  private async compactNames(req: IRouteRequest) {
    return this.listingFile(req, 'names', (served) => Buffer.from(compactNamesFile(served), 'utf8'));
  }

  private async compactInfo(req: IRouteRequest) {
    const name = this.gemName(req.params.gem);
    const proxied = !this.upstream.configured || (await this.store.getGem(name)) ? null : await this.upstreamInfo(req, name);
    if (proxied) return this.proxiedFile(req, { bytes: proxied.body, object: compactIndexObject(proxied.body, undefined) }, proxied.cache);
    return await serveObject(req, await this.store.infoSource(name, req.storageContext), { notFound: () => gemNotFound(name) });
  }

  /** A file rendered from the compact index document (ETag, 304, Range, HEAD, Repr-Digest). */
  private async compactIndexFile(req: IRouteRequest, what: string, render: (index: ICompactIndexDocument) => Buffer, contentType?: string) {
    const file = this.store.renderedNow(what) ?? (await this.store.renderedFromCompactIndex(what, render, contentType));
    return serveObject(req, bufferedObjectSource(async () => file), { notFound: () => RegistryError.notFound(`${req.path} not found`) });
  }

  // ---- Marshal index files -------------------------------------------------------------------

  private async specsFile(req: IRouteRequest, which: TSpecsFile) {
    return this.listingFile(req, which, (served) => gzipBytes(specsFileMarshal(served, which)), 'application/octet-stream');
  }

  private async quickSpec(req: IRouteRequest) {
    const base = stripSuffix(req.params.file, '.gemspec.rz');
    const found = await this.findVersion(req, base).catch(async (error: unknown) => {
      if (!isRegistryError(error, 'not-found')) throw error;
      const upstream = await this.upstreamVersion(req, base);
      if (!upstream) throw error;
      // The upstream gives no digest of a gemspec: kept as an immutable document.
      const document = await this.upstream.getDocument(upstream.only, {
        cacheKey: `quick/${base}`,
        url: (source) => upstreamGemSourceUrl(source.url, `quick/Marshal.4.8/${base}.gemspec.rz`),
        immutable: true,
      });
      if (!document) throw error;
      return document;
    });
    if (!('record' in found)) return this.proxiedFile(req, { bytes: found.body, object: compactIndexObject(found.body, undefined, 'application/octet-stream') }, found.cache);
    const { record } = found;
    const bytes = quickGemspec(record.spec);
    return serveObject(req, bufferedObjectSource(async () => ({ object: compactIndexObject(bytes, undefined, 'application/octet-stream'), bytes })), {
      notFound: () => RegistryError.notFound(`no gemspec ${base}`),
    });
  }

  private async gemFile(req: IRouteRequest) {
    const base = stripSuffix(req.params.file, '.gem');
    const notFound = () => RegistryError.notFound(`no gem ${JSON.stringify(base)}`);
    const found = await this.findVersion(req, base).catch(async (error: unknown) => {
      if (!isRegistryError(error, 'not-found')) throw error;
      const upstream = await this.upstreamVersion(req, base);
      const proxied =
        upstream &&
        (await this.upstream.serveArtifact(
          upstream.only,
          { cacheKey: `gems/${base}.gem`, url: (source) => upstreamGemSourceUrl(source.url, `gems/${base}.gem`), expect: { sha256: upstream.sha256 }, contentType: 'application/octet-stream' },
          req,
          req.storageContext,
          notFound,
        ));
      if (!proxied) throw error;
      return proxied;
    });
    if (!('record' in found)) return found;
    const { record } = found;
    return serveObject(req, this.store.gemSource(record, req.storageContext), { notFound: () => RegistryError.notFound(`the file of ${req.params.file} is missing`) });
  }

  /** `{name}-{version}[-{platform}]` of a served (not yanked) version the caller may read. */
  private async findVersion(req: IRouteRequest, base: string): Promise<{ gem: IGemDocument; record: IGemVersionRecord }> {
    // Nothing about what exists for a caller without any token (unless reads are anonymous).
    if (!req.token && !this.anonymousRead) throw RegistryError.unauthorized('authentication required');
    for (const candidate of parseGemFileBase(base)) {
      const gem = await this.store.getGem(candidate.name);
      const record = gem?.versions[fullVersion(candidate.version, candidate.platform)] as IGemVersionRecord | undefined;
      if (!gem || !record || record.yanked) continue;
      await this.requireScope(req, `rubygems:gem:${gem.name}`, 'read');
      return { gem, record };
    }
    throw RegistryError.notFound(`no gem ${JSON.stringify(base)}`);
  }

  // ---- upstream ------------------------------------------------------------------------------

  /**
   * Each upstream's `/versions` (fresh, cached or stale), by priority. An upstream that cannot answer is
   * left out while another one could; when none could, the failure is the answer (502/504).
   */
  private async upstreamVersionsDocuments(req: IRouteRequest): Promise<IUpstreamDocument[]> {
    const selection = await this.upstream.selectAll(req.method, req.ctx.actor);
    const documents: IUpstreamDocument[] = [];
    let failure: unknown;
    for (const upstream of selection?.upstreams ?? []) {
      const document = await this.upstream
        .getDocument(
          { config: selection!.config, upstreams: [upstream] },
          { cacheKey: 'versions', url: (source) => upstreamGemSourceUrl(source.url, 'versions'), keepHeaders: ['etag'] },
        )
        .catch((error: unknown) => {
          failure = error;
          return null;
        });
      if (document) documents.push(document);
    }
    if (documents.length === 0 && failure) throw failure;
    return documents;
  }

  /** The upstream's `/info/{gem}` (served unchanged, so its MD5 in `/versions` holds); null when no upstream serves or has the gem. */
  private async upstreamInfo(req: IRouteRequest, name: string) {
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    if (!selection) return null;
    const document = await this.upstream.getDocument(selection, { cacheKey: `info/${name}`, url: (source) => upstreamGemSourceUrl(source.url, `info/${name}`) });
    return document && { ...document, selection };
  }

  /**
   * `{name}-{version}[-{platform}]` of a gem this registry does not hold, found in an upstream's
   * `/info` with the sha256 its `.gem` must have; the caller's read scope is checked.
   */
  private async upstreamVersion(req: IRouteRequest, base: string) {
    for (const candidate of parseGemFileBase(base)) {
      if (await this.store.getGem(candidate.name)) continue;
      const info = await this.upstreamInfo(req, candidate.name);
      const sha256 = info && infoChecksum(info.body, fullVersion(candidate.version, candidate.platform));
      if (!info || !sha256) continue;
      await this.requireScope(req, `rubygems:gem:${candidate.name}`, 'read');
      return { sha256, only: { config: info.selection.config, upstreams: [info.upstream] } };
    }
    return null;
  }

  /** An upstream's JSON API document (`api/v1/…`) for a gem this registry does not hold; null when it is held here or no upstream has it. */
  private async upstreamGemJson(req: IRouteRequest, name: string, path: string) {
    if (await this.store.getGem(name)) return null;
    const selection = await this.upstream.select(name, req.method, req.ctx.actor);
    return selection && this.upstream.getDocument(selection, { cacheKey: path, url: (source) => upstreamGemSourceUrl(source.url, path) });
  }

  /** A proxied compact index file, gemspec or JSON document (ETag, 304, Range, HEAD, Repr-Digest) saying where it came from. */
  private proxiedFile(req: IRouteRequest, file: IProxiedFile, cache: TCacheStatus) {
    const object = { ...file.object, headers: { ...file.object.headers, 'X-Cache': cache } };
    return serveObject(req, bufferedObjectSource(async () => ({ object, bytes: file.bytes })), { notFound: () => RegistryError.notFound(`${req.path} not found`) });
  }

  // ---- push, yank, owners --------------------------------------------------------------------

  private async push(req: IRouteRequest) {
    const maxBytes = req.body.limits.maxArtifactBytes;
    const spec = await this.store.push(
      req.body.stream(maxBytes),
      maxBytes,
      { userId: req.token!.userId },
      (pushed) => {
        // Named for the audit event as soon as the gem's metadata is read, so a refused push is one too.
        req.eventTarget = { resource: pushed.name, version: fullVersion(pushed.version, pushed.platform) };
        return this.requireScope(req, `rubygems:gem:${pushed.name}`, 'write');
      },
      req.storageContext,
    );
    return { status: 200, headers: { 'Content-Type': TEXT }, body: `Successfully registered gem: ${spec.name} (${fullVersion(spec.version, spec.platform)})\n` };
  }

  private async yank(req: IRouteRequest, yanked: boolean) {
    const form = await this.form(req);
    const name = this.gemName(form.get('gem_name') ?? '');
    const version = form.get('version') ?? '';
    const platform = form.get('platform') || 'ruby';
    if (!GEM_VERSION.test(version)) throw RegistryError.invalid(`invalid version ${JSON.stringify(version)}`);
    if (platform !== 'ruby' && !GEM_PLATFORM.test(platform)) throw RegistryError.invalid(`invalid platform ${JSON.stringify(platform)}`);
    const full = fullVersion(version, platform);
    req.eventTarget = { resource: name, version: full };
    // Taking a version away is its own right: a CI token with `write` cannot yank.
    const actor = await this.actor(req, name, 'delete');
    await this.store.setYanked(name, full, yanked, actor, req.storageContext);
    return { status: 200, headers: { 'Content-Type': TEXT }, body: `Successfully ${yanked ? 'deleted' : 'restored'} gem: ${name} (${full})\n` };
  }

  private async owners(req: IRouteRequest, format: 'json' | 'yaml') {
    const gem = await this.requireGem(req.params.gem);
    const owners = gem.owners.map((owner) => ({ handle: owner, email: owner }));
    if (format === 'json') return jsonResponse(200, owners);
    return { status: 200, headers: { 'Content-Type': 'application/x-yaml' }, body: yamlDump(owners) };
  }

  private async changeOwner(req: IRouteRequest, change: 'add' | 'remove') {
    const name = this.gemName(req.params.gem);
    const owner = ((await this.form(req)).get('email') ?? '').trim();
    if (!owner || owner.length > 200) throw RegistryError.invalid('give the owner to change as `email`');
    req.eventTarget = { resource: name, subjects: [owner] };
    await this.store.updateOwners(name, { userId: req.token!.userId }, req.storageContext, (owners) => {
      if (change === 'add') return owners.includes(owner) ? owners : [...owners, owner];
      if (!owners.includes(owner)) throw RegistryError.notFound(`${owner} is not an owner of ${name}`);
      if (owners.length === 1) throw RegistryError.invalid(`cannot remove the last owner of ${name}`);
      return owners.filter((existing) => existing !== owner);
    });
    return { status: 200, headers: { 'Content-Type': TEXT }, body: change === 'add' ? `Owner added successfully.\n` : `Owner removed successfully.\n` };
  }

  /** Form fields of a yank or owner request: the body (`application/x-www-form-urlencoded`), then the query. */
  private async form(req: IRouteRequest): Promise<URLSearchParams> {
    const form = new URLSearchParams(req.body.isEmpty ? '' : await req.body.text(MAX_FORM_BYTES));
    for (const [key, value] of Object.entries(req.query)) if (!form.has(key)) form.set(key, value);
    return form;
  }

  // ---- JSON API ------------------------------------------------------------------------------

  private async requireGem(name: string): Promise<IGemDocument> {
    const gem = await this.store.getGem(this.gemName(name));
    if (!gem || servedVersions(gem).length === 0) throw gemNotFound(name);
    return gem;
  }

  private async versionsJson(req: IRouteRequest) {
    const name = this.gemName(stripSuffix(req.params.file, '.json'));
    const proxied = await this.upstreamGemJson(req, name, `api/v1/versions/${name}.json`);
    if (proxied) return this.proxiedFile(req, { bytes: proxied.body, object: compactIndexObject(proxied.body, undefined, JSON_TYPE) }, proxied.cache);
    const gem = await this.requireGem(name);
    const versions = [...servedVersions(gem)]
      .sort((a, b) => compareGemVersions(b.spec.version, a.spec.version))
      .map((record) => versionJson(record));
    return jsonResponse(200, versions);
  }

  private async gemJson(req: IRouteRequest) {
    const name = this.gemName(stripSuffix(req.params.file, '.json'));
    const proxied = await this.upstreamGemJson(req, name, `api/v1/gems/${name}.json`);
    if (proxied) {
      const bytes = gemJsonWithOurUrls(proxied.body, req.baseUrl);
      if (!bytes) throw new RegistryError('upstream', `upstream ${proxied.upstream.id} sent no usable gem document for ${name}`, { status: 502 });
      return this.proxiedFile(req, { bytes, object: compactIndexObject(bytes, undefined, JSON_TYPE) }, proxied.cache);
    }
    const gem = await this.requireGem(name);
    return jsonResponse(200, gemInfo(req, gemSummary(gem)!));
  }

  /**
   * The legacy dependency API bundler used before the compact index (and `gem install` probes): Marshal,
   * or JSON. A gem not held here is answered from its upstream `/info` file.
   */
  private async dependencies(req: IRouteRequest, format: 'marshal' | 'json') {
    const names = (req.query.gems ?? '').split(',').filter(Boolean);
    if (names.length > MAX_DEPENDENCY_GEMS) throw RegistryError.invalid(`ask for at most ${MAX_DEPENDENCY_GEMS} gems at once`);
    const entries: IDependencyEntry[] = [];
    for (const name of names) {
      const gem = await this.store.getGem(this.gemName(name));
      if (!gem) {
        const info = await this.upstreamInfo(req, name);
        if (info) entries.push(...dependencyEntriesOfInfo(name, info.body));
        continue;
      }
      for (const record of servedVersions(gem)) {
        entries.push({
          name,
          number: record.spec.version,
          platform: record.spec.platform,
          dependencies: record.spec.dependencies
            .filter((dependency) => dependency.type === 'runtime')
            .map((dependency) => [dependency.name, dependency.requirements.join(', ')]),
        });
      }
    }
    if (format === 'json') return jsonResponse(200, entries);
    const marshal: TRubyValue = entries.map(
      (entry) =>
        new Map<TRubyValue, TRubyValue>([
          [new RubySymbol('name'), entry.name],
          [new RubySymbol('number'), entry.number],
          [new RubySymbol('platform'), entry.platform],
          [new RubySymbol('dependencies'), entry.dependencies],
        ]),
    );
    return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: marshalDump(marshal) };
  }

  /** `gem search --remote`: the core search index, by name and description. */
  private async searchGems(req: IRouteRequest) {
    const { gems } = await this.store.searchGems(req.query.query ?? '', MAX_SEARCH_RESULTS);
    return jsonResponse(200, gems.map((summary) => gemInfo(req, summary)));
  }
}

/** A gem as `/api/v1/gems/{gem}.json` and search describe it. */
function gemInfo(req: IRouteRequest, summary: IGemSummary) {
  return {
    name: summary.name,
    version: summary.version,
    platform: summary.platform,
    authors: summary.authors,
    info: summary.info,
    licenses: summary.licenses,
    metadata: summary.metadata,
    sha: summary.sha,
    homepage_uri: summary.homepage,
    project_uri: `${req.baseUrl}/api/v1/gems/${summary.name}.json`,
    gem_uri: `${req.baseUrl}/gems/${gemFileName(summary.name, summary.version, summary.platform)}`,
    dependencies: summary.dependencies,
  };
}

/** Gem name → served versions, from the compact index document. */
function servedIndex(index: ICompactIndexDocument): TServedIndex {
  return Object.fromEntries(Object.entries(index.gems).map(([name, entry]) => [name, entry.versions]));
}

/** A proxied file as served: its bytes and how they are described (ETag, Repr-Digest). */
interface IProxiedFile {
  bytes: Buffer;
  object: IServedObject;
}

/** The upstreams' `/versions` merged with the local index, and the listings derived from it. */
interface IMergedVersions {
  file: IProxiedFile;
  /** Every gem's served versions, worked out when first asked for. */
  served: () => TServedIndex;
  /** `/names` and the specs files, rendered once. */
  listings: Map<string, IProxiedFile>;
}

/** What a page made of several upstream documents says it came from: a fetch if any was, else stale if any was. */
function worstCache(states: TCacheStatus[]): TCacheStatus {
  return states.includes('MISS') ? 'MISS' : states.includes('STALE') ? 'STALE' : 'HIT';
}

const gemNotFound = (name: string) => RegistryError.notFound(`This rubygem could not be found: ${name}`);

function versionJson(record: IGemVersionRecord) {
  const spec = record.spec;
  return {
    number: spec.version,
    platform: spec.platform,
    prerelease: isPrerelease(spec.version),
    sha: record.sha256,
    created_at: record.createdAt,
    summary: spec.summary,
    description: spec.description,
    authors: spec.authors.join(', '),
    licenses: spec.licenses,
    ruby_version: spec.requiredRubyVersion.join(', '),
    rubygems_version: spec.requiredRubygemsVersion.join(', '),
  };
}

function stripSuffix(text: string, suffix: string): string {
  if (!text.endsWith(suffix)) throw RegistryError.notFound(`no RubyGems endpoint for ${JSON.stringify(text)}`);
  return text.slice(0, -suffix.length);
}
