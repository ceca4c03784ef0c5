import type { AuthManager } from '../core/classes.authmanager.js';
import { RegistryError } from '../core/classes.registryerror.js';
import type { IAuthToken } from '../core/interfaces.auth.js';
import type { TRegistryProtocol } from '../core/interfaces.core.js';

/** Who looks at the page, and the token each protocol's read checks get for them. */
export interface IWebVisitor {
  /** Null: anonymous. */
  userId: string | null;
  tokenFor(protocol: TRegistryProtocol): Promise<IAuthToken | null>;
}

const ANONYMOUS: IWebVisitor = { userId: null, tokenFor: async () => null };

/**
 * The visitor behind a request's `Authorization` header, else behind a signed-in session (`sessionUserId`). The page spans every protocol, so a token
 * of any protocol is accepted (it grants what its scopes grant), and a password login acts with the
 * user's own scopes in each protocol, checked once per request (throttled like every login).
 * Credentials that do not authenticate are a 401, never a silent anonymous visit.
 */
export async function identifyVisitor(auth: AuthManager, authorization: string | undefined, ip: string | undefined, sessionUserId: string | null = null): Promise<IWebVisitor> {
  const header = authorization?.trim();
  if (!header) return sessionUserId ? userVisitor(auth, sessionUserId) : ANONYMOUS;
  const space = header.search(/\s/);
  const scheme = space === -1 ? '' : header.slice(0, space).toLowerCase();
  const credentials = space === -1 ? header : header.slice(space).trim();
  if (scheme === 'bearer' || scheme === 'token' || scheme === '') return tokenVisitor(await auth.validateToken(credentials));
  if (scheme !== 'basic') throw RegistryError.unauthorized(`unsupported authorization scheme "${scheme}": use Basic or Bearer`);
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw RegistryError.unauthorized('malformed Basic credentials: expected user:password');
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const token = await auth.validateToken(password || username);
  if (token) return tokenVisitor(token);
  const userId = username && password ? await auth.authenticate({ username, password, ...(ip ? { ip } : {}) }) : null;
  if (!userId) throw RegistryError.unauthorized('invalid username, password or token');
  return userVisitor(auth, userId);
}

/** A signed-in user acts with their own scopes in each protocol, as a password login does. */
export function userVisitor(auth: AuthManager, userId: string): IWebVisitor {
  const tokens = new Map<TRegistryProtocol, Promise<IAuthToken>>();
  return {
    userId,
    tokenFor: (protocol) => {
      if (!tokens.has(protocol)) tokens.set(protocol, auth.passwordToken(userId, protocol));
      return tokens.get(protocol)!;
    },
  };
}

function tokenVisitor(token: IAuthToken | null): IWebVisitor {
  if (!token) throw RegistryError.unauthorized('invalid, expired or revoked token');
  return { userId: token.userId, tokenFor: async () => token };
}
