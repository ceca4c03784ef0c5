/**
 * The npm wire format, as pure functions: package-name rules, versions and dist-tags, tarball file
 * names, integrity strings, the full and abbreviated documents and the search entry derived from
 * them. No I/O here; the registry class and the package store call these.
 *
 * Tarball URLs. Stored documents never contain a host: a tarball URL is stored as
 * `"\u0000/{name}/-/{file}"` — a JSON string that starts with a NUL character. JSON.stringify writes
 * NUL as the six characters `\u0000`, so in the stored bytes every tarball URL starts with the
 * seven bytes `"\u0000`, a sequence nothing else can produce once user metadata containing NUL is
 * refused. Serving replaces those bytes with `"{baseUrl}` by a byte scan (`spliceBaseUrl`): no parse,
 * no clone, and the URLs follow `registryUrl` or the request's host.
 */
import { builtinModules } from 'node:module';
import { formatDigest } from '../core/helpers.hash.js';
import { RegistryError } from '../core/classes.registryerror.js';
import semver from 'semver';
import type {
  INpmAbbreviatedPackument,
  INpmPackument,
  INpmPerson,
  INpmSearchEntry,
  INpmVersionManifest,
} from './interfaces.npm.js';
import { isPlainObject } from '../core/helpers.json.js';
import { memoizeBounded } from '../core/helpers.memo.js';

// ---- package names ---------------------------------------------------------------------------

export interface INameValidation {
  /** May be used for a package that does not exist yet. */
  validForNew: boolean;
  /** May be used for a package that already exists (legacy names: uppercase, long, builtin). */
  validForOld: boolean;
  /** Why the name is invalid for any package. */
  errors: string[];
  /** Why the name is invalid for a new package. */
  warnings: string[];
}

const SCOPED_NAME = /^@([^/]+)\/([^/]+)$/;
const FORBIDDEN_NAMES = new Set(['node_modules', 'favicon.ico']);
export const MAX_NAME_LENGTH = 214;
const BUILTIN_NAMES = new Set(builtinModules.map((name) => name.toLowerCase()));

const isUrlSafe = (text: string) => encodeURIComponent(text) === text;

/** Characters npm no longer accepts in new names (named once: a regular expression literal is a new object each time its line runs). */
const SPECIAL_CHARACTERS = /[~'!()*]/;

/** npm's package-name rules (the ones `validate-npm-package-name` documents), plus no NUL anywhere. */
export function validatePackageName(name: unknown): INameValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  const result = () => ({ validForNew: errors.length === 0 && warnings.length === 0, validForOld: errors.length === 0, errors, warnings });
  if (typeof name !== 'string') {
    errors.push('name must be a string');
    return result();
  }
  if (name.length === 0) errors.push('name length must be greater than zero');
  if (name.startsWith('.')) errors.push('name cannot start with a period');
  if (name.startsWith('_')) errors.push('name cannot start with an underscore');
  if (name.trim() !== name) errors.push('name cannot contain leading or trailing spaces');
  if (FORBIDDEN_NAMES.has(name.toLowerCase())) errors.push(`${name} is not a valid package name`);

  const scoped = SCOPED_NAME.exec(name);
  if (scoped) {
    const [, scope, bare] = scoped;
    if (!isUrlSafe(scope) || !isUrlSafe(bare)) errors.push('name can only contain URL-friendly characters');
    if (scope.startsWith('.') || bare.startsWith('.')) errors.push('name parts cannot start with a period');
    if (bare.startsWith('_')) errors.push('name cannot start with an underscore');
  } else if (!isUrlSafe(name)) {
    errors.push('name can only contain URL-friendly characters');
  }

  // An error, not npm's warning: a longer name would not fit in one storage key segment (255 bytes).
  if (name.length > MAX_NAME_LENGTH) errors.push(`name can no longer contain more than ${MAX_NAME_LENGTH} characters`);
  if (BUILTIN_NAMES.has(name.toLowerCase())) warnings.push(`${name} is a core module name`);
  if (name.toLowerCase() !== name) warnings.push('name can no longer contain capital letters');
  const last = name.split('/').slice(-1)[0] ?? '';
  if (SPECIAL_CHARACTERS.test(last)) warnings.push('name can no longer contain special characters ("~\'!()*")');
  return result();
}

/** `@scope/name` → `name`; `name` → `name`. */
export const unscopedName = (name: string) => (name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name);

/** `@scope/name` → `@scope`; unscoped → undefined. */
export const scopeOf = (name: string) => (name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined);

// ---- versions and dist-tags ------------------------------------------------------------------

/** A storage key segment's limit: the tarball file `{name}-{version}.tgz` must fit in it. */
const MAX_TARBALL_FILE_BYTES = 255;

/**
 * semver's normal form of a version string (null: no version), remembered: every tarball GET checks the version
 * its file name holds, and a parse builds a SemVer object each time.
 */
const normalizedVersion = memoizeBounded((version: string) => semver.valid(version), 1024);

/**
 * A version of package `name` as the registry stores it: strict, normalised semver (no `v`, no build
 * metadata), short enough that its tarball file name fits in one storage key segment.
 */
export function versionError(version: unknown, name: string): string | null {
  if (typeof version !== 'string' || version.length === 0) return 'version must be a non-empty string';
  const maxLength = MAX_TARBALL_FILE_BYTES - Buffer.byteLength(tarballFileName(name, ''), 'utf8');
  if (Buffer.byteLength(version, 'utf8') > maxLength) return `version is longer than ${maxLength} characters (the limit for ${name})`;
  const normalized = normalizedVersion(version);
  if (normalized === null) return `invalid semver version: ${JSON.stringify(version)}`;
  if (normalized !== version) {
    return `version ${JSON.stringify(version)} is not in normalised form (expected ${JSON.stringify(normalized)})`;
  }
  return null;
}

/** Highest version; stable releases win over prereleases unless only prereleases are left. */
export function highestVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestStable: string | undefined;
  for (const version of versions) {
    if (!semver.valid(version)) continue;
    if (!best || semver.gt(version, best)) best = version;
    if (!semver.prerelease(version) && (!bestStable || semver.gt(version, bestStable))) bestStable = version;
  }
  return bestStable ?? best;
}

/** Tags are free names, except that they must not look like a version range (npm's rule). */
export function distTagError(tag: unknown): string | null {
  if (typeof tag !== 'string' || tag.length === 0) return 'tag must be a non-empty string';
  if (tag.length > 128) return 'tag is longer than 128 characters';
  if (semver.validRange(tag) !== null) return `tag name must not be a valid SemVer range: ${tag}`;
  if (!isUrlSafe(tag)) return `tag ${JSON.stringify(tag)} may only contain URL-friendly characters`;
  return null;
}

/** Version for a `/{name}/{version-or-tag}` request: exact version, dist-tag, then highest in range. */
export function resolveVersionSpec(doc: Pick<INpmPackument, 'versions' | 'dist-tags'>, spec: string): string | undefined {
  if (Object.hasOwn(doc.versions, spec)) return spec;
  const tagged = doc['dist-tags'][spec];
  if (tagged !== undefined && Object.hasOwn(doc.versions, tagged)) return tagged;
  if (semver.validRange(spec) === null) return undefined;
  return semver.maxSatisfying(Object.keys(doc.versions), spec) ?? undefined;
}

// ---- tarballs and URLs -----------------------------------------------------------------------

/** Marks the start of a stored tarball URL; see the file comment. */
export const URL_PLACEHOLDER = '\u0000';
const PLACEHOLDER_BYTES = Buffer.from('"\\u0000', 'utf8');

/** `@scope/name`, `1.0.0` → `name-1.0.0.tgz` (the public registry's file naming). */
export const tarballFileName = (name: string, version: string) => `${unscopedName(name)}-${version}.tgz`;

/** Path of a tarball below the registry's base URL: `/@scope/name/-/name-1.0.0.tgz`. */
export const tarballPath = (name: string, version: string) => `/${name}/-/${tarballFileName(name, version)}`;

/** What a stored document holds in `dist.tarball`. */
export const storedTarballUrl = (name: string, version: string) => `${URL_PLACEHOLDER}${tarballPath(name, version)}`;

/**
 * The version a tarball file name stands for, or null when the name is not `{name}-{version}.tgz`.
 * Accepts the unscoped form (`name-1.0.0.tgz`) and, for scoped packages, the full form some
 * clients build (`@scope/name-1.0.0.tgz`, seen here as the file part after the last slash).
 */
export function versionFromTarballFile(name: string, file: string): string | null {
  const version = tarballFileVersionPart(name, file);
  return version !== null && versionError(version, name) === null ? version : null;
}

/** What stands between `{name}-` and `.tgz`, not yet checked as a version. */
function tarballFileVersionPart(name: string, file: string): string | null {
  const bare = unscopedName(name);
  if (!file.endsWith('.tgz') || !file.startsWith(`${bare}-`)) return null;
  return file.slice(bare.length + 1, -'.tgz'.length);
}

/**
 * The version a publish attachment is for: `{name}-{version}.tgz`, for scoped packages with or without
 * the scope, and one of `versions` when the document has listed them. A listed version that is no
 * valid version is refused for what is wrong with it, not as a mismatch.
 */
export function attachmentVersion(name: string, file: string, versions: Record<string, unknown> | undefined): string {
  const scope = scopeOf(name);
  const version = tarballFileVersionPart(name, scope && file.startsWith(`${scope}/`) ? file.slice(scope.length + 1) : file);
  if (version !== null && (!versions || Object.hasOwn(versions, version))) {
    const problem = versionError(version, name);
    if (problem === null) return version;
    if (versions) throw RegistryError.invalid(problem);
  }
  const expected = versions ? Object.keys(versions).map((v) => `${name}-${v}.tgz`).join(', ') : `${name}-{version}.tgz`;
  throw RegistryError.invalid(`attachment ${JSON.stringify(file)} does not match a version in the document (expected ${expected})`);
}

/** Replace every stored tarball URL marker in a document's bytes with the base URL. */
export function spliceBaseUrl(document: Buffer, baseUrl: string): Buffer {
  let position = document.indexOf(PLACEHOLDER_BYTES);
  if (position === -1) return document;
  const replacement = Buffer.from(JSON.stringify(baseUrl).slice(0, -1), 'utf8'); // `"` + escaped base URL
  const parts: Buffer[] = [];
  let start = 0;
  let length = 0;
  while (position !== -1) {
    const chunk = document.subarray(start, position);
    parts.push(chunk, replacement);
    length += chunk.length + replacement.length;
    start = position + PLACEHOLDER_BYTES.length;
    position = document.indexOf(PLACEHOLDER_BYTES, start);
  }
  const tail = document.subarray(start);
  parts.push(tail);
  return Buffer.concat(parts, length + tail.length);
}

// ---- attachments and integrity ---------------------------------------------------------------

export type TIntegrityAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const INTEGRITY_ALGORITHMS: readonly TIntegrityAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const INTEGRITY_TOKEN = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?[\x21-\x7e]*)?$/;

/** `sha512-abc= sha1-def=` → { sha512: ['abc='], sha1: ['def='] }; null when no token is valid. */
export function parseIntegrity(integrity: string): Partial<Record<TIntegrityAlgorithm, string[]>> | null {
  const parsed: Partial<Record<TIntegrityAlgorithm, string[]>> = {};
  let found = false;
  for (const token of integrity.trim().split(/\s+/)) {
    const match = INTEGRITY_TOKEN.exec(token);
    if (!match) continue;
    const algorithm = match[1] as TIntegrityAlgorithm;
    (parsed[algorithm] ??= []).push(match[2]);
    found = true;
  }
  return found ? parsed : null;
}

/** Algorithms an integrity string names, so the caller can compute exactly those. */
export function integrityAlgorithms(integrity: unknown): TIntegrityAlgorithm[] {
  if (typeof integrity !== 'string') return [];
  const parsed = parseIntegrity(integrity);
  return parsed ? INTEGRITY_ALGORITHMS.filter((algorithm) => parsed[algorithm]) : [];
}

/**
 * Compare a tarball's digests (hex) with what its manifest declares. Returns a message saying what
 * does not match, or null. Declared but unparseable values are an error too.
 */
export function checkDeclaredDigests(
  dist: { shasum?: unknown; integrity?: unknown },
  digests: Partial<Record<TIntegrityAlgorithm, string>>,
): string | null {
  if (dist.shasum !== undefined) {
    if (typeof dist.shasum !== 'string' || !/^[0-9a-fA-F]{40}$/.test(dist.shasum)) return 'dist.shasum is not a sha1 hex digest';
    if (digests.sha1 && dist.shasum.toLowerCase() !== digests.sha1) {
      return `shasum mismatch: the manifest says ${dist.shasum.toLowerCase()}, the tarball has ${digests.sha1}`;
    }
  }
  if (dist.integrity !== undefined) {
    if (typeof dist.integrity !== 'string') return 'dist.integrity must be a string';
    const parsed = parseIntegrity(dist.integrity);
    if (!parsed) return 'dist.integrity is not a valid subresource integrity string';
    for (const algorithm of INTEGRITY_ALGORITHMS) {
      const declared = parsed[algorithm];
      const hex = digests[algorithm];
      if (!declared || !hex) continue;
      const actual = formatDigest(algorithm, hex, 'base64');
      if (!declared.includes(actual)) {
        return `integrity mismatch: the manifest says ${algorithm}-${declared[0]}, the tarball has ${algorithm}-${actual}`;
      }
    }
  }
  return null;
}

// ---- user input ------------------------------------------------------------------------------

/** True when any string or key in the value contains NUL (reserved for the URL placeholder). */
export function containsNul(value: unknown, depth = 0): boolean {
  if (depth > 64) return true; // absurd nesting is refused as well
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some((item) => containsNul(item, depth + 1));
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000') || containsNul(item, depth + 1)) return true;
    }
  }
  return false;
}

/** `Accept: application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, *\/*` → abbreviated. */
export function wantsAbbreviated(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';');
    if (type.trim().toLowerCase() !== 'application/vnd.npm.install-v1+json') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

// ---- the documents ---------------------------------------------------------------------------

/** Fields a version manifest never keeps in storage (bulky, or belonging to the request only). */
const DROPPED_MANIFEST_FIELDS = ['readme', 'readmeFilename', '_attachments', '_rev', '_revisions'];

/** Top-level fields copied from the `latest` version into the full document. */
const TOP_LEVEL_FIELDS = ['description', 'keywords', 'license', 'homepage', 'repository', 'bugs', 'author'] as const;

/** Fields of a version kept in the abbreviated document (npm's "corgi" format, plus a few pnpm/yarn use). */
const ABBREVIATED_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'bundleDependencies',
  'bundledDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'acceptDependencies',
  'bin',
  'directories',
  'dist',
  'engines',
  'os',
  'cpu',
  'libc',
  'funding',
  'license',
  '_hasShrinkwrap',
] as const;

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

export function newPackument(name: string, now: string): INpmPackument {
  return {
    _id: name,
    _rev: '0-0',
    name,
    'dist-tags': {},
    versions: {},
    time: { created: now, modified: now },
    maintainers: [],
  };
}

/** The number of a `{n}-{suffix}` revision (0 when there is none). */
export function revisionNumber(rev: unknown): number {
  const n = typeof rev === 'string' ? Number.parseInt(rev.split('-')[0], 10) : Number.NaN;
  return Number.isSafeInteger(n) ? n : 0;
}

/**
 * The revision after `current`: `{n}-{suffix}` with n = max(previous + 1, now in ms). Revisions only
 * grow, also across a package's deletion and re-creation, so documents derived from a packument can
 * be ordered by them whatever order their writes land in.
 */
export function nextRevision(current: string | undefined, suffix: string, nowMs = Date.now()): string {
  return `${Math.max(revisionNumber(current) + 1, nowMs)}-${suffix}`;
}

/**
 * Check and normalise one version manifest of a publish body. Returns the manifest to store (a new
 * object: tarball URL replaced by the stored form, bookkeeping set) or an error message.
 */
export function prepareVersionManifest(
  raw: unknown,
  name: string,
  version: string,
  publisher: INpmPerson,
): { manifest: INpmVersionManifest } | { error: string } {
  if (!isPlainObject(raw)) return { error: `versions[${JSON.stringify(version)}] must be an object` };
  const error = versionError(version, name);
  if (error) return { error };
  if (raw.name !== name) return { error: `versions[${JSON.stringify(version)}].name is ${JSON.stringify(raw.name)}, expected ${JSON.stringify(name)}` };
  if (raw.version !== version) {
    return { error: `versions[${JSON.stringify(version)}].version is ${JSON.stringify(raw.version)}, expected ${JSON.stringify(version)}` };
  }
  if (raw.dist !== undefined && !isPlainObject(raw.dist)) return { error: `versions[${JSON.stringify(version)}].dist must be an object` };
  if (containsNul(raw)) return { error: `versions[${JSON.stringify(version)}] contains a NUL character` };
  const manifest: Record<string, unknown> = { ...raw };
  for (const field of DROPPED_MANIFEST_FIELDS) delete manifest[field];
  manifest._id = `${name}@${version}`;
  manifest._npmUser = publisher;
  manifest.dist = { ...(raw.dist as Record<string, unknown> | undefined), tarball: storedTarballUrl(name, version) };
  return { manifest: manifest as INpmVersionManifest };
}

/** Add published versions (already checked) to a document; sets tags, times and top-level fields. */
export function addVersions(
  doc: INpmPackument,
  manifests: INpmVersionManifest[],
  tags: Record<string, string>,
  options: { publisher: INpmPerson; now: string; readme?: string; readmeFilename?: string },
): INpmPackument {
  for (const manifest of manifests) {
    doc.versions[manifest.version] = manifest;
    doc.time[manifest.version] = options.now;
  }
  Object.assign(doc['dist-tags'], tags);
  if (!doc['dist-tags'].latest || !Object.hasOwn(doc.versions, doc['dist-tags'].latest)) {
    const latest = highestVersion(Object.keys(doc.versions));
    if (latest) doc['dist-tags'].latest = latest;
  }
  if (!doc.maintainers || doc.maintainers.length === 0) doc.maintainers = [options.publisher];
  doc.time.modified = options.now;
  if (options.readme !== undefined && manifests.some((m) => m.version === doc['dist-tags'].latest)) {
    doc.readme = options.readme;
    if (options.readmeFilename) doc.readmeFilename = options.readmeFilename;
  }
  refreshTopLevel(doc);
  return doc;
}

/**
 * Remove versions; dist-tags pointing at them go, and `latest` moves to the highest remaining
 * version. Returns the removed versions.
 */
export function removeVersions(doc: INpmPackument, versions: Iterable<string>, now: string): string[] {
  const removed: string[] = [];
  for (const version of versions) {
    if (!Object.hasOwn(doc.versions, version)) continue;
    delete doc.versions[version];
    delete doc.time[version];
    removed.push(version);
  }
  if (removed.length === 0) return removed;
  const gone = new Set(removed);
  const latestGone = gone.has(doc['dist-tags'].latest ?? '');
  for (const [tag, version] of Object.entries(doc['dist-tags'])) {
    if (gone.has(version)) delete doc['dist-tags'][tag];
  }
  if (latestGone || !doc['dist-tags'].latest) {
    const latest = highestVersion(Object.keys(doc.versions));
    if (latest) doc['dist-tags'].latest = latest;
  }
  doc.time.modified = now;
  refreshTopLevel(doc);
  return removed;
}

/**
 * Apply `deprecated` values of versions in a client's document (npm deprecate PUTs the whole
 * document back): a non-empty string deprecates, anything else undeprecates. Returns the versions
 * whose state changed.
 */
export function applyDeprecations(doc: INpmPackument, clientVersions: Record<string, unknown>): string[] {
  const changed: string[] = [];
  for (const [version, clientManifest] of Object.entries(clientVersions)) {
    const stored = doc.versions[version];
    if (!stored || !isPlainObject(clientManifest)) continue;
    const wanted = typeof clientManifest.deprecated === 'string' && clientManifest.deprecated !== '' ? clientManifest.deprecated : undefined;
    if (wanted === stored.deprecated) continue;
    // Manifests are never changed in place: a new object (serialisation caches key on identity).
    const { deprecated: _old, ...rest } = stored;
    doc.versions[version] = wanted === undefined ? (rest as INpmVersionManifest) : { ...rest, deprecated: wanted };
    changed.push(version);
  }
  return changed;
}

/** Description, keywords, license ... at the top follow the `latest` version. */
export function refreshTopLevel(doc: INpmPackument): void {
  const latest = doc.versions[doc['dist-tags'].latest ?? ''];
  if (!latest) return;
  for (const field of TOP_LEVEL_FIELDS) {
    const value = latest[field];
    const target = doc as Record<string, unknown>;
    if (value === undefined) delete target[field];
    else target[field] = field === 'keywords' ? normalizeKeywords(value) : value;
  }
}

export function normalizeKeywords(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((k): k is string => typeof k === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** One version as the abbreviated document has it: only what dependency resolution needs. */
export function abbreviateVersion(manifest: INpmVersionManifest): Record<string, unknown> {
  const short: Record<string, unknown> = {};
  for (const field of ABBREVIATED_FIELDS) {
    if (manifest[field] !== undefined) short[field] = manifest[field];
  }
  const scripts = manifest.scripts;
  if (isPlainObject(scripts) && INSTALL_SCRIPTS.some((script) => typeof scripts[script] === 'string')) {
    short.hasInstallScript = true;
  }
  return short;
}

/** The abbreviated document for installers. */
export function toAbbreviated(doc: INpmPackument): INpmAbbreviatedPackument {
  const versions: Record<string, Record<string, unknown>> = {};
  for (const [version, manifest] of Object.entries(doc.versions)) versions[version] = abbreviateVersion(manifest);
  return { _rev: doc._rev, name: doc.name, modified: doc.time.modified, 'dist-tags': doc['dist-tags'], versions };
}

// Version manifests are never changed in place once stored (see applyDeprecations), so their JSON
// can be remembered by object identity: a publish then serialises only the new version.
const manifestJson = new WeakMap<object, string>();
const abbreviatedJson = new WeakMap<object, string>();

function versionsJson(versions: Record<string, INpmVersionManifest>, cache: WeakMap<object, string>, project?: (m: INpmVersionManifest) => unknown) {
  const parts: string[] = [];
  for (const [version, manifest] of Object.entries(versions)) {
    let json = cache.get(manifest);
    if (json === undefined) {
      json = JSON.stringify(project ? project(manifest) : manifest);
      cache.set(manifest, json);
    }
    parts.push(`${JSON.stringify(version)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

/** `JSON.stringify(object)`, with `versions` given as ready JSON. */
function objectJson(object: Record<string, unknown>, versions: string): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (key === 'versions') {
      parts.push(`"versions":${versions}`);
      continue;
    }
    const json = JSON.stringify(value);
    if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

/** Exactly `JSON.stringify(doc)`, without serialising unchanged versions again. */
export const serializePackument = (doc: INpmPackument): string => objectJson(doc, versionsJson(doc.versions, manifestJson));

/** Exactly `JSON.stringify(toAbbreviated(doc))`, without abbreviating unchanged versions again. */
export const serializeAbbreviated = (doc: INpmPackument): string =>
  objectJson(
    { _rev: doc._rev, name: doc.name, modified: doc.time.modified, 'dist-tags': doc['dist-tags'], versions: undefined },
    versionsJson(doc.versions, abbreviatedJson, abbreviateVersion),
  );

/** What the search index keeps for a package. */
export function toSearchEntry(doc: INpmPackument): INpmSearchEntry | null {
  const latestVersion = doc['dist-tags'].latest;
  const latest = latestVersion ? doc.versions[latestVersion] : undefined;
  if (!latest) return null;
  const entry: INpmSearchEntry = {
    name: doc.name,
    rev: revisionNumber(doc._rev),
    version: latest.version,
    date: doc.time[latest.version] ?? doc.time.modified,
    maintainers: (doc.maintainers ?? []).map((m) => m.name).filter((n): n is string => typeof n === 'string'),
  };
  if (typeof latest.description === 'string' && latest.description) entry.description = latest.description;
  const keywords = normalizeKeywords(latest.keywords);
  if (keywords.length) entry.keywords = keywords;
  const publisher = latest._npmUser?.name;
  if (typeof publisher === 'string' && publisher) entry.publisher = publisher;
  if (latest.deprecated) entry.deprecated = true;
  return boundSearchEntry(entry);
}

/** What one search entry may hold: anything beyond is cut, so no publish can grow the index without limit. */
export const SEARCH_ENTRY_LIMITS = {
  keywords: 32,
  keywordLength: 64,
  descriptionLength: 1024,
  /** version, date, publisher and each maintainer name */
  fieldLength: 256,
  maintainers: 32,
} as const;

const cut = (text: string, length: number) => (text.length > length ? text.slice(0, length) : text);

/** The entry within SEARCH_ENTRY_LIMITS (a new object; the one given is not changed). */
export function boundSearchEntry(entry: INpmSearchEntry): INpmSearchEntry {
  const limits = SEARCH_ENTRY_LIMITS;
  const bounded: INpmSearchEntry = {
    ...entry,
    version: cut(String(entry.version ?? ''), limits.fieldLength),
    date: cut(String(entry.date ?? ''), limits.fieldLength),
    maintainers: (Array.isArray(entry.maintainers) ? entry.maintainers : []).slice(0, limits.maintainers).map((name) => cut(String(name), limits.fieldLength)),
  };
  if (typeof entry.description === 'string') bounded.description = cut(entry.description, limits.descriptionLength);
  else delete bounded.description;
  if (Array.isArray(entry.keywords)) {
    const keywords = entry.keywords.filter((k) => typeof k === 'string' && k.length > 0).map((k) => cut(k, limits.keywordLength)).slice(0, limits.keywords);
    if (keywords.length) bounded.keywords = keywords;
    else delete bounded.keywords;
  }
  if (typeof entry.publisher === 'string') bounded.publisher = cut(entry.publisher, limits.fieldLength);
  return bounded;
}

const WORD_SEPARATORS = /[^a-z0-9]+/;
const splitSearchWords = (text: string) => text.toLowerCase().split(WORD_SEPARATORS).filter(Boolean);

/** A package name without its scope, lower-case. */
export const bareName = (name: string) => (name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name).toLowerCase();

/** The words a package is found by: its name (whole, without scope, and in parts), description and keywords. */
export function searchWords(entry: INpmSearchEntry): Set<string> {
  const name = entry.name.toLowerCase();
  const words = new Set<string>([name, bareName(name), ...splitSearchWords(name), ...splitSearchWords(entry.description ?? '')]);
  for (const keyword of entry.keywords ?? []) {
    words.add(keyword.toLowerCase());
    for (const word of splitSearchWords(keyword)) words.add(word);
  }
  return words;
}

// ---- search ranking --------------------------------------------------------------------------

/** Lower is better: 0 exact name, 1 name prefix, 2 every query word in the name, 3 matched elsewhere. */
export type TSearchTier = 0 | 1 | 2 | 3;

/** Query text → lower-case terms (empty terms dropped). */
export const searchTerms = (text: string) => text.toLowerCase().split(/\s+/).filter(Boolean);

/**
 * Rank a package that matched a query. `query` is the whole lower-case query, `terms` its words;
 * `name` is the package's lower-case name and `bare` the same without its scope.
 */
export function rankSearchMatch(query: string, terms: string[], name: string, bare: string): TSearchTier {
  if (name === query || bare === query) return 0;
  if (name.startsWith(query) || bare.startsWith(query)) return 1;
  for (const term of terms) if (!name.includes(term)) return 3;
  return 2;
}

/** For one lower-case query: the tier of a matching package by its lower-case name. */
export function searchRanker(query: string): (name: string) => TSearchTier {
  const terms = searchTerms(query);
  // Called for every match of a query: `name` is lower-case already, so nothing is allocated for unscoped names.
  return (name) => rankSearchMatch(query, terms, name, name.charCodeAt(0) === 64 ? name.slice(name.indexOf('/') + 1) : name);
}
