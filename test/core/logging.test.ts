/**
 * Finding 2 of issue 7: a 5xx is logged once, with its error id, message, cause chain, stacks and the
 * backend's own codes, in the text itself (smartlog's console prints only the text). The log is read
 * from a smartlog destination handed to the registry; the registry and its storage are real.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeleteBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { SmartlogDestinationBuffer } from '@push.rocks/smartlog/destination-buffer';
import { Logger } from '../../ts/core/classes.logger.js';
import { describeError } from '../../ts/core/helpers.errortext.js';
import { createNpmRegistry } from '../npm/fixtures.js';
import { startS3Server } from '../helpers/s3server.js';

const capture = () => {
  const buffer = new SmartlogDestinationBuffer();
  return { buffer, logging: { level: 'warn' as const, console: false, destinations: [buffer] } };
};

const errorsLogged = (buffer: SmartlogDestinationBuffer) => buffer.getEntries({ level: 'error' }).map((entry) => entry.message);

/** A real system error from a real failed call, so it carries code, errno, syscall and path. */
async function realFsError(): Promise<NodeJS.ErrnoException> {
  const missing = path.join(os.tmpdir(), 'smartregistry-no-such-dir', 'quota.json');
  return fsp.readFile(missing).then(
    () => assert.fail('the file must not exist'),
    (error: NodeJS.ErrnoException) => error,
  );
}

describe('logging: 5xx answers', () => {
  it('a failing storage hook: one entry with the error id, the whole cause chain and its codes; the answer shows none of it', async () => {
    const fsError = await realFsError();
    const { buffer, logging } = capture();
    const npm = await createNpmRegistry({
      logging,
      storageHooks: {
        beforePut: () => {
          throw new Error('quota service could not read its ledger', { cause: fsError });
        },
      },
    });
    try {
      const res = await npm.publish('hooked', '1.0.0');
      assert.equal(res.status, 500);
      const errorId = /error id ([0-9a-f-]{36})/.exec(res.json.error)?.[1];
      assert.ok(errorId, `the answer names its error id: ${res.text}`);
      for (const internal of ['quota service', 'ledger', 'ENOENT', 'npm/packages']) {
        assert.ok(!res.text.includes(internal), `the answer must not show ${internal}: ${res.text}`);
      }

      const logged = errorsLogged(buffer);
      assert.equal(logged.length, 1, `logged exactly once: ${logged.join('\n---\n')}`);
      const text = logged[0]!;
      for (const expected of [
        errorId,
        'PUT /npm/hooked',
        'storage hook beforePut failed',
        'kind=internal status=500',
        'caused by: Error: quota service could not read its ledger',
        'caused by: Error: ENOENT',
        'code=ENOENT',
        `errno=${fsError.errno}`,
        'syscall=open',
        `path=${fsError.path}`,
      ]) {
        assert.ok(text.includes(expected), `the log text has ${JSON.stringify(expected)}:\n${text}`);
      }
      assert.ok((text.match(/\n\s+at /g) ?? []).length >= 3, `stacks are in the text:\n${text}`);
      const entry = buffer.getEntries({ level: 'error' })[0]!;
      assert.equal((entry.data as any).error.cause.cause.fields.code, 'ENOENT', 'destinations also get the chain as data');
    } finally {
      await npm.close();
    }
  });

  it('an S3 error: the SDK error name, its Code and HTTP status are in the text', async () => {
    const server = await startS3Server();
    const bucketName = 'logging-test';
    const { buffer, logging } = capture();
    const npm = await createNpmRegistry({ logging, storage: { ...server.descriptor, bucketName } });
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${server.descriptor.port}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    try {
      // The bucket goes away under the running registry (an operator's mistake, a lifecycle rule).
      await client.send(new DeleteBucketCommand({ Bucket: bucketName }));
      const res = await npm.publish('orphan', '1.0.0');
      assert.equal(res.status, 500, res.text);
      assert.ok(!res.text.includes('NoSuchBucket') && !res.text.includes(bucketName), res.text);
      const logged = errorsLogged(buffer);
      assert.equal(logged.length, 1, logged.join('\n---\n'));
      for (const expected of ['NoSuchBucket', 'httpStatusCode=404', 'Code=NoSuchBucket']) {
        assert.ok(logged[0]!.includes(expected), `the log text has ${expected}:\n${logged[0]}`);
      }
    } finally {
      client.destroy();
      await npm.close();
      await server.stop();
    }
  });
});

describe('logging: text of an error', () => {
  it("names the AWS SDK's request ids, fault and status", () => {
    const sdkError = new S3ServiceException({
      name: 'SlowDown',
      $fault: 'server',
      message: 'Please reduce your request rate.',
      $metadata: { httpStatusCode: 503, requestId: 'REQ-4711', extendedRequestId: 'EXT-0815', attempts: 3 },
    });
    const text = describeError(new Error('put failed', { cause: sdkError }));
    assert.match(text, /^Error: put failed\n/);
    assert.match(text, /caused by: SlowDown: Please reduce your request rate\. \[\$fault=server httpStatusCode=503 requestId=REQ-4711 extendedRequestId=EXT-0815 attempts=3\]/);
  });

  it('lists the members of an AggregateError and survives a cause cycle', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    (first as { cause?: unknown }).cause = second;
    const text = describeError(new AggregateError([first, 'a string was thrown'], 'several failed'));
    assert.match(text, /AggregateError: several failed/);
    assert.match(text, /error 1 of 2: Error: first/);
    assert.match(text, /caused by: Error: second/);
    assert.match(text, /error 2 of 2: string: a string was thrown/);
  });

  it('warnings carry their error too, not only its message', async () => {
    const { buffer, logging } = capture();
    const logger = new Logger(logging);
    logger.warn('cleanup failed', new Error('outer', { cause: await realFsError() }));
    await new Promise((resolve) => setImmediate(resolve));
    const [entry] = buffer.getEntries({ level: 'warn' });
    assert.ok(entry);
    assert.match(entry.message, /^cleanup failed\nError: outer\n/);
    assert.match(entry.message, /caused by: Error: ENOENT.*\[code=ENOENT errno=-2 syscall=open path=/);
  });
});
