import { BaseRegistry, auditParams, type IProtocolDependencies, type IRoute, type IRouteRequest } from '../core/classes.baseregistry.js';
import { RegistryError, isRegistryError } from '../core/classes.registryerror.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { classifyUpstreamPath, parseUpstreamSha1, upstreamFileUrl } from './helpers.mavenupstream.js';
import { etagMatches, jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { serveObject } from '../core/helpers.serve.js';
import * as crypto from 'node:crypto';
import { MavenCatalogue } from './classes.mavencatalogue.js';
import { createMavenSearchIndex } from './classes.mavensearch.js';
import { MavenStore, type IMavenCoordinates } from './classes.mavenstore.js';
import { renderDirectoryListing } from './helpers.mavenlisting.js';
import { isSnapshotVersion } from './helpers.mavenversion.js';
import {
  announcedChecksums,
  buildDirectoryMetadata,
  metadataFile,
  parseChecksumFile,
  parseFileName,
  parsePom,
  parseRepositoryPath,
  parseUploadedMetadata,
  splitChecksumName,
  type TChecksumAlgorithm,
} from './helpers.maven.js';
import type { IMavenMetadataFile, IMavenOptions, IMavenSearchEntry } from './interfaces.maven.js';

const DEFAULT_SNAPSHOTS_TO_KEEP = 10;
const DEFAULT_SEARCH_REVALIDATE_MS = 1000;
/** Subdirectories shown in one directory listing. */
const MAX_LISTED_DIRECTORIES = 1000;
const MAX_SEARCH_RESULTS = 100;
/** Matches looked at when a token may read only some artifacts (its readable ones are paged). */
const MAX_FILTERED_MATCHES = 1000;

const CONTENT_TYPES: Record<string, string> = {
  pom: 'application/xml',
  xml: 'application/xml',
  jar: 'application/java-archive',
  war: 'application/java-archive',
  md5: 'text/plain',
  sha1: 'text/plain',
  sha256: 'text/plain',
  sha512: 'text/plain',
  asc: 'text/plain',
};
const contentTypeOf = (file: string) => CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';

const resourceOf = (groupId: string, artifactId: string) => `maven:artifact:${groupId}:${artifactId}`;

/**
 * A Maven repository: files in the standard layout, maven-metadata.xml derived from what was
 * deployed, SNAPSHOT resolution, immutable releases, directory listings and search.
 */
export class MavenRegistry extends BaseRegistry {
  private readonly store: MavenStore;
  private readonly search: SearchIndex<IMavenSearchEntry>;
  /** Each metadata file's XML encoded once: the file is the cached document's, shared until the document changes. */
  private readonly encodedXml = new WeakMap<IMavenMetadataFile, Buffer>();

  constructor(deps: IProtocolDependencies, options: IMavenOptions = deps.config as IMavenOptions) {
    super(deps);
    this.search = createMavenSearchIndex(deps.storage, deps.logger, options.searchRevalidateMs ?? DEFAULT_SEARCH_REVALIDATE_MS);
    this.store = new MavenStore(deps.storage, this.search, deps.logger, {
      snapshotsToKeep: Math.max(1, options.snapshotsToKeep ?? DEFAULT_SNAPSHOTS_TO_KEEP),
      allowRedeploy: options.allowRedeploy ?? false,
      now: options.now ?? (() => new Date()),
    });
  }

  override catalogue(): MavenCatalogue {
    return new MavenCatalogue(this.store, this.search);
  }

  protected routes(): IRoute[] {
    return [
      { method: 'GET', pattern: '/api/search', permission: 'optional', handler: (req) => this.searchArtifacts(req) },
      { method: 'GET', pattern: '/', permission: 'optional', handler: (req) => this.getPath(req, '') },
      { method: 'GET', pattern: '/:path+', permission: 'optional', handler: (req) => this.getPath(req, req.params.path) },
      // Each deployed file is a publish (its checksums and maven-metadata.xml are not events).
      { method: 'PUT', pattern: '/:path+', permission: 'authenticated', handler: (req) => this.putPath(req, req.params.path), audit: 'publish' },
      { method: 'DELETE', pattern: '/:path+', permission: 'authenticated', handler: (req) => this.deletePath(req, req.params.path), audit: 'delete' },
    ];
  }

  /** Maven's error shape is plain text (a 5xx's message is already the public one); the status says the rest. */
  protected override renderError(error: RegistryError, req?: IRouteRequest): IHandlerResponse {
    const rendered = super.renderError(error, req);
    return { ...rendered, headers: { ...rendered.headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: Buffer.from(`${error.message}\n`) };
  }

  protected override challengeHeaders(): Record<string, string> {
    return { 'WWW-Authenticate': 'Basic realm="smartregistry maven"' };
  }

  // ---- reads -------------------------------------------------------------------------------

  /** A path this repository does not hold is asked of the upstreams (metadata, checksums and files; see helpers.mavenupstream). */
  private async getPath(req: IRouteRequest, path: string): Promise<IHandlerResponse> {
    try {
      return await this.getLocalPath(req, path);
    } catch (error) {
      if (!isRegistryError(error, 'not-found')) throw error;
      const proxied = await this.upstreamPath(req, path);
      if (!proxied) throw error;
      return proxied;
    }
  }

  private async upstreamPath(req: IRouteRequest, path: string): Promise<IHandlerResponse | null> {
    const target = classifyUpstreamPath(path);
    if (!target) return null;
    const [groupId, artifactId] = target.name.split(':');
    await this.requireScope(req, resourceOf(groupId, artifactId), 'read');
    const selection = await this.upstream.select(target.name, req.method, req.ctx.actor);
    if (!selection) return null;
    if (target.kind === 'document') {
      const document = await this.upstream.getDocument(selection, { cacheKey: path, url: (upstream) => upstreamFileUrl(upstream.url, path), immutable: target.immutable });
      if (!document) return null;
      const response = this.bytesResponse(req, document.body, target.contentType);
      return { ...response, headers: { ...response.headers, 'X-Cache': document.cache } };
    }
    // The upstream's .sha1 first: the file is checked against it while it streams into the cache.
    const checksum = await this.upstream.getDocument(selection, { cacheKey: `${path}.sha1`, url: (upstream) => upstreamFileUrl(upstream.url, `${path}.sha1`), immutable: true });
    const sha1 = checksum ? parseUpstreamSha1(checksum.body) : null;
    return this.upstream.serveArtifact(
      checksum ? { config: selection.config, upstreams: [checksum.upstream] } : selection,
      { cacheKey: path, url: (upstream) => upstreamFileUrl(upstream.url, path), ...(sha1 ? { expect: { sha1 } } : {}), contentType: contentTypeOf(path) },
      req,
      req.storageContext,
      () => RegistryError.notFound(`${path} not found`),
    );
  }

  private async getLocalPath(req: IRouteRequest, path: string): Promise<IHandlerResponse> {
    const target = parseRepositoryPath(path);
    if (target.kind === 'directory') return this.listDirectory(req, target.segments);
    if (target.kind === 'metadata') return await this.getMetadata(req, target.segments, splitChecksumName(path)?.algorithm);
    await this.requireScope(req, resourceOf(target.groupId, target.artifactId), 'read');
    const checksum = splitChecksumName(target.file);
    const coordinates = { ...target, file: checksum?.base ?? target.file };
    const resolved = await this.resolveSnapshotName(coordinates);
    if (checksum) {
      const doc = await this.store.getArtifact(resolved.groupId, resolved.artifactId);
      const record = doc?.versions[resolved.version]?.files[resolved.file];
      // Checksums are never stored: they come from the digests of the upload.
      if (!record) throw RegistryError.notFound(`${path} not found`);
      return this.textResponse(req, `${record[checksum.algorithm]}\n`);
    }
    const source = this.store.fileSource(resolved, req.storageContext, contentTypeOf(resolved.file));
    return serveObject(req, source, { notFound: () => RegistryError.notFound(`${path} not found`) });
  }

  /** `1.0-SNAPSHOT/a-1.0-SNAPSHOT.jar` names the newest timestamped build with that classifier and extension. */
  private async resolveSnapshotName(c: IMavenCoordinates): Promise<IMavenCoordinates> {
    if (!isSnapshotVersion(c.version)) return c;
    const wanted = parseFileName(c.artifactId, c.version, c.file);
    if (!wanted || wanted.timestamp !== undefined) return c;
    const record = (await this.store.getArtifact(c.groupId, c.artifactId))?.versions[c.version];
    if (!record || record.files[c.file]) return c;
    const base = c.version.slice(0, -'-SNAPSHOT'.length);
    for (const build of [...(record.snapshotBuilds ?? [])].reverse()) {
      const file = `${c.artifactId}-${base}-${build.timestamp}-${build.buildNumber}${wanted.classifier ? `-${wanted.classifier}` : ''}.${wanted.extension}`;
      if (record.files[file]) return { ...c, file };
    }
    return c;
  }

  /**
   * maven-metadata.xml of a directory: version-level for a SNAPSHOT version directory, otherwise the
   * artifact's versions and the group's plugins — each a derived document, served with the checksums
   * computed when it was derived.
   */
  private async getMetadata(req: IRouteRequest, segments: readonly string[], algorithm?: TChecksumAlgorithm): Promise<IHandlerResponse> {
    if (segments.length === 0) throw RegistryError.notFound('no maven-metadata.xml at the repository root');
    const snapshot = segments.length >= 3 && isSnapshotVersion(segments[segments.length - 1]) ? await this.snapshotMetadata(req, segments) : null;
    const file = snapshot ?? (await this.directoryMetadata(req, segments));
    if (!file) throw RegistryError.notFound(`no maven-metadata.xml in ${segments.join('/')}`);
    if (algorithm) return this.textResponse(req, `${file[algorithm]}\n`);
    return this.bytesResponse(req, this.xmlBytes(file), 'application/xml', file.sha256);
  }

  /** A SNAPSHOT version directory's metadata (the caller checked that the path is one). */
  private async snapshotMetadata(req: IRouteRequest, segments: readonly string[]): Promise<IMavenMetadataFile | null> {
    const version = segments[segments.length - 1];
    const groupId = segments.slice(0, -2).join('.');
    const artifactId = segments[segments.length - 2];
    const file = await this.store.artifactMetadata(groupId, artifactId, version, req.storageContext);
    if (file) await this.requireScope(req, resourceOf(groupId, artifactId), 'read');
    return file;
  }

  /** A group's `<plugins>` are for whoever may read the whole group (`maven:artifact:{groupId}:*`). */
  private async directoryMetadata(req: IRouteRequest, segments: readonly string[]): Promise<IMavenMetadataFile | null> {
    const groupId = segments.join('.');
    const artifactGroupId = segments.slice(0, -1).join('.');
    const artifactId = segments[segments.length - 1];
    const artifact = segments.length >= 2 ? await this.store.artifactMetadata(artifactGroupId, artifactId, undefined, req.storageContext) : null;
    if (artifact) await this.requireScope(req, resourceOf(artifactGroupId, artifactId), 'read');
    let group = this.store.knownWithoutGroupMetadata(groupId) ? null : await this.store.groupMetadata(groupId, req.storageContext);
    if (group && !(await this.mayRead(req, groupId, '*'))) group = null;
    if (!artifact && !group) {
      // Nothing readable here: an anonymous client is asked to sign in, as Maven expects.
      if (!req.token && !this.anonymousRead) throw RegistryError.unauthorized('authentication required');
      return null;
    }
    if (!artifact || !group) return artifact ?? group;
    // A path that is both an artifact and a group with plugins (rare): both parts, in one document.
    const truth = await this.store.getArtifact(artifactGroupId, artifactId);
    return metadataFile(buildDirectoryMetadata(truth, await this.store.getGroupPlugins(groupId)));
  }

  private async mayRead(req: IRouteRequest, groupId: string, artifactId: string): Promise<boolean> {
    try {
      await this.requireScope(req, resourceOf(groupId, artifactId), 'read');
      return true;
    } catch (error) {
      if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) return false;
      throw error;
    }
  }

  private async listDirectory(req: IRouteRequest, segments: readonly string[]): Promise<IHandlerResponse> {
    if (!req.token && !this.anonymousRead) throw RegistryError.unauthorized('authentication required');
    const directory = segments.join('/');
    const entries = new Map<string, { directory: boolean; size?: number }>();
    // A version directory (or an artifact directory) lists what its artifact document records.
    const asVersion = segments.length >= 3 ? await this.store.getArtifact(segments.slice(0, -2).join('.'), segments[segments.length - 2]) : null;
    const record = asVersion?.versions[segments[segments.length - 1]];
    if (asVersion && record && (await this.mayRead(req, asVersion.groupId, asVersion.artifactId))) {
      for (const [file, info] of Object.entries(record.files)) {
        entries.set(file, { directory: false, size: info.size });
        for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) entries.set(`${file}.${algorithm}`, { directory: false });
      }
      if (isSnapshotVersion(segments[segments.length - 1])) entries.set('maven-metadata.xml', { directory: false });
    }
    const asArtifact = segments.length >= 2 ? await this.store.getArtifact(segments.slice(0, -1).join('.'), segments[segments.length - 1]) : null;
    if (asArtifact && (await this.mayRead(req, asArtifact.groupId, asArtifact.artifactId))) {
      for (const version of Object.keys(asArtifact.versions)) entries.set(`${version}/`, { directory: true });
      entries.set('maven-metadata.xml', { directory: false });
    }
    for (const child of await this.store.childDirectories(directory, MAX_LISTED_DIRECTORIES)) entries.set(`${child}/`, { directory: true });
    if (entries.size === 0 && segments.length > 0) throw RegistryError.notFound(`${directory}/ not found`);
    const html = renderDirectoryListing(`/${directory ? `${directory}/` : ''}`, [...entries].map(([name, info]) => ({ name, ...info })));
    return this.bytesResponse(req, Buffer.from(html, 'utf8'), 'text/html; charset=utf-8');
  }

  /**
   * `GET /api/search?q=&size=&from=`: artifacts by the words of their groupId and artifactId, from
   * the core search index. A token that may read every artifact pages the index directly; any other
   * gets the readable ones among the best matches.
   */
  private async searchArtifacts(req: IRouteRequest): Promise<IHandlerResponse> {
    const query = (req.query.q ?? '').trim();
    if (!query) throw RegistryError.invalid('search needs q=');
    if (!req.token && !this.anonymousRead) throw RegistryError.unauthorized('authentication required');
    const size = Math.min(Math.max(Number.parseInt(req.query.size ?? '', 10) || 20, 1), MAX_SEARCH_RESULTS);
    const from = Math.max(Number.parseInt(req.query.from ?? '', 10) || 0, 0);
    let total: number;
    let entries: IMavenSearchEntry[];
    if (await this.mayRead(req, '*', '*')) {
      ({ total, entries } = await this.search.search(query, size, from));
    } else {
      const readable: IMavenSearchEntry[] = [];
      for (const entry of (await this.search.search(query, MAX_FILTERED_MATCHES, 0)).entries) {
        if (await this.mayRead(req, entry.groupId, entry.artifactId)) readable.push(entry);
      }
      total = readable.length;
      entries = readable.slice(from, from + size);
    }
    const results = entries.map(({ rev: _rev, name: _name, ...entry }) => entry);
    return jsonResponse(200, { query, total, results });
  }

  private xmlBytes(file: IMavenMetadataFile): Buffer {
    let bytes = this.encodedXml.get(file);
    if (!bytes) {
      bytes = Buffer.from(file.xml, 'utf8');
      this.encodedXml.set(file, bytes);
    }
    return bytes;
  }

  private textResponse(req: IRouteRequest, text: string): IHandlerResponse {
    return this.bytesResponse(req, Buffer.from(text, 'utf8'), 'text/plain; charset=utf-8');
  }

  /** Small generated bytes; `sha256` when it is known already. */
  private bytesResponse(req: IRouteRequest, bytes: Buffer, contentType: string, sha256?: string): IHandlerResponse {
    const etag = `"${(sha256 ?? crypto.createHash('sha256').update(bytes).digest('hex')).slice(0, 32)}"`;
    const ok = { status: 200, headers: { 'Content-Type': contentType, 'Content-Length': String(bytes.length), ETag: etag, 'Cache-Control': 'no-cache' }, body: bytes };
    // The 200 it stands for gives a 304 its Vary when gzip is asked (content coding, RFC 9110 15.4.5).
    if (etagMatches(req.headers['if-none-match'], etag)) return { status: 304, headers: { ETag: etag, 'Cache-Control': 'no-cache' }, standsFor: ok };
    return ok;
  }

  // ---- writes ------------------------------------------------------------------------------

  private async putPath(req: IRouteRequest, path: string): Promise<IHandlerResponse> {
    const target = parseRepositoryPath(path);
    if (target.kind === 'directory') throw RegistryError.invalid('cannot PUT a directory');
    if (target.kind === 'metadata') return this.putMetadata(req, target.segments, splitChecksumName(path)?.algorithm);
    const checksum = splitChecksumName(target.file);
    if (!checksum) req.eventTarget = { resource: path, version: target.version };
    await this.requireScope(req, resourceOf(target.groupId, target.artifactId), 'write');
    const base = checksum?.base ?? target.file;
    if (!parseFileName(target.artifactId, target.version, base)) {
      throw RegistryError.invalid(`${base} is not a file of ${target.artifactId} ${target.version}: expected ${target.artifactId}-${target.version}[-classifier].extension`);
    }
    if (checksum) return this.putChecksum(req, { ...target, file: checksum.base }, checksum.algorithm);
    const expect = announcedChecksums(req.headers);
    if (target.file.endsWith('.pom')) {
      const bytes = await req.body.buffer();
      const pom = parsePom(bytes);
      if (pom.artifactId !== target.artifactId || pom.groupId !== target.groupId || pom.version !== target.version) {
        throw RegistryError.invalid(`POM is ${pom.groupId}:${pom.artifactId}:${pom.version}, but the path says ${target.groupId}:${target.artifactId}:${target.version}`);
      }
      await this.store.putFile(target, bytes, req.storageContext, { maxBytes: req.body.limits.maxArtifactBytes, expect, pom });
    } else {
      await this.store.putFile(target, req.body.stream(), req.storageContext, { maxBytes: req.body.limits.maxArtifactBytes, expect });
    }
    return { status: 201, headers: {} };
  }

  /** A client's checksum is compared with ours; a mismatch is refused and nothing changes. */
  private async putChecksum(req: IRouteRequest, c: IMavenCoordinates, algorithm: TChecksumAlgorithm): Promise<IHandlerResponse> {
    const sent = parseChecksumFile(await req.body.text(1024), algorithm);
    const record = (await this.store.getArtifact(c.groupId, c.artifactId))?.versions[c.version]?.files[c.file];
    if (!record) throw RegistryError.notFound(`${c.file} is not deployed; upload it before its checksum`);
    if (record[algorithm] !== sent) throw RegistryError.invalid(`${algorithm} mismatch for ${c.file}: ours is ${record[algorithm]}, the client sent ${sent}`);
    return { status: 201, headers: {} };
  }

  /**
   * Client-uploaded metadata is checked and then set aside: ours, derived from the deployed files,
   * is what is served. Only plugin prefixes (which Maven reads from the plugin descriptor) are taken.
   */
  private async putMetadata(req: IRouteRequest, segments: readonly string[], algorithm?: TChecksumAlgorithm): Promise<IHandlerResponse> {
    if (segments.length === 0) throw RegistryError.invalid('no maven-metadata.xml at the repository root');
    if (algorithm) {
      parseChecksumFile(await req.body.text(1024), algorithm);
      return { status: 201, headers: {} };
    }
    const uploaded = parseUploadedMetadata(await req.body.buffer());
    const groupId = segments.join('.');
    // Every scope first: a refused document changes nothing.
    for (const plugin of uploaded.plugins) await this.requireScope(req, resourceOf(groupId, plugin.artifactId), 'write');
    if (uploaded.artifactId && uploaded.groupId) await this.requireScope(req, resourceOf(uploaded.groupId, uploaded.artifactId), 'write');
    for (const plugin of uploaded.plugins) await this.store.setPluginPrefix(groupId, plugin.artifactId, plugin.prefix, req.storageContext);
    return { status: 201, headers: {} };
  }

  /** `DELETE {group path}/{artifactId}/{version}/` or `{group path}/{artifactId}/`: files and record go. */
  private async deletePath(req: IRouteRequest, path: string): Promise<IHandlerResponse> {
    const segments = path.split('/').filter((s) => s !== '');
    parseRepositoryPath(`${segments.join('/')}/`);
    if (segments.length >= 3) {
      const groupId = segments.slice(0, -2).join('.');
      const artifactId = segments[segments.length - 2];
      const doc = await this.store.readArtifactNow(groupId, artifactId);
      if (doc?.versions[segments[segments.length - 1]]) {
        req.eventTarget = { resource: `${groupId}:${artifactId}`, version: segments[segments.length - 1] };
        await this.requireScope(req, resourceOf(groupId, artifactId), 'delete');
        await this.store.delete(groupId, artifactId, segments[segments.length - 1], req.storageContext);
        return { status: 204, headers: {} };
      }
    }
    if (segments.length >= 2) {
      const groupId = segments.slice(0, -1).join('.');
      const artifactId = segments[segments.length - 1];
      if (await this.store.readArtifactNow(groupId, artifactId)) {
        req.eventTarget = { resource: `${groupId}:${artifactId}` };
        await this.requireScope(req, resourceOf(groupId, artifactId), 'delete');
        await this.store.delete(groupId, artifactId, undefined, req.storageContext);
        return { status: 204, headers: {} };
      }
    }
    throw RegistryError.notFound(`no version or artifact at ${path}`);
  }
}
