import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CosmosClient, Database } from '@azure/cosmos';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { recordDependencyLatency } from '../telemetry/otel.js';
import { createCosmosClient } from './cosmos-client.factory.js';

/** Provides the Cosmos `Database` of the gold layer to repositories. */
@Global()
@Module({
  providers: [
    {
      provide: CosmosClient,
      inject: [APP_CONFIG, Counters],
      useFactory: (config: AppConfig, counters: Counters) =>
        createCosmosClient(config.cosmos, ({ operation, outcome, requestCharge, durationMs }) => {
          counters.increment('dependency_calls_total', { dependency: 'cosmos', outcome });
          recordDependencyLatency('cosmos', durationMs / 1000, outcome);
          if (requestCharge > 0)
            counters.increment('cosmos_request_units_total', { operation }, requestCharge);
        }),
    },
    {
      provide: Database,
      inject: [CosmosClient, APP_CONFIG],
      useFactory: (client: CosmosClient, config: AppConfig) => client.database(config.cosmos.database),
    },
  ],
  exports: [Database],
})
export class CosmosModule implements OnApplicationShutdown {
  constructor(@Inject(CosmosClient) private readonly client: CosmosClient) {}

  onApplicationShutdown(): void {
    this.client.dispose();
  }
}
