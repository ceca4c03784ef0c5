import * as crypto from 'node:crypto';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { webPaths } from '../core/storage.paths.js';

interface ISessionKeyDocument {
  v: 1;
  /** 32 random bytes, base64. */
  key: string;
}

const CORE_CONTEXT = { protocol: 'core' as const };
const base64url = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64url');

/**
 * Sign-in sessions of the web page as signed cookie values: `{user}.{expires}.{hmac}`, HMAC-SHA256
 * under a key made once in storage, so every instance on the bucket accepts every other's cookies
 * and nothing is stored per session. A session ends when it expires or its cookie is cleared (sign
 * out); the user's scopes are looked up on each request, so a removed user or scope counts at once.
 */
export class WebSessions {
  private key?: Promise<Buffer>;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly lifetimeSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A cookie value for `userId`, valid `lifetimeSeconds`. */
  async issue(userId: string): Promise<string> {
    const payload = `${base64url(userId)}.${Math.floor(this.now() / 1000) + this.lifetimeSeconds}`;
    return `${payload}.${await this.sign(payload)}`;
  }

  /** The user a cookie value names, or null when it is malformed, forged or expired. */
  async verify(value: string | undefined): Promise<string | null> {
    const parts = value?.split('.');
    if (!parts || parts.length !== 3 || !/^\d{1,12}$/.test(parts[1])) return null;
    const [user, expires, mac] = parts;
    if (Number(expires) * 1000 <= this.now()) return null;
    const expected = Buffer.from(await this.sign(`${user}.${expires}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return null;
    return Buffer.from(user, 'base64url').toString('utf8') || null;
  }

  private async sign(payload: string): Promise<string> {
    return crypto.createHmac('sha256', await this.signingKey()).update(payload).digest('base64url');
  }

  /** The stored key, made by whichever instance needs it first (create-once: all then use that one). */
  private signingKey(): Promise<Buffer> {
    this.key ??= (async () => {
      const made: ISessionKeyDocument = { v: 1, key: crypto.randomBytes(32).toString('base64') };
      await this.storage.createJsonOnce(webPaths.sessionKey(), made, CORE_CONTEXT);
      const stored = await this.storage.getJson<ISessionKeyDocument>(webPaths.sessionKey());
      if (!stored) throw new Error('the web session key is missing right after it was written');
      return Buffer.from(stored.value.key, 'base64');
    })().catch((error) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }
}
