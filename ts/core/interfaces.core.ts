import type { Readable } from 'node:stream';
import type * as tsclass from '@tsclass/tsclass';
import type { IAuthProvider } from './interfaces.auth.js';
import type { IUpstreamProvider } from '../upstream/interfaces.upstream.js';

/** The seven ecosystems this registry speaks. */
export type TRegistryProtocol = 'oci' | 'npm' | 'maven' | 'cargo' | 'composer' | 'pypi' | 'rubygems';

export const REGISTRY_PROTOCOLS: readonly TRegistryProtocol[] = [
  'oci',
  'npm',
  'maven',
  'cargo',
  'composer',
  'pypi',
  'rubygems',
];

/** Who is acting, passed through to hooks for audit and quota. */
export interface IRequestActor {
  userId?: string;
  tokenId?: string;
  ip?: string;
  userAgent?: string;
  orgId?: string;
  sessionId?: string;
  [key: string]: unknown;
}

/** Anything a bridge may hand us as a request body. */
export type TRequestBody =
  | ReadableStream<Uint8Array>
  | Readable
  | Uint8Array
  | string
  | Record<string, unknown>
  | unknown[]
  | null
  | undefined;

export interface IRequestContext {
  method: string;
  /** Path as received, still percent-encoded (npm's `@scope%2fname` must survive). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string | string[] | undefined>;
  body?: TRequestBody;
  /** Exact request bytes when a bridge parsed `body` already; preferred for digests. */
  rawBody?: Uint8Array;
  actor?: IRequestActor;
}

export interface IResponse {
  status: number;
  headers: Record<string, string>;
  body?: ReadableStream<Uint8Array>;
}

/** Body sizes the registry accepts, in bytes. */
export interface IBodyLimits {
  /** Artifacts: blobs, tarballs, crates, wheels, gems, jars. Default 8 GiB. */
  maxArtifactBytes?: number;
  /** Metadata documents: JSON, XML, forms without files. Default 64 MiB. */
  maxMetadataBytes?: number;
}

export interface IProtocolConfig {
  enabled: boolean;
  basePath: string;
  /** Public base URL of this protocol (used in generated links), e.g. https://registry.example.com/npm */
  registryUrl?: string;
  features?: Record<string, boolean>;
  /** Overrides `auth.anonymousRead` for this protocol. */
  anonymousRead?: boolean;
  limits?: IBodyLimits;
}

export interface IFilesystemStorageConfig {
  type: 'filesystem';
  path: string;
}

export interface IS3StorageConfig extends tsclass.storage.IS3Descriptor {
  type?: 's3';
  bucketName: string;
}

export type IStorageConfig = IS3StorageConfig | IFilesystemStorageConfig;

export interface IUserConfig {
  password?: string;
  passwordHash?: string;
  scopes?: string[];
}

export interface IAuthConfig {
  /** HS256 secret for OCI JWTs. Without it one is kept in storage (tokenStore 'storage') or made per process. */
  jwtSecret?: string;
  tokenStore?: 'memory' | 'storage';
  /** Reads without a token. Default false. */
  anonymousRead?: boolean;
  users?: Record<string, IUserConfig>;
  /** Allow clients (npm adduser) to create users. Default false. */
  allowSignup?: boolean;
  npmTokens?: { enabled: boolean; defaultReadOnly?: boolean };
  ociTokens?: { enabled: boolean; realm?: string; service?: string; expiresIn?: number };
  mavenTokens?: { enabled: boolean };
  cargoTokens?: { enabled: boolean };
  composerTokens?: { enabled: boolean };
  pypiTokens?: { enabled: boolean };
  rubygemsTokens?: { enabled: boolean };
}

export interface IStorageHookContext {
  protocol: TRegistryProtocol | 'core';
  operation: 'put' | 'get' | 'delete';
  key: string;
  metadata?: {
    size?: number;
    digest?: string;
    contentType?: string;
    packageName?: string;
    version?: string;
    [key: string]: unknown;
  };
  actor?: IRequestActor;
  timestamp: Date;
}

export interface IStorageHookResult {
  allowed: boolean;
  reason?: string;
  /** 'quota' answers 413; anything else 403. A reason mentioning "quota" counts as 'quota'. */
  code?: 'denied' | 'quota';
}

export interface IStorageHooks {
  beforePut?(ctx: IStorageHookContext): Promise<IStorageHookResult | void> | IStorageHookResult | void;
  afterPut?(ctx: IStorageHookContext): Promise<void> | void;
  afterGet?(ctx: IStorageHookContext): Promise<void> | void;
  beforeDelete?(ctx: IStorageHookContext): Promise<IStorageHookResult | void> | IStorageHookResult | void;
  afterDelete?(ctx: IStorageHookContext): Promise<void> | void;
}

export interface ILoggingConfig {
  /** Lowest level printed. Default 'info'. */
  level?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

export interface IRegistryConfig {
  storage: IStorageConfig;
  auth: IAuthConfig;
  authProvider?: IAuthProvider;
  storageHooks?: IStorageHooks;
  upstreamProvider?: IUpstreamProvider;
  limits?: IBodyLimits;
  logging?: ILoggingConfig;
  oci?: IProtocolConfig;
  npm?: IProtocolConfig;
  maven?: IProtocolConfig;
  cargo?: IProtocolConfig;
  composer?: IProtocolConfig;
  pypi?: IProtocolConfig;
  rubygems?: IProtocolConfig;
}
