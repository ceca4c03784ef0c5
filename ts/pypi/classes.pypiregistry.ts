import { BaseRegistry, auditParams, type IProtocolDependencies, type IRoute, type IRouteRequest } from '../core/classes.baseregistry.js';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { RenderedDocuments } from '../core/classes.rendereddocuments.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { parseMultipart, type IMultipartFile } from '../core/helpers.multipart.js';
import { etagMatches, jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { serveObject } from '../core/helpers.serve.js';
import { bufferedObjectSource, storedArtifactSource, type IBufferedObject } from '../core/helpers.storedsource.js';
import { sha256Hex } from '../core/helpers.hash.js';
import { pypiPaths } from '../core/storage.paths.js';
import { PypiProjectStore, type IStoredUpload, type IUploadRequest, type TDeclaredDigests, type TStoredProject } from './classes.pypiprojectstore.js';
import { PypiSearchIndex } from './classes.pypisearchindex.js';
import { PypiCatalogue } from './classes.pypicatalogue.js';
import {
  CONTENT_TYPE_BY_FORMAT,
  canonicalVersion,
  filenameMismatch,
  findReleaseKey,
  isValidProjectName,
  latestRelease,
  negotiateSimpleFormat,
  normalizeProjectName,
  reasonPhrase,
  releaseInfoFromForm,
  renderJsonApi,
  requestedProjectName,
  renderSimpleProjectHtml,
  renderSimpleProjectJson,
  renderSimpleRootHtml,
  renderSimpleRootJson,
  simpleFileLinks,
} from './helpers.pypi.js';
import type { IPypiFile, IPypiProject, TSimpleFormat } from './interfaces.pypi.js';
import { SIMPLE_JSON_ACCEPT, mergeProjectPage, parseUpstreamProject, upstreamFileOf, upstreamProjectUrl, type IUpstreamPypiProject } from './helpers.pypiupstream.js';
import type { TCacheStatus } from '../upstream/interfaces.upstream.js';
import { extendRecord } from '../core/helpers.record.js';

const METADATA_SUFFIX = '.metadata';
const MAX_YANK_BODY_BYTES = 16 * 1024;
const MAX_YANK_REASON = 1000;
/** Room for the form fields around the file in an upload body. */
const FORM_OVERHEAD_BYTES = 16 * 1024 * 1024;
const MAX_SEARCH_RESULTS = 100;
const HEX = { sha256: /^[0-9a-f]{64}$/, md5: /^[0-9a-f]{32}$/, blake2b_256: /^[0-9a-f]{64}$/ };

/** What every index page says besides its validators: its form depends on Accept, and clients revalidate it. */
const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ Vary: 'Accept', 'Cache-Control': 'no-cache' });
/** The JSON API's: clients revalidate it. */
const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'Cache-Control': 'no-cache' });

export interface IPypiRegistryOptions {
  /** Other instances' search-index writes are seen after at most this long. */
  searchRevalidateMs?: number;
}

/**
 * The PyPI repository: the simple index (PEP 503/691/592/658/700/714) pip installs from, twine's
 * legacy upload, the JSON API, file downloads, yank/unyank, deletes and search. Formats are in
 * helpers.pypi.ts; projects in storage in classes.pypiprojectstore.ts.
 */
export class PypiRegistry extends BaseRegistry {
  private readonly projects: PypiProjectStore;
  private readonly search: PypiSearchIndex;
  private readonly catalogueView: PypiCatalogue;
  /** Project pages and JSON API pages by form, base URL and project (and release). */
  private readonly rendered: RenderedDocuments;
  /** Each client sends one Accept header on every request: it is weighed once (null: nothing acceptable). */
  private readonly negotiated = new BoundedCache<{ format: TSimpleFormat | null }>({ maxEntries: 256 });

  constructor(deps: IProtocolDependencies, options: IPypiRegistryOptions = {}) {
    super(deps);
    this.rendered = new RenderedDocuments(deps.storage.cacheBudget);
    this.projects = new PypiProjectStore(deps.storage, deps.logger);
    this.search = new PypiSearchIndex(deps.storage, deps.logger, options.searchRevalidateMs ?? 1000);
    this.catalogueView = new PypiCatalogue(this.projects, this.search);
  }

  override catalogue(): PypiCatalogue {
    return this.catalogueView;
  }

  // ---- the route table -----------------------------------------------------------------------

  protected routes(): IRoute[] {
    const read = this.projectPermission('read');
    const write = this.projectPermission('write');
    const remove = this.projectPermission('delete');
    const readAllProjects = () => ({ resource: 'pypi:package:*', action: 'read' });
    return [
      // Uploads (twine's legacy API) at the repository URL; the project comes in the form, so its scope is checked there.
      { method: 'POST', pattern: '/', permission: 'authenticated', handler: (req) => this.upload(req), audit: 'publish' },
      { method: 'POST', pattern: '/legacy/', permission: 'authenticated', handler: (req) => this.upload(req), audit: 'publish' },

      // The simple index, for installers.
      { method: 'GET', pattern: '/simple', permission: readAllProjects, handler: async (req) => redirect(`${req.baseUrl}/simple/`) },
      { method: 'GET', pattern: '/simple/', permission: readAllProjects, handler: (req) => this.simpleRoot(req) },
      { method: 'GET', pattern: '/simple/:project', permission: read, handler: async (req) => redirect(`${req.baseUrl}/simple/${this.project(req)}/`) },
      { method: 'GET', pattern: '/simple/:project/', permission: read, handler: (req) => this.simpleProject(req) },

      // Files and their PEP 658 metadata files.
      { method: 'GET', pattern: '/packages/:project/:file', permission: read, handler: (req) => this.download(req) },
      { method: 'DELETE', pattern: '/packages/:project/:file', permission: remove, handler: (req) => this.deleteFiles(req, { filename: req.params.file }), audit: auditParams('delete', 'project', 'file') },

      // The JSON API; yank, unyank and delete of a release (our own endpoints).
      { method: 'GET', pattern: '/pypi/:project/json', permission: read, handler: (req) => this.jsonApi(req) },
      { method: 'GET', pattern: '/pypi/:project/:version/json', permission: read, handler: (req) => this.jsonApi(req, req.params.version) },
      { method: 'POST', pattern: '/pypi/:project/:version/yank', permission: write, handler: (req) => this.yank(req, true), audit: auditParams('yank', 'project', 'version') },
      { method: 'POST', pattern: '/pypi/:project/:version/unyank', permission: write, handler: (req) => this.yank(req, false), audit: auditParams('unyank', 'project', 'version') },
      { method: 'DELETE', pattern: '/pypi/:project/:version', permission: remove, handler: (req) => this.deleteFiles(req, { version: req.params.version }), audit: auditParams('delete', 'project', 'version') },

      { method: 'GET', pattern: '/search', permission: readAllProjects, handler: (req) => this.searchProjects(req) },
    ];
  }

  private projectPermission(action: 'read' | 'write' | 'delete') {
    return (req: IRouteRequest) => ({ resource: `pypi:package:${this.project(req)}`, action });
  }

  /** The normalised project of a request; names outside PEP 508 never reach storage. */
  private project(req: IRouteRequest): string {
    const project = requestedProjectName(req.params.project);
    if (project === null) throw RegistryError.invalid(`invalid project name ${JSON.stringify(req.params.project)}`);
    return project;
  }

  // ---- errors --------------------------------------------------------------------------------

  /** `{ message }` (the JSON API's error shape), with the message as the status line's reason, which twine prints. */
  protected override renderError(error: RegistryError, req?: IRouteRequest): IHandlerResponse {
    const rendered = super.renderError(error, req);
    const internal = error.status >= 500 && error.kind !== 'upstream';
    return { ...rendered, statusText: internal ? undefined : reasonPhrase(error.message) };
  }

  protected override errorBody(error: RegistryError): unknown {
    return { message: error.message };
  }

  protected override errorHeaders(): Record<string, string> {
    return { 'Cache-Control': 'no-store' };
  }

  // ---- the simple index ----------------------------------------------------------------------

  private negotiate(req: IRouteRequest): TSimpleFormat {
    const accept = req.headers.accept ?? '';
    let known = this.negotiated.get(accept);
    if (!known) {
      known = { format: negotiateSimpleFormat(accept) };
      this.negotiated.set(accept, known);
    }
    const format = known.format;
    if (!format) {
      throw new RegistryError('invalid', `none of the accepted types is served: ask for ${Object.values(CONTENT_TYPE_BY_FORMAT).join(', ')}`, { status: 406 });
    }
    return format;
  }

  private async simpleRoot(req: IRouteRequest): Promise<IHandlerResponse> {
    const format = this.negotiate(req);
    const names = await this.projects.listNames();
    const body = format === 'json' ? renderSimpleRootJson(names) : renderSimpleRootHtml(names, (name) => `${req.baseUrl}/simple/${name}/`);
    return this.page(req, format, Buffer.from(body, 'utf8'));
  }

  private async simpleProject(req: IRouteRequest): Promise<IHandlerResponse> {
    const project = this.project(req);
    if (req.params.project !== project) return redirect(`${req.baseUrl}/simple/${project}/`);
    const format = this.negotiate(req);
    const proxied = !this.upstream.configured
      ? null
      : await this.upstreamProject(req, project).catch(async (error: unknown) => {
          // With the upstreams down, a local project is still served as it is.
          if (await this.projects.get(project)) return null;
          throw error;
        });
    if (proxied) return this.proxiedProjectPage(req, format, project, proxied.page, proxied.cache);
    const stored = this.projects.known(project) ?? (await this.projects.get(project));
    if (!stored) throw RegistryError.notFound(`project ${project} not found`);
    const cacheKey = `${format}\u0000${req.baseUrl}\u0000${project}`;
    const page =
      this.rendered.get(cacheKey, stored.etag) ??
      this.keepPage(cacheKey, stored, this.renderProjectPage(req, format, project, stored.value), CONTENT_TYPE_BY_FORMAT[format], PAGE_HEADERS);
    return serveObject(req, bufferedObjectSource(async () => page), { notFound: () => RegistryError.notFound(`project ${project} not found`) });
  }

  private renderProjectPage(req: IRouteRequest, format: TSimpleFormat, project: string, doc: IPypiProject): string {
    const links = simpleFileLinks(doc, (file) => this.fileUrl(req, project, file));
    return format === 'json' ? renderSimpleProjectJson(doc, links) : renderSimpleProjectHtml(doc, links);
  }

  /** `text`, rendered from this version of the project document, kept as the page under `cacheKey` (see RenderedDocuments). */
  private keepPage(cacheKey: string, stored: TStoredProject, text: string, contentType: string, headers: Record<string, string>): IBufferedObject {
    const bytes = Buffer.from(text, 'utf8');
    return this.rendered.keep(cacheKey, stored.etag, { size: bytes.length, etag: pageEtag(bytes), contentType, headers }, bytes);
  }

  // ---- upstream ------------------------------------------------------------------------------

  /** The upstream's project page (PEP 691 JSON) and where it came from; null when no upstream serves or has the project. */
  private async upstreamProject(req: IRouteRequest, project: string) {
    const selection = await this.upstream.select(project, req.method, req.ctx.actor);
    if (!selection) return null;
    const document = await this.upstream.getDocument(selection, {
      cacheKey: `simple/${project}`,
      url: (upstream) => upstreamProjectUrl(upstream.url, project),
      headers: { accept: SIMPLE_JSON_ACCEPT },
    });
    if (!document) return null;
    const page = parseUpstreamProject(document.body, upstreamProjectUrl(document.upstream.url, project));
    if (!page) {
      this.logger.warn(`pypi: upstream ${document.upstream.id} sent no usable project page for ${project}`);
      return null;
    }
    return { page, upstream: document.upstream, cache: document.cache, selection };
  }

  /** The upstream's files linked at our URLs, with the local project's files over them (a local file always wins). */
  private async proxiedProjectPage(req: IRouteRequest, format: TSimpleFormat, project: string, page: IUpstreamPypiProject, cache: TCacheStatus): Promise<IHandlerResponse> {
    const stored = await this.projects.get(project);
    const local = stored ? { project: stored.value, links: simpleFileLinks(stored.value, (file) => this.fileUrl(req, project, file)) } : null;
    const merged = mergeProjectPage(project, local, page, (filename) => `${req.baseUrl}/packages/${project}/${encodeURIComponent(filename)}`);
    const text = format === 'json' ? renderSimpleProjectJson(merged.project, merged.links) : renderSimpleProjectHtml(merged.project, merged.links);
    const response = this.page(req, format, Buffer.from(text, 'utf8'));
    return { ...response, headers: { ...response.headers, 'X-Cache': cache } };
  }

  /** A file (or its `.metadata`) this registry does not hold, from the upstream whose page lists it, checked against its sha256. */
  private async upstreamFile(req: IRouteRequest, project: string, requested: string, notFound: () => RegistryError): Promise<IHandlerResponse | null> {
    const found = await this.upstreamProject(req, project);
    const target = found && upstreamFileOf(found.page, requested);
    if (!found || !target) return null;
    return this.upstream.serveArtifact(
      { config: found.selection.config, upstreams: [found.upstream] },
      {
        cacheKey: `files/${project}/${requested}`,
        url: () => target.url,
        expect: { sha256: target.sha256 },
        contentType: target.metadata ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      },
      req,
      req.storageContext,
      notFound,
    );
  }

  /** An index page made for this request, with its validators; 304 when the client has it. */
  private page(req: IRouteRequest, format: TSimpleFormat, bytes: Buffer): IHandlerResponse {
    const etag = pageEtag(bytes);
    const headers: Record<string, string> = { ETag: etag, ...PAGE_HEADERS };
    const ok = { status: 200, headers: extendRecord(headers, { 'Content-Type': CONTENT_TYPE_BY_FORMAT[format], 'Content-Length': String(bytes.length) }), body: bytes };
    // The 200 it stands for gives a 304 its Vary when gzip is asked (content coding, RFC 9110 15.4.5).
    if (etagMatches(req.headers['if-none-match'], etag)) return { status: 304, headers, standsFor: ok };
    return ok;
  }

  private fileUrl(req: IRouteRequest, project: string, file: IPypiFile) {
    return `${req.baseUrl}/packages/${project}/${encodeURIComponent(file.filename)}`;
  }

  // ---- files ---------------------------------------------------------------------------------

  private async download(req: IRouteRequest): Promise<IHandlerResponse> {
    const project = this.project(req);
    if (req.params.project !== project) return redirect(`${req.baseUrl}/packages/${project}/${encodeURIComponent(req.params.file)}`);
    const wantsMetadata = req.params.file.endsWith(METADATA_SUFFIX);
    const filename = wantsMetadata ? req.params.file.slice(0, -METADATA_SUFFIX.length) : req.params.file;
    const stored = this.projects.known(project) ?? (await this.projects.get(project));
    const file = stored?.value.files[filename] ?? stored?.value.files[req.params.file];
    const notFound = () => RegistryError.notFound(`file ${req.params.file} of project ${project} not found`);
    if (!file) {
      const proxied = await this.upstreamFile(req, project, req.params.file, notFound);
      if (!proxied) throw notFound();
      return proxied;
    }
    const metadata = wantsMetadata && file.filename === filename;
    if (metadata && !file.metadata_sha256) throw notFound();
    // The core metadata file (PEP 658) is a document: only the wheel or sdist itself may be redirected.
    const source = metadata
      ? this.projects.metadataSource(project, file, req.storageContext)
      : storedArtifactSource(this.storage, pypiPaths.file(project, file.storage_id), req.storageContext, 'application/octet-stream');
    return serveObject(req, source, { notFound });
  }

  /** Delete one file (`DELETE /packages/{project}/{file}`) or a release's files (`DELETE /pypi/{project}/{version}`). */
  private async deleteFiles(req: IRouteRequest, which: { filename: string } | { version: string }): Promise<IHandlerResponse> {
    const project = this.project(req);
    const result = await this.projects.deleteFiles(project, which, req.storageContext);
    if (!result) {
      throw RegistryError.notFound('filename' in which ? `file ${which.filename} of project ${project} not found` : `release ${which.version} of project ${project} not found`);
    }
    await this.updateSearch(project, result.project, req);
    return jsonResponse(200, { deleted: result.removed.map((file) => file.filename) });
  }

  // ---- JSON API, yank ------------------------------------------------------------------------

  private async jsonApi(req: IRouteRequest, version?: string): Promise<IHandlerResponse> {
    const project = this.project(req);
    if (req.params.project !== project) {
      return redirect(`${req.baseUrl}/pypi/${project}/${version === undefined ? '' : `${encodeURIComponent(version)}/`}json`);
    }
    const stored = this.projects.known(project) ?? (await this.projects.get(project));
    if (!stored) throw RegistryError.notFound(`project ${project} not found`);
    const notFound = () => RegistryError.notFound(`release ${version} of project ${project} not found`);
    // The latest release is kept as '' (which one it is, is worked out only when the page is rendered).
    const releaseKey = version === undefined ? '' : findReleaseKey(stored.value, version);
    if (releaseKey === undefined) throw notFound();
    const cacheKey = `api\u0000${req.baseUrl}\u0000${project}\u0000${releaseKey}`;
    let page = this.rendered.get(cacheKey, stored.etag);
    if (!page) {
      const release = version === undefined ? latestRelease(stored.value) : stored.value.releases[releaseKey];
      if (!release) throw notFound();
      const urls = {
        project: `${req.baseUrl}/pypi/${project}/`,
        release: (v: string) => `${req.baseUrl}/pypi/${project}/${encodeURIComponent(v)}/`,
        file: (file: IPypiFile) => this.fileUrl(req, project, file),
      };
      page = this.keepPage(cacheKey, stored, JSON.stringify(renderJsonApi(stored.value, release, urls, version === undefined)), 'application/json', API_HEADERS);
    }
    const kept = page;
    return serveObject(req, bufferedObjectSource(async () => kept), { notFound });
  }

  /** Yank with an optional `{ "reason": "…" }` body, or unyank. */
  private async yank(req: IRouteRequest, yanked: boolean): Promise<IHandlerResponse> {
    const project = this.project(req);
    let reason = '';
    if (yanked && !req.body.isEmpty) {
      const body = await req.body.json<{ reason?: unknown }>(MAX_YANK_BODY_BYTES);
      if (typeof body !== 'object' || body === null || (body.reason !== undefined && typeof body.reason !== 'string')) {
        throw RegistryError.invalid('the body must be {"reason": "<text>"}');
      }
      reason = (body.reason ?? '').trim();
      if (reason.length > MAX_YANK_REASON) throw RegistryError.invalid(`the reason is longer than ${MAX_YANK_REASON} characters`);
    }
    const found = await this.projects.setYanked(project, req.params.version, yanked ? { reason } : null, req.storageContext);
    if (!found) throw RegistryError.notFound(`release ${req.params.version} of project ${project} not found`);
    return jsonResponse(200, { project, version: req.params.version, yanked, ...(yanked ? { reason } : {}) });
  }

  // ---- search --------------------------------------------------------------------------------

  private async searchProjects(req: IRouteRequest): Promise<IHandlerResponse> {
    const query = (req.query.q ?? '').trim();
    if (!query) throw RegistryError.invalid('give a query: /search?q=<words>');
    const size = Math.min(Math.max(Number.parseInt(req.query.size ?? '', 10) || 20, 1), MAX_SEARCH_RESULTS);
    const from = Math.max(Number.parseInt(req.query.from ?? '', 10) || 0, 0);
    const result = await this.search.search(query, size, from);
    return jsonResponse(200, {
      total: result.total,
      results: result.entries.map(({ serial: _serial, ...entry }) => ({ ...entry, url: `${req.baseUrl}/simple/${entry.name}/` })),
    });
  }

  private async updateSearch(project: string, doc: IPypiProject | null, req: IRouteRequest) {
    // The index is a convenience: a failed update is logged and repaired by the next change.
    await this.search.reflect(project, doc, req.storageContext).catch((error) => this.logger.warn(`pypi: search entry of ${project} not updated`, error));
  }

  // ---- upload --------------------------------------------------------------------------------

  /**
   * twine's legacy upload: a multipart form, fields first, the file (`content`) last. The file
   * streams into storage with every digest computed on the way; the form is checked (fields,
   * file name against name and version, the project's write scope) before the first byte is
   * stored, and the project document lists the file only once everything passed.
   */
  private async upload(req: IRouteRequest): Promise<IHandlerResponse> {
    const maxFileBytes = req.body.limits.maxArtifactBytes;
    let project = '';
    const form = await parseMultipart(req.body.stream(maxFileBytes + FORM_OVERHEAD_BYTES), req.headers['content-type'], { maxFileBytes }, async (file, fields) => {
      const request = await this.uploadRequest(req, fields, file);
      project = normalizeProjectName(request.name);
      req.eventTarget = { resource: project, version: request.version };
      await this.projects.refuseDuplicate(project, request.filename);
      return this.projects.storeFile(project, request, file.stream, maxFileBytes, req.storageContext);
    });
    if (!form.file) {
      const action = form.fields.get(':action')?.[0] ?? '';
      if (action !== 'file_upload') throw RegistryError.invalid(`Invalid value for :action: ${JSON.stringify(action)}; only file_upload is supported`);
      throw RegistryError.invalid('Upload payload does not have a file (expected the form field "content")');
    }
    const stored: IStoredUpload = form.file;
    try {
      const declared = declaredDigests(form.fields);
      if (Object.keys(declared).length === 0) throw RegistryError.invalid('Include at least one message digest: sha256_digest, md5_digest or blake2_256_digest');
      this.projects.verifyLateDigests(stored, declared);
    } catch (error) {
      await this.projects.abandon(project, stored, req.storageContext);
      throw error;
    }
    const doc = await this.projects.commit(project, stored, req.storageContext, new Date());
    // The search entry follows the answer, as Cargo's, Maven's and Composer's derived documents do: it never decided
    // the answer (a failed write is only logged); a search on this instance and `destroy` wait for it.
    this.storage.finishLater(
      this.search.reflectLate(project, doc, req.storageContext).catch((error) => this.logger.warn(`pypi: search entry of ${project} not updated`, error)),
    );
    this.logger.info(`pypi: ${stored.request.filename} uploaded to ${project}`);
    return jsonResponse(200, { ok: true, filename: stored.request.filename, url: `${req.baseUrl}/packages/${project}/${encodeURIComponent(stored.request.filename)}` });
  }

  /** The upload the fields describe, checked, and the token's write scope on that project. */
  private async uploadRequest(req: IRouteRequest, fields: ReadonlyMap<string, string[]>, file: IMultipartFile): Promise<IUploadRequest> {
    const field = (name: string) => fields.get(name)?.[0]?.trim() ?? '';
    const action = field(':action');
    if (action !== 'file_upload') throw RegistryError.invalid(`Invalid value for :action: ${JSON.stringify(action)}; only file_upload is supported`);
    const name = field('name');
    if (!name) throw RegistryError.invalid('Invalid value for name: the field is missing');
    if (!isValidProjectName(name)) throw RegistryError.invalid(`Invalid value for name: ${JSON.stringify(name)} is not a valid project name`);
    const version = field('version');
    if (!version) throw RegistryError.invalid('Invalid value for version: the field is missing');
    if (!canonicalVersion(version)) throw RegistryError.invalid(`Invalid value for version: ${JSON.stringify(version)} is not a PEP 440 version`);
    const filetype = field('filetype');
    if (filetype !== 'bdist_wheel' && filetype !== 'sdist') {
      throw RegistryError.invalid(`Invalid value for filetype: ${JSON.stringify(filetype)}; only bdist_wheel and sdist are accepted`);
    }
    if (file.fieldName !== 'content') throw RegistryError.invalid(`Upload payload has its file in ${JSON.stringify(file.fieldName)}, expected "content"`);
    const filename = file.fileName;
    if (/[/\\]/.test(filename) || filename.includes('..')) throw RegistryError.invalid(`Invalid file name ${JSON.stringify(filename)}: it must not contain a path`);
    const mismatch = filenameMismatch(filename, filetype, name, version);
    if (mismatch) throw RegistryError.invalid(`Invalid file name: ${mismatch}`);
    const declared = declaredDigests(fields);

    const project = normalizeProjectName(name);
    const resource = `pypi:package:${project}`;
    if (!(await this.auth.authorize(req.token, resource, 'write'))) {
      throw RegistryError.denied(`token does not grant write on ${resource}`, { code: 'INSUFFICIENT_SCOPE' });
    }
    return {
      name,
      version,
      filename,
      filetype,
      pythonVersion: field('pyversion') || (filetype === 'sdist' ? 'source' : 'py3'),
      info: releaseInfoFromForm(fields, name, version),
      declared,
    };
  }
}

/** A strong tag of a page's bytes. */
const pageEtag = (bytes: Buffer) => `"${sha256Hex(bytes).slice(0, 32)}"`;

const redirect = (location: string): IHandlerResponse => ({ status: 301, headers: { Location: location, 'Cache-Control': 'no-cache' } });

/** `sha256_digest`, `md5_digest`, `blake2_256_digest` as sent; malformed ones are refused. */
function declaredDigests(fields: ReadonlyMap<string, string[]>): TDeclaredDigests {
  const declared: TDeclaredDigests = {};
  const names = { sha256: 'sha256_digest', md5: 'md5_digest', blake2b_256: 'blake2_256_digest' } as const;
  for (const [algorithm, fieldName] of Object.entries(names) as [keyof typeof names, string][]) {
    const value = fields.get(fieldName)?.[0]?.trim().toLowerCase();
    if (!value) continue;
    if (!HEX[algorithm].test(value)) throw RegistryError.invalid(`Invalid value for ${fieldName}: not a hex ${algorithm} digest`);
    declared[algorithm] = value;
  }
  return declared;
}
