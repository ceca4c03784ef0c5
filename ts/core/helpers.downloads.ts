import type { IDownloadsConfig } from './interfaces.core.js';

/** `downloads` as it applies to one protocol: the registry's, then the protocol's overrides. */
export interface IResolvedDownloads {
  redirect: boolean;
  expiresIn: number;
  publicUrl?: string;
  /** Milliseconds now, the time URLs are signed at (`downloads.now` when a test sets a clock). */
  nowMs: () => number;
}

export const DEFAULT_DOWNLOAD_URL_SECONDS = 300;
/** S3 refuses presigned URLs valid for longer than 7 days. */
export const MAX_DOWNLOAD_URL_SECONDS = 7 * 24 * 3600;

export function resolveDownloads(...layers: (IDownloadsConfig | undefined)[]): IResolvedDownloads {
  const resolved: IResolvedDownloads = { redirect: false, expiresIn: DEFAULT_DOWNLOAD_URL_SECONDS, nowMs: Date.now };
  for (const layer of layers) {
    if (layer?.redirect !== undefined) resolved.redirect = layer.redirect;
    if (layer?.expiresIn !== undefined) resolved.expiresIn = layer.expiresIn;
    if (layer?.publicUrl !== undefined) resolved.publicUrl = layer.publicUrl.replace(/\/+$/, '');
    const clock = layer?.now;
    if (clock !== undefined) resolved.nowMs = () => clock().getTime();
  }
  return resolved;
}

/** Throws an Error that says what is wrong with `downloads` at `where` (`downloads`, `npm.downloads` ...). */
export function assertDownloadsConfig(where: string, downloads: IDownloadsConfig | undefined): void {
  if (downloads === undefined) return;
  if (typeof downloads !== 'object' || downloads === null) throw new Error(`smartregistry: ${where} must be an object`);
  if (downloads.redirect !== undefined && typeof downloads.redirect !== 'boolean') {
    throw new Error(`smartregistry: ${where}.redirect must be true or false`);
  }
  const { expiresIn } = downloads;
  if (expiresIn !== undefined && !(Number.isSafeInteger(expiresIn) && expiresIn >= 1 && expiresIn <= MAX_DOWNLOAD_URL_SECONDS)) {
    throw new Error(`smartregistry: ${where}.expiresIn must be a whole number of seconds from 1 to ${MAX_DOWNLOAD_URL_SECONDS}`);
  }
  if (downloads.publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(downloads.publicUrl);
    } catch {
      url = undefined;
    }
    // Path-style URLs are signed for this origin: a path, query or credentials would break the signature.
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== downloads.publicUrl.replace(/\/+$/, '')) {
      throw new Error(`smartregistry: ${where}.publicUrl must be an http(s) origin such as https://objects.example.com, not '${downloads.publicUrl}'`);
    }
  }
  if (downloads.now !== undefined && typeof downloads.now !== 'function') throw new Error(`smartregistry: ${where}.now must be a function`);
}
