import { BoundedCache } from './classes.boundedcache.js';
import type { AuthManager } from './classes.authmanager.js';
import type { IHeldValidation } from './classes.defaultauthprovider.js';
import type { IHeldRedirect, RegistryStorage } from './classes.registrystorage.js';
import type { IResolvedDownloads } from './helpers.downloads.js';
import type { IAuthToken } from './interfaces.auth.js';

/** A 307 of an artifact GET, as the route answered it. */
export interface IRedirectAnswer {
  /** The route's pattern (metrics name the route a request took). */
  route: string;
  headers: Record<string, string>;
  /** Who the request authenticated as (the request log's `userId`); none for an anonymous one. */
  userId?: string;
}

interface IKeptAnswer extends IRedirectAnswer, IHeldRedirect {
  /** `RegistryStorage.changes` when the answer was made. */
  changes: number;
  /** What the request's token was validated from (none for an anonymous request). */
  validation?: IHeldValidation;
}

/** Request headers under which the same path may be answered otherwise (a range, a validator). */
const ANSWER_CHANGING_HEADERS = ['range', 'if-range', 'if-none-match', 'if-modified-since'];
/** Longer `Authorization` values are not kept (every token this registry issues is far shorter). */
const MAX_CREDENTIALS_LENGTH = 2048;

/**
 * The redirects of artifact GETs, remembered per path and credentials. A process that every download's GET wakes
 * from idle pays for each line of code the request runs on cold caches (a redirect's route ran in ~2–3 µs warm and
 * ~35 µs so), so a GET the registry answered before is answered again without routing it: only while the answer
 * is the one the route would give now. That is, while the remembered stat and presigned URL it was made from still
 * answer without storage (their validation window and reuse share, by their own clocks), while nothing was written
 * or deleted through this instance since (any write: a handler may have read other documents on the way), and only
 * for a request that cannot be answered otherwise: a GET without query, Range or conditional headers, of a route
 * that is not audited. The route's own permission passed when the answer was made, and the same configuration
 * lets the same path pass again for the same credentials: none, or a token the built-in auth provider validated
 * from what it keeps in memory, while it still keeps the same (see `DefaultAuthProvider.stillHolds`: revoked
 * through this instance, at once; through another, when the token store would look again, as the route would).
 * A password login (its throttle and user lookup) and a given auth provider are asked by the route every time.
 */
export class RememberedRedirects {
  private static readonly MAX_ENTRIES = 4096;
  /** Keys and answers of requests with credentials: any client with a token can vary its header's spelling. */
  private static readonly MAX_AUTHENTICATED_BYTES = 4 * 1024 * 1024;
  private readonly anonymous = new BoundedCache<IKeptAnswer>({ maxEntries: RememberedRedirects.MAX_ENTRIES });
  private readonly authenticated = new BoundedCache<IKeptAnswer>({
    maxEntries: RememberedRedirects.MAX_ENTRIES,
    maxBytes: RememberedRedirects.MAX_AUTHENTICATED_BYTES,
  });

  constructor(
    private readonly storage: RegistryStorage,
    private readonly downloads: IResolvedDownloads,
    private readonly auth: AuthManager,
  ) {}

  /**
   * The credentials a GET with these (lower-case) headers and query is answered under from memory: '' for none,
   * else the `Authorization` header as sent; undefined when only the route may answer it.
   */
  credentialsOf(headers: Record<string, string | undefined>, query: Record<string, unknown> | undefined): string | undefined {
    for (const name of ANSWER_CHANGING_HEADERS) if (headers[name] !== undefined) return undefined;
    for (const name in query) if (Object.hasOwn(query, name)) return undefined;
    if (!this.auth.sendsCredentials(headers)) return '';
    const credentials = headers.authorization!;
    return credentials.length <= MAX_CREDENTIALS_LENGTH ? credentials : undefined;
  }

  /** The answer remembered for `path` under `credentials` (from `credentialsOf`), when it still holds. */
  answer(path: string, credentials: string): IRedirectAnswer | undefined {
    const kept = credentials === '' ? this.anonymous.get(path) : this.authenticated.get(authenticatedKey(path, credentials));
    if (!kept) return undefined;
    if (
      kept.changes !== this.storage.changes ||
      kept.statUntil <= this.storage.statClock() ||
      kept.urlUntil <= this.downloads.nowMs() ||
      (kept.validation !== undefined && !this.auth.stillHolds(kept.validation))
    ) {
      if (credentials === '') this.anonymous.delete(path);
      else this.authenticated.delete(authenticatedKey(path, credentials));
      return undefined;
    }
    return kept;
  }

  /**
   * Keep the route's 307 for `path` under `credentials`, made for `token` (null: anonymous). `changes`:
   * `RegistryStorage.changes` before the route ran (a write while it ran is one it may not have seen).
   */
  remember(path: string, credentials: string, answer: IRedirectAnswer, held: IHeldRedirect, changes: number, token: IAuthToken | null): void {
    // A copy: the orchestrator adds its own headers to the response it hands on.
    const headers = Object.assign({}, answer.headers);
    const kept: IKeptAnswer = { route: answer.route, headers, statUntil: held.statUntil, urlUntil: held.urlUntil, changes };
    if (credentials === '') {
      if (token === null) this.anonymous.set(path, kept);
      return;
    }
    const validation = token === null ? undefined : this.auth.heldValidation(token);
    if (validation === undefined) return;
    kept.validation = validation;
    kept.userId = validation.userId;
    const key = authenticatedKey(path, credentials);
    this.authenticated.set(key, kept, { bytes: key.length + headersLength(headers) });
  }

  /** `RegistryStorage.changes` now, to hand to `remember` once the route has answered. */
  changesNow(): number {
    return this.storage.changes;
  }
}

/** One key per (path, credentials), whatever characters either holds: the credentials' length comes first. */
function authenticatedKey(path: string, credentials: string): string {
  return `${credentials.length} ${credentials}${path}`;
}

function headersLength(headers: Record<string, string>): number {
  let length = 0;
  for (const name in headers) length += name.length + headers[name]!.length;
  return length;
}
