import type { AuthManager } from '../core/classes.authmanager.js';
import type { TRegistryProtocol } from '../core/interfaces.core.js';

export interface IAdminTokenOptions {
  /** Lifetime in days (`--token-days`). */
  days: number;
  /** Shown by `token list` and npm's token list. */
  name: string;
}

/**
 * A full-access token of one protocol for `userId`. Every one is a stored token with an expiry, so
 * it shows in `token list` and can be revoked by id; for OCI that is a stored token too, not a JWT
 * (docker logs in with it and gets short-lived JWTs from the token endpoint).
 */
export function createProtocolToken(auth: AuthManager, protocol: TRegistryProtocol, userId: string, options: IAdminTokenOptions): Promise<string> {
  return auth.createToken(userId, protocol, {
    scopes: [`${protocol}:*:*:*`],
    expiresIn: options.days * 24 * 3600,
    name: options.name,
    ...(protocol === 'oci' ? { stored: true } : {}),
  });
}
