import * as crypto from 'node:crypto';
import type { AuthManager } from '../core/classes.authmanager.js';
import type { ICredentials } from '../core/interfaces.auth.js';
import { RegistryError, isPreconditionFailed } from '../core/classes.registryerror.js';
import { CORE_CONTEXT, type RegistryStorage } from '../core/classes.registrystorage.js';
import type { IHandlerResponse } from '../core/helpers.response.js';
import { jsonResponse } from '../core/helpers.response.js';
import { sha256Hex } from '../core/helpers.hash.js';
import { npmPaths } from '../core/storage.paths.js';

export interface INpmLoginFlowOptions {
  /** `auth.allowSignup`: the sign-in page may create accounts, and so may `npm adduser`. */
  allowSignup: boolean;
  /** How long a session may stay open. */
  sessionSeconds: number;
  /** Sessions open at once, across instances; a start beyond answers 429. */
  maxSessions: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

interface ILoginSession {
  /** sha256 of the secret in the done URL: only the CLI that started the login may collect the token. */
  secretHash: string;
  /** `npm adduser` (web) asks for an account to be created when needed. */
  create: boolean;
  state: 'pending' | 'authenticated' | 'claimed';
  userId?: string;
  createdAt: string;
  expiresAt: string;
}

const LOGIN_ID = /^[0-9a-f]{32}$/;
const MAX_FORM_BYTES = 16 * 1024;
/** Where a failed login is reported as coming from. */
const NPM = { protocol: 'npm' } as const;
/** How long the CLI waits between polls of the done URL. */
const POLL_SECONDS = 1;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const sameSecret = (secret: string, hash: string) => {
  const a = Buffer.from(sha256Hex(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
};

function html(status: number, title: string, body: string): IHandlerResponse {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00020}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return {
    status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      'X-Frame-Options': 'DENY',
    },
    body: page,
  };
}

/**
 * The two ways `npm login` signs in.
 *
 * Web (npm's default since v9): `POST /-/v1/login` opens a session and answers `loginUrl` — a small
 * sign-in page served here — and `doneUrl`, which the CLI polls (202 + Retry-After while pending)
 * until the person has signed in on the page; then it answers `{ token }` once. Sessions live in
 * storage, so any instance can serve any step; the token is only minted when the CLI collects it.
 *
 * Legacy (`--auth-type=legacy`, `npm adduser`): `PUT /-/user/org.couchdb.user:{name}` with the
 * password in the body answers a token; it creates the user only when `auth.allowSignup` is on.
 */
export class NpmLoginFlow {
  constructor(
    private readonly storage: RegistryStorage,
    private readonly auth: AuthManager,
    private readonly options: INpmLoginFlowOptions,
  ) {}

  /**
   * Each start writes a session an anonymous client asked for, so starts sweep expired sessions and
   * refuse (429) while `maxSessions` are open. Every instance counts the same objects in storage.
   */
  async start(baseUrl: string, create: boolean): Promise<IHandlerResponse> {
    if ((await this.sweepAndCount()) >= this.options.maxSessions) {
      throw new RegistryError('too-many-requests', 'too many npm logins are in progress; try again in a minute', {
        headers: { 'Retry-After': '60' },
      });
    }
    const loginId = crypto.randomBytes(16).toString('hex');
    const secret = crypto.randomBytes(24).toString('base64url');
    const created = new Date(this.options.now());
    const session: ILoginSession = {
      secretHash: sha256Hex(secret),
      create,
      state: 'pending',
      createdAt: created.toISOString(),
      expiresAt: new Date(created.getTime() + this.options.sessionSeconds * 1000).toISOString(),
    };
    const written = await this.storage.createJsonOnce(this.key(loginId), session, CORE_CONTEXT);
    if (!written.created) throw RegistryError.conflict('login session id already in use, try again');
    return jsonResponse(200, {
      loginUrl: `${baseUrl}/-/v1/login/cli/${loginId}`,
      doneUrl: `${baseUrl}/-/v1/done/${loginId}?secret=${secret}`,
    });
  }

  /** The sign-in page behind `loginUrl`. */
  async page(loginId: string): Promise<IHandlerResponse> {
    const session = await this.session(loginId);
    if (!session) return this.expiredPage();
    if (session.value.state !== 'pending') return this.donePage();
    return this.formPage(200, session.value.create, '');
  }

  /** The form's POST: check the password (or create the account), then mark the session signed in. */
  async submit(loginId: string, formBody: Buffer, ip?: string): Promise<IHandlerResponse> {
    const session = await this.session(loginId);
    if (!session) return this.expiredPage();
    if (session.value.state !== 'pending') return this.donePage();
    const form = new URLSearchParams(formBody.subarray(0, MAX_FORM_BYTES).toString('utf8'));
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const email = (form.get('email') ?? '').trim() || undefined;
    const wantsAccount = session.value.create && form.get('action') === 'create';
    if (!username || !password) return this.formPage(400, session.value.create, 'Enter a username and a password.');

    const credentials = { username, password, ...(ip ? { ip } : {}) };
    let userId: string | null;
    try {
      userId = wantsAccount ? await this.signUp(credentials, email) : await this.auth.authenticate(credentials, NPM);
    } catch (error) {
      // Refusals (sign-up off, a taken or bad name, the login back-off) are shown on the page.
      if (error instanceof RegistryError) return this.formPage(error.status, session.value.create, error.message);
      throw error;
    }
    if (!userId) return this.formPage(401, session.value.create, 'Incorrect username or password.');

    try {
      await this.storage.putJson(this.key(loginId), { ...session.value, state: 'authenticated', userId }, CORE_CONTEXT, {
        ifMatch: session.etag,
      });
    } catch (error) {
      if (isPreconditionFailed(error)) return this.donePage();
      throw error;
    }
    return html(200, 'Signed in', `<p>You are signed in as <strong>${escapeHtml(userId)}</strong>.</p><p>Return to your terminal; you can close this window.</p>`);
  }

  private async signUp(credentials: ICredentials, email: string | undefined): Promise<string | null> {
    if (!this.options.allowSignup) throw RegistryError.denied('This registry does not allow signing up.');
    if (!(await this.auth.createUser(credentials.username, credentials.password, email))) throw RegistryError.conflict('That username is taken.');
    return this.auth.authenticate(credentials, NPM);
  }

  /** `doneUrl`: 202 while pending; once signed in, a new token, handed out exactly once. */
  async done(loginId: string, secret: string): Promise<IHandlerResponse> {
    const session = await this.session(loginId);
    if (!session || !secret || !sameSecret(secret, session.value.secretHash)) {
      throw RegistryError.notFound('unknown or expired login session');
    }
    if (session.value.state === 'pending') {
      return jsonResponse(202, {}, { 'Retry-After': String(POLL_SECONDS), 'Cache-Control': 'no-store' });
    }
    if (session.value.state !== 'authenticated' || !session.value.userId) throw RegistryError.notFound('login session already used');
    // Claim the session with a conditional write: two polls at once must not both get a token.
    try {
      await this.storage.putJson(this.key(loginId), { ...session.value, state: 'claimed' }, CORE_CONTEXT, { ifMatch: session.etag });
    } catch (error) {
      if (isPreconditionFailed(error)) throw RegistryError.notFound('login session already used');
      throw error;
    }
    const token = await this.auth.createNpmToken(session.value.userId, false, { name: 'npm login (web)' });
    await this.storage.deleteObject(this.key(loginId), CORE_CONTEXT);
    return jsonResponse(200, { token, username: session.value.userId }, { 'Cache-Control': 'no-store' });
  }

  /** `PUT /-/user/org.couchdb.user:{name}`: sign in (or sign up, when allowed) with a password. */
  async couchLogin(urlName: string, body: unknown, ip?: string): Promise<IHandlerResponse> {
    const doc = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const name = typeof doc.name === 'string' ? doc.name : urlName;
    const password = doc.password;
    if (name !== urlName) throw RegistryError.invalid(`user name in the body (${name}) does not match the URL (${urlName})`);
    if (typeof password !== 'string' || password === '') throw RegistryError.invalid('a password is required');

    const credentials = { username: name, password, ...(ip ? { ip } : {}) };
    let userId = await this.auth.authenticate(credentials, NPM);
    if (!userId && this.options.allowSignup) {
      const email = typeof doc.email === 'string' ? doc.email : undefined;
      if (await this.auth.createUser(name, password, email)) userId = await this.auth.authenticate(credentials, NPM);
    }
    if (!userId) {
      throw RegistryError.unauthorized(
        this.options.allowSignup ? 'incorrect username or password' : 'incorrect username or password (signing up is disabled on this registry)',
        { headers: { 'WWW-Authenticate': 'Basic realm="smartregistry npm"' } },
      );
    }
    const token = await this.auth.createNpmToken(userId, false, { name: 'npm login (legacy)' }, { ip });
    return jsonResponse(201, { ok: true, id: `org.couchdb.user:${userId}`, rev: '_we_dont_use_revs_any_more', token });
  }

  /**
   * Removes sessions past their lifetime and counts the others, stopping once `maxSessions` are
   * counted. A session's object is never older than the session (every change rewrites it), so its
   * age in the listing is enough: nothing has to be read.
   */
  private async sweepAndCount(): Promise<number> {
    const now = this.options.now();
    const lifetimeMs = this.options.sessionSeconds * 1000;
    const expired: string[] = [];
    let open = 0;
    for await (const entry of this.storage.listAll(npmPaths.loginSessionsPrefix())) {
      if (entry.lastModified.getTime() + lifetimeMs <= now) expired.push(entry.key);
      else if (++open >= this.options.maxSessions) break;
    }
    await this.storage.deleteObjects(expired, CORE_CONTEXT);
    return open;
  }

  private key(loginId: string) {
    return npmPaths.loginSession(sha256Hex(loginId));
  }

  private async session(loginId: string) {
    if (!LOGIN_ID.test(loginId)) return null;
    const stored = await this.storage.getJson<ILoginSession>(this.key(loginId));
    if (!stored) return null;
    if (new Date(stored.value.expiresAt).getTime() <= this.options.now()) {
      await this.storage.deleteObject(this.key(loginId), CORE_CONTEXT).catch(() => undefined);
      return null;
    }
    return stored;
  }

  private formPage(status: number, create: boolean, error: string): IHandlerResponse {
    const signup = create && this.options.allowSignup;
    return html(
      status,
      'Sign in to npm',
      `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
${signup ? '<label for="email">Email (for a new account)</label><input id="email" name="email" type="email" autocomplete="email">' : ''}
<button type="submit" name="action" value="login">Sign in</button>
${signup ? '<button type="submit" name="action" value="create">Create account</button>' : ''}
</form>`,
    );
  }

  private expiredPage(): IHandlerResponse {
    return html(404, 'Login expired', '<p>This login link is unknown or has expired. Run <code>npm login</code> again.</p>');
  }

  private donePage(): IHandlerResponse {
    return html(200, 'Signed in', '<p>This login is complete. Return to your terminal; you can close this window.</p>');
  }
}
