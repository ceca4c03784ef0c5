/**
 * A conditional write of a stream (a create-once artifact such as an npm tarball) on S3 needs its
 * length up front: it is spooled to a temporary file instead of memory (bench/npm-publish-rss.ts
 * measures the memory); what is stored and refused stays the same.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { streamToBuffer } from '../../../ts/core/helpers.stream.js';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { startS3Server, type IS3TestServer } from '../../helpers/s3server.js';

describe('s3: conditional writes of a stream', () => {
  let server: IS3TestServer;
  let backend: S3Backend;
  before(async () => {
    server = await startS3Server();
    backend = new S3Backend({ ...server.descriptor, bucketName: 'smartregistry-spool' });
    await backend.init();
  });
  after(async () => {
    await backend.destroy();
    await server.stop();
  });

  it('stores the bytes with their digests', async () => {
    const bytes = crypto.randomBytes(9 * 1024 * 1024 + 17);
    const pieces = Array.from({ length: 10 }, (_, i) => bytes.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
    const result = await backend.put('spool/a', Readable.from(pieces, { objectMode: false }), { ifNoneMatch: '*', hashes: ['sha512'] });
    assert.equal(result.size, bytes.length);
    assert.equal(result.digests.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
    assert.equal(result.digests.sha512, crypto.createHash('sha512').update(bytes).digest('hex'));
    const read = await backend.get('spool/a');
    assert.ok((await streamToBuffer(read!.stream)).equals(bytes));
    assert.equal(read!.info.etag, result.etag);
  });

  it('a body over the limit or failing verification stores nothing', async () => {
    const body = () => Readable.from([crypto.randomBytes(4096)], { objectMode: false });
    await assert.rejects(backend.put('spool/big', body(), { ifNoneMatch: '*', maxBytes: 100 }), (error: unknown) => error instanceof RegistryError && error.kind === 'too-large');
    await assert.rejects(
      backend.put('spool/refused', body(), { ifNoneMatch: '*', verify: () => { throw RegistryError.invalid('digest mismatch'); } }),
      (error: unknown) => error instanceof RegistryError && error.kind === 'invalid',
    );
    assert.equal(await backend.stat('spool/big'), null);
    assert.equal(await backend.stat('spool/refused'), null);
  });
});
