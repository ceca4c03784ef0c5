import { RegistryError } from './classes.registryerror.js';

export interface ILoginThrottleOptions {
  /** Failed logins a user name (or client address) may have before waiting is required. Default 5. */
  freeFailures?: number;
  /** The longest wait, in seconds; each further failure doubles it from 1 s up to this. Default 300. */
  maxDelaySeconds?: number;
  /** Names and addresses remembered at most; the oldest are forgotten first. Default 10,000. */
  maxEntries?: number;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
}

interface IFailures {
  count: number;
  blockedUntil: number;
  lastFailure: number;
}

/**
 * Back-off for failed password logins, per user name and per client address. Past the free failures
 * a login is refused with 429 and Retry-After until the wait is over, before any password is hashed,
 * so guessing costs the server nothing. A success clears its user name's record. Kept per process.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, IFailures>();
  private readonly freeFailures: number;
  private readonly maxDelayMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ILoginThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.maxDelayMs = (options.maxDelaySeconds ?? 300) * 1000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    for (const [name, value] of [['freeFailures', this.freeFailures], ['maxDelaySeconds', this.maxDelayMs], ['maxEntries', this.maxEntries]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`auth.loginThrottle.${name} must be a positive whole number`);
    }
  }

  /** Throws 429 when any of `keys` must still wait. */
  check(keys: readonly string[]): void {
    const now = this.now();
    const until = Math.max(0, ...keys.map((key) => this.current(key, now)?.blockedUntil ?? 0));
    if (until > now) {
      const seconds = Math.ceil((until - now) / 1000);
      throw new RegistryError('too-many-requests', `too many failed logins; try again in ${seconds} s`, {
        headers: { 'Retry-After': String(seconds) },
      });
    }
  }

  fail(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) {
      const entry = this.current(key, now) ?? { count: 0, blockedUntil: 0, lastFailure: now };
      entry.count++;
      entry.lastFailure = now;
      const beyond = entry.count - this.freeFailures;
      if (beyond > 0) entry.blockedUntil = now + Math.min(this.maxDelayMs, 1000 * 2 ** Math.min(beyond - 1, 30));
      // Re-inserted so the Map's order stays oldest-first for eviction.
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, entry);
    }
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  /** The record of `key`, unless it is quiet long enough to be forgotten. */
  private current(key: string, now: number): IFailures | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.lastFailure > 2 * this.maxDelayMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
