/**
 * The built-in auth provider: users from configuration (kept only as scrypt hashes) plus users
 * created at run time when sign-up is allowed; opaque UUID tokens stored hashed; HS256 JWTs for OCI.
 * There is no built-in user.
 */
import * as crypto from 'node:crypto';
import { BoundedCache } from './classes.boundedcache.js';
import { RegistryError } from './classes.registryerror.js';
import { CORE_CONTEXT, type RegistryStorage } from './classes.registrystorage.js';
import { MemoryTokenStore, StorageTokenStore, type ITokenRecord, type ITokenStore } from './classes.tokenstore.js';
import { looksLikeJwt, signJwt, verifyJwt } from './helpers.jwt.js';
import { memoizeBounded } from './helpers.memo.js';
import { mapLimited } from './helpers.async.js';
import { MAX_CONCURRENT_HASHES, hashPassword, isPasswordHash, unmatchableHash, verifyPassword } from './helpers.password.js';
import { isReadAction, isValidScope, scopesCoverProtocol, scopesGrant } from './helpers.scope.js';
import type { IAuthProvider, IAuthToken, ICredentials, ITokenInfo, ITokenOptions } from './interfaces.auth.js';
import { REGISTRY_PROTOCOLS, type IAuthConfig, type TRegistryProtocol } from './interfaces.core.js';
import { authPaths } from './storage.paths.js';

interface IUserRecord {
  username: string;
  /** Absent for a configured user without a password: it can hold tokens but not log in. */
  passwordHash?: string;
  scopes: string[];
  email?: string;
  createdAt: string;
}

/** A verified JWT: what `validateJwt` answers, before the revocation check. */
export interface IVerifiedJwt {
  jti: string;
  exp: number;
  token: IAuthToken;
}

/**
 * The entries of this provider's caches a token was validated from: its user's record, and its own record (a JWT:
 * that it is not revoked). While they are still the entries kept, validating the same text again answers the same
 * token without I/O. Read by `DefaultAuthProvider.stillHolds` only.
 */
export interface IHeldValidation {
  userId: string;
  user: object;
  /** The token's expiry (ms, by the provider's clock). */
  expiresAt?: number;
  /** A JWT's id. */
  jti?: string;
  /** A stored token's id and record. */
  tokenId?: string;
  record?: object;
}

/** Do two lists of scopes hold the same scopes in the same order? */
function sameScopes(a: readonly string[], b: readonly string[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A fresh token per request from a verified JWT, as before it was cached: callers may keep or change it. */
function jwtToken(verified: IVerifiedJwt): IAuthToken {
  const cached = verified.token;
  // Built, not spread: a spread followed by more properties is a V8 runtime call (see helpers.record).
  const token: IAuthToken = { type: cached.type, userId: cached.userId, scopes: [...cached.scopes], readonly: cached.readonly, tokenId: cached.tokenId, metadata: { jti: verified.jti } };
  if (cached.expiresAt) token.expiresAt = new Date(cached.expiresAt.getTime());
  return token;
}

interface IOciJwtPayload {
  iss: string;
  aud: string;
  sub: string;
  protocol: TRegistryProtocol;
  scopes: string[];
  userScopes: string[];
  readonly?: boolean;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
}

// Letters, digits and a few separators; never `:` (Basic auth splits on it) nor a `.`/`..` key segment.
const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const TOKEN_ID_PATTERN = /^[0-9a-f]{64}$/;
const JTI_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Anything longer is not a token we issued; refusing it early avoids hashing junk. */
const MAX_TOKEN_LENGTH = 8192;
/** `auth.<protocol>Tokens` of each protocol, named once rather than on every request. */
const TOKEN_SETTINGS = Object.fromEntries(REGISTRY_PROTOCOLS.map((protocol) => [protocol, `${protocol}Tokens`])) as Record<TRegistryProtocol, string>;
const DEFAULT_OCI_TOKEN_SECONDS = 3600;
/** HS256 with a shorter key is open to guessing; 32 bytes is the hash's own size (RFC 7518 3.2). */
const MIN_JWT_SECRET_BYTES = 32;
/** `iss` and `aud` of JWTs when neither configuration nor the registry URL says. */
const DEFAULT_TOKEN_IDENTITY = 'smartregistry';

export interface IDefaultAuthProviderOptions {
  /** Defaults for `auth.ociTokens.issuer` and `.service`, from the registry's URL (the orchestrator passes them). */
  ociTokenIdentity?: { issuer: string; audience: string };
  /** The clock tokens are issued and expire by, in ms (tests set it). */
  now?: () => number;
  /** Where verified OCI JWTs are kept until they expire; default a cache of 1000 on the clock above. */
  verifiedJwtCache?: BoundedCache<IVerifiedJwt>;
}
/**
 * Successful password checks are remembered this long, so clients that send Basic credentials on
 * every request (maven, pip, composer) do not pay a scrypt per file. Failures are never cached.
 */
const LOGIN_CACHE_MS = 30_000;
const USER_CACHE_MS = 5_000;
/**
 * Verified JWTs remembered by their text, so a client sending the same bearer token on every request
 * costs one HMAC and one JSON parse per token rather than per request. Bounded: the oldest entry goes
 * when it is full. Revocation is still asked on every use (the token store caches that briefly).
 */
const JWT_CACHE_ENTRIES = 1000;
const TOKEN_ID_ENTRIES = 1000;
/** The clock skew `verifyJwt` tolerates by default; a cached token expires at the same moment. */
const JWT_CLOCK_SKEW_SECONDS = 30;

/** In `auth.signupScopes`, stands for the new user's name. */
const SIGNUP_USERNAME_PLACEHOLDER = '{username}';

function assertValidScopes(where: string, scopes: string[]): void {
  const badScope = scopes.find((scope) => !isValidScope(scope));
  if (badScope !== undefined) {
    throw new Error(`${where}: invalid scope ${JSON.stringify(badScope)} (expected protocol:type:name:action, or '*')`);
  }
}

export const isValidUsername = (name: string) => typeof name === 'string' && USERNAME_PATTERN.test(name);

const isProtocol = (value: unknown): value is TRegistryProtocol =>
  typeof value === 'string' && (REGISTRY_PROTOCOLS as readonly string[]).includes(value);

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');


export class DefaultAuthProvider implements IAuthProvider {
  private readonly tokenStore: ITokenStore;
  private readonly configUsers = new Map<string, IUserRecord>();
  /** Run-time users when tokenStore is 'memory'; otherwise they live in storage. */
  private readonly memoryUsers = new Map<string, IUserRecord>();
  private readonly loginCache = new BoundedCache<string>({ maxEntries: 1000, ttlMs: LOGIN_CACHE_MS });
  /** Run-time users looked up by token validation; short-lived so removals and scope changes take effect. */
  private readonly userCache = new BoundedCache<IUserRecord | null>({ maxEntries: 10_000, ttlMs: USER_CACHE_MS });
  /** Keys the login cache, so it holds no password-derived value anyone else could recompute. */
  private readonly loginCacheKey = crypto.randomBytes(32);
  /** Expire with the token (less the tolerated skew, as `verifyJwt` would). */
  private readonly verifiedJwts: BoundedCache<IVerifiedJwt>;
  /** Token → its record's id (a sha256): a stored token's every request would hash it again. */
  private readonly tokenIdOf = memoizeBounded(authPaths.hashToken, TOKEN_ID_ENTRIES);
  private jwtSecret = '';
  /** Verified against for unknown users, so an unknown name costs the same time as a wrong password. */
  private readonly dummyHash = unmatchableHash();
  private initPromise?: Promise<void>;
  /** Set once `init()` has succeeded: the per-request paths then skip awaiting it. */
  private initialized = false;
  private readonly now: () => number;

  /** `iss` and `aud` every OCI JWT carries and must carry to be accepted. */
  private readonly jwtIssuer: string;
  private readonly jwtAudience: string;

  constructor(
    private readonly config: IAuthConfig,
    private readonly storage: RegistryStorage,
    options: IDefaultAuthProviderOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.verifiedJwts = options.verifiedJwtCache ?? new BoundedCache<IVerifiedJwt>({ maxEntries: JWT_CACHE_ENTRIES, now: this.now });
    this.tokenStore = this.usesStorage ? new StorageTokenStore(storage) : new MemoryTokenStore();
    this.jwtIssuer = config.ociTokens?.issuer ?? options.ociTokenIdentity?.issuer ?? DEFAULT_TOKEN_IDENTITY;
    this.jwtAudience = config.ociTokens?.service ?? options.ociTokenIdentity?.audience ?? DEFAULT_TOKEN_IDENTITY;
  }

  /** Nothing that must be shared between instances lives in memory unless asked for. */
  private get usesStorage(): boolean {
    return (this.config.tokenStore ?? 'storage') === 'storage';
  }

  /** Idempotent; every method calls it, so forgetting `init()` cannot leave users unhashed. */
  init(): Promise<void> {
    this.initPromise ??= this.doInit().then(() => {
      this.initialized = true;
    });
    return this.initPromise;
  }

  private async doInit() {
    if (this.config.signupScopes !== undefined) {
      if (!isStringArray(this.config.signupScopes)) throw new Error('auth.signupScopes must be a list of scopes');
      // Checked with a sample name: the placeholder stands for a user name, which never contains `:` or `*`.
      assertValidScopes('auth.signupScopes', this.signupScopesFor('user'));
    }
    const [, jwtSecret] = await Promise.all([this.loadConfigUsers(), this.loadJwtSecret()]);
    this.jwtSecret = jwtSecret;
  }

  private async loadConfigUsers() {
    const users = Object.entries(this.config.users ?? {});
    // A few at a time: hashing refuses more than a bounded queue, and a long user list must still load.
    await mapLimited(
      users,
      MAX_CONCURRENT_HASHES,
      async ([username, user]) => {
        if (!isValidUsername(username)) {
          throw new Error(`auth.users: invalid user name ${JSON.stringify(username)} (letters, digits, . _ @ + -)`);
        }
        // No default: a forgotten `scopes` must not quietly make an administrator.
        if (!isStringArray(user?.scopes)) {
          throw new Error(
            `auth.users.${username}: \`scopes\` is missing; list what the user may do, e.g. ['*'] for everything or ['npm:package:*:read']`,
          );
        }
        const { scopes } = user;
        assertValidScopes(`auth.users.${username}`, scopes);
        if (user.passwordHash !== undefined && !isPasswordHash(user.passwordHash)) {
          throw new Error(`auth.users.${username}: passwordHash is not a scrypt$N$r$p$salt$hash string`);
        }
        const passwordHash = user.passwordHash ?? (user.password !== undefined ? await hashPassword(user.password) : undefined);
        this.configUsers.set(username, { username, passwordHash, scopes: [...scopes], createdAt: new Date().toISOString() });
      },
    );
  }

  /** Configured secret; else one secret shared through storage; else one per process. */
  private async loadJwtSecret(): Promise<string> {
    if (this.config.jwtSecret !== undefined) {
      if (typeof this.config.jwtSecret !== 'string' || Buffer.byteLength(this.config.jwtSecret) < MIN_JWT_SECRET_BYTES) {
        throw new Error(
          `auth.jwtSecret must be at least ${MIN_JWT_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 32\`), or left out to have one generated`,
        );
      }
      return this.config.jwtSecret;
    }
    if (!this.usesStorage) return crypto.randomBytes(32).toString('base64url');
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await this.storage.getJson<{ secret?: unknown }>(authPaths.jwtSecret());
      if (existing && typeof existing.value.secret === 'string' && Buffer.byteLength(existing.value.secret) >= MIN_JWT_SECRET_BYTES) {
        return existing.value.secret;
      }
      if (existing) throw new Error(`${authPaths.jwtSecret()} in storage holds no usable secret`);
      const secret = crypto.randomBytes(32).toString('base64url');
      // Create-only: when two instances start at once, one wins and the other reads its secret.
      const written = await this.storage.createJsonOnce(authPaths.jwtSecret(), { secret, createdAt: new Date().toISOString() }, CORE_CONTEXT);
      if (written.created) return secret;
    }
    throw new Error('could not load or create the shared JWT secret');
  }

  /** The scopes a new sign-up gets: `auth.signupScopes` with `{username}` filled in. */
  private signupScopesFor(username: string): string[] {
    return (this.config.signupScopes ?? []).map((scope) => scope.split(SIGNUP_USERNAME_PLACEHOLDER).join(username));
  }

  async destroy() {
    this.loginCache.clear();
    this.verifiedJwts.clear();
  }

  // ---- users -----------------------------------------------------------------------------

  /** `auth.<protocol>Tokens.enabled: false` turns a protocol's tokens off. */
  private tokensEnabled(protocol: TRegistryProtocol): boolean {
    const setting = (this.config as Record<string, { enabled?: boolean } | undefined>)[TOKEN_SETTINGS[protocol]];
    return setting?.enabled !== false;
  }

  /** Not async: every authenticated request asks, and a hit needs no promise, loader closure or shared load. */
  private findUserCached(username: string): IUserRecord | Promise<IUserRecord | null> {
    return this.userCache.get(username) ?? this.loadUser(username);
  }

  private async loadUser(username: string): Promise<IUserRecord | null> {
    return (await this.userCache.getOrLoad(username, () => this.findUser(username))) ?? null;
  }

  private async findUser(username: string): Promise<IUserRecord | null> {
    if (!isValidUsername(username)) return null;
    const configured = this.configUsers.get(username);
    if (configured) return configured;
    if (!this.usesStorage) return this.memoryUsers.get(username) ?? null;
    const document = await this.storage.getJson<IUserRecord>(authPaths.user(username));
    return document ? document.value : null;
  }

  async authenticate(credentials: ICredentials): Promise<string | null> {
    await this.init();
    const { username, password } = credentials ?? ({} as ICredentials);
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    const cacheKey = crypto.createHmac('sha256', this.loginCacheKey).update(`${username}\u0000${password}`).digest('hex');
    // Clients that send the same credentials on many parallel requests share one check; only successes are kept.
    return (await this.loginCache.getOrLoad(cacheKey, () => this.checkPassword(username, password))) ?? null;
  }

  private async checkPassword(username: string, password: string): Promise<string | undefined> {
    const user = await this.findUser(username);
    // Always run one scrypt, whether or not the user exists or has a password.
    const matches = await verifyPassword(password, user?.passwordHash ?? this.dummyHash);
    return user?.passwordHash && matches ? user.username : undefined;
  }

  async getUserScopes(userId: string): Promise<string[] | null> {
    await this.init();
    const user = await this.findUser(userId);
    return user ? [...user.scopes] : null;
  }

  async createUser(username: string, password: string, email?: string): Promise<boolean> {
    await this.init();
    if (!this.config.allowSignup) return false;
    if (!isValidUsername(username)) {
      throw RegistryError.invalid('invalid user name: use 1-128 letters, digits, . _ @ + - (starting with a letter or digit)');
    }
    if (typeof password !== 'string' || password.length === 0) throw RegistryError.invalid('a password is required');
    if (this.configUsers.has(username)) return false;
    const record: IUserRecord = {
      username,
      passwordHash: await hashPassword(password),
      scopes: this.signupScopesFor(username),
      createdAt: new Date().toISOString(),
      ...(typeof email === 'string' && email ? { email } : {}),
    };
    // A lookup made before the user existed must not hide it.
    this.userCache.delete(username);
    if (!this.usesStorage) {
      if (this.memoryUsers.has(username)) return false;
      this.memoryUsers.set(username, record);
      return true;
    }
    const written = await this.storage.createJsonOnce(authPaths.user(username), record, CORE_CONTEXT);
    this.userCache.delete(username);
    return written.created;
  }

  // ---- tokens ----------------------------------------------------------------------------

  async createToken(userId: string, protocol: TRegistryProtocol, options: ITokenOptions = {}): Promise<string> {
    await this.init();
    if (!isProtocol(protocol)) throw RegistryError.invalid(`unknown protocol ${JSON.stringify(protocol)}`);
    if (!this.tokensEnabled(protocol)) throw RegistryError.denied(`${protocol} tokens are disabled in auth.${protocol}Tokens`);
    const user = await this.findUser(userId);
    if (!user) throw RegistryError.invalid(`unknown user ${JSON.stringify(userId)}: configure it in auth.users or create it first`);
    const scopes = options.scopes ? [...options.scopes] : [`${protocol}:*:*:*`];
    const badScope = scopes.find((scope) => !isValidScope(scope));
    if (badScope !== undefined) throw RegistryError.invalid(`invalid scope ${JSON.stringify(badScope)} (expected protocol:type:name:action)`);
    const { expiresIn } = options;
    if (expiresIn !== undefined && !(Number.isFinite(expiresIn) && expiresIn > 0)) {
      throw RegistryError.invalid('expiresIn must be a positive number of seconds');
    }
    const readonly = options.readonly === true;

    if (protocol === 'oci' && !options.stored) {
      const iat = this.nowSeconds();
      const payload: IOciJwtPayload = {
        iss: this.jwtIssuer,
        aud: this.jwtAudience,
        sub: user.username,
        protocol,
        scopes,
        userScopes: [...user.scopes],
        ...(readonly ? { readonly } : {}),
        iat,
        nbf: iat,
        exp: iat + Math.ceil(expiresIn ?? this.config.ociTokens?.expiresIn ?? DEFAULT_OCI_TOKEN_SECONDS),
        jti: crypto.randomUUID(),
      };
      return signJwt({ ...payload }, this.jwtSecret);
    }

    const token = crypto.randomUUID();
    const createdAt = new Date(this.now());
    const record: ITokenRecord = {
      tokenId: authPaths.hashToken(token),
      userId: user.username,
      protocol,
      scopes,
      userScopes: [...user.scopes],
      readonly,
      createdAt: createdAt.toISOString(),
      ...(expiresIn !== undefined ? { expiresAt: new Date(createdAt.getTime() + expiresIn * 1000).toISOString() } : {}),
      ...(options.name ? { name: options.name } : {}),
    };
    await this.tokenStore.save(record);
    return token;
  }

  async validateToken(token: string, protocol?: TRegistryProtocol): Promise<IAuthToken | null> {
    if (!this.initialized) await this.init();
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const found = looksLikeJwt(token) ? this.validateJwt(token) : this.validateStoredToken(token);
    // Most requests' tokens are known without I/O: no await, so no promise and no turn of the microtask queue.
    const authToken = found instanceof Promise ? await found : found;
    if (!authToken || !this.tokensEnabled(authToken.type)) return null;
    // A token acts for its user as the user is now: a removed user's tokens stop working, and
    // narrowed scopes apply at once.
    const user = this.userCache.get(authToken.userId) ?? (await this.loadUser(authToken.userId));
    if (!user) return null;
    authToken.userScopes = [...user.scopes];
    // A token made for one protocol is refused by the others, unless its scopes reach there explicitly.
    if (protocol && protocol !== authToken.type && !scopesCoverProtocol(authToken.scopes, protocol)) return null;
    return authToken;
  }

  /** A promise only when the revocation list must be read from storage. `userScopes` are the caller's to set. */
  private validateJwt(token: string): IAuthToken | null | Promise<IAuthToken | null> {
    const verified = this.verifyJwtCached(token);
    if (!verified) return null;
    const revoked = this.tokenStore.peekJwtRevoked(verified.jti);
    if (revoked === undefined) return this.tokenStore.isJwtRevoked(verified.jti).then((isRevoked) => (isRevoked ? null : jwtToken(verified)));
    return revoked ? null : jwtToken(verified);
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** A token signed with a shared secret for another deployment is not ours: issuer and audience must match. */
  private get jwtChecks() {
    return { clockSkewSeconds: JWT_CLOCK_SKEW_SECONDS, issuer: this.jwtIssuer, audience: this.jwtAudience, now: this.nowSeconds() };
  }

  /** Signature, claims and shape of a JWT, from the cache while the token has not expired. */
  private verifyJwtCached(token: string): IVerifiedJwt | null {
    const cached = this.verifiedJwts.get(token);
    if (cached) return cached;
    const result = verifyJwt(token, this.jwtSecret, this.jwtChecks);
    if (!result.ok) return null;
    const payload = result.payload as Partial<IOciJwtPayload>;
    if (typeof payload.sub !== 'string' || !isProtocol(payload.protocol) || !isStringArray(payload.scopes)) return null;
    if (!isStringArray(payload.userScopes) || typeof payload.jti !== 'string' || !JTI_PATTERN.test(payload.jti)) return null;
    const exp = payload.exp as number;
    const verified: IVerifiedJwt = {
      jti: payload.jti,
      exp,
      token: {
        type: payload.protocol,
        userId: payload.sub,
        scopes: payload.scopes,
        userScopes: payload.userScopes,
        readonly: payload.readonly === true,
        tokenId: authPaths.hashToken(token),
        expiresAt: new Date(exp * 1000),
        metadata: { jti: payload.jti },
      },
    };
    this.verifiedJwts.set(token, verified, { expiresAt: (exp + JWT_CLOCK_SKEW_SECONDS) * 1000 });
    return verified;
  }

  /** A promise only when the record must be read from storage. `userScopes` are the caller's to set. */
  private validateStoredToken(token: string): IAuthToken | null | Promise<IAuthToken | null> {
    const tokenId = this.tokenIdOf(token);
    const known = this.tokenStore.peek(tokenId);
    if (known === undefined) return this.tokenStore.get(tokenId).then((record) => this.storedToken(tokenId, record));
    return this.storedToken(tokenId, known);
  }

  private storedToken(tokenId: string, record: ITokenRecord | null): IAuthToken | null | Promise<null> {
    if (!record) return null;
    if (record.expiresAt && Date.parse(record.expiresAt) <= this.now()) {
      // Expired records are useless; removing them is housekeeping and must not fail the request.
      return this.tokenStore.delete(tokenId).then(() => null, () => null);
    }
    // Optional fields set only when present, without a throwaway object per field. `scopes` is the record's own
    // list: `heldValidation` knows the record a token was made from by it.
    const authToken: IAuthToken = { type: record.protocol, userId: record.userId, scopes: record.scopes, readonly: record.readonly, tokenId };
    if (record.expiresAt) authToken.expiresAt = new Date(record.expiresAt);
    if (record.name) authToken.metadata = { name: record.name };
    return authToken;
  }

  async authorize(token: IAuthToken | null, resource: string, action: string): Promise<boolean> {
    return this.grants(token, resource, action);
  }

  /** `authorize` without a promise: the decision needs only the token (every scoped request asks). */
  grants(token: IAuthToken | null, resource: string, action: string): boolean {
    // Anonymous access is decided by the caller from configuration, never here.
    if (!token || typeof action !== 'string' || action === '') return false;
    if (token.expiresAt && token.expiresAt.getTime() <= this.now()) return false;
    if (token.readonly && !isReadAction(action)) return false;
    if (!scopesGrant(token.scopes ?? [], resource, action)) return false;
    return token.userScopes === undefined || scopesGrant(token.userScopes, resource, action);
  }

  /**
   * The cache entries `token` (validated by this provider, for the request at hand) was made from, while they are
   * still kept: undefined for a password login's token, or when an entry was reloaded, revoked or dropped since.
   */
  heldValidation(token: IAuthToken): IHeldValidation | undefined {
    const user = this.userCache.get(token.userId);
    // validateToken copies the user's scopes into the token: the same scopes are the same user as far as it goes.
    if (!user || !sameScopes(user.scopes, token.userScopes)) return undefined;
    const expiresAt = token.expiresAt?.getTime();
    const jti = token.metadata?.jti;
    if (typeof jti === 'string') {
      return this.tokenStore.peekJwtRevoked(jti) === false ? { userId: token.userId, user, expiresAt, jti } : undefined;
    }
    const record = token.tokenId === undefined ? undefined : this.tokenStore.peek(token.tokenId);
    // storedToken hands on the record's own list of scopes: the token was made from this very record.
    if (!record || record.scopes !== token.scopes) return undefined;
    return { userId: token.userId, user, expiresAt, tokenId: token.tokenId, record };
  }

  /**
   * Would validating the token of `held` answer the same token now, from the same entries? The checks
   * `validateToken` makes of a token known without I/O, by the same clocks: revoked through this instance, it is
   * not; reloaded from storage (past the caches' windows, or dropped from them), it is asked for again.
   */
  stillHolds(held: IHeldValidation): boolean {
    if (held.expiresAt !== undefined && held.expiresAt <= this.now()) return false;
    if (this.userCache.get(held.userId) !== held.user) return false;
    if (held.jti !== undefined) return this.tokenStore.peekJwtRevoked(held.jti) === false;
    return held.tokenId !== undefined && this.tokenStore.peek(held.tokenId) === held.record;
  }

  async revokeToken(token: string): Promise<void> {
    await this.init();
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return;
    if (looksLikeJwt(token)) {
      // JWTs are not stored; remember the jti until the token would have expired. Invalid or
      // already expired tokens need no revocation.
      this.verifiedJwts.delete(token);
      const result = verifyJwt(token, this.jwtSecret, this.jwtChecks);
      if (!result.ok || typeof result.payload.jti !== 'string' || !JTI_PATTERN.test(result.payload.jti)) return;
      await this.tokenStore.revokeJwt(result.payload.jti, new Date((result.payload.exp as number) * 1000));
      return;
    }
    await this.tokenStore.delete(authPaths.hashToken(token));
  }

  async listUserTokens(userId: string): Promise<ITokenInfo[]> {
    await this.init();
    if (!isValidUsername(userId)) return [];
    const now = this.now();
    const records = await this.tokenStore.listByUser(userId);
    return records
      .filter((record) => !record.expiresAt || new Date(record.expiresAt).getTime() > now)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(({ tokenId, userId: owner, protocol, scopes, readonly, createdAt, expiresAt, name }) => ({
        tokenId,
        userId: owner,
        protocol,
        scopes,
        readonly,
        createdAt,
        ...(expiresAt ? { expiresAt } : {}),
        ...(name ? { name } : {}),
      }));
  }

  async revokeTokenById(userId: string, tokenId: string): Promise<boolean> {
    await this.init();
    if (typeof tokenId !== 'string' || !TOKEN_ID_PATTERN.test(tokenId)) return false;
    const record = await this.tokenStore.get(tokenId);
    // Only the owner revokes by id: knowing someone else's token id must not be enough.
    if (!record || record.userId !== userId) return false;
    await this.tokenStore.delete(tokenId);
    return true;
  }
}
