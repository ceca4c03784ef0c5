import { RegistryError } from '../classes.registryerror.js';

// C0 controls, DEL and C1 controls: never legitimate in a key, and NUL truncates paths in syscalls.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** S3's limit; enforced everywhere so that every backend accepts the same keys. */
export const MAX_KEY_BYTES = 1024;

const describe = (value: string) => JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);

/**
 * A key or prefix no backend may hold. Protocols validate names before they build keys, so this is a bug
 * in the caller: a 500 whose message (with the key) reaches only the log.
 */
export const badKeyError = (message: string) => new RegistryError('internal', message);

/**
 * The key an answerable storage error is about, as its cause: the log shows it, the answer does not
 * (a key is the registry's internal layout).
 */
export const keyCause = (key: string, cause?: unknown) =>
  new Error(`storage key ${describe(key)}`, cause === undefined ? undefined : { cause });

/** Rules shared by keys and list prefixes. */
function assertSafeText(value: string, what: string): void {
  if (value.startsWith('/')) throw badKeyError(`storage ${what} must not start with '/': ${describe(value)}`);
  if (value.includes('\\')) throw badKeyError(`storage ${what} must not contain a backslash: ${describe(value)}`);
  if (CONTROL_CHARS.test(value)) {
    throw badKeyError(`storage ${what} must not contain NUL or control characters: ${describe(value)}`);
  }
}

/**
 * A storage key is `/`-separated, relative, with no empty, `.` or `..` segment, no backslash and no
 * control character, so that it maps to exactly one path below a backend's root and never outside it.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw badKeyError('storage key must be a non-empty string');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw badKeyError(`storage key is longer than ${MAX_KEY_BYTES} bytes: ${describe(key)}`);
  }
  assertSafeText(key, 'key');
  for (const segment of key.split('/')) {
    if (segment === '') throw badKeyError(`storage key has an empty segment: ${describe(key)}`);
    if (segment === '.' || segment === '..') {
      throw badKeyError(`storage key must not contain a '${segment}' segment: ${describe(key)}`);
    }
  }
}

/**
 * A list prefix is a key cut anywhere (`npm/pa` is fine, so is the empty prefix); the complete segments
 * it contains follow the key rules.
 */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw badKeyError('storage prefix must be a string');
  if (prefix === '') return;
  assertSafeText(prefix, 'prefix');
  const completeSegments = prefix.split('/').slice(0, -1);
  for (const segment of completeSegments) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw badKeyError(`storage prefix has an empty, '.' or '..' segment: ${describe(prefix)}`);
    }
  }
}

/** Byte-wise (UTF-8) comparison, the order S3 lists keys in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
