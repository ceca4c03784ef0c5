import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { parseMultipart, type IMultipartFile } from '../../ts/core/helpers.multipart.js';
import { CORE_CONTEXT } from '../../ts/core/classes.registrystorage.js';
import { RegistryError, type TRegistryErrorKind } from '../../ts/core/classes.registryerror.js';
import { startTempStorage } from '../helpers/tempstorage.js';
import { generatedStream } from './storage/backend.suite.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const isKind = (kind: TRegistryErrorKind, message?: RegExp) => (error: unknown) =>
  error instanceof RegistryError && error.kind === kind && (!message || message.test(error.message));

const sha256 = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

const BOUNDARY = 'form-boundary-7MA4YWxkTrZu0gW';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

type TPart = { name: string; value: string } | { name: string; fileName: string; data: Buffer | (() => AsyncIterable<Buffer>) };

/** A multipart body written by hand, streamed part by part; `cutAfter` ends it early, mid-way. */
function multipartBody(parts: TPart[], options: { cutAfter?: number } = {}): Readable {
  async function* chunks() {
    for (const part of parts) {
      if ('value' in part) {
        yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`);
        continue;
      }
      yield Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.fileName}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
      if (Buffer.isBuffer(part.data)) yield part.data;
      else yield* part.data();
      yield Buffer.from('\r\n');
    }
    yield Buffer.from(`--${BOUNDARY}--\r\n`);
  }
  async function* cut(limit: number) {
    let sent = 0;
    for await (const chunk of chunks()) {
      if (sent + chunk.length >= limit) {
        yield chunk.subarray(0, limit - sent);
        return;
      }
      sent += chunk.length;
      yield chunk;
    }
  }
  return Readable.from(options.cutAfter === undefined ? chunks() : cut(options.cutAfter), { objectMode: false });
}

/** `size` deterministic pseudo-random bytes; `onChunk` sees how many were made so far. */
const randomChunks = (seed: string, size: number, onChunk?: (made: number) => void) =>
  async function* () {
    let made = 0;
    for await (const chunk of generatedStream(seed, size)) {
      made += (chunk as Buffer).length;
      onChunk?.(made);
      yield chunk as Buffer;
    }
  };

const twineFields = [
  { name: ':action', value: 'file_upload' },
  { name: 'protocol_version', value: '1' },
  { name: 'name', value: 'demo' },
  { name: 'version', value: '1.0' },
  { name: 'filetype', value: 'sdist' },
  { name: 'classifiers', value: 'Programming Language :: Python :: 3' },
  { name: 'classifiers', value: 'License :: OSI Approved :: MIT License' },
];

describe('parseMultipart', () => {
  let env: Awaited<ReturnType<typeof startTempStorage>>;
  let counter = 0;

  before(async () => (env = await startTempStorage('sr-multipart-')));
  after(() => env.stop());

  const storedKeys = () => env.keys();
  /** What a protocol's upload does with the file: pipe it into storage. */
  const intoStorage = (file: IMultipartFile) => env.storage.putObject(`uploads/${++counter}`, file.stream, CORE_CONTEXT);

  it('reads a form encoded by the fetch API (fields, repeated fields, one file) and stores the file', async () => {
    const archive = crypto.randomBytes(300 * KiB);
    const form = new FormData();
    for (const field of twineFields) form.append(field.name, field.value);
    form.append('content', new Blob([archive]), 'demo-1.0.tar.gz');
    form.append('sha256_digest', sha256(archive));
    const request = new Request('https://registry.example.com/pypi/', { method: 'POST', body: form });

    let seen: { file: Omit<IMultipartFile, 'stream'>; fieldsBefore: string[] } | undefined;
    const result = await parseMultipart(request.body!, request.headers.get('content-type') ?? undefined, { maxFileBytes: 1 * MiB }, async (file, fieldsBefore) => {
      seen = { file: { fieldName: file.fieldName, fileName: file.fileName, mimeType: file.mimeType }, fieldsBefore: [...fieldsBefore.keys()] };
      return intoStorage(file);
    });
    assert.deepEqual(seen, {
      file: { fieldName: 'content', fileName: 'demo-1.0.tar.gz', mimeType: 'application/octet-stream' },
      fieldsBefore: [':action', 'protocol_version', 'name', 'version', 'filetype', 'classifiers'],
    });
    assert.deepEqual(result.fields.get('classifiers'), ['Programming Language :: Python :: 3', 'License :: OSI Approved :: MIT License']);
    assert.deepEqual(result.fields.get('sha256_digest'), [sha256(archive)], 'fields after the file are kept too');
    assert.equal(result.file?.digests.sha256, sha256(archive));
    assert.equal(result.file?.size, archive.length);
  });

  it('hands the file on while it is still arriving, never buffering it whole', async () => {
    const size = 40 * MiB;
    let made = 0;
    let madeWhenHandedOn = -1;
    const body = multipartBody([...twineFields, { name: 'content', fileName: 'big.whl', data: randomChunks('big', size, (bytes) => (made = bytes)) }]);
    const result = await parseMultipart(body, CONTENT_TYPE, { maxFileBytes: 64 * MiB }, async (file) => {
      madeWhenHandedOn = made;
      return intoStorage(file);
    });
    assert.ok(madeWhenHandedOn <= 2 * MiB, `the file was handed on after ${madeWhenHandedOn} of its bytes were made`);
    const expected = crypto.createHash('sha256');
    for await (const chunk of randomChunks('big', size)()) expected.update(chunk);
    assert.equal(result.file?.digests.sha256, expected.digest('hex'));
    assert.equal(result.fields.get('name')?.[0], 'demo');
  });

  it('gives the fields alone when the form has no file', async () => {
    const result = await parseMultipart(multipartBody(twineFields), CONTENT_TYPE, { maxFileBytes: MiB }, async () => assert.fail('no file'));
    assert.equal(result.file, undefined);
    assert.equal(result.fields.size, 6);
  });

  it('enforces the file, field and count limits with 413, storing nothing', async () => {
    const keysBefore = await storedKeys();
    const cases: [TPart[], RegExp][] = [
      [[...twineFields, { name: 'content', fileName: 'x.whl', data: randomChunks('over', 3 * MiB) }], /file "x.whl" exceeds the limit of 2097152 bytes/],
      [[{ name: 'summary', value: 'x'.repeat(5 * KiB) }], /form field "summary" exceeds the limit of 4096 bytes/],
      [Array.from({ length: 11 }, (_, index) => ({ name: `f${index}`, value: 'v' })), /more than 10 fields/],
      [[{ name: 'a', fileName: 'a', data: Buffer.from('a') }, { name: 'b', fileName: 'b', data: Buffer.from('b') }], /more than 1 file$/],
    ];
    for (const [parts, message] of cases) {
      const error = await parseMultipart(multipartBody(parts), CONTENT_TYPE, { maxFileBytes: 2 * MiB, maxFieldBytes: 4 * KiB, maxFields: 10 }, intoStorage).then(
        () => assert.fail(`accepted: ${message}`),
        (error: unknown) => error,
      );
      assert.ok(isKind('too-large', message)(error), `${message}: ${error}`);
      assert.equal((error as RegistryError).status, 413);
    }
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('fails (never hangs) when the file passes its limit before the consumer starts reading, the whole body in one chunk', async () => {
    const keysBefore = await storedKeys();
    const whole = Buffer.concat(await multipartBody([...twineFields, { name: 'content', fileName: 'x.whl', data: crypto.randomBytes(300 * KiB) }]).toArray());
    // The consumer checks something first (an authorization, a duplicate) and only then reads the file.
    const late = async (file: IMultipartFile) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return intoStorage(file);
    };
    const error = await parseMultipart(Readable.from([whole]), CONTENT_TYPE, { maxFileBytes: 256 * KiB }, late).then(
      () => assert.fail('accepted'),
      (error: unknown) => error,
    );
    assert.ok(isKind('too-large', /exceeds the limit of 262144 bytes/)(error), String(error));
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('ends the file only once the whole form parsed: a form refused after its file ends its consumer in failure', async () => {
    let consumerSawEnd = false;
    async function* body() {
      yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="x.whl"\r\n\r\n`);
      yield Buffer.alloc(64 * KiB, 1);
      yield Buffer.from('\r\n');
      // The file part is closed by the boundary that follows it; then give its reader many turns to see an end.
      yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f0"\r\n\r\nv\r\n`);
      for (let turn = 0; turn < 100 && !consumerSawEnd; turn++) await new Promise((resolve) => setImmediate(resolve));
      for (let index = 1; index <= 3; index++) yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f${index}"\r\n\r\nv\r\n`);
      yield Buffer.from(`--${BOUNDARY}--\r\n`);
    }
    let consumer: 'complete' | 'failed' | undefined;
    await assert.rejects(
      parseMultipart(Readable.from(body(), { objectMode: false }), CONTENT_TYPE, { maxFileBytes: MiB, maxFields: 2 }, async (file) => {
        try {
          for await (const _chunk of file.stream);
          consumerSawEnd = true;
          consumer = 'complete';
        } catch {
          consumer = 'failed';
        }
      }),
      isKind('too-large', /more than 2 fields/),
    );
    assert.equal(consumer, 'failed');
  });

  it('answers a body cut short with 400, in the fields or in the file, storing nothing', async () => {
    const keysBefore = await storedKeys();
    const parts: TPart[] = [...twineFields, { name: 'content', fileName: 'x.whl', data: randomChunks('cut', 2 * MiB) }];
    for (const cutAfter of [100, 1 * MiB]) {
      await assert.rejects(
        parseMultipart(multipartBody(parts, { cutAfter }), CONTENT_TYPE, { maxFileBytes: 4 * MiB }, intoStorage),
        isKind('invalid', /multipart body ended before its closing boundary/),
        `cut after ${cutAfter} bytes`,
      );
    }
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('refuses a missing boundary (400) and a body that is not multipart/form-data (415)', async () => {
    const never = async () => assert.fail('no file expected');
    await assert.rejects(parseMultipart(multipartBody(twineFields), 'multipart/form-data', { maxFileBytes: MiB }, never), isKind('invalid', /Boundary not found/));
    for (const contentType of ['application/x-www-form-urlencoded', 'application/json', undefined]) {
      await assert.rejects(parseMultipart(Buffer.from('a=b'), contentType, { maxFileBytes: MiB }, never), isKind('unsupported', /expected a multipart\/form-data body/));
    }
  });

  it('fails with the error of a failing consumer and stops reading the body', async () => {
    const body = multipartBody([...twineFields, { name: 'content', fileName: 'x.whl', data: randomChunks('refused', 16 * MiB) }]);
    const refused = RegistryError.denied('quota exceeded');
    await assert.rejects(
      parseMultipart(body, CONTENT_TYPE, { maxFileBytes: 32 * MiB }, async (file) => {
        file.stream.destroy();
        throw refused;
      }),
      (error: unknown) => error === refused,
    );
    assert.ok(body.destroyed, 'the request body is no longer read');
  });
});
