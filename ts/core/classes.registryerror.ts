/**
 * Typed errors thrown by handlers and storage; each protocol renders them in its own shape
 * (OCI error JSON, npm `{error}`, plain text for Maven ...).
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
