import { Global, Module } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ResilienceService } from './resilience.service.js';

/** Timeouts, retries, circuit breakers and bulkheads for the calls of the device path to its dependencies. */
@Global()
@Module({
  providers: [
    {
      provide: ResilienceService,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new ResilienceService(config.resilience),
    },
  ],
  exports: [ResilienceService],
})
export class ResilienceModule {}
