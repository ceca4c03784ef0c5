/**
 * Shapes of the Composer repository's documents: the truth this registry keeps per package, and the
 * version entries of Composer's v2 metadata (`/p2/{vendor}/{package}.json`) rendered from it.
 */

/** `dist` of a version entry: where Composer downloads the zip and the sha1 it checks it against. */
export interface IComposerDist {
  type: 'zip';
  /** Stored as `\u0000/dists/…` and prefixed with the public base URL on serve. */
  url: string;
  /** sha1 of the zip, hex: also the file's name in the dist URL. */
  reference: string;
  shasum: string;
}

/** One version as Composer's metadata lists it: composer.json's package fields plus these. */
export interface IComposerVersionEntry {
  name: string;
  version: string;
  version_normalized: string;
  dist: IComposerDist;
  /** ISO 8601 upload time. */
  time: string;
  [field: string]: unknown;
}

export interface IComposerVersionRecord {
  entry: IComposerVersionEntry;
  /** The stored zip of this upload (never overwritten; a dev branch's new upload gets a new one). */
  fileId: string;
  size: number;
  publishedBy: string;
}

/** The truth about one package, stored under its name (`vendor/package`, lower case by Composer's rules). */
export interface IComposerPackageDocument {
  v: 1;
  /** `{n}-{id}`: `n` orders revisions (derived documents), the whole tells two apart. */
  revision: string;
  name: string;
  /** Newest upload first. */
  versions: IComposerVersionRecord[];
  /**
   * Per thing derived from the document, the revision of the last change that altered it (absent in documents
   * written before these were kept: `revision` stands for each): an upload of a tagged version leaves `~dev.json`
   * as it is, and the search entry while the package's description and type stay.
   */
  derivedRevisions?: IComposerDerivedRevisions;
}

/** The p2 file of tagged versions, the `~dev.json` of dev branches, the search entry. */
export interface IComposerDerivedRevisions {
  tagged: string;
  dev: string;
  search: string;
}

/** The package's entry in the search index (from its newest upload). */
export interface IComposerSearchEntry {
  name: string;
  description: string;
  type: string;
  /** Revision order of the package document it was derived from. */
  rev: number;
}
