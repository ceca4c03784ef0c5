import { PassThrough, type Readable } from 'node:stream';
import { RegistryError } from '../classes.registryerror.js';

/**
 * A storage engine that cannot be reached: a connection that could not be made or broke (also in the middle of a
 * body being read), a name that does not resolve, a request that timed out. Whatever the backend, the client gets
 * a 503 with Retry-After, never a 500: the registry itself is fine and the request can be repeated.
 */
export const NETWORK_ERROR_CODES: readonly string[] = ['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError'];

/** Seconds a client is asked to wait (a restarting engine takes a few). */
export const UNREACHABLE_RETRY_AFTER_SECONDS = 5;

export function isNetworkError(error: unknown): boolean {
  const shape = (error ?? {}) as { code?: unknown; name?: unknown };
  return NETWORK_ERROR_CODES.some((code) => shape.code === code || shape.name === code);
}

export function storageUnreachable(cause: unknown): RegistryError {
  return new RegistryError('unavailable', 'the storage cannot be reached at the moment; try again in a moment', {
    headers: { 'retry-after': String(UNREACHABLE_RETRY_AFTER_SECONDS) },
    cause,
  });
}

/**
 * A stream of an object's bytes whose connection breaks part-way fails with the 503 of `storageUnreachable`, as a
 * request that could not be made does (the engine's own stream fails with a bare `aborted`). For bytes the
 * registry reads itself before it answers (archive members, directories), not for bytes streamed to a client.
 */
export function failingAsUnreachable(stream: Readable): Readable {
  const mapped = new PassThrough();
  stream.on('error', (error) => mapped.destroy(isNetworkError(error) ? storageUnreachable(error) : error));
  // A reader that stops early lets go of the connection.
  mapped.once('close', () => {
    if (!stream.readableEnded) stream.destroy();
  });
  return stream.pipe(mapped);
}
