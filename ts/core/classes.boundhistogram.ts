import type * as prom from 'prom-client';

/** One label set's counts: what an observation touches, and nothing else. */
interface IChild {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the per-request path, exported through a prom-client Registry like any
 * other. prom-client's own histogram validates and hashes the label set on every observation, also
 * through a child from `labels()`; here a child is bound once per label set and an observation is a
 * bucket search and three additions.
 */
export class BoundHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children: IChild[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
    registry: prom.Registry,
  ) {
    registry.registerMetric(this as unknown as prom.Metric);
  }

  /** An observer bound to these label values (in `labelNames` order); keep it, do not ask per observation. */
  bind(...labelValues: string[]): (value: number) => void {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, index) => (labels[name] = labelValues[index]));
    const child: IChild = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
    this.children.push(child);
    const buckets = this.buckets;
    return (value) => {
      let bucket = 0;
      while (bucket < buckets.length && value > buckets[bucket]) bucket++;
      child.counts[bucket]++;
      child.sum += value;
      child.count++;
    };
  }

  /** What prom-client's Registry formats: cumulative buckets, `+Inf`, sum and count per label set. */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const child of this.children) {
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += child.counts[index];
        values.push({ labels: { ...child.labels, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...child.labels, le: '+Inf' }, value: child.count, metricName: `${this.name}_bucket` });
      values.push({ labels: child.labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels: child.labels, value: child.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Registry.resetMetrics(): every count back to zero (bound observers stay valid). */
  reset(): void {
    for (const child of this.children) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}
