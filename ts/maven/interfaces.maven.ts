/** Digests of one stored file, all computed in the upload's single pass. */
export interface IMavenFileRecord {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

/** One timestamped deploy of a SNAPSHOT version (`1.0-20261126.101010-1`). */
export interface IMavenSnapshotBuild {
  /** `yyyyMMdd.HHmmss` */
  timestamp: string;
  buildNumber: number;
  /** `yyyyMMddHHmmss`, when the build's last file arrived. */
  updated: string;
}

export interface IMavenVersionRecord {
  /** File name → digests. */
  files: Record<string, IMavenFileRecord>;
  /** `yyyyMMddHHmmss` */
  lastUpdated: string;
  /** SNAPSHOT versions: the builds kept, oldest first. */
  snapshotBuilds?: IMavenSnapshotBuild[];
}

/**
 * The truth about one artifact (`groupId:artifactId`); its maven-metadata.xml documents, its search
 * entry and its place in the group's `<plugins>` are derived from it.
 */
export interface IMavenArtifactDocument {
  /** `{n}-{id}`, new on every change: orders what is derived from it. */
  revision: string;
  groupId: string;
  artifactId: string;
  /** From the POM; `maven-plugin` puts the artifact into its group's `<plugins>`. */
  packaging?: string;
  /** `<name>` of the POM, shown in the group's `<plugins>`. */
  name?: string;
  versions: Record<string, IMavenVersionRecord>;
  lastUpdated: string;
}

/** A maven-metadata.xml as served, with its checksums (computed once, when it was derived). */
export interface IMavenMetadataFile {
  xml: string;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

/** Derived from an artifact document: its maven-metadata.xml, and each SNAPSHOT version's. */
export interface IMavenArtifactMetadata {
  revision: string;
  artifact: IMavenMetadataFile;
  snapshots: Record<string, IMavenMetadataFile>;
}

/** One maven-plugin of a group. */
export interface IMavenGroupPlugin {
  /** `mvn {prefix}:goal` */
  prefix: string;
  name?: string;
  /** Revision order of the artifact document it was derived from (an older one never replaces it). */
  source: number;
  /** The prefix came from a client's group metadata (kept over the artifactId convention). */
  fromClient?: boolean;
}

/** The truth about a group's maven-plugins; the group's maven-metadata.xml is derived from it. */
export interface IMavenGroupDocument {
  revision: string;
  plugins: Record<string, IMavenGroupPlugin>;
}

/** Derived from a group document: the group's maven-metadata.xml (`<plugins>`). */
export interface IMavenGroupMetadata {
  revision: string;
  metadata: IMavenMetadataFile;
}

/** One artifact in the search index. */
export interface IMavenSearchEntry {
  /** `groupId:artifactId` */
  name: string;
  groupId: string;
  artifactId: string;
  packaging: string;
  latest?: string;
  release?: string;
  /** The newest versions (at most the index's bound), in Maven's order. */
  versions: string[];
  versionCount: number;
  lastUpdated: string;
  /** Revision order of the artifact document. */
  rev: number;
}

/** Where a request path points in the repository layout (shared between requests of the same path: read-only). */
export type TMavenPath =
  | { readonly kind: 'file'; readonly groupId: string; readonly artifactId: string; readonly version: string; readonly file: string }
  | { readonly kind: 'metadata'; readonly segments: readonly string[] }
  | { readonly kind: 'directory'; readonly segments: readonly string[] };

/** `maven` in the registry configuration, beyond IProtocolConfig. */
export interface IMavenOptions {
  /** Timestamped builds kept per SNAPSHOT version; older ones are deleted. Default 10. */
  snapshotsToKeep?: number;
  /** Allow overwriting a release file (default false: 409). */
  allowRedeploy?: boolean;
  /** Other instances' deploys show in search after at most this long. Default 1 s. */
  searchRevalidateMs?: number;
  /** Clock for lastUpdated (tests). */
  now?: () => Date;
}
