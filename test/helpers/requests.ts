/**
 * Requests through `handleRequest` as the protocol tests send them, and the storage they leave:
 * what every protocol's fixtures need, once.
 */
import type { Readable } from 'node:stream';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IResponse } from '../../ts/core/interfaces.core.js';

export interface IReadResponse {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
  text: string;
  json: any;
}

/** The body parsed as JSON, or undefined when it is not JSON (an error page, a tarball). */
function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A response with its body read. */
export async function readResponse(response: IResponse): Promise<IReadResponse> {
  const bytes = await streamToBuffer(response.body);
  const text = bytes.toString('utf8');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) headers[name.toLowerCase()] = value;
  return { status: response.status, headers, bytes, text, json: jsonOrUndefined(text) };
}

export interface ITestRequest {
  headers?: Record<string, string | string[] | undefined>;
  /** Bytes, strings and streams are sent as they are, anything else as JSON; bytes get a Content-Length. */
  body?: unknown;
}

const isStream = (body: unknown): body is Readable => typeof (body as Readable | undefined)?.pipe === 'function';

/** `path` may carry a query string; the host is `registry.example.com` unless a header says otherwise. */
export async function sendRequest(registry: SmartRegistry, method: string, requestPath: string, options: ITestRequest = {}): Promise<IReadResponse> {
  const [pathOnly, search] = requestPath.split('?');
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(search ?? '')) query[key] = value;
  const headers: Record<string, string | string[] | undefined> = { host: 'registry.example.com', ...options.headers };
  let body = options.body;
  if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string' && !isStream(body)) body = Buffer.from(JSON.stringify(body));
  if (body instanceof Uint8Array && !headers['content-length']) headers['content-length'] = String(body.length);
  return readResponse(await registry.handleRequest({ method, path: pathOnly, query, headers, body: body as Buffer | string | Readable | undefined }));
}

/** The same request over HTTP to a running server (`smartregistry serve`), its answer read the same way. */
export async function sendHttpRequest(baseUrl: string, method: string, requestPath: string, options: ITestRequest = {}): Promise<IReadResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(options.headers ?? {})) if (typeof value === 'string') headers.set(name, value);
  let body = options.body;
  if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') body = Buffer.from(JSON.stringify(body));
  const response = await fetch(new URL(requestPath, baseUrl), { method, headers, body: body as Uint8Array<ArrayBuffer> | string | undefined, redirect: 'manual' });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  return { status: response.status, headers: Object.fromEntries(response.headers), bytes, text, json: jsonOrUndefined(text) };
}

/** Every key in the registry's storage (below `prefix`), sorted. */
export async function storageKeys(registry: SmartRegistry, prefix = ''): Promise<string[]> {
  // Once the writes that go on after their answer (derived documents) are done: what the registry stores.
  await registry.getStorage().settled();
  const keys: string[] = [];
  for await (const object of registry.getStorage().listAll(prefix)) keys.push(object.key);
  return keys.sort();
}
