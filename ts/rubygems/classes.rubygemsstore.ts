import * as crypto from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { TarMemberTap } from '../core/archive/classes.tarmembertap.js';
import { gunzipBounded } from '../core/archive/helpers.compression.js';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { WorkUnderWay } from '../core/classes.workunderway.js';
import { DerivedDocuments, derivedDocument, jsonRevisionOf, jsonTruth, nextRevision, revisionOrder, type IDerivedTarget, type IStoredDerivedTarget } from '../core/classes.deriveddocuments.js';
import { DocumentCache, type ICachedDocument } from '../core/classes.documentcache.js';
import type { Logger } from '../core/classes.logger.js';
import { RegistryError, isRegistryError } from '../core/classes.registryerror.js';
import { SerializedDocument, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { TruthSweep } from '../core/classes.truthsweep.js';
import { mapLimited } from '../core/helpers.async.js';
import { serializeGrowing } from '../core/helpers.json.js';
import { startIngest } from '../core/helpers.ingest.js';
import { parseStoredJson } from '../core/helpers.storeddocument.js';
import { keptServedObject, type IObjectSource, type IServedObject } from '../core/helpers.serve.js';
import { bufferedObjectSource, keptDocumentObject, storedArtifactSource, type IBufferedObject } from '../core/helpers.storedsource.js';
import { rubygemsPaths } from '../core/storage.paths.js';
import { createGemSearchIndex } from './classes.rubygemssearch.js';
import { parseGemspecYaml } from './helpers.gemspec.js';
import {
  compactCreatedAt,
  compactIndexEntry,
  compactInfoFile,
  compactVersionsLine,
  compactedVersionsLines,
  fullVersion,
  gemSummary,
  md5Hex,
  servedVersionChanges,
} from './helpers.rubygems.js';
import type {
  ICompactIndexDocument,
  ICompactIndexEntry,
  IGemDocument,
  IGemSearchEntry,
  IGemSpec,
  IGemSummary,
  IGemVersionRecord,
  IStoredInfo,
} from './interfaces.rubygems.js';

/** `metadata.gz` is a gemspec: a few KiB, never megabytes. */
const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_METADATA_YAML_BYTES = 4 * 1024 * 1024;
/** Gem documents read at once by a sweep. */
const SWEEP_READS = 8;
const TEXT = 'text/plain; charset=utf-8';

const sha256Base64 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('base64');

/** A compact index document whose bytes do not parse: it is derived again from every gem.json. */
const DAMAGED = Symbol('damaged compact index');
type TStoredCompactIndex = ICompactIndexDocument | typeof DAMAGED;

function readCompactIndex(bytes: Buffer): TStoredCompactIndex {
  try {
    return parseStoredJson<ICompactIndexDocument>(rubygemsPaths.compactIndex(), bytes);
  } catch {
    return DAMAGED;
  }
}

/** What a push, yank or owner change derives from the gem document it writes. */
interface IGemDerivations {
  /** `info.json`: the `/info` file with its MD5 and sha-256, as stored. */
  infoDocument: Buffer;
  compactEntry: ICompactIndexEntry;
  searchEntry: IGemSearchEntry | null;
}

/**
 * Each gem document's derivations, made once per document (a document is never changed in place): made while the
 * document itself is written (`prepareDerivations`), so the writes after the answer find them made; the compact
 * index entry needs the info file's MD5.
 */
const derivations = new WeakMap<IGemDocument, IGemDerivations>();

function derivationsOf(gem: IGemDocument): IGemDerivations {
  let made = derivations.get(gem);
  if (!made) {
    const info = compactInfoFile(gem);
    const md5 = md5Hex(info);
    const stored: IStoredInfo = { revision: gem.revision, info, md5, sha256: sha256Base64(Buffer.from(info, 'utf8')) };
    made = { infoDocument: Buffer.from(JSON.stringify(stored)), compactEntry: compactIndexEntry(gem, md5), searchEntry: searchEntry(gem) };
    derivations.set(gem, made);
  }
  return made;
}

/**
 * Called by a mutator with the gem document it returns: its derivations are made on the next turn, while storage
 * writes the document (a request in flight), not after the answer, where they would delay the next request.
 */
function prepareDerivations(gem: IGemDocument): void {
  void setImmediate().then(() => derivationsOf(gem));
}

/** Enters a gem in the compact index document: its entry, and a `/versions` line for the versions it serves anew. */
function enterGem(document: ICompactIndexDocument, name: string, gem: IGemDocument): void {
  const entry = derivationsOf(gem).compactEntry;
  const changes = servedVersionChanges(document.gems[name]?.versions ?? [], entry.versions);
  if (changes.length > 0) document.lines += compactVersionsLine(name, changes, entry.infoMd5);
  document.gems[name] = entry;
}

/**
 * A compact index file as served: ETag is the quoted MD5 of the body (what bundler compares) and
 * `Repr-Digest` its sha-256 (what bundler checks a file assembled from ranges against).
 */
export function compactIndexObject(bytes: Uint8Array, lastModified: Date | undefined, contentType = TEXT): IServedObject {
  return {
    size: bytes.length,
    etag: `"${md5Hex(bytes)}"`,
    lastModified,
    contentType,
    headers: { 'Repr-Digest': `sha-256=:${sha256Base64(bytes)}:` },
  };
}

/** Who pushes, yanks or changes owners. */
export interface IGemActor {
  userId: string;
}

/**
 * Gems in storage. `gems/{name}/gem.json` is the truth and changes only through DerivedDocuments
 * (a conditional read-modify-write); derived from it, written after it and repaired on read: the
 * gem's `/info` file, its entry in the shared compact index document (behind `/versions`, `/names`
 * and the Marshal specs files) and its search entry. A push stores the `.gem` first, then the
 * truth: an interrupted push never lists a version whose file is missing.
 *
 * All three are written after the change is answered. A read of `/info` checks it against gem.json's revision, a
 * search waits for the index updates under way, and a read of the compact index document (`/versions`, `/names`,
 * the specs files) waits for this instance's entry writes under way. Another instance sees the entry once the write
 * lands (a few ms after the answer), or, when it was lost (a crash after the answer), once its sweep of the gem
 * documents is due (`revalidateMs`). An entry written late never undoes a later change made meanwhile (a yank, an
 * unyank, a push through another instance): entries are ordered by gem.json's revision and an older one is dropped.
 */
export class RubyGemsStore {
  private readonly documents: DerivedDocuments<IGemDocument>;
  private readonly infoTarget: IStoredDerivedTarget<IGemDocument>;
  private readonly compactTarget: IDerivedTarget<IGemDocument>;
  private readonly search: SearchIndex<IGemSearchEntry>;
  private readonly sweep: TruthSweep;
  private readonly cache: DocumentCache;
  /**
   * Files rendered from the compact index document: one per what, with the etag of the document it was rendered
   * from, so a rendering of a changed document replaces the old one (and does not sit beside it until evicted).
   */
  private readonly rendered: BoundedCache<{ etag: string; object: IServedObject; bytes: Buffer }>;
  /** This instance's compact index entry writes under way, until each settles: a read of the document waits for them. */
  private readonly compactWrites = new WorkUnderWay();

  constructor(
    private readonly storage: RegistryStorage,
    private readonly logger: Logger,
    private readonly now: () => Date,
    revalidateMs: number,
    private readonly versionsCompactionBytes: number,
  ) {
    this.cache = new DocumentCache(storage, { maxEntries: 10_000 });
    this.rendered = new BoundedCache({ maxEntries: 16, budget: storage.cacheBudget, sizeOf: (file) => file.bytes.length });
    this.search = createGemSearchIndex(storage, logger, revalidateMs, async (name) => {
      const gem = await this.storage.getJson<IGemDocument>(rubygemsPaths.gem(name));
      return gem ? searchEntry(gem.value) : null;
    });
    this.infoTarget = derivedDocument<IGemDocument>(storage, {
      label: 'rubygems info file',
      afterAnswer: true,
      key: rubygemsPaths.info,
      render: (gem) => derivationsOf(gem).infoDocument,
      revisionOfBytes: jsonRevisionOf,
    });
    this.compactTarget = {
      label: 'rubygems compact index entry',
      afterAnswer: true,
      write: (name, gem, revision, ctx, force) => this.writeCompactEntry(name, gem, revision, ctx, force),
    };
    const searchTarget: IDerivedTarget<IGemDocument> = {
      label: 'rubygems search entry',
      afterAnswer: true,
      write: (name, gem, revision, ctx, force) => {
        // Made while gem.json was written (prepareDerivations); the index writes it after the answer.
        const entry = gem && derivationsOf(gem).searchEntry;
        return entry ? this.search.upsert(entry, ctx, force) : this.search.remove(name.toLowerCase(), ctx, revisionOrder(revision));
      },
    };
    this.documents = new DerivedDocuments<IGemDocument>(
      storage,
      jsonTruth<IGemDocument>(rubygemsPaths.gem, { growing: 'versions', neverDeleted: true }),
      [this.infoTarget, this.compactTarget, searchTarget],
      logger,
    );
    this.sweep = new TruthSweep(storage, {
      label: 'rubygems compact index',
      prefix: rubygemsPaths.gemsPrefix(),
      nameOf: rubygemsPaths.gemOf,
      check: (names) => this.repairCompactEntries(names),
      intervalMs: revalidateMs,
      logger,
    });
  }

  /** The gem's truth as stored now (null: no such gem). */
  async getGem(name: string): Promise<IGemDocument | null> {
    return (await this.cache.read<IGemDocument>(rubygemsPaths.gem(name)))?.value ?? null;
  }

  // ---- the compact index -------------------------------------------------------------------

  /** `/info/{name}`, repaired first when it was not derived from the current gem.json. */
  async infoSource(name: string, ctx: IStorageOperationContext): Promise<IObjectSource> {
    const key = this.documents.knownCurrent(name, this.infoTarget) ?? (await this.documents.ensureCurrent(name, this.infoTarget, ctx));
    return bufferedObjectSource(async () => {
      const stored = this.cache.known<ReturnType<typeof servedInfo>>(key) ?? (await this.cache.read(key, servedInfo));
      return stored && keptDocumentObject(stored, servedInfoObject);
    });
  }

  /**
   * The compact index document as stored now, after a sweep (when one is due) found and repaired
   * the entries of gems whose gem.json changed without them (a derived write that was lost).
   */
  async compactIndex(): Promise<{ document: ICompactIndexDocument; etag: string; lastModified?: Date }> {
    // This instance's entries first: a read right after a push or yank through it finds them, and a sweep does not
    // derive them a second time.
    if (!this.compactWrites.idle) await this.compactWrites.current();
    await this.sweep.ensureSwept();
    const read = () => this.cache.read<ICompactIndexDocument>(rubygemsPaths.compactIndex());
    const stored = await read().catch(async (error: unknown) => {
      if (!isRegistryError(error, 'corrupt')) throw error;
      // Never served as "no gems": made again from the truths first.
      await this.storage.updateDocument<TStoredCompactIndex>(
        rubygemsPaths.compactIndex(),
        { protocol: 'rubygems' },
        (current) => (current === DAMAGED ? this.deriveCompactIndex() : UNCHANGED),
        { parse: readCompactIndex, remember: false },
      );
      return read();
    });
    if (stored) return { document: stored.value, etag: stored.etag, lastModified: stored.lastModified };
    return { document: this.emptyCompactIndex(), etag: '' };
  }

  private emptyCompactIndex(): ICompactIndexDocument {
    return { v: 1, createdAt: compactCreatedAt(this.now()), gems: {}, lines: '' };
  }

  /**
   * What `renderedFromCompactIndex` would answer without waiting: the kept rendering of `what` when no write of this
   * instance is under way, no sweep is due and the document is known as stored now at the etag it was rendered
   * from; undefined when it must be asked.
   */
  renderedNow(what: string): { etag: string; object: IServedObject; bytes: Buffer } | undefined {
    if (!this.compactWrites.idle || this.sweep.due) return undefined;
    const stored = this.cache.known<ICompactIndexDocument>(rubygemsPaths.compactIndex());
    const cached = stored && this.rendered.get(what);
    return cached && cached.etag === stored.etag ? cached : undefined;
  }

  /** A file rendered from the compact index document, kept until the document changes. */
  async renderedFromCompactIndex(what: string, render: (document: ICompactIndexDocument) => Buffer, contentType?: string) {
    const { document, etag, lastModified } = await this.compactIndex();
    const cached = this.rendered.get(what);
    if (etag && cached?.etag === etag) return cached;
    const bytes = render(document);
    const object = compactIndexObject(bytes, lastModified, contentType);
    const result = { etag, object: etag ? keptServedObject(object) : object, bytes };
    if (etag) this.rendered.set(what, result);
    else this.rendered.delete(what);
    return result;
  }

  /**
   * The gem's entry in the compact index document: its served versions, and a `/versions` line for
   * what changed since the entry stored (an older revision never replaces a newer entry); kept among the writes
   * under way until it settles.
   */
  private writeCompactEntry(name: string, gem: IGemDocument | null, revision: string, ctx: IStorageOperationContext, force: boolean): Promise<void> {
    return this.compactWrites.track(this.updateCompactEntry(name, gem, revision, ctx, force));
  }

  private async updateCompactEntry(name: string, gem: IGemDocument | null, revision: string, ctx: IStorageOperationContext, force: boolean) {
    // After the answer: the entry's rendering, hashing and signing wait until the answer has gone out.
    await setImmediate();
    await this.storage.updateDocument<TStoredCompactIndex>(rubygemsPaths.compactIndex(), ctx, (current) => {
      // Derived whole from the truths, this gem's (written before this) among them.
      if (current === DAMAGED) return this.deriveCompactIndex();
      const document = current ?? this.emptyCompactIndex();
      const stored = document.gems[name];
      if (!force && stored && (stored.revision === revision || revisionOrder(stored.revision) > revisionOrder(revision))) return UNCHANGED;
      // Gems are never deleted (every version yanked is a gem with no served version).
      if (!gem) return UNCHANGED;
      enterGem(document, name, gem);
      this.compactWhenLong(document);
      // Entries of the other gems are the objects serialized for the write before: their JSON is kept, not made again.
      return new SerializedDocument(document, serializeGrowing(document, 'gems'));
    }, { parse: readCompactIndex });
  }

  /**
   * `/versions` is appended to, so pushes and yanks grow it even when the set of versions does not (yank and unyank
   * again and again: two lines each time). Once its lines pass `versionsCompactionBytes` and twice the one line per
   * gem that says the same, they are replaced by those, under a new `created_at`: a client holding the old file finds
   * its checksum differs and fetches the new one whole (bundler does).
   */
  private compactWhenLong(document: ICompactIndexDocument): void {
    if (document.lines.length <= this.versionsCompactionBytes) return;
    const compacted = compactedVersionsLines(document.gems);
    if (document.lines.length <= 2 * compacted.length) return;
    document.createdAt = compactCreatedAt(this.now());
    document.lines = compacted;
  }

  /**
   * The compact index document made again from every gem.json, after the stored one was found damaged: a new
   * `/versions` file (a new created_at, one line per gem), as a compaction makes; clients fetch it whole again.
   */
  private async deriveCompactIndex(): Promise<ICompactIndexDocument> {
    this.logger.warn('rubygems compact index cannot be read: deriving it again from every gem.json');
    const names: string[] = [];
    for await (const object of this.storage.listAll(rubygemsPaths.gemsPrefix())) {
      const name = rubygemsPaths.gemOf(object.key);
      if (name) names.push(name);
    }
    const gems = await mapLimited(names, SWEEP_READS, async (name) => (await this.storage.getJson<IGemDocument>(rubygemsPaths.gem(name)))?.value);
    const document = this.emptyCompactIndex();
    names.forEach((name, index) => gems[index] && (document.gems[name] = compactIndexEntry(gems[index], md5Hex(compactInfoFile(gems[index])))));
    document.lines = compactedVersionsLines(document.gems);
    return document;
  }

  /** A sweep's check: gems whose compact index entry is behind their gem.json are derived again. */
  private async repairCompactEntries(names: string[]) {
    const index = (await this.storage.getJson<ICompactIndexDocument>(rubygemsPaths.compactIndex()))?.value;
    await mapLimited(names, SWEEP_READS, async (name) => {
      const gem = (await this.storage.getJson<IGemDocument>(rubygemsPaths.gem(name)))?.value;
      if (!gem || index?.gems[name]?.revision === gem.revision) return;
      if (revisionOrder(index?.gems[name]?.revision) > revisionOrder(gem.revision)) return;
      if (!(await this.documents.rederive(name, { protocol: 'rubygems' }))) throw new Error(`deriving ${name} again failed`);
    });
  }

  // ---- .gem files --------------------------------------------------------------------------

  /** The stored `.gem` of a version (redirected to the object store when `downloads.redirect` is on). */
  gemSource(record: IGemVersionRecord, ctx: IStorageOperationContext): IObjectSource {
    return storedArtifactSource(this.storage, rubygemsPaths.gemFile(record.file), ctx, 'application/octet-stream');
  }

  // ---- push, yank, owners ------------------------------------------------------------------

  /**
   * Store a pushed `.gem` while it streams (core ingest: bounded, hashed once), reading its
   * `metadata.gz` on the way; `authorize` (scopes) and the owner and duplicate checks run before the
   * file becomes visible, so anything refused stores nothing. Then the truth, then what derives from it.
   */
  async push(
    body: Readable,
    maxBytes: number,
    actor: IGemActor,
    authorize: (spec: IGemSpec) => Promise<void>,
    ctx: IStorageOperationContext,
  ): Promise<IGemSpec> {
    const uploadId = crypto.randomUUID();
    const tap = new TarMemberTap({ format: 'tar', wanted: (member) => member === 'metadata.gz', limits: { maxMemberBytes: MAX_METADATA_BYTES, maxTarBytes: maxBytes } });
    pipeline(body, tap, () => undefined);
    let spec: IGemSpec | undefined;
    const upload = startIngest(this.storage, rubygemsPaths.gemFile(uploadId), tap, ctx, {
      maxBytes,
      verify: async () => {
        const metadata = (await tap.members).get('metadata.gz');
        if (!metadata) throw RegistryError.invalid('not a gem: no metadata.gz in the archive');
        const parsed = parseGemspecYaml((await gunzipBounded(metadata, MAX_METADATA_YAML_BYTES, 'metadata.gz')).toString('utf8'));
        spec = parsed;
        // The caller's scope first: `authorize` also names the gem for the audit event.
        await authorize(parsed);
        await this.storage.refuseEarly<IGemDocument>(rubygemsPaths.gem(parsed.name), (gem) => assertMayPush(gem, parsed, actor), () => this.getGem(parsed.name));
      },
    });
    // The truth is made while storage still commits the .gem, and shows only after it.
    const stored = await upload.verified;
    const pushed = spec!;
    const version = fullVersion(pushed.version, pushed.platform);
    const record: IGemVersionRecord = {
      spec: pushed,
      sha256: stored.digests.sha256,
      size: stored.size,
      createdAt: this.now().toISOString(),
      yanked: false,
      pushedBy: actor.userId,
      file: uploadId,
    };
    try {
      await this.documents.change(pushed.name, ctx, (current) => {
        if (current) assertMayPush(current, pushed, actor);
        return revised(
          current,
          current
            ? { ...current, versions: { ...current.versions, [version]: record } }
            : { v: 1, revision: '', name: pushed.name, owners: [actor.userId], versions: { [version]: record } },
        );
      }, upload.stored);
    } catch (error) {
      await upload.stored.catch(() => undefined);
      await this.removeUnlisted(pushed.name, uploadId, ctx);
      throw error;
    }
    return pushed;
  }

  /** Delete a stored `.gem` whose push failed, unless the truth lists it after all. */
  private async removeUnlisted(name: string, uploadId: string, ctx: IStorageOperationContext) {
    try {
      const gem = await this.storage.getJson<IGemDocument>(rubygemsPaths.gem(name));
      if (Object.values(gem?.value.versions ?? {}).some((record) => record.file === uploadId)) return;
      await this.storage.deleteObject(rubygemsPaths.gemFile(uploadId), ctx);
    } catch {
      // Left behind, it is never listed and costs only space.
    }
  }

  /** Yank (or unyank) one version (`1.0.0` or `1.0.0-x86_64-linux`); owners only. */
  async setYanked(name: string, version: string, yanked: boolean, actor: IGemActor, ctx: IStorageOperationContext): Promise<void> {
    await this.documents.change(name, ctx, (gem) => {
      const record = gem?.versions[version];
      if (!gem || !record) throw RegistryError.notFound(`This version could not be found: ${name}-${version}`);
      assertOwner(gem, actor);
      if (record.yanked === yanked) {
        throw new RegistryError('invalid', `The version ${version} ${yanked ? 'has already been yanked' : 'is not yanked'}`, { status: 422 });
      }
      return revised(gem, { ...gem, versions: { ...gem.versions, [version]: { ...record, yanked } } });
    });
  }

  /** Change a gem's owners (owners only); `change` returns the new list, or throws. */
  async updateOwners(name: string, actor: IGemActor, ctx: IStorageOperationContext, change: (owners: string[]) => string[]): Promise<void> {
    await this.documents.change(name, ctx, (gem) => {
      if (!gem) throw RegistryError.notFound(`This gem could not be found: ${name}`);
      assertOwner(gem, actor);
      const owners = change(gem.owners);
      if (owners.join('\n') === gem.owners.join('\n')) return UNCHANGED;
      return revised(gem, { ...gem, owners });
    });
  }

  // ---- search ------------------------------------------------------------------------------

  /** Gems found by name and description, each described by its gem.json as it is now. */
  async searchGems(query: string, size: number, from = 0): Promise<{ total: number; gems: IGemSummary[] }> {
    const { total, entries } = await this.search.search(query, size, from);
    const summaries = await Promise.all(entries.map(async (entry) => {
      const gem = await this.getGem(entry.name);
      return gem && gemSummary(gem);
    }));
    return { total, gems: summaries.filter((summary): summary is IGemSummary => summary !== null) };
  }
}

function searchEntry(gem: IGemDocument): IGemSearchEntry | null {
  const info = searchInfo(gem);
  return info === null ? null : { name: gem.name, info, rev: revisionOrder(gem.searchRevision ?? gem.revision) };
}

/** The description search finds a gem by; null when no version is served (then it is not found). */
const searchInfo = (gem: IGemDocument) => gemSummary(gem)?.info ?? null;

/**
 * `next.searchRevision`: kept from `current` while what search finds the gem by stays the same, so its search entry
 * is not written again for every version pushed; the new revision otherwise.
 */
/**
 * `next`, the change of `current` a mutator returns, with its revision, the revision of its search entry's last change,
 * and its derivations under way (`prepareDerivations`).
 */
function revised(current: IGemDocument | null, next: IGemDocument): IGemDocument {
  next.revision = nextRevision(current?.revision, crypto.randomUUID().slice(0, 8));
  const kept = current?.searchRevision !== undefined && searchInfo(current) === searchInfo(next);
  next.searchRevision = kept ? current.searchRevision : next.revision;
  prepareDerivations(next);
  return next;
}

function assertOwner(gem: IGemDocument, actor: IGemActor) {
  if (!gem.owners.includes(actor.userId)) throw RegistryError.denied(`You do not have permission to change ${gem.name}`);
}

/** Pushed by an owner, and a new version. */
function assertMayPush(gem: IGemDocument, spec: IGemSpec, actor: IGemActor) {
  if (!gem.owners.includes(actor.userId)) throw RegistryError.denied(`You do not have permission to push to ${gem.name}`);
  const version = fullVersion(spec.version, spec.platform);
  if (gem.versions[version]) throw RegistryError.conflict(`Repushing of gem versions is not allowed: ${spec.name}-${version} already exists`);
}

/** A stored info document as served: its bytes made once per stored version, not per request. */
function servedInfo(stored: Buffer): { bytes: Buffer; md5: string; sha256: string } {
  const info = JSON.parse(stored.toString('utf8')) as IStoredInfo;
  return { bytes: Buffer.from(info.info, 'utf8'), md5: info.md5, sha256: info.sha256 };
}

function servedInfoObject(stored: ICachedDocument<ReturnType<typeof servedInfo>>): IBufferedObject {
  const { bytes, md5, sha256 } = stored.value;
  const object: IServedObject = {
    size: bytes.length,
    etag: `"${md5}"`,
    lastModified: stored.lastModified,
    contentType: TEXT,
    headers: { 'Repr-Digest': `sha-256=:${sha256}:` },
  };
  return { object, bytes };
}
