/**
 * Shapes of the npm registry's documents, as the npm CLI, pnpm and yarn read and write them.
 * Only the fields this registry reads or writes are typed; everything else passes through.
 */

/** One person, as the registry lists maintainers and publishers. */
export interface INpmPerson {
  name: string;
  email?: string;
}

export interface INpmDist {
  /** Absolute URL when served; stored as PLACEHOLDER + path (see helpers.npm.ts). */
  tarball: string;
  shasum: string;
  integrity: string;
  fileCount?: number;
  unpackedSize?: number;
  [key: string]: unknown;
}

/** A version manifest: the package.json that was published, plus `dist` and bookkeeping. */
export interface INpmVersionManifest {
  name: string;
  version: string;
  description?: string;
  keywords?: string[] | string;
  deprecated?: string;
  dist: INpmDist;
  scripts?: Record<string, string>;
  _id?: string;
  _npmUser?: INpmPerson;
  maintainers?: INpmPerson[];
  readme?: string;
  readmeFilename?: string;
  [key: string]: unknown;
}

/** The full document ("packument") served for `GET /{name}` with `Accept: application/json`. */
export interface INpmPackument {
  _id: string;
  /** CouchDB-style revision `{n}-{hex}`; the unpublish flow sends it back in `/-rev/{rev}`. */
  _rev: string;
  name: string;
  description?: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, INpmVersionManifest>;
  /** `created`, `modified` and one entry per version, ISO 8601. */
  time: Record<string, string>;
  maintainers: INpmPerson[];
  readme?: string;
  readmeFilename?: string;
  keywords?: string[];
  license?: unknown;
  homepage?: unknown;
  repository?: unknown;
  bugs?: unknown;
  author?: unknown;
  [key: string]: unknown;
}

/** The abbreviated ("corgi") document for `Accept: application/vnd.npm.install-v1+json`. */
export interface INpmAbbreviatedPackument {
  /** Revision of the packument it was derived from: orders concurrent writes of derived documents. */
  _rev: string;
  name: string;
  modified: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, Record<string, unknown>>;
}

/** The body of `PUT /{name}` as `npm publish` sends it. */
export interface INpmPublishBody {
  _id?: string;
  name?: string;
  description?: string;
  'dist-tags'?: Record<string, unknown>;
  versions?: Record<string, unknown>;
  access?: string | null;
  readme?: string;
  _attachments?: Record<string, INpmAttachment | undefined>;
  [key: string]: unknown;
}

export interface INpmAttachment {
  content_type?: string;
  /** base64 of the tarball */
  data?: unknown;
  length?: unknown;
}

/** One package in the search index: what `GET /-/v1/search` answers with. */
export interface INpmSearchEntry {
  name: string;
  /** Revision number of the packument it was derived from (an older one never replaces a newer). */
  rev?: number;
  version: string;
  description?: string;
  keywords?: string[];
  /** ISO date of the latest publish */
  date: string;
  publisher?: string;
  maintainers: string[];
  deprecated?: boolean;
}

/** Options of the npm protocol handler beyond IProtocolConfig: `NpmRegistry`'s second constructor argument (through `protocolFactories`). */
export interface INpmRegistryOptions {
  /**
   * At most this many bytes of ready packument documents in memory (validated by etag on every
   * request); they share the registry's `cache.memoryBytes` with every other cache. Default: no cap of their own.
   */
  documentCacheBytes?: number;
  /** How long the search index may go without checking storage for other instances' changes. Default 1000 ms. */
  searchRevalidateMs?: number;
  /** How long a web login (`npm login`) may stay pending. Default 10 minutes. */
  loginSessionSeconds?: number;
  /** Web logins open at once, across instances; more answer 429. Default 1000. */
  maxLoginSessions?: number;
  /** Publishes (and other document PUTs) handled at once by this instance. Default 8. */
  maxConcurrentPublishes?: number;
  /** Publishes waiting for a turn, their bodies unread; more answer 429. Default 32. */
  maxWaitingPublishes?: number;
  /** Milliseconds since the epoch, for login session expiry (tests). */
  now?: () => number;
}
