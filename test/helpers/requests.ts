/**
 * Requests through `handleRequest` as the protocol tests send them, and the storage they leave:
 * what every protocol's fixtures need, once.
 */
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { readResponse, type IReadResponse } from '../npm/fixtures.js';

export interface ITestRequest {
  headers?: Record<string, string>;
  /** Bytes and strings are sent as they are, anything else as JSON; bytes get a Content-Length. */
  body?: unknown;
}

/** `path` may carry a query string; the host is `registry.example.com` unless a header says otherwise. */
export async function sendRequest(registry: SmartRegistry, method: string, requestPath: string, options: ITestRequest = {}): Promise<IReadResponse> {
  const [pathOnly, search] = requestPath.split('?');
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(search ?? '')) query[key] = value;
  const headers: Record<string, string> = { host: 'registry.example.com', ...options.headers };
  let body = options.body;
  if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') body = Buffer.from(JSON.stringify(body));
  if (body instanceof Uint8Array && !headers['content-length']) headers['content-length'] = String(body.length);
  return readResponse(await registry.handleRequest({ method, path: pathOnly, query, headers, body: body as Buffer | string | undefined }));
}

/** Every key in the registry's storage, sorted. */
export async function storageKeys(registry: SmartRegistry): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of registry.getStorage().listAll('')) keys.push(object.key);
  return keys.sort();
}
