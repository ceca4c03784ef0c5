import type { Readable } from 'node:stream';

/**
 * A streamed artifact passes through buffers that are dead as soon as they are sent on (socket reads from
 * S3 or from the client, file reads), but V8 frees a dead buffer only at a collection. A registry allocates
 * little JavaScript per chunk, so its small young generation is seldom collected, and the dead buffers piled
 * up to 40-60 MiB until external-memory pressure forced a full collection. A young-generation collection
 * after every few MiB streamed frees them while they are still young; it is cheap with a 1 MiB young
 * generation, and it replaces most of the full collections the pressure forced. Only where the runtime
 * exposes `gc` (`--expose-gc`, which `serve` runs with); elsewhere this counts and does nothing.
 */
const BYTES_PER_COLLECTION = 4 * 1024 * 1024;

type TCollect = (options: { type: 'minor' }) => void;

let streamedSinceCollection = 0;

/** Count bytes that went through a stream; every `BYTES_PER_COLLECTION` runs a young-generation collection. */
export function noteStreamedBytes(bytes: number): void {
  streamedSinceCollection += bytes;
  if (streamedSinceCollection < BYTES_PER_COLLECTION) return;
  streamedSinceCollection = 0;
  (globalThis as { gc?: TCollect }).gc?.({ type: 'minor' });
}

/**
 * Count a stream's chunks as they flow. Attach it in the same tick as the pipe that reads the stream: a
 * 'data' listener sees the chunks the pipe sees, and starts the flow only at the next tick.
 */
export function countStreamedBytes(stream: Readable): void {
  stream.on('data', (chunk: Uint8Array | string) => noteStreamedBytes(chunk.length));
}
