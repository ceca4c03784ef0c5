import * as path from 'node:path';
import { REGISTRY_PROTOCOLS, type IRegistryConfig, type IStorageConfig, type IUserConfig, type TRegistryProtocol } from '../core/interfaces.core.js';
import type { ICliOptions } from './args.js';

/** Every protocol is mounted at `/<protocol>`; OCI also answers `/v2/` at the host root. */
export const basePathOf = (protocol: TRegistryProtocol) => `/${protocol}`;

export function storageConfigOf(options: ICliOptions): IStorageConfig {
  if (!options.s3) return { type: 'filesystem', path: path.resolve(options.dataDir) };
  const { endpoint, port, bucketName, accessKey, accessSecret, region, useSsl, allowUnconditionalWrites } = options.s3;
  return { type: 's3', endpoint, port, bucketName, accessKey, accessSecret, region, useSsl, allowUnconditionalWrites };
}

/**
 * The registry `serve` runs: all seven protocols, tokens kept in storage so they survive restarts
 * and are shared by instances on one bucket. `users` carries the admin when it is configured
 * rather than created at run time (see admin.ts).
 */
export function buildRegistryConfig(options: ICliOptions, users: Record<string, IUserConfig> = {}): IRegistryConfig {
  const config: IRegistryConfig = {
    storage: storageConfigOf(options),
    auth: {
      tokenStore: 'storage',
      anonymousRead: options.anonymousRead,
      allowSignup: false,
      users,
      npmTokens: { enabled: true },
      ociTokens: { enabled: true },
      mavenTokens: { enabled: true },
      cargoTokens: { enabled: true },
      composerTokens: { enabled: true },
      pypiTokens: { enabled: true },
      rubygemsTokens: { enabled: true },
    },
    logging: { level: options.logLevel, ...(options.logFormat === 'json' ? { requests: true } : {}) },
    trustProxy: options.trustProxy,
    downloads: { redirect: options.redirectDownloads, publicUrl: options.downloadsPublicUrl },
    web: { enabled: true, basePath: '/' },
    health: { enabled: true },
    // Served by its own listener (metricsserver.ts), never on the main port.
    metrics: { enabled: options.metrics !== undefined, path: false },
    events: {
      ...(options.eventsLog ? { log: options.eventsLog } : {}),
      ...(options.webhook ? { webhooks: [options.webhook] } : {}),
    },
  };
  for (const protocol of REGISTRY_PROTOCOLS) {
    config[protocol] = {
      enabled: true,
      basePath: basePathOf(protocol),
      registryUrl: options.registryUrl ? `${options.registryUrl}${basePathOf(protocol)}` : undefined,
    };
  }
  const garbageCollection = {
    ...(options.gcGraceMs !== undefined ? { gracePeriod: options.gcGraceMs } : {}),
    ...(options.gcIntervalMs !== undefined && options.command === 'serve' ? { interval: options.gcIntervalMs } : {}),
  };
  if (Object.keys(garbageCollection).length > 0) config.oci!.garbageCollection = garbageCollection;
  if (options.retention) config.oci!.retention = options.retention;
  return config;
}

/** What each client is told to use, given the public base URL (no trailing slash). */
export function clientUrls(baseUrl: string): [string, string][] {
  const host = new URL(baseUrl).host;
  return [
    ['npm', `${baseUrl}/npm/`],
    ['oci', host],
    ['maven', `${baseUrl}/maven/`],
    ['cargo', `sparse+${baseUrl}/cargo/`],
    ['composer', `${baseUrl}/composer/`],
    ['pypi', `${baseUrl}/pypi/simple/`],
    ['rubygems', `${baseUrl}/rubygems/`],
  ];
}
