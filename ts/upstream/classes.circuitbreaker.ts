export type TCircuitState = 'closed' | 'open' | 'half-open';

export interface ICircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** Milliseconds the circuit stays open before one probe is let through. */
  resetTimeoutMs: number;
  now: () => number;
}

/**
 * One upstream's circuit: closed while it answers; open after `failureThreshold` failures in a row
 * (requests skip it at once); after `resetTimeoutMs`, half-open: one probe request goes through, and
 * its outcome closes the circuit again or reopens it for another period.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private opened = false;

  constructor(private readonly options: ICircuitBreakerOptions) {}

  get state(): TCircuitState {
    if (!this.opened) return 'closed';
    return this.options.now() - this.openedAt >= this.options.resetTimeoutMs ? 'half-open' : 'open';
  }

  /** May a request go to the upstream now? In half-open state only the first caller (the probe) may. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.opened = false;
    this.probing = false;
  }

  /** The call ended without saying anything about the upstream (our client went away): a probe may go again. */
  release(): void {
    this.probing = false;
  }

  recordFailure(): void {
    this.failures += 1;
    if (this.opened || this.failures >= this.options.failureThreshold) {
      this.opened = true;
      this.openedAt = this.options.now();
    }
    this.probing = false;
  }
}
