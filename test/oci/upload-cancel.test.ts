/**
 * Cancelling an upload while its completion runs, and a blob record whose data is gone: neither may
 * leave a digest that discards later pushes' bytes and answers 500 on pull.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { storageKeys } from '../helpers/requests.js';
import { createOciFixture, header, sha256 } from './oci.fixtures.js';

describe('oci upload cancel and blob records without data', () => {
  it('a cancel while the completion holds the claim is refused (409), and the blob completes', async () => {
    let holdRecord: Promise<void> | undefined;
    let recordReached!: () => void;
    const reached = new Promise<void>((resolve) => (recordReached = resolve));
    const f = await createOciFixture({
      hooks: {
        async beforePut(ctx) {
          if (holdRecord && ctx.key.startsWith('oci/blobs/')) {
            recordReached();
            await holdRecord;
          }
          return { allowed: true };
        },
      },
    });
    try {
      const bytes = Buffer.from('cancel me not');
      const digest = sha256(bytes);
      const location = header((await f.call('POST', '/v2/cancel/app/blobs/uploads/')).headers, 'location')!;
      assert.equal((await f.call('PATCH', location, { body: bytes })).status, 202);
      let release!: () => void;
      holdRecord = new Promise<void>((resolve) => (release = resolve));
      const completing = f.call('PUT', `${location}?digest=${digest}`);
      await reached;
      const cancel = await f.call('DELETE', location);
      assert.equal(cancel.status, 409);
      assert.equal(cancel.code, 'BLOB_UPLOAD_INVALID');
      assert.match(cancel.json.errors[0].message, /being completed/);
      release();
      holdRecord = undefined;
      assert.equal((await completing).status, 201);
      const pulled = await f.call('GET', `/v2/cancel/app/blobs/${digest}`);
      assert.equal(pulled.status, 200);
      assert.deepEqual(pulled.body, bytes);
      assert.equal((await f.call('DELETE', location)).status, 404, 'the session is gone once completed');
    } finally {
      await f.cleanup();
    }
  });

  it('a cancelled session cannot be completed or appended to', async () => {
    const f = await createOciFixture();
    try {
      const location = header((await f.call('POST', '/v2/cancel/app/blobs/uploads/')).headers, 'location')!;
      assert.equal((await f.call('PATCH', location, { body: Buffer.from('abc') })).status, 202);
      assert.equal((await f.call('DELETE', location)).status, 204);
      const put = await f.call('PUT', `${location}?digest=${sha256('abc')}`);
      assert.equal(put.status, 404);
      assert.equal(put.code, 'BLOB_UPLOAD_UNKNOWN');
      assert.deepEqual((await f.call('GET', `/v2/cancel/app/blobs/${sha256('abc')}`)).status, 404);
      assert.deepEqual((await storageKeys(f.registry)).filter((key) => key.startsWith('oci/blob-data/') || key.startsWith('oci/uploads/')), []);
    } finally {
      await f.cleanup();
    }
  });

  it('a record whose data parts are gone is replaced by the next push of the digest instead of discarding it', async () => {
    const f = await createOciFixture();
    try {
      const bytes = Buffer.from('xy');
      const digest = await f.pushBlob('broken/app', bytes);
      // What the cancel race used to leave behind: the record, its parts deleted.
      const partFiles = (await storageKeys(f.registry)).filter((key) => key.startsWith('oci/blob-data/'));
      assert.equal(partFiles.length, 1);
      await fsp.rm(path.join(f.dataDir, partFiles[0]));
      // A fresh instance (no cached record), then the same digest pushed again, chunked and monolithic.
      const g = await createOciFixture({ dataDir: f.dataDir });
      try {
        const location = header((await g.call('POST', '/v2/broken/other/blobs/uploads/')).headers, 'location')!;
        assert.equal((await g.call('PUT', `${location}?digest=${digest}`, { body: bytes })).status, 201);
        for (const instance of [g, f]) {
          for (const name of ['broken/app', 'broken/other']) {
            const pulled = await instance.call('GET', `/v2/${name}/blobs/${digest}`);
            assert.equal(pulled.status, 200, name);
            assert.deepEqual(pulled.body, bytes);
          }
        }
        assert.equal(await g.pushBlob('broken/third', bytes), digest, 'a push of the repaired digest keeps the record');
        assert.equal((await storageKeys(g.registry)).filter((key) => key.startsWith('oci/blob-data/')).length, 1, 'surplus parts removed');
      } finally {
        await g.cleanup();
      }
    } finally {
      await f.cleanup();
    }
  });
});
