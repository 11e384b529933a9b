import { Global, Module } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { ResilienceService } from './resilience.service.js';

/** Timeouts, retries, circuit breakers and bulkheads for the calls of the device path to its dependencies. */
@Global()
@Module({
  providers: [
    {
      provide: ResilienceService,
      inject: [APP_CONFIG, Counters],
      useFactory: (config: AppConfig, counters: Counters) => {
        const resilience = new ResilienceService(config.resilience);
        // Breaker transitions are counted for the operators (exported by the telemetry module).
        resilience.onBreakerStateChange(({ dependency, state }) =>
          counters.increment('breaker_transitions_total', { dependency, state }),
        );
        return resilience;
      },
    },
  ],
  exports: [ResilienceService],
})
export class ResilienceModule {}
