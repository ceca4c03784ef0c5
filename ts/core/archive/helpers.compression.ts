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
    const options = { maxOutputLength: maxBytes };
    return bytes.length <= INFLATE_INLINE_BYTES ? zlib.gunzipSync(bytes, options) : await gunzip(bytes, options);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw RegistryError.tooLarge(`${what} inflates past the limit of ${maxBytes} bytes`);
    }
    if (isZlibError(error)) throw RegistryError.invalid(`${what} is not valid gzip (${error.message})`);
    throw error;
  }
}
