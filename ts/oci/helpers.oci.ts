/**
 * The OCI distribution wire format, pure (no I/O): the name, tag and digest grammar, manifest parsing
 * and validation (OCI image manifest and index, Docker v2 schema 2 manifest and manifest list), media
 * types, the Range / Content-Range headers, tag and catalog pagination, token-endpoint scopes and the
 * error document.
 */
import { RegistryError } from '../core/classes.registryerror.js';
import type {
  IOciDescriptor,
  IParsedDigest,
  IParsedManifest,
  IRequestedScope,
  TDigestAlgorithm,
  TManifestKind,
} from './interfaces.oci.js';
import { isPlainObject } from '../core/helpers.json.js';

// ---- media types -------------------------------------------------------------------------------

export const MEDIA_TYPE = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const MANIFEST_KINDS: Record<string, TManifestKind> = {
  [MEDIA_TYPE.ociManifest]: 'image',
  [MEDIA_TYPE.dockerManifest]: 'image',
  [MEDIA_TYPE.ociIndex]: 'index',
  [MEDIA_TYPE.dockerManifestList]: 'index',
};

export const SUPPORTED_MANIFEST_TYPES = Object.keys(MANIFEST_KINDS);

/** Content types that say nothing about which manifest this is. */
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'application/octet-stream', 'text/plain', '*/*']);

/** RFC 6838 type/subtype, as the image-spec requires for mediaType and artifactType. */
const MEDIA_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const isMediaType = (value: unknown): value is string => typeof value === 'string' && MEDIA_TYPE_PATTERN.test(value);

/** `application/vnd.oci.image.manifest.v1+json; charset=utf-8` → `application/vnd.oci.image.manifest.v1+json` */
export function stripMediaTypeParameters(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

// ---- names, tags, digests ----------------------------------------------------------------------

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_PATTERN = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/**
 * The spec's limit for a whole repository name, counted as the name's catalog key segment takes it: each
 * `/` is stored as `%2F`, three characters, and the segment must fit in 255 bytes on every backend.
 */
export const MAX_NAME_LENGTH = 255;

/** Length of the name as its catalog entry stores it (the grammar allows no other character that encodes). */
const storedNameLength = (name: string) => encodeURIComponent(name).length;

export const isValidName = (name: string): boolean =>
  typeof name === 'string' && name.length > 0 && storedNameLength(name) <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);

export const isValidTag = (tag: string): boolean => typeof tag === 'string' && TAG_PATTERN.test(tag);

const DIGEST_PATTERN = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const ENCODED_LENGTH: Record<TDigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const LOWER_HEX = /^[a-f0-9]+$/;

/** `sha256:<64 hex>` or `sha512:<128 hex>`; anything else (other grammar, other algorithm) is null. */
export function parseDigest(value: string | undefined): IParsedDigest | null {
  if (typeof value !== 'string' || value.length > 200) return null;
  const match = DIGEST_PATTERN.exec(value);
  if (!match) return null;
  const algorithm = match[1] as TDigestAlgorithm;
  const hex = match[2];
  if (!(algorithm in ENCODED_LENGTH)) return null;
  if (hex.length !== ENCODED_LENGTH[algorithm] || !LOWER_HEX.test(hex)) return null;
  return { algorithm, hex, digest: `${algorithm}:${hex}` };
}

/** Digest-shaped (has the grammar) — tells "a digest we cannot use" apart from "a tag". */
export const looksLikeDigest = (reference: string) => reference.includes(':');

// ---- errors ------------------------------------------------------------------------------------

/** The spec's error codes (distribution-spec "Error Codes"). */
export type TOciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

export interface IOciErrorDocument {
  errors: { code: string; message: string; detail?: unknown }[];
}

export function ociErrorDocument(code: string, message: string, detail?: unknown): IOciErrorDocument {
  return { errors: [detail === undefined ? { code, message } : { code, message, detail }] };
}

/** The code for a RegistryError thrown without one (by the base class, storage or hooks). */
export function defaultErrorCode(error: RegistryError): string {
  switch (error.kind) {
    case 'unauthorized':
      return 'UNAUTHORIZED';
    case 'denied':
      return 'DENIED';
    case 'too-large':
      return 'SIZE_INVALID';
    case 'too-many-requests':
      return 'TOOMANYREQUESTS';
    case 'range-not-satisfiable':
      // A blob GET's Range outside the blob, served here or by the upstream proxy (an upload's 416 has its own
      // code, BLOB_UPLOAD_INVALID). The spec names no code for it; distribution sends no error body at all.
      return 'BLOB_UNKNOWN';
    case 'invalid':
      return 'NAME_INVALID';
    case 'not-found':
    case 'method-not-allowed':
    case 'unsupported':
    case 'conflict':
    case 'precondition-failed':
      return 'UNSUPPORTED';
    default:
      return 'UNKNOWN';
  }
}

export const ociError = {
  nameInvalid: (name: string) =>
    RegistryError.invalid(`invalid repository name ${JSON.stringify(name)}: lowercase components [a-z0-9] joined by . _ __ or -, separated by /, at most ${MAX_NAME_LENGTH} characters with each / counted as three`, {
      code: 'NAME_INVALID',
      detail: { name },
    }),
  nameUnknown: (name: string) =>
    RegistryError.notFound(`repository ${name} is not known to this registry`, { code: 'NAME_UNKNOWN', detail: { name } }),
  digestInvalid: (message: string, detail?: unknown) => RegistryError.invalid(message, { code: 'DIGEST_INVALID', detail }),
  blobUnknown: (digest: string) => RegistryError.notFound(`blob ${digest} is unknown to this repository`, { code: 'BLOB_UNKNOWN', detail: { digest } }),
  blobUploadUnknown: (uuid: string) =>
    RegistryError.notFound(`upload ${uuid} is unknown (finished, cancelled, expired or never started)`, {
      code: 'BLOB_UPLOAD_UNKNOWN',
      detail: { uuid },
    }),
  blobUploadInvalid: (message: string, detail?: unknown) => RegistryError.invalid(message, { code: 'BLOB_UPLOAD_INVALID', detail }),
  manifestInvalid: (message: string, detail?: unknown) => RegistryError.invalid(message, { code: 'MANIFEST_INVALID', detail }),
  manifestUnknown: (reference: string) =>
    RegistryError.notFound(`manifest ${reference} is unknown to this repository`, { code: 'MANIFEST_UNKNOWN', detail: { reference } }),
  manifestBlobUnknown: (digests: string[]) =>
    RegistryError.invalid(`manifest references ${digests.length === 1 ? 'a blob or manifest' : `${digests.length} blobs or manifests`} unknown to this repository: ${digests.join(', ')}`, {
      code: 'MANIFEST_BLOB_UNKNOWN',
      detail: { digests },
    }),
  sizeInvalid: (message: string, status = 400) => new RegistryError(status === 413 ? 'too-large' : 'invalid', message, { code: 'SIZE_INVALID', status }),
  unsupported: (message: string, status = 400) => new RegistryError('unsupported', message, { code: 'UNSUPPORTED', status }),
};

/** Parses a digest or throws DIGEST_INVALID saying what was wrong. */
export function requireDigest(value: string | undefined, what = 'digest'): IParsedDigest {
  const parsed = parseDigest(value);
  if (parsed) return parsed;
  if (value === undefined || value === '') throw ociError.digestInvalid(`${what} is missing`);
  throw ociError.digestInvalid(`${what} ${JSON.stringify(value)} is not a supported digest (sha256:<64 hex> or sha512:<128 hex>)`, {
    digest: value,
  });
}

// ---- manifests ---------------------------------------------------------------------------------


function validateAnnotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value) || Object.values(value).some((item) => typeof item !== 'string')) {
    throw ociError.manifestInvalid(`${where}.annotations must be an object of strings`);
  }
  return value as Record<string, string>;
}

function validateDescriptor(value: unknown, where: string): IOciDescriptor {
  if (!isPlainObject(value)) throw ociError.manifestInvalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, urls, artifactType } = value;
  if (!isMediaType(mediaType)) throw ociError.manifestInvalid(`${where}.mediaType must be a media type, got ${JSON.stringify(mediaType)}`);
  if (!parseDigest(digest as string)) {
    throw ociError.manifestInvalid(`${where}.digest ${JSON.stringify(digest)} is not a supported digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw ociError.manifestInvalid(`${where}.size must be a non-negative integer`);
  }
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((url) => typeof url !== 'string'))) {
    throw ociError.manifestInvalid(`${where}.urls must be an array of strings`);
  }
  if (artifactType !== undefined && !isMediaType(artifactType)) {
    throw ociError.manifestInvalid(`${where}.artifactType must be a media type`);
  }
  validateAnnotations(value.annotations, where);
  return value as unknown as IOciDescriptor;
}

function validateDescriptorList(value: unknown, where: string): IOciDescriptor[] {
  if (!Array.isArray(value)) throw ociError.manifestInvalid(`${where} must be an array of descriptors`);
  return value.map((item, index) => validateDescriptor(item, `${where}[${index}]`));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates a pushed manifest and says what the registry needs of it. The media type is the body's
 * `mediaType`, else the request's Content-Type, else recognised from the structure; a body and header
 * that disagree are MANIFEST_INVALID. Docker schema 1 is refused as UNSUPPORTED.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): IParsedManifest {
  let document: unknown;
  try {
    document = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    throw ociError.manifestInvalid(`manifest is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(document)) throw ociError.manifestInvalid('manifest must be a JSON object');

  const headerType = stripMediaTypeParameters(contentType);
  const bodyType = document.mediaType;
  if (bodyType !== undefined && typeof bodyType !== 'string') throw ociError.manifestInvalid('mediaType must be a string');
  if (
    headerType === MEDIA_TYPE.dockerSchema1 ||
    headerType === MEDIA_TYPE.dockerSchema1Signed ||
    bodyType === MEDIA_TYPE.dockerSchema1 ||
    bodyType === MEDIA_TYPE.dockerSchema1Signed ||
    document.schemaVersion === 1
  ) {
    throw ociError.unsupported('Docker image manifest schema 1 is not supported; push schema 2 or OCI manifests');
  }
  if (document.schemaVersion !== 2) throw ociError.manifestInvalid('schemaVersion must be 2');
  const headerIsSpecific = !GENERIC_CONTENT_TYPES.has(headerType);
  if (bodyType !== undefined && headerIsSpecific && bodyType !== headerType) {
    throw ociError.manifestInvalid(`Content-Type ${headerType} does not match the manifest's mediaType ${bodyType}`);
  }

  let mediaType = bodyType ?? (headerIsSpecific ? headerType : undefined);
  if (mediaType === undefined) {
    if (Array.isArray(document.manifests)) mediaType = MEDIA_TYPE.ociIndex;
    else if (document.config !== undefined) mediaType = MEDIA_TYPE.ociManifest;
    else throw ociError.manifestInvalid('cannot tell the manifest type: send a mediaType field or Content-Type');
  }
  const kind = MANIFEST_KINDS[mediaType];
  if (!kind) {
    throw ociError.manifestInvalid(`unsupported manifest media type ${mediaType} (supported: ${SUPPORTED_MANIFEST_TYPES.join(', ')})`);
  }

  const artifactType = document.artifactType;
  if (artifactType !== undefined && !isMediaType(artifactType)) throw ociError.manifestInvalid('artifactType must be a media type');
  const annotations = validateAnnotations(document.annotations, 'manifest');
  const subject = document.subject === undefined ? undefined : validateDescriptor(document.subject, 'subject');

  if (kind === 'image') {
    const config = validateDescriptor(document.config, 'config');
    if (document.layers === undefined) throw ociError.manifestInvalid('layers is required (it may be an empty array)');
    if (document.manifests !== undefined) throw ociError.manifestInvalid('an image manifest must not have manifests');
    return {
      mediaType,
      kind,
      config,
      layers: validateDescriptorList(document.layers, 'layers'),
      manifests: [],
      ...(subject ? { subject } : {}),
      ...(artifactType !== undefined ? { artifactType } : {}),
      ...(annotations ? { annotations } : {}),
    };
  }
  if (document.config !== undefined || document.layers !== undefined) {
    throw ociError.manifestInvalid('an index must not have config or layers');
  }
  return {
    mediaType,
    kind,
    layers: [],
    manifests: validateDescriptorList(document.manifests, 'manifests'),
    ...(subject ? { subject } : {}),
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * Blobs a manifest needs in its repository. Layers with `urls` (Docker foreign layers, OCI
 * non-distributable layers) live elsewhere and are not required.
 */
export function referencedBlobs(manifest: IParsedManifest): IOciDescriptor[] {
  if (manifest.kind !== 'image') return [];
  const layers = manifest.layers.filter((layer) => !(layer.urls && layer.urls.length > 0));
  return manifest.config ? [manifest.config, ...layers] : layers;
}

/** The descriptor the referrers API lists for a manifest with a subject (distribution-spec "Listing Referrers"). */
export function referrerDescriptor(manifest: IParsedManifest, digest: string, size: number): IOciDescriptor {
  const artifactType = manifest.artifactType ?? (manifest.kind === 'image' ? manifest.config?.mediaType : undefined);
  return {
    mediaType: manifest.mediaType,
    digest,
    size,
    ...(artifactType ? { artifactType } : {}),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
}

// ---- ranges ------------------------------------------------------------------------------------

export interface IInclusiveRange {
  start: number;
  end: number;
}

/**
 * A PATCH's `Content-Range`: the spec's `<start>-<end>` (inclusive), also tolerating the
 * `bytes <start>-<end>/<total>` form some clients send. Null when malformed.
 */
export function parseContentRange(header: string | undefined): IInclusiveRange | null {
  if (header === undefined) return null;
  const match = /^\s*(?:bytes[ =])?\s*(\d{1,16})-(\d{1,16})(?:\/(?:\d{1,16}|\*))?\s*$/i.exec(header);
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return { start, end };
}

/** `Range: 0-<last byte>` as upload responses carry it; `0-0` before any byte arrived, as distribution does. */
export const uploadRangeHeader = (size: number) => `0-${Math.max(0, size - 1)}`;

// ---- pagination --------------------------------------------------------------------------------

export interface IPageRequest {
  /** Undefined: no limit asked for. */
  n?: number;
  last?: string;
}

/** `n` and `last` from a query; a bad `n` is a 400. */
export function parsePageRequest(query: Record<string, string>): IPageRequest {
  const page: IPageRequest = {};
  if (query.n !== undefined && query.n !== '') {
    if (!/^\d{1,9}$/.test(query.n)) throw ociError.unsupported(`n must be a non-negative integer, got ${JSON.stringify(query.n)}`);
    page.n = Number(query.n);
  }
  if (query.last !== undefined && query.last !== '') page.last = query.last;
  return page;
}

/**
 * One page of a sorted list: the items after `last`, at most `n` (and at most `maxPage`).
 * `next` is the `last` value for the following page when more items remain.
 */
export function paginate(sorted: readonly string[], request: IPageRequest, maxPage: number): { items: string[]; next?: string } {
  let startIndex = 0;
  if (request.last !== undefined) {
    // First index whose value sorts after `last` (binary search on byte order).
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareAscii(sorted[mid], request.last) <= 0) low = mid + 1;
      else high = mid;
    }
    startIndex = low;
  }
  if (request.n === 0) return { items: [] };
  const limit = Math.min(request.n ?? maxPage, maxPage);
  const items = sorted.slice(startIndex, startIndex + limit);
  const more = startIndex + limit < sorted.length;
  return more && items.length > 0 ? { items, next: items[items.length - 1] } : { items };
}

/** Go's sort.Strings order (byte order); names and tags are ASCII. */
export const compareAscii = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** RFC 8288 `Link` to the next page. */
export function nextPageLink(path: string, n: number | undefined, last: string, filters: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (n !== undefined) params.set('n', String(n));
  params.set('last', last);
  for (const [key, value] of Object.entries(filters)) params.set(key, value);
  return `<${path}?${params.toString()}>; rel="next"`;
}

// ---- token endpoint ----------------------------------------------------------------------------

/**
 * The `scope` parameter(s) of a token request: `repository:library/nginx:pull,push`, several
 * separated by spaces or given as repeated parameters. Malformed entries are skipped.
 */
export function parseRequestedScopes(values: string[]): IRequestedScope[] {
  const scopes: IRequestedScope[] = [];
  for (const value of values) {
    for (const entry of value.split(' ')) {
      const first = entry.indexOf(':');
      const last = entry.lastIndexOf(':');
      if (first <= 0 || last === first) continue;
      const type = entry.slice(0, first).replace(/\(.*\)$/, '');
      const name = entry.slice(first + 1, last);
      const actions = entry
        .slice(last + 1)
        .split(',')
        .map((action) => action.trim())
        .filter(Boolean);
      if (!name || actions.length === 0) continue;
      scopes.push({ type, name, actions });
    }
  }
  return scopes;
}

/** Token scope actions → registry actions: `*` asks for everything. */
export function expandActions(actions: string[]): string[] {
  const expanded = new Set<string>();
  for (const action of actions) {
    if (action === '*') ['pull', 'push', 'delete'].forEach((item) => expanded.add(item));
    else if (action === 'pull' || action === 'push' || action === 'delete') expanded.add(action);
  }
  return [...expanded];
}

/** `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (quotes and backslashes escaped). */
export function bearerChallenge(realm: string, service: string, scope?: string, error?: string): string {
  const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
  let challenge = `Bearer realm=${quote(realm)},service=${quote(service)}`;
  if (scope) challenge += `,scope=${quote(scope)}`;
  if (error) challenge += `,error=${quote(error)}`;
  return challenge;
}
