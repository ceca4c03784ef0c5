/**
 * Promises under way, each kept until it settles: what a read on this instance waits for (its own writes that
 * follow an answer) and what shutdown waits for. A failure is the tracked work's own to handle or report.
 */
export class WorkUnderWay {
  private readonly pending = new Set<Promise<unknown>>();

  /** Nothing under way: a hot read checks this instead of awaiting an empty wait. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  /** Keeps `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
    return work;
  }

  /** Resolves once the work under way now has settled (work tracked meanwhile is not waited for). */
  async current(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Resolves once every tracked work has settled, also work tracked meanwhile. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
