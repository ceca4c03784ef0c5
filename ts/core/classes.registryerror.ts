/**
 * Typed errors thrown by handlers and storage; each protocol renders them in its own shape
 * (OCI error JSON, npm `{error}`, plain text for Maven ...). The message of an error with status
 * 500 or more is for the log only: the client gets a generic text and the error id it was logged with.
 */
export type TRegistryErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'denied'
  | 'not-found'
  | 'method-not-allowed'
  | 'conflict'
  | 'precondition-failed'
  | 'too-large'
  | 'range-not-satisfiable'
  | 'unsupported'
  | 'too-many-requests'
  /** Storage or another dependency is overloaded for the moment: 503, with Retry-After. */
  | 'unavailable'
  /** A fault of ours (a failed storage hook, a storage key that should never have been built). */
  | 'internal'
  /** A stored document that cannot be read (truncated, not the format it must be): 500, and nothing is changed. */
  | 'corrupt'
  | 'upstream';

const STATUS_BY_KIND: Record<TRegistryErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  denied: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'precondition-failed': 412,
  'too-large': 413,
  'range-not-satisfiable': 416,
  unsupported: 415,
  'too-many-requests': 429,
  unavailable: 503,
  internal: 500,
  corrupt: 500,
  upstream: 502,
};

export interface IRegistryErrorOptions {
  /** Protocol-specific code, e.g. OCI's `BLOB_UNKNOWN`. */
  code?: string;
  detail?: unknown;
  headers?: Record<string, string>;
  /** Overrides the status derived from the kind. */
  status?: number;
  cause?: unknown;
}

export class RegistryError extends Error {
  readonly kind: TRegistryErrorKind;
  readonly status: number;
  readonly code?: string;
  readonly detail?: unknown;
  readonly headers: Record<string, string>;

  constructor(kind: TRegistryErrorKind, message: string, options: IRegistryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.kind = kind;
    this.status = options.status ?? STATUS_BY_KIND[kind];
    this.code = options.code;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  static invalid(message: string, options?: IRegistryErrorOptions) {
    return new RegistryError('invalid', message, options);
  }
  static unauthorized(message: string, options?: IRegistryErrorOptions) {
    return new RegistryError('unauthorized', message, options);
  }
  static denied(message: string, options?: IRegistryErrorOptions) {
    return new RegistryError('denied', message, options);
  }
  static notFound(message: string, options?: IRegistryErrorOptions) {
    return new RegistryError('not-found', message, options);
  }
  static conflict(message: string, options?: IRegistryErrorOptions) {
    return new RegistryError('conflict', message, options);
  }
  static tooLarge(message: string, options?: IRegistryErrorOptions) {
    return new RegistryError('too-large', message, options);
  }
}

export const isRegistryError = (value: unknown, kind?: TRegistryErrorKind): value is RegistryError =>
  value instanceof RegistryError && (kind === undefined || value.kind === kind);

/** A conditional write lost to another writer: read again and retry. */
export const isPreconditionFailed = (value: unknown): value is RegistryError => isRegistryError(value, 'precondition-failed');

const SERVER_ERROR_TEXT: Record<number, string> = {
  500: 'internal server error',
  502: 'bad gateway',
  503: 'the server is busy, try again later',
  504: 'gateway timeout',
};

/** What a client is told of a corrupt stored document; the log has which one (the error's cause). */
const CORRUPT_TEXT = 'stored metadata this request needs is damaged and cannot be read; nothing was changed, an operator must restore it';

/**
 * A stored document that could not be parsed. It is never taken for "no such document": a write on top of
 * that would replace the history it holds.
 */
export function corruptDocument(key: string, cause: unknown): RegistryError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RegistryError('corrupt', CORRUPT_TEXT, { cause: new Error(`stored document ${key} cannot be read: ${reason}`, { cause }) });
}

/** An unexpected fault (a bug, a provider's plain Error) as an internal error that keeps it as the cause for the log. */
export function asRegistryError(error: unknown): RegistryError {
  if (isRegistryError(error)) return error;
  return new RegistryError('internal', 'unexpected fault', { cause: error });
}

/**
 * What a client sees of a 5xx: status, code and headers kept, the message replaced by a generic text and the
 * error id. An `unavailable` or `corrupt` error keeps its message: it is written for the client (what is down,
 * when to come back; that nothing was changed) and names nothing internal.
 */
export function publicServerError(error: RegistryError, errorId: string): RegistryError {
  const text = error.kind === 'unavailable' || error.kind === 'corrupt' ? error.message : (SERVER_ERROR_TEXT[error.status] ?? 'server error');
  return new RegistryError(error.kind, `${text} (error id ${errorId})`, {
    status: error.status,
    code: error.code,
    headers: error.headers,
    detail: { errorId },
  });
}
