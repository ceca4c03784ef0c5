import type { TRegistryProtocol, IRequestActor } from '../core/interfaces.protocol.js';

export interface IUpstreamScopeRule {
  /**
   * Glob over package names, in the dialect of auth scopes (core/helpers.scope.ts): `*` matches any run of
   * characters, `/` included (`@company/*`, `library/*`); everything else is literal.
   */
  pattern: string;
  action: 'include' | 'exclude';
}

export interface IUpstreamAuth {
  type: 'none' | 'basic' | 'bearer';
  username?: string;
  password?: string;
  token?: string;
}

export interface IUpstreamRegistryConfig {
  /** Names this upstream in logs and in the cache's storage keys: letters, digits, `.`, `_`, `-`. */
  id: string;
  /** Base URL of the upstream's protocol endpoint (npm: the registry root; OCI: the host, `/v2` is added). */
  url: string;
  /** Lower is tried first. */
  priority: number;
  enabled: boolean;
  /**
   * Which names this upstream is asked for: with include rules, only names matching one; a name matching
   * an exclude rule never. No rules: every name.
   */
  scopeRules?: IUpstreamScopeRule[];
  auth?: IUpstreamAuth;
  /** OCI: repository names without a `/` are asked for below this namespace (Docker Hub's `library`). */
  ociDefaultNamespace?: string;
}

export interface IUpstreamCacheConfig {
  enabled: boolean;
  /** Serve stale metadata at once and refresh it in the background. Default true. */
  staleWhileRevalidate?: boolean;
  /** Seconds metadata (packuments, tags, index files) stays fresh. Default 300. */
  metadataTtl?: number;
  /** Seconds a "not found" from an upstream is remembered. Default 60. */
  negativeTtl?: number;
  /** Cached artifacts nobody read for this many days are removed by the cleanup. Default: kept. */
  unusedArtifactDays?: number;
}

export interface IUpstreamResilienceConfig {
  /** Milliseconds for headers and a metadata body; for an artifact, the longest pause between bytes. Default 30000. */
  timeoutMs?: number;
  /** Extra attempts of an idempotent request after a connection error or a 5xx. Default 2. */
  retries?: number;
  /** First back-off in milliseconds, doubled per retry. Default 200. */
  retryBaseMs?: number;
  /** Consecutive failures that open an upstream's circuit. Default 5. */
  failureThreshold?: number;
  /** Milliseconds an open circuit waits before one probe request (half-open). Default 30000. */
  resetTimeoutMs?: number;
}

export interface IProtocolUpstreamConfig {
  enabled: boolean;
  upstreams: IUpstreamRegistryConfig[];
  /** Default: cache on, with the defaults above. `{ enabled: false }` fetches every time. */
  cache?: IUpstreamCacheConfig;
  resilience?: IUpstreamResilienceConfig;
}

export interface IUpstreamResolutionContext {
  protocol: TRegistryProtocol;
  /** Package, image or artifact name the request is about. */
  resource: string;
  method: string;
  actor?: IRequestActor;
}

/** Decides, per request, which upstream registries a protocol may fall back to. */
export interface IUpstreamProvider {
  resolveUpstreamConfig(ctx: IUpstreamResolutionContext): Promise<IProtocolUpstreamConfig | null>;
}

/** Where a proxied answer came from (`X-Cache`). */
export type TCacheStatus = 'HIT' | 'MISS' | 'STALE';
