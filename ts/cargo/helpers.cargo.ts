/**
 * The Cargo registry's wire formats, pure (no I/O): crate names, sparse index paths and lines,
 * the publish request's framing and metadata, and the Cargo.toml check of a .crate.
 */
import semver from 'semver';
import { parse as parseToml } from 'smol-toml';
import { revisionOrder } from '../core/classes.deriveddocuments.js';
import { RegistryError } from '../core/classes.registryerror.js';
import type {
  ICargoCrateDocument,
  ICargoIndexDependency,
  ICargoIndexEntry,
  ICargoPublishDependency,
  ICargoPublishMetadata,
  ICargoPublishWarnings,
  ICargoSearchEntry,
} from './interfaces.cargo.js';
import { isPlainObject } from '../core/helpers.json.js';
import { memoizeBounded } from '../core/helpers.memo.js';

export const MAX_CRATE_NAME_LENGTH = 64;
const CRATE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Names no crate may take (compared normalised): Windows device names and the standard library's crates. */
const RESERVED_NAMES = new Set([
  'con', 'prn', 'aux', 'nul',
  ...Array.from({ length: 9 }, (_, i) => `com${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `lpt${i + 1}`),
  'std', 'core', 'alloc', 'proc-macro', 'test',
]);

/*
 * Names, their checks and index paths are remembered per name (memoizeBounded): every index GET asks them again for
 * the same few crates, and a string made once is hashed once by the maps it is looked up in.
 */

/** One name for everything that differs only in case or `-`/`_`, as the registry keeps crates unique. */
export const normalizeCrateName = memoizeBounded((name: string) => name.toLowerCase().replace(/_/g, '-'), 1024);

/** Why `name` cannot be a crate name by cargo's rules, or null when it can. */
export function crateNameError(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return 'the crate name is empty';
  return nameErrorOf(name);
}

const nameErrorOf = memoizeBounded((name: string): string | null => {
  if (name.length > MAX_CRATE_NAME_LENGTH) return `the crate name is longer than ${MAX_CRATE_NAME_LENGTH} characters`;
  if (!CRATE_NAME.test(name)) {
    return `invalid crate name ${JSON.stringify(name)}: use ASCII letters, digits, \`-\` and \`_\`, starting with a letter`;
  }
  if (RESERVED_NAMES.has(normalizeCrateName(name))) return `the crate name ${JSON.stringify(name)} is reserved`;
  return null;
}, 1024);

export function assertCrateName(name: unknown): string {
  const error = crateNameError(name);
  if (error) throw RegistryError.invalid(error);
  return name as string;
}

/** Where the sparse index keeps a crate's file: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, lower case. */
export const indexPathOf = memoizeBounded(indexPathOfName, 1024);

function indexPathOfName(name: string): string {
  const lower = name.toLowerCase();
  switch (lower.length) {
    case 1:
      return `1/${lower}`;
    case 2:
      return `2/${lower}`;
    case 3:
      return `3/${lower[0]}/${lower}`;
    default:
      return `${lower.slice(0, 2)}/${lower.slice(2, 4)}/${lower}`;
  }
}

/** A version cargo accepts: semver 2.0 without a leading `v` or `=`. */
export function assertVersion(vers: unknown): string {
  // semver.parse also takes `v1.2.3` and `=1.2.3`; cargo does not.
  if (typeof vers !== 'string' || vers.length > 256 || !/^\d[0-9A-Za-z.+-]*$/.test(vers) || semver.parse(vers)?.raw !== vers) {
    throw RegistryError.invalid(`invalid version ${JSON.stringify(vers)}: expected semver such as 1.2.3`);
  }
  return vers;
}

/** Versions that differ only in build metadata (after the first `+`) are the same version to cargo. */
export const sameVersion = (a: string, b: string) => withoutBuild(a) === withoutBuild(b);
const withoutBuild = (vers: string) => {
  const plus = vers.indexOf('+');
  return plus === -1 ? vers : vers.slice(0, plus);
};

// ---- publish request ---------------------------------------------------------------------------

/** The u32 little-endian length that precedes each part of a publish body. */
export const readFrameLength = (bytes: Buffer) => bytes.readUInt32LE(0);
export const FRAME_LENGTH_BYTES = 4;

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const optionalString = (value: unknown): value is string | null | undefined => value === undefined || value === null || typeof value === 'string';

function invalid(message: string): never {
  throw RegistryError.invalid(`invalid publish metadata: ${message}`);
}

function checkDependency(value: unknown, index: number): ICargoPublishDependency {
  const where = `deps[${index}]`;
  if (!isPlainObject(value)) invalid(`${where} is not an object`);
  const nameError = crateNameError(value.name);
  if (nameError) invalid(`${where}: ${nameError}`);
  if (typeof value.version_req !== 'string' || value.version_req === '') invalid(`${where}.version_req must be a version requirement`);
  if (!isStringArray(value.features ?? [])) invalid(`${where}.features must be a list of strings`);
  if (typeof (value.optional ?? false) !== 'boolean' || typeof (value.default_features ?? true) !== 'boolean') {
    invalid(`${where}.optional and .default_features must be booleans`);
  }
  const kind = value.kind ?? 'normal';
  if (kind !== 'normal' && kind !== 'dev' && kind !== 'build') invalid(`${where}.kind must be normal, dev or build`);
  if (!optionalString(value.target) || !optionalString(value.registry) || !optionalString(value.explicit_name_in_toml)) {
    invalid(`${where}.target, .registry and .explicit_name_in_toml must be strings or null`);
  }
  if (typeof value.explicit_name_in_toml === 'string' && crateNameError(value.explicit_name_in_toml)) {
    invalid(`${where}.explicit_name_in_toml is not a crate name`);
  }
  return {
    name: value.name as string,
    version_req: value.version_req,
    features: (value.features as string[] | undefined) ?? [],
    optional: (value.optional as boolean | undefined) ?? false,
    default_features: (value.default_features as boolean | undefined) ?? true,
    target: (value.target as string | null | undefined) ?? null,
    kind,
    registry: (value.registry as string | null | undefined) ?? null,
    explicit_name_in_toml: (value.explicit_name_in_toml as string | null | undefined) ?? null,
  };
}

/** The JSON part of a publish request, checked field by field. */
export function parsePublishMetadata(bytes: Buffer): ICargoPublishMetadata {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    invalid(`not JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(value)) invalid('expected a JSON object');
  assertCrateName(value.name);
  assertVersion(value.vers);
  if (!Array.isArray(value.deps ?? [])) invalid('deps must be a list');
  const deps = ((value.deps as unknown[] | undefined) ?? []).map(checkDependency);
  const features = value.features ?? {};
  if (!isPlainObject(features) || !Object.values(features).every(isStringArray)) invalid('features must map names to lists of strings');
  if (!optionalString(value.description) || !optionalString(value.links) || !optionalString(value.rust_version) || !optionalString(value.readme)) {
    invalid('description, links, rust_version and readme must be strings or null');
  }
  if (!isStringArray(value.keywords ?? [])) invalid('keywords must be a list of strings');
  return { ...value, name: value.name as string, vers: value.vers as string, deps, features: features as Record<string, string[]> };
}

/** A feature value only cargo ≥ 1.60 understands: `dep:name` or `name?/feature`. */
const isNewFeatureSyntax = (value: string) => value.startsWith('dep:') || value.includes('?/');

/** The index line for a published version. */
export function toIndexEntry(metadata: ICargoPublishMetadata, cksum: string): ICargoIndexEntry {
  const deps = metadata.deps.map((dep): ICargoIndexDependency => {
    const renamed = typeof dep.explicit_name_in_toml === 'string' && dep.explicit_name_in_toml !== '';
    return {
      name: renamed ? dep.explicit_name_in_toml! : dep.name,
      req: dep.version_req,
      features: dep.features,
      optional: dep.optional,
      default_features: dep.default_features,
      target: dep.target,
      kind: dep.kind,
      registry: dep.registry ?? null,
      ...(renamed ? { package: dep.name } : {}),
    };
  });
  const features: Record<string, string[]> = {};
  const features2: Record<string, string[]> = {};
  for (const [feature, values] of Object.entries(metadata.features)) {
    if (values.some(isNewFeatureSyntax)) features2[feature] = values;
    else features[feature] = values;
  }
  const hasFeatures2 = Object.keys(features2).length > 0;
  return {
    name: metadata.name,
    vers: metadata.vers,
    deps,
    cksum,
    features,
    ...(hasFeatures2 ? { features2 } : {}),
    yanked: false,
    links: metadata.links ?? null,
    ...(metadata.rust_version ? { rust_version: metadata.rust_version } : {}),
    ...(hasFeatures2 ? { v: 2 as const } : {}),
  };
}

/** What the publish answer tells cargo to print: metadata this registry does not use. */
export function publishWarnings(metadata: ICargoPublishMetadata): ICargoPublishWarnings {
  const categories = Array.isArray(metadata.categories) ? (metadata.categories as unknown[]).map(String) : [];
  const badges = isPlainObject(metadata.badges) ? Object.keys(metadata.badges) : [];
  return { invalid_categories: categories, invalid_badges: badges, other: [] };
}

// ---- the .crate --------------------------------------------------------------------------------

/** The manifest inside a .crate: `{name}-{version}/Cargo.toml`, as `cargo package` writes it. */
export const crateManifestPath = (name: string, vers: string) => `${name}-${vers}/Cargo.toml`;

/** Why the .crate's Cargo.toml does not describe `name` `vers`, or null when it does. */
export function manifestMismatch(toml: Buffer | undefined, name: string, vers: string): string | null {
  if (!toml) return `the .crate has no ${crateManifestPath(name, vers)}`;
  let manifest: Record<string, unknown>;
  try {
    manifest = parseToml(toml.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    return `the .crate's Cargo.toml is not valid TOML (${(error as Error).message.split('\n')[0]})`;
  }
  const pkg = manifest.package;
  if (!isPlainObject(pkg)) return "the .crate's Cargo.toml has no [package] table";
  if (pkg.name !== name) return `the .crate's Cargo.toml names the crate ${JSON.stringify(pkg.name)}, the metadata ${JSON.stringify(name)}`;
  if (pkg.version !== vers) {
    return `the .crate's Cargo.toml has version ${JSON.stringify(pkg.version)}, the metadata ${JSON.stringify(vers)}`;
  }
  return null;
}

// ---- documents ---------------------------------------------------------------------------------

/** An index entry's line, raw and as escaped inside a JSON string. */
interface IIndexLine {
  line: string;
  escaped: string;
}

/**
 * Lines made once per entry object, while it lives: a publish renders the index of every earlier version again,
 * from the same objects. Entries are never changed in place (a yank replaces the entry).
 */
const indexLines = new WeakMap<ICargoIndexEntry, IIndexLine>();

function indexLineOf(entry: ICargoIndexEntry): IIndexLine {
  let made = indexLines.get(entry);
  if (!made) {
    const line = `${JSON.stringify(entry)}\n`;
    indexLines.set(entry, (made = { line, escaped: JSON.stringify(line).slice(1, -1) }));
  }
  return made;
}

/** A sparse index file: one JSON line per version, in publish order. */
export function renderIndexFile(crate: ICargoCrateDocument): string {
  return crate.versions.map((version) => indexLineOf(version.entry).line).join('');
}

/**
 * `JSON.stringify({ revision, name, index: renderIndexFile(crate) })`, the stored index document, from the
 * lines already escaped: JSON escapes each character on its own, so the escaped lines joined are the escaped file.
 */
export function renderStoredIndex(crate: ICargoCrateDocument): string {
  const index = crate.versions.map((version) => indexLineOf(version.entry).escaped).join('');
  return `{"revision":${JSON.stringify(crate.revision)},"name":${JSON.stringify(crate.name)},"index":"${index}"}`;
}

/** Versions parsed once per entry object, while it lives: every publish looks for the highest of all again. */
const parsedVersions = new WeakMap<ICargoIndexEntry, semver.SemVer>();

function parsedVersionOf(entry: ICargoIndexEntry): semver.SemVer {
  let version = parsedVersions.get(entry);
  if (!version) parsedVersions.set(entry, (version = new semver.SemVer(entry.vers)));
  return version;
}

/** The version `cargo search` shows: the highest release that is not yanked, else the highest of any. */
export function maxVersion(crate: ICargoCrateDocument): string {
  // Each version parsed once: comparing strings would parse them on every comparison.
  let best: { version: semver.SemVer; rank: number } | undefined;
  for (const { entry } of crate.versions) {
    const version = parsedVersionOf(entry);
    const rank = entry.yanked ? 0 : version.prerelease.length ? 1 : 2;
    if (!best || rank > best.rank || (rank === best.rank && version.compare(best.version) > 0)) best = { version, rank };
  }
  return best ? best.version.raw : '0.0.0';
}

export function toSearchEntry(crate: ICargoCrateDocument): ICargoSearchEntry {
  return {
    name: crate.name,
    max_version: maxVersion(crate),
    description: crate.description ?? null,
    ...(crate.keywords?.length ? { keywords: crate.keywords } : {}),
    rev: revisionOrder(crate.revision),
  };
}
