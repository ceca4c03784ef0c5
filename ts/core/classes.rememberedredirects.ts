import { BoundedCache } from './classes.boundedcache.js';
import type { IHeldRedirect, RegistryStorage } from './classes.registrystorage.js';
import type { IResolvedDownloads } from './helpers.downloads.js';

/** A 307 of an anonymous artifact GET, as the route answered it. */
export interface IRedirectAnswer {
  /** The route's pattern (metrics name the route a request took). */
  route: string;
  headers: Record<string, string>;
}

interface IKeptAnswer extends IRedirectAnswer, IHeldRedirect {
  /** `RegistryStorage.changes` when the answer was made. */
  changes: number;
}

/** Request headers under which the same path may be answered otherwise (credentials, a range, a validator). */
const ANSWER_CHANGING_HEADERS = ['authorization', 'range', 'if-range', 'if-none-match', 'if-modified-since'];

/**
 * The redirects of anonymous artifact GETs, remembered per path. A process that every download's GET wakes from
 * idle pays for each line of code the request runs on cold caches (a redirect's route ran in ~2–3 µs warm and
 * ~35 µs so), so a GET the registry answered before is answered again without routing it: only while the
 * answer is the one the route would give now. That is, while the remembered stat and presigned URL it was made
 * from still answer without storage (their validation window and reuse share, by their own clocks), while
 * nothing was written or deleted through this instance since (any write: a handler may have read other
 * documents on the way), and only for a request that cannot be answered otherwise: a GET without credentials,
 * query, Range or conditional headers, of a route that is not audited. The route's own permission passed
 * anonymously when the answer was made, and the same configuration lets the same path pass again.
 */
export class RememberedRedirects {
  private static readonly MAX_ENTRIES = 4096;
  private readonly answers = new BoundedCache<IKeptAnswer>({ maxEntries: RememberedRedirects.MAX_ENTRIES });

  constructor(
    private readonly storage: RegistryStorage,
    private readonly downloads: IResolvedDownloads,
  ) {}

  /** May a request with these (lower-case) headers and query be answered from, or remembered as, a path's answer? */
  static answerable(headers: Record<string, string | undefined>, query: Record<string, unknown> | undefined): boolean {
    for (const name of ANSWER_CHANGING_HEADERS) if (headers[name] !== undefined) return false;
    for (const name in query) if (Object.hasOwn(query, name)) return false;
    return true;
  }

  /** The answer remembered for `path`, when it still holds. */
  answer(path: string): IRedirectAnswer | undefined {
    const kept = this.answers.get(path);
    if (!kept) return undefined;
    if (kept.changes !== this.storage.changes || kept.statUntil <= this.storage.statClock() || kept.urlUntil <= this.downloads.nowMs()) {
      this.answers.delete(path);
      return undefined;
    }
    return kept;
  }

  /** `changes`: `RegistryStorage.changes` before the route ran (a write while it ran is one it may not have seen). */
  remember(path: string, answer: IRedirectAnswer, held: IHeldRedirect, changes: number): void {
    // A copy: the orchestrator adds its own headers to the response it hands on.
    const headers = Object.assign({}, answer.headers);
    this.answers.set(path, { route: answer.route, headers, statUntil: held.statUntil, urlUntil: held.urlUntil, changes });
  }

  /** `RegistryStorage.changes` now, to hand to `remember` once the route has answered. */
  changesNow(): number {
    return this.storage.changes;
  }
}
