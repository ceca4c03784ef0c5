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

/**
 * The newest publishes of every protocol, in one small bounded document in storage, so every
 * instance on the bucket shows the same list. Fed by the audit events: a publish is queued and
 * written in the background (the request never waits for it), queued ones merged in one conditional
 * read-modify-write, so several instances publishing at once lose none. A failed write is logged and
 * its entries dropped: the list is a convenience, never the truth (a package's own page is).
 */
export class RecentPublishes implements IEventSink {
  private pending: IRecentPublish[] = [];
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
    if (event.action !== 'publish' || event.result !== 'success' || event.protocol === 'core' || !event.resource) return;
    const catalogue = this.catalogues.get(event.protocol);
    if (!catalogue) return;
    const published = catalogue.publishedPackage ? catalogue.publishedPackage(event.resource, event.version) : { name: event.resource, version: event.version };
    if (!published) return;
    this.pending.push({ protocol: event.protocol, name: published.name, ...(published.version ? { version: published.version } : {}), time: event.time });
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
          this.logger.warn(`could not record ${batch.length} recent publish(es) for the web page`, error);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** `batch` merged into `entries`: newest first, a release listed once (at its newest time), bounded. Null: nothing changes. */
  private merge(entries: IRecentPublish[], batch: IRecentPublish[]): IRecentPublish[] | null {
    // The batch newest first, so equal times keep the later event in front.
    const all = [...[...batch].reverse(), ...entries].sort((a, b) => b.time.localeCompare(a.time));
    const kept: IRecentPublish[] = [];
    for (const entry of all) {
      if (kept.length >= this.options.maxEntries) break;
      if (!kept.some((other) => sameRelease(other, entry))) kept.push(entry);
    }
    const unchanged = kept.length === entries.length && kept.every((entry, index) => entry === entries[index]);
    return unchanged ? null : kept;
  }
}
