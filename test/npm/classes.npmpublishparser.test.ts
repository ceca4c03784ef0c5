import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { NpmPublishParser, type IAttachmentTarget } from '../../ts/npm/classes.npmpublishparser.js';

/** Collects what the parser hands each attachment target, and what the document looked like then. */
function collector() {
  const received = new Map<string, { bytes: Buffer[]; ended: boolean; aborted?: unknown; soFar: string[] }>();
  const openAttachment = (file: string, soFar: Record<string, unknown>): IAttachmentTarget => {
    const entry = { bytes: [] as Buffer[], ended: false, aborted: undefined as unknown, soFar: Object.keys(soFar) };
    received.set(file, entry);
    return {
      write: async (bytes) => void entry.bytes.push(Buffer.from(bytes)),
      end: async () => void (entry.ended = true),
      abort: (error) => void (entry.aborted = error),
    };
  };
  return { received, openAttachment };
}

/** The body in pieces of `size` bytes (multi-byte characters split too). */
const inPieces = (text: string, size: number) => {
  const bytes = Buffer.from(text, 'utf8');
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return Readable.from(pieces, { objectMode: false });
};

describe('npm publish body, streamed', () => {
  const tarball = crypto.randomBytes(5000);
  const document = {
    _id: 'pkg',
    name: 'pkg',
    description: 'ünïcödé and "quotes" \\ and \u2028',
    'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { name: 'pkg', version: '1.0.0', dist: { shasum: 'x' }, n: [1, 2.5, -3e2, true, false, null, [], {}] } },
    _attachments: { 'pkg-1.0.0.tgz': { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
  };
  const text = JSON.stringify(document);

  it('keeps the document, streams each attachment’s data decoded, whatever the piece size', async () => {
    for (const size of [1, 7, 4096, text.length]) {
      const { received, openAttachment } = collector();
      const parsed = await new NpmPublishParser({ maxDocumentChars: 100_000, maxAttachmentBytes: 10_000, openAttachment }).parse(inPieces(text, size));
      const expected = JSON.parse(text);
      delete expected._attachments['pkg-1.0.0.tgz'].data;
      assert.deepEqual(parsed.document, expected, `pieces of ${size}`);
      assert.deepEqual(parsed.streamed, ['pkg-1.0.0.tgz']);
      const entry = received.get('pkg-1.0.0.tgz')!;
      assert.ok(entry.ended);
      assert.deepEqual(Buffer.concat(entry.bytes), tarball);
      assert.deepEqual(entry.soFar, ['_id', 'name', 'description', 'dist-tags', 'versions', '_attachments'], 'the document read so far');
    }
  });

  it('a string named data elsewhere is an ordinary value; keys are plain (no __proto__ tricks); the last duplicate wins', async () => {
    const body = '{"data":"x","versions":{"1.0.0":{"data":"y"}},"__proto__":{"polluted":true},"a":1,"a":2}';
    const { received, openAttachment } = collector();
    const parsed = await new NpmPublishParser({ maxDocumentChars: 1000, maxAttachmentBytes: 10, openAttachment }).parse(inPieces(body, 5));
    assert.equal(received.size, 0);
    assert.equal(parsed.document.data, 'x');
    assert.equal(parsed.document.a, 2);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.getPrototypeOf(parsed.document), Object.prototype);
    assert.deepEqual(parsed.document['__proto__' as keyof object], { polluted: true });
  });

  const refusal = async (body: string, kind: string, message: RegExp, options: { maxDocumentChars?: number; maxAttachmentBytes?: number } = {}) => {
    const { received, openAttachment } = collector();
    await assert.rejects(
      new NpmPublishParser({ maxDocumentChars: options.maxDocumentChars ?? 1000, maxAttachmentBytes: options.maxAttachmentBytes ?? 1000, openAttachment }).parse(inPieces(body, 3)),
      (error: unknown) => error instanceof RegistryError && error.kind === kind && message.test(error.message),
      body.slice(0, 40),
    );
    return received;
  };

  it('refuses malformed JSON, a body that is not an object, and a document over its budget', async () => {
    await refusal('{"name": "pkg", ', 'invalid', /malformed JSON/);
    await refusal('{"name": pkg}', 'invalid', /malformed JSON/);
    await refusal('[1,2]', 'invalid', /package document/);
    await refusal('"text"', 'invalid', /package document/);
    await refusal(JSON.stringify({ readme: 'x'.repeat(2000) }), 'too-large', /exceeds the limit of 1000 characters/);
    await refusal(`{"a":${'['.repeat(2000)}`, 'too-large', /exceeds the limit/);
  });

  it('aborts the attachment target on corrupt base64 or too many attachment bytes', async () => {
    let received = await refusal('{"_attachments":{"f.tgz":{"data":"aGVs*G8="}}}', 'invalid', /attachment f.tgz: data is not valid base64/);
    assert.ok(received.get('f.tgz')!.aborted);
    assert.equal(received.get('f.tgz')!.ended, false);
    received = await refusal(JSON.stringify({ _attachments: { 'f.tgz': { data: crypto.randomBytes(3000).toString('base64') } } }), 'too-large', /attachment data exceeds the limit of 1000 bytes/);
    assert.ok(received.get('f.tgz')!.aborted);
  });
});
