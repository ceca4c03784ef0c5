import { BoundedCache } from './classes.boundedcache.js';
import type { IPresignOptions } from './storage/interfaces.storage.js';

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
 */
export class PresignedUrls {
  static readonly REUSE_SHARE = 0.2;
  private static readonly MAX_ENTRIES = 4096;
  private readonly urls = new BoundedCache<{ url: string; signedAtMs: number }>({ maxEntries: PresignedUrls.MAX_ENTRIES });

  constructor(private readonly sign: (key: string, options: IPresignOptions) => Promise<string>) {}

  async get(key: string, options: IPresignOptions): Promise<string> {
    const signedAt = options.signedAt ?? new Date();
    const id = `${options.expiresIn}\n${options.publicUrl ?? ''}\n${options.contentType ?? ''}\n${key}`;
    const reuseMs = options.expiresIn * 1000 * PresignedUrls.REUSE_SHARE;
    const remembered = this.urls.get(id);
    // Also a clock that went back (injected in tests) signs anew.
    const age = remembered && signedAt.getTime() - remembered.signedAtMs;
    if (remembered && age !== undefined && age >= 0 && age < reuseMs) return remembered.url;
    const url = await this.sign(key, { ...options, signedAt });
    this.urls.set(id, { url, signedAtMs: signedAt.getTime() }, { expiresAt: Date.now() + reuseMs });
    return url;
  }
}
