import { isNodeReadable, isWebReadableStream, nodeToWeb, toReadableStream } from './helpers.stream.js';
import type { IResponse } from './interfaces.core.js';
import type { Readable } from 'node:stream';

/** What a route handler may return: any body shape; `normalizeResponse` turns it into an IResponse. */
export interface IHandlerResponse {
  status: number;
  headers?: Record<string, string>;
  body?: ReadableStream<Uint8Array> | Readable | Uint8Array | string | object | null;
}

const hasHeader = (headers: Record<string, string>, name: string) =>
  Object.keys(headers).some((key) => key.toLowerCase() === name);

/** Every body becomes a Web stream; objects become JSON; lengths are set when known. */
export function normalizeResponse(response: IHandlerResponse): IResponse {
  const headers = { ...(response.headers ?? {}) };
  const body = response.body;
  if (body === undefined || body === null) return { status: response.status, headers };
  if (isWebReadableStream(body)) return { status: response.status, headers, body };
  if (isNodeReadable(body)) return { status: response.status, headers, body: nodeToWeb(body) };

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
  if (!hasHeader(headers, 'content-length')) headers['Content-Length'] = String(bytes.byteLength);
  return { status: response.status, headers, body: toReadableStream(bytes) };
}

export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): IHandlerResponse => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: Buffer.from(JSON.stringify(body), 'utf8'),
});
