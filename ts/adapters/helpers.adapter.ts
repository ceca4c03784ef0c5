/** Query string → first-value-per-key record, as IRequestContext.query expects. */
export function queryToRecord(search: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of search) if (!(key in query)) query[key] = value;
  return query;
}

/** The path part of a request target, still encoded; tolerates absolute-form targets. */
export function splitRequestTarget(target: string): { path: string; search: URLSearchParams } {
  const url = new URL(target, 'http://registry.invalid');
  // URL normalises `/a/../b`; keep the raw path so traversal attempts reach the path checks.
  const rawPath = target.startsWith('/') ? target.split('?')[0] : url.pathname;
  return { path: rawPath || '/', search: url.searchParams };
}
