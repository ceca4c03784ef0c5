/** Shapes of the OCI distribution protocol and of what the OCI registry keeps in storage. */

export type TDigestAlgorithm = 'sha256' | 'sha512';

export interface IParsedDigest {
  algorithm: TDigestAlgorithm;
  hex: string;
  /** `algorithm:hex`, normalised. */
  digest: string;
}

/** An OCI content descriptor (image-spec descriptor.md). */
export interface IOciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Record<string, unknown>;
  data?: string;
}

export type TManifestKind = 'image' | 'index';

/** What the registry needs to know about a pushed manifest; the bytes themselves stay untouched. */
export interface IParsedManifest {
  mediaType: string;
  kind: TManifestKind;
  /** Image manifests: the config blob. */
  config?: IOciDescriptor;
  /** Image manifests: layer blobs. */
  layers: IOciDescriptor[];
  /** Indexes: child manifests. */
  manifests: IOciDescriptor[];
  subject?: IOciDescriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The referrers API response: an image index of descriptors. */
export interface IReferrersIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: IOciDescriptor[];
}

/** `oci/blobs/{algorithm}/{hex}.json`: the blob's size and the immutable parts that hold its bytes, in order. */
export interface IBlobRecord {
  digest: string;
  size: number;
  parts: IBlobPart[];
  createdAt: string;
}

export interface IBlobPart {
  key: string;
  size: number;
}

/** A part of an upload in progress: its own sha256 serves as the blob's digest when it is the only part. */
export interface IUploadPart extends IBlobPart {
  /** sha256 of the upload from its first byte through this part, when one pass hashed them all. */
  through?: string;
  /** The part's own sha256, in sessions written before `through` (only a single part's is used). */
  sha256?: string;
}

/** `oci/repositories/{name}/_layers/...`: a repository may serve this blob. */
export interface ILayerLink {
  digest: string;
  size: number;
  linkedAt: string;
}

/** `oci/repositories/{name}/_manifests/...`: one pushed manifest of one repository. */
export interface IManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  /** The exact pushed bytes, base64. */
  data: string;
  /** Digest of the manifest's `subject`, when it has one. */
  subject?: string;
  createdAt: string;
}

/** `oci/repositories/{name}/_tags/{tag}` */
export interface ITagRecord {
  digest: string;
  updatedAt: string;
}

/** `oci/uploads/{uuid}.json`: an upload session any instance on the same bucket can continue. */
export interface IUploadSession {
  uuid: string;
  name: string;
  /** Bytes received so far (sum of part sizes). */
  size: number;
  parts: IUploadPart[];
  createdAt: string;
  updatedAt: string;
  /** Set while the closing PUT runs; the parts then belong to that blob, not to the cleanup. */
  completing?: { digest: string; at: string };
  /** Set by a cancel before it removes the parts: no completion or append may start any more. */
  cancelled?: boolean;
}

/** A scope as docker clients ask the token endpoint for it: `repository:library/nginx:pull,push`. */
export interface IRequestedScope {
  type: string;
  name: string;
  actions: string[];
}

/** `oci` options beyond the protocol's common ones: garbage collection and retention. */
export interface IOciOptions {
  garbageCollection?: IOciGarbageCollectionConfig;
  /** Per repository pattern; the first rule whose `repositories` matches a repository applies to it. */
  retention?: IOciRetentionRule[];
}

export interface IOciGarbageCollectionConfig {
  /**
   * Nothing written or used more recently than this is collected: an uploaded blob must be referenced by a
   * manifest within it. Milliseconds or a duration (`90s`, `30m`, `1h`, `7d`). Default 1h.
   */
  gracePeriod?: string | number;
  /** Upload sessions nobody touched for this long are removed with their data. Default 24h. */
  uploadMaxAge?: string | number;
  /** `serve` and `init()` run a collection this often; unset: only when asked (`collectGarbage`, `smartregistry gc`). */
  interval?: string | number;
}

/** Which tags and untagged manifests of matching repositories the collector keeps. */
export interface IOciRetentionRule {
  /** Repository name glob, the auth-scope dialect: `*` matches any run of characters, `/` included (`team/*`, `*`). */
  repositories: string;
  /** Keep the newest N tags (by when they were last pushed); older tags not kept otherwise are removed. Unset: every tag stays. */
  keepNewest?: number;
  /** Tags matching one of these globs are always kept and not counted in `keepNewest` (`v*`, `latest`). */
  keepTags?: string | string[];
  /**
   * Manifests no tag, no kept index and no kept subject references are deleted once older than this
   * (a duration; `0s` as soon as the grace period allows). Unset: untagged manifests stay, except those
   * whose tags this rule removed, which go with their tags.
   */
  deleteUntaggedAfter?: string | number;
}

/** What one garbage collection removed (or, in a dry run, would remove). */
export interface IOciGarbageCollectionReport {
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  /** Tags removed by retention rules. */
  tags: { repository: string; tag: string; digest: string }[];
  manifests: { repository: string; digest: string; size: number }[];
  /** Repository links to blobs no kept manifest of that repository references. */
  links: { repository: string; digest: string }[];
  /** Blobs no repository links any more: their record and bytes. */
  blobs: { digest: string; size: number }[];
  /** Abandoned upload sessions, with the bytes they had received. */
  uploads: { uuid: string; repository: string; size: number }[];
  /** Data parts no blob record and no upload session names (left by a process that died before writing the record). */
  parts: { key: string; size: number }[];
  /** Bytes of blob data, manifests, upload data and orphan parts removed. */
  bytesReclaimed: number;
}
