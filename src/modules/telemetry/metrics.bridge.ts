import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Counter } from '@opentelemetry/api';

import { Counters, type CounterLabels } from './counters.service.js';
import { meter } from './otel.js';

/** `device_responses_total` → `flick_device_responses` (Prometheus adds `_total` to counters). */
export const otelCounterName = (name: string): string => `flick_${name.replace(/_total$/, '')}`;

/**
 * Every count the service keeps in {@link Counters} is also an OpenTelemetry counter named
 * `flick_<name>`, exported to Prometheus with its labels; and the outcome of the last call to each
 * dependency (`dependency_calls_total`) is the gauge `flick_dependency_up`.
 */
@Injectable()
export class MetricsBridge implements OnModuleInit {
  private readonly instruments = new Map<string, Counter>();
  private readonly up = new Map<string, number>();

  constructor(private readonly counters: Counters) {}

  onModuleInit(): void {
    const instruments = meter();
    instruments
      .createObservableGauge('flick_dependency_up', {
        description: '1 when the last call to the dependency succeeded, 0 when it failed.',
      })
      .addCallback((result) => {
        for (const [dependency, value] of this.up) result.observe(value, { dependency });
      });
    this.counters.onIncrement((name, labels, by) => this.record(name, labels, by));
  }

  private record(name: string, labels: CounterLabels, by: number): void {
    let counter = this.instruments.get(name);
    if (counter === undefined) {
      counter = meter().createCounter(otelCounterName(name));
      this.instruments.set(name, counter);
    }
    counter.add(by, labels);
    if (name === 'dependency_calls_total' && labels['dependency'] !== undefined) {
      this.up.set(labels['dependency'], labels['outcome'] === 'ok' ? 1 : 0);
    }
  }
}
