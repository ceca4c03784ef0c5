import { RegistryError } from './classes.registryerror.js';

export interface IPathRules {
  /** `%2f` inside a segment is legitimate for this protocol (npm's `@scope%2fname`). */
  allowEncodedSlash?: boolean;
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
/** A `.` or `..` segment of an undecoded path. */
const RELATIVE_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;
// Named once: a regular expression literal makes a new object each time its line runs (every request).
const ENCODED_CONTROL = /%(?:00|5c|[01][0-9a-f]|7f)/i;
const ENCODED_SLASH = /%2f/i;

/**
 * Refuse request paths that try to climb out of their namespace: `..` in any spelling, backslashes,
 * NUL and control characters, and encoded slashes where the protocol does not define them.
 */
export function assertSafeRequestPath(path: string, rules: IPathRules = {}): void {
  if (CONTROL_CHARS.test(path) || path.includes('\\')) {
    throw RegistryError.invalid('path contains a control character or backslash');
  }
  // Without a `%` every segment is its own decoding (the common case, and the cheap test).
  if (!path.includes('%')) {
    if (RELATIVE_SEGMENT.test(path)) throw RegistryError.invalid('path contains a relative segment');
    return;
  }
  if (ENCODED_CONTROL.test(path)) {
    throw RegistryError.invalid('path contains an encoded control character or backslash');
  }
  if (!rules.allowEncodedSlash && ENCODED_SLASH.test(path)) {
    throw RegistryError.invalid('path contains an encoded slash');
  }
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw RegistryError.invalid('path contains malformed percent-encoding');
    }
    if (decoded === '..' || decoded === '.' || decoded.split('/').some((part) => part === '..' || part === '.')) {
      throw RegistryError.invalid('path contains a relative segment');
    }
  }
}

/** Check one decoded name (package, repository, file) before it becomes part of a storage key. */
export function assertSafeName(name: string, what = 'name'): void {
  if (!name) throw RegistryError.invalid(`${what} is empty`);
  if (CONTROL_CHARS.test(name) || name.includes('\\')) {
    throw RegistryError.invalid(`${what} contains a control character or backslash`);
  }
  if (name.startsWith('/') || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw RegistryError.invalid(`${what} contains an empty or relative segment`);
  }
}
