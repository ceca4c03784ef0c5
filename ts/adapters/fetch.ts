import { discardResponseBody, takeResponseBody } from '../core/helpers.response.js';
import { isWebReadableStream, nodeToWeb } from '../core/helpers.stream.js';
import type { IRequestHandler } from '../core/interfaces.core.js';
import { queryToRecord } from './helpers.adapter.js';

/** Web `Request` → SmartRegistry → Web `Response`, streaming both ways. */
export async function handleFetchRequest(registry: IRequestHandler, request: Request): Promise<Response> {
  const url = new URL(request.url);
  // `Request` has normalised the path already (`/a/../b` arrives as `/b`); it is still percent-encoded.
  const path = url.pathname || '/';
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  if (!headers.host) headers.host = url.host;
  const response = await registry.handleRequest({
    method: request.method,
    path,
    headers,
    query: queryToRecord(url.searchParams),
    body: request.body ?? undefined,
  });
  const body = takeResponseBody(response);
  const hasBody = body !== undefined && request.method !== 'HEAD' && response.status !== 204 && response.status !== 304;
  if (!hasBody) {
    discardResponseBody(body);
    return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
  }
  // Bytes go in as they are; a Node stream becomes a pull-based Web stream only here.
  const webBody = body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : isWebReadableStream(body) ? body : nodeToWeb(body);
  return new Response(webBody, { status: response.status, statusText: response.statusText, headers: response.headers });
}
