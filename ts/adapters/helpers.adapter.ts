/**
 * Query string → record, as IRequestContext.query expects: a key given once maps to its value, a
 * repeated key to all its values in order (`scope=a&scope=b` → `['a', 'b']`; docker and skopeo send
 * two `scope` parameters to the OCI token endpoint when mounting across repositories).
 */
export function queryToRecord(search: URLSearchParams): Record<string, string | string[]> {
  const values = new Map<string, string | string[]>();
  for (const [key, value] of search) {
    const existing = values.get(key);
    if (existing === undefined) values.set(key, value);
    else if (Array.isArray(existing)) existing.push(value);
    else values.set(key, [existing, value]);
  }
  // fromEntries defines own properties, so keys such as `__proto__` or `toString` are plain keys too.
  return Object.fromEntries(values);
}

/** The path part of a request target, still encoded; tolerates absolute-form targets. */
export function splitRequestTarget(target: string): { path: string; search: URLSearchParams } {
  const url = new URL(target, 'http://registry.invalid');
  // URL normalises `/a/../b`; keep the raw path so traversal attempts reach the path checks.
  const rawPath = target.startsWith('/') ? target.split('?')[0] : url.pathname;
  return { path: rawPath || '/', search: url.searchParams };
}
