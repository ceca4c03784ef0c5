/**
 * Composer's formats for the upstream proxy (pure): the upstream's p2 metadata file read back from the
 * `composer/2.0` minified form, its versions merged with the local ones (a local version wins) with
 * dist URLs of ours, and where one of those dists is fetched from with the sha1 it must have.
 */
import { MINIFIED_FORMAT, minifyVersions, type TMetadataFile } from './helpers.composer.js';
import type { IComposerVersionEntry } from './interfaces.composer.js';
import { isPlainObject as isObject, parseJsonObject } from '../core/helpers.json.js';

const UNSET = '__unset';
const SHA1 = /^[0-9a-f]{40}$/;

/** The metadata file of `name` at an upstream whose URL is a Composer repository root (where its packages.json is). */
export const upstreamMetadataUrl = (upstreamUrl: string, name: string, file: TMetadataFile) =>
  `${upstreamUrl.replace(/\/+$/, '')}/p2/${name}${file === 'dev' ? '~dev' : ''}.json`;

/** One version of an upstream metadata file, with what the proxy needs of its dist. */
export interface IUpstreamComposerVersion {
  entry: Record<string, unknown> & { version: string };
  /** The dist's name at our registry (`/dists/{name}/{id}.zip`): its sha1 when given, else its 40-hex reference. */
  distId: string;
  /** Absolute, at the upstream (or wherever its metadata sends us: Packagist's dists are on the code host). */
  distUrl: string;
  /** The sha1 the zip must have; absent when the upstream gives none (Packagist leaves `shasum` empty). */
  sha1?: string;
}

/** Composer's `composer/2.0` expansion: each entry starts as the one before it, its keys set over it, `__unset` ones removed. */
export function expandVersions(minified: readonly unknown[]): Record<string, unknown>[] {
  const expanded: Record<string, unknown>[] = [];
  let previous: Record<string, unknown> = {};
  for (const diff of minified) {
    if (!isObject(diff)) continue;
    const version: Record<string, unknown> = { ...previous };
    for (const [key, value] of Object.entries(diff)) {
      if (value === UNSET) delete version[key];
      else version[key] = value;
    }
    expanded.push(version);
    previous = version;
  }
  return expanded;
}

/**
 * The versions of `name` in an upstream metadata file that have a zip dist we can name; others are left
 * out (a version we cannot serve would send Composer elsewhere). Null when the body is no metadata file.
 */
export function parseUpstreamMetadata(body: Buffer, name: string, fileUrl: string): IUpstreamComposerVersion[] | null {
  const parsed = parseJsonObject(body);
  if (!parsed || !isObject(parsed.packages)) return null;
  const list = parsed.packages[name];
  if (!Array.isArray(list)) return null;
  const entries = parsed.minified === MINIFIED_FORMAT ? expandVersions(list) : list.filter(isObject);
  const versions: IUpstreamComposerVersion[] = [];
  for (const entry of entries) {
    const dist = entry.dist;
    if (typeof entry.version !== 'string' || !isObject(dist) || dist.type !== 'zip' || typeof dist.url !== 'string') continue;
    const shasum = typeof dist.shasum === 'string' ? dist.shasum.toLowerCase() : '';
    const reference = typeof dist.reference === 'string' ? dist.reference.toLowerCase() : '';
    const distId = SHA1.test(shasum) ? shasum : SHA1.test(reference) ? reference : null;
    if (!distId) continue;
    let distUrl: string;
    try {
      distUrl = new URL(dist.url, fileUrl).toString();
    } catch {
      continue;
    }
    if (!/^https?:$/.test(new URL(distUrl).protocol)) continue;
    versions.push({ entry: { ...entry, version: entry.version }, distId, distUrl, ...(SHA1.test(shasum) ? { sha1: shasum } : {}) });
  }
  return versions;
}

/** The key a version is compared by: Composer's normalised form when it has one. */
const versionKey = (entry: Record<string, unknown>) => (typeof entry.version_normalized === 'string' ? entry.version_normalized : String(entry.version));

/**
 * The metadata file served for a package the upstream knows: the local versions (dist URLs already
 * public), then the upstream's versions the local package does not have, their dist URLs made ours.
 */
export function mergeMetadataFile(
  name: string,
  local: readonly IComposerVersionEntry[],
  upstream: readonly IUpstreamComposerVersion[],
  distUrl: (distId: string) => string,
): Buffer {
  const localKeys = new Set(local.map(versionKey));
  const proxied = upstream
    .filter((version) => !localKeys.has(versionKey(version.entry)))
    .map((version) => ({
      ...version.entry,
      dist: { ...(version.entry.dist as Record<string, unknown>), url: distUrl(version.distId), shasum: version.sha1 ?? '' },
    }));
  return Buffer.from(JSON.stringify({ minified: MINIFIED_FORMAT, packages: { [name]: minifyVersions([...local, ...proxied]) } }));
}
