import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BufferPool } from '../classes.bufferpool.js';

export interface IPartUploadOptions {
  /**
   * Part buffers kept between uploads, so that the next one (the next chunk of an OCI upload, the next small
   * jar) refills them instead of leaving dead part-sized buffers for the garbage collector.
   */
  buffers: BufferPool;
  /** Parts sent at once; one more is filled meanwhile. */
  parallelParts: number;
  /** Sends a body shorter than one part, returning its etag; default a PutObject through `client`. */
  putWhole?: (bytes: Buffer) => Promise<string>;
}

/**
 * A stream of unknown length into one S3 object, in parts filled in place: an upload holds
 * `parallelParts + 1` part buffers from the pool and refills each after its part is sent, so it leaves no
 * dead part-sized buffers behind for the garbage collector (lib-storage's Upload concatenates the stream's
 * chunks into a new buffer per part: two copies of every byte waiting to be collected). A body shorter
 * than one part goes up in one PutObject. When the body fails, the parts already sent are aborted and
 * nothing becomes visible.
 */
export async function uploadInParts(
  client: S3Client,
  target: { Bucket: string; Key: string },
  body: Readable,
  options: IPartUploadOptions,
): Promise<{ etag: string }> {
  const { buffers } = options;
  const partBytes = buffers.bufferBytes;

  let uploadId: Promise<string> | undefined;
  const sent = new Set<Promise<void>>();
  const completed: CompletedPart[] = [];
  let failure: unknown;

  const sendPart = (buffer: Buffer, length: number, partNumber: number) => {
    uploadId ??= client.send(new CreateMultipartUploadCommand(target)).then(({ UploadId }) => {
      if (!UploadId) throw new Error(`the S3 server started no multipart upload for ${target.Key}`);
      return UploadId;
    });
    const sending: Promise<void> = uploadId
      .then((UploadId) =>
        client.send(new UploadPartCommand({ ...target, UploadId, PartNumber: partNumber, Body: buffer.subarray(0, length), ContentLength: length })),
      )
      .then(({ ETag }) => {
        completed.push({ PartNumber: partNumber, ETag });
        buffers.give(buffer);
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => sent.delete(sending));
    sent.add(sending);
  };

  let buffer = buffers.take();
  let filled = 0;
  let partNumber = 1;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const copied = chunk.copy(buffer, filled, offset);
        offset += copied;
        filled += copied;
        if (filled < partBytes) continue;
        // The body waits (backpressure) while the most parts are in flight: no buffer beyond those.
        while (failure === undefined && sent.size >= options.parallelParts) await Promise.race(sent);
        if (failure !== undefined) throw failure;
        sendPart(buffer, filled, partNumber++);
        buffer = buffers.take();
        filled = 0;
      }
    }
    if (!uploadId) {
      const bytes = buffer.subarray(0, filled);
      const etag = options.putWhole
        ? await options.putWhole(bytes)
        : ((await client.send(new PutObjectCommand({ ...target, Body: bytes, ContentLength: filled }))).ETag ?? '');
      buffers.give(buffer);
      return { etag };
    }
    if (filled > 0) sendPart(buffer, filled, partNumber);
    else buffers.give(buffer);
    await Promise.all(sent);
    if (failure !== undefined) throw failure;
    completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const response = await client.send(
      new CompleteMultipartUploadCommand({ ...target, UploadId: await uploadId, MultipartUpload: { Parts: completed } }),
    );
    return { etag: response.ETag ?? '' };
  } catch (error) {
    await Promise.all(sent);
    if (uploadId) {
      const started = await uploadId.catch(() => undefined);
      // The error to report is why the upload failed, not a failed abort after it.
      if (started) await client.send(new AbortMultipartUploadCommand({ ...target, UploadId: started })).catch(() => undefined);
    }
    throw error;
  }
}
