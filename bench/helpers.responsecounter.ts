/**
 * Counts back-to-back HTTP/1.1 responses on one keep-alive socket without keeping their bodies:
 * the status and the body length of each (Content-Length or chunked), for the load generator.
 * Answers to GET only: a body is assumed wherever the headers announce one. A pushed chunk is not kept (its
 * buffer may be reused for the next read).
 */
type TState = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer';

export class HttpResponseCounter {
  private state: TState = 'head';
  private head: Buffer = Buffer.alloc(0);
  private line = '';
  private remaining = 0;
  private status = 0;
  private bodyBytes = 0;

  constructor(private readonly onResponse: (status: number, bodyBytes: number) => void) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'head':
          at = this.readHead(chunk, at);
          break;
        case 'body':
        case 'chunk-data':
        case 'chunk-end': {
          const taken = Math.min(this.remaining, chunk.length - at);
          if (this.state !== 'chunk-end') this.bodyBytes += taken;
          this.remaining -= taken;
          at += taken;
          if (this.remaining === 0) this.afterRun();
          break;
        }
        case 'chunk-size':
        case 'trailer':
          at = this.readLine(chunk, at);
          break;
      }
    }
  }

  private readHead(chunk: Buffer, at: number): number {
    const before = this.head.length;
    this.head = before === 0 ? chunk.subarray(at) : Buffer.concat([this.head, chunk.subarray(at)]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) {
      // A head cut across reads is kept as a copy: the reader reuses its buffer.
      if (before === 0) this.head = Buffer.from(this.head);
      return chunk.length;
    }
    const text = this.head.subarray(0, end).toString('latin1');
    this.head = Buffer.alloc(0);
    this.status = Number(text.slice(9, 12));
    this.bodyBytes = 0;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) this.state = 'chunk-size';
    else if (length && Number(length[1]) > 0) {
      this.state = 'body';
      this.remaining = Number(length[1]);
    } else this.finish();
    return at + (end + 4 - before);
  }

  /** Chunk sizes and trailer lines. */
  private readLine(chunk: Buffer, at: number): number {
    const newline = chunk.indexOf(10, at);
    this.line += chunk.toString('latin1', at, newline < 0 ? chunk.length : newline);
    if (newline < 0) return chunk.length;
    const line = this.line.trim();
    this.line = '';
    if (this.state === 'trailer') {
      if (line === '') this.finish();
    } else {
      this.remaining = parseInt(line, 16);
      this.state = this.remaining === 0 ? 'trailer' : 'chunk-data';
    }
    return newline + 1;
  }

  private afterRun(): void {
    if (this.state === 'body') this.finish();
    else if (this.state === 'chunk-data') {
      this.state = 'chunk-end';
      this.remaining = 2;
    } else this.state = 'chunk-size';
  }

  private finish(): void {
    this.state = 'head';
    this.onResponse(this.status, this.bodyBytes);
  }
}
