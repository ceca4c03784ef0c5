import type { TRegistryProtocol, IRequestActor } from '../core/interfaces.protocol.js';

export interface IUpstreamScopeRule {
  /** Glob over package names, e.g. `@company/*`. */
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
  id: string;
  url: string;
  priority: number;
  enabled: boolean;
  scopeRules?: IUpstreamScopeRule[];
  auth?: IUpstreamAuth;
}

export interface IUpstreamCacheConfig {
  enabled: boolean;
  staleWhileRevalidate?: boolean;
  /** Seconds metadata stays fresh. */
  metadataTtl?: number;
}

export interface IProtocolUpstreamConfig {
  enabled: boolean;
  upstreams: IUpstreamRegistryConfig[];
  cache?: IUpstreamCacheConfig;
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
