import * as crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { TarMemberTap } from '../core/archive/classes.tarmembertap.js';
import { DocumentCache, type ICachedDocument } from '../core/classes.documentcache.js';
import { DerivedDocuments, derivedDocument, jsonRevisionOf, jsonTruth, nextRevision, revisionOrder, type IDerivedTarget, type IStoredDerivedTarget } from '../core/classes.deriveddocuments.js';
import type { Logger } from '../core/classes.logger.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { startIngest } from '../core/helpers.ingest.js';
import { pipeStreams } from '../core/helpers.pipe.js';
import type { IObjectSource, IServedObject } from '../core/helpers.serve.js';
import { bufferedObjectSource, keptDocumentObject, storedArtifactSource, type IBufferedObject } from '../core/helpers.storedsource.js';
import { cargoPaths } from '../core/storage.paths.js';
import {
  crateManifestPath,
  manifestMismatch,
  normalizeCrateName,
  renderStoredIndex,
  sameVersion,
  toIndexEntry,
  toSearchEntry,
} from './helpers.cargo.js';
import type { ICargoCrateDocument, ICargoPublishMetadata, ICargoSearchEntry, ICargoVersionRecord } from './interfaces.cargo.js';

/** Who asks for a change: owners may change their crates; an admin scope may change any. */
export interface ICargoActor {
  userId: string;
  isAdmin: boolean;
}

/** The stored index document: the sparse index file and the crate revision it was rendered from. */
interface IStoredIndex {
  revision: string;
  name: string;
  index: string;
}

/** A stored index document as served: its bytes made once per stored version, not per request. */
function servedIndex(stored: Buffer): { name: string; bytes: Buffer } {
  const index = JSON.parse(stored.toString('utf8')) as IStoredIndex;
  return { name: index.name, bytes: Buffer.from(index.index, 'utf8') };
}

const CRATE_CONTENT_TYPE = 'application/x-tar';
const INDEX_CONTENT_TYPE = 'text/plain; charset=utf-8';

function servedIndexObject(document: ICachedDocument<ReturnType<typeof servedIndex>>): IBufferedObject {
  const { bytes } = document.value;
  return { object: { size: bytes.length, etag: document.etag, lastModified: document.lastModified, contentType: INDEX_CONTENT_TYPE }, bytes };
}


/**
 * Crates in storage: the truth document of each crate, the sparse index file derived from it (and
 * its search entry), and the .crate files. A publish stores the .crate first, then writes the
 * truth, then the index: an interrupted publish never lists a version whose file is missing.
 */
export class CargoCrateStore {
  private readonly documents: DerivedDocuments<ICargoCrateDocument>;
  private readonly indexTarget: IStoredDerivedTarget<ICargoCrateDocument>;
  private readonly cache: DocumentCache;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly search: SearchIndex<ICargoSearchEntry>,
    logger: Logger,
    private readonly maxUnpackedBytes: number,
  ) {
    this.cache = new DocumentCache(storage, { maxEntries: 10_000 });
    this.indexTarget = derivedDocument<ICargoCrateDocument>(storage, {
      label: 'cargo index file',
      afterAnswer: true,
      key: cargoPaths.index,
      render: (crate) => Buffer.from(renderStoredIndex(crate)),
      revisionOfBytes: jsonRevisionOf,
    });
    const searchTarget: IDerivedTarget<ICargoCrateDocument> = {
      label: 'cargo search entry',
      afterAnswer: true,
      write: (normalized, crate, revision, ctx, force) =>
        crate ? this.search.upsert(toSearchEntry(crate), ctx, force) : this.search.remove(normalized, ctx, revisionOrder(revision)),
    };
    this.documents = new DerivedDocuments<ICargoCrateDocument>(
      storage,
      jsonTruth<ICargoCrateDocument>(cargoPaths.crate, { growing: 'versions' }),
      [this.indexTarget, searchTarget],
      logger,
    );
  }

  /** The crate's truth as stored now (null: no such crate). */
  async getCrate(name: string): Promise<ICargoCrateDocument | null> {
    const document = await this.cache.read<ICargoCrateDocument>(cargoPaths.crate(normalizeCrateName(name)));
    return document ? document.value : null;
  }

  // ---- the sparse index ----------------------------------------------------------------------

  /** The index file of `name` (as cargo asks for it, lower case), repaired first when stale. */
  async indexSource(name: string, ctx: IStorageOperationContext): Promise<IObjectSource> {
    const normalized = normalizeCrateName(name);
    const key = this.documents.knownCurrent(normalized, this.indexTarget) ?? (await this.documents.ensureCurrent(normalized, this.indexTarget, ctx));
    // Read once per request: a conditional GET asks describe() and then open().
    return bufferedObjectSource(async () => {
      const document = this.cache.known<ReturnType<typeof servedIndex>>(key) ?? (await this.cache.read(key, servedIndex));
      // `foo_bar` and `foo-bar` share a document; only the published spelling has an index file.
      if (!document || document.value.name.toLowerCase() !== name.toLowerCase()) return null;
      return keptDocumentObject(document, servedIndexObject);
    });
  }

  // ---- .crate files --------------------------------------------------------------------------

  /** The stored .crate of one version, or null when the crate has no such version. */
  async crateSource(name: string, vers: string, ctx: IStorageOperationContext): Promise<IObjectSource | null> {
    const normalized = normalizeCrateName(name);
    const crate = await this.getCrate(normalized);
    const record = crate?.versions.find((version) => version.entry.vers === vers);
    if (!record) return null;
    return storedArtifactSource(this.storage, cargoPaths.crateFile(normalized, record.entry.vers, record.fileId), ctx, CRATE_CONTENT_TYPE);
  }

  /** The readme published with a version, or null when it sent none. */
  async readme(crate: ICargoCrateDocument, record: ICargoVersionRecord): Promise<string | null> {
    if (!record.readme) return null;
    const stored = await this.storage.getBytes(cargoPaths.crateReadme(normalizeCrateName(crate.name), record.entry.vers, record.fileId));
    return stored ? stored.bytes.toString('utf8') : null;
  }

  // ---- publish -------------------------------------------------------------------------------

  /**
   * Store a new version: the .crate streams into storage (core ingest: bounded, hashed once) while
   * its Cargo.toml is read from the tar.gz on the way (a mismatch or a bad archive stores nothing),
   * then the truth and the index. The truth is handed to storage once the bytes passed their checks and
   * shows only after the .crate (and its readme) are stored.
   */
  async publish(metadata: ICargoPublishMetadata, crate: Readable, crateLength: number, actor: ICargoActor, ctx: IStorageOperationContext): Promise<void> {
    const normalized = normalizeCrateName(metadata.name);
    // Refused before the upload where possible; checked again when the truth is written.
    await this.storage.refuseEarly<ICargoCrateDocument>(cargoPaths.crate(normalized), (crate) => assertMayPublish(crate, metadata, actor), () => this.getCrate(normalized));

    const fileId = crypto.randomUUID();
    const key = cargoPaths.crateFile(normalized, metadata.vers, fileId);
    const manifestPath = crateManifestPath(metadata.name, metadata.vers);
    const tap = new TarMemberTap({ format: 'tar.gz', wanted: (member) => member === manifestPath, limits: { maxTarBytes: this.maxUnpackedBytes }, knownLength: crateLength });
    pipeStreams([crate, tap], () => undefined);
    const upload = startIngest(this.storage, key, tap, { ...ctx, metadata: { packageName: metadata.name, version: metadata.vers } }, {
      maxBytes: crateLength,
      verify: async ({ size }) => {
        if (size !== crateLength) throw RegistryError.invalid(`the .crate has ${size} bytes, the body declared ${crateLength}`);
        const mismatch = manifestMismatch((await tap.members).get(manifestPath), metadata.name, metadata.vers);
        if (mismatch) throw RegistryError.invalid(mismatch);
      },
    });
    const stored = await upload.verified;

    const entry = toIndexEntry(metadata, stored.digests.sha256);
    const readme = typeof metadata.readme === 'string' && metadata.readme.trim() !== '' ? metadata.readme : null;
    const record: ICargoVersionRecord = { entry, fileId, size: stored.size, publishedAt: new Date().toISOString(), publishedBy: actor.userId, ...(readme ? { readme: true as const } : {}) };
    // Beside this upload's .crate, before the truth names it: a version is never listed with a readme that is missing.
    const readmeWritten = readme ? this.storage.putObject(cargoPaths.crateReadme(normalized, metadata.vers, fileId), Buffer.from(readme, 'utf8'), ctx) : undefined;
    const listable = readmeWritten ? Promise.all([upload.stored, readmeWritten]) : upload.stored;
    try {
      await this.documents.change(normalized, ctx, (current) => {
        if (current) assertMayPublish(current, metadata, actor);
        const next: ICargoCrateDocument = current
          ? { ...current, versions: [...current.versions, record] }
          : { v: 1, revision: '', name: metadata.name, owners: [actor.userId], versions: [record] };
        next.revision = nextRevision(current?.revision ?? null, crypto.randomUUID().slice(0, 8));
        if (typeof metadata.description === 'string') next.description = metadata.description;
        if (Array.isArray(metadata.keywords)) next.keywords = metadata.keywords;
        return next;
      }, listable);
    } catch (error) {
      await Promise.allSettled([upload.stored, readmeWritten]);
      await this.removeUnlisted(normalized, metadata.vers, fileId, ctx);
      throw error;
    }
  }

  /** Delete an uploaded .crate whose publish failed, unless the truth lists it after all. */
  private async removeUnlisted(normalized: string, vers: string, fileId: string, ctx: IStorageOperationContext) {
    try {
      const crate = await this.storage.getJson<ICargoCrateDocument>(cargoPaths.crate(normalized));
      if (crate?.value.versions.some((version) => version.fileId === fileId)) return;
      await this.storage.deleteObjects([cargoPaths.crateFile(normalized, vers, fileId), cargoPaths.crateReadme(normalized, vers, fileId)], ctx);
    } catch {
      // Left behind, it is never listed and costs only space.
    }
  }

  // ---- yank, owners --------------------------------------------------------------------------

  async setYanked(name: string, vers: string, yanked: boolean, actor: ICargoActor, ctx: IStorageOperationContext): Promise<void> {
    const normalized = normalizeCrateName(name);
    const result = await this.documents.change(normalized, ctx, (current) => {
      const crate = requireCrate(current, name);
      assertOwner(crate, actor);
      const index = crate.versions.findIndex((version) => version.entry.vers === vers);
      if (index === -1) throw RegistryError.notFound(`crate \`${crate.name}\` has no version ${vers}`);
      if (crate.versions[index].entry.yanked === yanked) return UNCHANGED;
      const versions = [...crate.versions];
      versions[index] = { ...versions[index], entry: { ...versions[index].entry, yanked } };
      return { ...crate, versions, revision: nextRevision(crate.revision, crypto.randomUUID().slice(0, 8)) };
    });
    if (!result.value) throw RegistryError.notFound(`crate \`${name}\` does not exist`);
  }

  async owners(name: string): Promise<string[]> {
    return requireCrate(await this.getCrate(name), name).owners;
  }

  /** Add (or remove) owners; returns the crate's name as published. */
  async changeOwners(name: string, users: string[], add: boolean, actor: ICargoActor, ctx: IStorageOperationContext): Promise<string> {
    const result = await this.documents.change(normalizeCrateName(name), ctx, (current) => {
      const crate = requireCrate(current, name);
      assertOwner(crate, actor);
      const owners = add ? [...new Set([...crate.owners, ...users])] : crate.owners.filter((owner) => !users.includes(owner));
      if (owners.length === 0) throw RegistryError.invalid(`cannot remove every owner of crate \`${crate.name}\``);
      if (owners.length === crate.owners.length && owners.every((owner, i) => owner === crate.owners[i])) return UNCHANGED;
      return { ...crate, owners, revision: nextRevision(crate.revision, crypto.randomUUID().slice(0, 8)) };
    });
    return result.value!.name;
  }
}

function requireCrate(crate: ICargoCrateDocument | null, name: string): ICargoCrateDocument {
  if (!crate) throw RegistryError.notFound(`crate \`${name}\` does not exist`);
  return crate;
}

function assertOwner(crate: ICargoCrateDocument, actor: ICargoActor) {
  if (!actor.isAdmin && !crate.owners.includes(actor.userId)) {
    throw RegistryError.denied(`you are not an owner of crate \`${crate.name}\``);
  }
}

/** Same crate spelled the same way, published by an owner, and a new version. */
function assertMayPublish(crate: ICargoCrateDocument, metadata: ICargoPublishMetadata, actor: ICargoActor) {
  if (crate.name !== metadata.name) {
    throw RegistryError.conflict(`crate \`${metadata.name}\` is taken: \`${crate.name}\` differs only in case or \`-\`/\`_\``);
  }
  assertOwner(crate, actor);
  const taken = crate.versions.find((version) => sameVersion(version.entry.vers, metadata.vers));
  if (taken) throw RegistryError.conflict(`crate \`${crate.name}\` version ${taken.entry.vers} already exists`);
}
