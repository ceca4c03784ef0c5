import * as crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { DerivedDocuments, derivedDocument, jsonTruth, nextRevision, jsonRevisionOf, revisionOrder, type IDerivedTarget, type IStoredDerivedTarget } from '../core/classes.deriveddocuments.js';
import type { Logger } from '../core/classes.logger.js';
import { DELETE, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import { RegistryError, isPreconditionFailed } from '../core/classes.registryerror.js';
import type { SearchIndex } from '../core/classes.searchindex.js';
import { DocumentCache } from '../core/classes.documentcache.js';
import { mavenPaths } from '../core/storage.paths.js';
import { memoizeBounded } from '../core/helpers.memo.js';
import type { IPutDigests } from '../core/storage/interfaces.storage.js';
import { startIngest } from '../core/helpers.ingest.js';
import type { IObjectSource } from '../core/helpers.serve.js';
import { storedArtifactSource } from '../core/helpers.storedsource.js';
import { isSnapshotVersion } from './helpers.mavenversion.js';
import {
  conventionalPluginPrefix,
  formatLastUpdated,
  groupPathOf,
  parseFileName,
  pluginsOf,
  renderArtifactMetadata,
  renderGroupMetadata,
  splitChecksumName,
  toSearchEntry,
  type IGroupPlugin,
  type TChecksumAlgorithm,
} from './helpers.maven.js';
import type {
  IMavenArtifactDocument,
  IMavenArtifactMetadata,
  IMavenFileRecord,
  IMavenGroupDocument,
  IMavenGroupMetadata,
  IMavenMetadataFile,
  IMavenSearchEntry,
} from './interfaces.maven.js';

export interface IMavenCoordinates {
  groupId: string;
  artifactId: string;
  version: string;
  file: string;
}

export interface IMavenStoreOptions {
  snapshotsToKeep: number;
  allowRedeploy: boolean;
  now: () => Date;
}

/** What the POM of a deploy says about its artifact. */
export interface IPomFacts {
  packaging: string;
  name?: string;
}

export interface IPutFileOptions {
  maxBytes: number;
  /** Digests the client announced: the body must have them. */
  expect?: Partial<Record<TChecksumAlgorithm, string>>;
  /** Given with a POM. */
  pom?: IPomFacts;
}


const newRevision = (previous: string | undefined) => nextRevision(previous, crypto.randomUUID().slice(0, 8));

/** DerivedDocuments names an artifact by its directory `{group path}/{artifactId}`. */
const artifactName = (groupId: string, artifactId: string) => `${groupPathOf(groupId)}/${artifactId}`;
/** A group's plugins document, by groupId: every metadata GET checks it, and a key built once is hashed once. */
const groupPluginsKey = memoizeBounded((groupId: string) => mavenPaths.groupPlugins(groupPathOf(groupId)), 1000);
const splitArtifactName = (name: string): [groupPath: string, artifactId: string] => {
  const slash = name.lastIndexOf('/');
  return [name.slice(0, slash), name.slice(slash + 1)];
};

/**
 * The Maven repository's files and documents. A file is stored first (digests computed in the same
 * pass), then recorded in its artifact's truth document (`@artifact.json`) by a conditional
 * read-modify-write; core's DerivedDocuments then writes what follows from it — the artifact's
 * maven-metadata.xml documents, its search entry, its place in the group's plugins — and repairs
 * them on read when a write was lost. A group's plugins are a truth of their own (a client may set a
 * plugin's prefix) with the group's maven-metadata.xml derived from it.
 */
export class MavenStore {
  private readonly artifacts: DerivedDocuments<IMavenArtifactDocument>;
  private readonly groups: DerivedDocuments<IMavenGroupDocument>;
  private readonly artifactMetadataTarget: IStoredDerivedTarget<IMavenArtifactDocument>;
  private readonly groupMetadataTarget: IStoredDerivedTarget<IMavenGroupDocument>;
  private readonly documents: DocumentCache;

  constructor(
    private readonly storage: RegistryStorage,
    search: SearchIndex<IMavenSearchEntry>,
    logger: Logger,
    private readonly options: IMavenStoreOptions,
  ) {
    this.documents = new DocumentCache(storage, { maxEntries: 10_000 });
    this.artifactMetadataTarget = derivedDocument<IMavenArtifactDocument>(storage, {
      label: 'maven artifact metadata',
      afterAnswer: true,
      key: (name) => mavenPaths.artifactMetadata(...splitArtifactName(name)),
      render: (artifact) => Buffer.from(JSON.stringify(renderArtifactMetadata(artifact))),
      revisionOfBytes: jsonRevisionOf,
    });
    const searchTarget: IDerivedTarget<IMavenArtifactDocument> = {
      label: 'maven search entry',
      afterAnswer: true,
      write: async (name, artifact, revision, ctx, force) => {
        if (artifact) return search.upsert(toSearchEntry(artifact), ctx, force);
        const [groupPath, artifactId] = splitArtifactName(name);
        await search.remove(`${groupPath.split('/').join('.')}:${artifactId}`, ctx, force ? Number.MAX_SAFE_INTEGER : revisionOrder(revision));
      },
    };
    const pluginTarget: IDerivedTarget<IMavenArtifactDocument> = {
      label: 'maven group plugins',
      write: (name, artifact, revision, ctx, force) => this.reflectPlugin(name, artifact, revisionOrder(revision), ctx, force),
    };
    this.artifacts = new DerivedDocuments<IMavenArtifactDocument>(
      storage,
      jsonTruth((name) => mavenPaths.artifact(...splitArtifactName(name))),
      [this.artifactMetadataTarget, searchTarget, pluginTarget],
      logger,
    );
    this.groupMetadataTarget = derivedDocument<IMavenGroupDocument>(storage, {
      label: 'maven group metadata',
      afterAnswer: true,
      key: mavenPaths.groupMetadata,
      render: (group) => Buffer.from(JSON.stringify(renderGroupMetadata(group))),
      revisionOfBytes: jsonRevisionOf,
    });
    this.groups = new DerivedDocuments<IMavenGroupDocument>(storage, jsonTruth(mavenPaths.groupPlugins), [this.groupMetadataTarget], logger);
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** The artifact's truth as stored now (shared, read-only), or null. */
  async getArtifact(groupId: string, artifactId: string): Promise<IMavenArtifactDocument | null> {
    const document = await this.documents.read(mavenPaths.artifact(groupPathOf(groupId), artifactId));
    return (document?.value as IMavenArtifactDocument | undefined) ?? null;
  }

  /**
   * The artifact's truth read from storage now, not through the validation window: for a decision a write
   * depends on (another instance may have deployed the version a moment ago).
   */
  async readArtifactNow(groupId: string, artifactId: string): Promise<IMavenArtifactDocument | null> {
    return (await this.storage.getJson<IMavenArtifactDocument>(mavenPaths.artifact(groupPathOf(groupId), artifactId)))?.value ?? null;
  }

  /** The group's maven-plugins as stored now. */
  async getGroupPlugins(groupId: string): Promise<IGroupPlugin[]> {
    const document = await this.documents.read(mavenPaths.groupPlugins(groupPathOf(groupId)));
    return pluginsOf((document?.value as IMavenGroupDocument | undefined) ?? null);
  }

  /**
   * The artifact's maven-metadata.xml, or a SNAPSHOT version's (`version`), as derived from its
   * current truth: a missing or stale derivation is made again first.
   */
  async artifactMetadata(groupId: string, artifactId: string, version: string | undefined, ctx: IStorageOperationContext): Promise<IMavenMetadataFile | null> {
    const name = artifactName(groupId, artifactId);
    const key = this.artifacts.knownCurrent(name, this.artifactMetadataTarget) ?? (await this.artifacts.ensureCurrent(name, this.artifactMetadataTarget, ctx));
    const document = this.documents.known(key) ?? (await this.documents.read(key));
    const metadata = document?.value as IMavenArtifactMetadata | undefined;
    if (!metadata) return null;
    return (version === undefined ? metadata.artifact : metadata.snapshots[version]) ?? null;
  }

  /** What `groupMetadata` answers without a promise when the recent stat says the group has no plugins (most paths). */
  knownWithoutGroupMetadata(groupId: string): boolean {
    return this.storage.knownRecentStat(groupPluginsKey(groupId)) === null;
  }

  /**
   * The group's maven-metadata.xml (`<plugins>`), as derived from its current plugins. Most paths are
   * no group with plugins: one stat of the group document says so.
   */
  async groupMetadata(groupId: string, ctx: IStorageOperationContext): Promise<IMavenMetadataFile | null> {
    const groupPath = groupPathOf(groupId);
    const pluginsKey = groupPluginsKey(groupId);
    const known = this.storage.knownRecentStat(pluginsKey);
    if (!(known === undefined ? await this.storage.statRecent(pluginsKey) : known)) return null;
    const document = await this.documents.read(await this.groups.ensureCurrent(groupPath, this.groupMetadataTarget, ctx));
    return (document?.value as IMavenGroupMetadata | undefined)?.metadata ?? null;
  }

  /** A stored file's bytes, for small files (a POM); null when it is not stored. */
  async readFile(c: IMavenCoordinates): Promise<Buffer | null> {
    return (await this.storage.getBytes(mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, c.file)))?.bytes ?? null;
  }

  fileSource(c: IMavenCoordinates, ctx: IStorageOperationContext, contentType: string): IObjectSource {
    return storedArtifactSource(this.storage, mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, c.file), ctx, contentType);
  }

  // ---- deploy --------------------------------------------------------------------------------

  /**
   * Store one deployed file and record it. A release file that exists is refused (409) unless
   * redeploys are allowed; nothing is stored then, and a failed, oversized or mismatching upload
   * leaves nothing.
   */
  async putFile(c: IMavenCoordinates, body: Readable | Uint8Array, ctx: IStorageOperationContext, options: IPutFileOptions) {
    const key = mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, c.file);
    const immutable = !isSnapshotVersion(c.version) && !this.options.allowRedeploy;
    const refusal = (error: unknown) =>
      immutable && isPreconditionFailed(error)
        ? RegistryError.conflict(`${c.groupId}:${c.artifactId}:${c.version} already has ${c.file}; releases are immutable`)
        : error;
    // The artifact document is made while storage still commits the file, and shows only after it.
    const upload = startIngest(this.storage, key, body, ctx, {
      maxBytes: options.maxBytes,
      hashes: ['md5', 'sha1', 'sha512'],
      expect: options.expect,
      mismatch: (algorithm, expected, actual) => RegistryError.invalid(`${algorithm} mismatch for ${c.file}: the client announced ${expected}, the body has ${actual}`),
      condition: immutable ? { ifNoneMatch: '*' } : undefined,
    });
    let result: IPutDigests;
    try {
      result = await upload.verified;
    } catch (error) {
      throw refusal(error);
    }
    const { md5, sha1, sha256, sha512 } = result.digests;
    const record: IMavenFileRecord = { size: result.size, md5: md5!, sha1: sha1!, sha256, sha512: sha512! };
    let dropped: string[];
    try {
      dropped = await this.record(c, record, ctx, upload.stored, options.pom);
    } catch (error) {
      // The file itself was refused (a release file that exists: checked when it is committed): it is not ours to remove.
      const refused = await upload.stored.then(() => null, (failure: unknown) => ({ failure }));
      if (refused) throw refusal(refused.failure);
      // An unrecorded release file would refuse every retry with 409: take it away again.
      if (immutable) await this.storage.deleteObject(key, ctx).catch(() => undefined);
      throw error;
    }
    await this.storage.deleteObjects(dropped.map((file) => mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, file)), ctx);
  }

  /** Add a file to its artifact document; returns files of SNAPSHOT builds beyond the number kept. */
  private async record(c: IMavenCoordinates, file: IMavenFileRecord, ctx: IStorageOperationContext, stored: Promise<unknown>, pom?: IPomFacts): Promise<string[]> {
    const now = formatLastUpdated(this.options.now());
    const parsed = parseFileName(c.artifactId, c.version, c.file);
    let dropped: string[] = [];
    await this.artifacts.change(artifactName(c.groupId, c.artifactId), ctx, (current) => {
      const doc: IMavenArtifactDocument = current ?? { revision: '', groupId: c.groupId, artifactId: c.artifactId, versions: {}, lastUpdated: now };
      const version = doc.versions[c.version] ?? { files: {}, lastUpdated: now };
      version.files[c.file] = file;
      version.lastUpdated = now;
      dropped = [];
      if (parsed?.timestamp !== undefined && parsed.buildNumber !== undefined) {
        const builds = (version.snapshotBuilds ?? []).filter((b) => !(b.timestamp === parsed.timestamp && b.buildNumber === parsed.buildNumber));
        builds.push({ timestamp: parsed.timestamp, buildNumber: parsed.buildNumber, updated: now });
        builds.sort((a, b) => a.buildNumber - b.buildNumber || a.timestamp.localeCompare(b.timestamp));
        const removed = builds.splice(0, Math.max(0, builds.length - this.options.snapshotsToKeep));
        for (const old of removed) {
          for (const name of Object.keys(version.files)) {
            const info = parseFileName(c.artifactId, c.version, splitChecksumName(name)?.base ?? name);
            if (info?.timestamp === old.timestamp && info.buildNumber === old.buildNumber) {
              delete version.files[name];
              dropped.push(name);
            }
          }
        }
        version.snapshotBuilds = builds;
      }
      doc.versions[c.version] = version;
      doc.lastUpdated = now;
      if (pom) {
        doc.packaging = pom.packaging;
        if (pom.name) doc.name = pom.name;
      }
      doc.revision = newRevision(current?.revision);
      return doc;
    }, stored);
    return dropped;
  }

  // ---- group plugins -------------------------------------------------------------------------

  /**
   * Derived from an artifact's truth: a maven-plugin is in its group's plugins (under the
   * conventional prefix unless a client gave one), a deleted artifact is not. Only plugins and
   * deletions touch the group document.
   */
  private async reflectPlugin(name: string, artifact: IMavenArtifactDocument | null, order: number, ctx: IStorageOperationContext, force: boolean) {
    if (artifact && artifact.packaging !== 'maven-plugin') return;
    const [groupPath, artifactId] = splitArtifactName(name);
    await this.groups.change(groupPath, ctx, (current) => {
      const entry = current?.plugins[artifactId];
      if (!force && entry && entry.source > order) return UNCHANGED;
      if (!artifact) {
        if (!current || !entry) return UNCHANGED;
        const { [artifactId]: _removed, ...plugins } = current.plugins;
        return Object.keys(plugins).length === 0 ? DELETE : { revision: newRevision(current.revision), plugins };
      }
      if (entry && entry.name === artifact.name) return UNCHANGED;
      const plugin = { ...entry, prefix: entry?.prefix ?? conventionalPluginPrefix(artifactId), name: artifact.name, source: order };
      return { revision: newRevision(current?.revision), plugins: { ...current?.plugins, [artifactId]: plugin } };
    });
  }

  /** A client's group metadata names a deployed maven-plugin's prefix: it replaces the conventional one. */
  async setPluginPrefix(groupId: string, artifactId: string, prefix: string, ctx: IStorageOperationContext): Promise<void> {
    const artifact = await this.getArtifact(groupId, artifactId);
    if (artifact?.packaging !== 'maven-plugin') return;
    const source = revisionOrder(artifact.revision);
    await this.groups.change(groupPathOf(groupId), ctx, (current) => {
      const entry = current?.plugins[artifactId];
      if (entry?.prefix === prefix && entry.fromClient) return UNCHANGED;
      const plugin = { name: artifact.name, ...entry, source: Math.max(entry?.source ?? 0, source), prefix, fromClient: true };
      return { revision: newRevision(current?.revision), plugins: { ...current?.plugins, [artifactId]: plugin } };
    });
  }

  // ---- delete --------------------------------------------------------------------------------

  /** Delete one version (its entry, then its files), or the whole artifact when `version` is undefined. */
  async delete(groupId: string, artifactId: string, version: string | undefined, ctx: IStorageOperationContext): Promise<boolean> {
    const groupPath = groupPathOf(groupId);
    let found = false;
    await this.artifacts.change(artifactName(groupId, artifactId), ctx, (current) => {
      found = current !== null && (version === undefined || current.versions[version] !== undefined);
      if (!current || !found) return UNCHANGED;
      if (version === undefined) return DELETE;
      delete current.versions[version];
      if (Object.keys(current.versions).length === 0) return DELETE;
      current.lastUpdated = formatLastUpdated(this.options.now());
      current.revision = newRevision(current.revision);
      return current;
    });
    if (!found) return false;
    const prefix = version === undefined ? mavenPaths.artifactFilesPrefix(groupPath, artifactId) : mavenPaths.versionPrefix(groupPath, artifactId, version);
    const keys: string[] = [];
    for await (const object of this.storage.listAll(prefix)) keys.push(object.key);
    await this.storage.deleteObjects(keys, ctx);
    return true;
  }

  // ---- listing -------------------------------------------------------------------------------

  /**
   * The subdirectories of `directory` that hold artifacts, in order, at most `limit`: one listing
   * call per subdirectory, each starting after the whole tree of the one before (never a scan of
   * everything below).
   */
  async childDirectories(directory: string, limit: number): Promise<string[]> {
    const prefix = mavenPaths.artifactsPrefix(directory);
    const children: string[] = [];
    let startAfter: string | undefined;
    while (children.length < limit) {
      const [next] = (await this.storage.list(prefix, { startAfter, limit: 1 })).objects;
      if (!next) break;
      const rest = next.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) {
        // A document of this directory itself (`@artifact.json`, `@plugins.json` …).
        startAfter = next.key;
        continue;
      }
      const child = rest.slice(0, slash);
      children.push(child);
      // DEL sorts after every character a Maven path segment may hold: past the child's whole tree.
      startAfter = `${prefix}${child}/\x7f`;
    }
    return children;
  }
}
