/**
 * Buffers of one size kept for reuse: a new buffer of 128 KiB or more is a mapping of its own under `serve`'s
 * malloc settings (cli/runtime.ts), so every one costs an mmap, a page fault per 4 KiB written and an munmap
 * once V8 collects it, and until then it is memory V8 counts as allocated. Used for S3 part buffers and for
 * the whole reads of small objects. Idle buffers are dropped after `idleMs` without a `give`.
 */
export class BufferPool {
  private idle: Buffer[] = [];
  private dropTimer?: NodeJS.Timeout;

  constructor(
    readonly bufferBytes: number,
    /** Idle buffers kept at most; more given back are left to the garbage collector. */
    private readonly keep: number,
    private readonly idleMs = 10_000,
  ) {}

  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** Only a buffer nobody reads or writes any more: the next `take` hands it out again. */
  give(buffer: Buffer): void {
    // Given twice, it would be handed to two takers at once.
    if (this.idle.length < this.keep && !this.idle.includes(buffer)) this.idle.push(buffer);
    clearTimeout(this.dropTimer);
    this.dropTimer = setTimeout(() => (this.idle = []), this.idleMs).unref();
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
