import * as crypto from 'node:crypto';
import type { Logger } from './classes.logger.js';
import type { IEventSink } from './classes.registryevents.js';
import type { IRegistryEvent, IWebhookConfig, TEventAction } from './interfaces.operations.js';

/** Runs `work` after `ms`; returns a function that cancels it. Tests hand in their own clock. */
export type TScheduler = (work: () => void, ms: number) => () => void;

export interface IWebhookDeliveryOptions {
  schedule?: TScheduler;
  /** Deliveries of one webhook in flight at once. Default 4. */
  concurrency?: number;
}

interface IPending {
  event: IRegistryEvent;
  body: string;
  attempt: number;
}

const DEFAULTS = { maxAttempts: 6, initialDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 10_000, maxQueued: 10_000 };

const timerScheduler: TScheduler = (work, ms) => {
  const timer = setTimeout(work, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/** `sha256=<hex>` of HMAC-SHA256 over the exact body: what a receiver recomputes with the shared secret. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivers events to one webhook: POST of the event as JSON, signed, retried with exponential backoff
 * (any answer but 2xx, a network error or a timeout), all in the background. The queue is bounded;
 * what cannot be delivered in `maxAttempts`, or does not fit, is dropped and logged.
 */
export class WebhookDelivery implements IEventSink {
  private readonly config: Required<Omit<IWebhookConfig, 'actions'>>;
  private readonly actions?: Set<TEventAction>;
  private readonly schedule: TScheduler;
  private readonly concurrency: number;
  private readonly queue: IPending[] = [];
  private readonly waiting = new Set<() => void>();
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(config: IWebhookConfig, private readonly logger: Logger, options: IWebhookDeliveryOptions = {}) {
    this.config = { ...DEFAULTS, ...stripUndefined(config) } as Required<Omit<IWebhookConfig, 'actions'>>;
    this.actions = config.actions ? new Set(config.actions) : undefined;
    this.schedule = options.schedule ?? timerScheduler;
    this.concurrency = options.concurrency ?? 4;
  }

  deliver(event: IRegistryEvent): void {
    if (this.closed || (this.actions && !this.actions.has(event.action))) return;
    this.enqueue({ event, body: JSON.stringify(event), attempt: 1 });
  }

  async destroy(): Promise<void> {
    this.closed = true;
    for (const cancel of this.waiting) cancel();
    const undelivered = this.queue.length + this.waiting.size + this.inFlight.size;
    for (const controller of this.inFlight) controller.abort();
    this.queue.length = 0;
    this.waiting.clear();
    if (undelivered > 0) this.logger.warn(`webhook ${this.target()}: ${undelivered} events not delivered at shutdown`);
  }

  private enqueue(pending: IPending): void {
    if (this.queue.length >= this.config.maxQueued) {
      const dropped = this.queue.shift()!;
      this.logger.warn(`webhook ${this.target()}: queue full, event ${dropped.event.id} dropped`);
    }
    this.queue.push(pending);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.concurrency && this.queue.length > 0) {
      void this.attempt(this.queue.shift()!);
    }
  }

  private async attempt(pending: IPending): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs);
    let failure: string | undefined;
    try {
      const response = await fetch(this.config.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'smartregistry-webhook',
          'X-Smartregistry-Event': pending.event.action,
          'X-Smartregistry-Delivery': pending.event.id,
          'X-Smartregistry-Attempt': String(pending.attempt),
          'X-Smartregistry-Signature': webhookSignature(this.config.secret, pending.body),
        },
        body: pending.body,
        signal: controller.signal,
        redirect: 'manual',
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 200 || response.status >= 300) failure = `answered ${response.status}`;
    } catch (error) {
      failure = controller.signal.aborted ? `no answer within ${this.config.timeoutMs} ms` : (error as Error).message;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    if (failure !== undefined && !this.closed) this.retry(pending, failure);
    this.pump();
  }

  private retry(pending: IPending, failure: string): void {
    if (pending.attempt >= this.config.maxAttempts) {
      this.logger.error(`webhook ${this.target()}: event ${pending.event.id} dropped after ${pending.attempt} attempts (last: ${failure})`);
      return;
    }
    const delay = Math.min(this.config.initialDelayMs * 2 ** (pending.attempt - 1), this.config.maxDelayMs);
    this.logger.warn(`webhook ${this.target()}: event ${pending.event.id} ${failure}; retry ${pending.attempt + 1} in ${delay} ms`);
    const cancel = this.schedule(() => {
      this.waiting.delete(cancel);
      this.enqueue({ ...pending, attempt: pending.attempt + 1 });
    }, delay);
    this.waiting.add(cancel);
  }

  /** The webhook's origin only: its path or query may carry a secret. */
  private target(): string {
    try {
      return new URL(this.config.url).origin;
    } catch {
      return '(invalid URL)';
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, each]) => each !== undefined)) as Partial<T>;
}
