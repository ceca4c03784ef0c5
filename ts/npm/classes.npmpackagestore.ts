import * as crypto from 'node:crypto';
import { RegistryError } from '../core/classes.registryerror.js';
import { DELETE, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { Logger } from '../core/classes.logger.js';
import { npmPaths } from '../core/storage.paths.js';
import type { IGetResult, THashAlgorithm } from '../core/storage/interfaces.storage.js';
import type { NpmDocumentCache, IServedDocument } from './classes.npmdocumentcache.js';
import type { NpmSearchIndex } from './classes.npmsearchindex.js';
import {
  addVersions,
  applyDeprecations,
  checkDeclaredDigests,
  integrityAlgorithms,
  newPackument,
  nextRevision,
  removeVersions,
  sriFromHex,
  tarballFileName,
  toAbbreviated,
  toSearchEntry,
  validatePackageName,
  versionFromTarballFile,
} from './helpers.npm.js';
import type { INpmPackument, INpmPerson, INpmVersionManifest } from './interfaces.npm.js';

/** One version of a publish, checked by the router: manifest to store and its tarball. */
export interface IPublishVersion {
  manifest: INpmVersionManifest;
  tarball: Buffer;
}

export interface IPublishPlan {
  versions: IPublishVersion[];
  tags: Record<string, string>;
  publisher: INpmPerson;
  readme?: string;
  readmeFilename?: string;
}

/** A tarball left by a publish that never reached the packument is taken over after this long. */
const ORPHAN_TARBALL_MS = 60_000;
const DERIVED_SYNC_ATTEMPTS = 8;
const REV_PROBE_BYTES = 1024;

const isPreconditionFailed = (error: unknown) => error instanceof RegistryError && error.kind === 'precondition-failed';
const now = () => new Date().toISOString();
const revisionSuffix = () => crypto.randomBytes(16).toString('hex');

export const cannotPublishOver = (version: string) =>
  RegistryError.denied(`You cannot publish over the previously published versions: ${version}.`);

/**
 * A package's documents and tarballs in storage. `packument.json` is the truth and is only changed
 * through `updateJson` (conditional write, retried), so concurrent publishes from any number of
 * instances all land. `abbreviated.json` and the search entry are derived from it after every change
 * and re-derived until they match the packument's current revision (see `syncDerived`).
 */
export class NpmPackageStore {
  constructor(
    private readonly storage: RegistryStorage,
    private readonly cache: NpmDocumentCache,
    private readonly search: NpmSearchIndex,
    private readonly logger: Logger,
  ) {}

  async exists(name: string): Promise<boolean> {
    return (await this.storage.stat(npmPaths.packument(name))) !== null;
  }

  /** The full or abbreviated document, ready to send. */
  async getDocument(name: string, baseUrl: string, abbreviated: boolean): Promise<IServedDocument | null> {
    if (!abbreviated) return this.cache.get(npmPaths.packument(name), baseUrl);
    const document = await this.cache.get(npmPaths.abbreviated(name), baseUrl);
    if (document) return document;
    // A package whose abbreviated document is missing (a writer died before deriving it) heals here.
    const full = await this.storage.getJson<INpmPackument>(npmPaths.packument(name));
    if (!full) return null;
    await this.syncDerived(name, full.value, { protocol: 'npm' });
    return this.cache.get(npmPaths.abbreviated(name), baseUrl);
  }

  /** The full document parsed (shared, read-only), tarball URLs absolute below `baseUrl`. */
  async getParsed(name: string, baseUrl: string): Promise<INpmPackument | null> {
    const parsed = await this.cache.getParsed<INpmPackument>(npmPaths.packument(name), baseUrl);
    return parsed ? parsed.value : null;
  }

  async getTarball(name: string, file: string, ctx: IStorageOperationContext): Promise<IGetResult | null> {
    return this.storage.getObject(npmPaths.tarball(name, file), ctx);
  }

  async statTarball(name: string, file: string) {
    return this.storage.stat(npmPaths.tarball(name, file));
  }

  // ---- publish -------------------------------------------------------------------------------

  /**
   * Store the tarballs (verified against the manifests' shasum/integrity while being written), then
   * add the versions to the packument. Anything this request stored is removed again if a later
   * step fails, so a refused publish leaves nothing behind.
   */
  async publish(name: string, plan: IPublishPlan, ctx: IStorageOperationContext): Promise<INpmPackument> {
    const created: string[] = [];
    let updated: INpmPackument | null;
    try {
      for (const version of plan.versions) {
        await this.storeTarball(name, version, ctx, created);
      }
      updated = await this.storage.updateJson<INpmPackument>(npmPaths.packument(name), ctx, (current) => {
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
          plan.versions.map((v) => v.manifest),
          plan.tags,
          { publisher: plan.publisher, now: now(), readme: plan.readme, readmeFilename: plan.readmeFilename },
        );
        doc._rev = nextRevision(doc._rev, revisionSuffix());
        return doc;
      });
    } catch (error) {
      await Promise.all(created.map((key) => this.storage.deleteObject(key, ctx).catch(() => undefined)));
      throw error;
    }
    await this.syncDerived(name, updated, ctx);
    return updated!;
  }

  private async storeTarball(name: string, version: IPublishVersion, ctx: IStorageOperationContext, created: string[]) {
    const { manifest, tarball } = version;
    const key = npmPaths.tarball(name, tarballFileName(name, manifest.version));
    const declared = integrityAlgorithms(manifest.dist.integrity);
    const hashes: THashAlgorithm[] = ['sha1', 'sha512'];
    if (declared.includes('sha256')) hashes.push('sha256');
    // sha384 is not one of storage's streaming digests; it is rare enough to compute separately.
    const sha384 = declared.includes('sha384') ? crypto.createHash('sha384').update(tarball).digest('hex') : undefined;
    const tarballCtx: IStorageOperationContext = {
      ...ctx,
      metadata: { ...ctx.metadata, packageName: name, version: manifest.version, size: tarball.length, contentType: 'application/octet-stream' },
    };
    const options = {
      hashes,
      verify: (result: { digests: Partial<Record<THashAlgorithm, string>> }) => {
        const problem = checkDeclaredDigests(manifest.dist, { ...result.digests, sha384 });
        if (problem) throw RegistryError.invalid(`${name}@${manifest.version}: ${problem}`);
      },
    };
    let digests: Partial<Record<THashAlgorithm, string>>;
    try {
      digests = (await this.storage.putObject(key, tarball, tarballCtx, { ...options, ifNoneMatch: '*' })).digests;
      created.push(key);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      digests = await this.takeOverExistingTarball(name, manifest.version, key, tarball, tarballCtx, options, created);
    }
    manifest.dist.shasum = digests.sha1!;
    manifest.dist.integrity = sriFromHex('sha512', digests.sha512!);
  }

  /**
   * The tarball's key is taken: by a published version (refused), by an earlier attempt of this very
   * publish (same bytes: reused), or by a publish that died before its packument update (taken over
   * once it is old enough; a younger one may be a publish still in flight).
   */
  private async takeOverExistingTarball(
    name: string,
    version: string,
    key: string,
    tarball: Buffer,
    ctx: IStorageOperationContext,
    options: { hashes: THashAlgorithm[]; verify: (result: { digests: Partial<Record<THashAlgorithm, string>> }) => void },
    created: string[],
  ): Promise<Partial<Record<THashAlgorithm, string>>> {
    const current = await this.storage.getJson<INpmPackument>(npmPaths.packument(name));
    if (current && Object.hasOwn(current.value.versions, version)) throw cannotPublishOver(version);
    const digests: Partial<Record<THashAlgorithm, string>> = {};
    for (const algorithm of options.hashes) digests[algorithm] = crypto.createHash(algorithm).update(tarball).digest('hex');
    options.verify({ digests });
    const existing = await this.storage.getBytes(key);
    if (existing && crypto.createHash('sha512').update(existing.bytes).digest('hex') === digests.sha512) return digests;
    const info = await this.storage.stat(key);
    if (info && Date.now() - info.lastModified.getTime() < ORPHAN_TARBALL_MS) {
      throw RegistryError.conflict(`another publish of ${name}@${version} is in progress; try again in a minute`);
    }
    const result = await this.storage.putObject(key, tarball, ctx, { ...options, ...(info ? { ifMatch: info.etag } : { ifNoneMatch: '*' }) });
    created.push(key);
    return result.digests;
  }

  // ---- changes to existing packages ----------------------------------------------------------

  /** `npm deprecate`: the client PUTs the whole document back; only `deprecated` is taken from it. */
  async updateDeprecations(name: string, clientVersions: Record<string, unknown>, ctx: IStorageOperationContext) {
    let changed: string[] = [];
    const updated = await this.storage.updateJson<INpmPackument>(npmPaths.packument(name), ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      changed = applyDeprecations(current, clientVersions);
      if (changed.length === 0) return current;
      current.time.modified = now();
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
    if (changed.length) await this.syncDerived(name, updated, ctx);
    return { doc: updated!, changed };
  }

  /**
   * The unpublish flow's `PUT /{name}/-rev/{rev}`: versions missing from the client's document are
   * removed (with their tarballs). The revision must be current, so a document read before someone
   * else's publish cannot remove that publish.
   */
  async unpublishVersions(name: string, rev: string, clientVersions: Record<string, unknown>, ctx: IStorageOperationContext) {
    let removed: string[] = [];
    const updated = await this.storage.updateJson<INpmPackument>(npmPaths.packument(name), ctx, (current) => {
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
    if (!updated) {
      await this.deleteFiles(name, ctx);
    } else {
      await Promise.all(removed.map((version) => this.storage.deleteObject(npmPaths.tarball(name, tarballFileName(name, version)), ctx)));
    }
    await this.syncDerived(name, updated, ctx);
    return { doc: updated, removed };
  }

  /** Remove a whole package. With `rev`, only if it is the current revision. */
  async deletePackage(name: string, rev: string | undefined, ctx: IStorageOperationContext): Promise<void> {
    await this.storage.updateJson<INpmPackument>(npmPaths.packument(name), ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (rev !== undefined && current._rev !== rev) {
        throw RegistryError.conflict(`document update conflict: revision ${rev} is not current (${current._rev})`);
      }
      return DELETE;
    });
    await this.deleteFiles(name, ctx);
    await this.syncDerived(name, null, ctx);
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

  async setDistTag(name: string, tag: string, version: string, ctx: IStorageOperationContext): Promise<INpmPackument> {
    const updated = await this.storage.updateJson<INpmPackument>(npmPaths.packument(name), ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (!Object.hasOwn(current.versions, version)) throw RegistryError.notFound(`version ${version} of ${name} not found`);
      current['dist-tags'][tag] = version;
      current.time.modified = now();
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
    await this.syncDerived(name, updated, ctx);
    return updated!;
  }

  async removeDistTag(name: string, tag: string, ctx: IStorageOperationContext): Promise<INpmPackument> {
    const updated = await this.storage.updateJson<INpmPackument>(npmPaths.packument(name), ctx, (current) => {
      if (!current) throw RegistryError.notFound(`package ${name} not found`);
      if (!Object.hasOwn(current['dist-tags'], tag)) throw RegistryError.notFound(`${tag} is not a dist-tag on ${name}`);
      delete current['dist-tags'][tag];
      current.time.modified = now();
      current._rev = nextRevision(current._rev, revisionSuffix());
      return current;
    });
    await this.syncDerived(name, updated, ctx);
    return updated!;
  }

  // ---- derived documents ---------------------------------------------------------------------

  /**
   * Write the abbreviated document and the search entry for `doc` (null: the package is gone), then
   * check that the packument is still at that revision; if another writer changed it meanwhile, derive
   * again from the current one. The last writer always leaves derived documents that match.
   */
  private async syncDerived(name: string, doc: INpmPackument | null, ctx: IStorageOperationContext): Promise<void> {
    for (let attempt = 0; attempt < DERIVED_SYNC_ATTEMPTS; attempt++) {
      await Promise.all([this.writeAbbreviated(name, doc, ctx), this.writeSearchEntry(name, doc, ctx)]);
      const currentRev = await this.currentRevision(name);
      if (currentRev === (doc?._rev ?? null)) return;
      doc = (await this.storage.getJson<INpmPackument>(npmPaths.packument(name)))?.value ?? null;
    }
    this.logger.warn(`npm: derived documents of ${name} did not settle after ${DERIVED_SYNC_ATTEMPTS} attempts`);
  }

  private async writeAbbreviated(name: string, doc: INpmPackument | null, ctx: IStorageOperationContext) {
    const key = npmPaths.abbreviated(name);
    if (!doc) {
      await this.storage.deleteObject(key, ctx);
    } else {
      await this.storage.putObject(key, Buffer.from(JSON.stringify(toAbbreviated(doc)), 'utf8'), ctx);
    }
  }

  private async writeSearchEntry(name: string, doc: INpmPackument | null, ctx: IStorageOperationContext) {
    const entry = doc ? toSearchEntry(doc) : null;
    if (entry) await this.search.upsert(entry, ctx);
    else await this.search.remove(name, ctx);
  }

  /** `_rev` of the stored packument (it is the second field, so the first bytes suffice); null when absent. */
  private async currentRevision(name: string): Promise<string | null> {
    const stored = await this.storage.getBytes(npmPaths.packument(name));
    if (!stored) return null;
    const head = stored.bytes.subarray(0, REV_PROBE_BYTES).toString('utf8');
    const match = /"_rev":"([^"]*)"/.exec(head);
    if (match) return match[1];
    return (JSON.parse(stored.bytes.toString('utf8')) as INpmPackument)._rev;
  }

  private async deleteFiles(name: string, ctx: IStorageOperationContext) {
    const keys: string[] = [];
    for await (const object of this.storage.listAll(npmPaths.tarballsPrefix(name))) keys.push(object.key);
    await Promise.all(keys.map((key) => this.storage.deleteObject(key, ctx)));
    this.cache.invalidate(npmPaths.packument(name));
    this.cache.invalidate(npmPaths.abbreviated(name));
  }
}
