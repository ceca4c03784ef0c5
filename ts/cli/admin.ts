/**
 * The `admin` user of `smartregistry serve`. The auth provider only creates run-time users when
 * sign-up is on, which serve leaves off; so the admin is a configured user whose scrypt hash is kept
 * in the storage object `admin.json` (for filesystem storage: `<data-dir>/admin.json`). Deleting
 * that object resets the admin on the next start.
 */
import * as crypto from 'node:crypto';
import { CORE_CONTEXT, RegistryStorage } from '../core/classes.registrystorage.js';
import { streamToBuffer } from '../core/helpers.stream.js';
import { hashPassword, isPasswordHash } from '../core/helpers.password.js';
import { FULL_ACCESS_SCOPE } from '../core/helpers.scope.js';
import type { IStorageConfig, IUserConfig } from '../core/interfaces.core.js';
import { createStorageBackend } from '../core/storage/index.js';
import { authPaths } from '../core/storage.paths.js';

export const ADMIN_USER = 'admin';
const ADMIN_RECORD_KEY = authPaths.serveAdmin();

interface IAdminRecord {
  username: string;
  passwordHash: string;
  createdAt: string;
}

export interface IAdminBootstrap {
  /** The admin as `auth.users` wants it. */
  users: Record<string, IUserConfig>;
  /** Set only when this start created the admin: the one time its password is known. */
  createdPassword?: string;
}

async function readRecord(storage: RegistryStorage): Promise<IAdminRecord | null> {
  const result = await storage.getObject(ADMIN_RECORD_KEY, CORE_CONTEXT);
  if (!result) return null;
  const text = (await streamToBuffer(result.stream, 64 * 1024)).toString('utf8');
  let record: Partial<IAdminRecord>;
  try {
    record = JSON.parse(text) as Partial<IAdminRecord>;
  } catch {
    throw new Error(`${ADMIN_RECORD_KEY} in storage is not JSON; delete it to create a new admin`);
  }
  if (record.username !== ADMIN_USER || typeof record.passwordHash !== 'string' || !isPasswordHash(record.passwordHash)) {
    throw new Error(`${ADMIN_RECORD_KEY} in storage holds no usable admin; delete it to create a new admin`);
  }
  return record as IAdminRecord;
}

const usersOf = (record: IAdminRecord): Record<string, IUserConfig> => ({
  [ADMIN_USER]: { passwordHash: record.passwordHash, scopes: [FULL_ACCESS_SCOPE] },
});

/**
 * Load the admin, or create it with a random password. Creation is create-only, so two instances
 * starting on one bucket at once end up with one admin (and only the winner knows the password).
 */
export async function loadOrCreateAdmin(storage: IStorageConfig, options: { create: boolean }): Promise<IAdminBootstrap | null> {
  const registryStorage = new RegistryStorage(await createStorageBackend(storage));
  await registryStorage.init();
  try {
    const existing = await readRecord(registryStorage);
    if (existing) return { users: usersOf(existing) };
    if (!options.create) return null;
    // Letters and digits only: a password starting with `-` would read as a flag on the command line.
    const password = crypto.randomBytes(32).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 24);
    const record: IAdminRecord = { username: ADMIN_USER, passwordHash: await hashPassword(password), createdAt: new Date().toISOString() };
    const written = await registryStorage.createJsonOnce(ADMIN_RECORD_KEY, record, CORE_CONTEXT);
    if (!written.created) {
      const winner = await readRecord(registryStorage);
      if (!winner) throw new Error(`${ADMIN_RECORD_KEY} was being written by another instance; start again`);
      return { users: usersOf(winner) };
    }
    return { users: usersOf(record), createdPassword: password };
  } finally {
    await registryStorage.destroy();
  }
}
