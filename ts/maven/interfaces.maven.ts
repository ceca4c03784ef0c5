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

/** The truth about one artifact (`groupId:artifactId`); every maven-metadata.xml is derived from it. */
export interface IMavenArtifactDocument {
  groupId: string;
  artifactId: string;
  /** From the POM; `maven-plugin` puts the artifact into its group's `<plugins>`. */
  packaging?: string;
  /** Plugin prefix (`mvn prefix:goal`), from the client's group metadata or the artifactId convention. */
  pluginPrefix?: string;
  /** `<name>` of the POM, shown in the group's `<plugins>`. */
  name?: string;
  versions: Record<string, IMavenVersionRecord>;
  lastUpdated: string;
}

/** Where a request path points in the repository layout. */
export type TMavenPath =
  | { kind: 'file'; groupId: string; artifactId: string; version: string; file: string }
  | { kind: 'metadata'; segments: string[] }
  | { kind: 'directory'; segments: string[] };

/** `maven` in the registry configuration, beyond IProtocolConfig. */
export interface IMavenOptions {
  /** Timestamped builds kept per SNAPSHOT version; older ones are deleted. Default 10. */
  snapshotsToKeep?: number;
  /** Allow overwriting a release file (default false: 409). */
  allowRedeploy?: boolean;
  /** Clock for lastUpdated (tests). */
  now?: () => Date;
}
