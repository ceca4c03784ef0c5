import { BoundedCache } from '../core/classes.boundedcache.js';
import type { Logger } from '../core/classes.logger.js';
import type { IEventSink } from '../core/classes.registryevents.js';
import { UNCHANGED, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { TRegistryProtocol } from '../core/interfaces.core.js';
import type { IRegistryEvent } from '../core/interfaces.operations.js';
import { webPaths } from '../core/storage.paths.js';

/** One publish as the home page lists it. */
export interface IRecentPublish {
  protocol: TRegistryProtocol;
  name: string;
  version?: string;
  /** ISO 8601. */
  time: string;
}

interface IRecentPublishesDocument {
  v: 1;
  /** Newest first, one entry per package and version. */
  entries: IRecentPublish[];
}

export interface IRecentPublishesOptions {
  /** Entries kept in the document. */
  maxEntries: number;
  /** Other instances' publishes show after at most this long. */
  revalidateMs: number;
}

const sameRelease = (a: IRecentPublish, b: IRecentPublish) => a.protocol === b.protocol && a.name === b.name && a.version === b.version;

/** A change to the list, in the order the events came: a publish, or a delete (of some versions, or of all). */
type TChange = { add: IRecentPublish } | { remove: { protocol: TRegistryProtocol; name: string; versions: string[] | null } };

/**
 * The newest publishes of every protocol, in one small bounded document in storage, so every
 * instance on the bucket shows the same list. Fed by the audit events: a publish is queued and
 * written in the background (the request never waits for it), queued ones merged in one conditional
 * read-modify-write, so several instances publishing at once lose none. A delete takes the package
 * (or the versions it names) off the list. A failed write is logged and its changes dropped: the list
 * is a convenience, never the truth (a package's own page is).
 */
export class RecentPublishes implements IEventSink {
  private pending: TChange[] = [];
  private flushing: Promise<void> | null = null;
  private readonly cache: BoundedCache<IRecentPublish[]>;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly catalogues: ReadonlyMap<TRegistryProtocol, IPackageCatalogue>,
    private readonly logger: Logger,
    private readonly options: IRecentPublishesOptions,
  ) {
    this.cache = new BoundedCache<IRecentPublish[]>({ maxEntries: 1, ttlMs: options.revalidateMs });
  }

  deliver(event: IRegistryEvent): void {
    if ((event.action !== 'publish' && event.action !== 'delete') || event.result !== 'success' || event.protocol === 'core' || !event.resource) return;
    const catalogue = this.catalogues.get(event.protocol);
    if (!catalogue) return;
    if (event.action === 'delete') {
      // Deletes name the package as its pages do; the versions, when named, as a list (npm) or one.
      const versions = event.version ? event.version.split(',').filter(Boolean) : [];
      this.pending.push({ remove: { protocol: event.protocol, name: event.resource, versions: versions.length > 0 ? versions : null } });
    } else {
      const published = catalogue.publishedPackage ? catalogue.publishedPackage(event.resource, event.version) : { name: event.resource, version: event.version };
      if (!published) return;
      this.pending.push({ add: { protocol: event.protocol, name: published.name, ...(published.version ? { version: published.version } : {}), time: event.time } });
    }
    this.flushing ??= this.flush();
  }

  /** Newest first, as stored at most `revalidateMs` ago. */
  async list(): Promise<IRecentPublish[]> {
    const entries = await this.cache.getOrLoad('recent', async () => (await this.storage.getJson<IRecentPublishesDocument>(webPaths.recentPublishes()))?.value.entries ?? []);
    return entries ?? [];
  }

  /** Resolves once everything delivered so far is written (or its write failed). */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async destroy(): Promise<void> {
    await this.settled();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.storage.updateJson<IRecentPublishesDocument>(webPaths.recentPublishes(), { protocol: 'core' }, (current) => {
            const merged = this.merge(current?.entries ?? [], batch);
            return merged === null ? UNCHANGED : { v: 1, entries: merged };
          });
          this.cache.delete('recent');
        } catch (error) {
          this.logger.warn(`could not record ${batch.length} change(s) to the web page's recent publishes`, error);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** `batch` applied to `entries` in order: newest first, a release listed once (at its newest time), bounded. Null: nothing changes. */
  private merge(entries: IRecentPublish[], batch: TChange[]): IRecentPublish[] | null {
    let list = entries;
    for (const change of batch) {
      if ('add' in change) {
        list = [change.add, ...list.filter((entry) => !sameRelease(entry, change.add))];
        continue;
      }
      const { protocol, name, versions } = change.remove;
      const resource = this.catalogues.get(protocol)!.resourceOf(name);
      const removed = (entry: IRecentPublish) =>
        entry.protocol === protocol && this.catalogues.get(protocol)!.resourceOf(entry.name) === resource && (versions === null || versions.includes(entry.version ?? ''));
      list = list.filter((entry) => !removed(entry));
    }
    // Stable: equal times keep the later change in front.
    const kept = [...list].sort((a, b) => b.time.localeCompare(a.time)).slice(0, this.options.maxEntries);
    const unchanged = kept.length === entries.length && kept.every((entry, index) => entry === entries[index]);
    return unchanged ? null : kept;
  }
}
