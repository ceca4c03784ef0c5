import { PeriodicTask } from '../core/classes.periodictask.js';
import { isPreconditionFailed } from '../core/classes.registryerror.js';
import type { IStorageOperationContext, RegistryStorage } from '../core/classes.registrystorage.js';
import type { Logger } from '../core/classes.logger.js';
import type { RegistryEvents } from '../core/classes.registryevents.js';
import { mapLimited } from '../core/helpers.async.js';
import { parseDuration } from '../core/helpers.duration.js';
import { ociPaths } from '../core/storage.paths.js';
import type { IObjectInfo } from '../core/storage/interfaces.storage.js';
import type { OciBlobStore } from './classes.ociblobstore.js';
import { UPLOAD_SESSION_MAX_AGE_MS, type OciUploads } from './classes.ociuploads.js';
import { parseDigest, parseManifest } from './helpers.oci.js';
import { resolveRetentionRules, retentionPolicyFor, tagsBeyondRetention, type IRetentionPolicy } from './helpers.ociretention.js';
import type { IBlobRecord, IManifestRecord, IOciGarbageCollectionReport, IOciOptions, ITagRecord } from './interfaces.oci.js';

const DEFAULT_GRACE_PERIOD_MS = 60 * 60 * 1000;
/** Documents read, and objects deleted, at once. */
const CONCURRENCY = 16;
const CONTEXT: IStorageOperationContext = { protocol: 'oci' };

export interface IGarbageCollectionSettings {
  gracePeriodMs: number;
  uploadMaxAgeMs: number;
  intervalMs?: number;
  retention: IRetentionPolicy[];
}

/** What one repository holds, from one listing. */
interface IRepositoryListing {
  name: string;
  tags: Map<string, IObjectInfo>;
  manifests: Map<string, IObjectInfo>;
  links: Map<string, IObjectInfo>;
}

/** A manifest as the collector needs it: what it references. */
interface IManifestFacts {
  digest: string;
  etag: string;
  size: number;
  subject?: string;
  /** Child manifests (indexes) and blobs (config, layers, and index entries that are blobs). */
  references: string[];
  lastModified: number;
}

type TDeleteOutcome = 'deleted' | 'gone' | 'kept';

/**
 * Online mark and sweep for OCI storage, run by any number of instances while pushes and pulls go on.
 *
 * Mark: one listing of `oci/repositories/` gives every tag, manifest and blob link with its etag and
 * lastModified; tags and manifests are read to learn what each manifest references. Retention rules pick
 * the tags to remove; the manifests still reachable (from kept tags, from kept indexes, as referrers of
 * kept subjects, or too young to judge) are kept, with every blob they reference.
 * Sweep, in the order that keeps references valid: tags, then manifests, then each repository's links,
 * then the global blob records (and their data) no surviving link names, then abandoned upload sessions.
 *
 * Why it never deletes what a push is about to reference: nothing younger than the grace period is
 * deleted, and every delete is conditional on the etag the mark phase saw. A push holds each object it
 * relies on before writing what depends on it (OciReferenceGuard): an object older than half the grace
 * period is rewritten, which changes its etag, so a delete planned before the hold fails; a delete that
 * lands before the hold makes the hold fail, and the push answers as if the object were never there.
 * Step by step for a push: blob upload — a new record and link are young; reusing an existing record
 * holds it first. HEAD of a blob — holds the link. Mount — holds the source's record. Manifest PUT —
 * holds every layer link and child manifest, writes the manifest, and checks again when the write came
 * later than half the grace period.
 */
export class OciGarbageCollector {
  private readonly schedule?: PeriodicTask;

  constructor(
    private readonly deps: {
      storage: RegistryStorage;
      blobs: OciBlobStore;
      uploads: OciUploads;
      logger: Logger;
      events: RegistryEvents;
      config: IGarbageCollectionSettings;
    },
  ) {
    const { intervalMs } = deps.config;
    if (intervalMs !== undefined) this.schedule = new PeriodicTask(() => this.collectOnSchedule(), intervalMs);
  }

  /** The `oci` configuration's garbage collection and retention settings, checked. */
  static resolveConfig(options: IOciOptions): IGarbageCollectionSettings {
    const gc = options.garbageCollection ?? {};
    const intervalMs = gc.interval === undefined ? undefined : parseDuration(gc.interval, 'oci.garbageCollection.interval');
    if (intervalMs === 0) throw new Error('oci.garbageCollection.interval must be longer than 0');
    return {
      gracePeriodMs: gc.gracePeriod === undefined ? DEFAULT_GRACE_PERIOD_MS : parseDuration(gc.gracePeriod, 'oci.garbageCollection.gracePeriod'),
      uploadMaxAgeMs: gc.uploadMaxAge === undefined ? UPLOAD_SESSION_MAX_AGE_MS : parseDuration(gc.uploadMaxAge, 'oci.garbageCollection.uploadMaxAge'),
      ...(intervalMs !== undefined ? { intervalMs } : {}),
      retention: resolveRetentionRules(options.retention),
    };
  }

  startSchedule(): void {
    this.schedule?.start();
  }

  stopSchedule(): Promise<void> {
    return this.schedule?.stop() ?? Promise.resolve();
  }

  private async collectOnSchedule(): Promise<void> {
    try {
      await this.collect({});
    } catch (error) {
      this.deps.logger.warn('oci: garbage collection failed', error);
    }
  }

  /** A collection; unless it is a dry run, audited: a `delete` event per tag and manifest it removed, and a `gc` event. */
  async collect(options: { dryRun?: boolean }): Promise<IOciGarbageCollectionReport> {
    const dryRun = options.dryRun === true;
    if (dryRun) return this.run(true);
    let report: IOciGarbageCollectionReport;
    try {
      report = await this.run(false);
    } catch (error) {
      this.deps.events.emit({ protocol: 'oci', action: 'gc', resource: null, actor: null, result: 'failure' });
      throw error;
    }
    for (const tag of report.tags) this.deps.events.emit({ protocol: 'oci', action: 'delete', resource: tag.repository, version: tag.tag, actor: null, result: 'success' });
    for (const manifest of report.manifests) {
      this.deps.events.emit({ protocol: 'oci', action: 'delete', resource: manifest.repository, version: manifest.digest, actor: null, result: 'success' });
    }
    this.deps.events.emit({ protocol: 'oci', action: 'gc', resource: null, actor: null, result: 'success' });
    return report;
  }

  private async run(dryRun: boolean): Promise<IOciGarbageCollectionReport> {
    const startedAt = Date.now();
    const report: IOciGarbageCollectionReport = {
      dryRun,
      startedAt: new Date(startedAt).toISOString(),
      durationMs: 0,
      tags: [],
      manifests: [],
      links: [],
      blobs: [],
      uploads: [],
      parts: [],
      bytesReclaimed: 0,
    };
    // Before the records are listed (collectOrphanParts says why).
    const partKeys = await this.listPartKeys();
    const sessions = await this.listSessionIds();
    const repositories = await this.listRepositories();
    const linked = new Set<string>();
    for (const repository of repositories) {
      for (const digest of await this.collectRepository(repository, startedAt, dryRun, report)) linked.add(digest);
    }
    const named = await this.collectBlobs(linked, startedAt, dryRun, report);
    await this.collectOrphanParts(partKeys, sessions, named, startedAt, dryRun, report);
    for (const session of await this.deps.uploads.removeAbandoned(this.deps.config.uploadMaxAgeMs, CONTEXT, { dryRun })) {
      report.uploads.push({ uuid: session.uuid, repository: session.name, size: session.size });
      report.bytesReclaimed += session.size;
    }
    report.durationMs = Date.now() - startedAt;
    this.deps.logger.info(
      `oci: garbage collection${dryRun ? ' (dry run)' : ''}: ${report.tags.length} tag(s), ${report.manifests.length} manifest(s), ` +
        `${report.links.length} link(s), ${report.blobs.length} blob(s), ${report.uploads.length} upload(s), ${report.parts.length} orphan part(s), ` +
        `${report.bytesReclaimed} bytes in ${report.durationMs} ms`,
    );
    return report;
  }

  // ---- mark ------------------------------------------------------------------------------------

  private async listRepositories(): Promise<IRepositoryListing[]> {
    const repositories = new Map<string, IRepositoryListing>();
    for await (const info of this.deps.storage.listAll(ociPaths.repositoriesPrefix())) {
      const entry = ociPaths.repositoryEntry(info.key);
      if (!entry || entry.kind === 'referrer') continue;
      let repository = repositories.get(entry.name);
      if (!repository) {
        repository = { name: entry.name, tags: new Map(), manifests: new Map(), links: new Map() };
        repositories.set(entry.name, repository);
      }
      if (entry.kind === 'tag') repository.tags.set(entry.tag!, info);
      else if (entry.kind === 'manifest') repository.manifests.set(entry.digest!, info);
      else repository.links.set(entry.digest!, info);
    }
    return [...repositories.values()];
  }

  /** A stored manifest's references; null when it is gone, undefined when it cannot be understood (then kept). */
  private async readManifest(info: IObjectInfo): Promise<IManifestFacts | null | undefined> {
    const document = await this.deps.storage.getJson<IManifestRecord>(info.key);
    if (!document) return null;
    try {
      const record = document.value;
      const parsed = parseManifest(Buffer.from(record.data, 'base64'), record.mediaType);
      const references = [...(parsed.config ? [parsed.config] : []), ...parsed.layers, ...parsed.manifests].map((descriptor) => descriptor.digest);
      return {
        digest: record.digest,
        etag: document.etag,
        size: record.size,
        ...(record.subject ? { subject: record.subject } : {}),
        references,
        lastModified: info.lastModified.getTime(),
      };
    } catch (error) {
      this.deps.logger.warn(`oci: garbage collection keeps ${info.key}, which it cannot read`, error);
      return undefined;
    }
  }

  /** Sweep one repository; returns the blob digests it still links. */
  private async collectRepository(repository: IRepositoryListing, now: number, dryRun: boolean, report: IOciGarbageCollectionReport): Promise<string[]> {
    const { gracePeriodMs } = this.deps.config;
    const policy = retentionPolicyFor(this.deps.config.retention, repository.name);
    const { name } = repository;

    // Tags: the retention policy's, never one younger than the grace period.
    const tagEntries = [...repository.tags.entries()];
    const tagDocuments = await mapLimited(tagEntries, CONCURRENCY, ([, info]) => this.deps.storage.getJson<ITagRecord>(info.key));
    const tags = tagEntries.flatMap(([tag, info], index) => {
      const document = tagDocuments[index];
      return document ? [{ tag, info, etag: document.etag, digest: document.value.digest, updatedAt: document.value.updatedAt }] : [];
    });
    const beyond = new Set(policy ? tagsBeyondRetention(policy, tags) : []);
    const rootDigests = new Set<string>();
    const untaggedNow = new Set<string>();
    for (const tag of tags) {
      const removable = beyond.has(tag.tag) && now - tag.info.lastModified.getTime() >= gracePeriodMs;
      if (!removable) {
        rootDigests.add(tag.digest);
        continue;
      }
      const outcome = await this.deleteIf(ociPaths.tag(name, tag.tag), tag.etag, dryRun);
      if (outcome === 'deleted') {
        report.tags.push({ repository: name, tag: tag.tag, digest: tag.digest });
        untaggedNow.add(tag.digest);
      } else if (outcome === 'kept') {
        // Moved by a push meanwhile: whatever it points at now is kept.
        const moved = await this.deps.storage.getJson<ITagRecord>(ociPaths.tag(name, tag.tag));
        if (moved) rootDigests.add(moved.value.digest);
      }
    }

    // Manifests: keep what is reachable from kept tags, kept indexes and kept subjects, or too young to judge.
    const listedManifests = [...repository.manifests.entries()];
    const read = await mapLimited(listedManifests, CONCURRENCY, ([, info]) => this.readManifest(info));
    const manifests = new Map<string, IManifestFacts>();
    let understood = true;
    read.forEach((facts, index) => {
      if (facts === undefined) {
        understood = false;
        rootDigests.add(listedManifests[index]![0]);
      } else if (facts) manifests.set(facts.digest, facts);
    });
    const deletable = (facts: IManifestFacts) => {
      const age = now - facts.lastModified;
      if (age < gracePeriodMs) return false;
      const untaggedFor = policy?.deleteUntaggedAfterMs;
      return (untaggedFor !== undefined && age >= untaggedFor) || untaggedNow.has(facts.digest);
    };
    const kept = new Set<string>([...rootDigests].filter((digest) => manifests.has(digest)));
    for (const facts of manifests.values()) if (!deletable(facts)) kept.add(facts.digest);
    const referrers = new Map<string, string[]>();
    for (const facts of manifests.values()) if (facts.subject) referrers.set(facts.subject, [...(referrers.get(facts.subject) ?? []), facts.digest]);
    const queue = [...kept];
    while (queue.length > 0) {
      const digest = queue.pop()!;
      for (const next of [...manifests.get(digest)!.references, ...(referrers.get(digest) ?? [])]) {
        if (manifests.has(next) && !kept.has(next)) {
          kept.add(next);
          queue.push(next);
        }
      }
    }
    const unreachable = [...manifests.values()].filter((facts) => !kept.has(facts.digest));
    await mapLimited(unreachable, CONCURRENCY, async (facts) => {
      const digest = parseDigest(facts.digest)!;
      const outcome = await this.deleteIf(ociPaths.manifest(name, digest.algorithm, digest.hex), facts.etag, dryRun);
      if (outcome === 'kept') kept.add(facts.digest);
      if (outcome !== 'deleted') return;
      report.manifests.push({ repository: name, digest: facts.digest, size: facts.size });
      report.bytesReclaimed += facts.size;
      const subject = parseDigest(facts.subject);
      if (subject && !dryRun) {
        await this.deps.storage.deleteObject(ociPaths.referrer(name, subject.algorithm, subject.hex, digest.algorithm, digest.hex), CONTEXT);
      }
    });

    // Links: those no kept manifest references, once older than the grace period. A manifest that could
    // not be read might reference any of them: then every link stays.
    const referenced = new Set<string>(rootDigests);
    for (const digest of kept) for (const reference of manifests.get(digest)!.references) referenced.add(reference);
    const surviving: string[] = [];
    await mapLimited([...repository.links.entries()], CONCURRENCY, async ([digest, info]) => {
      if (!understood || referenced.has(digest) || now - info.lastModified.getTime() < gracePeriodMs) {
        surviving.push(digest);
        return;
      }
      const parsed = parseDigest(digest);
      if (!parsed) return;
      const outcome = await this.deleteIf(ociPaths.layerLink(name, parsed.algorithm, parsed.hex), info.etag, dryRun);
      if (outcome === 'deleted') report.links.push({ repository: name, digest });
      else if (outcome === 'kept') surviving.push(digest);
    });
    return surviving;
  }

  // ---- sweep -----------------------------------------------------------------------------------

  /**
   * Blob records no repository links, older than the grace period, with their data. Every record is read
   * (from this instance's cache when it saw that version before) to learn the data parts it names: returned.
   */
  private async collectBlobs(linked: Set<string>, now: number, dryRun: boolean, report: IOciGarbageCollectionReport): Promise<Set<string>> {
    const listed: { info: IObjectInfo; digest: string }[] = [];
    for await (const info of this.deps.storage.listAll(ociPaths.blobRecordsPrefix())) {
      const digest = ociPaths.blobRecordDigest(info.key);
      if (digest) listed.push({ info, digest });
    }
    const named = new Set<string>();
    await mapLimited(listed, CONCURRENCY, async ({ info, digest }) => {
      const record = await this.deps.blobs.listedRecord(info, digest);
      if (!record) return;
      // Named, deleted or not: a deleted record's parts go below, with it.
      for (const part of record.parts) named.add(part.key);
      if (linked.has(digest) || now - info.lastModified.getTime() < this.deps.config.gracePeriodMs) return;
      // The listed etag: a record held since the listing has another one, and stays.
      if ((await this.deleteIf(info.key, info.etag, dryRun)) !== 'deleted') return;
      if (!dryRun) {
        this.deps.blobs.forgetRecord(record.digest);
        await this.deps.blobs.deleteParts(record.parts, CONTEXT);
      }
      report.blobs.push({ digest: record.digest, size: record.size });
      report.bytesReclaimed += record.size;
    });
    return named;
  }

  private async listPartKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.deps.storage.listKeys(ociPaths.allBlobDataPrefix())) if (ociPaths.blobDataUpload(key)) keys.push(key);
    return keys;
  }

  private async listSessionIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const info of this.deps.storage.listAll(ociPaths.uploadsPrefix())) {
      const id = ociPaths.uploadId(info.key);
      if (id) ids.add(id);
    }
    return ids;
  }

  /**
   * Data parts older than the grace period that no upload session and no blob record names: what a process
   * left that died between storing a part and writing its record (or its session's part list). Safe because
   * the parts were listed first, then the sessions, then the records. A record naming a part is written
   * either by a completion, whose session exists from before the part was written until after the record
   * is (so the session was listed, or the record was), or by a whole-blob upload right after its part, which
   * is young then (OciBlobStore.confirmPartKept covers a part dated older than it is). Parts are never
   * rewritten, so the deletes need no condition, and the age of a part stat-ed now is the age it had when
   * listed: only the few parts nothing names are stat-ed (a stat per part doubled a collection on the
   * filesystem). Sessions and the parts they name are uploadMaxAge's.
   */
  private async collectOrphanParts(
    partKeys: string[],
    sessions: Set<string>,
    named: Set<string>,
    now: number,
    dryRun: boolean,
    report: IOciGarbageCollectionReport,
  ): Promise<void> {
    const unnamed = partKeys.filter((key) => !named.has(key) && !sessions.has(ociPaths.blobDataUpload(key)!));
    const found = await mapLimited(unnamed, CONCURRENCY, (key) => this.deps.storage.stat(key));
    const orphans = found.filter((info): info is IObjectInfo => info !== null && now - info.lastModified.getTime() >= this.deps.config.gracePeriodMs);
    if (orphans.length === 0) return;
    if (!dryRun) await this.deps.storage.deleteObjects(orphans.map((info) => info.key), CONTEXT);
    for (const info of orphans) {
      report.parts.push({ key: info.key, size: info.size });
      report.bytesReclaimed += info.size;
    }
  }

  /** Delete `key` only if it still has `etag`: 'kept' when it changed, 'gone' when someone else deleted it. */
  private async deleteIf(key: string, etag: string, dryRun: boolean): Promise<TDeleteOutcome> {
    if (dryRun) return 'deleted';
    try {
      await this.deps.storage.deleteObject(key, CONTEXT, { ifMatch: etag });
      return 'deleted';
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      return (await this.deps.storage.stat(key)) ? 'kept' : 'gone';
    }
  }
}
