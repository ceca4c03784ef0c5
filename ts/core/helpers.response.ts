import {
  borrowUnreadNodeBytes,
  bytesToWeb,
  isNodeReadable,
  isWebReadableStream,
  LentBytes,
  nodeToWeb,
  takeUnreadBytes,
  takeUnreadNodeBytes,
} from './helpers.stream.js';
import type { IResponse } from './interfaces.core.js';
import type { Readable } from 'node:stream';

/** What a route handler may return: any body shape; `normalizeResponse` turns it into an IResponse. */
export interface IHandlerResponse {
  status: number;
  /** Reason phrase of the status line (printable ASCII); the standard one when unset. */
  statusText?: string;
  headers?: Record<string, string>;
  body?: ReadableStream<Uint8Array> | Readable | Uint8Array | string | object | null;
  /**
   * A bodiless answer's (HEAD, 304): the 200 a GET would get, when its body is held in memory. Never sent: content
   * coding gives the answer that 200's headers as coded for this request (RFC 9110 9.3.2; 15.4.5: its Vary).
   */
  standsFor?: { headers: Record<string, string>; body: Uint8Array };
}

/** A response body as an adapter sends it: bytes in one write, a Node stream piped, or a Web stream. */
export type TResponseBodySource = Uint8Array | Readable | ReadableStream<Uint8Array>;

interface ILazyBody {
  source: Uint8Array | Readable;
  /** Set once `body` was read, assigned or taken: from then on the property holds the truth. */
  settled: boolean;
  stream?: ReadableStream<Uint8Array>;
}

/**
 * What a response's Web stream would be built from, until it is. Building a Web stream costs more than
 * answering a small request (~12 µs each on Node 20), and an adapter that writes to a Node socket never
 * needs one; so `body` builds it only when someone reads it. A symbol property rather than a WeakMap entry:
 * a WeakMap insert per response cost a small GET several per cent of its CPU (and the collector more).
 */
const LAZY_BODY = Symbol('smartregistry.lazyBody');

type TLazyBodyResponse = IResponse & { [LAZY_BODY]?: ILazyBody };

/**
 * The `body` of every lazy response: one descriptor whose functions read the response they are called on.
 * An object literal's `get body()` made two closures and an accessor pair per response: normalizeResponse
 * and takeResponseBody of a 300-byte body took 0.8–1.3 µs of CPU together with it, 0.22–0.30 µs with this.
 */
const LAZY_BODY_PROPERTY: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: TLazyBodyResponse): ReadableStream<Uint8Array> | undefined {
    const lazy = this[LAZY_BODY]!;
    if (!lazy.settled) {
      lazy.settled = true;
      lazy.stream = lazy.source instanceof Uint8Array ? bytesToWeb(lazy.source) : nodeToWeb(lazy.source);
    }
    return lazy.stream;
  },
  set(this: TLazyBodyResponse, value: ReadableStream<Uint8Array> | undefined) {
    const lazy = this[LAZY_BODY]!;
    lazy.settled = true;
    lazy.stream = value;
  },
};

/** An IResponse whose `body` is an ordinary property to every reader (an own, enumerable one), built on first access. */
function lazyBodyResponse(status: number, headers: Record<string, string>, source: Uint8Array | Readable, statusText?: string): IResponse {
  const response: Omit<TLazyBodyResponse, 'body'> = statusText
    ? { status, statusText, headers, [LAZY_BODY]: { source, settled: false } }
    : { status, headers, [LAZY_BODY]: { source, settled: false } };
  return Object.defineProperty(response, 'body', LAZY_BODY_PROPERTY) as IResponse;
}

/**
 * The body of a response in the cheapest form to send, without building a Web stream that nobody
 * needs: the bytes of a byte body (also of an unread stream made from bytes, Web or Node), the Node stream of a
 * Node-stream body, else the Web stream. The body is spent afterwards: `response.body` is undefined
 * if it had not been built yet.
 */
export function takeResponseBody(response: IResponse): TResponseBodySource | undefined {
  return takeBody(response, takeUnreadNodeBytes);
}

/**
 * As `takeResponseBody`, for an adapter that sends the body itself: bytes a backend lent from its read
 * buffers come as `LentBytes`, to give back once the response has closed (or at once when not sent).
 */
export function borrowResponseBody(response: IResponse): TResponseBodySource | LentBytes | undefined {
  return takeBody(response, borrowUnreadNodeBytes);
}

function takeBody<TBytes>(response: IResponse, takeNodeBytes: (readable: Readable) => TBytes | undefined): TResponseBodySource | TBytes | undefined {
  const lazy = (response as TLazyBodyResponse)[LAZY_BODY];
  if (lazy && !lazy.settled) {
    lazy.settled = true;
    return lazy.source instanceof Uint8Array ? lazy.source : (takeNodeBytes(lazy.source) ?? lazy.source);
  }
  const body = response.body;
  if (!body) return undefined;
  return takeUnreadBytes(body) ?? body;
}

/** Release a body that will not be sent (HEAD, 204, 304): closes files behind a stream, gives lent bytes back. */
export function discardResponseBody(body: TResponseBodySource | LentBytes | undefined): void {
  if (body === undefined || body instanceof Uint8Array) return;
  if (body instanceof LentBytes) body.giveBack();
  else if (isWebReadableStream(body)) void body.cancel().catch(() => undefined);
  else body.destroy?.();
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  for (const key in headers) if (key.toLowerCase() === name) return true;
  return false;
}

/** Every body becomes a Web stream; objects become JSON; lengths are set when known. */
export function normalizeResponse(response: IHandlerResponse): IResponse {
  // Not a spread: headers are added to this copy here and later (see helpers.record).
  const headers: Record<string, string> = Object.assign({}, response.headers);
  const body = response.body;
  if (body === undefined || body === null || isWebReadableStream(body)) {
    const normalized: IResponse = response.statusText ? { status: response.status, statusText: response.statusText, headers } : { status: response.status, headers };
    if (body) normalized.body = body;
    return normalized;
  }
  if (isNodeReadable(body)) return lazyBodyResponse(response.status, headers, body, response.statusText);

  let bytes: Uint8Array;
  if (body instanceof Uint8Array) {
    bytes = body;
  } else if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
    if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'text/plain; charset=utf-8';
  } else {
    bytes = Buffer.from(JSON.stringify(body), 'utf8');
    if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
  }
  // The name the core's answers use first: most bodies come with it.
  if (headers['Content-Length'] === undefined && !hasHeader(headers, 'content-length')) headers['Content-Length'] = String(bytes.byteLength);
  return lazyBodyResponse(response.status, headers, bytes, response.statusText);
}

export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): IHandlerResponse => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: Buffer.from(JSON.stringify(body), 'utf8'),
});

/** Does an `If-None-Match` header (a list, `*`, weak or strong tags) name this etag? */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (value: string) => value.trim().replace(/^W\//, '');
  const wanted = bare(etag);
  return ifNoneMatch.split(',').some((candidate) => candidate.trim() === '*' || bare(candidate) === wanted);
}
