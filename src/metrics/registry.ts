/**
 * A small Prometheus text-format registry: counters, gauges read at scrape time, histograms. Label
 * values are escaped and must come from bounded sets (route patterns, codes), never raw input.
 */
type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const render = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};
/** Series key: label names and values in insertion order (each metric's caller always builds its labels in one order). */
const keyOf = (labels: Labels) => {
  let key = '';
  for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`;
  return key;
};

interface Metric {
  expose(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).value += by;
  }
  /** One label set's series, to add to directly: a caller on every request keeps it rather than building labels each time. */
  series(labels: Labels): { value: number } {
    const key = keyOf(labels);
    let entry = this.values.get(key);
    if (!entry) {
      entry = { labels, value: 0 };
      this.values.set(key, entry);
    }
    return entry;
  }
  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${render(labels)} ${value}`);
    return lines.join('\n');
  }
}

/** A value read when scraped. `type: 'counter'` for one that only grows and is kept elsewhere (a process's CPU seconds). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | Array<{ labels: Labels; value: number }>,
    private readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}
  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    const value = this.read();
    if (typeof value === 'number') lines.push(`${this.name} ${value}`);
    else for (const v of value) lines.push(`${this.name}${render(v.labels)} ${v.value}`);
    return lines.join('\n');
  }
}

/** One label set of a histogram: its cumulative bucket counts, sum and count. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class Histogram implements Metric {
  private readonly all = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}
  observe(labels: Labels, value: number): void {
    this.series(labels).observe(value);
  }
  /** One label set's series, to observe into directly (see Counter.series). */
  series(labels: Labels): HistogramSeries {
    const key = keyOf(labels);
    let s = this.all.get(key);
    if (!s) {
      s = new HistogramSeries(labels, this.buckets);
      this.all.set(key, s);
    }
    return s;
  }
  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.all.values()) {
      for (const [i, b] of this.buckets.entries()) lines.push(`${this.name}_bucket${render({ ...s.labels, le: String(b) })} ${s.counts[i]}`);
      lines.push(`${this.name}_bucket${render({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${render(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${render(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<T extends Metric>(metric: T): T {
    this.metrics.push(metric);
    return metric;
  }
  expose(): string {
    return `${this.metrics.map((m) => m.expose()).join('\n')}\n`;
  }
}
