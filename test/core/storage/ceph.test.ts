// The storage backend suite on Ceph RGW, an S3 engine that enforces conditional writes and answers lost races
// with 409 ConcurrentModification as well as 412: nothing of the suite is skipped here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../../helpers/ceph.js';
import { runBackendSuite } from './backend.suite.js';

const skip = skipWithoutCeph('the storage backend suite');

describe('on Ceph RGW', { skip }, () => {
  runBackendSuite('s3 (ceph rgw)', async () => {
    const ceph = await startCephS3();
    // No allowUnconditionalWrites: the probe at init must find the conditions enforced.
    const backend = new S3Backend({ ...ceph.descriptor, bucketName: ceph.bucketName });
    return { backend, cleanup: () => ceph.stop() };
  });

  describe('s3 backend on Ceph RGW: start-up probe and races', () => {
    let ceph: ICephS3;
    let backend: S3Backend;
    before(async () => {
      ceph = await startCephS3();
      backend = new S3Backend({ ...ceph.descriptor, bucketName: ceph.bucketName });
      await backend.init();
    });
    after(async () => {
      await backend?.destroy();
      await ceph?.stop();
    });

    it('the probe finds conditional writes enforced and leaves no object behind', async () => {
      const second = new S3Backend({ ...ceph.descriptor, bucketName: ceph.bucketName });
      try {
        await second.init();
      } finally {
        await second.destroy();
      }
      assert.deepEqual((await backend.list('')).objects, []);
    });

    it('20 writers racing on one key: every loser gets precondition-failed (412 or 409), never another error', async () => {
      const first = await backend.put('race/doc', Buffer.from('0'));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) => backend.put('race/doc', Buffer.from(`writer ${index}`), { ifMatch: first.etag })),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1, 'exactly one writer wins');
      for (const result of results) {
        if (result.status === 'rejected') assert.equal((result.reason as { kind?: string }).kind, 'precondition-failed', String(result.reason));
      }
    });
  });
});
