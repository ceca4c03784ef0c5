import type { Readable } from 'node:stream';
import { DELETE, UNCHANGED, type IStorageOperationContext, type RegistryStorage } from '../core/classes.registrystorage.js';
import { RegistryError, isPreconditionFailed } from '../core/classes.registryerror.js';
import { mavenPaths } from '../core/storage.paths.js';
import type { IPutDigests } from '../core/storage/interfaces.storage.js';
import { ingestArtifact } from '../core/helpers.ingest.js';
import type { IObjectSource } from '../core/helpers.serve.js';
import { storedArtifactSource } from '../core/helpers.storedsource.js';
import { isSnapshotVersion } from './helpers.mavenversion.js';
import { conventionalPluginPrefix, formatLastUpdated, groupPathOf, parseFileName, type IGroupPlugin } from './helpers.maven.js';
import type { IMavenArtifactDocument, IMavenFileRecord } from './interfaces.maven.js';

export interface IMavenCoordinates {
  groupId: string;
  artifactId: string;
  version: string;
  file: string;
}

type TPluginMap = Record<string, { prefix: string; name?: string }>;

export interface IMavenStoreOptions {
  snapshotsToKeep: number;
  allowRedeploy: boolean;
  now: () => Date;
}

/**
 * The Maven repository's files and its artifact documents. A file is stored first (digests computed
 * in the same pass), then recorded in its artifact's document by the conditional read-modify-write;
 * the metadata documents are derived from that record on read.
 */
export class MavenStore {
  constructor(
    private readonly storage: RegistryStorage,
    private readonly options: IMavenStoreOptions,
  ) {}

  getArtifact(groupId: string, artifactId: string): Promise<IMavenArtifactDocument | null> {
    return this.storage.getJson<IMavenArtifactDocument>(mavenPaths.artifact(groupPathOf(groupId), artifactId)).then((doc) => doc?.value ?? null);
  }

  async getGroupPlugins(groupId: string): Promise<IGroupPlugin[]> {
    const stored = await this.storage.getJson<TPluginMap>(mavenPaths.groupPlugins(groupPathOf(groupId)));
    return Object.entries(stored?.value ?? {}).map(([artifactId, plugin]) => ({ artifactId, ...plugin }));
  }

  fileSource(c: IMavenCoordinates, ctx: IStorageOperationContext, contentType: string): IObjectSource {
    return storedArtifactSource(this.storage, mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, c.file), ctx, contentType);
  }

  /**
   * Store one deployed file and record it. A release file that exists is refused (409) unless
   * redeploys are allowed; nothing is stored then, and a failed or oversized upload leaves nothing.
   */
  async putFile(
    c: IMavenCoordinates,
    body: Readable | Uint8Array,
    ctx: IStorageOperationContext,
    maxBytes: number,
    pom?: { packaging: string; name?: string },
  ) {
    const key = mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, c.file);
    const immutable = !isSnapshotVersion(c.version) && !this.options.allowRedeploy;
    let result: IPutDigests;
    try {
      result = await ingestArtifact(this.storage, key, body, ctx, {
        maxBytes,
        hashes: ['md5', 'sha1', 'sha512'],
        condition: immutable ? { ifNoneMatch: '*' } : undefined,
      });
    } catch (error) {
      if (immutable && isPreconditionFailed(error)) {
        throw RegistryError.conflict(`${c.groupId}:${c.artifactId}:${c.version} already has ${c.file}; releases are immutable`);
      }
      throw error;
    }
    const { md5, sha1, sha256, sha512 } = result.digests;
    const record: IMavenFileRecord = { size: result.size, md5: md5!, sha1: sha1!, sha256, sha512: sha512! };
    let dropped: string[];
    try {
      dropped = await this.record(c, record, ctx, pom);
    } catch (error) {
      // An unrecorded release file would refuse every retry with 409: take it away again.
      if (immutable) await this.storage.deleteObject(key, ctx).catch(() => undefined);
      throw error;
    }
    if (pom?.packaging === 'maven-plugin') await this.addPlugin(c.groupId, c.artifactId, { prefix: conventionalPluginPrefix(c.artifactId), name: pom.name }, ctx, false);
    await this.storage.deleteObjects(dropped.map((file) => mavenPaths.file(groupPathOf(c.groupId), c.artifactId, c.version, file)), ctx);
  }

  /** Add a file to its artifact document; returns files of SNAPSHOT builds beyond the number kept. */
  private async record(c: IMavenCoordinates, file: IMavenFileRecord, ctx: IStorageOperationContext, pom?: { packaging: string; name?: string }) {
    const now = formatLastUpdated(this.options.now());
    const parsed = parseFileName(c.artifactId, c.version, c.file);
    let dropped: string[] = [];
    await this.storage.updateJson<IMavenArtifactDocument>(mavenPaths.artifact(groupPathOf(c.groupId), c.artifactId), ctx, (current) => {
      const doc: IMavenArtifactDocument = current ?? { groupId: c.groupId, artifactId: c.artifactId, versions: {}, lastUpdated: now };
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
            const info = parseFileName(c.artifactId, c.version, name.replace(/\.(md5|sha1|sha256|sha512)$/, ''));
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
      return doc;
    });
    return dropped;
  }

  /** Record a plugin prefix in the group's list; `override` lets a client's metadata replace the conventional one. */
  async addPlugin(groupId: string, artifactId: string, plugin: { prefix: string; name?: string }, ctx: IStorageOperationContext, override: boolean) {
    await this.storage.updateJson<TPluginMap>(mavenPaths.groupPlugins(groupPathOf(groupId)), ctx, (current) => {
      const plugins = current ?? {};
      if (plugins[artifactId] && !override) return UNCHANGED;
      plugins[artifactId] = { prefix: plugin.prefix, name: plugin.name ?? plugins[artifactId]?.name };
      return plugins;
    });
  }

  /** Delete one version (its files, then its entry), or the whole artifact when `version` is undefined. */
  async delete(groupId: string, artifactId: string, version: string | undefined, ctx: IStorageOperationContext): Promise<boolean> {
    const groupPath = groupPathOf(groupId);
    let found = false;
    await this.storage.updateJson<IMavenArtifactDocument>(mavenPaths.artifact(groupPath, artifactId), ctx, (current) => {
      found = current !== null && (version === undefined || current.versions[version] !== undefined);
      if (!current || !found) return UNCHANGED;
      if (version === undefined) return DELETE;
      delete current.versions[version];
      current.lastUpdated = formatLastUpdated(this.options.now());
      return Object.keys(current.versions).length === 0 ? DELETE : current;
    });
    if (!found) return false;
    const prefix = version === undefined ? mavenPaths.artifactFilesPrefix(groupPath, artifactId) : mavenPaths.versionPrefix(groupPath, artifactId, version);
    const keys: string[] = [];
    for await (const object of this.storage.listAll(prefix)) keys.push(object.key);
    await this.storage.deleteObjects(keys, ctx);
    if (!(await this.getArtifact(groupId, artifactId))) {
      await this.storage.updateJson<TPluginMap>(mavenPaths.groupPlugins(groupPath), ctx, (current) => {
        if (!current?.[artifactId]) return UNCHANGED;
        delete current[artifactId];
        return Object.keys(current).length === 0 ? DELETE : current;
      });
    }
    return true;
  }

  /** Directories `{group path}/{artifactId}` of the artifacts at and below a directory, at most `limit`. */
  async artifactDirectories(directory: string, limit: number): Promise<string[]> {
    const found: string[] = [];
    for await (const object of this.storage.listAll(mavenPaths.artifactsPrefix(directory))) {
      const artifactDirectory = mavenPaths.artifactDirectoryOf(object.key);
      if (artifactDirectory) found.push(artifactDirectory);
      if (found.length >= limit) break;
    }
    return found;
  }
}
