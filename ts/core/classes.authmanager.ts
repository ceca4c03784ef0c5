/**
 * The registry's single entry point for authentication and authorization. It delegates to an
 * `IAuthProvider` (the DefaultAuthProvider unless one is configured) and turns an HTTP
 * `Authorization` header into a token the protocol handlers can authorize with.
 */
import { DefaultAuthProvider, type IDefaultAuthProviderOptions } from './classes.defaultauthprovider.js';
import { LoginThrottle } from './classes.loginthrottle.js';
import { RegistryError } from './classes.registryerror.js';
import type { RegistryStorage } from './classes.registrystorage.js';
import type { IAuthProvider, IAuthToken, ICredentials, ITokenInfo, ITokenOptions } from './interfaces.auth.js';
import type { IAuthConfig, TRegistryProtocol } from './interfaces.core.js';

export type TRequestHeaders = Record<string, string | string[] | undefined>;
export type TProtocolTokenOptions = Omit<ITokenOptions, 'readonly'>;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Header names are case-insensitive; bridges hand them over in any case. */
function readHeader(headers: TRequestHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const first = Array.isArray(value) ? value.find((item) => item.trim() !== '') : value;
    if (first !== undefined) return first;
  }
  return undefined;
}

export interface IAuthManagerOptions extends IDefaultAuthProviderOptions {
  /** Milliseconds since the epoch, for the login back-off (tests). */
  now?: () => number;
}

export class AuthManager {
  private readonly provider: IAuthProvider;
  private readonly loginThrottle: LoginThrottle;

  constructor(
    private readonly config: IAuthConfig,
    storage: RegistryStorage,
    provider?: IAuthProvider,
    options: IAuthManagerOptions = {},
  ) {
    this.provider = provider ?? new DefaultAuthProvider(config, storage, options);
    this.loginThrottle = new LoginThrottle({ ...config.loginThrottle, ...(options.now ? { now: options.now } : {}) });
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
  async authenticate(credentials: ICredentials): Promise<string | null> {
    const username = typeof credentials?.username === 'string' ? credentials.username : '';
    const keys = [`user:${username}`, ...(credentials?.ip ? [`ip:${credentials.ip}`] : [])];
    this.loginThrottle.check(keys);
    const userId = await this.provider.authenticate(credentials);
    if (userId) this.loginThrottle.succeed(keys[0]);
    else this.loginThrottle.fail(keys);
    return userId;
  }

  createToken(userId: string, protocol: TRegistryProtocol, options: ITokenOptions = {}): Promise<string> {
    return this.provider.createToken(userId, protocol, options);
  }

  /** `readonly` defaults to `auth.npmTokens.defaultReadOnly` (false when unset). */
  createNpmToken(userId: string, readonly?: boolean, options: TProtocolTokenOptions = {}): Promise<string> {
    return this.createToken(userId, 'npm', { ...options, readonly: readonly ?? this.config.npmTokens?.defaultReadOnly ?? false });
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

  revokeToken(token: string): Promise<void> {
    return this.provider.revokeToken(token);
  }

  async listUserTokens(userId: string): Promise<ITokenInfo[]> {
    return (await this.provider.listUserTokens?.(userId)) ?? [];
  }

  async revokeTokenById(userId: string, tokenId: string): Promise<boolean> {
    return (await this.provider.revokeTokenById?.(userId, tokenId)) ?? false;
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
  async authenticateRequest(headers: TRequestHeaders, protocol: TRegistryProtocol, client: { ip?: string } = {}): Promise<IAuthToken | null> {
    const header = readHeader(headers, 'authorization')?.trim();
    if (!header) return null;
    const space = header.search(/\s/);
    if (space === -1) return this.requireToken(header, protocol);
    const scheme = header.slice(0, space).toLowerCase();
    const credentials = header.slice(space).trim();
    switch (scheme) {
      case 'bearer':
      case 'token':
        return this.requireToken(credentials, protocol);
      case 'basic':
        return this.authenticateBasic(credentials, protocol, client.ip);
      default:
        throw RegistryError.unauthorized(`unsupported authorization scheme "${scheme}": use Bearer or Basic`);
    }
  }

  private async requireToken(token: string, protocol: TRegistryProtocol): Promise<IAuthToken> {
    const authToken = await this.provider.validateToken(token, protocol);
    if (authToken) return authToken;
    // Say why, when we can: a valid token for another protocol is a common client misconfiguration.
    const elsewhere = await this.provider.validateToken(token);
    if (elsewhere) throw RegistryError.unauthorized(`token was issued for ${elsewhere.type}, not ${protocol}`);
    throw RegistryError.unauthorized('invalid, expired or revoked token');
  }

  private async authenticateBasic(encoded: string, protocol: TRegistryProtocol, ip: string | undefined): Promise<IAuthToken> {
    if (!BASE64.test(encoded)) throw RegistryError.unauthorized('malformed Basic credentials: not base64');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw RegistryError.unauthorized('malformed Basic credentials: expected user:password');
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);

    // Clients put tokens in the password (docker, twine's __token__, gem) or, with an empty
    // password, in the user name; a token wins over a password of the same text.
    const tokenText = password || username;
    if (tokenText) {
      const token = await this.provider.validateToken(tokenText, protocol);
      if (token) return token;
    }
    if (username && password) {
      const userId = await this.authenticate({ username, password, ...(ip ? { ip } : {}) });
      if (userId) return this.passwordToken(userId, protocol);
    }
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
