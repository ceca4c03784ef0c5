/**
 * What a protocol tells the web page about its packages. Each protocol implements this once, from its
 * own search index and truth documents; the page renders every protocol the same way.
 */

/** One search hit. */
export interface ICatalogueEntry {
  name: string;
  version?: string;
  description?: string;
}

export interface ICatalogueVersion {
  version: string;
  /** ISO 8601, when known. */
  published?: string;
  /** Dist-tags or OCI tags pointing at this version. */
  tags?: string[];
  /** Set (a reason, or '') when the version is yanked. */
  yanked?: string;
  /** Set (the message) when the version is deprecated. */
  deprecated?: string;
}

export interface ICatalogueDependency {
  name: string;
  requirement: string;
  /** 'dev', 'build', 'peer', 'optional' …; absent for ordinary runtime dependencies. */
  kind?: string;
}

export interface ICatalogueFile {
  name: string;
  size?: number;
  /** Algorithm → digest as the protocol states it (hex, or npm's SRI integrity). */
  digests: Record<string, string>;
}

export interface IInstallSnippet {
  label: string;
  text: string;
}

/** The page of one package, for one of its versions. */
export interface ICataloguePackage {
  name: string;
  /** The version the details (readme, dependencies, files, install) are of. */
  version?: string;
  latest?: string;
  description?: string;
  /** The long description; `text` is shown as it is, `markdown` is rendered and sanitised. */
  readme?: { format: 'markdown' | 'text'; text: string };
  license?: string;
  /** Newest first. */
  versions: ICatalogueVersion[];
  dependencies: ICatalogueDependency[];
  files: ICatalogueFile[];
  install: IInstallSnippet[];
  /** Protocol-specific facts as label → value rows (OCI platforms, referrers …); `version` links the row to that version's page. */
  facts?: { label: string; value: string; version?: string }[];
}

/** Public URLs of the protocol for one request, to write install snippets with. */
export interface ICatalogueUrls {
  /** The protocol's public base URL, without trailing slash. */
  baseUrl: string;
  /** The host's public URL, without basePath. */
  hostUrl: string;
}

export interface IPackageCatalogue {
  /** The scope resource a package's reads are checked on, as the protocol's routes do (`npm:package:left-pad`). */
  resourceOf(name: string): string;
  /** Ranked matches of the protocol's search (an empty query lists everything). */
  search(query: string, size: number, from: number): Promise<{ total: number; entries: ICatalogueEntry[] }>;
  /** The package page, for `version` or the latest; null when there is no such package or version. */
  describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null>;
  /**
   * The package a successful `publish` audit event names, as this catalogue names it; null for a publish
   * that is not one to list (a Maven checksum, an OCI manifest pushed by digest only). Absent: the
   * event's resource and version as they are.
   */
  publishedPackage?(resource: string, version: string | undefined): { name: string; version?: string } | null;
}
