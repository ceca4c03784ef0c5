/**
 * A background job run at start and then every `intervalMs` (upload cleanup, later garbage
 * collection), never twice at once, and awaited on stop so nothing writes after a shutdown.
 * The timer never keeps the process alive. The job reports its own failures; they never escape.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly job: () => Promise<unknown>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Starts the job unless it is still running from the last tick. */
  runOnce(): void {
    if (this.running) return;
    this.running = this.job()
      .then(() => undefined, () => undefined)
      .finally(() => {
        this.running = undefined;
      });
  }
}
