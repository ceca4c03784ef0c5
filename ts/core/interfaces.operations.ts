import type { TRegistryProtocol } from './interfaces.protocol.js';

/** Prometheus metrics (prom-client), off unless enabled. */
export interface IMetricsConfig {
  enabled: boolean;
  /**
   * Path at the host root that answers the Prometheus text format. Default `/-/metrics`; `false` serves
   * nothing over HTTP (scrape in code with `registry.getMetrics().scrape()`).
   */
  path?: string | false;
  /**
   * A token (any protocol's, as `Authorization: Bearer` or Basic) whose scopes grant this resource and
   * action is needed to scrape, e.g. `registry:metrics:*:read`. Unset: anyone who reaches the path may;
   * then protect it by where it listens (serve's `--metrics-port`).
   */
  scope?: string;
  /** Node process metrics too (CPU, memory, event loop lag, GC, handles). Default true. */
  processMetrics?: boolean;
}

/** `/-/health/live` and `/-/health/ready`, unauthenticated, off unless enabled. */
export interface IHealthConfig {
  enabled: boolean;
  /** Prefix of `live` and `ready`. Default `/-/health`. */
  path?: string;
  /** Longest a readiness check may wait for storage before answering not ready. Default 2000 ms. */
  storageTimeoutMs?: number;
}

/** Where audit events go besides `registry.on('event', …)`. */
export interface IEventsConfig {
  /** Append each event as one JSON line to this file. */
  log?: string;
  webhooks?: IWebhookConfig[];
}

export interface IWebhookConfig {
  url: string;
  /** HMAC-SHA256 key; the body's signature is sent as `X-Smartregistry-Signature: sha256=<hex>`. */
  secret: string;
  /** Only these actions (default all). */
  actions?: TEventAction[];
  /** Deliveries tried before an event is dropped (logged). Default 6. */
  maxAttempts?: number;
  /** Wait before the first retry, doubled for each further one. Default 1000 ms. */
  initialDelayMs?: number;
  /** Longest wait between two attempts. Default 60000 ms. */
  maxDelayMs?: number;
  /** One attempt's time limit. Default 10000 ms. */
  timeoutMs?: number;
  /** Events waiting for this webhook beyond this many are dropped (logged), oldest first. Default 10000. */
  maxQueued?: number;
}

export type TEventAction =
  | 'publish'
  | 'delete'
  | 'yank'
  | 'unyank'
  | 'dist-tag.set'
  | 'dist-tag.remove'
  | 'owner.add'
  | 'owner.remove'
  | 'token.create'
  | 'token.revoke'
  | 'login.failure'
  /** An OCI garbage collection ran (not for dry runs); what it deleted is in `delete` events without an actor. */
  | 'gc';

/** `denied`: the caller lacked the permission (403); `failure`: anything else that did not succeed. */
export type TEventResult = 'success' | 'failure' | 'denied';

/** One audited action: what `registry.on('event')`, the JSON-lines log and webhooks receive. */
export interface IRegistryEvent {
  /** Unique per event: receivers de-duplicate retried deliveries by it. */
  id: string;
  /** ISO 8601. */
  time: string;
  /** 'core' for what application code did outside any protocol (a token revoked in code by its id). */
  protocol: TRegistryProtocol | 'core';
  action: TEventAction;
  /**
   * What was acted on: the package, image, crate, project or artifact name (`@scope/pkg`, `library/nginx`,
   * `com/example/lib/1.0/lib-1.0.jar`); for tokens, the token's id; for a failed login, the user name tried.
   * Null when the request failed before naming it.
   */
  resource: string | null;
  /** A version, tag, digest or reference, when the action has one. */
  version?: string;
  /** Whom the action concerned besides the resource: the users an owner change added or removed. */
  subjects?: string[];
  /** Who acted, when known. */
  actor: { userId?: string; tokenId?: string } | null;
  ip?: string;
  result: TEventResult;
  /** The HTTP status answered, for actions that were requests. */
  status?: number;
}

/** The part of an event a protocol route names: the rest comes from the request. */
export interface IEventTarget {
  action: TEventAction;
  resource: string | null;
  version?: string;
  subjects?: string[];
}

/** Where an action done through AuthManager came from, when a protocol knows (for its audit event). */
export interface IEventOrigin {
  protocol?: TRegistryProtocol;
  ip?: string;
}

/** One answered request, as the request log writes it. */
export interface IRequestLogEntry {
  /** ISO 8601, when the answer was ready. */
  time: string;
  /** Also answered as the `X-Request-Id` header: the client's own, when it sent a plain one, else new. */
  requestId: string;
  method: string;
  /** Without the query string, which may carry secrets (npm's login `secret`). */
  path: string;
  protocol: string;
  /** The route pattern that matched, or 'unmatched'. */
  route: string;
  status: number;
  /** Until the response head was ready, in milliseconds. */
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  userId?: string;
  ip?: string;
}

export type TRequestLogWriter = (entry: IRequestLogEntry) => void;
