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

const isRecordLiteral = (value: unknown): value is Record<string, unknown> =>
  isPlainObject(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));

/** The JSON of a growing field: an array's elements, or a record's values (by version), each serialized once. */
function growingFieldJson(value: unknown): string | undefined {
  if (Array.isArray(value)) return `[${value.map(jsonOfElement).join(',')}]`;
  if (!isRecordLiteral(value)) return JSON.stringify(value) as string | undefined;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    // As JSON.stringify does: a member it cannot write (undefined, a function) is left out of an object.
    const json = typeof member === 'object' && member !== null ? jsonOfElement(member) : (JSON.stringify(member) as string | undefined);
    if (json !== undefined) members.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * `JSON.stringify(document)`, the same bytes, but each object in its growing fields `fields` (arrays, or records such
 * as versions by number) is serialized once and its JSON kept while the object lives: a document that gains a version
 * per publish carries the earlier versions over as the same objects, so a publish no longer serializes every
 * version again. Only for elements that are never changed in place (a change replaces the element with a new object).
 */
export function stringifyGrowing(document: object, fields: string | readonly string[]): string {
  const growing = typeof fields === 'string' ? [fields] : fields;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    const json = growing.includes(key) ? growingFieldJson(value) : (JSON.stringify(value) as string | undefined);
    if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}
