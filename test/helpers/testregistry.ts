/**
 * The SmartRegistry every protocol's fixtures start: filesystem storage in a fresh temp directory
 * unless the test names another, tokens in memory, the protocol's users, quiet logs
 * (SMARTREGISTRY_TEST_LOG=error prints errors).
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry, type ISmartRegistryOptions } from '../../ts/classes.smartregistry.js';
import type { IAuthConfig, IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { storageKeys } from './requests.js';

export interface ITestRegistrySetup {
  /** Names the temp directory (`smartregistry-<label>-…`). */
  label: string;
  users: NonNullable<IAuthConfig['users']>;
  /** Merged over the defaults (memory tokens, the users above). */
  auth?: Partial<IAuthConfig>;
  /** The rest of the configuration: the protocol's section, limits, hooks; `storage` replaces the temp directory. */
  config?: Partial<IRegistryConfig>;
  registryOptions?: ISmartRegistryOptions;
  /** An existing directory to store in; it is left in place on close. */
  dir?: string;
}

export interface ITestRegistry {
  registry: SmartRegistry;
  dir: string;
  /** Every key in storage, sorted. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startTestRegistry(setup: ITestRegistrySetup): Promise<ITestRegistry> {
  const dir = setup.dir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), `smartregistry-${setup.label}-`)));
  const { storage, ...config } = setup.config ?? {};
  const registry = new SmartRegistry(
    {
      storage: storage ?? { type: 'filesystem', path: dir },
      auth: { tokenStore: 'memory', users: setup.users, ...setup.auth },
      logging: { level: (process.env.SMARTREGISTRY_TEST_LOG as 'error') ?? 'silent' },
      ...config,
    },
    setup.registryOptions,
  );
  await registry.init();
  return {
    registry,
    dir,
    keys: () => storageKeys(registry),
    async close() {
      await registry.destroy();
      if (!setup.dir) await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
