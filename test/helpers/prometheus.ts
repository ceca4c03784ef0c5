/** Reads the Prometheus text format back into samples, so tests assert series and values. */
export interface IMetricSamples {
  /** The sample's value, or undefined when no series has exactly these labels. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every series of a metric name, with its labels. */
  series(name: string): { labels: Record<string, string>; value: number }[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): IMetricSamples {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  const same = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([key, value]) => b[key] === value);
  return {
    value: (name, labels = {}) => samples.find((sample) => sample.name === name && same(sample.labels, labels))?.value,
    series: (name) => samples.filter((sample) => sample.name === name).map(({ labels, value }) => ({ labels, value })),
  };
}
