import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { IReopenableBody } from './classes.s3objectclient.js';

/**
 * Bodies up to this size stay in memory. A temporary file for every body cost a small publish on S3 about 3 ms of
 * CPU and 10-20 ms of waiting on the file system at load 12 (an 8 KiB artifact: 3.2-4.1 against 0.73-0.76 ms of
 * CPU for the same put from memory).
 */
export const SPOOL_IN_MEMORY_BYTES = 1024 * 1024;

/**
 * Where a stream waits until its length is known (S3's conditional PutObject needs it up front): in memory while
 * small, in a temporary file once it grows past SPOOL_IN_MEMORY_BYTES. `remove()` deletes the file, if any.
 */
export class SpoolWriter extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  private dir?: string;
  private file?: fs.WriteStream;
  private spilling?: Promise<void>;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.file) {
      if (this.file.write(chunk)) callback();
      else this.file.once('drain', () => callback());
      return;
    }
    this.chunks.push(chunk);
    if (this.size <= SPOOL_IN_MEMORY_BYTES) {
      callback();
      return;
    }
    this.spilling = this.spill();
    this.spilling.then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.file) {
      callback();
      return;
    }
    const file = this.file;
    file.end();
    finished(file).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.file?.destroy();
    callback(error);
  }

  /** Once finished: the bytes, or the file to read them from. */
  body(): Uint8Array | IReopenableBody {
    if (!this.file) return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const file = this.file.path as string;
    return { open: () => fs.createReadStream(file), length: this.size };
  }

  async remove(): Promise<void> {
    await this.spilling?.catch(() => undefined);
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
  }

  private async spill(): Promise<void> {
    this.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-s3-spool-'));
    if (this.destroyed) return;
    const file = fs.createWriteStream(path.join(this.dir, 'body'));
    file.on('error', (error) => this.destroy(error));
    this.file = file;
    for (const chunk of this.chunks) file.write(chunk);
    this.chunks = [];
  }
}
