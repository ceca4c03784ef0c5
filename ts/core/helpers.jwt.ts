/**
 * Minimal HS256 JSON Web Tokens (RFC 7519) for OCI bearer tokens. Only HS256 is accepted: `none`
 * and every other algorithm are rejected, so a token cannot choose how it is checked.
 */
import * as crypto from 'node:crypto';

export interface IJwtPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  iat?: number;
  nbf?: number;
  exp?: number;
  jti?: string;
  [claim: string]: unknown;
}

export interface IJwtVerifyOptions {
  /** Tolerated clock difference between instances, in seconds. Default 30. */
  clockSkewSeconds?: number;
  /** Current time in seconds since the epoch (tests). */
  now?: number;
  /** Reject tokens without `exp`. Default true: a token that never expires is never what we issue. */
  requireExp?: boolean;
  /** The `iss` a token must carry. */
  issuer?: string;
  /** A value the token's `aud` (a string or a list) must hold. */
  audience?: string;
}

export type TJwtVerifyResult = { ok: true; payload: IJwtPayload } | { ok: false; reason: string };

const HEADER = { alg: 'HS256', typ: 'JWT' };
const SEGMENT = /^[A-Za-z0-9_-]*$/;
/** Tokens travel in headers; anything longer is not ours and not worth hashing. */
const MAX_TOKEN_LENGTH = 16 * 1024;

const encodeJson = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

const sign = (signingInput: string, secret: string | Uint8Array) =>
  crypto.createHmac('sha256', secret).update(signingInput).digest('base64url');

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Shape check only: three base64url segments. Says nothing about validity. */
export function looksLikeJwt(token: string): boolean {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return false;
  // Stored tokens (UUIDs) have no dot: most requests end here.
  if (!token.includes('.')) return false;
  const parts = token.split('.');
  return parts.length === 3 && parts[0] !== '' && parts[1] !== '' && parts.every((part) => SEGMENT.test(part));
}

export function signJwt(payload: IJwtPayload, secret: string | Uint8Array): string {
  const signingInput = `${encodeJson(HEADER)}.${encodeJson(payload)}`;
  return `${signingInput}.${sign(signingInput, secret)}`;
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isOptionalNumber = (value: unknown) => value === undefined || (typeof value === 'number' && Number.isFinite(value));

export function verifyJwt(token: string, secret: string | Uint8Array, options: IJwtVerifyOptions = {}): TJwtVerifyResult {
  if (!looksLikeJwt(token)) return { ok: false, reason: 'not a JWT' };
  const [headerSegment, payloadSegment, signatureSegment] = token.split('.');
  const header = decodeJson(headerSegment);
  if (!isObject(header)) return { ok: false, reason: 'malformed JWT header' };
  if (header.alg !== 'HS256') return { ok: false, reason: `JWT algorithm ${JSON.stringify(header.alg)} is not accepted` };
  if (header.crit !== undefined) return { ok: false, reason: 'JWT critical header parameters are not supported' };

  // Compare the canonical base64url text, not decoded bytes: base64 has spare bits in its last
  // character, and a decoded-bytes compare would accept several spellings of one signature.
  const expected = Buffer.from(sign(`${headerSegment}.${payloadSegment}`, secret), 'utf8');
  const given = Buffer.from(signatureSegment, 'utf8');
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'JWT signature does not match' };
  }

  const payload = decodeJson(payloadSegment);
  if (!isObject(payload)) return { ok: false, reason: 'malformed JWT payload' };
  if (!isOptionalNumber(payload.exp) || !isOptionalNumber(payload.nbf) || !isOptionalNumber(payload.iat)) {
    return { ok: false, reason: 'malformed JWT time claims' };
  }
  const now = options.now ?? nowSeconds();
  const skew = options.clockSkewSeconds ?? 30;
  const exp = payload.exp as number | undefined;
  const nbf = payload.nbf as number | undefined;
  if (exp === undefined && options.requireExp !== false) return { ok: false, reason: 'JWT has no expiry' };
  if (exp !== undefined && now - skew >= exp) return { ok: false, reason: 'JWT has expired' };
  if (nbf !== undefined && now + skew < nbf) return { ok: false, reason: 'JWT is not valid yet' };
  if (options.issuer !== undefined && payload.iss !== options.issuer) return { ok: false, reason: 'JWT was issued by someone else' };
  if (options.audience !== undefined) {
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(options.audience)) return { ok: false, reason: 'JWT is meant for another service' };
  }
  return { ok: true, payload: payload as IJwtPayload };
}
