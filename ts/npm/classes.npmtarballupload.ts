import { RegistryError, isPreconditionFailed } from '../core/classes.registryerror.js';
import type { IStorageOperationContext, RegistryStorage } from '../core/classes.registrystorage.js';
import { pushIngest } from '../core/helpers.ingest.js';
import { npmPaths } from '../core/storage.paths.js';
import type { IPutDigests, THashAlgorithm, TPutCondition } from '../core/storage/interfaces.storage.js';
import type { IAttachmentTarget } from './classes.npmpublishparser.js';
import { isPlainObject } from '../core/helpers.json.js';
import { attachmentVersion, checkDeclaredDigests, integrityAlgorithms, tarballFileName } from './helpers.npm.js';
import type { INpmPackument } from './interfaces.npm.js';

/** A tarball a publish stored, with the digests its manifest is checked against. */
export interface IStoredTarball {
  key: string;
  size: number;
  digests: IPutDigests['digests'];
}

/** A tarball left by a publish that never reached the packument is taken over after this long. */
const ORPHAN_TARBALL_MS = 60_000;

export const cannotPublishOver = (version: string) =>
  RegistryError.denied(`You cannot publish over the previously published versions: ${version}.`);

/** `.sigstore` provenance bundles arrive as attachments too; they are read and not kept. */
const DROPPED: IAttachmentTarget = { write: async () => undefined, end: async () => undefined, abort: () => undefined };

/**
 * The tarballs of one publish, streamed into storage while its body is read (NpmPublishParser):
 * each attachment goes straight to its tarball key, hashed in the same pass (sha1 for `shasum`,
 * sha512 and whatever `integrity` names) and checked against its version's `dist` before it becomes
 * visible when the manifest came first in the body (as npm sends it); otherwise the publish checks
 * the digests once the whole document is read. An attachment ends once its bytes passed those checks,
 * while storage still commits it: the packument is made meanwhile and waits for `allStored`.
 */
export class NpmTarballUpload {
  private readonly created: string[] = [];
  private readonly stored = new Map<string, IStoredTarball>();
  private readonly opened = new Set<string>();
  /** Each attachment's commit, with the publish's error when it was refused. */
  private readonly commits: Promise<void>[] = [];

  constructor(
    private readonly storage: RegistryStorage,
    private readonly name: string,
    private readonly ctx: IStorageOperationContext,
    /** For each tarball. */
    private readonly maxBytes: number,
  ) {}

  /** Every tarball committed: the prerequisite of the packument that lists them (rejects with the first refusal). */
  allStored(): Promise<unknown> {
    return Promise.all(this.commits);
  }

  /** What a failed publish must remove, once every commit has settled (a delete before one would miss it). */
  async createdKeys(): Promise<readonly string[]> {
    await Promise.allSettled(this.commits);
    return this.created;
  }

  /** The tarball of `version` (its bytes checked, perhaps not yet committed), if the body carried one. */
  tarballOf(version: string): IStoredTarball | undefined {
    return this.stored.get(version);
  }

  /** Where the bytes of attachment `file` go; `documentSoFar` is the document as read up to it. */
  async open(file: string, documentSoFar: Record<string, unknown>): Promise<IAttachmentTarget> {
    if (file.endsWith('.sigstore')) return DROPPED;
    const versions = isPlainObject(documentSoFar.versions) ? documentSoFar.versions : undefined;
    const version = attachmentVersion(this.name, file, versions);
    if (this.opened.has(version)) throw RegistryError.invalid(`two attachments for version ${version}`);
    this.opened.add(version);
    const manifest = versions?.[version];
    const dist = isPlainObject(manifest) && isPlainObject(manifest.dist) ? manifest.dist : undefined;
    const key = npmPaths.tarball(this.name, tarballFileName(this.name, version));
    // Without the manifest yet, every algorithm an integrity string may name, to check it afterwards.
    const hashes: THashAlgorithm[] = dist ? ['sha1', 'sha512', ...integrityAlgorithms(dist.integrity)] : ['sha1', 'sha384', 'sha512'];
    const ingest = pushIngest(this.storage, key, { ...this.ctx, metadata: { ...this.ctx.metadata, packageName: this.name, version, contentType: 'application/octet-stream' } }, {
      maxBytes: this.maxBytes,
      hashes,
      // Created without asking first: a stored tarball (a published version, a left-over) is looked at only when found.
      condition: { ifNoneMatch: '*' },
      onExisting: () => this.claim(version, key),
      verify: (result) => {
        if (result.size === 0) throw RegistryError.invalid(`attachment ${tarballFileName(this.name, version)} is empty`);
        const problem = dist ? checkDeclaredDigests(dist, result.digests) : null;
        if (problem) throw RegistryError.invalid(`${this.name}@${version}: ${problem}`);
      },
    });
    const committed = ingest.stored.then(
      () => {
        this.created.push(key);
      },
      async (error: unknown) => {
        if (!isPreconditionFailed(error)) throw error;
        throw await this.takenMeanwhile(version);
      },
    );
    // Reported by `end` or `allStored`; a publish refused before either is awaited only waits for it to settle.
    committed.catch(() => undefined);
    this.commits.push(committed);
    return {
      write: (bytes) => ingest.write(bytes),
      end: async () => {
        ingest.end();
        // `verified` rejects only with the commit's own failure: the publish's error for it is `committed`'s.
        const result = await ingest.verified.catch(async (error: unknown) => {
          await committed;
          throw error;
        });
        this.stored.set(version, { key, size: result.size, digests: result.digests });
      },
      abort: (error) => ingest.abort(error),
    };
  }

  /**
   * When a version's tarball key is taken: the condition to store it under after all. Its key was freed
   * meanwhile, or holds what a publish that never reached the packument left (taken over once old enough; a
   * younger one may be a publish still in flight). A published version is refused; nothing becomes visible.
   */
  private async claim(version: string, key: string): Promise<TPutCondition> {
    const info = await this.storage.stat(key);
    if (!info) return { ifNoneMatch: '*' };
    const current = await this.storage.getJson<INpmPackument>(npmPaths.packument(this.name));
    if (current && Object.hasOwn(current.value.versions, version)) throw cannotPublishOver(version);
    if (Date.now() - info.lastModified.getTime() < ORPHAN_TARBALL_MS) throw this.inProgress(version);
    return { ifMatch: info.etag };
  }

  /** Another writer stored the tarball while this one streamed it. */
  private async takenMeanwhile(version: string): Promise<RegistryError> {
    const current = await this.storage.getJson<INpmPackument>(npmPaths.packument(this.name));
    return current && Object.hasOwn(current.value.versions, version) ? cannotPublishOver(version) : this.inProgress(version);
  }

  private inProgress(version: string) {
    return RegistryError.conflict(`another publish of ${this.name}@${version} is in progress; try again in a minute`);
  }
}
