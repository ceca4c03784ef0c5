// The S3 error table, shape by shape, with error objects built the way the AWS SDK builds them: the exception
// named after the S3 code (or UnknownError when the SDK does not know the code), `$metadata.httpStatusCode`,
// and the code from the XML body in `Code`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import {
  classifyS3Error,
  ConditionalWritesUnsupportedError,
  storageErrorOf,
  type TS3Outcome,
  type TS3Request,
} from '../../../ts/core/storage/helpers.s3errors.js';

const sdkError = (status: number | undefined, name: string, code: string | undefined = name) =>
  Object.assign(new Error(`${name} (${status})`), { name, ...(code === undefined ? {} : { Code: code }), $metadata: { httpStatusCode: status } });

const ALL: TS3Request[] = ['read', 'write', 'create', 'replace', 'delete', 'list', 'copy'];

function expectOutcome(error: unknown, outcomes: Partial<Record<TS3Request, TS3Outcome>>, otherwise: TS3Outcome) {
  for (const request of ALL) {
    assert.equal(classifyS3Error(error, request), outcomes[request] ?? otherwise, `${(error as Error)?.name} on ${request}`);
  }
}

describe('s3 error table', () => {
  it('412 PreconditionFailed: a lost race on every request', () => {
    expectOutcome(sdkError(412, 'PreconditionFailed'), {}, 'precondition-failed');
  });

  it('409 on a conditional write: AWS ConditionalRequestConflict, Ceph ConcurrentModification, and the SDK UnknownError', () => {
    for (const error of [
      sdkError(409, 'ConditionalRequestConflict'),
      sdkError(409, 'ConcurrentModification'),
      sdkError(409, 'UnknownError', 'ConcurrentModification'),
      sdkError(409, 'UnknownError', undefined),
    ]) {
      expectOutcome(error, { create: 'precondition-failed', replace: 'precondition-failed' }, 'unexpected');
    }
  });

  it('501 NotImplemented on a conditional write: the server lacks conditional writes', () => {
    expectOutcome(sdkError(501, 'NotImplemented'), { create: 'no-conditional-writes', replace: 'no-conditional-writes' }, 'unexpected');
    const error = storageErrorOf('no-conditional-writes', sdkError(501, 'NotImplemented'), { bucket: 'b', key: 'k' });
    assert.ok(error instanceof ConditionalWritesUnsupportedError);
    assert.match(error.message, /does not implement conditional writes/);
  });

  it('404 NoSuchKey (GET) and NotFound (HEAD): missing; a failed If-Match on a write or delete', () => {
    for (const error of [sdkError(404, 'NoSuchKey'), sdkError(404, 'NotFound', undefined)]) {
      expectOutcome(error, { read: 'missing', copy: 'missing', delete: 'missing', replace: 'precondition-failed' }, 'unexpected');
    }
  });

  it('404 NoSuchBucket: a configuration fault on every request, never a missing object or a lost race', () => {
    expectOutcome(sdkError(404, 'NoSuchBucket'), {}, 'missing-bucket');
    const error = storageErrorOf('missing-bucket', sdkError(404, 'NoSuchBucket'), { bucket: 'registry', key: 'k' });
    assert.ok(!(error instanceof RegistryError));
    assert.match((error as Error).message, /bucket "registry" does not exist/);
  });

  it('403 AccessDenied on a read: AWS hiding a missing key from credentials without ListBucket', () => {
    expectOutcome(sdkError(403, 'AccessDenied'), { read: 'missing' }, 'unexpected');
    expectOutcome(sdkError(403, 'Forbidden', undefined), { read: 'missing' }, 'unexpected');
  });

  it('403 for bad credentials stays an error, also on a read', () => {
    expectOutcome(sdkError(403, 'InvalidAccessKeyId'), {}, 'unexpected');
    expectOutcome(sdkError(403, 'SignatureDoesNotMatch'), {}, 'unexpected');
  });

  it('503 SlowDown and throttling: a 503 answer with Retry-After, not a 500', () => {
    for (const error of [
      sdkError(503, 'SlowDown'),
      sdkError(503, 'ServiceUnavailable'),
      sdkError(429, 'TooManyRequests'),
      sdkError(400, 'ThrottlingException'),
      sdkError(undefined, 'RequestLimitExceeded'),
    ]) {
      expectOutcome(error, {}, 'slow-down');
    }
    const error = storageErrorOf('slow-down', sdkError(503, 'SlowDown'), { bucket: 'b', key: 'npm/packages/a/packument.json' });
    assert.ok(error instanceof RegistryError);
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.status, 503);
    assert.equal(error.headers['retry-after'], '1');
    assert.doesNotMatch(error.message, /packument/, 'the answer names no storage key');
  });

  it('416 InvalidRange on a read: range not satisfiable', () => {
    expectOutcome(sdkError(416, 'InvalidRange'), { read: 'range-not-satisfiable' }, 'unexpected');
  });

  it('an engine that is stopped, unreachable or failing inside: a 503 answer with Retry-After, not a 500', () => {
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('getaddrinfo ENOTFOUND s3.invalid'), { code: 'ENOTFOUND' }),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      sdkError(500, 'InternalError'),
      sdkError(502, 'UnknownError', undefined),
      sdkError(504, 'UnknownError', undefined),
    ]) {
      expectOutcome(error, {}, 'unreachable');
    }
    const error = storageErrorOf('unreachable', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), { bucket: 'b', key: 'cargo/crates/x/crate.json' });
    assert.ok(error instanceof RegistryError);
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.status, 503);
    assert.equal(error.headers['retry-after'], '5');
    assert.doesNotMatch(error.message, /crate\.json|ECONNREFUSED/, 'the answer names no storage key and no socket error');
  });

  it('anything else is passed on as it is', () => {
    for (const error of [
      sdkError(400, 'InvalidArgument'),
      sdkError(403, 'InvalidAccessKeyId'),
      new Error('plain'),
      undefined,
      'a string',
    ]) {
      expectOutcome(error, {}, 'unexpected');
      assert.equal(storageErrorOf('unexpected', error, { bucket: 'b', key: 'k' }), error);
    }
  });

  it('typed errors for the backend: precondition-failed and not-found keep the key and the S3 error in their cause chain, not in the message', () => {
    const conflict = sdkError(409, 'UnknownError', 'ConcurrentModification');
    const lost = storageErrorOf('precondition-failed', conflict, { bucket: 'b', key: 'npm/packages/doc/packument.json' });
    assert.ok(lost instanceof RegistryError && lost.kind === 'precondition-failed');
    assert.doesNotMatch(lost.message, /packument/);
    const keyCause = lost.cause as Error;
    assert.match(keyCause.message, /npm\/packages\/doc\/packument\.json/);
    assert.equal(keyCause.cause, conflict);
    const missing = storageErrorOf('missing', sdkError(404, 'NoSuchKey'), { bucket: 'b', key: 'src/key' });
    assert.ok(missing instanceof RegistryError && missing.kind === 'not-found');
    assert.doesNotMatch(missing.message, /src\/key/);
  });
});
