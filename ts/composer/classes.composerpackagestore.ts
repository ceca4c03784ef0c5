import * as crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { ZipArchive } from '../core/archive/classes.ziparchive.js';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { RenderedDocuments } from '../core/classes.rendereddocuments.js';
import { DerivedDocuments, derivedDocument, jsonRevisionOf, jsonTruth, nextRevision, revisionOrder, type IDerivedTarget, type IStoredDerivedTarget } from '../core/classes.deriveddocuments.js';
import type { Logger } from '../core/classes.logger.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { DELETE, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { sha256Hex } from '../core/helpers.hash.js';
import { parseStoredJson } from '../core/helpers.storeddocument.js';
import { startIngest } from '../core/helpers.ingest.js';
import type { IObjectSource } from '../core/helpers.serve.js';
import { bufferedObjectSource, storedArtifactSource } from '../core/helpers.storedsource.js';
import { composerPaths } from '../core/storage.paths.js';
import {
  ComposerJsonError,
  composerJsonMember,
  derivedRevisionsOf,
  nextDerivedRevisions,
  parseComposerJson,
  renderMetadataFile,
  searchEntryOf,
  versionEntry,
  versionStringProblem,
  withBaseUrl,
  type TMetadataFile,
} from './helpers.composer.js';
import { InvalidComposerVersionError, isDevVersion, normalizeComposerVersion } from './helpers.composerversion.js';
import type { IComposerPackageDocument, IComposerSearchEntry, IComposerVersionEntry, IComposerVersionRecord } from './interfaces.composer.js';

export interface IComposerStoreLimits {
  /** Most bytes the members of an uploaded zip may declare together (a zip bomb ends here). */
  maxUnpackedBytes: number;
  /** Other instances' new and deleted packages show in packages.json and list.json after at most this long. */
  namesRevalidateMs: number;
}

export interface IComposerUpload {
  name: string;
  /** `?version=`, used when composer.json has no version. */
  queryVersion?: string;
  maxBytes: number;
  publishedBy: string;
}

/** A stored document as last read, by its etag; parsed when first asked for. */
interface ICachedDocument {
  etag: string;
  lastModified: Date;
  json: string;
  parsed?: unknown;
}

const MAX_COMPOSER_JSON_BYTES = 1024 * 1024;
const METADATA_CONTENT_TYPE = 'application/json';
const ZIP_CONTENT_TYPE = 'application/zip';

/**
 * Packages in storage: the truth document of each package, the two v2 metadata files derived from it
 * (and its search entry), the uploaded zips and a name marker per package. An upload stores the zip
 * first, reads composer.json from it where it lies, then writes the truth: a version is never listed
 * whose zip is missing, and a refused upload leaves nothing behind.
 */
export class ComposerPackageStore {
  private readonly documents: DerivedDocuments<IComposerPackageDocument>;
  private readonly metadataTargets: Record<TMetadataFile, IStoredDerivedTarget<IComposerPackageDocument>>;
  private readonly cache: BoundedCache<ICachedDocument>;
  /** Metadata files as served under each base URL. */
  private readonly rendered: RenderedDocuments;
  private readonly names: BoundedCache<string[]>;

  constructor(
    private readonly storage: RegistryStorage,
    search: SearchIndex<IComposerSearchEntry>,
    private readonly logger: Logger,
    private readonly limits: IComposerStoreLimits,
  ) {
    this.names = new BoundedCache<string[]>({ maxEntries: 1, ttlMs: limits.namesRevalidateMs });
    // The text, and its parsed form once asked for.
    this.cache = new BoundedCache({ maxEntries: 10_000, budget: storage.cacheBudget, sizeOf: (document) => document.json.length * 4 });
    this.rendered = new RenderedDocuments(storage.cacheBudget);
    const metadataTarget = (file: TMetadataFile) =>
      derivedDocument<IComposerPackageDocument>(storage, {
        label: `composer ${file} metadata`,
        afterAnswer: true,
        key: (name) => composerPaths.metadata(name, file === 'dev'),
        render: (pkg) => renderMetadataFile(pkg, file),
        revisionOfBytes: jsonRevisionOf,
        revisionOf: (pkg) => derivedRevisionsOf(pkg)[file],
      });
    this.metadataTargets = { tagged: metadataTarget('tagged'), dev: metadataTarget('dev') };
    const searchTarget: IDerivedTarget<IComposerPackageDocument> = {
      label: 'composer search entry',
      afterAnswer: true,
      write: (name, pkg, revision, ctx, force) =>
        pkg ? search.upsert(searchEntryOf(pkg), ctx, force) : search.remove(name, ctx, revisionOrder(revision)),
    };
    this.documents = new DerivedDocuments<IComposerPackageDocument>(
      storage,
      jsonTruth<IComposerPackageDocument>(composerPaths.package, { growing: 'versions' }),
      [this.metadataTargets.tagged, this.metadataTargets.dev, searchTarget],
      logger,
    );
  }

  /** The package's truth as stored now (null: no such package). */
  async getPackage(name: string): Promise<IComposerPackageDocument | null> {
    const key = composerPaths.package(name);
    const document = await this.readCached(key);
    if (!document) return null;
    document.parsed ??= parseStoredJson(key, Buffer.from(document.json, 'utf8'));
    return document.parsed as IComposerPackageDocument;
  }

  /** Every package name, sorted; another instance's changes show after `namesRevalidateMs`. */
  async listNames(): Promise<string[]> {
    const names = await this.names.getOrLoad('names', async () => {
      const found: string[] = [];
      for await (const info of this.storage.listAll(composerPaths.namesPrefix())) found.push(composerPaths.nameOf(info.key));
      return found.sort();
    });
    return names ?? [];
  }

  // ---- metadata ------------------------------------------------------------------------------

  /** `/p2/{name}.json` or `~dev.json` with dist URLs below `baseUrl`, repaired first when stale. */
  async metadataSource(name: string, file: TMetadataFile, baseUrl: string, ctx: IStorageOperationContext): Promise<IObjectSource> {
    const target = this.metadataTargets[file];
    const key = this.documents.knownCurrent(name, target) ?? (await this.documents.ensureCurrent(name, target, ctx));
    return bufferedObjectSource(async () => {
      const document = await this.readCached(key);
      if (!document) return null;
      const cacheKey = `${key}\n${baseUrl}`;
      const kept = this.rendered.get(cacheKey, document.etag);
      if (kept) return kept;
      const bytes = Buffer.from(withBaseUrl(document.json, baseUrl), 'utf8');
      // The same stored document says other URLs under another base URL: the ETag tells them apart.
      const etag = `"${sha256Hex(`${document.etag}\n${baseUrl}`).slice(0, 32)}"`;
      return this.rendered.keep(cacheKey, document.etag, { size: bytes.length, etag, lastModified: document.lastModified, contentType: METADATA_CONTENT_TYPE }, bytes);
    });
  }

  // ---- dists ---------------------------------------------------------------------------------

  /** The zip whose sha1 is `reference`, or null when no version of the package has it. */
  async distSource(name: string, reference: string, ctx: IStorageOperationContext): Promise<IObjectSource | null> {
    const record = (await this.getPackage(name))?.versions.find((version) => version.entry.dist.reference === reference);
    return record ? storedArtifactSource(this.storage, composerPaths.dist(name, record.fileId), ctx, ZIP_CONTENT_TYPE) : null;
  }

  // ---- upload --------------------------------------------------------------------------------

  /**
   * Store an uploaded zip: streamed into storage (core ingest, sha1 on the way), composer.json read
   * by the zip directory (from the bytes kept in memory while storage still commits a small zip, from
   * storage once a larger one is stored), checked, then listed in the truth, which is handed to storage
   * meanwhile and visible only once the zip is stored. A tagged version exists once; a dev branch's new
   * upload replaces its previous one. Whatever is refused is removed again.
   */
  async upload(upload: IComposerUpload, body: Readable, ctx: IStorageOperationContext): Promise<IComposerVersionEntry> {
    const { name } = upload;
    const fileId = crypto.randomUUID();
    const key = composerPaths.dist(name, fileId);
    const tail = ZipArchive.tailKeeper(body);
    const ingest = startIngest(this.storage, key, tail, { ...ctx, metadata: { packageName: name } }, {
      maxBytes: upload.maxBytes,
      hashes: ['sha1'],
      verify: ({ size }) => {
        if (size === 0) throw RegistryError.invalid('the upload is empty: send the package zip as the body');
      },
    });
    const stored = await ingest.verified;
    let replaced: IComposerVersionRecord | undefined;
    let created = false;
    let entry: IComposerVersionEntry;
    try {
      const kept = tail.tail;
      const archive =
        kept.length === stored.size ? await ZipArchive.fromBytes(kept) : await ZipArchive.open(this.storage, key, ctx, {}, { ...(await ingest.stored), tail: kept });
      const composerJson = await this.readComposerJson(archive);
      if (composerJson.name !== name) {
        throw RegistryError.invalid(`composer.json names package ${composerJson.name}, but the upload is for ${name}`);
      }
      const { version, normalized } = uploadVersion(composerJson.version, upload.queryVersion);
      entry = versionEntry(composerJson, { name, version, normalized, sha1: stored.digests.sha1!, time: new Date().toISOString() });
      const record: IComposerVersionRecord = { entry, fileId, size: stored.size, publishedBy: upload.publishedBy };
      await this.documents.change(name, ctx, (current) => {
        created = current === null;
        const existing = current?.versions.find((version) => version.entry.version_normalized === normalized);
        if (existing && !isDevVersion(normalized)) {
          throw RegistryError.conflict(`${name} version ${existing.entry.version} already exists; a tagged version cannot be replaced`);
        }
        replaced = existing;
        const others = (current?.versions ?? []).filter((version) => version !== existing);
        return changedPackage(current, name, [record, ...others]);
      }, ingest.stored);
    } catch (error) {
      // Once storage has settled the zip: a delete before its commit would miss it.
      await ingest.stored.catch(() => undefined);
      await this.removeFiles(name, [fileId], ctx);
      throw error;
    }
    if (replaced) await this.removeFiles(name, [replaced.fileId], ctx);
    if (created) {
      await this.storage.createOnce(composerPaths.name(name), Buffer.alloc(0), ctx);
      this.names.clear();
    }
    return entry;
  }

  /** composer.json of the uploaded zip, at its root or in its one top folder, checked by Composer's rules. */
  private async readComposerJson(archive: ZipArchive) {
    const declared = archive.entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
    if (declared > this.limits.maxUnpackedBytes) {
      throw RegistryError.tooLarge(`the zip's members declare ${declared} bytes, over the limit of ${this.limits.maxUnpackedBytes}`);
    }
    const member = composerJsonMember(archive.entries.map((entry) => entry.name));
    if (!member) throw RegistryError.invalid('the zip has no composer.json at its root or in its one top folder');
    try {
      return parseComposerJson(await archive.readMember(member, MAX_COMPOSER_JSON_BYTES));
    } catch (error) {
      if (error instanceof ComposerJsonError) throw RegistryError.invalid(error.message);
      throw error;
    }
  }

  // ---- delete --------------------------------------------------------------------------------

  /**
   * Delete one version (by its version string or its normalised form) or, with `version` null, the
   * whole package. The truth changes first, then the zips go. False: no such package or version.
   */
  async delete(name: string, version: string | null, ctx: IStorageOperationContext): Promise<boolean> {
    const normalized = version === null ? null : safeNormalize(version);
    let removed: IComposerVersionRecord[] = [];
    const result = await this.documents.change(name, ctx, (current) => {
      removed = [];
      if (!current) return UNCHANGED;
      removed =
        version === null
          ? current.versions
          : current.versions.filter((record) => record.entry.version === version || record.entry.version_normalized === normalized);
      if (removed.length === 0) return UNCHANGED;
      const versions = current.versions.filter((record) => !removed.includes(record));
      if (versions.length === 0) return DELETE;
      return changedPackage(current, name, versions);
    });
    if (removed.length === 0) return false;
    if (result.value === null) {
      // A package without versions leaves the lists; an upload that landed meanwhile puts it back.
      await this.storage.deleteObject(composerPaths.name(name), ctx).catch(() => undefined);
      if (await this.storage.stat(composerPaths.package(name))) await this.storage.createOnce(composerPaths.name(name), Buffer.alloc(0), ctx);
      this.names.clear();
    }
    await this.removeFiles(name, removed.map((record) => record.fileId), ctx);
    return true;
  }

  /** Zips no version lists (any more); one left behind costs only space. */
  private async removeFiles(name: string, fileIds: string[], ctx: IStorageOperationContext) {
    await Promise.all(
      fileIds.map((fileId) =>
        this.storage.deleteObject(composerPaths.dist(name, fileId), ctx).catch((error) => this.logger.warn(`composer: could not remove a zip of ${name}`, error)),
      ),
    );
  }

  // ---- reading documents ---------------------------------------------------------------------

  /** A stored JSON document, read again only when a recent stat shows its etag changed. */
  private async readCached(key: string): Promise<ICachedDocument | null> {
    const known = this.storage.knownRecentStat(key);
    const info = known === undefined ? await this.storage.statRecent(key) : known;
    if (!info) {
      this.cache.delete(key);
      return null;
    }
    const cached = this.cache.get(key);
    if (cached && cached.etag === info.etag) return cached;
    const stored = await this.storage.getBytes(key);
    if (!stored) return null;
    const document: ICachedDocument = { etag: stored.etag, lastModified: info.lastModified, json: stored.bytes.toString('utf8') };
    this.cache.set(key, document);
    return document;
  }
}

/** The package after a change leaves it with `versions`, at a new revision. */
function changedPackage(current: IComposerPackageDocument | null, name: string, versions: IComposerVersionRecord[]): IComposerPackageDocument {
  const revision = nextRevision(current?.revision, crypto.randomUUID().slice(0, 8));
  return { v: 1, name, revision, versions, derivedRevisions: nextDerivedRevisions(current, name, versions, revision) };
}

/** The upload's version: composer.json's, else `?version=`; both given, they must agree. */
function uploadVersion(fromJson: string | undefined, fromQuery: string | undefined): { version: string; normalized: string } {
  const version = fromJson ?? fromQuery;
  if (version === undefined) throw RegistryError.invalid('composer.json has no version: give one as ?version=');
  const problem = versionStringProblem(version);
  if (problem) throw RegistryError.invalid(problem);
  const normalized = safeNormalize(version);
  if (normalized === null) throw RegistryError.invalid(`invalid version ${JSON.stringify(version)}: not a version Composer can read`);
  if (fromJson !== undefined && fromQuery !== undefined && safeNormalize(fromQuery) !== normalized) {
    throw RegistryError.invalid(`?version=${fromQuery} disagrees with composer.json's version ${fromJson}`);
  }
  return { version, normalized };
}

function safeNormalize(version: string): string | null {
  try {
    return normalizeComposerVersion(version);
  } catch (error) {
    if (error instanceof InvalidComposerVersionError) return null;
    throw error;
  }
}
