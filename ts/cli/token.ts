import { SmartRegistry } from '../classes.smartregistry.js';
import type { AuthManager } from '../core/classes.authmanager.js';
import { ADMIN_USER, loadOrCreateAdmin } from './admin.js';
import { CliUsageError, type ICliOptions } from './args.js';
import { buildRegistryConfig, storageConfigOf } from './config.js';
import type { TWriteLine } from './serve.js';
import { createProtocolToken } from './tokens.js';

/**
 * `smartregistry token <protocol> | list | revoke <id>`: the admin's tokens, in the storage the server
 * reads them from, so changes apply to a running server without a restart (another instance sees a
 * revocation within its token cache time, a few seconds).
 */
export async function runTokenCommand(options: ICliOptions, write: TWriteLine): Promise<void> {
  if (!options.adminPassword) throw new CliUsageError('token needs the admin password: --password or SMARTREGISTRY_ADMIN_PASSWORD');
  const admin = await loadOrCreateAdmin(storageConfigOf(options), { create: false });
  if (!admin) throw new Error('there is no admin yet: run `smartregistry serve` once with this storage');

  // Storage and auth only: no protocol needs to be mounted to manage tokens.
  const config = buildRegistryConfig(options, admin.users);
  const registry = new SmartRegistry({ storage: config.storage, auth: config.auth, logging: config.logging });
  await registry.init();
  try {
    const auth = registry.getAuthManager();
    const userId = await auth.authenticate({ username: ADMIN_USER, password: options.adminPassword });
    if (userId !== ADMIN_USER) throw new Error('wrong admin password');
    await actions[options.tokenAction ?? 'create'](auth, options, write);
  } finally {
    await registry.destroy();
  }
}

const actions: Record<NonNullable<ICliOptions['tokenAction']>, (auth: AuthManager, options: ICliOptions, write: TWriteLine) => Promise<void>> = {
  async create(auth, options, write) {
    if (!options.protocol) throw new CliUsageError('token needs a protocol');
    const token = await createProtocolToken(auth, options.protocol, ADMIN_USER, { days: options.tokenDays, name: 'smartregistry token' });
    write(`token ${options.protocol} ${token}`);
  },
  async list(auth, _options, write) {
    for (const token of await auth.listUserTokens(ADMIN_USER)) {
      write(`token-info ${token.tokenId} ${token.protocol} ${token.expiresAt ?? 'never'} ${token.name ?? ''}`.trimEnd());
    }
  },
  async revoke(auth, options, write) {
    if (!(await auth.revokeTokenById(ADMIN_USER, options.tokenId ?? ''))) throw new Error(`no token of ${ADMIN_USER} has the id ${options.tokenId}`);
    write(`revoked ${options.tokenId}`);
  },
};
