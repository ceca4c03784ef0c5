/** JSON read from outside (request bodies, upstream answers, stored documents): shapes checked, never trusted. */

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `bytes` as a JSON object; null when they do not parse or hold something else (an array, a string…). */
export function parseJsonObject(bytes: Buffer): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  return isPlainObject(parsed) ? parsed : null;
}

/** The JSON of objects serialized by stringifyGrowing, for as long as each object lives. */
const elementJson = new WeakMap<object, string>();

function jsonOfElement(element: unknown): string {
  if (typeof element !== 'object' || element === null) return JSON.stringify(element) ?? 'null';
  let json = elementJson.get(element);
  if (json === undefined) elementJson.set(element, (json = JSON.stringify(element)));
  return json;
}

/**
 * `JSON.stringify(document)`, the same bytes, but each object in its array `field` is serialized once and its
 * JSON kept while the object lives: a document that gains a version per publish carries the earlier versions
 * over as the same objects, so a publish no longer serializes every version again. Only for elements that are
 * never changed in place (a change replaces the element with a new object).
 */
export function stringifyGrowing(document: object, field: string): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    const json = key === field && Array.isArray(value) ? `[${value.map(jsonOfElement).join(',')}]` : (JSON.stringify(value) as string | undefined);
    if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}
