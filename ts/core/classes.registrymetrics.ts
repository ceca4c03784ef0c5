import * as prom from 'prom-client';
import { BoundHistogram } from './classes.boundhistogram.js';
import type { TRegistryProtocol } from './interfaces.core.js';
import type { IMetricsRecorder, IUpstreamMetrics, TCircuitState } from './interfaces.metrics.js';
import type { IRegistryEvent } from './interfaces.operations.js';
import type { IStorageMetrics, TStorageOperation, TStorageResult } from './storage/classes.instrumentedbackend.js';

/** Labels of one finished request. `protocol` is 'none' for paths no protocol serves. */
export interface IRequestObservation {
  protocol: TRegistryProtocol | 'none' | 'web';
  /** The route pattern that matched (`/:scope/:name`), or 'unmatched'. Never the path itself: labels stay bounded. */
  route: string;
  method: string;
  status: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);
/** prom-client's default buckets. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CIRCUIT_STATES: TCircuitState[] = ['closed', 'open', 'half-open'];

/**
 * Every metric the registry exports, in its own prom-client Registry (never the global one, so two
 * registries in one process do not mix). What every request or storage operation records is cheap:
 * its histograms are `BoundHistogram`s with one bound observer per label set, and its byte counts are
 * added up per protocol and handed to prom-client's counters when scraped.
 */
export class RegistryMetrics implements IMetricsRecorder {
  readonly registry = new prom.Registry();
  readonly upstream: IUpstreamMetrics;
  readonly storage: IStorageMetrics;

  private readonly requestDuration = new BoundHistogram(
    'smartregistry_http_request_duration_seconds',
    'Requests by protocol, route pattern, method and status class: time until the response head was ready',
    ['protocol', 'route', 'method', 'status_class'],
    REQUEST_BUCKETS,
    this.registry,
  );
  /** Bytes in and out per protocol since the last scrape. */
  private readonly pendingBytesIn = new Map<string, number>();
  private readonly pendingBytesOut = new Map<string, number>();
  private readonly bytesIn: prom.Counter<'protocol'> = new prom.Counter({
    name: 'smartregistry_http_request_bytes_total',
    help: 'Request body bytes received, by protocol (the declared Content-Length, or the bytes a bridge handed over)',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
    collect: () => addPending(this.bytesIn, this.pendingBytesIn),
  });
  private readonly bytesOut: prom.Counter<'protocol'> = new prom.Counter({
    name: 'smartregistry_http_response_bytes_total',
    help: 'Response body bytes sent, by protocol (the Content-Length of each answer with a body)',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
    collect: () => addPending(this.bytesOut, this.pendingBytesOut),
  });
  private readonly storageDuration = new BoundHistogram(
    'smartregistry_storage_operation_duration_seconds',
    'Storage backend operations by backend, operation and result (ok, conflict: a conditional write lost a race, error)',
    ['backend', 'operation', 'result'],
    STORAGE_BUCKETS,
    this.registry,
  );
  private readonly upstreamDuration = new prom.Histogram({
    name: 'smartregistry_upstream_fetch_duration_seconds',
    help: 'Requests to upstream registries by protocol, upstream id and result',
    labelNames: ['protocol', 'upstream', 'result'] as const,
    registers: [this.registry],
  });
  private readonly upstreamCache = new prom.Counter({
    name: 'smartregistry_upstream_cache_lookups_total',
    help: 'Upstream cache lookups by protocol and result (hit, miss, stale)',
    labelNames: ['protocol', 'result'] as const,
    registers: [this.registry],
  });
  private readonly circuit = new prom.Gauge({
    name: 'smartregistry_upstream_circuit_state',
    help: 'Circuit breaker state per upstream: 1 for the current state, 0 for the others',
    labelNames: ['protocol', 'upstream', 'state'] as const,
    registers: [this.registry],
  });
  private readonly events = new prom.Counter({
    name: 'smartregistry_events_total',
    help: 'Audit events (publishes, deletes, yanks, dist-tag changes, tokens, failed logins, garbage collections) by protocol, action and result',
    labelNames: ['protocol', 'action', 'result'] as const,
    registers: [this.registry],
  });

  private readonly requestObservers = new Map<string, (seconds: number) => void>();
  private readonly storageObservers = new Map<string, (seconds: number) => void>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) prom.collectDefaultMetrics({ register: this.registry });
    this.storage = {
      operation: (backend: string, operation: TStorageOperation, result: TStorageResult, seconds: number) => this.observeStorage(backend, operation, result, seconds),
    };
    this.upstream = {
      fetch: (protocol, upstream, result, seconds) => this.upstreamDuration.labels(protocol, upstream, result).observe(seconds),
      cache: (protocol, result) => this.upstreamCache.labels(protocol, result).inc(),
      circuitState: (protocol, upstream, state) => {
        for (const each of CIRCUIT_STATES) this.circuit.labels(protocol, upstream, each).set(each === state ? 1 : 0);
      },
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  observeRequest(observation: IRequestObservation): void {
    const method = KNOWN_METHODS.has(observation.method) ? observation.method : 'other';
    const statusClass = `${Math.floor(observation.status / 100)}xx`;
    const key = `${observation.protocol} ${observation.route} ${method} ${statusClass}`;
    let observe = this.requestObservers.get(key);
    if (!observe) {
      observe = this.requestDuration.bind(observation.protocol, observation.route, method, statusClass);
      this.requestObservers.set(key, observe);
    }
    observe(observation.seconds);
    if (observation.bytesIn > 0) addTo(this.pendingBytesIn, observation.protocol, observation.bytesIn);
    if (observation.bytesOut > 0) addTo(this.pendingBytesOut, observation.protocol, observation.bytesOut);
  }

  countEvent(event: IRegistryEvent): void {
    this.events.labels(event.protocol, event.action, event.result).inc();
  }

  private observeStorage(backend: string, operation: TStorageOperation, result: TStorageResult, seconds: number): void {
    const key = `${backend} ${operation} ${result}`;
    let observe = this.storageObservers.get(key);
    if (!observe) {
      observe = this.storageDuration.bind(backend, operation, result);
      this.storageObservers.set(key, observe);
    }
    observe(seconds);
  }
}

const addTo = (pending: Map<string, number>, protocol: string, bytes: number) => pending.set(protocol, (pending.get(protocol) ?? 0) + bytes);

/** Hand the bytes added up since the last scrape to the counter. */
function addPending(counter: prom.Counter<'protocol'>, pending: Map<string, number>): void {
  for (const [protocol, bytes] of pending) counter.labels(protocol).inc(bytes);
  pending.clear();
}
