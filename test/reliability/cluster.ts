/**
 * Several SmartRegistry instances on one storage with all seven protocols, as a team runs them behind a load
 * balancer: tokens in storage (so a token made on one instance works on every other), one administrator, and
 * a token per protocol made once on the first instance.
 */
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { REGISTRY_PROTOCOLS, type IRegistryConfig, type IStorageConfig, type TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { sendRequest, storageKeys, type IReadResponse, type ITestRequest } from '../helpers/requests.js';

export const ADMIN = { user: 'admin', password: 'admin-password' };

export type TCall = (method: string, path: string, options?: ITestRequest) => Promise<IReadResponse>;

export interface IClusterInstance {
  registry: SmartRegistry;
  /** A request through `handleRequest`; headers given are sent as they are (no credentials added). */
  call: TCall;
}

export interface ICluster {
  instances: IClusterInstance[];
  /** The `Authorization` value each protocol's client sends for the administrator. */
  credentials: Record<TRegistryProtocol, string>;
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** Every protocol at `/<protocol>` (OCI also at `/v2/`), the way `smartregistry serve` mounts them. */
export function clusterConfig(storage: IStorageConfig): IRegistryConfig {
  const config: IRegistryConfig = {
    storage,
    auth: {
      tokenStore: 'storage',
      users: { [ADMIN.user]: { password: ADMIN.password, scopes: ['*'] } },
      npmTokens: { enabled: true },
      ociTokens: { enabled: true },
      mavenTokens: { enabled: true },
      cargoTokens: { enabled: true },
      composerTokens: { enabled: true },
      pypiTokens: { enabled: true },
      rubygemsTokens: { enabled: true },
    },
    logging: { level: (process.env.SMARTREGISTRY_TEST_LOG as 'error') ?? 'silent' },
  };
  for (const protocol of REGISTRY_PROTOCOLS) config[protocol] = { enabled: true, basePath: `/${protocol}` };
  return config;
}

export { settle } from '../helpers/validationwindow.js';

/** How each client sends a token: npm, maven and composer as Bearer, cargo and gem bare, twine as Basic. */
export function authorizationFor(protocol: TRegistryProtocol, token: string): string {
  switch (protocol) {
    case 'cargo':
    case 'rubygems':
      return token;
    case 'pypi':
      return `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`;
    case 'oci':
      // docker and skopeo log in with a user and password (or a stored token used as one).
      return `Basic ${Buffer.from(`${ADMIN.user}:${token}`).toString('base64')}`;
    default:
      return `Bearer ${token}`;
  }
}

export async function startCluster(storage: IStorageConfig, count = 3): Promise<ICluster> {
  const instances: IClusterInstance[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const registry = new SmartRegistry(clusterConfig(storage));
      await registry.init();
      instances.push({ registry, call: (method, path, options) => sendRequest(registry, method, path, options) });
    }
  } catch (error) {
    await Promise.all(instances.map(({ registry }) => registry.destroy()));
    throw error;
  }
  const auth = instances[0]!.registry.getAuthManager();
  const credentials = {} as Record<TRegistryProtocol, string>;
  for (const protocol of REGISTRY_PROTOCOLS) {
    const token = protocol === 'oci' ? await auth.createToken(ADMIN.user, 'oci', { stored: true }) : await auth.createToken(ADMIN.user, protocol);
    credentials[protocol] = authorizationFor(protocol, token);
  }
  return {
    instances,
    credentials,
    keys: () => storageKeys(instances[0]!.registry),
    async close() {
      await Promise.all(instances.map(({ registry }) => registry.destroy()));
    },
  };
}
