/**
 * The registry's single entry point for authentication and authorization. It delegates to an
 * `IAuthProvider` (the DefaultAuthProvider unless one is configured) and turns an HTTP
 * `Authorization` header into a token the protocol handlers can authorize with.
 */
import { DefaultAuthProvider, type IDefaultAuthProviderOptions, type IHeldValidation } from './classes.defaultauthprovider.js';
import { LoginThrottle } from './classes.loginthrottle.js';
import { RegistryError } from './classes.registryerror.js';
import type { RegistryStorage } from './classes.registrystorage.js';
import type { IAuthProvider, IAuthToken, ICredentials, ITokenInfo, ITokenOptions } from './interfaces.auth.js';
import type { IAuthConfig, TRegistryProtocol } from './interfaces.core.js';
import type { RegistryEvents } from './classes.registryevents.js';
import type { IEventOrigin } from './interfaces.operations.js';
import { isRegistryError } from './classes.registryerror.js';
import { sha256Hex } from './helpers.hash.js';

export type TRequestHeaders = Record<string, string | string[] | undefined>;
export type TProtocolTokenOptions = Omit<ITokenOptions, 'readonly'>;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Named once: a regular expression literal makes a new object each time its line runs (every request). */
const WHITESPACE = /\s/;
const TOKEN_USER = '__token__';
/** What an anonymous request authenticates as: one settled promise for all of them. */
const NO_TOKEN: Promise<IAuthToken | null> = Promise.resolve(null);

/** Header names are case-insensitive; bridges hand them over in any case. */
function readHeader(headers: TRequestHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  // Adapters and the route request hand over lower-case names: look the name up before walking them all.
  const exact = headers[name];
  const exactFirst = Array.isArray(exact) ? exact.find((item) => item.trim() !== '') : exact;
  if (exactFirst !== undefined) return exactFirst;
  // Only names of the same length are lower-cased: a request without the header (most GETs have no
  // `Authorization`) costs no entry arrays and no case conversion per header.
  for (const key in headers) {
    if (key.length !== name.length || key === name || !Object.hasOwn(headers, key) || key.toLowerCase() !== name) continue;
    const value = headers[key];
    const first = Array.isArray(value) ? value.find((item) => item.trim() !== '') : value;
    if (first !== undefined) return first;
  }
  return undefined;
}

/** The `Authorization` header's value, trimmed; '' when there is none. */
function authorizationHeader(headers: TRequestHeaders): string {
  return readHeader(headers, 'authorization')?.trim() ?? '';
}

export interface IAuthManagerOptions extends IDefaultAuthProviderOptions {
  /** Milliseconds since the epoch, for the login back-off (tests). */
  now?: () => number;
  /** Where token creation, revocation and failed logins are reported. */
  events?: RegistryEvents;
}

export class AuthManager {
  private readonly provider: IAuthProvider;
  /** The provider when it is this manager's own default one (not a given one, which may override `authorize`). */
  private readonly ownProvider?: DefaultAuthProvider;
  private readonly loginThrottle: LoginThrottle;
  private readonly events?: RegistryEvents;

  constructor(
    private readonly config: IAuthConfig,
    storage: RegistryStorage,
    provider?: IAuthProvider,
    options: IAuthManagerOptions = {},
  ) {
    if (provider) this.provider = provider;
    else this.provider = this.ownProvider = new DefaultAuthProvider(config, storage, options);
    this.loginThrottle = new LoginThrottle({ ...config.loginThrottle, ...(options.now ? { now: options.now } : {}) });
    this.events = options.events;
  }

  async init(): Promise<void> {
    await this.provider.init?.();
  }

  async destroy(): Promise<void> {
    await this.provider.destroy?.();
  }

  /**
   * A password login, throttled: past a few failures for the same user name or client address, it is
   * refused with 429 (Retry-After) without asking the provider, so guessing cannot keep the server hashing.
   */
  async authenticate(credentials: ICredentials, origin: IEventOrigin = {}): Promise<string | null> {
    const username = typeof credentials?.username === 'string' ? credentials.username : '';
    const keys = [`user:${username}`, ...(credentials?.ip ? [`ip:${credentials.ip}`] : [])];
    try {
      this.loginThrottle.check(keys);
    } catch (error) {
      this.loginFailed(origin.protocol, username, credentials?.ip, isRegistryError(error) ? error.status : 429);
      throw error;
    }
    const userId = await this.provider.authenticate(credentials);
    if (userId) this.loginThrottle.succeed(keys[0]);
    else {
      this.loginThrottle.fail(keys);
      this.loginFailed(origin.protocol, username, credentials?.ip);
    }
    return userId;
  }

  /**
   * A new token for `userId`. Reported as a `token.create` event, except OCI's short-lived JWTs, which
   * the token endpoint hands out for every docker session (the login behind them is what matters).
   */
  async createToken(userId: string, protocol: TRegistryProtocol, options: ITokenOptions = {}, origin: IEventOrigin = {}): Promise<string> {
    const audited = protocol !== 'oci' || options.stored === true;
    try {
      const token = await this.provider.createToken(userId, protocol, options);
      if (audited) this.emitTokenEvent('token.create', protocol, sha256Hex(token), userId, origin, true);
      return token;
    } catch (error) {
      if (audited) this.emitTokenEvent('token.create', protocol, null, userId, origin, false);
      throw error;
    }
  }

  /** `readonly` defaults to `auth.npmTokens.defaultReadOnly` (false when unset). */
  createNpmToken(userId: string, readonly?: boolean, options: TProtocolTokenOptions = {}, origin: IEventOrigin = {}): Promise<string> {
    return this.createToken(userId, 'npm', { ...options, readonly: readonly ?? this.config.npmTokens?.defaultReadOnly ?? false }, { protocol: 'npm', ...origin });
  }

  /** An HS256 JWT for the OCI token endpoint; scopes such as `oci:repository:library/nginx:pull`. */
  createOciToken(userId: string, scopes: string[], expiresIn?: number): Promise<string> {
    return this.createToken(userId, 'oci', { scopes, ...(expiresIn !== undefined ? { expiresIn } : {}) });
  }

  createMavenToken(userId: string, readonly = false, options: TProtocolTokenOptions = {}): Promise<string> {
    return this.createToken(userId, 'maven', { ...options, readonly });
  }

  createCargoToken(userId: string, readonly = false, options: TProtocolTokenOptions = {}): Promise<string> {
    return this.createToken(userId, 'cargo', { ...options, readonly });
  }

  createComposerToken(userId: string, readonly = false, options: TProtocolTokenOptions = {}): Promise<string> {
    return this.createToken(userId, 'composer', { ...options, readonly });
  }

  createPypiToken(userId: string, readonly = false, options: TProtocolTokenOptions = {}): Promise<string> {
    return this.createToken(userId, 'pypi', { ...options, readonly });
  }

  createRubyGemsToken(userId: string, readonly = false, options: TProtocolTokenOptions = {}): Promise<string> {
    return this.createToken(userId, 'rubygems', { ...options, readonly });
  }

  validateToken(token: string, protocol?: TRegistryProtocol): Promise<IAuthToken | null> {
    return this.provider.validateToken(token, protocol);
  }

  authorize(token: IAuthToken | null, resource: string, action: string): Promise<boolean> {
    return this.provider.authorize(token, resource, action);
  }

  async revokeToken(token: string, origin: IEventOrigin = {}): Promise<void> {
    const known = this.events ? await this.provider.validateToken(token).catch(() => null) : null;
    await this.provider.revokeToken(token);
    if (typeof token === 'string') {
      this.emitTokenEvent('token.revoke', known?.type ?? origin.protocol, known?.tokenId ?? sha256Hex(token), known?.userId, origin, known !== null);
    }
  }

  async listUserTokens(userId: string): Promise<ITokenInfo[]> {
    return (await this.provider.listUserTokens?.(userId)) ?? [];
  }

  async revokeTokenById(userId: string, tokenId: string, origin: IEventOrigin = {}): Promise<boolean> {
    const revoked = (await this.provider.revokeTokenById?.(userId, tokenId)) ?? false;
    this.emitTokenEvent('token.revoke', origin.protocol, tokenId, userId, origin, revoked);
    return revoked;
  }

  private emitTokenEvent(
    action: 'token.create' | 'token.revoke',
    protocol: TRegistryProtocol | undefined,
    tokenId: string | null,
    userId: string | undefined,
    origin: IEventOrigin,
    succeeded: boolean,
  ): void {
    this.events?.emit({
      protocol: protocol ?? 'core',
      action,
      resource: tokenId,
      actor: userId ? { userId } : null,
      ...(origin.ip ? { ip: origin.ip } : {}),
      result: succeeded ? 'success' : 'failure',
    });
  }

  /** `resource`: the user name tried, if any (never a token or password). */
  private loginFailed(protocol: TRegistryProtocol | undefined, resource: string | null, ip: string | undefined, status = 401): void {
    this.events?.emit({
      protocol: protocol ?? 'core',
      action: 'login.failure',
      resource: resource || null,
      actor: null,
      ...(ip ? { ip } : {}),
      result: 'failure',
      status,
    });
  }

  /** False when sign-up is off, the name is taken, or the provider has no sign-up. */
  async createUser(username: string, password: string, email?: string): Promise<boolean> {
    return (await this.provider.createUser?.(username, password, email)) ?? false;
  }

  /** Null for an unknown user, or when the provider does not expose scopes. */
  async getUserScopes(userId: string): Promise<string[] | null> {
    return (await this.provider.getUserScopes?.(userId)) ?? null;
  }

  /**
   * The token behind a request's `Authorization` header: `Bearer <token>`, `Basic
   * base64(user:password)` where the password may be a token (docker, twine, gem), or a bare token
   * (cargo, rubygems). No header → null (the caller decides about anonymous access). A header that is
   * present but does not authenticate → RegistryError 401, so a bad token is never treated as anonymous.
   */
  authenticateRequest(headers: TRequestHeaders, protocol: TRegistryProtocol, client?: { ip?: string }): Promise<IAuthToken | null> {
    const header = authorizationHeader(headers);
    if (!header) return NO_TOKEN;
    const ip = client?.ip;
    // Not async: the token's own promise is returned as it is, not wrapped in one more.
    const space = header.search(WHITESPACE);
    if (space === -1) return this.requireToken(header, protocol, ip);
    const scheme = header.slice(0, space).toLowerCase();
    const credentials = header.slice(space).trim();
    switch (scheme) {
      case 'bearer':
      case 'token':
        return this.requireToken(credentials, protocol, ip);
      case 'basic':
        return this.authenticateBasic(credentials, protocol, ip);
      default:
        this.loginFailed(protocol, null, ip);
        return Promise.reject(RegistryError.unauthorized(`unsupported authorization scheme "${scheme}": use Bearer or Basic`));
    }
  }

  /** Does the request carry credentials at all? Without, `authenticateRequest` answers null. */
  sendsCredentials(headers: TRequestHeaders): boolean {
    return authorizationHeader(headers) !== '';
  }

  /**
   * `authorize`, without a promise when the provider decides from the token alone (this manager's own default
   * provider does; a given one, even a subclass of it, is asked as it answers): every scoped request asks.
   */
  authorizeNow(token: IAuthToken | null, resource: string, action: string): boolean | Promise<boolean> {
    return this.ownProvider ? this.ownProvider.grants(token, resource, action) : this.provider.authorize(token, resource, action);
  }

  /**
   * What a request's token was validated from, when this manager's own provider validated it from what it keeps
   * in memory (see `DefaultAuthProvider.heldValidation`); undefined for a given provider, which is asked every time.
   */
  heldValidation(token: IAuthToken): IHeldValidation | undefined {
    return this.ownProvider?.heldValidation(token);
  }

  /** Would the same credentials validate to the same token now, without I/O? (`DefaultAuthProvider.stillHolds`) */
  stillHolds(held: IHeldValidation): boolean {
    return this.ownProvider?.stillHolds(held) === true;
  }

  private async requireToken(token: string, protocol: TRegistryProtocol, ip: string | undefined): Promise<IAuthToken> {
    const authToken = await this.provider.validateToken(token, protocol);
    if (authToken) return authToken;
    this.loginFailed(protocol, null, ip);
    // Say why, when we can: a valid token for another protocol is a common client misconfiguration.
    const elsewhere = await this.provider.validateToken(token);
    if (elsewhere) throw RegistryError.unauthorized(`token was issued for ${elsewhere.type}, not ${protocol}`);
    throw RegistryError.unauthorized('invalid, expired or revoked token');
  }

  private async authenticateBasic(encoded: string, protocol: TRegistryProtocol, ip: string | undefined): Promise<IAuthToken> {
    const malformed = (message: string) => {
      this.loginFailed(protocol, null, ip);
      return RegistryError.unauthorized(message);
    };
    if (!BASE64.test(encoded)) throw malformed('malformed Basic credentials: not base64');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw malformed('malformed Basic credentials: expected user:password');
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // twine and pip name the token user `__token__`: nobody signs in by password as it, so a token that
    // does not validate is a 401 that says so, not a failed login that throttles everyone using the name.
    if (username === TOKEN_USER) return this.requireToken(password, protocol, ip);

    // Clients put tokens in the password (docker, twine's __token__, gem) or, with an empty
    // password, in the user name; a token wins over a password of the same text.
    const tokenText = password || username;
    if (tokenText) {
      const token = await this.provider.validateToken(tokenText, protocol);
      if (token) return token;
    }
    if (username && password) {
      // A failure here is reported by authenticate.
      const userId = await this.authenticate({ username, password, ...(ip ? { ip } : {}) }, { protocol });
      if (userId) return this.passwordToken(userId, protocol);
      throw RegistryError.unauthorized('invalid username, password or token');
    }
    // One of the two held a token: never put it in an event.
    this.loginFailed(protocol, null, ip);
    throw RegistryError.unauthorized('invalid username, password or token');
  }

  /** A request authenticated by password acts with the user's own scopes; nothing is stored. */
  async passwordToken(userId: string, protocol: TRegistryProtocol): Promise<IAuthToken> {
    const scopes = this.provider.getUserScopes
      ? ((await this.provider.getUserScopes(userId)) ?? [])
      : [`${protocol}:*:*:*`];
    return { type: protocol, userId, scopes, userScopes: scopes, metadata: { authenticatedBy: 'password' } };
  }
}
