/**
 * OCI's formats for the upstream proxy (pure): where an upstream keeps a repository's manifests and
 * blobs, which manifest types we accept from it, and how a manifest answer is checked.
 */
import * as crypto from 'node:crypto';
import { MEDIA_TYPE } from './helpers.oci.js';
import type { IParsedDigest } from './interfaces.oci.js';
import type { IUpstreamRegistryConfig } from '../upstream/interfaces.upstream.js';

/** Every manifest type we can serve, as the Accept header of a manifest request. */
export const MANIFEST_ACCEPT = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.dockerManifest].join(', ');

/** The repository's name at the upstream: single-segment names below `ociDefaultNamespace` (Docker Hub's `library/`). */
export function upstreamRepositoryName(upstream: IUpstreamRegistryConfig, name: string): string {
  const namespace = upstream.ociDefaultNamespace?.replace(/^\/+|\/+$/g, '');
  return namespace && !name.includes('/') ? `${namespace}/${name}` : name;
}

const v2Base = (upstream: IUpstreamRegistryConfig) => `${upstream.url.replace(/\/+$/, '').replace(/\/v2$/, '')}/v2`;

export const upstreamManifestUrl = (upstream: IUpstreamRegistryConfig, name: string, reference: string) =>
  `${v2Base(upstream)}/${upstreamRepositoryName(upstream, name)}/manifests/${reference}`;

export const upstreamBlobUrl = (upstream: IUpstreamRegistryConfig, name: string, digest: string) =>
  `${v2Base(upstream)}/${upstreamRepositoryName(upstream, name)}/blobs/${digest}`;

export interface IUpstreamManifest {
  digest: string;
  mediaType: string;
}

/**
 * A manifest an upstream sent: its media type must be one we serve, and when we asked by digest (or
 * the upstream named one) the bytes must have it. Null when the answer is not usable.
 */
export function checkUpstreamManifest(bytes: Buffer, contentType: string | undefined, expected: IParsedDigest | null): IUpstreamManifest | null {
  const mediaType = (contentType ?? '').split(';')[0].trim() || mediaTypeInside(bytes);
  if (!mediaType || !MANIFEST_ACCEPT.split(', ').includes(mediaType)) return null;
  const algorithm = expected?.algorithm ?? 'sha256';
  const digest = `${algorithm}:${crypto.createHash(algorithm).update(bytes).digest('hex')}`;
  if (expected && expected.digest !== digest) return null;
  return { digest, mediaType };
}

function mediaTypeInside(bytes: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : undefined;
  } catch {
    return undefined;
  }
}
