import { PassThrough, type Readable } from 'node:stream';

const HIGH_WATER_MARK = 1024 * 1024;

export interface ITee {
  /** Every byte of the source, for the cache. Ends with the source. */
  toStore: PassThrough;
  /** The same bytes for the first client, one chunk behind: the last one waits for `finishClient`. */
  toClient: PassThrough;
  /** Sends the withheld last chunk and ends the client's copy; call once the stored copy is verified. */
  finishClient(): void;
}

/**
 * One upstream body to two readers without holding it: reading pauses while either is full. The client
 * is kept one chunk behind, so it never holds the whole body before the stored copy passed its digest
 * check (a body that fails it is cut off short of its Content-Length). When the client goes away, its
 * branch is dropped and `onClientGone` decides whether the fetch goes on.
 */
export function teeForCache(source: Readable, onClientGone: () => void): ITee {
  const toStore = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
  const toClient = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
  // A failed upstream can end both before their readers attach (storage runs its hooks first): the
  // readers see the error in the streams' state, so it must not also escape as an unhandled event.
  toStore.on('error', () => undefined);
  toClient.on('error', () => undefined);
  let clientGone = false;
  let storeWaiting = false;
  let clientWaiting = false;
  let held: Buffer | undefined;
  const resumeIfFree = () => {
    if (!storeWaiting && !clientWaiting) source.resume();
  };
  toStore.on('drain', () => {
    storeWaiting = false;
    resumeIfFree();
  });
  toClient.on('drain', () => {
    clientWaiting = false;
    resumeIfFree();
  });
  toClient.on('close', () => {
    if (toClient.writableFinished) return;
    clientGone = true;
    clientWaiting = false;
    onClientGone();
    resumeIfFree();
  });
  source.on('data', (chunk: Buffer) => {
    if (!toStore.write(chunk)) storeWaiting = true;
    if (!clientGone) {
      if (held && !toClient.write(held)) clientWaiting = true;
      held = chunk;
    }
    if (storeWaiting || clientWaiting) source.pause();
  });
  source.on('end', () => toStore.end());
  source.on('error', (error) => {
    toStore.destroy(error);
    toClient.destroy(error);
  });
  const finishClient = () => {
    if (held && !clientGone) toClient.write(held);
    held = undefined;
    toClient.end();
  };
  return { toStore, toClient, finishClient };
}
