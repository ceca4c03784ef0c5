/**
 * Digests an upstream states for its own answer (RFC 9530 `Repr-Digest` and `Content-Digest`, e.g.
 * `sha-256=:base64:`), for artifacts whose protocol metadata names none (Packagist's empty `shasum`).
 * They come from the same source as the bytes: they catch a body damaged or cut on the way, not an
 * upstream that lies.
 */
import type { THashAlgorithm } from '../core/storage/interfaces.storage.js';

const ALGORITHMS: Record<string, { algorithm: THashAlgorithm; bytes: number }> = {
  'sha-256': { algorithm: 'sha256', bytes: 32 },
  'sha-512': { algorithm: 'sha512', bytes: 64 },
};
const MEMBER = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]+=*):\s*$/;

/**
 * Hex digests of the sha-256 and sha-512 members of the answer's `Repr-Digest` and `Content-Digest`.
 * None when the body is content-coded (both then describe the coded bytes, and `fetch` hands over the
 * decoded ones) or the fields cannot be read.
 */
export function statedDigests(headers: Headers): Partial<Record<THashAlgorithm, string>> {
  const encoding = headers.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') return {};
  const digests: Partial<Record<THashAlgorithm, string>> = {};
  for (const field of ['repr-digest', 'content-digest']) {
    for (const member of (headers.get(field) ?? '').split(',')) {
      const match = MEMBER.exec(member);
      const known = match && ALGORITHMS[match[1]];
      if (!known) continue;
      const digest = Buffer.from(match[2], 'base64');
      if (digest.length === known.bytes) digests[known.algorithm] = digest.toString('hex');
    }
  }
  return digests;
}
