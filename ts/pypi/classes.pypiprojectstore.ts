import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ZipArchive } from '../core/archive/classes.ziparchive.js';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { DocumentCache, type ICachedDocument } from '../core/classes.documentcache.js';
import type { Logger } from '../core/classes.logger.js';
import { corruptDocument, isRegistryError, RegistryError } from '../core/classes.registryerror.js';
import { DELETE, SerializedDocument, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import { sha256Hex } from '../core/helpers.hash.js';
import { serializeGrowing } from '../core/helpers.json.js';
import { startIngest, type IIngestedArtifact } from '../core/helpers.ingest.js';
import { keptServedObject, type IObjectSource } from '../core/helpers.serve.js';
import { bufferedObjectSource, type IBufferedObject } from '../core/helpers.storedsource.js';
import { pypiPaths } from '../core/storage.paths.js';
import type { IPutDigests } from '../core/storage/interfaces.storage.js';
import { canonicalVersion, findReleaseKey, holdsDistribution, isWheelMetadataMember, normalizeProjectName, parseCoreMetadata, sameVersion } from './helpers.pypi.js';
import type { IPypiDigests, IPypiFile, IPypiProject, IPypiReleaseInfo } from './interfaces.pypi.js';

/** A METADATA larger than this is refused (real ones are a few KiB, a long description some hundred). */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;
/** PEP 658 metadata files kept in memory (read from their wheels): how many. */
const METADATA_CACHE_ENTRIES = 10_000;
/**
 * The project document's records that an upload writes with each one serialized once (serializeGrowing): a file
 * or release record is replaced by a new object when it changes, never changed in place.
 */
const GROWING_FIELDS = ['releases', 'files'];

/** The digests an upload declared (hex, lower case); each one given is checked. */
export type TDeclaredDigests = Partial<IPypiDigests>;

export interface IUploadRequest {
  /** As the client named it (first upload's spelling becomes the project's display name). */
  name: string;
  version: string;
  filename: string;
  filetype: 'bdist_wheel' | 'sdist';
  pythonVersion: string;
  info: IPypiReleaseInfo;
  /** Digests known when the file starts; the rest are checked by `verifyLateDigests`. */
  declared: TDeclaredDigests;
}

export interface IStoredUpload {
  request: IUploadRequest;
  uploadId: string;
  /** Size and digests: every byte passed every check. */
  put: IPutDigests;
  /** Settles once storage has committed the file (or failed to): what lists the file waits for it. */
  stored: Promise<IIngestedArtifact>;
  /** A wheel's METADATA, checked; its sha256 is listed with the file, its bytes are read from the wheel when asked for. */
  metadata?: { sha256: string };
}

/** A project document as last read: its etag and its parsed value. */
export type TStoredProject = ICachedDocument<IPypiProject>;

export const fileAlreadyExists = (filename: string) =>
  RegistryError.invalid(`File already exists (${filename}): a file name can be uploaded only once; upload a new version`, { code: 'FILE_EXISTS' });

/**
 * PyPI projects in storage: one truth document per project (`project.json`, changed only through the
 * conditional read-modify-write), distribution files under upload ids (so a refused or duplicate
 * upload never touches a stored file), and a marker per project for the root index. A wheel's PEP 658
 * metadata file is read from the wheel when asked for.
 */
export class PypiProjectStore {
  private readonly cache: DocumentCache;
  /** By storage id, with its served object: a stored wheel never changes, so neither does its METADATA. */
  private readonly metadataFiles: BoundedCache<IBufferedObject>;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly logger: Logger,
  ) {
    this.cache = new DocumentCache(storage, { maxEntries: 10_000 });
    this.metadataFiles = new BoundedCache({ maxEntries: METADATA_CACHE_ENTRIES, budget: storage.cacheBudget, sizeOf: (file) => file.bytes.length });
  }

  /** The project document with its etag (null: none); one recent `stat` when this instance has it already. */
  get(project: string): Promise<TStoredProject | null> {
    return this.cache.read<IPypiProject>(pypiPaths.project(project));
  }

  /** What `get` would answer without waiting for storage (see `DocumentCache.known`); undefined when it must ask. */
  known(project: string): TStoredProject | null | undefined {
    return this.cache.known<IPypiProject>(pypiPaths.project(project));
  }

  /** Refuse a file the project already holds before any byte of it is stored (see `RegistryStorage.refuseEarly`). */
  async refuseDuplicate(project: string, filename: string): Promise<void> {
    const refuseHeld = (doc: IPypiProject) => {
      if (holdsDistribution(doc, filename)) throw fileAlreadyExists(filename);
    };
    await this.storage.refuseEarly(pypiPaths.project(project), refuseHeld, async () => (await this.get(project))?.value ?? null);
  }

  /**
   * The PEP 658 metadata file of a stored wheel: its METADATA member, read by the zip directory once and then
   * served from memory with its served object (keptServedObject). Derived on read, not stored: an upload writes
   * one object less.
   */
  metadataSource(project: string, file: IPypiFile, ctx: IStorageOperationContext): IObjectSource {
    // A kept file is taken as it is: `getOrLoad` would cost a promise and a closure on every GET.
    return bufferedObjectSource(
      async () => this.metadataFiles.get(file.storage_id) ?? (await this.metadataFiles.getOrLoad(file.storage_id, () => this.readMetadataFile(project, file, ctx))) ?? null,
    );
  }

  private async readMetadataFile(project: string, file: IPypiFile, ctx: IStorageOperationContext): Promise<IBufferedObject> {
    const bytes = await this.readStoredMetadata(project, file, ctx);
    const object = { size: bytes.length, etag: `"${file.metadata_sha256}"`, lastModified: new Date(file.upload_time), contentType: 'text/plain; charset=utf-8' };
    return { object: keptServedObject(object), bytes };
  }

  /** The METADATA of a listed wheel, checked against the sha256 its record holds. */
  private async readStoredMetadata(project: string, file: IPypiFile, ctx: IStorageOperationContext): Promise<Buffer> {
    const key = pypiPaths.file(project, file.storage_id);
    let bytes: Buffer | undefined;
    try {
      const archive = await ZipArchive.open(this.storage, key, ctx);
      const member = archive.findMember((entry) => isWheelMetadataMember(entry.name, project));
      bytes = member ? await archive.readMember(member, MAX_METADATA_BYTES) : undefined;
    } catch (error) {
      // A wheel that is gone stays a 404 (test/reliability/missing-artifact); one that is no zip any more is damaged.
      throw isRegistryError(error, 'invalid') ? corruptDocument(key, error) : error;
    }
    if (!bytes || sha256Hex(bytes) !== file.metadata_sha256) throw corruptDocument(key, new Error('its METADATA is not the one uploaded'));
    return bytes;
  }

  /** Every project name (normalised), for the root index. */
  async listNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const object of this.storage.listAll(pypiPaths.namesPrefix())) names.push(pypiPaths.nameOf(object.key));
    return names.sort();
  }

  // ---- upload --------------------------------------------------------------------------------

  /**
   * Store an uploaded file under a fresh id: every digest in one pass while it streams, the declared
   * ones checked before the put completes (a mismatch or an empty file stores nothing), then a wheel's
   * METADATA read by the zip directory and checked (its sha256 is listed): from the bytes kept in memory
   * while storage still commits a small wheel, from storage once a larger one is stored. Not yet listed
   * anywhere: `commit` does that, visible only once the file is stored.
   */
  async storeFile(project: string, request: IUploadRequest, body: Readable, maxBytes: number, ctx: IStorageOperationContext): Promise<IStoredUpload> {
    const uploadId = randomUUID();
    const fileKey = pypiPaths.file(project, uploadId);
    const { declared } = request;
    const tail = ZipArchive.tailKeeper(body);
    const upload = startIngest(this.storage, fileKey, tail, ctx, {
      maxBytes,
      hashes: ['md5', 'blake2b-256'],
      expect: {
        ...(declared.sha256 ? { sha256: declared.sha256 } : {}),
        ...(declared.md5 ? { md5: declared.md5 } : {}),
        ...(declared.blake2b_256 ? { 'blake2b-256': declared.blake2b_256 } : {}),
      },
      mismatch: (algorithm, expected, actual) => digestMismatch(algorithm, expected, actual),
      verify: ({ size }) => {
        if (size === 0) throw RegistryError.invalid(`${request.filename} is empty`);
      },
    });
    const put = await upload.verified;
    const stored: IStoredUpload = { request, uploadId, put, stored: upload.stored };
    try {
      if (request.filetype === 'bdist_wheel') {
        const kept = tail.tail;
        const archive = kept.length === put.size ? await ZipArchive.fromBytes(kept) : await ZipArchive.open(this.storage, fileKey, ctx, {}, { ...(await upload.stored), tail: kept });
        stored.metadata = { sha256: sha256Hex(await this.readWheelMetadata(project, request, archive)) };
      }
    } catch (error) {
      await this.abandon(project, stored, ctx);
      throw error;
    }
    return stored;
  }

  /** Check digests that arrived after the file (a client that sends them last). */
  verifyLateDigests(stored: IStoredUpload, declared: TDeclaredDigests) {
    checkDigests(declared, toPypiDigests(stored.put));
  }

  /**
   * List an upload in its project: the duplicate check is part of the conditional write, so of two
   * concurrent uploads of one file name exactly one lands; the other's bytes are removed. The document
   * is made and handed to storage while the file may still be committed, and becomes visible after it.
   */
  async commit(
    project: string,
    stored: IStoredUpload,
    ctx: IStorageOperationContext,
    now: Date,
  ): Promise<IPypiProject> {
    const { request } = stored;
    const file: IPypiFile = {
      filename: request.filename,
      release: canonicalVersion(request.version)!,
      packagetype: request.filetype,
      python_version: request.pythonVersion,
      ...(request.info.requires_python ? { requires_python: request.info.requires_python } : {}),
      size: stored.put.size,
      digests: toPypiDigests(stored.put),
      upload_time: now.toISOString(),
      storage_id: stored.uploadId,
      ...(stored.metadata ? { metadata_sha256: stored.metadata.sha256 } : {}),
    };
    let isNew = false;
    try {
      const updated = await this.storage.updateDocument<IPypiProject>(
        pypiPaths.project(project),
        ctx,
        (current) => {
          isNew = current === null;
          const doc: IPypiProject = current ?? { name: request.name, releases: {}, files: {}, serial: 0 };
          if (holdsDistribution(doc, request.filename)) throw fileAlreadyExists(request.filename);
          // The first upload of a release sets its metadata; later files (an sdist beside a wheel, `2.0.0` beside `2.0`) join it.
          const release = findReleaseKey(doc, request.version) ?? canonicalVersion(request.version)!;
          doc.releases[release] ??= { info: request.info, created: file.upload_time };
          // A new object on every attempt: a record, once written, is never changed in place (GROWING_FIELDS).
          doc.files[request.filename] = { ...file, release };
          doc.serial += 1;
          return new SerializedDocument(doc, serializeGrowing(doc, GROWING_FIELDS));
        },
        { prerequisite: stored.stored },
      );
      if (isNew) await this.storage.createOnce(pypiPaths.name(project), Buffer.alloc(0), ctx);
      return updated.value!;
    } catch (error) {
      await this.abandon(project, stored, ctx);
      throw error;
    }
  }

  /** The wheel's METADATA, read by the zip directory, naming the upload's project and version. */
  private async readWheelMetadata(project: string, request: IUploadRequest, archive: ZipArchive): Promise<Buffer> {
    const member = archive.findMember((entry) => isWheelMetadataMember(entry.name, request.name));
    if (!member) throw RegistryError.invalid(`${request.filename} has no .dist-info/METADATA for ${request.name}: not a valid wheel`);
    const bytes = await archive.readMember(member, MAX_METADATA_BYTES);
    const fields = parseCoreMetadata(bytes.toString('utf8'));
    const name = fields.get('name')?.[0];
    const version = fields.get('version')?.[0];
    if (!name || normalizeProjectName(name) !== project) {
      throw RegistryError.invalid(`${request.filename}: its METADATA names project ${JSON.stringify(name ?? '')}, not ${request.name}`);
    }
    if (!version || !sameVersion(version, request.version)) {
      throw RegistryError.invalid(`${request.filename}: its METADATA says version ${JSON.stringify(version ?? '')}, not ${request.version}`);
    }
    return bytes;
  }

  /**
   * Remove the objects of an upload that is not (or no longer) listed (and its metadata file, which uploads stored
   * before metadata was read from the wheel), once storage has settled the file (a delete before the commit would miss it).
   */
  async abandon(project: string, stored: { uploadId: string; stored?: Promise<unknown> }, ctx: IStorageOperationContext) {
    await stored.stored?.catch(() => undefined);
    const keys = [pypiPaths.file(project, stored.uploadId), pypiPaths.metadata(project, stored.uploadId)];
    await Promise.all(
      keys.map((key) => this.storage.deleteObject(key, ctx).catch((error) => this.logger.warn(`pypi: could not remove ${key}`, error))),
    );
  }

  // ---- changes -------------------------------------------------------------------------------

  /** Yank (with a reason) or unyank a release; false when the project or release does not exist. */
  async setYanked(project: string, version: string, yanked: { reason: string } | null, ctx: IStorageOperationContext): Promise<boolean> {
    let found = false;
    await this.storage.updateJson<IPypiProject>(pypiPaths.project(project), ctx, (current) => {
      const release = current ? findReleaseKey(current, version) : undefined;
      found = release !== undefined;
      if (!found) return UNCHANGED;
      const doc = current!;
      // Replaced, not changed in place (GROWING_FIELDS).
      const { yanked: _previous, ...unyanked } = doc.releases[release!];
      doc.releases[release!] = yanked ? { ...unyanked, yanked } : unyanked;
      doc.serial += 1;
      return doc;
    });
    return found;
  }

  /**
   * Delete files: one by name, or every file of a release. The document changes first, then the
   * bytes go; a release without files is removed, a project without releases too. Null: not found.
   */
  async deleteFiles(
    project: string,
    which: { filename: string } | { version: string },
    ctx: IStorageOperationContext,
  ): Promise<{ removed: IPypiFile[]; project: IPypiProject | null } | null> {
    let removed: IPypiFile[] = [];
    let found = false;
    const updated = await this.storage.updateJson<IPypiProject>(pypiPaths.project(project), ctx, (current) => {
      removed = [];
      found = false;
      if (!current) return UNCHANGED;
      const release = 'version' in which ? (findReleaseKey(current, which.version) ?? null) : null;
      removed = Object.values(current.files).filter((file) => ('filename' in which ? file.filename === which.filename : file.release === release));
      if (removed.length === 0 && !(release !== null && current.releases[release])) return UNCHANGED;
      found = true;
      for (const file of removed) delete current.files[file.filename];
      const emptied = new Set(removed.map((file) => file.release));
      if (release) emptied.add(release);
      for (const key of emptied) {
        if (!Object.values(current.files).some((file) => file.release === key)) delete current.releases[key];
      }
      if (Object.keys(current.releases).length === 0) return DELETE;
      current.serial += 1;
      return current;
    });
    if (!found) return null;
    if (updated === null) {
      // A project without releases leaves the root index; an upload that landed meanwhile puts it back.
      await this.storage.deleteObject(pypiPaths.name(project), ctx).catch(() => undefined);
      if (await this.storage.stat(pypiPaths.project(project))) await this.storage.createOnce(pypiPaths.name(project), Buffer.alloc(0), ctx);
    }
    await Promise.all(removed.map((file) => this.abandon(project, { uploadId: file.storage_id }, ctx)));
    return { removed, project: updated };
  }
}

const toPypiDigests = (put: IPutDigests): IPypiDigests => ({
  sha256: put.digests.sha256,
  md5: put.digests.md5!,
  blake2b_256: put.digests['blake2b-256']!,
});

/** The form field each digest comes in. */
const DIGEST_FIELDS: Record<string, string> = { sha256: 'sha256_digest', md5: 'md5_digest', 'blake2b-256': 'blake2_256_digest', blake2b_256: 'blake2_256_digest' };

const digestMismatch = (algorithm: string, expected: string, actual: string) =>
  RegistryError.invalid(`The digest supplied does not match a digest calculated from the uploaded file (${DIGEST_FIELDS[algorithm]}: sent ${expected}, the file has ${actual})`);

function checkDigests(declared: TDeclaredDigests, actual: IPypiDigests) {
  for (const algorithm of ['sha256', 'md5', 'blake2b_256'] as const) {
    const expected = declared[algorithm];
    if (expected !== undefined && expected !== actual[algorithm]) throw digestMismatch(algorithm, expected, actual[algorithm]);
  }
}
