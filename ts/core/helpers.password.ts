/**
 * Password hashing with scrypt (memory-hard, in node:crypto). Encoded as
 * `scrypt$N$r$p$salt$hash` with base64url salt and hash, so the parameters travel with the hash
 * and can be raised later without breaking existing users.
 */
import * as crypto from 'node:crypto';
import { ConcurrencyLimit } from './classes.concurrencylimit.js';

export interface IScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * N=2^13, r=8, p=10 (one of OWASP's equivalent scrypt settings): 8 MiB per hash — the p rounds reuse
 * one block — and as much CPU as N=2^15, r=8, p=1, which took 32 MiB. Costly to brute-force,
 * affordable per login. Hashes made with other parameters keep them (they are in the hash).
 */
export const DEFAULT_SCRYPT_PARAMS: IScryptParams = { N: 8192, r: 8, p: 10 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Refuse parameters (from a configured or stored hash) that would take absurd memory or time.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY_BYTES = 512 * 1024 * 1024;

/**
 * Each scrypt takes its memory (8 MiB with the defaults, 32 MiB with the earlier ones) and a libuv
 * thread for tens of milliseconds, and anonymous clients can ask for one (a failed Basic login). So
 * two run at once — four 32 MiB ones were most of the server's peak memory — and a bounded number
 * wait; more are refused with 429 instead of piling up memory.
 */
export const MAX_CONCURRENT_HASHES = 2;
export const MAX_WAITING_HASHES = 64;
const hashing = new ConcurrencyLimit(MAX_CONCURRENT_HASHES, MAX_WAITING_HASHES, 'checking passwords');

function scrypt(password: string, salt: Buffer, keyLength: number, params: IScryptParams): Promise<Buffer> {
  return hashing.run(() => scryptNow(password, salt, keyLength, params));
}

function scryptNow(password: string, salt: Buffer, keyLength: number, params: IScryptParams): Promise<Buffer> {
  // OpenSSL works through the p blocks one after another in one buffer of 128·N·r bytes.
  const memory = 128 * params.N * params.r;
  return new Promise((resolve, reject) => {
    crypto.scrypt(
      password.normalize('NFC'),
      salt,
      keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: Math.max(memory * 2, 32 * 1024 * 1024) },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

const encodeHash = (params: IScryptParams, salt: Buffer, key: Buffer) =>
  ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');

export async function hashPassword(password: string, params: IScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  const salt = crypto.randomBytes(SALT_BYTES);
  return encodeHash(params, salt, await scrypt(password, salt, KEY_BYTES, params));
}

/**
 * A well-formed hash that no password matches: its key is random, not derived. Checking a password
 * against it costs a full scrypt all the same (for unknown users), while making it costs nothing —
 * no scrypt at start-up.
 */
export function unmatchableHash(params: IScryptParams = DEFAULT_SCRYPT_PARAMS): string {
  return encodeHash(params, crypto.randomBytes(SALT_BYTES), crypto.randomBytes(KEY_BYTES));
}

interface IDecodedHash {
  params: IScryptParams;
  salt: Buffer;
  key: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeHash(encoded: string): IDecodedHash | null {
  if (typeof encoded !== 'string') return null;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^[0-9]{1,8}$/.test(part) ? Number(part) : NaN));
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(r) || r < 1 || r > MAX_R || !Number.isInteger(p) || p < 1 || p > MAX_P) return null;
  if (128 * N * r * p > MAX_MEMORY_BYTES) return null;
  if (!BASE64URL.test(parts[4]) || !BASE64URL.test(parts[5])) return null;
  const salt = Buffer.from(parts[4], 'base64url');
  const key = Buffer.from(parts[5], 'base64url');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
  return { params: { N, r, p }, salt, key };
}

/** Is this a hash `verifyPassword` can check? Used to validate configured `passwordHash` values. */
export function isPasswordHash(encoded: string): boolean {
  return decodeHash(encoded) !== null;
}

/** Constant-time check of a password against an encoded hash. A malformed hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (typeof password !== 'string') return false;
  const decoded = decodeHash(encoded);
  if (!decoded) return false;
  const key = await scrypt(password, decoded.salt, decoded.key.length, decoded.params);
  return crypto.timingSafeEqual(key, decoded.key);
}
