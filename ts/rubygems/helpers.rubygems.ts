import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { RubySymbol, RubyObject, RubyUserDump, RubyUserMarshal, marshalDump, type TRubyValue } from './helpers.marshal.js';
import { memoizeBounded } from '../core/helpers.memo.js';
import { GEM_PLATFORM, GEM_VERSION, isValidGemName } from './helpers.gemspec.js';
import type { ICompactIndexEntry, IGemDependency, IGemDocument, IGemSpec, IGemSummary, IGemVersionRecord, IServedVersion, TServedIndex } from './interfaces.rubygems.js';

/** Pure RubyGems wire formats: compact index files, file names, Marshal index files. No I/O. */

/** `1.0.0` or `1.0.0-x86_64-linux`: how the compact index and file names name one version. */
export const fullVersion = (version: string, platform: string) => (platform === 'ruby' ? version : `${version}-${platform}`);
export const gemFileName = (name: string, version: string, platform: string) => `${name}-${fullVersion(version, platform)}.gem`;
/** RubyGems: a version with a letter in it is a prerelease. */
export const isPrerelease = (version: string) => /[a-zA-Z]/.test(version);
export const md5Hex = (bytes: Uint8Array | string) => crypto.createHash('md5').update(bytes).digest('hex');

/**
 * The ways `{name}-{version}[-{platform}]` can be read (names may hold `-`), most likely first:
 * the caller keeps the one whose gem exists.
 */
export function parseGemFileBase(base: string): Array<{ name: string; version: string; platform: string }> {
  const candidates: Array<{ name: string; version: string; platform: string }> = [];
  for (let dash = base.indexOf('-'); dash > 0; dash = base.indexOf('-', dash + 1)) {
    const name = base.slice(0, dash);
    const rest = base.slice(dash + 1);
    const split = rest.indexOf('-');
    const version = split === -1 ? rest : rest.slice(0, split);
    const platform = split === -1 ? 'ruby' : rest.slice(split + 1);
    if (!isValidGemName(name) || !GEM_VERSION.test(version)) continue;
    if (platform !== 'ruby' && !GEM_PLATFORM.test(platform)) continue;
    candidates.push({ name, version, platform });
  }
  return candidates;
}

/**
 * A version's segments as Gem::Version compares them: numbers and runs of letters, trailing zeros dropped (1.0 == 1).
 * Remembered per version string: a push compares every version of its gem (the summary, the sorted lists).
 */
const versionSegments = memoizeBounded((version: string): Array<bigint | string> => {
  const segments = version.match(/[0-9]+|[a-zA-Z]+/g) ?? [];
  while (segments.length > 1 && segments[segments.length - 1] === '0') segments.pop();
  return segments.map((segment) => (segment.charCodeAt(0) <= 0x39 ? BigInt(segment) : segment));
}, 10_000);

/** Gem::Version's order: segments of digits or letters; a letter segment sorts before any number. */
export function compareGemVersions(a: string, b: string): number {
  const left = versionSegments(a);
  const right = versionSegments(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i] ?? 0n;
    const y = right[i] ?? 0n;
    if (x === y) continue;
    const xNumber = typeof x === 'bigint';
    if (xNumber !== (typeof y === 'bigint')) return xNumber ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

// ---- compact index -----------------------------------------------------------------------

const runtimeDependencies = (spec: IGemSpec): IGemDependency[] => spec.dependencies.filter((dependency) => dependency.type === 'runtime');
const isAnything = (requirements: string[]) => requirements.length === 1 && requirements[0] === '>= 0';

/** One line of `/info/{gem}`: `1.0.0-x86_64-linux dep:>= 1&< 2,other:>= 0|checksum:…,ruby:>= 2.7`. */
export function compactInfoLine(spec: IGemSpec, sha256: string): string {
  const dependencies = runtimeDependencies(spec)
    .map((dependency) => `${dependency.name}:${dependency.requirements.join('&')}`)
    .join(',');
  const requirements = [`checksum:${sha256}`];
  if (!isAnything(spec.requiredRubyVersion)) requirements.push(`ruby:${spec.requiredRubyVersion.join('&')}`);
  if (!isAnything(spec.requiredRubygemsVersion)) requirements.push(`rubygems:${spec.requiredRubygemsVersion.join('&')}`);
  return `${fullVersion(spec.version, spec.platform)} ${dependencies}|${requirements.join(',')}`;
}

/**
 * Served versions of each gem document, sorted once: a push derives the `/info` file, the compact index entry and the
 * summary from the same document, and a document is never changed in place (a change makes a new one).
 */
const servedVersionsOf = new WeakMap<IGemDocument, readonly IGemVersionRecord[]>();

/** Versions of a gem that are served (not yanked), oldest first, as the compact index lists them. */
export function servedVersions(gem: IGemDocument): readonly IGemVersionRecord[] {
  let served = servedVersionsOf.get(gem);
  if (!served) {
    // `createdAt` is always an ISO string of one length: code-unit order is time order (localeCompare costs ICU).
    served = Object.values(gem.versions)
      .filter((record) => !record.yanked)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : compareGemVersions(a.spec.version, b.spec.version)));
    servedVersionsOf.set(gem, served);
  }
  return served;
}

/**
 * Each version's `/info` line, made once per record: a record never changes in place (a yank makes a new one), and
 * every push renders the whole file again, all earlier versions included.
 */
const infoLines = new WeakMap<IGemVersionRecord, string>();

function infoLineOf(record: IGemVersionRecord): string {
  let line = infoLines.get(record);
  if (line === undefined) {
    line = compactInfoLine(record.spec, record.sha256);
    infoLines.set(record, line);
  }
  return line;
}

/** The whole `/info/{gem}` file. */
export function compactInfoFile(gem: IGemDocument): string {
  return ['---', ...servedVersions(gem).map(infoLineOf)].join('\n') + '\n';
}

/** `created_at` of a new `/versions` file: seconds, UTC. */
export const compactCreatedAt = (now: Date) => now.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The whole `/versions` file: its header, then every line appended since. */
export const compactVersionsFile = (createdAt: string, lines: string) => `created_at: ${createdAt}\n---\n${lines}`;

/**
 * A line appended to `/versions` when a gem changed: the versions added (or `-1.0` for a yank) and
 * the MD5 of the gem's info file as it is now; clients take the last checksum of each gem.
 */
export const compactVersionsLine = (name: string, changes: string[], infoMd5: string) => `${name} ${changes.join(',')} ${infoMd5}\n`;

const versionKey = (served: IServedVersion) => fullVersion(served.version, served.platform);

/** What a `/versions` line says changed between two lists of served versions: `1.1` added, `-1.0` gone. */
export function servedVersionChanges(before: IServedVersion[], after: IServedVersion[]): string[] {
  const had = new Set(before.map(versionKey));
  const has = new Set(after.map(versionKey));
  return [...after.map(versionKey).filter((version) => !had.has(version)), ...[...had].filter((version) => !has.has(version)).map((version) => `-${version}`)];
}

/**
 * The lines of a `/versions` file started anew (a compaction): one per gem that serves a version, listing them
 * all with the gem's info MD5, by name. Read as bundler reads them, they say what the lines they replace said.
 */
export function compactedVersionsLines(gems: Record<string, ICompactIndexEntry>): string {
  return Object.keys(gems)
    .sort()
    .filter((name) => gems[name].versions.length > 0)
    .map((name) => compactVersionsLine(name, gems[name].versions.map(versionKey), gems[name].infoMd5))
    .join('');
}

/** A gem as the compact index document records it; `infoMd5` is the MD5 of its `compactInfoFile`. */
export function compactIndexEntry(gem: IGemDocument, infoMd5: string): ICompactIndexEntry {
  return {
    revision: gem.revision,
    versions: servedVersions(gem).map((record) => ({ version: record.spec.version, platform: record.spec.platform })),
    infoMd5,
  };
}

/** `/names`: every gem with a served version, sorted. */
export function compactNamesFile(index: TServedIndex): string {
  const names = Object.keys(index)
    .filter((name) => index[name].length > 0)
    .sort();
  return ['---', ...names].join('\n') + '\n';
}

// ---- the JSON API ------------------------------------------------------------------------

/** The newest served release (else prerelease) of a gem, as the JSON API and search describe it; null when all are yanked. */
export function gemSummary(gem: IGemDocument): IGemSummary | null {
  // The highest release, else the highest version; of equal ones the first served (one pass, not a sort).
  let latest: IGemVersionRecord | undefined;
  let latestRelease: IGemVersionRecord | undefined;
  for (const record of servedVersions(gem)) {
    const version = record.spec.version;
    if (!latest || compareGemVersions(version, latest.spec.version) > 0) latest = record;
    if (!isPrerelease(version) && (!latestRelease || compareGemVersions(version, latestRelease.spec.version) > 0)) latestRelease = record;
  }
  latest = latestRelease ?? latest;
  if (!latest) return null;
  const spec = latest.spec;
  const dependencies = (type: 'runtime' | 'development') =>
    spec.dependencies.filter((dependency) => dependency.type === type).map((dependency) => ({ name: dependency.name, requirements: dependency.requirements.join(', ') }));
  return {
    name: gem.name,
    version: spec.version,
    platform: spec.platform,
    authors: spec.authors.join(', '),
    info: spec.description ?? spec.summary,
    licenses: spec.licenses,
    metadata: spec.metadata,
    sha: latest.sha256,
    homepage: spec.homepage,
    dependencies: { runtime: dependencies('runtime'), development: dependencies('development') },
  };
}

// ---- Marshal index files -----------------------------------------------------------------

const gemVersion = (version: string) => new RubyUserMarshal('Gem::Version', [version]);

type TSpecTuple = [name: string, version: string, platform: string];

/** Tuples of the served versions, sorted by name, version and platform as RubyGems' indexer does. */
function specTuples(index: TServedIndex, keep: (version: string) => boolean): TSpecTuple[] {
  const tuples: TSpecTuple[] = [];
  for (const [name, entries] of Object.entries(index)) {
    for (const entry of entries) if (keep(entry.version)) tuples.push([name, entry.version, entry.platform]);
  }
  return tuples.sort(
    (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || compareGemVersions(a[1], b[1]) || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0),
  );
}

/** The newest release of each gem and platform. */
function latestTuples(index: TServedIndex): TSpecTuple[] {
  const latest = new Map<string, TSpecTuple>();
  for (const tuple of specTuples(index, (version) => !isPrerelease(version))) latest.set(`${tuple[0]}\u0000${tuple[2]}`, tuple);
  return [...latest.values()];
}

/** `Marshal.dump([[name, Gem::Version.new(v), platform], …])`, before gzip. */
export function marshalSpecTuples(tuples: TSpecTuple[]): Buffer {
  return marshalDump(tuples.map(([name, version, platform]) => [name, gemVersion(version), platform]));
}

export type TSpecsFile = 'specs' | 'latest_specs' | 'prerelease_specs';

/** The Marshal bytes (not yet gzipped) of `specs.4.8`, `latest_specs.4.8` or `prerelease_specs.4.8`. */
export function specsFileMarshal(index: TServedIndex, which: TSpecsFile): Buffer {
  if (which === 'latest_specs') return marshalSpecTuples(latestTuples(index));
  return marshalSpecTuples(specTuples(index, (version) => isPrerelease(version) === (which === 'prerelease_specs')));
}

export const gzipBytes = (bytes: Uint8Array) => zlib.gzipSync(bytes);

const requirement = (requirements: string[]) =>
  new RubyUserMarshal('Gem::Requirement', [
    requirements.map((text) => {
      const [operator, version] = text.split(' ');
      return [operator, gemVersion(version)];
    }),
  ]);

/**
 * `Marshal.dump(spec)` of a Gem::Specification, as `Gem::Specification#_dump` lays it out (the
 * field order RubyGems' `_load` reads back). `date` is nil: `_load` then takes today.
 */
export function marshalGemSpecification(spec: IGemSpec): Buffer {
  const dependencies: TRubyValue[] = spec.dependencies.map(
    (dependency) =>
      new RubyObject('Gem::Dependency', [
        ['name', dependency.name],
        ['requirement', requirement(dependency.requirements)],
        ['type', new RubySymbol(dependency.type)],
        ['prerelease', false],
      ]),
  );
  const metadata = new Map<TRubyValue, TRubyValue>(Object.entries(spec.metadata));
  const fields: TRubyValue[] = [
    spec.rubygemsVersion,
    spec.specificationVersion,
    spec.name,
    gemVersion(spec.version),
    null,
    spec.summary,
    requirement(spec.requiredRubyVersion),
    requirement(spec.requiredRubygemsVersion),
    spec.platform,
    dependencies,
    '',
    spec.email,
    spec.authors,
    spec.description,
    spec.homepage,
    true,
    spec.platform,
    spec.licenses,
    metadata,
  ];
  return marshalDump(new RubyUserDump('Gem::Specification', marshalDump(fields)));
}

/** `/quick/Marshal.4.8/{name}-{version}.gemspec.rz`: the spec's Marshal bytes, zlib-deflated. */
export const quickGemspec = (spec: IGemSpec) => zlib.deflateSync(marshalGemSpecification(spec));
