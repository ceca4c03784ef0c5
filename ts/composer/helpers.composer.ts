/**
 * Composer's wire formats, pure (no I/O): package names, composer.json as found in an uploaded zip,
 * the version entries of the v2 metadata, the `composer/2.0` minified form, `packages.json`, and the
 * `*` name patterns of `list.json`.
 */
import type { IComposerDerivedRevisions, IComposerPackageDocument, IComposerSearchEntry, IComposerVersionEntry, IComposerVersionRecord } from './interfaces.composer.js';
import { revisionOrder } from '../core/classes.deriveddocuments.js';
import { composerStability, isDevVersion } from './helpers.composerversion.js';
import { isPlainObject as isObject } from '../core/helpers.json.js';

/** Composer's package name rule (lower case): `vendor/package`. */
const PACKAGE_NAME = /^[a-z0-9]([_.-]?[a-z0-9]+)*\/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 214;
/** Longest version string accepted (it is part of the metadata, never of a storage key). */
const MAX_VERSION_LENGTH = 255;
/** `\u0000` in a JSON string: where the public base URL goes when a document is served. */
export const BASE_URL_MARK = '\u0000';
export const MINIFIED_FORMAT = 'composer/2.0';
const UNSET = '__unset';

export const isValidPackageName = (name: string) => name.length <= MAX_NAME_LENGTH && PACKAGE_NAME.test(name);

/** What is wrong with a version string before it is normalised (spaces, aliases, stability flags, length). */
export function versionStringProblem(version: string): string | null {
  if (version.length === 0) return 'the version is empty';
  if (version.length > MAX_VERSION_LENGTH) return `the version is longer than ${MAX_VERSION_LENGTH} characters`;
  if (/[\s@]/.test(version) || /[\u0000-\u001f\u007f]/.test(version)) return `version ${JSON.stringify(version)} contains whitespace, "@" or a control character`;
  return null;
}

// ---- composer.json -------------------------------------------------------------------------------

/**
 * The member holding the package's composer.json: `composer.json` at the root, or `{dir}/composer.json`
 * when every member lies in that one top folder (as GitHub's archives are made). Null: none.
 */
export function composerJsonMember(names: readonly string[]): string | null {
  if (names.includes('composer.json')) return 'composer.json';
  const tops = new Set(names.map((name) => name.split('/')[0]));
  if (tops.size !== 1) return null;
  const candidate = `${[...tops][0]}/composer.json`;
  return names.includes(candidate) ? candidate : null;
}

type TFieldCheck = (value: unknown) => boolean;
const isString: TFieldCheck = (value) => typeof value === 'string';
const isStringList: TFieldCheck = (value) => Array.isArray(value) && value.every(isString);
const isStringMap: TFieldCheck = (value) => isObject(value) && Object.values(value).every(isString);
const isObjectList: TFieldCheck = (value) => Array.isArray(value) && value.every(isObject);

/** The package fields a version entry carries from composer.json, with the shape Composer's loader expects. */
const PACKAGE_FIELDS: Record<string, TFieldCheck> = {
  description: isString,
  keywords: isStringList,
  homepage: isString,
  readme: isString,
  license: (value) => isString(value) || isStringList(value),
  authors: isObjectList,
  type: isString,
  support: isObject,
  funding: isObjectList,
  autoload: isObject,
  'autoload-dev': isObject,
  'include-path': isStringList,
  'target-dir': isString,
  extra: isObject,
  bin: (value) => isString(value) || isStringList(value),
  require: isStringMap,
  'require-dev': isStringMap,
  conflict: isStringMap,
  provide: isStringMap,
  replace: isStringMap,
  suggest: isStringMap,
  archive: isObject,
  abandoned: (value) => typeof value === 'boolean' || isString(value),
};

export interface IComposerJson {
  name: string;
  version?: string;
  fields: Record<string, unknown>;
}

/** composer.json's text checked: an object, a valid `name`, a string `version` if any, known fields of the right shape. */
export function parseComposerJson(bytes: Buffer): IComposerJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ComposerJsonError(`composer.json is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw new ComposerJsonError('composer.json must hold a JSON object');
  const { name, version } = parsed;
  if (typeof name !== 'string' || !isValidPackageName(name)) {
    throw new ComposerJsonError(`composer.json's name ${JSON.stringify(name ?? null)} is not a valid package name (vendor/package, lower case)`);
  }
  if (version !== undefined && typeof version !== 'string') throw new ComposerJsonError("composer.json's version must be a string");
  const fields: Record<string, unknown> = {};
  for (const [field, check] of Object.entries(PACKAGE_FIELDS)) {
    if (!(field in parsed)) continue;
    if (!check(parsed[field])) throw new ComposerJsonError(`composer.json's ${JSON.stringify(field)} has the wrong type`);
    fields[field] = parsed[field];
  }
  return { name, version, fields };
}

export class ComposerJsonError extends Error {}

// ---- metadata ------------------------------------------------------------------------------------

export interface IUploadedVersion {
  name: string;
  version: string;
  normalized: string;
  sha1: string;
  time: string;
}

/** The version entry of an upload: composer.json's fields, then what the registry knows. */
export function versionEntry(composerJson: IComposerJson, upload: IUploadedVersion): IComposerVersionEntry {
  return {
    name: upload.name,
    ...composerJson.fields,
    version: upload.version,
    version_normalized: upload.normalized,
    dist: { type: 'zip', url: `${BASE_URL_MARK}${distPath(upload.name, upload.sha1)}`, reference: upload.sha1, shasum: upload.sha1 },
    time: upload.time,
  };
}

/** Path of a dist below the protocol's base URL. */
export const distPath = (name: string, reference: string) => `/dists/${name}/${reference}.zip`;

/**
 * Equal as JSON text (key order counts), for values parsed from JSON: compared in place, since a p2 file is
 * made again on every upload and compares every key of every version with the one before it.
 */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key, index) => key === keysB[index] && same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** One version of a `composer/2.0` list: whole when first, else the keys that differ from `previous`, a dropped key `__unset`. */
function minifiedEntry(version: Record<string, unknown>, previous: Record<string, unknown> | null): Record<string, unknown> {
  if (!previous) return version;
  const diff: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(version)) {
    if (!(key in previous) || !same(previous[key], value)) diff[key] = value;
  }
  for (const key of Object.keys(previous)) if (!(key in version)) diff[key] = UNSET;
  return diff;
}

/**
 * Composer's `composer/2.0` minified list: the first version whole, each later one only with the keys
 * that differ from the one before it, a key it lacks marked `__unset`.
 */
export function minifyVersions(versions: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return versions.map((version, index) => minifiedEntry(version, index === 0 ? null : versions[index - 1]));
}

/**
 * The minified JSON of a stored version entry, by the entry it followed (null: first), kept while the entry lives:
 * an upload renders the p2 file again from the same entry objects (never changed in place), and only the new
 * version and the one it now precedes are minified afresh.
 */
const minifiedJson = new WeakMap<IComposerVersionEntry, { previous: IComposerVersionEntry | null; bytes: Buffer }>();
const COMMA = Buffer.from(',');

function minifiedEntryJson(entry: IComposerVersionEntry, previous: IComposerVersionEntry | null): Buffer {
  const known = minifiedJson.get(entry);
  if (known?.previous === previous) return known.bytes;
  const bytes = Buffer.from(JSON.stringify(minifiedEntry(entry, previous)));
  minifiedJson.set(entry, { previous, bytes });
  return bytes;
}

/** The two metadata files of a package: tagged versions (`{name}.json`) and dev branches (`{name}~dev.json`). */
export type TMetadataFile = 'tagged' | 'dev';

/**
 * `/p2/{name}.json` or `/p2/{name}~dev.json` as stored (dist URLs still marked): the JSON text of
 * `{ revision, minified, packages: { [name]: minifyVersions(entries) } }`, from each entry's kept minified bytes.
 */
export function renderMetadataFile(pkg: IComposerPackageDocument, file: TMetadataFile): Buffer {
  const dev = file === 'dev';
  const parts: Buffer[] = [Buffer.from(`{"revision":${JSON.stringify(derivedRevisionsOf(pkg)[file])},"minified":${JSON.stringify(MINIFIED_FORMAT)},"packages":{${JSON.stringify(pkg.name)}:[`)];
  let previous: IComposerVersionEntry | null = null;
  for (const { entry } of pkg.versions) {
    if (isDevVersion(entry.version_normalized) !== dev) continue;
    if (previous) parts.push(COMMA);
    parts.push(minifiedEntryJson(entry, previous));
    previous = entry;
  }
  parts.push(Buffer.from(']}}'));
  return Buffer.concat(parts);
}

/** A stored document made public: marked dist URLs get the base URL. */
export const withBaseUrl = (json: string, baseUrl: string) => json.replaceAll(`"${JSON.stringify(BASE_URL_MARK).slice(1, -1)}`, `"${baseUrl}`);

/**
 * `packages.json`: the v2 repository root, every URL absolute below `baseUrl`. `availablePackages` null
 * leaves the list out, so Composer asks for any name (a proxy answers for more than it holds).
 */
export function renderPackagesJson(baseUrl: string, availablePackages: readonly string[] | null): Record<string, unknown> {
  return {
    packages: [],
    'metadata-url': `${baseUrl}/p2/%package%.json`,
    ...(availablePackages ? { 'available-packages': availablePackages } : {}),
    search: `${baseUrl}/search.json?q=%query%&type=%type%`,
    list: `${baseUrl}/packages/list.json`,
  };
}

/** A `list.json` filter (`acme/*`, `*logger*`): `*` matches anything, case-insensitive, whole name. */
export function namePatternMatcher(pattern: string): (name: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 'i');
  return (name) => regex.test(name);
}

/** The search entry of a package: its newest tagged upload (or newest upload) describes it. */
export function toSearchEntry(pkg: { name: string; versions: readonly IComposerVersionRecord[] }, rev: number): IComposerSearchEntry {
  const newest = pkg.versions.find((record) => composerStability(record.entry.version) !== 'dev') ?? pkg.versions[0];
  const { description, type } = newest.entry;
  return { name: pkg.name, description: typeof description === 'string' ? description : '', type: typeof type === 'string' ? type : 'library', rev };
}

/** The search entry as stored: at the revision of the last change of the package's description or type. */
export const searchEntryOf = (pkg: IComposerPackageDocument) => toSearchEntry(pkg, revisionOrder(derivedRevisionsOf(pkg).search));

// ---- what a change alters ------------------------------------------------------------------------

/** The revisions of what is derived from `pkg`; a document from before they were kept has its revision for each. */
export const derivedRevisionsOf = (pkg: IComposerPackageDocument): IComposerDerivedRevisions =>
  pkg.derivedRevisions ?? { tagged: pkg.revision, dev: pkg.revision, search: pkg.revision };

/** The entries of one metadata file, by identity: a change that keeps them keeps the same objects. */
function sameEntries(before: readonly IComposerVersionRecord[], after: readonly IComposerVersionRecord[], dev: boolean): boolean {
  const entries = (records: readonly IComposerVersionRecord[]) => records.filter((record) => isDevVersion(record.entry.version_normalized) === dev);
  const a = entries(before);
  const b = entries(after);
  return a.length === b.length && a.every((record, index) => record.entry === b[index].entry);
}

/**
 * The derived revisions of a package after a change to `revision` leaves it with `versions`: the revision before for
 * what the change left alone (each metadata file's entries, the search entry's description and type), else `revision`.
 */
export function nextDerivedRevisions(before: IComposerPackageDocument | null, name: string, versions: readonly IComposerVersionRecord[], revision: string): IComposerDerivedRevisions {
  if (!before || before.versions.length === 0 || versions.length === 0) return { tagged: revision, dev: revision, search: revision };
  const previous = derivedRevisionsOf(before);
  const searchBefore = toSearchEntry(before, 0);
  const searchAfter = toSearchEntry({ name, versions }, 0);
  return {
    tagged: sameEntries(before.versions, versions, false) ? previous.tagged : revision,
    dev: sameEntries(before.versions, versions, true) ? previous.dev : revision,
    search: searchBefore.description === searchAfter.description && searchBefore.type === searchAfter.type ? previous.search : revision,
  };
}
