/**
 * Shapes of the Cargo registry's documents: what `cargo publish` sends, what the sparse index
 * serves, and the crate document this registry keeps as the truth.
 */

/** A dependency as `cargo publish` describes it in the publish metadata. */
export interface ICargoPublishDependency {
  name: string;
  version_req: string;
  features: string[];
  optional: boolean;
  default_features: boolean;
  target: string | null;
  kind: 'normal' | 'dev' | 'build';
  /** Index URL of the dependency's registry; null or absent: this registry. */
  registry?: string | null;
  /** The name the dependency is known by in Cargo.toml when it was renamed (`package = …`). */
  explicit_name_in_toml?: string | null;
}

/** The JSON part of a publish request (only the fields this registry reads are typed). */
export interface ICargoPublishMetadata {
  name: string;
  vers: string;
  deps: ICargoPublishDependency[];
  features: Record<string, string[]>;
  description?: string | null;
  keywords?: string[];
  links?: string | null;
  rust_version?: string | null;
  /** The readme's text (cargo reads the crate's `readme` file, README.md by default). */
  readme?: string | null;
  [key: string]: unknown;
}

/** A dependency as one line of the index lists it. */
export interface ICargoIndexDependency {
  name: string;
  req: string;
  features: string[];
  optional: boolean;
  default_features: boolean;
  target: string | null;
  kind: 'normal' | 'dev' | 'build';
  registry?: string | null;
  /** The real crate name when `name` is a rename. */
  package?: string;
}

/** One version: one line of a sparse index file. */
export interface ICargoIndexEntry {
  name: string;
  vers: string;
  deps: ICargoIndexDependency[];
  cksum: string;
  features: Record<string, string[]>;
  /** Features using `dep:` or `?/` syntax, which older cargo cannot read; `v: 2` when present. */
  features2?: Record<string, string[]>;
  yanked: boolean;
  links: string | null;
  rust_version?: string;
  v?: 2;
}

export interface ICargoVersionRecord {
  entry: ICargoIndexEntry;
  /** Distinguishes this upload's stored .crate from any other (an interrupted one) of the same version. */
  fileId: string;
  size: number;
  publishedAt: string;
  publishedBy: string;
  /** Set when the publish sent a readme, stored beside the .crate. */
  readme?: true;
}

/**
 * The truth about one crate, stored under its normalised name (lower case, `_` as `-`), so names
 * differing only in case or `-`/`_` share one document and cannot both exist.
 */
export interface ICargoCrateDocument {
  v: 1;
  /** `{n}-{id}`: `n` orders revisions (derived documents), the whole tells two apart. */
  revision: string;
  /** The name as first published. */
  name: string;
  /** User ids; the first publisher is the first owner. */
  owners: string[];
  /** In publish order. */
  versions: ICargoVersionRecord[];
  /** From the latest publish, for search. */
  description?: string;
  keywords?: string[];
}

/** The crate's entry in the search index. */
export interface ICargoSearchEntry {
  name: string;
  max_version: string;
  description: string | null;
  keywords?: string[];
  /** Revision order of the crate document it was derived from. */
  rev: number;
}

/** What `cargo publish` prints back. */
export interface ICargoPublishWarnings {
  invalid_categories: string[];
  invalid_badges: string[];
  other: string[];
}
