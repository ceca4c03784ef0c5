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
