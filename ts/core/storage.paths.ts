/**
 * The storage layout, written down once. Protocols ask this file for keys; they never build key
 * strings themselves. Name segments are validated before they reach here (see helpers.path.ts).
 *
 *   admin.json                            the `smartregistry serve` admin (scrypt hash)
 *   auth/
 *     jwt-secret.json                     shared HS256 secret when none is configured
 *     users/{username}.json               users created at run time (scrypt hash, scopes)
 *     tokens/{sha256(token)}.json         token records, looked up by hash
 *     user-tokens/{userId}/{sha256}       one empty marker per token, to list a user's tokens
 *     revoked-jwt/{jti}.json              revoked OCI JWTs until they expire (pruned on revoke)
 *   probes/conditional-write-{uuid}       written and removed by the conditional-write probe (S3 start-up, readiness)
 *   probes/readiness                      never written: readiness stats it to see that storage answers
 *   web/recent-publishes.json             the web page's newest publishes across protocols (bounded, conditional writes)
 *   web/session-key.json                  the key signing the web page's sign-in cookies, made once, shared by every instance
 *   oci/  npm/  maven/  cargo/  composer/  pypi/  rubygems/   each protocol's own tree, below
 *
 *   oci/
 *     blobs/{algorithm}/{hex}.json        blob record, written once: size and the data parts holding its bytes
 *     blob-data/{uploadId}/{partId}       blob bytes as uploaded (one part per PATCH/PUT body), never rewritten
 *     repositories/{name}/                one tree per repository (name components never start with `_`)
 *       _layers/{algorithm}/{hex}         link: this repository may serve that blob
 *       _manifests/{algorithm}/{hex}.json manifest record: the exact pushed bytes, media type, subject
 *       _tags/{tag}                       { digest } of the manifest the tag points at
 *       _referrers/{algorithm}/{subjectHex}/{algorithm}-{hex}   descriptor of a manifest with that subject
 *     names/{name},                       marker: the repository exists (listed by /v2/_catalog). The name keeps its
 *                                         slashes and ends in `,`, which sorts before every name character, so keys
 *                                         sort as the names do (`a` < `a-b` < `a/b`) and a page is one listing
 *     catalog/{encodeURIComponent(name)}  the markers of before 2026-12 (`%2F` sorts apart from `/`): moved to
 *                                         names/ at start-up
 *     uploads/{uuid}.json                 upload session: repository, parts received so far, timestamps
 *
 *   npm/
 *     packages/{name}/                    one tree per package; {name} is `foo` or `@scope/foo`
 *       packument.json                    full document, ready to serve; tarball URLs stored as "\u0000/{path}"
 *                                         and prefixed with the base URL on serve; the truth (conditional writes)
 *       abbreviated.json                  install ("corgi") document derived from packument.json, ready to serve
 *       tarballs/{name}-{version}.tgz     the tarballs ({name} without scope)
 *     search/shard-{00..7f}.json          search index: 128 shards by sha1(name), { name: entry }
 *     login/{sha256(loginId)}.json        pending `npm login` web sessions (minutes)
 *
 *   maven/
 *     files/{group path}/{artifactId}/{version}/{file}   deployed files, bytes as uploaded
 *     artifacts/{group path}/{artifactId}/@artifact.json the truth about an artifact: versions, files with
 *                                         their digests, SNAPSHOT builds, revision (conditional writes)
 *     artifacts/{group path}/{artifactId}/@metadata.json derived from @artifact.json: the artifact's
 *                                         maven-metadata.xml and each SNAPSHOT version's, with their checksums
 *     artifacts/{group path}/@plugins.json the truth about a group's maven-plugins: { artifactId: { prefix, name } }
 *     artifacts/{group path}/@group-metadata.json derived from @plugins.json: the group's maven-metadata.xml
 *                                         (`@` never occurs in a coordinate, so these never meet a path segment)
 *     search/shard-{00..3f}.json          search index: 64 shards by sha1(groupId:artifactId), { name: entry }
 *
 *   cargo/
 *     crates/{normalized}/                one tree per crate; {normalized}: the name lower-cased, `_` as `-`
 *       crate.json                        the truth: name, owners, each version's index line (conditional writes)
 *       index.json                        the sparse index file derived from crate.json, with its revision
 *       files/{version}/{fileId}.crate    uploaded .crate files; the truth names the one of each version
 *       files/{version}/{fileId}.readme   the readme `cargo publish` sent with that upload (Markdown), when it sent one
 *     search/shard-{00..3f}.json          search index: 64 shards by sha1(name), { name: entry }
 *   pypi/
 *     projects/{normalized name}/         one tree per project (PEP 503 normalised name)
 *       project.json                      the truth: releases, files with digests, yanks (conditional writes)
 *       files/{uploadId}                  a distribution file, stored once per upload (never overwritten)
 *       metadata/{uploadId}               the PEP 658 metadata file of a wheel, written by uploads before it was read from the wheel
 *     names/{normalized name}             marker: the project exists (listed by /simple/)
 *     search/shard-{00..3f}.json          search index: 64 shards by sha1(name), { name: entry }
 *
 *   composer/
 *     packages/{vendor}/{package}/        one tree per package (Composer's lower-case name rule)
 *       package.json                      the truth: every version's metadata entry, its zip (conditional writes)
 *       p2.json                           `/p2/{vendor}/{package}.json` (tagged versions) derived from package.json
 *       p2-dev.json                       `/p2/{vendor}/{package}~dev.json` (dev branches) derived from package.json
 *       dists/{fileId}.zip                uploaded zips, one per upload (never overwritten)
 *     names/{vendor}/{package}            marker: the package exists (packages.json, list.json)
 *     search/shard-{00..3f}.json          search index: 64 shards by sha1(name), { name: entry }
 *
 *   rubygems/
 *     gems/{name}/                        one tree per gem
 *       gem.json                          the truth: owners, every version's spec, sha256, yanked (conditional writes)
 *       info.json                         the compact index `/info/{name}` file derived from gem.json, with its revision
 *     gem-files/{uuid}.gem                pushed `.gem` files, stored as they stream in (the name is known only
 *                                         once metadata.gz is read); gem.json names each one
 *     compact-index.json                  derived from every gem.json: served versions and the `/versions` file's
 *                                         appended lines (behind /versions, /names and the Marshal specs files)
 *     search/shard-{00..3f}.json          search index: 64 shards by sha1(name), { name: entry }
 *
 *   upstream/{protocol}/{upstreamId}/     what one upstream answered, cached by the proxy (ts/upstream/); {key}
 *                                         is sha256 of the protocol's cache key for it (a path, a digest)
 *     documents/{key}                     a metadata answer: one JSON line (status, validators, fetchedAt), then the body
 *     artifacts/{key}                     an immutable artifact's bytes, verified against the upstream's digest
 *     artifacts/{key}.json                its record (cache key, size, digests, content type), written once the bytes are
 *     read/{key}                          { readAt } of the artifact, rewritten at most daily when it is served (cleanup)
 */
import { sha256Hex } from './helpers.hash.js';

const encodeUserId = (userId: string) => encodeURIComponent(userId);

/** Keys of core itself, outside every protocol's tree. */
export const corePaths = {
  conditionalWriteProbe: (id: string) => `probes/conditional-write-${id}`,
  readinessProbe: () => 'probes/readiness',
};

/** The web page's own documents. */
export const webPaths = {
  recentPublishes: () => 'web/recent-publishes.json',
  sessionKey: () => 'web/session-key.json',
};

export const authPaths = {
  /** The admin of `smartregistry serve` (a scrypt hash), at the root so it is easy to find and reset. */
  serveAdmin: () => 'admin.json',
  jwtSecret: () => 'auth/jwt-secret.json',
  user: (username: string) => `auth/users/${encodeUserId(username)}.json`,
  token: (tokenHash: string) => `auth/tokens/${tokenHash}.json`,
  userTokensPrefix: (userId: string) => `auth/user-tokens/${encodeUserId(userId)}/`,
  userToken: (userId: string, tokenHash: string) => `auth/user-tokens/${encodeUserId(userId)}/${tokenHash}`,
  revokedJwtPrefix: () => 'auth/revoked-jwt/',
  revokedJwt: (jti: string) => `auth/revoked-jwt/${encodeURIComponent(jti)}.json`,
  hashToken: (token: string) => sha256Hex(token),
};

const ociRepository = (name: string) => `oci/repositories/${name}`;

/** OCI: names and tags are checked against the spec's grammar, digests parsed, before they get here. */
export const ociPaths = {
  blobRecord: (algorithm: string, hex: string) => `oci/blobs/${algorithm}/${hex}.json`,
  blobDataPrefix: (uploadId: string) => `oci/blob-data/${uploadId}/`,
  blobData: (uploadId: string, partId: string) => `oci/blob-data/${uploadId}/${partId}`,
  allBlobDataPrefix: () => 'oci/blob-data/',
  /** Inverse of blobData: the upload a part was written for, or null for other keys. */
  blobDataUpload: (key: string): string | null => /^oci\/blob-data\/([^/]+)\/[^/]+$/.exec(key)?.[1] ?? null,
  layerLink: (name: string, algorithm: string, hex: string) => `${ociRepository(name)}/_layers/${algorithm}/${hex}`,
  manifest: (name: string, algorithm: string, hex: string) => `${ociRepository(name)}/_manifests/${algorithm}/${hex}.json`,
  tagsPrefix: (name: string) => `${ociRepository(name)}/_tags/`,
  tag: (name: string, tag: string) => `${ociRepository(name)}/_tags/${tag}`,
  referrersPrefix: (name: string, algorithm: string, subjectHex: string) =>
    `${ociRepository(name)}/_referrers/${algorithm}/${subjectHex}/`,
  referrer: (name: string, algorithm: string, subjectHex: string, referrerAlgorithm: string, referrerHex: string) =>
    `${ociRepository(name)}/_referrers/${algorithm}/${subjectHex}/${referrerAlgorithm}-${referrerHex}`,
  catalogPrefix: () => 'oci/names/',
  catalogEntry: (name: string) => `oci/names/${name},`,
  /** Inverse of catalogEntry. */
  catalogName: (key: string) => key.slice('oci/names/'.length, -1),
  legacyCatalogPrefix: () => 'oci/catalog/',
  legacyCatalogName: (key: string) => decodeURIComponent(key.slice('oci/catalog/'.length)),
  blobRecordsPrefix: () => 'oci/blobs/',
  /** Inverse of blobRecord: `algorithm:hex`, or null for other keys. */
  blobRecordDigest: (key: string): string | null => {
    const match = /^oci\/blobs\/([a-z0-9]+)\/([a-f0-9]+)\.json$/.exec(key);
    return match ? `${match[1]}:${match[2]}` : null;
  },
  repositoriesPrefix: () => 'oci/repositories/',
  /**
   * Inverse of layerLink, manifest, tag and referrer: which repository a key belongs to and what it is
   * (`digest` is `algorithm:hex`). Null for keys outside that layout.
   */
  repositoryEntry: (key: string): { name: string; kind: 'layer' | 'manifest' | 'tag' | 'referrer'; digest?: string; tag?: string } | null => {
    if (!key.startsWith('oci/repositories/')) return null;
    const rest = key.slice('oci/repositories/'.length);
    // Name components never start with `_`: the first `/_` ends the name.
    const at = rest.indexOf('/_');
    if (at <= 0) return null;
    const name = rest.slice(0, at);
    const [area, ...tail] = rest.slice(at + 1).split('/');
    if (area === '_layers' && tail.length === 2) return { name, kind: 'layer', digest: `${tail[0]}:${tail[1]}` };
    if (area === '_manifests' && tail.length === 2 && tail[1].endsWith('.json')) {
      return { name, kind: 'manifest', digest: `${tail[0]}:${tail[1].slice(0, -'.json'.length)}` };
    }
    if (area === '_tags' && tail.length === 1) return { name, kind: 'tag', tag: tail[0] };
    if (area === '_referrers') return { name, kind: 'referrer' };
    return null;
  },
  uploadsPrefix: () => 'oci/uploads/',
  upload: (uuid: string) => `oci/uploads/${uuid}.json`,
  /** Inverse of upload: the session's uuid, or null for other keys. */
  uploadId: (key: string): string | null => /^oci\/uploads\/([^/]+)\.json$/.exec(key)?.[1] ?? null,
};

/** npm: package names pass npm's name rules (helpers.npm.ts) before they get here. */
export const npmPaths = {
  packument: (name: string) => `npm/packages/${name}/packument.json`,
  abbreviated: (name: string) => `npm/packages/${name}/abbreviated.json`,
  tarball: (name: string, file: string) => `npm/packages/${name}/tarballs/${file}`,
  packagesPrefix: () => 'npm/packages/',
  /** The package whose packument is stored at `key`; null for any other key. */
  packumentName: (key: string): string | null => {
    const match = /^npm\/packages\/(.+)\/packument\.json$/.exec(key);
    return match ? match[1] : null;
  },
  searchShard: (shard: number) => `npm/search/shard-${shard.toString(16).padStart(2, '0')}.json`,
  loginSessionsPrefix: () => 'npm/login/',
  loginSession: (loginIdHash: string) => `npm/login/${loginIdHash}.json`,
};

/** Maven: every segment matched Maven's coordinate characters (helpers.maven.ts) before it gets here. */
export const mavenPaths = {
  file: (groupPath: string, artifactId: string, version: string, file: string) =>
    `maven/files/${groupPath}/${artifactId}/${version}/${file}`,
  versionPrefix: (groupPath: string, artifactId: string, version: string) => `maven/files/${groupPath}/${artifactId}/${version}/`,
  artifactFilesPrefix: (groupPath: string, artifactId: string) => `maven/files/${groupPath}/${artifactId}/`,
  artifact: (groupPath: string, artifactId: string) => `maven/artifacts/${groupPath}/${artifactId}/@artifact.json`,
  artifactMetadata: (groupPath: string, artifactId: string) => `maven/artifacts/${groupPath}/${artifactId}/@metadata.json`,
  groupPlugins: (groupPath: string) => `maven/artifacts/${groupPath}/@plugins.json`,
  groupMetadata: (groupPath: string) => `maven/artifacts/${groupPath}/@group-metadata.json`,
  searchShard: (shard: number) => `maven/search/shard-${shard.toString(16).padStart(2, '0')}.json`,
  /** Artifact documents at and below a directory ('' for the root). */
  artifactsPrefix: (directory: string) => (directory ? `maven/artifacts/${directory}/` : 'maven/artifacts/'),
  /** Inverse of `artifact`: the directory segments `{group path}/{artifactId}`, or null for other keys. */
  artifactDirectoryOf: (key: string) =>
    key.startsWith('maven/artifacts/') && key.endsWith('/@artifact.json')
      ? key.slice('maven/artifacts/'.length, -'/@artifact.json'.length)
      : null,
};

/** Cargo: names pass cargo's rules and are normalised (helpers.cargo.ts) before they get here. */
export const cargoPaths = {
  cratesPrefix: () => 'cargo/crates/',
  crate: (normalized: string) => `cargo/crates/${normalized}/crate.json`,
  /** Is `key` a crate's truth document (crate.json)? */
  isCrateDocument: (key: string) => /^cargo\/crates\/[^/]+\/crate\.json$/.test(key),
  index: (normalized: string) => `cargo/crates/${normalized}/index.json`,
  crateFile: (normalized: string, version: string, fileId: string) => `cargo/crates/${normalized}/files/${version}/${fileId}.crate`,
  crateReadme: (normalized: string, version: string, fileId: string) => `cargo/crates/${normalized}/files/${version}/${fileId}.readme`,
  searchShard: (shard: number) => `cargo/search/shard-${shard.toString(16).padStart(2, '0')}.json`,
};

/** PyPI: project names are PEP 508 names, normalised (PEP 503); upload ids are UUIDs. */
export const pypiPaths = {
  project: (name: string) => `pypi/projects/${name}/project.json`,
  file: (name: string, uploadId: string) => `pypi/projects/${name}/files/${uploadId}`,
  metadata: (name: string, uploadId: string) => `pypi/projects/${name}/metadata/${uploadId}`,
  namesPrefix: () => 'pypi/names/',
  name: (name: string) => `pypi/names/${name}`,
  /** Inverse of `name`. */
  nameOf: (key: string) => key.slice('pypi/names/'.length),
  searchShard: (shard: number) => `pypi/search/shard-${shard.toString(16).padStart(2, '0')}.json`,
};

/** Composer: names pass Composer's name rule (helpers.composer.ts), so `{vendor}/{package}` is two safe segments. */
export const composerPaths = {
  package: (name: string) => `composer/packages/${name}/package.json`,
  metadata: (name: string, dev: boolean) => `composer/packages/${name}/${dev ? 'p2-dev' : 'p2'}.json`,
  dist: (name: string, fileId: string) => `composer/packages/${name}/dists/${fileId}.zip`,
  namesPrefix: () => 'composer/names/',
  name: (name: string) => `composer/names/${name}`,
  /** Inverse of `name`. */
  nameOf: (key: string) => key.slice('composer/names/'.length),
  searchShard: (shard: number) => `composer/search/shard-${shard.toString(16).padStart(2, '0')}.json`,
};

/** Who a stored object belongs to, for the storage report. */
export interface IKeyOwner {
  /** 'core' for users, tokens, probes and the web page's documents. */
  protocol: string;
  /** The package, image repository, crate, project or `group:artifact`; or a parenthesised name for objects no single one owns. */
  owner: string;
}

const SHARED = {
  ociBlobs: '(blobs, shared by repositories)',
  uploads: '(uploads in progress)',
  search: '(search index)',
  sessions: '(login sessions)',
  metadata: '(group metadata)',
  other: '(other)',
};

/** Key → owner, per protocol, by the layout drawn at the top of this file. */
const OWNER_OF: Record<string, (segments: string[]) => string> = {
  oci: ([area, ...rest]) => {
    if (area === 'repositories') {
      const end = rest.findIndex((segment) => segment.startsWith('_'));
      return rest.slice(0, end === -1 ? rest.length : end).join('/');
    }
    if (area === 'names' && rest.length > 0) return rest.join('/').slice(0, -1);
    if (area === 'catalog' && rest.length === 1) return decodeURIComponent(rest[0]);
    if (area === 'blobs' || area === 'blob-data') return SHARED.ociBlobs;
    return area === 'uploads' ? SHARED.uploads : SHARED.other;
  },
  npm: ([area, ...rest]) => {
    if (area === 'packages') return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return area === 'search' ? SHARED.search : area === 'login' ? SHARED.sessions : SHARED.other;
  },
  maven: ([area, ...rest]) => {
    // files/{group path}/{artifactId}/{version}/{file}; artifacts/{group path}/{artifactId}/@artifact.json and @metadata.json
    const artifactDocument = rest.at(-1) === '@artifact.json' || rest.at(-1) === '@metadata.json';
    const artifactEnd = area === 'files' ? rest.length - 2 : area === 'artifacts' && artifactDocument ? rest.length - 1 : -1;
    if (area === 'search') return SHARED.search;
    if (artifactEnd < 2) return area === 'artifacts' ? SHARED.metadata : SHARED.other;
    return `${rest.slice(0, artifactEnd - 1).join('.')}:${rest[artifactEnd - 1]}`;
  },
  cargo: ([area, ...rest]) => (area === 'crates' ? rest[0] : area === 'search' ? SHARED.search : SHARED.other),
  pypi: ([area, ...rest]) => (area === 'projects' || area === 'names' ? rest[0] : area === 'search' ? SHARED.search : SHARED.other),
  composer: ([area, ...rest]) =>
    (area === 'packages' || area === 'names') && rest.length >= 2 ? `${rest[0]}/${rest[1]}` : area === 'search' ? SHARED.search : SHARED.other,
  // .gem files are named by upload id, not by gem: they count as shared until gem.json is read.
  rubygems: ([area, ...rest]) => (area === 'gems' ? rest[0] : area === 'search' ? SHARED.search : SHARED.other),
};

export const reportPaths = {
  /** Where each protocol's objects are, to list one protocol alone. */
  protocolPrefix: (protocol: string) => `${protocol}/`,
  ownerOf: (key: string): IKeyOwner => {
    const [first, ...rest] = key.split('/');
    const ownerOf = OWNER_OF[first];
    if (ownerOf && rest.length > 1) return { protocol: first, owner: ownerOf(rest) || SHARED.other };
    // auth/, probes/, admin.json; a protocol this table does not know yet counts under its own name.
    if (rest.length === 0 || first === 'auth' || first === 'probes' || first === 'web') return { protocol: 'core', owner: first === 'auth' ? rest[0] ?? first : first };
    return { protocol: first, owner: SHARED.other };
  },
};

/** The upstream cache: `key` is the protocol's own cache key (a path or a digest), stored hashed. */
export const upstreamPaths = {
  document: (protocol: string, upstreamId: string, key: string) => `upstream/${protocol}/${upstreamId}/documents/${sha256Hex(key)}`,
  artifact: (protocol: string, upstreamId: string, key: string) => `upstream/${protocol}/${upstreamId}/artifacts/${sha256Hex(key)}`,
  artifactRecord: (protocol: string, upstreamId: string, key: string) => `upstream/${protocol}/${upstreamId}/artifacts/${sha256Hex(key)}.json`,
  readMarker: (protocol: string, upstreamId: string, key: string) => `upstream/${protocol}/${upstreamId}/read/${sha256Hex(key)}`,
  protocolPrefix: (protocol: string) => `upstream/${protocol}/`,
  /** Is `key` an artifact record (the unit the cleanup removes)? */
  isArtifactRecord: (key: string) => /^upstream\/[^/]+\/[^/]+\/artifacts\/[0-9a-f]{64}\.json$/.test(key),
};

/** RubyGems: gem names pass the gem name rule (helpers.gemspec.ts) before they get here. */
export const rubygemsPaths = {
  gemsPrefix: () => 'rubygems/gems/',
  gem: (name: string) => `rubygems/gems/${name}/gem.json`,
  /** Inverse of `gem`: the gem a key is the truth of, or null for other keys. */
  gemOf: (key: string) => /^rubygems\/gems\/([^/]+)\/gem\.json$/.exec(key)?.[1] ?? null,
  info: (name: string) => `rubygems/gems/${name}/info.json`,
  gemFile: (uploadId: string) => `rubygems/gem-files/${uploadId}.gem`,
  compactIndex: () => 'rubygems/compact-index.json',
  searchShard: (shard: number) => `rubygems/search/shard-${shard.toString(16).padStart(2, '0')}.json`,
};
