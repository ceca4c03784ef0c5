import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import {
  MULTIPART_TYPE,
  createPypiRegistry,
  makeWheel,
  multipartBody,
  uploadFields,
  type IPypiTestRegistry,
  type TFormFields,
} from './fixtures.js';

describe('pypi: bad uploads get a clear 4xx and leave storage as it was', () => {
  let r: IPypiTestRegistry;
  let wheel: { filename: string; bytes: Buffer };
  let baseline: string[];
  before(async () => {
    r = await createPypiRegistry({ limits: { maxArtifactBytes: 256 * 1024 } });
    wheel = await makeWheel('bad-demo', '1.0.0');
    // One good upload first, so "as it was" includes a project document.
    assert.equal((await r.upload('bad-demo', '0.9', await makeWheel('bad-demo', '0.9'))).status, 200);
    baseline = await r.keys();
  });
  after(() => r.close());

  const post = (body: Buffer | Readable, options: { token?: string | null; contentType?: string } = {}) =>
    r.request('POST', '/pypi/', { token: options.token, headers: { 'content-type': options.contentType ?? MULTIPART_TYPE }, body });

  const expectRefused = async (response: Promise<{ status: number; json: any; text: string }>, status: number, message: RegExp) => {
    const res = await response;
    assert.equal(res.status, status, res.text);
    assert.match(res.json?.message ?? '', message);
    assert.deepEqual(await r.keys(), baseline, 'storage changed');
  };

  const fieldsWithout = async (name: string) => (await uploadFields('bad-demo', '1.0.0', wheel)).filter(([field]) => field !== name);
  const fieldsWith = async (name: string, value: string) =>
    (await uploadFields('bad-demo', '1.0.0', wheel)).map(([field, current]): [string, string] => [field, field === name ? value : current]);

  it('missing fields: name, version, filetype, :action, the file, every digest', async () => {
    await expectRefused(post(multipartBody(await fieldsWithout('name'), wheel)), 400, /name: the field is missing/);
    await expectRefused(post(multipartBody(await fieldsWithout('version'), wheel)), 400, /version: the field is missing/);
    await expectRefused(post(multipartBody(await fieldsWithout('filetype'), wheel)), 400, /Invalid value for filetype/);
    await expectRefused(post(multipartBody(await fieldsWithout(':action'), wheel)), 400, /Invalid value for :action/);
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', wheel), null)), 400, /does not have a file/);
    const noDigests = (await uploadFields('bad-demo', '1.0.0', wheel)).filter(([field]) => !field.endsWith('_digest'));
    await expectRefused(post(multipartBody(noDigests, wheel)), 400, /at least one message digest/);
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', wheel), { ...wheel, field: 'file' })), 400, /expected "content"/);
  });

  it('invalid values: project name, version, filetype, a malformed digest', async () => {
    await expectRefused(post(multipartBody(await fieldsWith('name', '-bad name-'), wheel)), 400, /not a valid project name/);
    await expectRefused(post(multipartBody(await fieldsWith('version', 'one.two'), wheel)), 400, /not a PEP 440 version/);
    await expectRefused(post(multipartBody(await fieldsWith('filetype', 'bdist_egg'), wheel)), 400, /only bdist_wheel and sdist/);
    await expectRefused(post(multipartBody(await fieldsWith('md5_digest', 'xyz'), wheel)), 400, /md5_digest: not a hex/);
  });

  it('a digest that does not match the file, sent before it or after it', async () => {
    const wrong = crypto.createHash('sha256').update('something else').digest('hex');
    await expectRefused(post(multipartBody(await fieldsWith('sha256_digest', wrong), wheel)), 400, /digest supplied does not match.*sha256_digest/);
    await expectRefused(post(multipartBody(await fieldsWith('blake2_256_digest', wrong), wheel)), 400, /digest supplied does not match.*blake2_256_digest/);
    const late = (await fieldsWithout('sha256_digest'));
    await expectRefused(post(multipartBody(late, wheel, [['sha256_digest', wrong]])), 400, /digest supplied does not match.*sha256_digest/);
  });

  it('a file name that does not match the name or the version, or climbs out', async () => {
    const other = { ...wheel, filename: 'bad_demo-2.0.0-py3-none-any.whl' };
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', other), other)), 400, /not of version 1.0.0/);
    const stranger = { ...wheel, filename: 'someone_else-1.0.0-py3-none-any.whl' };
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', stranger), stranger)), 400, /not of project bad-demo/);
    const sdistNamedWrong = { ...wheel, filename: 'bad_demo-1.0.1.tar.gz' };
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', sdistNamedWrong), sdistNamedWrong)), 400, /is not bad-demo 1.0.0/);
    for (const filename of ['../../bad_demo-1.0.0-py3-none-any.whl', 'dir/bad_demo-1.0.0-py3-none-any.whl', '..\\bad_demo-1.0.0-py3-none-any.whl']) {
      const climbing = { ...wheel, filename };
      await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', climbing), climbing)), 400, /must not contain a path/);
    }
  });

  it('a wheel that is no zip, one without METADATA, one whose METADATA is of another version', async () => {
    const notZip = { filename: wheel.filename, bytes: crypto.randomBytes(4096) };
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', notZip), notZip)), 400, /not a readable zip archive/);
    const bare = await makeWheel('bad-demo', '1.0.0', { omitMetadata: true });
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', bare), bare)), 400, /has no \.dist-info\/METADATA/);
    const lying = await makeWheel('bad-demo', '1.0.0', { metadataVersion: '7.0' });
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', lying), lying)), 400, /METADATA says version "7.0"/);
  });

  it('a zip bomb: METADATA that inflates past what its directory entry declares', async () => {
    const bomb = await makeWheel('bad-demo', '1.0.0', {
      omitMetadata: true,
      extraEntries: [{ name: 'bad_demo-1.0.0.dist-info/METADATA', data: Buffer.alloc(8 * 1024 * 1024), method: 'deflate', declaredSize: 200 }],
    });
    assert.ok(bomb.bytes.length < 64 * 1024, 'the bomb is small');
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', bomb), bomb)), 400, /holds more than the 200 bytes/);
    const honestButHuge = await makeWheel('bad-demo', '1.0.0', {
      omitMetadata: true,
      extraEntries: [{ name: 'bad_demo-1.0.0.dist-info/METADATA', data: Buffer.alloc(8 * 1024 * 1024), method: 'deflate' }],
    });
    await expectRefused(post(multipartBody(await uploadFields('bad-demo', '1.0.0', honestButHuge), honestButHuge)), 413, /over the limit/);
  });

  it('an upload larger than the artifact limit: 413 while it streams, with or without Content-Length', async () => {
    const big = await makeWheel('bad-demo', '1.0.0', { extraEntries: [{ name: 'bad_demo/data.bin', data: crypto.randomBytes(300 * 1024), method: 'stored' }] });
    const body = multipartBody(await uploadFields('bad-demo', '1.0.0', big), big);
    await expectRefused(
      r.request('POST', '/pypi/', { headers: { 'content-type': MULTIPART_TYPE, 'content-length': String(body.length) }, body }),
      413,
      /exceeds the limit/,
    );
    await expectRefused(post(Readable.from([body])), 413, /exceeds the limit/);
  });

  it('a multipart body cut short, or not multipart at all', async () => {
    const body = multipartBody(await uploadFields('bad-demo', '1.0.0', wheel), wheel);
    await expectRefused(post(Readable.from([body.subarray(0, body.length - 400)])), 400, /ended before its closing boundary|malformed multipart/);
    await expectRefused(post(Buffer.from('{}'), { contentType: 'application/json' }), 415, /multipart\/form-data/);
  });

  it('credentials: none 401, wrong 401, read-only 403, another project 403', async () => {
    const body = async () => multipartBody(await uploadFields('bad-demo', '1.0.0', wheel), wheel);
    await expectRefused(post(await body(), { token: null }), 401, /authentication required/);
    await expectRefused(post(await body(), { token: 'wrong-token' }), 401, /invalid/);
    await expectRefused(post(await body(), { token: r.tokens.readonly }), 403, /does not grant write on pypi:package:bad-demo/);
    await expectRefused(post(await body(), { token: r.tokens.bob }), 403, /does not grant write on pypi:package:bad-demo/);
  });

  it('twine sees the message as the status line reason', async () => {
    const fields: TFormFields = await fieldsWith('version', 'one.two');
    const raw = await r.registry.handleRequest({
      method: 'POST',
      path: '/pypi/',
      headers: { host: 'registry.example.com', 'content-type': MULTIPART_TYPE, authorization: `Bearer ${r.tokens.alice}` },
      query: {},
      body: multipartBody(fields, wheel),
    });
    assert.equal(raw.status, 400);
    assert.equal(raw.statusText, 'Invalid value for version: "one.two" is not a PEP 440 version');
    assert.deepEqual(await r.keys(), baseline);
  });
});
