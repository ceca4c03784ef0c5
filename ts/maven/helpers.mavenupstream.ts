/**
 * Maven's formats for the upstream proxy (pure): what a repository path is to the proxy — metadata
 * (revalidated), a checksum file, or an artifact (immutable, checked against the upstream's `.sha1`) —
 * and the `groupId:artifactId` name the upstreams' scope rules see.
 */
import { isSnapshotVersion } from './helpers.mavenversion.js';
import { parseFileName, parseRepositoryPath, splitChecksumName } from './helpers.maven.js';

export const upstreamFileUrl = (upstreamUrl: string, path: string) => `${upstreamUrl.replace(/\/+$/, '')}/${path}`;

export type TUpstreamMavenPath =
  /** A small text file kept as a document; `immutable` ones never need revalidation. */
  | { kind: 'document'; name: string; immutable: boolean; contentType: string }
  | { kind: 'artifact'; name: string };

/**
 * How the proxy treats `path`; null for what it does not proxy: directories, and SNAPSHOT files without
 * a timestamp (they change with every deploy; Maven asks for them by the timestamped name from the metadata).
 */
export function classifyUpstreamPath(path: string): TUpstreamMavenPath | null {
  const target = parseRepositoryPath(path);
  if (target.kind === 'directory') return null;
  const checksum = splitChecksumName(path.slice(path.lastIndexOf('/') + 1));
  const contentType = checksum ? 'text/plain; charset=utf-8' : 'application/xml';
  if (target.kind === 'metadata') {
    const segments = target.segments;
    if (segments.length < 2) return null;
    const versioned = segments.length >= 3 && isSnapshotVersion(segments[segments.length - 1]);
    const artifactId = segments[segments.length - (versioned ? 2 : 1)];
    const groupId = segments.slice(0, versioned ? -2 : -1).join('.');
    return { kind: 'document', name: `${groupId}:${artifactId}`, immutable: false, contentType };
  }
  const name = `${target.groupId}:${target.artifactId}`;
  const file = checksum?.base ?? target.file;
  const mutable = isSnapshotVersion(target.version) && parseFileName(target.artifactId, target.version, file)?.timestamp === undefined;
  if (checksum) return { kind: 'document', name, immutable: !mutable, contentType };
  return mutable ? null : { kind: 'artifact', name };
}

/** The hex digest in an upstream's `.sha1` file, or null when it holds none. */
export function parseUpstreamSha1(body: Buffer): string | null {
  const match = /^\s*([0-9a-fA-F]{40})(?:\s|$)/.exec(body.toString('utf8'));
  return match ? match[1].toLowerCase() : null;
}
