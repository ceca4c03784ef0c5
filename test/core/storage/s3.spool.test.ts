/**
 * A conditional write of a stream (a create-once artifact such as an npm tarball) on S3 needs its
 * length up front: it waits in memory up to 1 MiB and in a temporary file beyond (bench/npm-publish-rss.ts
 * measures the memory); what is stored and refused stays the same either way.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { streamToBuffer } from '../../../ts/core/helpers.stream.js';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { SPOOL_IN_MEMORY_BYTES, SpoolWriter } from '../../../ts/core/storage/helpers.s3spool.js';
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

  it('stores bodies just under, at and over the in-memory size whole', async () => {
    for (const size of [SPOOL_IN_MEMORY_BYTES - 1, SPOOL_IN_MEMORY_BYTES, SPOOL_IN_MEMORY_BYTES + 1, 3 * SPOOL_IN_MEMORY_BYTES + 5]) {
      const bytes = crypto.randomBytes(size);
      const pieces = Array.from({ length: Math.ceil(size / 65536) }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
      const result = await backend.put(`spool/size-${size}`, Readable.from(pieces, { objectMode: false }), { ifNoneMatch: '*' });
      assert.equal(result.size, size);
      const read = await backend.get(`spool/size-${size}`);
      assert.ok((await streamToBuffer(read!.stream)).equals(bytes), `${size} bytes read back`);
    }
  });

  it('a body failing after it spilled to a file stores nothing and leaves no file behind', async () => {
    const failing = () =>
      Readable.from(
        (async function* () {
          yield crypto.randomBytes(SPOOL_IN_MEMORY_BYTES);
          yield crypto.randomBytes(SPOOL_IN_MEMORY_BYTES);
          // Time for the spool to open its file.
          await new Promise((resolve) => setTimeout(resolve, 100));
          yield crypto.randomBytes(1024);
          throw new Error('client went away');
        })(),
        { objectMode: false },
      );
    await assert.rejects(backend.put('spool/failing', failing(), { ifNoneMatch: '*' }), /client went away/);
    assert.equal(await backend.stat('spool/failing'), null);
    // The spool on its own: what it wrote is gone after remove().
    const spool = new SpoolWriter();
    await assert.rejects(pipeline(failing(), spool), /client went away/);
    const body = spool.body();
    assert.ok(!(body instanceof Uint8Array), 'the body had spilled to a file');
    await spool.remove();
    await assert.rejects(streamToBuffer(body.open()), (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
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
