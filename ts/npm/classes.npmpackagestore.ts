import * as crypto from 'node:crypto';
import { RegistryError } from '../core/classes.registryerror.js';
import { formatDigest } from '../core/helpers.hash.js';
import { DELETE, SerializedDocument, UNCHANGED, type IStorageOperationContext, type RegistryStorage, type TDocumentMutator } from '../core/classes.registrystorage.js';
import type { Logger } from '../core/classes.logger.js';
import { npmPaths } from '../core/storage.paths.js';
import type { IObjectSource, IServedObject } from '../core/helpers.serve.js';
import type { IObjectInfo } from '../core/storage/interfaces.storage.js';
import type { NpmDocumentCache, IServedDocument } from './classes.npmdocumentcache.js';
import type { NpmSearchIndex } from './classes.npmsearchindex.js';
import { NpmTarballUpload, cannotPublishOver, type IStoredTarball } from './classes.npmtarballupload.js';
import {
  addVersions,
  applyDeprecations,
  checkDeclaredDigests,
  newPackument,
  nextRevision,
  removeVersions,
  revisionNumber,
  tarballFileName,
  serializeAbbreviated,
  serializePackument,
  toSearchEntry,
  validatePackageName,
  versionFromTarballFile,
} from './helpers.npm.js';
import type { INpmPackument, INpmPerson, INpmVersionManifest } from './interfaces.npm.js';

/** One version of a publish, checked by the router: manifest to store and its tarball, stored already. */
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

/** `_rev` of a stored abbreviated document: it is the first field, so the first bytes suffice. */
function readRevision(bytes: Buffer): { _rev?: string } {
  const match = /^\{"_rev":"([^"]*)"/.exec(bytes.subarray(0, 256).toString('utf8'));
  if (match) return { _rev: match[1] };
  const parsed = JSON.parse(bytes.toString('utf8')) as { _rev?: unknown };
  return typeof parsed._rev === 'string' ? { _rev: parsed._rev } : {};
}

const DERIVED_SYNC_ATTEMPTS = 8;

const now = () => new Date().toISOString();
const revisionSuffix = () => crypto.randomBytes(16).toString('hex');
const summarize = (doc: INpmPackument | null): IChangeSummary => ({ rev: doc?._rev ?? null, distTags: { ...(doc?.['dist-tags'] ?? {}) } });


/**
 * A package's documents and tarballs in storage. `packument.json` is the truth; it is only changed by
 * conditional writes that are retried on conflict (RegistryStorage.updateDocument), so concurrent publishes from
 * any number of instances all land. `abbreviated.json` and the search entry are derived from each new
 * packument and written alongside it; afterwards the packument's etag is checked, and if another
 * writer got in between, they are derived again from the current packument, so the last writer always
 * leaves matching documents.
 */
export class NpmPackageStore {

  constructor(
    private readonly storage: RegistryStorage,
    private readonly cache: NpmDocumentCache,
    private readonly search: NpmSearchIndex,
    private readonly logger: Logger,
  ) {
  }

  async exists(name: string): Promise<boolean> {
    return (await this.storage.stat(npmPaths.packument(name))) !== null;
  }

  /** The full or abbreviated document, ready to send. */
  async getDocument(name: string, baseUrl: string, abbreviated: boolean): Promise<IServedDocument | null> {
    if (!abbreviated) return this.cache.get(npmPaths.packument(name), baseUrl);
    const document = await this.cache.get(npmPaths.abbreviated(name), baseUrl);
    if (document) return document;
    // A package whose abbreviated document is missing (a writer died before deriving it) heals here.
    if (!(await this.exists(name))) return null;
    await this.syncDerived(name, null, { protocol: 'npm' });
    return this.cache.get(npmPaths.abbreviated(name), baseUrl);
  }

  /** The full document parsed (shared, read-only), tarball URLs absolute below `baseUrl`. */
  async getParsed(name: string, baseUrl: string): Promise<INpmPackument | null> {
    const parsed = await this.cache.getParsed<INpmPackument>(npmPaths.packument(name), baseUrl);
    return parsed ? parsed.value : null;
  }

  /** A stored tarball as the serving helper reads it: one storage round trip for a plain GET. */
  tarballSource(name: string, file: string, ctx: IStorageOperationContext): IObjectSource {
    const key = npmPaths.tarball(name, file);
    const describe = (info: IObjectInfo): IServedObject => ({
      size: info.size,
      etag: info.etag,
      lastModified: info.lastModified,
      contentType: 'application/octet-stream',
    });
    return {
      describe: async () => {
        const info = await this.storage.stat(key);
        return info && describe(info);
      },
      open: async (span) => {
        const result = await this.storage.getObject(key, ctx, span);
        return result && { object: describe(result.info), stream: result.stream, length: result.length };
      },
    };
  }

  // ---- publish -------------------------------------------------------------------------------

  /** Where a publish streams its tarballs while its body is read; `discardUpload` if the publish fails. */
  openUpload(name: string, ctx: IStorageOperationContext, maxBytes: number): NpmTarballUpload {
    return new NpmTarballUpload(this.storage, name, ctx, maxBytes);
  }

  /** A publish that failed before `publish`: the tarballs it stored go again. */
  discardUpload(name: string, upload: NpmTarballUpload, ctx: IStorageOperationContext): Promise<void> {
    return this.removeUnlistedTarballs(name, upload.created, ctx);
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
      );
    } catch (error) {
      await this.removeUnlistedTarballs(name, upload.created, ctx);
      throw error;
    }
    return summary;
  }

  /**
   * The clean-up of a failed publish: the tarballs it stored, except those of versions the stored packument
   * lists. The packument write can land although the publish answers an error (a derived write failed after
   * it, the answer to the write was lost), and a listed version must keep its tarball. When the packument
   * cannot be read, nothing is removed: a left-over tarball is taken over by the next publish of its version.
   */
  private async removeUnlistedTarballs(name: string, created: readonly string[], ctx: IStorageOperationContext) {
    if (created.length === 0) return;
    let listed: Set<string>;
    try {
      const current = await this.storage.getJson<INpmPackument>(npmPaths.packument(name));
      listed = new Set(Object.keys(current?.value.versions ?? {}).map((version) => npmPaths.tarball(name, tarballFileName(name, version))));
    } catch (error) {
      this.logger.warn(`npm: kept the tarballs of a failed publish of ${name}: the packument could not be read`, error);
      return;
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

  /**
   * Change the packument; the abbreviated document and the search entry are written alongside the
   * packument's own write, then checked against its etag (see the class comment).
   */
  private async change(
    name: string,
    ctx: IStorageOperationContext,
    mutate: TDocumentMutator<INpmPackument>,
    before?: Promise<unknown>,
  ): Promise<IChangeSummary> {
    let summary: IChangeSummary = summarize(null);
    let deletedRev = 0;
    let derivedWritten = false;
    try {
      const result = await this.storage.updateDocument<INpmPackument>(
        npmPaths.packument(name),
        ctx,
        (current) => {
          const next = mutate(current);
          if (next === DELETE) deletedRev = revisionNumber(current?._rev);
          if (next === DELETE || next === UNCHANGED) {
            summary = summarize(next === DELETE ? null : current);
            return next;
          }
          const doc = next as INpmPackument;
          summary = summarize(doc);
          return new SerializedDocument(doc, Buffer.from(serializePackument(doc), 'utf8'));
        },
        {
          before,
          alongside: (next) => {
            derivedWritten = true;
            return this.writeDerived(name, next, ctx, deletedRev);
          },
        },
      );
      if (result.changed) await this.syncDerived(name, result.alongsideFailed ? undefined : result.etag, ctx);
      return summary;
    } catch (error) {
      // Derived documents written for an attempt that did not land are put right from storage.
      if (derivedWritten) await this.syncDerived(name, undefined, ctx).catch((e) => this.logger.warn(`npm: resync of ${name} failed`, e));
      throw error;
    }
  }

  /**
   * Write the abbreviated document and the search entry of `doc` (null: the package is gone, its last
   * revision was `deletedRev`). Both are ordered by revision: a write derived from an older revision
   * never replaces one derived from a newer, whatever order concurrent writes land in.
   */
  private async writeDerived(name: string, doc: INpmPackument | null, ctx: IStorageOperationContext, deletedRev: number, force = false): Promise<void> {
    // Computed now, synchronously: `doc` may be changed in place by a later update.
    const rev = force ? Number.MAX_SAFE_INTEGER : doc ? revisionNumber(doc._rev) : deletedRev;
    const abbreviated = doc ? new SerializedDocument({ _rev: doc._rev }, Buffer.from(serializeAbbreviated(doc), 'utf8')) : null;
    const entry = doc ? toSearchEntry(doc) : null;
    // Both settle before this returns: a failed one must not leave the other writing after the request ended.
    const results = await Promise.allSettled([
      this.storage.updateDocument<{ _rev?: string }>(
        npmPaths.abbreviated(name),
        ctx,
        (current) => (current && revisionNumber(current._rev) > rev ? UNCHANGED : (abbreviated ?? DELETE)),
        { parse: readRevision },
      ),
      entry ? this.search.upsert(entry, ctx, force) : this.search.remove(name, ctx, rev),
    ]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Make the derived documents match the stored packument. `writtenEtag` is the etag of the packument
   * they were just derived from (null: deleted; undefined: unknown, derive now).
   */
  private async syncDerived(name: string, writtenEtag: string | null | undefined, ctx: IStorageOperationContext): Promise<void> {
    let expected = writtenEtag;
    for (let attempt = 0; attempt < DERIVED_SYNC_ATTEMPTS; attempt++) {
      if (expected !== undefined) {
        const info = await this.storage.stat(npmPaths.packument(name));
        if ((info?.etag ?? null) === expected) return;
      }
      const stored = await this.storage.getBytes(npmPaths.packument(name));
      const doc = stored ? (JSON.parse(stored.bytes.toString('utf8')) as INpmPackument) : null;
      // Forced: this is the current packument, whatever revision the derived documents claim.
      await this.writeDerived(name, doc, ctx, Number.MAX_SAFE_INTEGER, true);
      expected = stored?.etag ?? null;
    }
    this.logger.warn(`npm: derived documents of ${name} did not settle after ${DERIVED_SYNC_ATTEMPTS} attempts`);
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
