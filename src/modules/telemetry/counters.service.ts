import { Injectable, Logger } from '@nestjs/common';

export type CounterLabels = Readonly<Record<string, string>>;

export interface CounterSample {
  name: string;
  labels: CounterLabels;
  value: number;
}

/**
 * Told of every increment, after it is counted: the series' labels (sorted, frozen) and the amount.
 * It runs inside the code that counted, so it must be quick; what it throws is logged, never passed on.
 */
export type CounterListener = (name: string, labels: CounterLabels, by: number) => void;

/**
 * Monotonic counters kept in memory (`cache_requests_total{level="L1"}` and the like). The
 * observability work exports them through OpenTelemetry; until then `snapshot()` is the way out.
 */
@Injectable()
export class Counters {
  private readonly logger = new Logger(Counters.name);
  private readonly samples = new Map<string, CounterSample>();
  private readonly listeners = new Set<CounterListener>();
  /** Listeners that threw once: logged the first time only, since they run on every increment. */
  private readonly failed = new WeakSet<CounterListener>();

  increment(name: string, labels: CounterLabels = {}, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`counter ${name}: cannot add ${by}`);
    const key = seriesKey(name, labels);
    let sample = this.samples.get(key);
    if (sample === undefined) {
      sample = { name, labels: Object.freeze(sortedLabels(labels)), value: by };
      this.samples.set(key, sample);
    } else {
      sample.value += by;
    }
    if (this.listeners.size !== 0) this.notify(name, sample.labels, by);
  }

  /**
   * Calls `listener` after every later increment, of every series, until the returned function is
   * called. A listener that counts something itself is told of that too.
   */
  onIncrement(listener: CounterListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
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

  private notify(name: string, labels: CounterLabels, by: number): void {
    for (const listener of this.listeners) {
      try {
        listener(name, labels, by);
      } catch (error) {
        // Whoever counted must not fail because an observer did.
        if (this.failed.has(listener)) continue;
        this.failed.add(listener);
        this.logger.error(`counter listener failed (logged once per listener): ${String(error)}`);
      }
    }
  }
}

const sortedLabels = (labels: CounterLabels): CounterLabels =>
  Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** One series per name and label set, whatever order the labels were given in. */
const seriesKey = (name: string, labels: CounterLabels): string =>
  JSON.stringify([name, Object.entries(sortedLabels(labels))]);
