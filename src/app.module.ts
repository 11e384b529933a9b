import { Module, type DynamicModule } from '@nestjs/common';

import { CatalogResponseCacheModule } from './catalog/catalog-response-cache.module.js';
import { CatalogModule } from './catalog/catalog.module.js';
import { GoldModule } from './gold/gold.module.js';
import { HealthModule } from './health/health.module.js';
import { OpsModule } from './ops/ops.module.js';
import { RecommendationsModule } from './recommendations/recommendations.module.js';
import { PartnerExportsModule } from './partner-exports/partner-exports.module.js';
import { SegmentsModule } from './segments/segments.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { CacheModule } from './modules/cache/cache.module.js';
import type { AppConfig } from './modules/config/app-config.js';
import { ConfigModule } from './modules/config/config.module.js';
import { CosmosModule } from './modules/cosmos/cosmos.module.js';
import { CursorsModule } from './modules/cursors/cursors.module.js';
import { GraphQLSetupModule } from './modules/graphql/graphql-setup.module.js';
import { LimitsModule } from './modules/limits/limits.module.js';
import { ResilienceModule } from './modules/resilience/resilience.module.js';
import { TelemetryModule } from './modules/telemetry/telemetry.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        TelemetryModule,
        CosmosModule,
        CursorsModule,
        CacheModule,
        ResilienceModule,
        GraphQLSetupModule,
        AuthModule,
        LimitsModule,
        GoldModule,
        CatalogModule,
        CatalogResponseCacheModule,
        RecommendationsModule,
        SegmentsModule,
        PartnerExportsModule,
        HealthModule,
        OpsModule,
      ],
    };
  }
}
