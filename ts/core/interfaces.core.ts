import type { IMavenOptions } from '../maven/interfaces.maven.js';
import type { IOciOptions } from '../oci/interfaces.oci.js';
import type { Readable } from 'node:stream';
import type * as tsclass from '@tsclass/tsclass';
import type { ILogDestination } from '@push.rocks/smartlog/interfaces';
import type { IAuthProvider } from './interfaces.auth.js';
import type { IUpstreamProvider } from '../upstream/interfaces.upstream.js';
import type { IRequestActor, TRegistryProtocol } from './interfaces.protocol.js';
import type { IEventsConfig, IHealthConfig, IMetricsConfig, TRequestLogWriter } from './interfaces.operations.js';

// The protocol names and the actor live in a file of their own, so that the auth and upstream
// interfaces can use them without importing this file (which imports theirs).
export { REGISTRY_PROTOCOLS, type IRequestActor, type TRegistryProtocol } from './interfaces.protocol.js';

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
  /** Reason phrase of the status line, when the protocol's clients print it (twine shows PyPI's). */
  statusText?: string;
  headers: Record<string, string>;
  body?: ReadableStream<Uint8Array>;
}

/** What the adapters (node:http, fetch) need of a registry: one request in, one response out. */
export interface IRequestHandler {
  handleRequest(context: IRequestContext): Promise<IResponse>;
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
  /** Accepted for compatibility with the product description; no protocol reads it. */
  features?: Record<string, boolean>;
  /** Overrides `auth.anonymousRead` for this protocol. */
  anonymousRead?: boolean;
  limits?: IBodyLimits;
  /** Overrides the registry's `downloads` for this protocol's artifacts (unset fields keep the registry's). */
  downloads?: IDownloadsConfig;
}

/**
 * Artifact downloads straight from the object store: an artifact GET (OCI blob, npm tarball, Maven file,
 * crate, wheel or sdist ...) is answered `307 Temporary Redirect` to a presigned GET URL of the S3 bucket,
 * after the same authentication, authorization and `afterGet` hook as a streamed answer. Metadata documents
 * and HEAD requests are always answered by the registry; the filesystem backend always streams.
 */
export interface IDownloadsConfig {
  /** Default false: the registry streams every byte. */
  redirect?: boolean;
  /** Seconds a presigned URL stays valid. Default 300; at most 604800 (S3's limit, 7 days). */
  expiresIn?: number;
  /**
   * Origin clients reach the bucket at (the object store's public endpoint or a CDN in front of it that
   * forwards the Host header), e.g. `https://objects.example.com`. Default: the storage endpoint.
   */
  publicUrl?: string;
  /** Clock the URLs are signed at (tests). */
  now?: () => Date;
}

/** The web page for people (browse, search, package pages), served by the registry itself. */
export interface IWebConfig {
  enabled: boolean;
  /** Where the page lives; `/` (the host root) catches every path no protocol answers. */
  basePath: string;
}

export interface IFilesystemStorageConfig {
  type: 'filesystem';
  path: string;
}

export interface IS3StorageConfig extends tsclass.storage.IS3Descriptor {
  type?: 's3';
  bucketName: string;
  /**
   * Start even though the S3 server ignores conditional writes (If-Match / If-None-Match on PutObject), which
   * `init()` probes for. Single instance only: this process then checks the conditions itself, which cannot
   * protect against other instances writing to the same bucket. Default false: such a server is refused.
   */
  allowUnconditionalWrites?: boolean;
}

export type IStorageConfig = IS3StorageConfig | IFilesystemStorageConfig;

export interface IUserConfig {
  password?: string;
  passwordHash?: string;
  /** Required: what the user may do (`['*']` for everything). A user without scopes is a configuration error. */
  scopes: string[];
}

export interface IAuthConfig {
  /**
   * HS256 secret for OCI JWTs, at least 32 bytes. Without it one is kept in storage (tokenStore
   * 'storage') or made per process.
   */
  jwtSecret?: string;
  tokenStore?: 'memory' | 'storage';
  /** Reads without a token. Default false. */
  anonymousRead?: boolean;
  users?: Record<string, IUserConfig>;
  /** Allow clients (npm adduser, the npm web login page) to create users. Default false. */
  allowSignup?: boolean;
  /**
   * Scopes a signed-up user gets. Default none: a signed-up user may do what an anonymous client may
   * (reads when `anonymousRead` is on) and sign in. `{username}` is replaced by the user's name,
   * e.g. `npm:package:@{username}/*:write` lets each user publish under their own npm scope.
   */
  signupScopes?: string[];
  /**
   * Back-off for failed password logins per user name and client address (`actor.ip`, when the
   * bridge sets it): after `freeFailures` (default 5) each failure doubles a wait from 1 s up to
   * `maxDelaySeconds` (default 300), during which logins are refused with 429 before any hashing.
   */
  loginThrottle?: { freeFailures?: number; maxDelaySeconds?: number };
  npmTokens?: { enabled: boolean; defaultReadOnly?: boolean };
  ociTokens?: {
    enabled: boolean;
    realm?: string;
    /**
     * The service named in challenges and carried in each JWT's `aud`; a JWT for another service is
     * refused. Default: the host of `oci.registryUrl`, else `smartregistry` (then challenges name the
     * request's host). Deployments sharing a `jwtSecret` must differ here.
     */
    service?: string;
    /** The JWT's `iss`, checked too. Default: the origin of `oci.registryUrl`, else `smartregistry`. */
    issuer?: string;
    expiresIn?: number;
  };
  mavenTokens?: { enabled: boolean };
  cargoTokens?: { enabled: boolean };
  composerTokens?: { enabled: boolean };
  pypiTokens?: { enabled: boolean };
  rubygemsTokens?: { enabled: boolean };
}

/** Who a storage operation is for: drives the hooks. Protocol 'core' (auth records) runs no hooks. */
export interface IStorageOperationContext {
  protocol: TRegistryProtocol | 'core';
  actor?: IRequestActor;
  metadata?: IStorageHookContext['metadata'];
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
  /** Lowest level written. Default 'info'. */
  level?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Print to the console. Default true. */
  console?: boolean;
  /**
   * smartlog destinations that receive every entry as well (a file, a log server, a buffer in tests).
   * The entry's `message` carries the error details; `data.error` has them as structure.
   */
  destinations?: ILogDestination[];
  /**
   * One entry per request (method, path, route, status, duration, bytes, user, address, request id), and an
   * `X-Request-Id` header on every answer. `true` writes each as a JSON line to stdout; a function gets the
   * entries instead. Default off.
   */
  requests?: boolean | TRequestLogWriter;
}

/** How the registry keeps what it read from storage in memory. */
export interface ICacheConfig {
  /**
   * A stored document checked less than this long ago is served without asking storage again
   * (milliseconds, default 1000; 0 checks on every read). Writes through this instance are seen at
   * once; writes by other instances on the same storage within this window.
   */
  validationWindowMs?: number;
  /**
   * Bytes all in-memory caches keep together — parsed and rendered documents of every protocol, the
   * search index shards, documents remembered for the next update (default 64 MiB). Past it the
   * least recently used entry of any cache goes; whatever goes is read from storage again.
   */
  memoryBytes?: number;
}

export interface IRegistryConfig {
  storage: IStorageConfig;
  /** In-memory caching of stored documents. */
  cache?: ICacheConfig;
  auth: IAuthConfig;
  authProvider?: IAuthProvider;
  storageHooks?: IStorageHooks;
  upstreamProvider?: IUpstreamProvider;
  limits?: IBodyLimits;
  logging?: ILoggingConfig;
  /**
   * A proxy in front sets `X-Forwarded-Proto`, `-Host` and `-Prefix`, and links in answers follow
   * them. Default false: links come from each protocol's `registryUrl`, else the request's `Host`
   * (over http). Turn on only when every request passes through a proxy that overwrites these headers.
   */
  trustProxy?: boolean;
  /** Presigned redirects for artifact downloads, for every protocol (each may override it). */
  downloads?: IDownloadsConfig;
  /** Prometheus metrics (off by default). */
  metrics?: IMetricsConfig;
  /** `/-/health/live` and `/-/health/ready` (off by default). */
  health?: IHealthConfig;
  /** Audit events' JSON-lines log and webhooks (`registry.on('event', …)` needs no configuration). */
  events?: IEventsConfig;
  oci?: IProtocolConfig & IOciOptions;
  npm?: IProtocolConfig;
  maven?: IProtocolConfig & IMavenOptions;
  cargo?: IProtocolConfig;
  composer?: IProtocolConfig;
  pypi?: IProtocolConfig;
  rubygems?: IProtocolConfig;
  web?: IWebConfig;
}
