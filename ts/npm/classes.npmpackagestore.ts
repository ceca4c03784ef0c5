import * as crypto from 'node:crypto';
import { RegistryError, isRegistryError } from '../core/classes.registryerror.js';
import { formatDigest } from '../core/helpers.hash.js';
import { DELETE, SerializedDocument, UNCHANGED, type IStorageOperationContext, type RegistryStorage, type TDocumentMutator } from '../core/classes.registrystorage.js';
import type { Logger } from '../core/classes.logger.js';
import { DerivedDocuments, derivedDocument, revisionOrder, type IDerivedTarget, type IStoredDerivedTarget } from '../core/classes.deriveddocuments.js';
import { npmPaths } from '../core/storage.paths.js';
import type { IObjectSource } from '../core/helpers.serve.js';
import { storedArtifactSource } from '../core/helpers.storedsource.js';
import type { NpmDocumentCache, IServedDocument, TFreshness } from './classes.npmdocumentcache.js';
import type { NpmSearchIndex } from './classes.npmsearchindex.js';
import { NpmTarballUpload, cannotPublishOver, type IStoredTarball } from './classes.npmtarballupload.js';
import {
  addVersions,
  applyDeprecations,
  checkDeclaredDigests,
  newPackument,
  nextRevision,
  removeVersions,
  tarballFileName,
  serializeAbbreviated,
  serializePackument,
  toSearchEntry,
  validatePackageName,
  versionFromTarballFile,
} from './helpers.npm.js';
import type { INpmPackument, INpmPerson, INpmVersionManifest } from './interfaces.npm.js';

/** One version of a publish, checked by the router: manifest to store and its tarball (checked; committed before the packument). */
export interface IPublishVersion {
  manifest: INpmVersionManifest;
  tarball: IStoredTarball;
}

export interface IPublishPlan {
  versions: IPublishVersion[];
  tags: Record<string, string>;
  publisher: INpmPerson;
  readme?: string;
  readmeFilename?: string;
}

/** What a change leaves: read from the new document when it was made (the document itself is not kept). */
export interface IChangeSummary {
  rev: string | null;
  distTags: Record<string, string>;
}

/**
 * `_rev` of a stored packument: it comes first (after `_id`), so the first bytes usually suffice. Null when
 * it is not there (damaged bytes included).
 */
function readRevision(bytes: Buffer): string | null {
  const match = /^\{(?:"_id":"[^"\\]*",)?"_rev":"([^"\\]*)"/.exec(bytes.subarray(0, 512).toString('utf8'));
  return match ? match[1] : wholeRevision(bytes);
}

/** `_rev` of a whole stored document; null when it has none or the bytes do not parse (a derived one is made again). */
function wholeRevision(bytes: Buffer): string | null {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { _rev?: unknown } | null;
    return typeof parsed?._rev === 'string' ? parsed._rev : null;
  } catch {
    return null;
  }
}


const now = () => new Date().toISOString();
const revisionSuffix = () => crypto.randomBytes(16).toString('hex');
const summarize = (doc: INpmPackument | null): IChangeSummary => ({ rev: doc?._rev ?? null, distTags: { ...(doc?.['dist-tags'] ?? {}) } });


/**
 * A package's documents and tarballs in storage. `packument.json` is the truth; it is only changed by
 * conditional writes that are retried on conflict, so concurrent publishes from any number of
 * instances all land. `abbreviated.json` and the search entry are derived from it by core's
 * DerivedDocuments: written after the packument, once the change is answered (every read of either
 * waits for them or checks the packument's revision), ordered by revision, and repaired on read.
 */
export class NpmPackageStore {
  private readonly documents: DerivedDocuments<INpmPackument>;
  private readonly abbreviated: IStoredDerivedTarget<INpmPackument>;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly cache: NpmDocumentCache,
    search: NpmSearchIndex,
    private readonly logger: Logger,
  ) {
    this.abbreviated = derivedDocument<INpmPackument>(storage, {
      label: 'npm abbreviated document',
      // Served only through ensureCurrent, which checks it against the packument's revision.
      afterAnswer: true,
      key: npmPaths.abbreviated,
      render: (doc) => Buffer.from(serializeAbbreviated(doc), 'utf8'),
      // Read whole (only when the truth or it changed): damaged bytes must not pass for the current revision.
      revisionOfBytes: wholeRevision,
    });
    const searchEntry: IDerivedTarget<INpmPackument> = {
      label: 'npm search entry',
      afterAnswer: true,
      async write(name, doc, revision, ctx, force) {
        const entry = doc ? toSearchEntry(doc) : null;
        if (entry) return search.upsert(entry, ctx, force);
        await search.remove(name, ctx, force ? Number.MAX_SAFE_INTEGER : revisionOrder(revision));
      },
    };
    this.documents = new DerivedDocuments<INpmPackument>(
      storage,
      {
        key: npmPaths.packument,
        revision: (doc) => doc._rev ?? '0-0',
        revisionOfBytes: readRevision,
        serialize: (doc) => Buffer.from(serializePackument(doc), 'utf8'),
        parse: (bytes) => JSON.parse(bytes.toString('utf8')) as INpmPackument,
      },
      [this.abbreviated, searchEntry],
      logger,
    );
  }

  async exists(name: string): Promise<boolean> {
    return (await this.storage.stat(npmPaths.packument(name))) !== null;
  }

  /** The full or abbreviated document, ready to send. */
  async getDocument(name: string, baseUrl: string, abbreviated: boolean, freshness?: TFreshness): Promise<IServedDocument | null> {
    if (!abbreviated) return await this.cache.get(npmPaths.packument(name), baseUrl, freshness);
    // Missing or stale (a derived write failed, a writer died before it) is put right here.
    const key = this.documents.knownCurrent(name, this.abbreviated) ?? (await this.documents.ensureCurrent(name, this.abbreviated, { protocol: 'npm' }));
    return await this.cache.get(key, baseUrl);
  }

  /** The full document parsed (shared, read-only), tarball URLs absolute below `baseUrl`. */
  async getParsed(name: string, baseUrl: string, freshness?: TFreshness): Promise<INpmPackument | null> {
    const parsed = await this.cache.getParsed<INpmPackument>(npmPaths.packument(name), baseUrl, freshness);
    return parsed ? parsed.value : null;
  }

  /** A stored tarball as the serving helper reads it: one storage round trip for a plain GET. */
  tarballSource(name: string, file: string, ctx: IStorageOperationContext): IObjectSource {
    return storedArtifactSource(this.storage, npmPaths.tarball(name, file), ctx, 'application/octet-stream');
  }

  // ---- publish -------------------------------------------------------------------------------

  /** Where a publish streams its tarballs while its body is read; `discardUpload` if the publish fails. */
  openUpload(name: string, ctx: IStorageOperationContext, maxBytes: number): NpmTarballUpload {
    return new NpmTarballUpload(this.storage, name, ctx, maxBytes);
  }

  /** A publish that failed before `publish`: the tarballs it stored go again. */
  discardUpload(name: string, upload: NpmTarballUpload, ctx: IStorageOperationContext): Promise<void> {
    return this.removeUnlistedTarballs(name, upload, ctx);
  }

  /**
   * Check the stored tarballs against the manifests' shasum/integrity and add the versions to the
   * packument. The tarballs this request stored are removed again if a step fails: a refused publish
   * leaves nothing behind.
   */
  async publish(name: string, plan: IPublishPlan, upload: NpmTarballUpload, ctx: IStorageOperationContext): Promise<IChangeSummary> {
    let summary: IChangeSummary;
    try {
      for (const { manifest, tarball } of plan.versions) {
        const problem = checkDeclaredDigests(manifest.dist, tarball.digests);
        if (problem) throw RegistryError.invalid(`${name}@${manifest.version}: ${problem}`);
        manifest.dist.shasum = tarball.digests.sha1!;
        manifest.dist.integrity = formatDigest('sha512', tarball.digests.sha512!, 'sri');
      }
      summary = await this.change(
        name,
        ctx,
        (current) => {
          if (!current) {
            const validation = validatePackageName(name);
            if (!validation.validForNew) {
              throw RegistryError.invalid(`invalid package name ${JSON.stringify(name)}: ${[...validation.errors, ...validation.warnings].join('; ')}`);
            }
          }
          const doc = current ?? newPackument(name, now());
          for (const { manifest } of plan.versions) {
            if (Object.hasOwn(doc.versions, manifest.version)) throw cannotPublishOver(manifest.version);
          }
          addVersions(
            doc,
            plan.versions.map((v) => ({ ...v.manifest, dist: { ...v.manifest.dist } })),
            plan.tags,
            { publisher: plan.publisher, now: now(), readme: plan.readme, readmeFilename: plan.readmeFilename },
          );
          doc._rev = nextRevision(doc._rev, revisionSuffix());
          return doc;
        },
        // Rendered while the tarballs' PUTs are in flight, written once they are stored.
        upload.allStored(),
      );
    } catch (error) {
      await this.removeUnlistedTarballs(name, upload, ctx);
      throw error;
    }
    return summary;
  }

  /**
   * The clean-up of a failed publish: the tarballs it stored, except those of versions the stored packument
   * lists. The packument write can land although the publish answers an error (a derived write failed after
   * it, the answer to the write was lost), and a listed version must keep its tarball. When the packument
   * cannot be read, nothing is removed: a left-over tarball is taken over by the next publish of its version.
   * A damaged packument was not written over (the write reads it first) and lists none of them: all go.
   */
  private async removeUnlistedTarballs(name: string, upload: NpmTarballUpload, ctx: IStorageOperationContext) {
    const created = await upload.createdKeys();
    if (created.length === 0) return;
    let listed: Set<string>;
    try {
      const current = await this.storage.getJson<INpmPackument>(npmPaths.packument(name));
      listed = new Set(Object.keys(current?.value.versions ?? {}).map((version) => npmPaths.tarball(name, tarballFileName(name, version))));
    } catch (error) {
      if (!isRegistryError(error, 'corrupt')) {
        this.logger.warn(`npm: kept the tarballs of a failed publish of ${name}: the packument could not be read`, error);
        return;
      }
      listed = new Set();
    }
    const unlisted = created.filter((key) => !listed.has(key));
    await Promise.all(unlisted.map((key) => this.storage.deleteObject(key, ctx).catch(() => undefined)));
  }

  // ---- changes to existing packages ----------------------------------------------------------

  /** `npm deprecate`: the client PUTs the whole document back; only `deprecated` is taken from it. */
  async updateDeprecations(name: string, clientVersions: Record<string, unknown>, ctx: IStorageOperationContext) {
    return this.change(name, ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (applyDeprecations(current, clientVersions).length === 0) return UNCHANGED;
      current.time.modified = now();
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
  }

  /**
   * The unpublish flow's `PUT /{name}/-rev/{rev}`: versions missing from the client's document are
   * removed (with their tarballs). The revision must be current, so a document read before someone
   * else's publish cannot remove that publish.
   */
  async unpublishVersions(name: string, rev: string, clientVersions: Record<string, unknown>, ctx: IStorageOperationContext) {
    let removed: string[] = [];
    const summary = await this.change(name, ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (current._rev !== rev) throw RegistryError.conflict(`document update conflict: revision ${rev} is not current (${current._rev})`);
      applyDeprecations(current, clientVersions);
      removed = removeVersions(
        current,
        Object.keys(current.versions).filter((version) => !Object.hasOwn(clientVersions, version)),
        now(),
      );
      if (Object.keys(current.versions).length === 0) return DELETE;
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
    if (summary.rev === null) {
      await this.deleteFiles(name, removed, ctx);
    } else {
      await this.storage.deleteObjects(removed.map((version) => npmPaths.tarball(name, tarballFileName(name, version))), ctx);
    }
    return { ...summary, removed };
  }

  /** Remove a whole package. With `rev`, only if it is the current revision. */
  async deletePackage(name: string, rev: string | undefined, ctx: IStorageOperationContext): Promise<void> {
    let versions: string[] = [];
    await this.change(name, ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (rev !== undefined && current._rev !== rev) {
        throw RegistryError.conflict(`document update conflict: revision ${rev} is not current (${current._rev})`);
      }
      versions = Object.keys(current.versions);
      return DELETE;
    });
    await this.deleteFiles(name, versions, ctx);
  }

  /**
   * The unpublish flow's tarball `DELETE`: allowed for versions no longer in the packument (the
   * tarball is normally gone already, removed with its version).
   */
  async deleteTarball(name: string, file: string, ctx: IStorageOperationContext): Promise<void> {
    const version = versionFromTarballFile(name, file);
    if (!version) throw RegistryError.notFound(`${file} is not a tarball of ${name}`);
    const current = await this.storage.getJson<INpmPackument>(npmPaths.packument(name));
    if (current && Object.hasOwn(current.value.versions, version)) {
      throw RegistryError.conflict(`${name}@${version} is still published: unpublish the version, not its tarball`);
    }
    await this.storage.deleteObject(npmPaths.tarball(name, tarballFileName(name, version)), ctx);
  }

  async setDistTag(name: string, tag: string, version: string, ctx: IStorageOperationContext): Promise<IChangeSummary> {
    return this.change(name, ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (!Object.hasOwn(current.versions, version)) throw RegistryError.notFound(`version ${version} of ${name} not found`);
      if (current['dist-tags'][tag] === version) return UNCHANGED;
      current['dist-tags'][tag] = version;
      current.time.modified = now();
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
  }

  async removeDistTag(name: string, tag: string, ctx: IStorageOperationContext): Promise<IChangeSummary> {
    return this.change(name, ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (!Object.hasOwn(current['dist-tags'], tag)) throw RegistryError.notFound(`${tag} is not a dist-tag on ${name}`);
      delete current['dist-tags'][tag];
      current.time.modified = now();
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
  }

  // ---- one change, with its derived documents -------------------------------------------------

  /** Change the packument (derived documents follow it); returns what the change left. */
  private async change(
    name: string,
    ctx: IStorageOperationContext,
    mutate: TDocumentMutator<INpmPackument>,
    before?: Promise<unknown>,
  ): Promise<IChangeSummary> {
    let summary: IChangeSummary = summarize(null);
    await this.documents.change(
      name,
      ctx,
      (current) => {
        const next = mutate(current);
        if (next === DELETE || next === UNCHANGED) {
          summary = summarize(next === DELETE ? null : current);
          return next;
        }
        const doc = next as INpmPackument;
        summary = summarize(doc);
        return new SerializedDocument(doc, Buffer.from(serializePackument(doc), 'utf8'));
      },
      before,
    );
    return summary;
  }

  /**
   * After the packument was deleted: the tarballs of the versions it held. Only those: a publish that
   * started once the document was gone may have stored its tarballs under the same prefix already.
   */
  private async deleteFiles(name: string, versions: readonly string[], ctx: IStorageOperationContext) {
    const keys = versions.map((version) => npmPaths.tarball(name, tarballFileName(name, version)));
    await this.storage.deleteObjects(keys, ctx);
    this.storage.forgetDocument(npmPaths.packument(name));
    this.cache.invalidate(npmPaths.packument(name));
    this.cache.invalidate(npmPaths.abbreviated(name));
  }
}
