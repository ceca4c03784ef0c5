/**
 * Maven's wire format, pure: the repository layout, file names of SNAPSHOT builds, POM and
 * maven-metadata.xml parsing, and the metadata documents we generate. XML goes through
 * fast-xml-parser (validation, entity handling and escaping are its job, not ours).
 */
import * as crypto from 'node:crypto';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { revisionOrder } from '../core/classes.deriveddocuments.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { memoizeBounded } from '../core/helpers.memo.js';
import { isSnapshotVersion, sortMavenVersions } from './helpers.mavenversion.js';
import type {
  IMavenArtifactDocument,
  IMavenArtifactMetadata,
  IMavenGroupDocument,
  IMavenGroupMetadata,
  IMavenMetadataFile,
  IMavenSearchEntry,
  IMavenVersionRecord,
  TMavenPath,
} from './interfaces.maven.js';

export const METADATA_FILE = 'maven-metadata.xml';
export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha256', 'sha512'] as const;
export type TChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
const CHECKSUM_HEX_LENGTH: Record<TChecksumAlgorithm, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** Characters Maven coordinates and file names use; no leading dot, so no `..` or hidden names. */
const SEGMENT = /^[A-Za-z0-9_+~-][A-Za-z0-9_.+~-]*$/;
const MAX_SEGMENT_LENGTH = 200;

/** `foo.jar.sha1` → { base: 'foo.jar', algorithm: 'sha1' }; null for any other name. */
export function splitChecksumName(name: string): { base: string; algorithm: TChecksumAlgorithm } | null {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    if (name.endsWith(`.${algorithm}`) && name.length > algorithm.length + 1) {
      return { base: name.slice(0, -algorithm.length - 1), algorithm };
    }
  }
  return null;
}

/** Parse a checksum file's text: the hex digest, optionally followed by a file name (as `sha1sum` writes it). */
export function parseChecksumFile(text: string, algorithm: TChecksumAlgorithm): string {
  const hex = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (hex.length !== CHECKSUM_HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw RegistryError.invalid(`not a ${algorithm} checksum: expected ${CHECKSUM_HEX_LENGTH[algorithm]} hex digits`);
  }
  return hex;
}

/**
 * Digests a deploy announces in `X-Checksum-Md5|Sha1|Sha256|Sha512` headers (as repository managers
 * accept them): the body must have them, or nothing is stored.
 */
export function announcedChecksums(headers: Record<string, string | undefined>): Partial<Record<TChecksumAlgorithm, string>> {
  const announced: Partial<Record<TChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = headers[`x-checksum-${algorithm}`];
    if (value !== undefined) announced[algorithm] = parseChecksumFile(value, algorithm);
  }
  return announced;
}

/**
 * Where a path below the basePath points: a file `{group path}/{artifactId}/{version}/{file}`, a
 * maven-metadata.xml of some directory, or a directory (ends with `/`, or is empty). Segments must
 * be Maven coordinates; anything else is a 400. Remembered per path (every GET of a metadata file or
 * artifact parses the same few paths again); the answer is shared, so it is read-only.
 */
export const parseRepositoryPath = memoizeBounded(parseRepositoryPathOnce, 1000);

function parseRepositoryPathOnce(path: string): TMavenPath {
  const isDirectory = path === '' || path === '/' || path.endsWith('/');
  const segments = path.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment.length > MAX_SEGMENT_LENGTH) {
      throw RegistryError.invalid(`"${segment.slice(0, 50)}" is not a Maven path segment`);
    }
  }
  if (isDirectory) return { kind: 'directory', segments };
  const name = segments[segments.length - 1];
  const base = splitChecksumName(name)?.base ?? name;
  if (base === METADATA_FILE) return { kind: 'metadata', segments: segments.slice(0, -1) };
  if (segments.length < 4) {
    throw RegistryError.invalid('a Maven file lives at {group path}/{artifactId}/{version}/{file}');
  }
  return {
    kind: 'file',
    groupId: segments.slice(0, -3).join('.'),
    artifactId: segments[segments.length - 3],
    version: segments[segments.length - 2],
    file: name,
  };
}

/** Group paths by groupId: a metadata GET asks for its group's path several times, and replaceAll makes a new string each time. */
export const groupPathOf = memoizeBounded((groupId: string) => groupId.replaceAll('.', '/'), 1000);

export interface IMavenFileName {
  classifier?: string;
  extension: string;
  /** SNAPSHOT builds only: `yyyyMMdd.HHmmss` and build number. */
  timestamp?: string;
  buildNumber?: number;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Read `{artifactId}-{version}[-{classifier}].{extension}`; in a SNAPSHOT directory the version part
 * is `{base}-{yyyyMMdd.HHmmss}-{build}` or `{base}-SNAPSHOT`. Null for names that do not follow it.
 */
export function parseFileName(artifactId: string, version: string, file: string): IMavenFileName | null {
  const rest = `(?:-([^.]+))?\\.(.+)`;
  if (isSnapshotVersion(version)) {
    const base = escapeRegex(version.slice(0, -'-SNAPSHOT'.length));
    const timestamped = new RegExp(`^${escapeRegex(artifactId)}-${base}-(\\d{8}\\.\\d{6})-(\\d+)${rest}$`).exec(file);
    if (timestamped) {
      return { timestamp: timestamped[1], buildNumber: Number(timestamped[2]), classifier: timestamped[3], extension: timestamped[4] };
    }
  }
  const plain = new RegExp(`^${escapeRegex(artifactId)}-${escapeRegex(version)}${rest}$`).exec(file);
  return plain ? { classifier: plain[1], extension: plain[2] } : null;
}

/** `yyyyMMddHHmmss` in UTC, Maven's lastUpdated. */
export const formatLastUpdated = (date: Date) => date.toISOString().replace(/[-:T]/g, '').slice(0, 14);

// ---- XML in ------------------------------------------------------------------------------

/** Elements that repeat in maven-metadata.xml: always arrays, even with one entry. */
const LIST_PATHS = new Set([
  'metadata.versioning.versions.version',
  'metadata.plugins.plugin',
  'metadata.versioning.snapshotVersions.snapshotVersion',
  'project.dependencies.dependency',
]);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
  isArray: (_name, jpath) => LIST_PATHS.has(String(jpath)),
});

function parseXml(bytes: Uint8Array, what: string): Record<string, any> {
  const text = Buffer.from(bytes).toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw RegistryError.invalid(`${what}: DTDs and entities are not accepted`);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw RegistryError.invalid(`${what} is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  return parser.parse(text) as Record<string, any>;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Prose of a POM as written: its predefined and numeric character references read (entities are never expanded on parse). */
const prose = (value: unknown) =>
  text(value)?.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]{1,6}|#[0-9]{1,7});/g, (whole, name: string) => {
    if (!name.startsWith('#')) return XML_ENTITIES[name];
    const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });

export interface IPomDependency {
  groupId: string;
  artifactId: string;
  /** As written: a version, a range or a `${property}`; absent when a parent or BOM manages it. */
  version?: string;
  /** `compile` when the POM names none. */
  scope: string;
  optional: boolean;
}

export interface IPomInfo {
  groupId: string;
  artifactId: string;
  version: string;
  packaging: string;
  name?: string;
  description?: string;
  dependencies: IPomDependency[];
}

/** Read the coordinates of a POM (groupId and version may come from `<parent>`). */
export function parsePom(bytes: Uint8Array): IPomInfo {
  const project = parseXml(bytes, 'POM').project;
  if (!project || typeof project !== 'object') throw RegistryError.invalid('POM has no <project> element');
  const groupId = text(project.groupId) ?? text(project.parent?.groupId);
  const version = text(project.version) ?? text(project.parent?.version);
  const artifactId = text(project.artifactId);
  if (!groupId || !artifactId || !version) throw RegistryError.invalid('POM lacks groupId, artifactId or version');
  const dependencies = ((project.dependencies?.dependency ?? []) as Record<string, unknown>[]).flatMap((dependency) => {
    const dependencyGroup = text(dependency.groupId);
    const dependencyArtifact = text(dependency.artifactId);
    if (!dependencyGroup || !dependencyArtifact) return [];
    const dependencyVersion = text(dependency.version);
    return [{ groupId: dependencyGroup, artifactId: dependencyArtifact, ...(dependencyVersion ? { version: dependencyVersion } : {}), scope: text(dependency.scope) ?? 'compile', optional: text(dependency.optional) === 'true' }];
  });
  return { groupId, artifactId, version, packaging: text(project.packaging) ?? 'jar', name: text(project.name), description: prose(project.description), dependencies };
}

export interface IUploadedMetadata {
  groupId?: string;
  artifactId?: string;
  plugins: { artifactId: string; prefix: string; name?: string }[];
}

/** Read a client-uploaded maven-metadata.xml: checked, then only its plugin prefixes are kept. */
export function parseUploadedMetadata(bytes: Uint8Array): IUploadedMetadata {
  const metadata = parseXml(bytes, 'maven-metadata.xml').metadata;
  if (metadata === undefined) throw RegistryError.invalid('maven-metadata.xml has no <metadata> element');
  const plugins = ((metadata?.plugins?.plugin ?? []) as Record<string, unknown>[]).map((plugin) => {
    const artifactId = text(plugin.artifactId);
    const prefix = text(plugin.prefix);
    if (!artifactId || !prefix) throw RegistryError.invalid('a <plugin> in maven-metadata.xml lacks artifactId or prefix');
    return { artifactId, prefix, name: text(plugin.name) };
  });
  return { groupId: text(metadata?.groupId), artifactId: text(metadata?.artifactId), plugins };
}

// ---- XML out -----------------------------------------------------------------------------

const builder = new XMLBuilder({ format: true, indentBy: '  ', ignoreAttributes: false, suppressEmptyNode: true });
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const toXml = (metadata: Record<string, unknown>) => Buffer.from(XML_DECLARATION + builder.build({ metadata }), 'utf8');

/** Versions in Maven's order, `latest` the highest, `release` the highest non-SNAPSHOT. */
export function artifactVersioning(document: IMavenArtifactDocument) {
  const versions = sortMavenVersions(Object.keys(document.versions));
  const releases = versions.filter((version) => !isSnapshotVersion(version));
  return { versions, latest: versions[versions.length - 1], release: releases[releases.length - 1] };
}

export interface IGroupPlugin {
  name?: string;
  prefix: string;
  artifactId: string;
}

/**
 * maven-metadata.xml of a directory: artifact-level versioning when the directory is an artifact,
 * `<plugins>` when it is a group with plugins (a path can be both; Maven reads both parts).
 */
export function buildDirectoryMetadata(artifact: IMavenArtifactDocument | null, plugins: IGroupPlugin[]): Buffer {
  const metadata: Record<string, unknown> = {};
  if (artifact && Object.keys(artifact.versions).length > 0) {
    const { versions, latest, release } = artifactVersioning(artifact);
    metadata.groupId = artifact.groupId;
    metadata.artifactId = artifact.artifactId;
    metadata.versioning = { latest, release, versions: { version: versions }, lastUpdated: artifact.lastUpdated };
  }
  if (plugins.length > 0) {
    const sorted = [...plugins].sort((a, b) => (a.artifactId < b.artifactId ? -1 : 1));
    metadata.plugins = { plugin: sorted.map(({ name, prefix, artifactId }) => ({ name, prefix, artifactId })) };
  }
  return toXml(metadata);
}

/** Version-level maven-metadata.xml of a SNAPSHOT: the newest build and one entry per classifier/extension. */
export function buildSnapshotMetadata(artifact: IMavenArtifactDocument, version: string, record: IMavenVersionRecord): Buffer {
  const builds = record.snapshotBuilds ?? [];
  const newest = builds[builds.length - 1];
  const base = version.slice(0, -'-SNAPSHOT'.length);
  const entries = new Map<string, { classifier?: string; extension: string; value: string; updated: string }>();
  for (const build of builds) {
    const value = `${base}-${build.timestamp}-${build.buildNumber}`;
    for (const file of Object.keys(record.files)) {
      const parsed = parseFileName(artifact.artifactId, version, file);
      if (!parsed || parsed.timestamp !== build.timestamp || parsed.buildNumber !== build.buildNumber) continue;
      if (splitChecksumName(file) || parsed.extension.endsWith('.asc')) continue;
      // Later builds replace earlier ones: one entry per classifier and extension.
      entries.set(`${parsed.classifier ?? ''}:${parsed.extension}`, { classifier: parsed.classifier, extension: parsed.extension, value, updated: build.updated });
    }
  }
  return toXml({
    groupId: artifact.groupId,
    artifactId: artifact.artifactId,
    version,
    versioning: {
      snapshot: newest ? { timestamp: newest.timestamp, buildNumber: newest.buildNumber } : undefined,
      lastUpdated: record.lastUpdated,
      snapshotVersions: { snapshotVersion: [...entries.values()] },
    },
  });
}

/** Maven's plugin-prefix convention: `maven-foo-plugin` and `foo-maven-plugin` → `foo`. */
export function conventionalPluginPrefix(artifactId: string): string {
  return artifactId.replace(/^maven-(.+)-plugin$/, '$1').replace(/^(.+)-maven-plugin$/, '$1');
}

// ---- derived documents -------------------------------------------------------------------

/** A generated maven-metadata.xml with the checksums served beside it. */
export function metadataFile(bytes: Buffer): IMavenMetadataFile {
  const digest = (algorithm: string) => crypto.createHash(algorithm).update(bytes).digest('hex');
  return { xml: bytes.toString('utf8'), md5: digest('md5'), sha1: digest('sha1'), sha256: digest('sha256'), sha512: digest('sha512') };
}

/** Everything maven-metadata.xml an artifact document implies: its own and each SNAPSHOT version's. */
export function renderArtifactMetadata(artifact: IMavenArtifactDocument): IMavenArtifactMetadata {
  const snapshots: Record<string, IMavenMetadataFile> = {};
  for (const [version, record] of Object.entries(artifact.versions)) {
    if (isSnapshotVersion(version)) snapshots[version] = metadataFile(buildSnapshotMetadata(artifact, version, record));
  }
  return { revision: artifact.revision, artifact: metadataFile(buildDirectoryMetadata(artifact, [])), snapshots };
}

export const pluginsOf = (group: IMavenGroupDocument | null): IGroupPlugin[] =>
  Object.entries(group?.plugins ?? {}).map(([artifactId, plugin]) => ({ artifactId, prefix: plugin.prefix, name: plugin.name }));

/** A group's maven-metadata.xml (`<plugins>`), from its group document. */
export function renderGroupMetadata(group: IMavenGroupDocument): IMavenGroupMetadata {
  return { revision: group.revision, metadata: metadataFile(buildDirectoryMetadata(null, pluginsOf(group))) };
}

/** Versions kept in a search entry: the newest ones. */
const SEARCH_ENTRY_VERSIONS = 50;

export function toSearchEntry(artifact: IMavenArtifactDocument): IMavenSearchEntry {
  const { versions, latest, release } = artifactVersioning(artifact);
  return {
    name: `${artifact.groupId}:${artifact.artifactId}`,
    groupId: artifact.groupId,
    artifactId: artifact.artifactId,
    packaging: artifact.packaging ?? 'jar',
    ...(latest ? { latest } : {}),
    ...(release ? { release } : {}),
    versions: versions.slice(-SEARCH_ENTRY_VERSIONS),
    versionCount: versions.length,
    lastUpdated: artifact.lastUpdated,
    rev: revisionOrder(artifact.revision),
  };
}
