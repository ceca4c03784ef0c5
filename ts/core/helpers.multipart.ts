import { PassThrough, type Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import { RegistryError } from './classes.registryerror.js';
import { pipeStreamsAsync } from './helpers.pipe.js';
import { toNodeReadable } from './helpers.stream.js';

export interface IMultipartLimits {
  /** Most non-file fields. */
  maxFields: number;
  /** Largest value of one field, in bytes. */
  maxFieldBytes: number;
  /** Most file parts. */
  maxFiles: number;
  /** Largest file, in bytes. */
  maxFileBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: Omit<IMultipartLimits, 'maxFileBytes'> = {
  maxFields: 200,
  maxFieldBytes: 1024 * 1024,
  maxFiles: 1,
};

export interface IMultipartFile {
  /** The form field the file came in (twine: `content`). */
  fieldName: string;
  /** As the client sent it, directories included: check it before using it. */
  fileName: string;
  mimeType: string;
  /**
   * The file's bytes as they arrive. It ends only once the whole form parsed, and fails with
   * 'too-large' past `maxFileBytes`, 'invalid' when the body is cut short, or whatever refused the
   * form after the file: a storage put reading it then stores nothing.
   */
  stream: Readable;
}

export interface IMultipartResult<T> {
  /** Every field by name, values in the order sent (twine repeats `classifiers`, `requires_dist` ...). */
  fields: ReadonlyMap<string, string[]>;
  /** What `onFile` returned, when the form had a file. */
  file?: T;
}

const MULTIPART_FORM_DATA = /^multipart\/form-data\s*(;|$)/i;

/**
 * Parses a streaming `multipart/form-data` body (what twine sends: fields, then one file) with
 * @fastify/busboy. Fields are collected (each bounded); the file is handed to `onFile` as a
 * stream, never buffered here: `onFile` must read it to its end (pipe it into storage) and gets
 * the fields sent before it. Any limit, a missing boundary, a body cut short or a failing
 * `onFile` rejects with a RegistryError (or `onFile`'s error) and stops reading the body.
 */
export async function parseMultipart<T>(
  body: Readable | ReadableStream<Uint8Array> | Uint8Array,
  contentType: string | undefined,
  limits: Partial<IMultipartLimits> & Pick<IMultipartLimits, 'maxFileBytes'>,
  onFile: (file: IMultipartFile, fieldsBefore: ReadonlyMap<string, string[]>) => Promise<T>,
): Promise<IMultipartResult<T>> {
  const { maxFields, maxFieldBytes, maxFiles, maxFileBytes } = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  if (!contentType || !MULTIPART_FORM_DATA.test(contentType)) {
    throw new RegistryError('unsupported', `expected a multipart/form-data body, got ${contentType ? JSON.stringify(contentType) : 'no content type'}`);
  }
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({
      headers: { 'content-type': contentType },
      limits: { fields: maxFields, fieldSize: maxFieldBytes, files: maxFiles, fileSize: maxFileBytes },
      // The file name as sent, so a protocol can refuse `../` instead of getting a silently shortened name.
      preservePath: true,
    });
  } catch (error) {
    throw RegistryError.invalid(`malformed multipart/form-data content type: ${(error as Error).message}`);
  }

  const source = toNodeReadable(body);
  const fields = new Map<string, string[]>();
  let file: { stream: PassThrough; result: Promise<T> } | undefined;
  let failure: Error | undefined;
  // The first failure wins: it ends the file stream the caller reads and stops reading the body.
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    file?.stream.destroy(error);
    source.destroy();
    // The parser too: a body already read whole leaves the parser waiting for a file nobody reads any more.
    parser.destroy();
  };

  parser.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    if (valueTruncated) return fail(RegistryError.tooLarge(`form field ${JSON.stringify(name)} exceeds the limit of ${maxFieldBytes} bytes`));
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
  });
  parser.on('fieldsLimit', () => fail(RegistryError.tooLarge(`form has more than ${maxFields} fields`)));
  parser.on('filesLimit', () => fail(RegistryError.tooLarge(`form has more than ${maxFiles} file${maxFiles === 1 ? '' : 's'}`)));
  parser.on('file', (fieldName: string, partStream: Readable, fileName: string, _encoding: string, mimeType: string) => {
    // The caller reads our stream, so a limit or a cut body can fail it before it ends (busboy's own
    // file stream would just end, truncated).
    const stream = new PassThrough();
    // Whoever reads the stream sees its failure through the read; parseMultipart rejects with it too.
    stream.on('error', () => undefined);
    partStream.on('limit', () => fail(RegistryError.tooLarge(`file ${JSON.stringify(fileName)} exceeds the limit of ${maxFileBytes} bytes`)));
    partStream.on('error', (error: Error) => fail(describeParseError(error)));
    // Ended only once the whole form parsed, so a form refused after its file stores nothing.
    partStream.pipe(stream, { end: false });
    const fieldsBefore = new Map([...fields].map(([name, values]) => [name, [...values]]));
    const result = onFile({ fieldName, fileName, mimeType, stream }, fieldsBefore);
    result.catch((error: Error) => fail(error));
    file = { stream, result };
  });

  try {
    await pipeStreamsAsync(source, parser);
    file?.stream.end();
  } catch (error) {
    fail(describeParseError(error as Error));
  }
  const fileResult = await file?.result.catch((error: Error) => fail(error));
  if (failure) throw failure;
  return { fields, file: fileResult as T | undefined };
}

function describeParseError(error: Error): Error {
  if (error instanceof RegistryError) return error;
  if (/unexpected end/i.test(error.message)) return RegistryError.invalid('multipart body ended before its closing boundary');
  return RegistryError.invalid(`malformed multipart body: ${error.message}`);
}
