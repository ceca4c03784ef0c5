import { corruptDocument } from './classes.registryerror.js';

/**
 * A stored JSON document, parsed: an object or an array, else the stored bytes are damaged (a truncated
 * write, an empty file left by a broken engine) and the read fails with a `corrupt` error.
 */
export function parseStoredJson<T>(key: string, bytes: Buffer): T {
  return parseStored(key, bytes, (stored) => {
    const value = JSON.parse(stored.toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) throw new Error(`not a JSON object but ${value === null ? 'null' : typeof value}`);
    return value as T;
  });
}

/** `parse(bytes)`, with whatever it throws reported as the document at `key` being corrupt. */
export function parseStored<T>(key: string, bytes: Buffer, parse: (bytes: Buffer) => T): T {
  try {
    return parse(bytes);
  } catch (error) {
    throw corruptDocument(key, error);
  }
}
