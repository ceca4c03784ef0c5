import type { Readable } from 'node:stream';
import { RegistryError } from './classes.registryerror.js';
import { isNodeReadable, isWebReadableStream, streamToBuffer, toNodeReadable } from './helpers.stream.js';
import type { IRequestContext } from './interfaces.core.js';

export interface IResolvedLimits {
  maxArtifactBytes: number;
  maxMetadataBytes: number;
}

/**
 * One view of a request body whatever the bridge handed us (parsed object, string, bytes, Web or
 * Node stream): as a stream for artifacts, as bytes or JSON for metadata. Limits are enforced from
 * Content-Length before reading; `buffer()` also counts while reading, and a streamed artifact is
 * counted by the storage put it goes into (`maxBytes`).
 */
export class RequestBody {
  private consumed = false;

  constructor(
    private readonly ctx: IRequestContext,
    readonly limits: IResolvedLimits,
    /** The Content-Length header, if any (header names come in any case; the caller found it). */
    private readonly declaredLength?: string,
  ) {}

  /** Declared length, when the client sent one. */
  get contentLength(): number | undefined {
    const value = this.declaredLength;
    if (value === undefined || value === '') return undefined;
    const length = Number(value);
    return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  }

  /** True when there is certainly no body. */
  get isEmpty(): boolean {
    const { body, rawBody } = this.ctx;
    if (rawBody) return rawBody.byteLength === 0;
    if (body === undefined || body === null) return true;
    if (body instanceof Uint8Array || typeof body === 'string') return body.length === 0;
    if (isNodeReadable(body) || isWebReadableStream(body)) return this.contentLength === 0;
    return false;
  }

  /** Is the body an already-parsed object (Express body parser) rather than bytes? */
  get isParsed(): boolean {
    const body = this.ctx.body;
    return (
      !this.ctx.rawBody &&
      typeof body === 'object' &&
      body !== null &&
      !(body instanceof Uint8Array) &&
      !isNodeReadable(body) &&
      !isWebReadableStream(body)
    );
  }

  /** The parsed object, when the bridge parsed the body already. */
  get parsedValue(): unknown {
    return this.isParsed ? this.ctx.body : undefined;
  }

  /** The body as a Node stream, for artifacts. */
  stream(maxBytes = this.limits.maxArtifactBytes): Readable {
    this.checkDeclaredLength(maxBytes);
    this.markConsumed();
    const source = this.ctx.rawBody ?? this.ctx.body ?? new Uint8Array(0);
    return toNodeReadable(source);
  }

  /** The body read whole, for metadata. */
  async buffer(maxBytes = this.limits.maxMetadataBytes): Promise<Buffer> {
    this.checkDeclaredLength(maxBytes);
    this.markConsumed();
    const { rawBody, body } = this.ctx;
    if (rawBody) return this.bounded(Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength), maxBytes);
    if (body === undefined || body === null) return Buffer.alloc(0);
    if (typeof body === 'string') return this.bounded(Buffer.from(body, 'utf8'), maxBytes);
    if (body instanceof Uint8Array) return this.bounded(Buffer.from(body.buffer, body.byteOffset, body.byteLength), maxBytes);
    if (isNodeReadable(body) || isWebReadableStream(body)) return streamToBuffer(body, maxBytes);
    return this.bounded(Buffer.from(JSON.stringify(body), 'utf8'), maxBytes);
  }

  async text(maxBytes?: number): Promise<string> {
    return (await this.buffer(maxBytes)).toString('utf8');
  }

  /** Parsed JSON; a malformed body is an 'invalid' error that says where it broke. */
  async json<T = unknown>(maxBytes?: number): Promise<T> {
    if (this.isParsed) {
      this.markConsumed();
      return this.ctx.body as T;
    }
    const text = await this.text(maxBytes);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw RegistryError.invalid(`malformed JSON body: ${(error as Error).message}`);
    }
  }

  /** Release an unread streaming body (e.g. when a request is refused before reading it). */
  discard(): void {
    if (this.consumed) return;
    this.consumed = true;
    const body = this.ctx.body;
    if (isNodeReadable(body)) body.resume();
    else if (isWebReadableStream(body) && !body.locked) void body.cancel().catch(() => undefined);
  }

  /**
   * When the client closed the connection (or the server's idle timeout cut it off) before the body was
   * complete, whatever failed while reading it failed because of that: a client error, not ours. Null
   * while the body is intact.
   */
  cutOffError(): RegistryError | null {
    const body = this.ctx.body;
    if (!isNodeReadable(body)) return null;
    const errored = (body as Readable).errored as NodeJS.ErrnoException | null;
    if (errored?.code !== 'ECONNRESET') return null;
    return RegistryError.invalid('the request body ended early: the connection closed before it was complete', { cause: errored });
  }

  private checkDeclaredLength(maxBytes: number) {
    const declared = this.contentLength;
    if (declared !== undefined && declared > maxBytes) {
      throw RegistryError.tooLarge(`body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
    }
  }

  private bounded(buffer: Buffer, maxBytes: number): Buffer {
    if (buffer.length > maxBytes) {
      throw RegistryError.tooLarge(`body of ${buffer.length} bytes exceeds the limit of ${maxBytes} bytes`);
    }
    return buffer;
  }

  private markConsumed() {
    if (this.consumed) throw new Error('request body was already read');
    this.consumed = true;
  }
}
