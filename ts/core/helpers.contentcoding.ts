import * as zlib from 'node:zlib';
import { memoizeBounded } from './helpers.memo.js';
import type { IHandlerResponse } from './helpers.response.js';

/**
 * Gzip for the documents every protocol serves from memory (index files, metadata, simple pages), as their
 * clients ask for it: cargo, pip, composer, maven, gem and npm all send `Accept-Encoding: gzip`. A document of
 * 200 versions shrinks about eightfold, and its bytes, not the registry's code, bound how fast it is served.
 *
 * The compressed copy is made once per body: a response body that is the same Buffer as before (a document
 * kept in a cache) is compressed off the event loop the second time it is seen and sent compressed from then
 * on; a body built for one request is never seen twice, so nothing is compressed per request. The copy lives
 * exactly as long as the cached body it was made from (a WeakMap entry).
 */

/** Smaller bodies go as they are: gzip's framing and the inflating cost more than the bytes saved. */
export const MIN_GZIP_BYTES = 1024;
/** Larger bodies are not compressed in memory. */
const MAX_GZIP_BYTES = 16 * 1024 * 1024;
/** Text, JSON and XML documents; not archives, not OCI manifests (their digest names the exact bytes clients check). */
const COMPRESSIBLE_TYPE = /^(text\/|application\/(json|xml|vnd\.pypi\.simple\.[\w.]*\+json)\s*(;|$))/i;

/** Does `Accept-Encoding` allow gzip (`gzip,deflate` from npm; `gzip;q=0` refuses it)? */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return acceptEncoding ? acceptsGzipHeader(acceptEncoding) : false;
}

const acceptsGzipHeader = memoizeBounded((acceptEncoding: string) => {
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (!q || Number(q.slice(2)) > 0) return true;
  }
  return false;
}, 256);

/** Weak form of an etag, for a compressed representation of the same document. */
export const weakEtag = (etag: string) => (etag.startsWith('W/') ? etag : `W/${etag}`);

/** A body's compressed copy: 'seen' once, being made, made, or not worth having. */
type TGzipState = 'seen' | 'compressing' | 'useless' | Buffer;
const gzipped = new WeakMap<Uint8Array, TGzipState>();

/** The gzip copy of `bytes` when it is made; the first sights mark and start it (see the file comment). */
function gzipCopy(bytes: Uint8Array): Buffer | undefined {
  const state = gzipped.get(bytes);
  if (state === undefined) {
    gzipped.set(bytes, 'seen');
    return undefined;
  }
  if (typeof state !== 'string') return state;
  if (state !== 'seen') return undefined;
  gzipped.set(bytes, 'compressing');
  zlib.gzip(bytes, (error, compressed) => {
    gzipped.set(bytes, error || compressed.length >= bytes.length ? 'useless' : compressed);
  });
  return undefined;
}

function headerName(headers: Record<string, string>, lowerCaseName: string): string | undefined {
  for (const name in headers) if (name.toLowerCase() === lowerCaseName) return name;
  return undefined;
}

/**
 * `response` gzip-compressed when the client accepts gzip and its body is a cached text document (see the file
 * comment); with `Vary: Accept-Encoding` and the weak form of its ETag (another representation of the same
 * document). A HEAD or 304 that stands for such a 200 (`standsFor`) gets its headers: a HEAD all of them, a 304
 * its Vary; a 304 answering a weak tag the client got that way names the weak tag again. Anything else as it is.
 * Frozen headers (a kept document's, helpers.serve) are looked at once: their coded forms are kept with them.
 */
export function withContentCoding(requestHeaders: Record<string, string | undefined>, response: IHandlerResponse): IHandlerResponse {
  const { status, body, headers } = response;
  if (status === 304) return headers ? notModified(requestHeaders, headers, response) : response;
  if (status !== 200 || !headers || !(body instanceof Uint8Array) || body.length < MIN_GZIP_BYTES || body.length > MAX_GZIP_BYTES) {
    return response.standsFor ? { status, statusText: response.statusText, headers: codedGet(requestHeaders, response.standsFor) } : response;
  }
  const kept = Object.isFrozen(headers) ? keptCoding(headers) : undefined;
  if (!(kept ? kept.compressible : isCompressible(headers)) || !acceptsGzip(requestHeaders['accept-encoding'])) return response;
  const compressed = gzipCopy(body);
  let coded: Record<string, string>;
  if (!kept) coded = codedHeaders(headers, compressed);
  else if (!compressed) coded = kept.identity ??= Object.freeze(codedHeaders(headers, undefined));
  else if (kept.gzip?.compressed === compressed) coded = kept.gzip.headers;
  else coded = (kept.gzip = { compressed, headers: Object.freeze(codedHeaders(headers, compressed)) }).headers;
  return { status, statusText: response.statusText, headers: coded, body: compressed ?? body };
}

/** A text document not already encoded. */
function isCompressible(headers: Record<string, string>): boolean {
  const type = headerName(headers, 'content-type');
  return type !== undefined && COMPRESSIBLE_TYPE.test(headers[type]) && !headerName(headers, 'content-encoding');
}

/** What withContentCoding worked out for one frozen headers record. */
interface IKeptCoding {
  compressible: boolean;
  /** The headers sent with the body as it is (Vary added). */
  identity?: Record<string, string>;
  /** The headers sent with `compressed`, the body's gzip copy they were made for. */
  gzip?: { compressed: Buffer; headers: Record<string, string> };
}

const keptCodings = new WeakMap<Record<string, string>, IKeptCoding>();

function keptCoding(headers: Record<string, string>): IKeptCoding {
  let kept = keptCodings.get(headers);
  if (!kept) keptCodings.set(headers, (kept = { compressible: isCompressible(headers) }));
  return kept;
}

/** `headers` with `Vary: Accept-Encoding`, and as they go with `compressed` when there is one. */
function codedHeaders(headers: Record<string, string>, compressed: Buffer | undefined): Record<string, string> {
  const coded: Record<string, string> = {};
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower === 'vary' || (compressed && (lower === 'content-length' || lower === 'etag'))) continue;
    coded[name] = headers[name];
  }
  const vary = headerName(headers, 'vary');
  coded.Vary = !vary ? 'Accept-Encoding' : /accept-encoding/i.test(headers[vary]) ? headers[vary] : `${headers[vary]}, Accept-Encoding`;
  if (!compressed) return coded;
  const etag = headerName(headers, 'etag');
  if (etag) coded.ETag = weakEtag(headers[etag]);
  coded['Content-Encoding'] = 'gzip';
  coded['Content-Length'] = String(compressed.length);
  return coded;
}

/** The headers of the 200 a bodiless answer stands for, as that 200 is coded for this request. */
function codedGet(requestHeaders: Record<string, string | undefined>, get: NonNullable<IHandlerResponse['standsFor']>): Record<string, string> {
  return withContentCoding(requestHeaders, { status: 200, headers: get.headers, body: get.body }).headers!;
}

/**
 * A 304 with the Vary of the 200 it stands for (RFC 9110 15.4.5), and the ETag of the 200 the client holds: the
 * weak one when it names that (its copy was compressed), whatever this request's 200 would carry.
 */
function notModified(requestHeaders: Record<string, string | undefined>, headers: Record<string, string>, response: IHandlerResponse): IHandlerResponse {
  let answered = headers;
  if (response.standsFor) {
    const coded = codedGet(requestHeaders, response.standsFor);
    if (coded !== response.standsFor.headers && coded.Vary !== undefined) {
      answered = {};
      for (const name in headers) if (name.toLowerCase() !== 'vary') answered[name] = headers[name];
      answered.Vary = coded.Vary;
    }
  }
  const etag = headerName(answered, 'etag');
  const ifNoneMatch = requestHeaders['if-none-match'];
  const weakened = etag && ifNoneMatch && !answered[etag].startsWith('W/') && ifNoneMatch.includes(`W/${answered[etag]}`);
  if (weakened) answered = { ...answered, [etag]: weakEtag(answered[etag]) };
  if (answered === headers && !response.standsFor) return response;
  return { status: 304, statusText: response.statusText, headers: answered };
}
