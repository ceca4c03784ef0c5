/**
 * The storage layout, written down once. Protocols ask this file for keys; they never build key
 * strings themselves. Name segments are validated before they reach here (see helpers.path.ts).
 *
 *   auth/
 *     jwt-secret.json                     shared HS256 secret when none is configured
 *     users/{username}.json               users created at run time (scrypt hash, scopes)
 *     tokens/{sha256(token)}.json         token records, looked up by hash
 *     user-tokens/{userId}/{sha256}       one empty marker per token, to list a user's tokens
 *     revoked-jwt/{jti}.json              revoked OCI JWTs until they expire (pruned on revoke)
 *   uploads/{uuid}/...                    short-lived upload state (sessions, chunks)
 *   oci/  npm/  maven/  cargo/  composer/  pypi/  rubygems/   each protocol's own tree, below
 */
import { sha256Hex } from './helpers.hash.js';

const encodeUserId = (userId: string) => encodeURIComponent(userId);

export const authPaths = {
  jwtSecret: () => 'auth/jwt-secret.json',
  user: (username: string) => `auth/users/${encodeUserId(username)}.json`,
  token: (tokenHash: string) => `auth/tokens/${tokenHash}.json`,
  userTokensPrefix: (userId: string) => `auth/user-tokens/${encodeUserId(userId)}/`,
  userToken: (userId: string, tokenHash: string) => `auth/user-tokens/${encodeUserId(userId)}/${tokenHash}`,
  revokedJwtPrefix: () => 'auth/revoked-jwt/',
  revokedJwt: (jti: string) => `auth/revoked-jwt/${encodeURIComponent(jti)}.json`,
  hashToken: (token: string) => sha256Hex(token),
};
