import type { Readable } from 'node:stream';
import { RegistryError } from './classes.registryerror.js';
import type { IHeldRedirect } from './classes.registrystorage.js';
import type { IResolvedDownloads } from './helpers.downloads.js';
import { memoizeBounded } from './helpers.memo.js';
import { etagMatches, type IHandlerResponse } from './helpers.response.js';

/**
 * Serving a stored object the same way for every protocol (RFC 9110): strong ETag, `If-None-Match`
 * and `If-Modified-Since` → 304, `Last-Modified`, one `Range` → 206 or 416, `If-Range`, HEAD.
 *
 * Choices where the RFC leaves room: a malformed Range header, one in another unit, and several
 * ranges of which at least one is satisfiable are ignored (200 with the whole object: multipart
 * byteranges are not worth their cost to any package client); a Range none of whose ranges is
 * satisfiable (including `bytes=500-0` and `bytes=-0`) is 416 with `Content-Range: bytes *\/size`, an error of
 * kind `range-not-satisfiable` the protocol gives its code (one place for its stored and proxied artifacts).
 *
 * Redirected downloads (`downloads.redirect`, an artifact source with `directUrl`): a GET is answered 307 to
 * the object store once the registry has decided everything it decides for a streamed answer (not found,
 * 304, 416); the client sends its Range and conditional headers on to the object store, which answers them
 * for the same bytes. HEAD is always answered here.
 */

export interface IByteSpan {
  start: number;
  /** Inclusive. */
  end: number;
}

export type TRangeRequest = { kind: 'none' } | ({ kind: 'range' } & IByteSpan) | { kind: 'unsatisfiable' };

/** What a response about the object says before any byte is read. */
export interface IServedObject {
  size: number;
  /** Strong, quoted. */
  etag: string;
  lastModified?: Date;
  contentType: string;
  /** The protocol's own headers (OCI's `Docker-Content-Digest`, `Cache-Control` ...), also on 304 and 416. */
  headers?: Record<string, string>;
}

export interface IOpenedObject {
  object: IServedObject;
  /** A stream, or bytes a source holds in memory: those are sent in one write, with no stream built around them. */
  body: Readable | Uint8Array;
  /** Bytes in `body`. */
  length: number;
}

/**
 * Where the object comes from. `open` without a span is the one round trip of a plain GET; `describe`
 * is asked first when the request is conditional, ranged or HEAD. Null from either: not found.
 */
export interface IObjectSource {
  describe(): Promise<IServedObject | null>;
  /** What `describe` would answer without waiting (a remembered stat); undefined when it must be asked. */
  describeNow?(): IServedObject | null | undefined;
  open(span?: IByteSpan): Promise<IOpenedObject | null>;
  /**
   * True when `open` reads bytes held in memory (no storage round trip): a HEAD or a 304 then carries the bytes
   * its GET would send, so that it gets that GET's headers (content coding, `IHandlerResponse.standsFor`).
   */
  readonly inMemory?: boolean;
  /**
   * Artifacts only (never metadata documents): a URL the client reads the whole object from directly,
   * or undefined when it must be streamed (the backend cannot presign, signing failed, a blob in parts).
   */
  directUrl?(object: IServedObject, downloads: IResolvedDownloads): Promise<string | undefined>;
  /** `directUrl`'s URL when it needs no waiting (handed out recently, no hook to run); undefined: ask `directUrl`. */
  directUrlNow?(object: IServedObject, downloads: IResolvedDownloads): string | undefined;
  /** Until when `describeNow` and `directUrlNow` would answer as they just did; undefined when not known. */
  heldUntil?(): IHeldRedirect | undefined;
}

export interface IServeRequest {
  method: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  /** The protocol's download settings; artifact GETs are redirected when `redirect` is on. */
  downloads?: IResolvedDownloads;
  /** Set by `serveObject` when it redirected from memory alone: how long that answer holds (see `RememberedRedirects`). */
  heldRedirect?: IHeldRedirect;
}

export interface IServeOptions {
  /** Thrown when the object does not exist (the protocol's own not-found error). */
  notFound: () => RegistryError;
}

const RANGE_SPEC = /^(\d*)-(\d*)$/;

/** One `first-last`, `first-` or `-suffix` against `size` bytes; undefined when malformed. */
function parseRangeSpec(spec: string, size: number): TRangeRequest | undefined {
  const match = RANGE_SPEC.exec(spec.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (!Number.isSafeInteger(suffix)) return undefined;
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return undefined;
  if (last < start || start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(last, size - 1) };
}

/** A request's `Range` header against an object of `size` bytes (see the file comment for the choices). */
export function parseRangeHeader(header: string | undefined, size: number): TRangeRequest {
  if (!header) return { kind: 'none' };
  const match = /^\s*bytes\s*=(.*)$/i.exec(header);
  if (!match) return { kind: 'none' };
  const specs = match[1].split(',').filter((spec) => spec.trim() !== '');
  if (specs.length === 0) return { kind: 'none' };
  const ranges: TRangeRequest[] = [];
  for (const spec of specs) {
    const range = parseRangeSpec(spec, size);
    if (!range) return { kind: 'none' };
    ranges.push(range);
  }
  if (ranges.every((range) => range.kind === 'unsatisfiable')) return { kind: 'unsatisfiable' };
  return ranges.length === 1 ? ranges[0] : { kind: 'none' };
}

/** HTTP dates have whole seconds. */
const wholeSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** `If-None-Match` wins over `If-Modified-Since` (RFC 9110 13.1.3). */
function isNotModified(request: IServeRequest, object: IServedObject): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch) return etagMatches(ifNoneMatch, object.etag);
  const ifModifiedSince = request.headers['if-modified-since'];
  if (!ifModifiedSince || !object.lastModified) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && wholeSeconds(object.lastModified) <= Math.floor(since / 1000);
}

/** `If-Range`: the Range applies only to the representation the client already has part of. */
function rangeStillApplies(request: IServeRequest, object: IServedObject): boolean {
  const ifRange = request.headers['if-range']?.trim();
  if (!ifRange) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === object.etag;
  const date = Date.parse(ifRange);
  return !Number.isNaN(date) && object.lastModified !== undefined && wholeSeconds(object.lastModified) === Math.floor(date / 1000);
}

/** Formatted HTTP dates by time: formatting one costs a small GET more than the rest of its headers. */
const httpDateOfTime = memoizeBounded((time: number) => new Date(time).toUTCString(), 1024);

export function httpDate(date: Date): string {
  return httpDateOfTime(date.getTime());
}

/** ETag and Last-Modified after the protocol's own headers, into `headers`. */
function addValidatorHeaders(headers: Record<string, string>, object: IServedObject): Record<string, string> {
  if (object.headers) Object.assign(headers, object.headers);
  headers.ETag = object.etag;
  if (object.lastModified) headers['Last-Modified'] = httpDate(object.lastModified);
  return headers;
}

const validatorHeaders = (object: IServedObject) => addValidatorHeaders({}, object);

function responseHeaders(object: IServedObject, span: IByteSpan | undefined, length = span ? span.end - span.start + 1 : object.size): Record<string, string> {
  if (!span && length === object.size) {
    const kept = keptWholeHeaders.get(object);
    if (kept) return kept;
  }
  const headers = addValidatorHeaders({ 'Content-Type': object.contentType, 'Accept-Ranges': 'bytes' }, object);
  headers['Content-Length'] = String(length);
  if (span) headers['Content-Range'] = `bytes ${span.start}-${span.end}/${object.size}`;
  return headers;
}

/** The headers of a whole 200 for each kept served object (see keptServedObject). */
const keptWholeHeaders = new WeakMap<IServedObject, Record<string, string>>();

/**
 * `object`, whose whole-object answers share one headers record from now on, made here once: for a document
 * kept in memory with its bytes and answered many times (an index file, a p2 file). The record is frozen, so
 * what is derived from it can be kept by its identity too (its gzip form, helpers.contentcoding); answers copy
 * it before anything is added (normalizeResponse). A copy of the object (a spread) is not kept.
 */
export function keptServedObject<T extends IServedObject>(object: T): T {
  keptWholeHeaders.set(object, Object.freeze(responseHeaders(object, undefined)) as Record<string, string>);
  return object;
}

/** The 416 for a request whose Range none of the object's `size` bytes satisfy. */
export function rangeNotSatisfiable(request: IServeRequest, size: number, options: { headers?: Record<string, string> }): RegistryError {
  return new RegistryError('range-not-satisfiable', `range ${request.headers.range} is outside the object's ${size} bytes`, {
    headers: { ...options.headers, 'Content-Range': `bytes */${size}` },
  });
}

/** The bytes a request asks for: undefined for the whole object (also a range that covers all of it). */
function requestedSpan(request: IServeRequest, object: IServedObject): IByteSpan | undefined {
  if (!rangeStillApplies(request, object)) return undefined;
  const range = parseRangeHeader(request.headers.range, object.size);
  if (range.kind === 'unsatisfiable') throw rangeNotSatisfiable(request, object.size, { headers: object.headers });
  if (range.kind === 'none' || (range.start === 0 && range.end === object.size - 1)) return undefined;
  return { start: range.start, end: range.end };
}

/**
 * The 307 to the object store. Its protocol headers stay (a digest says what the client will get), but not
 * its caching: the URL expires, so a cached redirect would soon point nowhere.
 */
function redirectResponse(object: IServedObject, location: string): IHandlerResponse {
  const headers: Record<string, string> = {};
  const own = object.headers;
  for (const name in own) if (Object.hasOwn(own, name) && name.toLowerCase() !== 'cache-control') headers[name] = own[name]!;
  headers.Location = location;
  headers['Cache-Control'] = 'no-store';
  // A length of 0 says there is no body: without it node:http would frame the empty answer as chunked.
  headers['Content-Length'] = '0';
  return { status: 307, headers };
}

/** A bodiless whole-object answer with the 200 it stands for, when the source holds that 200's bytes. */
async function withItsGet(response: IHandlerResponse, source: IObjectSource): Promise<IHandlerResponse> {
  if (!source.inMemory) return response;
  const opened = await source.open();
  if (opened?.body instanceof Uint8Array) response.standsFor = { headers: responseHeaders(opened.object, undefined, opened.length), body: opened.body };
  return response;
}

/** Answer a GET or HEAD for a stored object. */
export async function serveObject(request: IServeRequest, source: IObjectSource, options: IServeOptions): Promise<IHandlerResponse> {
  const { headers, downloads } = request;
  const directUrl = request.method === 'GET' && downloads?.redirect ? source.directUrl : undefined;
  const plainGet = !directUrl && request.method !== 'HEAD' && !headers.range && !headers['if-none-match'] && !headers['if-modified-since'];
  if (plainGet) {
    const opened = await source.open();
    if (!opened) throw options.notFound();
    return { status: 200, headers: responseHeaders(opened.object, undefined, opened.length), body: opened.body };
  }
  // From a remembered stat (and below, a URL handed out recently) a redirect does not wait at all.
  let object = source.describeNow?.();
  const describedNow = object !== undefined;
  if (object === undefined) object = await source.describe();
  if (!object) throw options.notFound();
  if (isNotModified(request, object)) return withItsGet({ status: 304, headers: validatorHeaders(object) }, source);
  const span = requestedSpan(request, object);
  const status = span ? 206 : 200;
  if (request.method === 'HEAD') {
    const head = { status, headers: responseHeaders(object, span) };
    // A part is never coded: only the whole object's HEAD can differ from what its headers say now.
    return span ? head : withItsGet(head, source);
  }
  if (directUrl && downloads) {
    const known = source.directUrlNow?.(object, downloads);
    if (known !== undefined && describedNow) request.heldRedirect = source.heldUntil?.();
    const location = known ?? (await directUrl.call(source, object, downloads));
    if (location) return redirectResponse(object, location);
  }
  const opened = await source.open(span);
  if (!opened) throw options.notFound();
  return { status, headers: responseHeaders(opened.object, span, opened.length), body: opened.body };
}
