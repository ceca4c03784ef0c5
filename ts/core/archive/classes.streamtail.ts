import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes a stream through unchanged and keeps its last `limit` bytes: put between an upload and its
 * storage, it holds the end of what was stored, where a zip keeps its directory (and, in a small
 * archive, everything), so reading the archive right after costs no request to storage.
 */
export class StreamTail extends Transform {
  private readonly parts: Buffer[] = [];
  private held = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.parts.push(chunk);
    this.held += chunk.length;
    // Whole chunks are dropped only while what stays still covers the limit.
    while (this.held - this.parts[0].length >= this.limit) this.held -= this.parts.shift()!.length;
    callback(null, chunk);
  }

  /** The last `limit` bytes seen (all of them when fewer). */
  get tail(): Buffer {
    const kept = Buffer.concat(this.parts, this.held);
    return kept.subarray(Math.max(0, kept.length - this.limit));
  }
}
