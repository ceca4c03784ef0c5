import { finished, type Readable, type Writable } from 'node:stream';

/** What can stand in a chain: Node streams, and stream-compatible ones (tar-stream's streamx streams). */
type TChainStream = Readable | Writable | NodeJS.ReadWriteStream;

/**
 * `stream.pipeline` for the paths every upload takes: each stream piped into the next; an error or a premature close
 * of any one destroys them all; `callback` once every stream is done, with the first error (a premature close only
 * when nothing else failed). What it leaves out is the AbortController Node 20's pipeline makes and aborts on every
 * call: the abort builds a DOMException with a stack trace, 40-50 µs a pipeline, and a publish runs three or four.
 */
export function pipeStreams(streams: readonly TChainStream[], callback: (error?: Error) => void): void {
  if (streams.length < 2) throw new Error('pipeStreams needs a source and a destination');
  let firstError: Error | undefined;
  let pending = streams.length;
  const ended = streams.map(() => false);
  let cleanupLast = () => {};
  const done = (index: number, error: Error | null | undefined) => {
    if (!error) ended[index] = true;
    else if (!firstError || isPrematureClose(firstError)) firstError = error;
    // Streams that ended whole stay as they are (a request body read to its end keeps its socket).
    if (error) streams.forEach((stream, other) => ended[other] || destroyQuietly(stream, error));
    if (--pending > 0) return;
    // The last stream may live on (read further by its owner): it keeps no listener of ours. The others keep
    // their error listeners, as with pipeline, so a late error on one is never unhandled.
    if (!firstError) cleanupLast();
    callback(firstError);
  };
  streams.forEach((stream, index) => {
    const reads = index < streams.length - 1;
    const writes = index > 0;
    // The last stream counts once written to its end (a Transform's output need not be read).
    const cleanup = finished(stream as Readable, { readable: reads, writable: writes }, (error) => done(index, error));
    if (!reads) cleanupLast = cleanup;
    else (stream as Readable).pipe(streams[index + 1] as Writable);
  });
}

/** `pipeStreams` as a promise (`stream/promises`' pipeline). */
export function pipeStreamsAsync(...streams: TChainStream[]): Promise<void> {
  return new Promise((resolve, reject) => pipeStreams(streams, (error) => (error ? reject(error) : resolve())));
}

const isPrematureClose = (error: Error) => (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE';

function destroyQuietly(stream: TChainStream, error: Error) {
  const node = stream as Readable;
  if (!node.destroyed) node.destroy(error);
}
