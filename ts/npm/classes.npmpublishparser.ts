import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { jsonParser } from 'stream-json/core/parser.js';
import { none } from 'stream-chain/defs.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { StreamingBase64Decoder } from '../core/helpers.base64.js';

type TToken = ReturnType<ReturnType<typeof jsonParser>> extends infer R ? (R extends { values: (infer T)[] } ? T : never) : never;
type TContainer = Record<string, unknown> | unknown[];

/** Where one attachment's decoded bytes go while the body streams. */
export interface IAttachmentTarget {
  /** Resolves when the bytes were taken (backpressure); rejects when the target gave up. */
  write(bytes: Buffer): Promise<void>;
  /** No more bytes: resolves once the target has stored them. */
  end(): Promise<void>;
  /** The body failed: drop what was written. */
  abort(error: unknown): void;
}

export interface IPublishParserOptions {
  /** Characters of the document outside the attachments' `data` (keys and values alike). */
  maxDocumentChars: number;
  /** Decoded bytes of all attachments together (dropped ones too). */
  maxAttachmentBytes: number;
  /** The `data` of `_attachments[file]` starts: the document so far is what came before it in the body. */
  openAttachment: (file: string, documentSoFar: Record<string, unknown>) => IAttachmentTarget | Promise<IAttachmentTarget>;
}

export interface IParsedPublish {
  /** The whole document; each `_attachments[file].data` is left out (its bytes went to a target). */
  document: Record<string, unknown>;
  /** Files whose `data` was streamed, in order. */
  streamed: string[];
}

/** The path of an attachment's `data` string: `_attachments` → file → `data`, below the root object. */
const isAttachmentData = (keys: readonly (string | number)[]) =>
  keys.length === 3 && keys[0] === '_attachments' && typeof keys[1] === 'string' && keys[2] === 'data';

/**
 * Reads an npm publish body (`PUT /{name}`: the package document with base64 tarballs in
 * `_attachments.*.data`) as a stream. The document is kept, bounded; each attachment's base64 is
 * decoded as it arrives and handed to a target (storage), so a 200 MiB tarball never sits in memory.
 * Tokens come from stream-json's parser (strings arrive in chunks); the values are assembled here.
 */
export class NpmPublishParser {
  private readonly tokens = jsonParser({ packKeys: true, streamKeys: false, packNumbers: true, streamNumbers: false, packStrings: false, streamStrings: true });
  /** Open containers, the root first, and the key each is being filled at. */
  private readonly stack: TContainer[] = [];
  private readonly keys: (string | number)[] = [];
  private pendingKey: string | undefined;
  private root: unknown;
  private hasRoot = false;
  private documentChars = 0;
  private attachmentBytes = 0;
  private text: string[] | undefined;
  private attachment: { file: string; target: IAttachmentTarget; decoder: StreamingBase64Decoder } | undefined;
  private readonly streamed: string[] = [];

  constructor(private readonly options: IPublishParserOptions) {}

  async parse(body: Readable): Promise<IParsedPublish> {
    const decoder = new StringDecoder('utf8');
    try {
      for await (const chunk of body) {
        await this.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
      }
      await this.feed(decoder.end());
      await this.consume(this.tokenize(none as never));
    } catch (error) {
      this.attachment?.target.abort(error);
      if (!body.readableEnded) body.destroy();
      // Storage failing under an attachment is ours (a 5xx), not the client's JSON.
      throw error;
    }
    if (!this.hasRoot || !this.root || typeof this.root !== 'object' || Array.isArray(this.root)) {
      throw RegistryError.invalid('the body must be a package document (JSON object)');
    }
    return { document: this.root as Record<string, unknown>, streamed: this.streamed };
  }

  private async feed(text: string) {
    if (text) await this.consume(this.tokenize(text));
  }

  /** Only the tokenizer's errors mean the JSON is malformed. */
  private tokenize(text: string) {
    try {
      return this.tokens(text);
    } catch (error) {
      throw RegistryError.invalid(`malformed JSON body: ${(error as Error).message}`);
    }
  }

  private async consume(output: unknown) {
    const values = (output as { values?: TToken[] } | undefined)?.values;
    if (!values) return;
    for (const token of values) await this.token(token);
  }

  private count(chars: number) {
    this.documentChars += chars;
    if (this.documentChars > this.options.maxDocumentChars) {
      throw RegistryError.tooLarge(`the package document (without tarballs) exceeds the limit of ${this.options.maxDocumentChars} characters`);
    }
  }

  private async token(token: TToken): Promise<void> {
    switch (token.name) {
      case 'startObject':
      case 'startArray':
        this.open(token.name === 'startObject' ? {} : []);
        return;
      case 'endObject':
      case 'endArray':
        this.close();
        return;
      case 'keyValue':
        this.count(token.value.length);
        this.pendingKey = token.value;
        return;
      case 'startString':
        if (isAttachmentData(this.pathOfNextValue())) {
          const file = this.pathOfNextValue()[1] as string;
          const target = await this.options.openAttachment(file, this.root as Record<string, unknown>);
          this.attachment = { file, target, decoder: new StreamingBase64Decoder(`attachment ${file}`) };
        } else {
          this.text = [];
        }
        return;
      case 'stringChunk':
        if (this.attachment) {
          await this.writeAttachment(this.attachment.decoder.write(token.value));
        } else {
          this.count(token.value.length);
          this.text!.push(token.value);
        }
        return;
      case 'endString':
        if (this.attachment) {
          const { file, target, decoder } = this.attachment;
          await this.writeAttachment(decoder.end());
          this.attachment = undefined;
          await target.end();
          this.streamed.push(file);
          this.pendingKey = undefined; // `data` is left out of the document
        } else {
          const value = this.text!.join('');
          this.text = undefined;
          this.add(value);
        }
        return;
      case 'numberValue':
        this.count(token.value.length);
        this.add(Number(token.value));
        return;
      case 'trueValue':
      case 'falseValue':
      case 'nullValue':
        this.count(4);
        this.add(token.value);
        return;
      default:
        return;
    }
  }

  private async writeAttachment(bytes: Buffer) {
    if (bytes.length === 0) return;
    this.attachmentBytes += bytes.length;
    if (this.attachmentBytes > this.options.maxAttachmentBytes) {
      throw RegistryError.tooLarge(`attachment data exceeds the limit of ${this.options.maxAttachmentBytes} bytes`);
    }
    await this.attachment!.target.write(bytes);
  }

  /** Keys from the root to the value that comes next. */
  private pathOfNextValue(): (string | number)[] {
    const top = this.stack.at(-1);
    const next = Array.isArray(top) ? top.length : this.pendingKey;
    return next === undefined ? [...this.keys] : [...this.keys, next];
  }

  private add(value: unknown) {
    const top = this.stack.at(-1);
    if (top === undefined) {
      this.root = value;
      this.hasRoot = true;
    } else if (Array.isArray(top)) {
      top.push(value);
    } else {
      // A key that comes twice keeps its last value, as JSON.parse does; `__proto__` stays a plain key.
      Object.defineProperty(top, this.pendingKey!, { value, enumerable: true, writable: true, configurable: true });
      this.pendingKey = undefined;
    }
  }

  private open(container: TContainer) {
    this.count(1);
    const top = this.stack.at(-1);
    if (top !== undefined) this.keys.push(Array.isArray(top) ? top.length : this.pendingKey!);
    this.add(container);
    this.stack.push(container);
  }

  private close() {
    this.stack.pop();
    if (this.stack.length > 0) this.keys.pop();
  }
}
