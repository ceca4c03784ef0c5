import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { startS3Server, type IS3TestServer } from '../../helpers/s3server.js';
import { runBackendSuite } from './backend.suite.js';

// s3rver ignores If-Match / If-None-Match: with allowUnconditionalWrites (set by the helper) the backend checks
// the conditions itself, so the conditional tests run here too; they run against the server's own on Ceph RGW.
runBackendSuite(
  's3 (s3rver)',
  async () => {
    const server = await startS3Server();
    const backend = new S3Backend({ ...server.descriptor, bucketName: 'smartregistry-test' });
    return { backend, cleanup: () => server.stop() };
  },
  { knownServerBugs: ['lists-slash-out-of-byte-order', 'range-ending-at-byte-0'] },
);

describe('s3 backend: the conditional-write probe at init (s3rver ignores conditional writes)', () => {
  let server: IS3TestServer;
  before(async () => {
    server = await startS3Server();
  });
  after(() => server?.stop());

  it('refuses to start with a message that says why and what to do, and leaves no probe object', async () => {
    const backend = new S3Backend({ ...server.descriptor, bucketName: 'probe-refused', allowUnconditionalWrites: false });
    try {
      await assert.rejects(backend.init(), (error: Error) => {
        assert.match(error.message, /ignores conditional writes \(a second write with If-None-Match: \* replaced the object\)/);
        assert.match(error.message, /storage\.allowUnconditionalWrites: true/);
        assert.match(error.message, /"probe-refused"/);
        return true;
      });
      assert.deepEqual((await backend.list('')).objects, [], 'the probe object is removed');
    } finally {
      await backend.destroy();
    }
  });

  it('starts with allowUnconditionalWrites and then checks the conditions itself, one writer per key at a time', async () => {
    const backend = new S3Backend({ ...server.descriptor, bucketName: 'probe-allowed', allowUnconditionalWrites: true });
    try {
      await backend.init();
      assert.deepEqual((await backend.list('')).objects, [], 'the probe object is removed');
      // Ten writers race to create one key: exactly one wins, the others get precondition-failed.
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, index) => backend.put('doc', Buffer.from(String(index)), { ifNoneMatch: '*' })),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of results) {
        if (result.status === 'rejected') assert.equal((result.reason as { kind?: string }).kind, 'precondition-failed');
      }
    } finally {
      await backend.destroy();
    }
  });
});
