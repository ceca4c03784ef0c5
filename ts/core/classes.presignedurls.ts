import { BoundedCache } from './classes.boundedcache.js';
import type { IPresignOptions } from './storage/interfaces.storage.js';

/** How a URL is asked for: `IPresignOptions` with the signing time in milliseconds. */
export interface IPresignRequest {
  expiresIn: number;
  publicUrl?: string;
  contentType?: string;
  signedAtMs: number;
}

interface IRememberedUrl {
  url: string;
  signedAtMs: number;
  expiresIn: number;
  publicUrl?: string;
  contentType?: string;
}

/**
 * Presigned download URLs handed out again for the same key while at least four fifths of their validity
 * remain (60 s of a 300 s URL), so that signing (the S3 SDK's middleware stack, some hundreds of µs) is paid
 * once per key and minute instead of once per download.
 *
 * What reuse means: a client gets a URL valid for at least `expiresIn × 0.8` seconds, never longer than
 * `expiresIn` after its signing. Permissions and the `afterGet` hook are checked on every request before a
 * URL is looked up here, so a reader whose access is revoked gets no URL from the next request on; a URL
 * already handed out stays valid until it expires, with or without reuse. URLs name a key, not content: an
 * object written again is read through the same URL. Signed with a rotated-away S3 key, a remembered URL
 * is handed out for at most the reuse window.
 *
 * One URL is remembered per key (a key belongs to one protocol, so it is asked for with the same options);
 * asked for with other options, the key's URL is signed anew.
 */
export class PresignedUrls {
  static readonly REUSE_SHARE = 0.2;
  private static readonly MAX_ENTRIES = 4096;
  /** No expiry of its own: `peek` checks a URL's age by the caller's clock, so a hit reads no clock twice. */
  private readonly urls = new BoundedCache<IRememberedUrl>({ maxEntries: PresignedUrls.MAX_ENTRIES });

  constructor(private readonly sign: (key: string, options: IPresignOptions) => Promise<string>) {}

  /** The remembered URL of `key` when it may be handed out for `request`; undefined when one must be signed. */
  peek(key: string, request: IPresignRequest): string | undefined {
    const remembered = this.urls.get(key);
    if (!remembered || remembered.expiresIn !== request.expiresIn || remembered.publicUrl !== request.publicUrl || remembered.contentType !== request.contentType) {
      return undefined;
    }
    // Also a clock that went back (injected in tests) signs anew.
    const age = request.signedAtMs - remembered.signedAtMs;
    return age >= 0 && age < reuseMs(request.expiresIn) ? remembered.url : undefined;
  }

  /** Until when (by the signing clock) `peek` hands out the URL remembered for `key`; undefined when none is. */
  reusableUntil(key: string): number | undefined {
    const remembered = this.urls.get(key);
    return remembered && remembered.signedAtMs + reuseMs(remembered.expiresIn);
  }

  async get(key: string, request: IPresignRequest): Promise<string> {
    const known = this.peek(key, request);
    if (known !== undefined) return known;
    const { expiresIn, publicUrl, contentType, signedAtMs } = request;
    const url = await this.sign(key, { expiresIn, publicUrl, contentType, signedAt: new Date(signedAtMs) });
    this.urls.set(key, { url, signedAtMs, expiresIn, publicUrl, contentType });
    return url;
  }
}

const reuseMs = (expiresIn: number) => expiresIn * 1000 * PresignedUrls.REUSE_SHARE;
