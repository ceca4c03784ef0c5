import { SmartRegistry } from '../classes.smartregistry.js';
import { ADMIN_USER, loadOrCreateAdmin } from './admin.js';
import { CliUsageError, type ICliOptions } from './args.js';
import { buildRegistryConfig, storageConfigOf } from './config.js';
import type { TWriteLine } from './serve.js';
import { createProtocolToken } from './tokens.js';

/**
 * `smartregistry token <protocol>`: a new admin token, stored where the server looks for it (same
 * storage), so it works against a running server without a restart.
 */
export async function createAdminToken(options: ICliOptions, write: TWriteLine): Promise<void> {
  if (!options.protocol) throw new CliUsageError('token needs a protocol');
  if (!options.adminPassword) throw new CliUsageError('token needs the admin password: --password or SMARTREGISTRY_ADMIN_PASSWORD');
  const admin = await loadOrCreateAdmin(storageConfigOf(options), { create: false });
  if (!admin) throw new Error('there is no admin yet: run `smartregistry serve` once with this storage');

  // Storage and auth only: no protocol needs to be mounted to issue a token.
  const config = buildRegistryConfig(options, admin.users);
  const registry = new SmartRegistry({ storage: config.storage, auth: config.auth, logging: config.logging });
  await registry.init();
  try {
    const auth = registry.getAuthManager();
    const userId = await auth.authenticate({ username: ADMIN_USER, password: options.adminPassword });
    if (userId !== ADMIN_USER) throw new Error('wrong admin password');
    write(`token ${options.protocol} ${await createProtocolToken(auth, options.protocol, ADMIN_USER)}`);
  } finally {
    await registry.destroy();
  }
}
