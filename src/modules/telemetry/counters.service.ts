import { Injectable } from '@nestjs/common';

export type CounterLabels = Readonly<Record<string, string>>;

export interface CounterSample {
  name: string;
  labels: CounterLabels;
  value: number;
}

/**
 * Monotonic counters kept in memory (`cache_requests_total{level="L1"}` and the like). The
 * observability work exports them through OpenTelemetry; until then `snapshot()` is the way out.
 */
@Injectable()
export class Counters {
  private readonly samples = new Map<string, CounterSample>();

  increment(name: string, labels: CounterLabels = {}, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`counter ${name}: cannot add ${by}`);
    const key = seriesKey(name, labels);
    const sample = this.samples.get(key);
    if (sample === undefined) this.samples.set(key, { name, labels: sortedLabels(labels), value: by });
    else sample.value += by;
  }

  /** The value of one series (name and exactly these labels); 0 when never incremented. */
  value(name: string, labels: CounterLabels = {}): number {
    return this.samples.get(seriesKey(name, labels))?.value ?? 0;
  }

  /** Every series, as copies, sorted by name then labels. */
  snapshot(): CounterSample[] {
    return [...this.samples.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, sample]) => ({ name: sample.name, labels: { ...sample.labels }, value: sample.value }));
  }
}

const sortedLabels = (labels: CounterLabels): CounterLabels =>
  Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** One series per name and label set, whatever order the labels were given in. */
const seriesKey = (name: string, labels: CounterLabels): string =>
  JSON.stringify([name, Object.entries(sortedLabels(labels))]);
