/**
 * Query string → record, as IRequestContext.query expects: a key given once maps to its value, a
 * repeated key to all its values in order (`scope=a&scope=b` → `['a', 'b']`; docker and skopeo send
 * two `scope` parameters to the OCI token endpoint when mounting across repositories).
 */
export function queryToRecord(search: URLSearchParams): Record<string, string | string[]> {
  // Most requests have no query: no Map, no entries copied.
  if (search.size === 0) return {};
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
  if (target.startsWith('/')) {
    // The usual origin form, split by hand: a URL parse costs more than the rest of a redirected download.
    // The raw path (URL would normalise `/a/../b`) so that traversal attempts reach the path checks.
    const question = target.indexOf('?');
    if (question === -1) return { path: target, search: new URLSearchParams() };
    const hash = target.indexOf('#', question);
    return { path: target.slice(0, question), search: new URLSearchParams(target.slice(question + 1, hash === -1 ? undefined : hash)) };
  }
  const url = new URL(target, 'http://registry.invalid');
  return { path: url.pathname || '/', search: url.searchParams };
}
