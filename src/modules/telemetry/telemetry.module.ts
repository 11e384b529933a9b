import { Global, Module } from '@nestjs/common';

import { Counters } from './counters.service.js';
import { MetricsBridge } from './metrics.bridge.js';

/**
 * Process-wide metrics: the {@link Counters} every module counts its events in, exported as
 * OpenTelemetry metrics (Prometheus) by the {@link MetricsBridge}.
 */
@Global()
@Module({ providers: [Counters, MetricsBridge], exports: [Counters] })
export class TelemetryModule {}
