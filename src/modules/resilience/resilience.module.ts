import { Global, Module } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { meter } from '../telemetry/otel.js';
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
        // 1 while a dependency's breaker is open, for the BreakerOpen alert.
        meter()
          .createObservableGauge('flick_breaker_open', {
            description: '1 while the circuit breaker of the dependency is open, else 0.',
          })
          .addCallback((result) => {
            for (const status of resilience.breakerStates()) {
              result.observe(status.state === 'OPEN' ? 1 : 0, { dependency: status.dependency });
            }
          });
        return resilience;
      },
    },
  ],
  exports: [ResilienceService],
})
export class ResilienceModule {}
