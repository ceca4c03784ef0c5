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

/**
 * The bytes serializeGrowing wrote for an object in a growing field (its JSON, and in a record its key before it),
 * for as long as the object lives.
 */
const memberBytes = new WeakMap<object, { key: string | null; bytes: Buffer }>();
const COMMA = Buffer.from(',');

const isRecordLiteral = (value: unknown): value is Record<string, unknown> =>
  isPlainObject(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));

/** The JSON of one element of a growing array (`key` null) or member of a growing record; undefined when JSON leaves a member out. */
function memberJson(key: string | null, member: unknown): Buffer | undefined {
  const isObject = typeof member === 'object' && member !== null;
  const known = isObject ? memberBytes.get(member) : undefined;
  if (known !== undefined && known.key === key) return known.bytes;
  // As JSON.stringify does: what it cannot write (undefined, a function) is null in an array and left out of an object.
  const json = (JSON.stringify(member) as string | undefined) ?? (key === null ? 'null' : undefined);
  if (json === undefined) return undefined;
  const bytes = Buffer.from(key === null ? json : `${JSON.stringify(key)}:${json}`);
  if (isObject) memberBytes.set(member, { key, bytes });
  return bytes;
}

/**
 * The bytes of `JSON.stringify(document)`, but each object in its growing fields `fields` (arrays, or records such as
 * versions by number) is serialized once and its bytes kept while the object lives: a document that gains a version
 * per publish carries the earlier versions over as the same objects, so a publish neither serializes every version
 * again nor builds the whole document as one string (the bytes are copied once, into the result). Only for elements
 * that are never changed in place (a change replaces the element with a new object).
 */
export function serializeGrowing(document: object, fields: string | readonly string[]): Buffer {
  const growing = typeof fields === 'string' ? [fields] : fields;
  const parts: Buffer[] = [];
  // Plain JSON between the growing fields, collected as text and added as one part.
  let text = '{';
  let separator = '';
  for (const [key, value] of Object.entries(document)) {
    const isArray = Array.isArray(value);
    if (!growing.includes(key) || !(isArray || isRecordLiteral(value))) {
      const json = JSON.stringify(value) as string | undefined;
      if (json !== undefined) {
        text += `${separator}${JSON.stringify(key)}:${json}`;
        separator = ',';
      }
      continue;
    }
    parts.push(Buffer.from(`${text}${separator}${JSON.stringify(key)}:${isArray ? '[' : '{'}`));
    let first = true;
    const add = (bytes: Buffer | undefined) => {
      if (bytes === undefined) return;
      if (!first) parts.push(COMMA);
      parts.push(bytes);
      first = false;
    };
    if (isArray) for (const element of value) add(memberJson(null, element));
    else for (const member in value) add(memberJson(member, value[member]));
    text = isArray ? ']' : '}';
    separator = ',';
  }
  parts.push(Buffer.from(`${text}}`));
  return Buffer.concat(parts);
}
