import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { startS3Server } from '../../helpers/s3server.js';
import { runBackendSuite } from './backend.suite.js';

runBackendSuite(
  's3 (s3rver)',
  async () => {
    const server = await startS3Server();
    const backend = new S3Backend({ ...server.descriptor, bucketName: 'smartregistry-test' });
    return { backend, cleanup: () => server.stop() };
  },
  // s3rver ignores If-Match / If-None-Match (probed, skipped loudly) and has two bugs of its own.
  { requireConditionalWrites: false, knownServerBugs: ['lists-slash-out-of-byte-order', 'range-ending-at-byte-0'] },
);
