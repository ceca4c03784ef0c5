import { Readable } from 'node:stream';
import { RegistryError } from './classes.registryerror.js';

const EMPTY = Buffer.alloc(0);

/**
 * Reads a request body made of parts whose lengths the body itself declares (Cargo's publish:
 * length, JSON, length, .crate): small parts as bytes, the last one as a stream of exactly its
 * declared length, without holding it in memory. A body that ends early or runs past the last part
 * is an 'invalid' error that names the part.
 */
export class FramedStreamReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = EMPTY;
  private ended = false;
  /** Bytes handed out so far. */
  position = 0;

  constructor(source: Readable) {
    this.chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Exactly `length` bytes of the part `what`. */
  async read(length: number, what: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    let missing = length;
    while (missing > 0) {
      const chunk = await this.next(missing);
      if (!chunk) throw RegistryError.invalid(`body is truncated: it ends inside ${what} (${length - missing} of ${length} bytes)`);
      parts.push(chunk);
      missing -= chunk.length;
    }
    this.position += length;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
  }

  /**
   * The last part, `length` bytes, as a stream: it fails when the body ends before them or goes on
   * after them, so whatever stores it keeps nothing of a body that lied about its lengths.
   */
  rest(length: number, what: string): Readable {
    const self = this;
    return Readable.from(
      (async function* () {
        let missing = length;
        while (missing > 0) {
          const chunk = await self.next(missing);
          if (!chunk) throw RegistryError.invalid(`body is truncated: it ends inside ${what} (${length - missing} of ${length} bytes)`);
          missing -= chunk.length;
          self.position += chunk.length;
          yield chunk;
        }
        if (await self.next(1)) throw RegistryError.invalid(`body has bytes after ${what} (it declared ${length} bytes)`);
      })(),
      { objectMode: false },
    );
  }

  /** Up to `max` next bytes; null at the end of the body. */
  private async next(max: number): Promise<Buffer | null> {
    if (this.pending.length === 0) {
      if (this.ended) return null;
      const { value, done } = await this.chunks.next();
      if (done) {
        this.ended = true;
        return null;
      }
      this.pending = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
      if (this.pending.length === 0) return this.next(max);
    }
    const taken = this.pending.length <= max ? this.pending : this.pending.subarray(0, max);
    this.pending = this.pending.length <= max ? EMPTY : this.pending.subarray(max);
    return taken;
  }

  /**
   * After an error: read the rest of the body and drop it, so the client, still sending, gets the
   * answer instead of a reset connection.
   */
  discardRest(): void {
    this.pending = EMPTY;
    if (this.ended) return;
    void (async () => {
      while (!(await this.chunks.next()).done);
    })().catch(() => undefined);
  }
}
