/**
 * Where token records live. Tokens are never stored in clear: records are keyed by the token's
 * sha256 (its `tokenId`), which is useless to someone who reads the store.
 *
 * - `MemoryTokenStore`: one process, gone on restart (tests, single throw-away instances).
 * - `StorageTokenStore`: records in the registry's storage, shared by every instance on the bucket.
 */
import { BoundedCache } from './classes.boundedcache.js';
import { RegistryError } from './classes.registryerror.js';
import { CORE_CONTEXT, type RegistryStorage } from './classes.registrystorage.js';
import type { ITokenInfo } from './interfaces.auth.js';
import { authPaths } from './storage.paths.js';

export interface ITokenRecord extends ITokenInfo {
  /** The user's scopes when the token was made: a token never grants more than its user could. */
  userScopes?: string[];
}

export interface ITokenStore {
  save(record: ITokenRecord): Promise<void>;
  get(tokenId: string): Promise<ITokenRecord | null>;
  /**
   * The record when the store knows it without I/O (null: known not to exist), else undefined (ask `get`).
   * Shared with the store: read it, never change it. Every token-authenticated request asks.
   */
  peek(tokenId: string): ITokenRecord | null | undefined;
  /** Removes the record; a missing one is not an error. */
  delete(tokenId: string): Promise<void>;
  listByUser(userId: string): Promise<ITokenRecord[]>;
  /** Remember a revoked JWT (by `jti`) until it would have expired anyway. */
  revokeJwt(jti: string, expiresAt: Date): Promise<void>;
  isJwtRevoked(jti: string): Promise<boolean>;
  /** Whether the JWT is revoked, when known without I/O; else undefined (ask `isJwtRevoked`). */
  peekJwtRevoked(jti: string): boolean | undefined;
}

const isExpired = (expiresAt: string | Date | undefined, now = Date.now()) =>
  expiresAt !== undefined && new Date(expiresAt).getTime() <= now;

export class MemoryTokenStore implements ITokenStore {
  private readonly records = new Map<string, ITokenRecord>();
  private readonly revokedJwts = new Map<string, number>();

  async save(record: ITokenRecord) {
    this.records.set(record.tokenId, { ...record });
  }

  async get(tokenId: string) {
    const record = this.records.get(tokenId);
    return record ? { ...record } : null;
  }

  peek(tokenId: string) {
    return this.records.get(tokenId) ?? null;
  }

  async delete(tokenId: string) {
    this.records.delete(tokenId);
  }

  async listByUser(userId: string) {
    return [...this.records.values()].filter((record) => record.userId === userId).map((record) => ({ ...record }));
  }

  async revokeJwt(jti: string, expiresAt: Date) {
    const now = Date.now();
    for (const [id, until] of this.revokedJwts) if (until <= now) this.revokedJwts.delete(id);
    this.revokedJwts.set(jti, expiresAt.getTime());
  }

  async isJwtRevoked(jti: string) {
    return this.revokedJwts.has(jti);
  }

  peekJwtRevoked(jti: string) {
    return this.revokedJwts.has(jti);
  }
}

/** A marker younger than this may belong to a token being saved right now (marker first, record second). */
const DANGLING_MARKER_GRACE_MS = 5 * 60 * 1000;

export interface IStorageTokenStoreOptions {
  /**
   * How long a looked-up record (or its absence) is reused without asking storage again. Default
   * 5000 ms. Revocation on this instance is immediate; on another instance it shows here within
   * this time.
   */
  cacheTtlMs?: number;
}

export class StorageTokenStore implements ITokenStore {
  /** Bounded, so junk tokens cannot grow them without limit. */
  private readonly records: BoundedCache<ITokenRecord | null>;
  private readonly revoked: BoundedCache<boolean>;

  constructor(
    private readonly storage: RegistryStorage,
    options: IStorageTokenStoreOptions = {},
  ) {
    const ttl = options.cacheTtlMs ?? 5000;
    this.records = new BoundedCache({ maxEntries: 10_000, ttlMs: ttl });
    this.revoked = new BoundedCache({ maxEntries: 10_000, ttlMs: ttl });
  }

  async save(record: ITokenRecord) {
    // Marker first: a crash in between leaves a marker without a record (pruned when listing),
    // never a valid token that its owner cannot see or revoke.
    await this.storage.putObject(authPaths.userToken(record.userId, record.tokenId), new Uint8Array(0), CORE_CONTEXT);
    const written = await this.storage.createJsonOnce(authPaths.token(record.tokenId), record, CORE_CONTEXT);
    if (!written.created) throw RegistryError.conflict('token already exists');
    this.records.set(record.tokenId, record);
  }

  async get(tokenId: string) {
    const record = await this.records.getOrLoad(tokenId, async () => {
      const document = await this.storage.getJson<ITokenRecord>(authPaths.token(tokenId));
      return document ? document.value : null;
    });
    return record ?? null;
  }

  peek(tokenId: string) {
    return this.records.get(tokenId);
  }

  async delete(tokenId: string) {
    // Forget it here first, so this instance rejects the token even while storage is being updated.
    this.records.set(tokenId, null);
    const document = await this.storage.getJson<ITokenRecord>(authPaths.token(tokenId));
    await this.storage.deleteObject(authPaths.token(tokenId), CORE_CONTEXT);
    if (document) await this.storage.deleteObject(authPaths.userToken(document.value.userId, tokenId), CORE_CONTEXT);
    this.records.set(tokenId, null);
  }

  async listByUser(userId: string) {
    const prefix = authPaths.userTokensPrefix(userId);
    const result: ITokenRecord[] = [];
    for await (const marker of this.storage.listAll(prefix)) {
      const tokenId = marker.key.slice(prefix.length);
      const document = await this.storage.getJson<ITokenRecord>(authPaths.token(tokenId));
      if (document && document.value.userId === userId) {
        result.push(document.value);
      } else if (Date.now() - marker.lastModified.getTime() > DANGLING_MARKER_GRACE_MS) {
        await this.storage.deleteObject(marker.key, CORE_CONTEXT);
      }
    }
    return result;
  }

  async revokeJwt(jti: string, expiresAt: Date) {
    this.revoked.set(jti, true);
    await this.storage.putJson(authPaths.revokedJwt(jti), { jti, expiresAt: expiresAt.toISOString() }, CORE_CONTEXT);
    await this.pruneRevokedJwts();
  }

  async isJwtRevoked(jti: string) {
    const revoked = await this.revoked.getOrLoad(jti, async () => (await this.storage.stat(authPaths.revokedJwt(jti))) !== null);
    return revoked === true;
  }

  peekJwtRevoked(jti: string) {
    return this.revoked.get(jti);
  }

  /** Revocations of JWTs that have expired anyway are no longer needed. Revokes are rare, so this is cheap. */
  private async pruneRevokedJwts() {
    const now = Date.now();
    for await (const entry of this.storage.listAll(authPaths.revokedJwtPrefix())) {
      try {
        const document = await this.storage.getJson<{ expiresAt: string }>(entry.key);
        if (document && isExpired(document.value.expiresAt, now)) await this.storage.deleteObject(entry.key, CORE_CONTEXT);
      } catch (error) {
        // Another instance pruning the same entry is fine; anything else is worth surfacing.
        if (!(error instanceof RegistryError && error.kind === 'not-found')) throw error;
      }
    }
  }
}
