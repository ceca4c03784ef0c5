/** One dependency as the compact index and the APIs list it. */
export interface IGemDependency {
  name: string;
  /** Requirements such as `>= 1.0`, `< 2`; joined by `&` in the compact index. */
  requirements: string[];
  type: 'runtime' | 'development';
}

/** What a pushed `.gem`'s gemspec says, read from its `metadata.gz`. */
export interface IGemSpec {
  name: string;
  version: string;
  /** `ruby` for a pure-Ruby gem, else `x86_64-linux` and the like. */
  platform: string;
  dependencies: IGemDependency[];
  requiredRubyVersion: string[];
  requiredRubygemsVersion: string[];
  summary: string;
  description: string | null;
  authors: string[];
  email: string | null;
  homepage: string | null;
  licenses: string[];
  metadata: Record<string, string>;
  rubygemsVersion: string;
  specificationVersion: number;
}

/** One stored version of a gem: its spec and what the registry learned on push. */
export interface IGemVersionRecord {
  spec: IGemSpec;
  /** sha256 hex of the `.gem` file. */
  sha256: string;
  size: number;
  createdAt: string;
  yanked: boolean;
  pushedBy: string;
  /** Upload id of the stored `.gem` (see storage.paths.ts). */
  file: string;
}

/** The truth about one gem: `rubygems/gems/{name}/gem.json`; everything else is derived from it. */
export interface IGemDocument {
  v: 1;
  /** `{n}-{id}`: orders the documents derived from it. */
  revision: string;
  name: string;
  owners: string[];
  /** By `fullVersion` (`1.0.0` or `1.0.0-x86_64-linux`). */
  versions: Record<string, IGemVersionRecord>;
  /**
   * The revision of the last change to what search finds the gem by (see IGemSearchEntry): a push that leaves it as
   * it was does not write the search entry again. Absent in documents written before it: `revision` stands for it.
   */
  searchRevision?: string;
}

/** A served (not yanked) version as the registry-wide files list it. */
export interface IServedVersion {
  version: string;
  platform: string;
}

/** Gem name → its served versions: what `/names` and the Marshal specs files are made of. */
export type TServedIndex = Record<string, IServedVersion[]>;

/** One gem in the compact index document, derived from its gem.json at `revision`. */
export interface ICompactIndexEntry {
  revision: string;
  versions: IServedVersion[];
  /** MD5 hex of the gem's `/info` file, as its last `/versions` line says. */
  infoMd5: string;
}

/**
 * `rubygems/compact-index.json`: every gem's served versions, and the `/versions` file as the format
 * intends it: a header from `createdAt`, then one line appended for each change.
 */
export interface ICompactIndexDocument {
  v: 1;
  createdAt: string;
  gems: Record<string, ICompactIndexEntry>;
  /** The lines after the header, in the order they were appended. */
  lines: string;
}

/** `rubygems/gems/{name}/info.json`: the `/info/{gem}` file derived from gem.json at `revision`. */
export interface IStoredInfo {
  revision: string;
  info: string;
  md5: string;
  sha256: string;
}

/** What the JSON API and search say about a gem: its newest served version (a release before a prerelease). */
export interface IGemSummary {
  name: string;
  version: string;
  platform: string;
  authors: string;
  info: string;
  licenses: string[];
  metadata: Record<string, string>;
  sha: string;
  homepage: string | null;
  dependencies: { runtime: IGemSummaryDependency[]; development: IGemSummaryDependency[] };
}

export interface IGemSummaryDependency {
  name: string;
  requirements: string;
}

/**
 * A gem in the core search index: what it is found by, its name and the description of its newest served version,
 * which most pushes leave as it was. What a search answers about it is read from its gem.json.
 */
export interface IGemSearchEntry {
  name: string;
  info: string;
  /** Order of the gem.json `searchRevision` it was derived from. */
  rev: number;
}

export interface IRubyGemsRegistryOptions {
  /** Other instances' pushes show in search after at most this long; lost index writes are looked for as often. Default 1 s. */
  revalidateMs?: number;
  /**
   * `/versions` is started anew (one line per gem, a new `created_at`) once its lines pass this many bytes and twice
   * what one line per gem would say. Default 64 KiB; tests lower it.
   */
  versionsCompactionBytes?: number;
  now?: () => Date;
}
