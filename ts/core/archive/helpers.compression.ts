import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { RegistryError } from '../classes.registryerror.js';

const gunzip = promisify(zlib.gunzip);
/**
 * Inflated on the event loop up to this many compressed bytes (every real gemspec): a few microseconds, where a
 * hop to libuv's thread pool and back costs more than the work; a bomb stops at `maxBytes` out (a few ms at
 * worst). Past it, in the pool.
 */
export const INFLATE_INLINE_BYTES = 64 * 1024;

/** An error raised by zlib on bad compressed data (`Z_DATA_ERROR`, `Z_BUF_ERROR` ...). */
export const isZlibError = (error: unknown): error is Error & { code: string } =>
  error instanceof Error && String((error as { code?: unknown }).code).startsWith('Z_');

/**
 * A small gzip-compressed document (a gem's `metadata.gz`) inflated in memory, refusing to inflate
 * past `maxBytes`: 'too-large' for a gzip bomb, 'invalid' for anything that is not whole gzip.
 */
export async function gunzipBounded(bytes: Uint8Array, maxBytes: number, what: string): Promise<Buffer> {
  try {
    return bytes.length <= INFLATE_INLINE_BYTES ? gunzipSyncBounded(bytes, maxBytes, what) : await gunzip(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    const bounded = tooLargeOr(error, maxBytes, what);
    if (isZlibError(bounded)) throw RegistryError.invalid(`${what} is not valid gzip (${bounded.message})`);
    throw bounded;
  }
}

/** Inflated on the event loop, refusing past `maxBytes` ('too-large'); zlib's errors on bad data are left to the caller. */
export function gunzipSyncBounded(bytes: Uint8Array, maxBytes: number, what: string): Buffer {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    throw tooLargeOr(error, maxBytes, what);
  }
}

/** A gzip bomb stopped at `maxBytes` out as a 'too-large' RegistryError; any other error as it is. */
function tooLargeOr(error: unknown, maxBytes: number, what: string): unknown {
  if ((error as { code?: unknown }).code !== 'ERR_BUFFER_TOO_LARGE') return error;
  return RegistryError.tooLarge(`${what} inflates past the limit of ${maxBytes} bytes`);
}
