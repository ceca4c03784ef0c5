import { REGISTRY_PROTOCOLS, type IBodyLimits, type IRegistryConfig, type TRegistryProtocol } from './interfaces.core.js';
import type { IResolvedLimits } from './classes.requestbody.js';
import { assertDownloadsConfig } from './helpers.downloads.js';

const KNOWN_KEYS = new Set<string>([
  'storage',
  'cache',
  'auth',
  'authProvider',
  'storageHooks',
  'upstreamProvider',
  'limits',
  'logging',
  'trustProxy',
  'downloads',
  'web',
  'metrics',
  'health',
  'events',
  ...REGISTRY_PROTOCOLS,
]);

export const DEFAULT_LIMITS: IResolvedLimits = {
  maxArtifactBytes: 8 * 1024 ** 3,
  maxMetadataBytes: 64 * 1024 ** 2,
};

/** `cache.memoryBytes` when not configured: the bounded caches' one budget. */
export const DEFAULT_CACHE_MEMORY_BYTES = 64 * 1024 ** 2;

/** `cache.validationWindowMs` when not configured. */
export const DEFAULT_VALIDATION_WINDOW_MS = 1000;

/** The limits in force: defaults, then the registry's, then the protocol's (unset values do not count). */
export function resolveLimits(...layers: (IBodyLimits | undefined)[]): IResolvedLimits {
  const resolved = { ...DEFAULT_LIMITS };
  for (const layer of layers) {
    for (const name of ['maxArtifactBytes', 'maxMetadataBytes'] as const) {
      const limit = layer?.[name];
      if (limit !== undefined) resolved[name] = limit;
    }
  }
  return resolved;
}

/** Default `iss` and `aud` of OCI JWTs: this deployment's OCI URL, so tokens of another deployment are refused. */
export function ociTokenIdentity(config: IRegistryConfig): { issuer: string; audience: string } | undefined {
  const registryUrl = config.oci?.registryUrl;
  if (!registryUrl) return undefined;
  const url = new URL(registryUrl);
  return { issuer: url.origin, audience: url.host };
}

/** `/npm/` → `/npm`, `npm` → `/npm`, `/` and `` → `` (the host root). */
export function normalizeBasePath(basePath: string): string {
  const trimmed = basePath.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const isSegmentPrefix = (prefix: string, path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Throws an Error that says exactly what is wrong with the configuration. */
export function validateRegistryConfig(config: IRegistryConfig): void {
  if (!config || typeof config !== 'object') throw new Error('smartregistry: configuration object is required');
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new Error(
        `smartregistry: unknown configuration key or protocol '${key}' (protocols: ${REGISTRY_PROTOCOLS.join(', ')})`,
      );
    }
  }
  if (!config.storage) throw new Error('smartregistry: `storage` is missing (an S3 descriptor with bucketName, or { type: "filesystem", path })');
  if ('type' in config.storage && config.storage.type === 'filesystem') {
    if (!config.storage.path) throw new Error('smartregistry: filesystem storage needs `path`');
  } else {
    const s3 = config.storage as { endpoint?: string; bucketName?: string; accessKey?: string; accessSecret?: string };
    for (const field of ['endpoint', 'bucketName', 'accessKey', 'accessSecret'] as const) {
      if (!s3[field]) throw new Error(`smartregistry: S3 storage needs \`${field}\``);
    }
  }
  if (!config.auth) throw new Error('smartregistry: `auth` is missing (at least `{ tokenStore: "memory" }`)');
  if (config.auth.tokenStore && !['memory', 'storage'].includes(config.auth.tokenStore)) {
    throw new Error(`smartregistry: auth.tokenStore must be 'memory' or 'storage', not '${config.auth.tokenStore}'`);
  }

  const mounted: { protocol: TRegistryProtocol; basePath: string }[] = [];
  for (const protocol of REGISTRY_PROTOCOLS) {
    const protocolConfig = config[protocol];
    if (!protocolConfig?.enabled) continue;
    if (typeof protocolConfig.basePath !== 'string') {
      throw new Error(`smartregistry: ${protocol}.basePath must be a string such as '/${protocol}'`);
    }
    if (protocolConfig.registryUrl !== undefined && !isHttpUrl(protocolConfig.registryUrl)) {
      throw new Error(`smartregistry: ${protocol}.registryUrl must be an absolute http(s) URL, not '${protocolConfig.registryUrl}'`);
    }
    const basePath = plainBasePath(protocol, protocolConfig.basePath);
    for (const other of mounted) {
      if (other.basePath === basePath) {
        throw new Error(`smartregistry: ${protocol} and ${other.protocol} share the basePath '${basePath || '/'}'`);
      }
      // A protocol at the host root is a catch-all; nested non-root mounts would shadow each other.
      if (basePath !== '' && other.basePath !== '' && (isSegmentPrefix(basePath, other.basePath) || isSegmentPrefix(other.basePath, basePath))) {
        throw new Error(
          `smartregistry: basePaths of ${protocol} ('${basePath}') and ${other.protocol} ('${other.basePath}') overlap`,
        );
      }
    }
    mounted.push({ protocol, basePath });
  }
  if (config.web?.enabled) {
    if (typeof config.web.basePath !== 'string') throw new Error("smartregistry: web.basePath must be a string such as '/'");
    const basePath = plainBasePath('web', config.web.basePath);
    const same = mounted.find((other) => other.basePath === basePath);
    if (same) throw new Error(`smartregistry: web and ${same.protocol} share the basePath '${basePath || '/'}'`);
  }
  if (config.trustProxy !== undefined && typeof config.trustProxy !== 'boolean') {
    throw new Error('smartregistry: trustProxy must be true or false');
  }
  assertCache(config.cache);
  assertEvents(config.events);
  assertLimits('limits', config.limits);
  for (const protocol of REGISTRY_PROTOCOLS) assertLimits(`${protocol}.limits`, config[protocol]?.limits);
  assertDownloadsConfig('downloads', config.downloads);
  for (const protocol of REGISTRY_PROTOCOLS) assertDownloadsConfig(`${protocol}.downloads`, config[protocol]?.downloads);
}

/** The normalised basePath, refused unless it is a plain path (no query, escapes, blanks or relative segments). */
function plainBasePath(where: string, raw: string): string {
  const basePath = normalizeBasePath(raw);
  if (/[?#%\\\s]/.test(basePath) || basePath.split('/').some((s) => s === '..' || s === '.')) {
    throw new Error(`smartregistry: ${where}.basePath '${raw}' is not a plain path`);
  }
  return basePath;
}

function assertLimits(where: string, limits: IBodyLimits | undefined): void {
  for (const [name, limit] of Object.entries(limits ?? {})) {
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
      throw new Error(`smartregistry: ${where}.${name} must be a positive integer of bytes`);
    }
  }
}

function assertCache(cache: IRegistryConfig['cache']): void {
  if (cache === undefined) return;
  const window = cache.validationWindowMs;
  if (window !== undefined && !(Number.isSafeInteger(window) && window >= 0)) {
    throw new Error('smartregistry: cache.validationWindowMs must be a whole number of milliseconds, 0 or more');
  }
  const memory = cache.memoryBytes;
  if (memory !== undefined && !(Number.isSafeInteger(memory) && memory >= 0)) {
    throw new Error('smartregistry: cache.memoryBytes must be a whole number of bytes, 0 or more');
  }
}

function assertEvents(events: IRegistryConfig['events']): void {
  if (events === undefined) return;
  if (events.log !== undefined && (typeof events.log !== 'string' || events.log === '')) {
    throw new Error('smartregistry: events.log must be the path of a file');
  }
  for (const [index, webhook] of (events.webhooks ?? []).entries()) {
    if (!isHttpUrl(webhook?.url)) throw new Error(`smartregistry: events.webhooks[${index}].url must be an absolute http(s) URL`);
    if (typeof webhook.secret !== 'string' || webhook.secret.length < 16) {
      throw new Error(`smartregistry: events.webhooks[${index}].secret must be a string of at least 16 characters (the HMAC key)`);
    }
  }
}
