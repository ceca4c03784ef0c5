import { BoundedCache } from '../core/classes.boundedcache.js';
import { DocumentCache } from '../core/classes.documentcache.js';
import { RegistryError } from '../core/classes.registryerror.js';
import type { IStorageOperationContext, RegistryStorage } from '../core/classes.registrystorage.js';
import { mapLimited } from '../core/helpers.async.js';
import { ociPaths } from '../core/storage.paths.js';
import type { Logger } from '../core/classes.logger.js';
import { compareAscii, isValidName, parseDigest } from './helpers.oci.js';
import type { IManifestRecord, IOciDescriptor, IParsedDigest, ITagRecord } from './interfaces.oci.js';

/** A manifest as served: the exact bytes and how to label them. */
export interface IStoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  subject?: string;
}

/** Manifest records and tags kept parsed (one cache for both). */
const DOCUMENT_CACHE_ENTRIES = 12_000;
/** Repositories remembered as existing. */
const KNOWN_REPOSITORIES = 10_000;
/** Referrer and tag documents read at once when listing. */
const READ_CONCURRENCY = 16;

/**
 * Manifests, tags, referrers and the repository catalog. Documents read on every pull (manifest
 * records, tags) are kept parsed in the core document cache, validated by a recent stat as every
 * protocol's documents are: this instance's own writes are seen at once, another instance's within
 * `cache.validationWindowMs`, and concurrent pulls after the window share one stat.
 */
export class OciManifestStore {
  private readonly documents: DocumentCache;
  /** Repositories known to have a catalog entry (entries are never removed). */
  private readonly knownRepositories = new BoundedCache<true>({ maxEntries: KNOWN_REPOSITORIES });

  constructor(private readonly storage: RegistryStorage) {
    this.documents = new DocumentCache(storage, { maxEntries: DOCUMENT_CACHE_ENTRIES });
  }

  // ---- manifests -----------------------------------------------------------------------------

  async getManifest(name: string, digest: IParsedDigest): Promise<IStoredManifest | null> {
    const key = ociPaths.manifest(name, digest.algorithm, digest.hex);
    const document = this.documents.known<IStoredManifest>(key) ?? (await this.documents.read(key, storedManifestOf));
    return document ? document.value : null;
  }

  async hasManifest(name: string, digest: IParsedDigest): Promise<boolean> {
    return (await this.storage.stat(ociPaths.manifest(name, digest.algorithm, digest.hex))) !== null;
  }

  async putManifest(
    name: string,
    digest: IParsedDigest,
    mediaType: string,
    bytes: Buffer,
    subject: { digest: IParsedDigest; descriptor: IOciDescriptor } | undefined,
    ctx: IStorageOperationContext,
  ): Promise<void> {
    const record: IManifestRecord = {
      digest: digest.digest,
      mediaType,
      size: bytes.length,
      data: bytes.toString('base64'),
      ...(subject ? { subject: subject.digest.digest } : {}),
      createdAt: new Date().toISOString(),
    };
    if (subject) {
      // The referrer entry first: a manifest that is visible is always listed by its subject.
      const { digest: subjectDigest, descriptor } = subject;
      await this.storage.putJson(
        ociPaths.referrer(name, subjectDigest.algorithm, subjectDigest.hex, digest.algorithm, digest.hex),
        descriptor,
        ctx,
      );
    }
    await this.storage.putJson(ociPaths.manifest(name, digest.algorithm, digest.hex), record, ctx);
  }

  /** Removes the manifest, every tag pointing at it and its referrer entry. False when it did not exist. */
  async deleteManifest(name: string, digest: IParsedDigest, ctx: IStorageOperationContext): Promise<boolean> {
    const key = ociPaths.manifest(name, digest.algorithm, digest.hex);
    const document = await this.storage.getJson<IManifestRecord>(key);
    if (!document) return false;
    const tagged = await this.tagsPointingAt(name, digest.digest);
    await Promise.all(tagged.map((tag) => this.deleteTag(name, tag, ctx)));
    await this.storage.deleteObject(key, ctx);
    const subject = parseDigest(document.value.subject);
    if (subject) {
      await this.storage.deleteObject(ociPaths.referrer(name, subject.algorithm, subject.hex, digest.algorithm, digest.hex), ctx);
    }
    return true;
  }

  // ---- tags ----------------------------------------------------------------------------------

  /** The digest a tag points at (parsed once per version of the tag), or null: no tag, or not a digest. */
  async resolveTag(name: string, tag: string): Promise<IParsedDigest | null> {
    const key = ociPaths.tag(name, tag);
    const document = this.documents.known<IParsedDigest | null>(key) ?? (await this.documents.read(key, taggedDigestOf));
    return document ? document.value : null;
  }

  async setTag(name: string, tag: string, digest: string, ctx: IStorageOperationContext): Promise<void> {
    const key = ociPaths.tag(name, tag);
    const record: ITagRecord = { digest, updatedAt: new Date().toISOString() };
    await this.storage.putJson(key, record, ctx);
  }

  /** False when the tag did not exist. */
  async deleteTag(name: string, tag: string, ctx: IStorageOperationContext): Promise<boolean> {
    const key = ociPaths.tag(name, tag);
    if (!(await this.storage.stat(key))) return false;
    await this.storage.deleteObject(key, ctx);
    return true;
  }

  /** All tags of a repository in byte order (Go's sort.Strings, as the spec asks). */
  async listTags(name: string): Promise<string[]> {
    const prefix = ociPaths.tagsPrefix(name);
    const tags: string[] = [];
    for await (const info of this.storage.listAll(prefix)) {
      const tag = info.key.slice(prefix.length);
      if (tag && !tag.includes('/')) tags.push(tag);
    }
    return tags.sort(compareAscii);
  }

  /** Up to `limit` tags that sort after `after`, in byte order, read without listing the whole repository. */
  async listTagsPage(name: string, after: string | undefined, limit: number): Promise<string[]> {
    const prefix = ociPaths.tagsPrefix(name);
    const tagOf = (key: string) => key.slice(prefix.length);
    const page = await this.storage.listPage(prefix, { startAfter: after, limit, accept: (info) => !tagOf(info.key).includes('/') });
    return page.map((info) => tagOf(info.key));
  }

  private async tagsPointingAt(name: string, digest: string): Promise<string[]> {
    const tags = await this.listTags(name);
    // Straight from storage, not the cache: a delete must see tags another instance just moved.
    const targets = await mapLimited(tags, READ_CONCURRENCY, async (tag) => (await this.storage.getJson<ITagRecord>(ociPaths.tag(name, tag)))?.value.digest);
    return tags.filter((_, index) => targets[index] === digest);
  }

  // ---- referrers -----------------------------------------------------------------------------

  /** Descriptors of the repository's manifests whose subject is `subject`, ordered by digest. */
  async listReferrers(name: string, subject: IParsedDigest): Promise<IOciDescriptor[]> {
    const keys: string[] = [];
    for await (const info of this.storage.listAll(ociPaths.referrersPrefix(name, subject.algorithm, subject.hex))) keys.push(info.key);
    return this.readReferrers(keys);
  }

  /**
   * One page of referrers in digest order: those after the referrer digest `after` that pass `accept`, at
   * most `limit`; `more` tells whether another page follows. Reads only as many entries as the page needs.
   */
  async listReferrersPage(
    name: string,
    subject: IParsedDigest,
    options: { after?: IParsedDigest; limit: number; accept?: (descriptor: IOciDescriptor) => boolean },
  ): Promise<{ descriptors: IOciDescriptor[]; more: boolean }> {
    const prefix = ociPaths.referrersPrefix(name, subject.algorithm, subject.hex);
    const { after, accept } = options;
    const page = await this.storage.collectPage(prefix, {
      startAfter: after ? ociPaths.referrer(name, subject.algorithm, subject.hex, after.algorithm, after.hex).slice(prefix.length) : undefined,
      limit: options.limit,
      convert: async (objects) => {
        const descriptors = await this.readReferrers(objects.map((info) => info.key));
        return accept ? descriptors.filter(accept) : descriptors;
      },
    });
    return { descriptors: page.items, more: page.more };
  }

  private async readReferrers(keys: string[]): Promise<IOciDescriptor[]> {
    const documents = await mapLimited(keys, READ_CONCURRENCY, (key) =>
      this.storage.getJson<IOciDescriptor>(key).catch((error: unknown) => {
        if (error instanceof RegistryError) throw error;
        return null; // a malformed entry is skipped rather than failing the listing
      }),
    );
    return documents.filter((document): document is NonNullable<typeof document> => document !== null).map((document) => document.value);
  }

  // ---- catalog -------------------------------------------------------------------------------

  async repositoryExists(name: string): Promise<boolean> {
    if (this.knownRepositories.get(name)) return true;
    const exists = (await this.storage.stat(ociPaths.catalogEntry(name))) !== null;
    if (exists) this.knownRepositories.set(name, true);
    return exists;
  }

  /** Record that the repository exists (on its first blob or manifest). */
  async ensureRepository(name: string, ctx: IStorageOperationContext): Promise<void> {
    if (await this.repositoryExists(name)) return;
    // Created once; an entry someone else created is just as good.
    await this.storage.createJsonOnce(ociPaths.catalogEntry(name), { name, createdAt: new Date().toISOString() }, ctx);
    this.knownRepositories.set(name, true);
  }

  /** Every repository name in byte order. */
  async listRepositories(): Promise<string[]> {
    const names: string[] = [];
    for await (const info of this.storage.listAll(ociPaths.catalogPrefix())) names.push(ociPaths.catalogName(info.key));
    return names;
  }

  /**
   * One page of repository names in byte order: those after `after` that `visible` accepts, at most
   * `limit`; `more` tells whether another page follows. Reads only as many markers as the page needs.
   */
  async listRepositoriesPage(
    after: string | undefined,
    limit: number,
    visible: (names: string[]) => Promise<boolean[]>,
  ): Promise<{ names: string[]; more: boolean }> {
    const prefix = ociPaths.catalogPrefix();
    const page = await this.storage.collectPage(prefix, {
      startAfter: after === undefined ? undefined : ociPaths.catalogEntry(after).slice(prefix.length),
      limit,
      convert: async (objects) => {
        const names = objects.map((info) => ociPaths.catalogName(info.key));
        const shown = await visible(names);
        return names.map((name, index) => (shown[index] ? name : null));
      },
    });
    return { names: page.items, more: page.more };
  }

  /**
   * Move the repository markers of the old layout (`oci/catalog/{encoded name}`, which does not sort
   * as the names do) to `oci/names/`. Creating a marker once and deleting the old one are both safe to
   * repeat, so several instances starting at once do no harm. Returns how many moved.
   */
  async migrateCatalog(ctx: IStorageOperationContext, logger: Logger): Promise<number> {
    const legacy: string[] = [];
    for await (const info of this.storage.listAll(ociPaths.legacyCatalogPrefix())) legacy.push(info.key);
    let moved = 0;
    for (const key of legacy) {
      const name = ociPaths.legacyCatalogName(key);
      try {
        if (isValidName(name)) await this.ensureRepository(name, ctx);
        await this.storage.deleteObject(key, ctx);
        moved++;
      } catch (error) {
        logger.warn(`oci: could not move the catalog entry ${key} to the new layout`, error);
      }
    }
    return moved;
  }
}

/** A stored manifest record as served; anything else is a damaged document. */
function storedManifestOf(bytes: Buffer): IStoredManifest {
  const record = JSON.parse(bytes.toString('utf8')) as IManifestRecord | null;
  if (typeof record?.data !== 'string' || typeof record.digest !== 'string') throw new Error('not a manifest record');
  return {
    digest: record.digest,
    mediaType: record.mediaType,
    bytes: Buffer.from(record.data, 'base64'),
    ...(record.subject ? { subject: record.subject } : {}),
  };
}

/** The digest a stored tag record points at (null: not a digest we can use); no digest string is a damaged document. */
function taggedDigestOf(bytes: Buffer): IParsedDigest | null {
  const record = JSON.parse(bytes.toString('utf8')) as ITagRecord | null;
  if (typeof record?.digest !== 'string') throw new Error('not a tag record');
  return parseDigest(record.digest);
}
