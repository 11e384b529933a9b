import { Global, Module } from '@nestjs/common';

import { Counters } from './counters.service.js';

/** Process-wide metrics: the {@link Counters} every module counts its events in. */
@Global()
@Module({ providers: [Counters], exports: [Counters] })
export class TelemetryModule {}
