import type { TRegistryProtocol } from './interfaces.protocol.js';

export interface IAuthToken {
  /** Protocol the token was issued for. */
  type: TRegistryProtocol;
  userId: string;
  scopes: string[];
  /**
   * The user's own scopes when the token was made. When present, an action needs a grant from
   * both lists: a token never grants more than its user may do.
   */
  userScopes?: string[];
  readonly?: boolean;
  /** sha256 of the token: safe to show and to revoke by. */
  tokenId?: string;
  expiresAt?: Date;
  metadata?: Record<string, unknown>;
}

export interface ICredentials {
  username: string;
  password: string;
  /** The client's address, when known: failed logins are throttled per address too. */
  ip?: string;
}

export interface ITokenOptions {
  readonly?: boolean;
  scopes?: string[];
  /** Seconds until the token expires. */
  expiresIn?: number;
  /** Free text shown when listing tokens (e.g. npm's token name or CIDR note). */
  name?: string;
  /**
   * OCI only: a stored token (listed, revocable by id, as other protocols' tokens are) instead of a
   * JWT. For long-lived credentials such as an admin's docker login; the token endpoint still hands
   * clients short-lived JWTs for it.
   */
  stored?: boolean;
}

export interface ITokenInfo {
  tokenId: string;
  userId: string;
  protocol: TRegistryProtocol;
  scopes: string[];
  readonly: boolean;
  createdAt: string;
  expiresAt?: string;
  name?: string;
}

/** Pluggable authentication: LDAP, OAuth, SSO, or the built-in DefaultAuthProvider. */
export interface IAuthProvider {
  init?(): Promise<void>;
  authenticate(credentials: ICredentials): Promise<string | null>;
  validateToken(token: string, protocol?: TRegistryProtocol): Promise<IAuthToken | null>;
  createToken(userId: string, protocol: TRegistryProtocol, options?: ITokenOptions): Promise<string>;
  revokeToken(token: string): Promise<void>;
  authorize(token: IAuthToken | null, resource: string, action: string): Promise<boolean>;
  listUserTokens?(userId: string): Promise<ITokenInfo[]>;
  revokeTokenById?(userId: string, tokenId: string): Promise<boolean>;
  /** Create a user (npm adduser); providers without sign-up leave it out. */
  createUser?(username: string, password: string, email?: string): Promise<boolean>;
  /** A user's scopes (null for an unknown user); used for password-authenticated requests. */
  getUserScopes?(userId: string): Promise<string[] | null>;
  destroy?(): Promise<void>;
}
