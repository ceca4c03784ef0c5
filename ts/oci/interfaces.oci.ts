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
  sha256: string;
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
}

/** A scope as docker clients ask the token endpoint for it: `repository:library/nginx:pull,push`. */
export interface IRequestedScope {
  type: string;
  name: string;
  actions: string[];
}
