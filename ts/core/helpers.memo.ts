/**
 * `compute` remembered per key, for pure parses and formats a request or an upload repeats (scopes, group paths,
 * HTTP dates, version strings). At most `maxEntries` are kept; when full the memory starts afresh, which costs
 * only recomputations. Callers never change a returned value: it is shared.
 */
export function memoizeBounded<K, V>(compute: (key: K) => V, maxEntries: number): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    let value = known.get(key);
    if (value === undefined) {
      if (known.size >= maxEntries) known.clear();
      value = compute(key);
      known.set(key, value);
    }
    return value;
  };
}
