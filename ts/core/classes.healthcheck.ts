import * as crypto from 'node:crypto';
import type { Logger } from './classes.logger.js';
import { corePaths } from './storage.paths.js';
import { probeConditionalWrites } from './storage/helpers.conditionalwrites.js';
import type { IStorageBackend } from './storage/interfaces.storage.js';

export interface IReadiness {
  ready: boolean;
  checks: {
    initialized: boolean;
    /** Storage answered a request in time. */
    storage: boolean;
    /** Storage refused a write whose If-None-Match / If-Match did not hold (checked at most every few minutes). */
    conditionalWrites: boolean;
  };
  /** Why not ready, for a person reading the probe's answer (the details, which name hosts, are logged). */
  reason?: string;
}

export interface IHealthCheckOptions {
  /** Longest one readiness check waits for storage. */
  storageTimeoutMs: number;
  /** How long a passed conditional-write probe is trusted (each probe writes three objects). */
  conditionalWriteIntervalMs?: number;
  now?: () => number;
}

const DEFAULT_CONDITIONAL_WRITE_INTERVAL_MS = 5 * 60_000;

class StorageTimeout extends Error {}

/**
 * Readiness of one registry: initialised, storage reachable (a stat, every check) and conditional writes
 * honoured (the start-up probe again, at most every few minutes and after storage came back). Checks that
 * arrive while one runs share it, so a busy load balancer costs one storage request at a time.
 */
export class HealthCheck {
  private running?: Promise<IReadiness>;
  private conditionalWritesCheckedAt?: number;
  private readonly now: () => number;

  constructor(
    private readonly backend: () => IStorageBackend | undefined,
    private readonly initialized: () => boolean,
    private readonly options: IHealthCheckOptions,
    private readonly logger?: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  ready(): Promise<IReadiness> {
    this.running ??= this.check().finally(() => (this.running = undefined));
    return this.running;
  }

  private async check(): Promise<IReadiness> {
    const backend = this.backend();
    if (!this.initialized() || !backend) {
      return { ready: false, checks: { initialized: false, storage: false, conditionalWrites: false }, reason: 'not initialized' };
    }
    try {
      await this.withinTimeout(backend.stat(corePaths.readinessProbe()));
    } catch (error) {
      this.conditionalWritesCheckedAt = undefined;
      return { ready: false, checks: { initialized: true, storage: false, conditionalWrites: false }, reason: this.unreachable(error) };
    }
    const interval = this.options.conditionalWriteIntervalMs ?? DEFAULT_CONDITIONAL_WRITE_INTERVAL_MS;
    if (this.conditionalWritesCheckedAt === undefined || this.now() - this.conditionalWritesCheckedAt >= interval) {
      let ignored: string | undefined;
      try {
        ignored = await this.withinTimeout(probeConditionalWrites(backend, corePaths.conditionalWriteProbe(crypto.randomUUID())));
      } catch (error) {
        return { ready: false, checks: { initialized: true, storage: false, conditionalWrites: false }, reason: this.unreachable(error) };
      }
      if (ignored) {
        return { ready: false, checks: { initialized: true, storage: true, conditionalWrites: false }, reason: `conditional writes ignored: ${ignored}` };
      }
      this.conditionalWritesCheckedAt = this.now();
    }
    return { ready: true, checks: { initialized: true, storage: true, conditionalWrites: true } };
  }

  private withinTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageTimeout(`no answer within ${this.options.storageTimeoutMs} ms`)), this.options.storageTimeoutMs);
    });
    // The late answer of a timed-out request is dropped, its failure too.
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private unreachable(error: unknown): string {
    this.logger?.warn('readiness: storage did not answer', error);
    return error instanceof StorageTimeout ? `storage: ${error.message}` : 'storage: request failed (details in the log)';
  }
}
