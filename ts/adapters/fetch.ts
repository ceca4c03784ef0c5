import type { SmartRegistry } from '../classes.smartregistry.js';
import { queryToRecord, splitRequestTarget } from './helpers.adapter.js';

/** Web `Request` → SmartRegistry → Web `Response`, streaming both ways. */
export async function handleFetchRequest(registry: SmartRegistry, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const { path } = splitRequestTarget(url.pathname + url.search);
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
  const hasBody = response.body && request.method !== 'HEAD' && response.status !== 204 && response.status !== 304;
  if (!hasBody) void response.body?.cancel().catch(() => undefined);
  return new Response(hasBody ? response.body : null, { status: response.status, headers: response.headers });
}
