import { Global, Module } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { TelemetryModule } from '../telemetry/telemetry.module.js';
import { DistributedLock } from './distributed-lock.js';
import { EpisodeLog } from './episode-log.js';
import { PlaybackProgressStore } from './playback-progress.store.js';
import { RateLimiter } from './rate-limiter.js';
import { createRedisGateway, RedisGateway } from './redis-gateway.js';
import { ResponseCache } from './response-cache.js';
import { TwoLevelCache } from './two-level-cache.js';

/**
 * The two-level cache (L1 in process, L2 in Redis), the playback-progress store, the request
 * rate limiter, the distributed lock and the GraphQL response cache. Redis is standalone, a cluster, or absent
 * (`config.cache.redis`); the connection is opened at start, re-opened in the background after an
 * outage and closed at shutdown.
 */
@Global()
@Module({
  imports: [TelemetryModule],
  providers: [
    {
      provide: RedisGateway,
      inject: [APP_CONFIG, Counters],
      useFactory: (config: AppConfig, counters: Counters) => createRedisGateway(config.cache, counters),
    },
    TwoLevelCache,
    PlaybackProgressStore,
    RateLimiter,
    DistributedLock,
    EpisodeLog,
    ResponseCache,
  ],
  exports: [TwoLevelCache, PlaybackProgressStore, RateLimiter, DistributedLock, EpisodeLog, ResponseCache],
})
export class CacheModule {}
