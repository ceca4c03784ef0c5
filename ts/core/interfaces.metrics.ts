import type { TRegistryProtocol } from './interfaces.protocol.js';

export type TUpstreamFetchResult = 'ok' | 'not-found' | 'error' | 'timeout';
export type TUpstreamCacheResult = 'hit' | 'miss' | 'stale';
export type TCircuitState = 'closed' | 'open' | 'half-open';

/**
 * What the upstream proxy reports. Protocols reach it as `deps.metrics.upstream`; it is a no-op when
 * metrics are off, so callers never check. `upstream` is the configured upstream's `id` (bounded by
 * configuration, never a URL or a package name).
 */
export interface IUpstreamMetrics {
  /** One request to an upstream registry and how long it took. */
  fetch(protocol: TRegistryProtocol, upstream: string, result: TUpstreamFetchResult, seconds: number): void;
  /** A lookup in the upstream cache: fresh hit, miss, or a stale entry served. */
  cache(protocol: TRegistryProtocol, result: TUpstreamCacheResult): void;
  /** The circuit breaker of one upstream changed state (or reports it). */
  circuitState(protocol: TRegistryProtocol, upstream: string, state: TCircuitState): void;
}

/** The recorder protocols and core pieces are handed. */
export interface IMetricsRecorder {
  upstream: IUpstreamMetrics;
}

export const NO_METRICS: IMetricsRecorder = {
  upstream: { fetch() {}, cache() {}, circuitState() {} },
};
