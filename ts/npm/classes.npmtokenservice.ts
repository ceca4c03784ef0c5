import type { AuthManager } from '../core/classes.authmanager.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { jsonResponse, type IHandlerResponse } from '../core/helpers.response.js';
import { isPlainObject } from '../core/helpers.json.js';

/** A token's id as `npm token list` shows it: the sha256 of the token. */
const TOKEN_ID = /^[0-9a-f]{64}$/;

/** `npm token list|create|revoke`: a user's own npm tokens, in the shapes the CLI prints. */
export class NpmTokenService {
  constructor(private readonly auth: AuthManager) {}

  async list(userId: string): Promise<IHandlerResponse> {
    const tokens = (await this.auth.listUserTokens(userId)).filter((token) => token.protocol === 'npm');
    const objects = tokens.map((token) => ({
      // The token itself is never stored, so no prefix of it can be shown; `key` identifies it.
      token: '',
      key: token.tokenId,
      name: token.name ?? null,
      readonly: token.readonly,
      cidr_whitelist: null,
      created: token.createdAt,
      updated: token.createdAt,
      ...(token.expiresAt ? { expires: token.expiresAt } : {}),
    }));
    return jsonResponse(200, { objects, total: objects.length, urls: {} });
  }

  /** The CLI sends the user's password along: a new token needs it, not only a valid token. */
  async create(userId: string, body: unknown, ip?: string): Promise<IHandlerResponse> {
    if (!isPlainObject(body)) throw RegistryError.invalid('the body must be a JSON object');
    if (typeof body.password !== 'string' || !(await this.auth.authenticate({ username: userId, password: body.password, ...(ip ? { ip } : {}) }, { protocol: 'npm' }))) {
      throw RegistryError.unauthorized('incorrect password', { headers: { 'WWW-Authenticate': 'Basic realm="smartregistry npm"' } });
    }
    if (Array.isArray(body.cidr_whitelist) && body.cidr_whitelist.length > 0) {
      throw RegistryError.invalid('CIDR-restricted tokens are not supported by this registry');
    }
    const readonly = body.readonly === true;
    const name = typeof body.name === 'string' && body.name ? body.name.slice(0, 128) : undefined;
    const expiresDays = typeof body.expires === 'number' && body.expires > 0 ? body.expires : undefined;
    const token = await this.auth.createNpmToken(
      userId,
      readonly,
      { ...(name ? { name } : {}), ...(expiresDays ? { expiresIn: expiresDays * 86400 } : {}) },
      { ip },
    );
    const key = (await this.auth.validateToken(token, 'npm'))?.tokenId ?? '';
    const created = new Date().toISOString();
    return jsonResponse(201, {
      token,
      key,
      name: name ?? null,
      readonly,
      cidr_whitelist: [],
      created,
      updated: created,
      ...(expiresDays ? { expires: new Date(Date.now() + expiresDays * 86400_000).toISOString() } : {}),
    });
  }

  /** Revoke by key (the token's sha256, as listed) or by the token itself; only one's own tokens. */
  async revoke(userId: string, key: string, ip?: string): Promise<IHandlerResponse> {
    const origin = { protocol: 'npm' as const, ip };
    let revoked = false;
    if (TOKEN_ID.test(key)) {
      revoked = await this.auth.revokeTokenById(userId, key, origin);
    } else {
      const token = await this.auth.validateToken(key, 'npm');
      if (token && token.userId === userId) {
        await this.auth.revokeToken(key, origin);
        revoked = true;
      }
    }
    if (!revoked) throw RegistryError.notFound('no such token');
    return { status: 204, headers: {} };
  }
}
