import { RegistryError } from '../classes.registryerror.js';
import { keyCause } from './helpers.key.js';
import { NETWORK_ERROR_CODES, storageUnreachable } from './helpers.unreachable.js';

/**
 * Every error shape an S3 server answers with, in one table, and what it means for the backend. S3
 * engines differ: AWS, Ceph RGW and MinIO answer the same situation with different statuses and codes,
 * and the AWS SDK reports a code it does not know as `UnknownError`, so rules match on the status and,
 * where it matters, on the code.
 */

/** The kinds of request the backend sends; the same answer means different things for each. */
export type TS3Request =
  /** GetObject, HeadObject. */
  | 'read'
  /** PutObject, multipart upload, CopyObject's target. */
  | 'write'
  /** PutObject with If-None-Match: * (create once). */
  | 'create'
  /** PutObject or DeleteObject with If-Match (replace or remove one version). */
  | 'replace'
  | 'delete'
  | 'list'
  /** CopyObject, about its source. */
  | 'copy';

export type TS3Outcome =
  /** The object is not there. */
  | 'missing'
  /** The bucket is not there: a configuration fault, never "no such object". */
  | 'missing-bucket'
  /** A conditional write lost to another writer: read again and retry. */
  | 'precondition-failed'
  /** The server does not implement conditional writes. */
  | 'no-conditional-writes'
  | 'range-not-satisfiable'
  /** The server asks to slow down: a 503 with Retry-After, not a 500. */
  | 'slow-down'
  /** The server cannot be reached or failed inside (stopped, restarting, network down): a 503 too. */
  | 'unreachable'
  /** Anything else: an unexpected fault, passed on as it is. */
  | 'unexpected';

interface IS3ErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

interface IS3ErrorRule {
  outcome: Exclude<TS3Outcome, 'unexpected'>;
  /** Matches any of these HTTP statuses (absent: any status). */
  statuses?: number[];
  /** Matches any of these S3 error codes (absent: any code). */
  codes?: string[];
  /** Only for these requests (absent: every request). */
  requests?: TS3Request[];
}

const CONDITIONAL: TS3Request[] = ['create', 'replace'];
const THROTTLING_CODES = ['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'TooManyRequestsException', 'ServiceUnavailable', 'RequestThrottled'];

/** First match wins. */
export const S3_ERROR_TABLE: readonly IS3ErrorRule[] = [
  // A 404 for the bucket is a configuration fault, whatever the request.
  { outcome: 'missing-bucket', codes: ['NoSuchBucket'] },
  // PreconditionFailed: If-Match / If-None-Match did not hold.
  { outcome: 'precondition-failed', statuses: [412] },
  // A concurrent conditional write won: AWS says ConditionalRequestConflict, Ceph ConcurrentModification (which
  // the SDK reports as UnknownError), so every 409 on a conditional write counts.
  { outcome: 'precondition-failed', statuses: [409], requests: CONDITIONAL },
  // If-Match on an object that is gone.
  { outcome: 'precondition-failed', statuses: [404], requests: ['replace'] },
  // NotImplemented: the server has no If-Match / If-None-Match on writes.
  { outcome: 'no-conditional-writes', statuses: [501], requests: CONDITIONAL },
  // NoSuchKey; NotFound from a HEAD, which has no body.
  { outcome: 'missing', statuses: [404], requests: ['read', 'copy', 'delete'] },
  // AWS answers a missing key with 403 AccessDenied when the credentials may not list the bucket (a HEAD has no
  // body: the SDK names it Forbidden). Bad credentials have codes of their own and stay errors.
  { outcome: 'missing', statuses: [403], codes: ['AccessDenied', 'Forbidden', '403'], requests: ['read'] },
  // InvalidRange: the range starts past the end.
  { outcome: 'range-not-satisfiable', statuses: [416], requests: ['read'] },
  // SlowDown and other throttling: the server is overloaded and the client may come back later.
  { outcome: 'slow-down', statuses: [503, 429] },
  { outcome: 'slow-down', codes: THROTTLING_CODES },
  // The engine is stopped or its network is down; or it failed inside (InternalError, a gateway in front of it).
  { outcome: 'unreachable', codes: [...NETWORK_ERROR_CODES] },
  { outcome: 'unreachable', statuses: [500, 502, 504] },
];

export const s3HttpStatus = (error: unknown): number | undefined =>
  (error as IS3ErrorShape | null | undefined)?.$metadata?.httpStatusCode;

/** The S3 error code: the SDK names the exception after it; a code it does not know stays in `Code`. */
function s3ErrorCodes(error: unknown): string[] {
  const shape = (error ?? {}) as IS3ErrorShape;
  return [shape.name, shape.Code, shape.code].filter((code): code is string => typeof code === 'string');
}

/** What an error of an S3 request means for the backend, by the table above. */
export function classifyS3Error(error: unknown, request: TS3Request): TS3Outcome {
  const status = s3HttpStatus(error);
  const codes = s3ErrorCodes(error);
  if (status === undefined && codes.length === 0) return 'unexpected';
  const rule = S3_ERROR_TABLE.find(
    (candidate) =>
      (!candidate.statuses || (status !== undefined && candidate.statuses.includes(status))) &&
      (!candidate.codes || codes.some((code) => candidate.codes!.includes(code))) &&
      (!candidate.requests || candidate.requests.includes(request)),
  );
  return rule?.outcome ?? 'unexpected';
}

/** Seconds a client is asked to wait when the S3 server asks us to slow down. */
export const SLOW_DOWN_RETRY_AFTER_SECONDS = 1;

/** The server answered a conditional write with 501 NotImplemented. */
export class ConditionalWritesUnsupportedError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the S3 server does not implement conditional writes (501 NotImplemented for If-Match / If-None-Match on PutObject)', options);
    this.name = 'ConditionalWritesUnsupportedError';
  }
}

/**
 * The error the backend throws for an outcome of the table: typed where the registry has an answer for it,
 * the original error for an unexpected one (a 500 that is logged with its cause).
 */
export function storageErrorOf(outcome: TS3Outcome, error: unknown, where: { bucket: string; key: string }): unknown {
  switch (outcome) {
    case 'missing':
      return RegistryError.notFound('the object does not exist', { cause: keyCause(where.key, error) });
    case 'missing-bucket':
      return new Error(`the S3 bucket ${JSON.stringify(where.bucket)} does not exist`, { cause: error });
    case 'precondition-failed':
      return new RegistryError('precondition-failed', 'the object was changed by someone else', { cause: keyCause(where.key, error) });
    case 'no-conditional-writes':
      return new ConditionalWritesUnsupportedError({ cause: error });
    case 'range-not-satisfiable':
      return new RegistryError('range-not-satisfiable', 'the requested range is past the end of the object', { cause: keyCause(where.key, error) });
    case 'slow-down':
      return new RegistryError('unavailable', 'the storage is busy (the S3 server asked to slow down); try again in a moment', {
        headers: { 'retry-after': String(SLOW_DOWN_RETRY_AFTER_SECONDS) },
        cause: error,
      });
    case 'unreachable':
      return storageUnreachable(error);
    case 'unexpected':
      return error;
  }
}
