import { Module } from '@nestjs/common';

import { GoldModule } from '../gold/gold.module.js';
import { DegradationTimeline } from './degradation-timeline.service.js';
import { ServiceStatusResolver } from './service-status.resolver.js';
import { ServiceStatusService } from './service-status.service.js';

/**
 * For operators: the degradation timeline every replica writes to (from its degraded responses and
 * breakers) and the `serviceStatus` query. Needs the global cache (EpisodeLog), resilience and
 * telemetry modules.
 */
@Module({
  imports: [GoldModule],
  providers: [DegradationTimeline, ServiceStatusService, ServiceStatusResolver],
})
export class OpsModule {}
