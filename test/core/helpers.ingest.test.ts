import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { RegistryStorage, type IStorageOperationContext } from '../../ts/core/classes.registrystorage.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { formatDigest } from '../../ts/core/helpers.hash.js';
import { ingestArtifact, pushIngest, recordOnce, startIngest } from '../../ts/core/helpers.ingest.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';

const HELLO = {
  md5: '5d41402abc4b2a76b9719d911017c592',
  sha1: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d',
  sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
  sha512: '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043',
};

describe('digest forms', () => {
  it('hex, base64, SRI and alg:hex from one hex digest', () => {
    assert.equal(formatDigest('sha256', HELLO.sha256, 'hex'), HELLO.sha256);
    assert.equal(formatDigest('sha256', HELLO.sha256, 'base64'), 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=');
    assert.equal(formatDigest('sha256', HELLO.sha256, 'prefixed'), `sha256:${HELLO.sha256}`);
    assert.equal(
      formatDigest('sha512', HELLO.sha512, 'sri'),
      'sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==',
    );
    assert.equal(formatDigest('sha1', HELLO.sha1, 'base64'), 'qvTGHdzF6KLavt4PO0gs2a6pQ00=');
  });
});

describe('streaming ingest', () => {
  const ctx: IStorageOperationContext = { protocol: 'npm' };
  let dir: string;
  let storage: RegistryStorage;
  const keys = async () => {
    const found: string[] = [];
    for await (const object of storage.listAll('')) found.push(object.key);
    return found.sort();
  };
  const chunks = (...parts: string[]) => Readable.from(parts.map((part) => Buffer.from(part)), { objectMode: false });
  const failsWith = (kind: string, message?: RegExp) => (error: unknown) => {
    assert.ok(error instanceof RegistryError, String(error));
    assert.equal(error.kind, kind);
    if (message) assert.match(error.message, message);
    return true;
  };

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-ingest-'));
    storage = new RegistryStorage(new FilesystemBackend(dir));
    await storage.init();
  });
  after(async () => {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('stores the body and computes md5, sha1, sha256 and sha512 in the same pass', async () => {
    const stored = await ingestArtifact(storage, 'a/hello', chunks('he', 'll', 'o'), ctx, { maxBytes: 100, hashes: ['md5', 'sha1', 'sha512'] });
    const { etag, ...rest } = stored;
    assert.deepEqual(rest, { key: 'a/hello', size: 5, digests: HELLO });
    assert.equal(etag, (await storage.stat('a/hello'))?.etag, 'the etag storage gives the object');
    const read = await storage.getObject('a/hello', ctx);
    assert.equal((await streamToBuffer(read!.stream)).toString(), 'hello');
  });

  it('checks expected digests (any case) and the protocol check before the object becomes visible', async () => {
    const stored = await ingestArtifact(storage, 'a/ok', chunks('hello'), ctx, { maxBytes: 100, expect: { sha1: HELLO.sha1.toUpperCase(), sha512: HELLO.sha512 } });
    assert.equal(stored.digests.sha1, HELLO.sha1);
    const before = await keys();
    await assert.rejects(
      ingestArtifact(storage, 'a/mismatch', chunks('hellO'), ctx, { maxBytes: 100, expect: { sha256: HELLO.sha256 } }),
      failsWith('invalid', /sha256 digest mismatch: expected sha256:2cf24dba/),
    );
    await assert.rejects(
      ingestArtifact(storage, 'a/custom', chunks('hellO'), ctx, {
        maxBytes: 100,
        expect: { sha1: HELLO.sha1 },
        mismatch: (algorithm) => new RegistryError('invalid', `bad ${algorithm}`, { code: 'DIGEST_INVALID' }),
      }),
      (error: unknown) => error instanceof RegistryError && error.code === 'DIGEST_INVALID' && error.message === 'bad sha1',
    );
    await assert.rejects(
      ingestArtifact(storage, 'a/refused', chunks('hello'), ctx, {
        maxBytes: 100,
        verify: (result) => {
          if (result.size < 10) throw RegistryError.invalid('too small for this protocol');
        },
      }),
      failsWith('invalid', /too small/),
    );
    assert.deepEqual(await keys(), before, 'nothing stored');
  });

  it('a body over the limit is too large and stores nothing', async () => {
    const before = await keys();
    await assert.rejects(ingestArtifact(storage, 'a/big', chunks('12345', '6'), ctx, { maxBytes: 5 }), failsWith('too-large'));
    assert.deepEqual(await keys(), before);
  });

  it('a running hash continues over several parts and is never finished', async () => {
    const running = crypto.createHash('sha256');
    await ingestArtifact(storage, 'parts/1', chunks('hel'), ctx, { maxBytes: 100, running });
    await ingestArtifact(storage, 'parts/2', chunks('lo'), ctx, { maxBytes: 100, running });
    assert.equal(running.copy().digest('hex'), HELLO.sha256);
  });

  it('create-only: the key must be free, the stored bytes stay', async () => {
    await ingestArtifact(storage, 'once/x', chunks('first'), ctx, { maxBytes: 100, condition: { ifNoneMatch: '*' } });
    await assert.rejects(
      ingestArtifact(storage, 'once/x', chunks('second'), ctx, { maxBytes: 100, condition: { ifNoneMatch: '*' } }),
      failsWith('precondition-failed'),
    );
    assert.equal((await streamToBuffer((await storage.getObject('once/x', ctx))!.stream)).toString(), 'first');
  });

  it('startIngest: digests once the bytes pass their checks, then the stored artifact; a refusal rejects both', async () => {
    const upload = startIngest(storage, 'early/hello', chunks('he', 'llo'), ctx, { maxBytes: 100, hashes: ['md5', 'sha1', 'sha512'] });
    assert.deepEqual(await upload.verified, { key: 'early/hello', size: 5, digests: HELLO });
    const { etag, ...stored } = await upload.stored;
    assert.deepEqual(stored, { key: 'early/hello', size: 5, digests: HELLO });
    assert.equal(etag, (await storage.stat('early/hello'))?.etag, 'the stored artifact carries the etag storage gives');
    assert.equal((await streamToBuffer((await storage.getObject('early/hello', ctx))!.stream)).toString(), 'hello');

    const before = await keys();
    const refused = startIngest(storage, 'early/refused', chunks('hellO'), ctx, { maxBytes: 100, expect: { sha256: HELLO.sha256 } });
    await assert.rejects(refused.verified, failsWith('invalid', /sha256 digest mismatch/));
    await assert.rejects(refused.stored, failsWith('invalid', /sha256 digest mismatch/));
    // Checked when the bytes are committed, after they passed: `verified` answers, `stored` refuses.
    const taken = startIngest(storage, 'once/x', chunks('third'), ctx, { maxBytes: 100, condition: { ifNoneMatch: '*' } });
    assert.equal((await taken.verified).size, 5);
    await assert.rejects(taken.stored, failsWith('precondition-failed'));
    assert.deepEqual(await keys(), before, 'nothing stored');
  });

  it('recordOnce: the first record wins, a later writer gets it back', async () => {
    const first = await recordOnce(storage, 'records/r.json', { by: 'first' }, ctx);
    const second = await recordOnce(storage, 'records/r.json', { by: 'second' }, ctx);
    assert.deepEqual(first, { record: { by: 'first' }, created: true });
    assert.deepEqual(second, { record: { by: 'first' }, created: false });
  });

  it('pushIngest: bytes written in pieces are stored, digests told before the commit; an abort or an overflow stores nothing', async () => {
    const pushed = pushIngest(storage, 'push/ok', ctx, { maxBytes: 100, hashes: ['sha512'] });
    for (const piece of ['h', 'e', 'llo']) await pushed.write(Buffer.from(piece));
    pushed.end();
    assert.equal((await pushed.verified).digests.sha512, HELLO.sha512);
    const stored = await pushed.stored;
    assert.equal(stored.digests.sha512, HELLO.sha512);
    assert.equal(stored.etag, (await storage.stat('push/ok'))?.etag);

    const before = await keys();
    // A taken key is found when the bytes are committed: `verified` answers, `stored` refuses.
    const taken = pushIngest(storage, 'push/ok', ctx, { maxBytes: 100, condition: { ifNoneMatch: '*' } });
    await taken.write(Buffer.from('other'));
    taken.end();
    assert.equal((await taken.verified).size, 5);
    await assert.rejects(taken.stored, failsWith('precondition-failed'));
    assert.equal((await streamToBuffer((await storage.getObject('push/ok', ctx))!.stream)).toString(), 'hello');

    const aborted = pushIngest(storage, 'push/aborted', ctx, { maxBytes: 100 });
    await aborted.write(Buffer.from('half'));
    aborted.abort(RegistryError.invalid('the carrier broke'));
    aborted.end();
    await assert.rejects(aborted.verified);
    await assert.rejects(aborted.stored);

    const early = pushIngest(storage, 'push/early', ctx, { maxBytes: 100 });
    early.abort(new Error('before any byte'));
    early.end();
    await assert.rejects(early.stored);

    const overflow = pushIngest(storage, 'push/overflow', ctx, { maxBytes: 4 });
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 64; i++) await overflow.write(crypto.randomBytes(64 * 1024));
        overflow.end();
        await overflow.stored;
      })(),
      failsWith('too-large'),
    );
    assert.deepEqual(await keys(), before);
  });
});
