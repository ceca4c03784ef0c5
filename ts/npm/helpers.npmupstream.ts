/**
 * npm's formats for the upstream proxy (pure): where an upstream keeps a packument, how an upstream
 * packument is checked and merged with the local one (local versions and dist-tags win, tarball URLs
 * point at us), and where a version's tarball is fetched from, with the digest it must have.
 */
import { isPlainObject, parseJsonObject } from '../core/helpers.json.js';
import { tarballFileName, tarballPath, versionError } from './helpers.npm.js';
import type { INpmPackument, INpmVersionManifest } from './interfaces.npm.js';
import type { THashAlgorithm } from '../core/storage/interfaces.storage.js';

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** `@scope/name` is asked for as `@scope%2fname`, as the public registry spells it. */
export const upstreamPackumentUrl = (upstreamUrl: string, name: string) => `${trimSlash(upstreamUrl)}/${name.replace('/', '%2f')}`;

/** The upstream's packument for `name`, keeping only versions this registry can name; null when it is not one. */
export function parseUpstreamPackument(body: Buffer, name: string): INpmPackument | null {
  const parsed = parseJsonObject(body);
  if (!parsed || parsed.name !== name || !isPlainObject(parsed.versions)) return null;
  const versions: Record<string, INpmVersionManifest> = {};
  for (const [version, manifest] of Object.entries(parsed.versions)) {
    if (versionError(version, name) !== null || !isPlainObject(manifest) || !isPlainObject(manifest.dist)) continue;
    if (typeof manifest.dist.tarball !== 'string') continue;
    versions[version] = manifest as INpmVersionManifest;
  }
  const tags = isPlainObject(parsed['dist-tags']) ? parsed['dist-tags'] : {};
  const distTags: Record<string, string> = {};
  for (const [tag, version] of Object.entries(tags)) if (typeof version === 'string' && Object.hasOwn(versions, version)) distTags[tag] = version;
  const time = isPlainObject(parsed.time) ? (parsed.time as Record<string, string>) : {};
  return {
    ...(parsed as Partial<INpmPackument>),
    _id: name,
    _rev: typeof parsed._rev === 'string' ? parsed._rev : '0-upstream',
    name,
    'dist-tags': distTags,
    versions,
    time: { ...time, modified: typeof time.modified === 'string' ? time.modified : new Date(0).toISOString() },
    maintainers: Array.isArray(parsed.maintainers) ? (parsed.maintainers as INpmPackument['maintainers']) : [],
  };
}

/**
 * The packument served for a package the upstream knows: the upstream's versions with their tarball
 * URLs below `baseUrl`, then the local package's versions, dist-tags and fields over them (a local
 * version always wins over an upstream one of the same number). `local` is shared and not changed.
 */
export function mergeWithUpstream(local: INpmPackument | null, upstream: INpmPackument, baseUrl: string): INpmPackument {
  const name = upstream.name;
  const versions: Record<string, INpmVersionManifest> = {};
  for (const [version, manifest] of Object.entries(upstream.versions)) {
    versions[version] = { ...manifest, dist: { ...manifest.dist, tarball: `${baseUrl}${tarballPath(name, version)}` } };
  }
  if (!local) return { ...upstream, versions };
  Object.assign(versions, local.versions);
  return {
    ...upstream,
    ...local,
    versions,
    'dist-tags': { ...upstream['dist-tags'], ...local['dist-tags'] },
    time: { ...upstream.time, ...local.time },
  };
}

export interface IUpstreamTarball {
  url: string;
  /** Hex digests from the version's `dist` (sha512 from `integrity`, else sha1 from `shasum`). */
  expect: Partial<Record<THashAlgorithm, string>>;
}

/**
 * Where to fetch `version`'s tarball: the URL the upstream's packument names when it is on the
 * upstream's own origin, otherwise the standard path below the upstream (so a document cannot send
 * us to an arbitrary host). Null when the upstream does not list the version.
 */
export function upstreamTarball(upstream: INpmPackument, upstreamUrl: string, version: string): IUpstreamTarball | null {
  const manifest = upstream.versions[version];
  if (!manifest) return null;
  const name = upstream.name;
  let url = `${trimSlash(upstreamUrl)}/${name}/-/${tarballFileName(name, version)}`;
  try {
    const named = new URL(manifest.dist.tarball);
    if (named.origin === new URL(upstreamUrl).origin) url = named.toString();
  } catch {
    // not a URL: the standard path it is
  }
  const expect: Partial<Record<THashAlgorithm, string>> = {};
  const sha512 = typeof manifest.dist.integrity === 'string' ? /(?:^|\s)sha512-([A-Za-z0-9+/]+={0,2})/.exec(manifest.dist.integrity) : null;
  if (sha512) expect.sha512 = Buffer.from(sha512[1], 'base64').toString('hex');
  else if (typeof manifest.dist.shasum === 'string' && /^[0-9a-f]{40}$/i.test(manifest.dist.shasum)) expect.sha1 = manifest.dist.shasum.toLowerCase();
  return { url, expect };
}
