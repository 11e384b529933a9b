import { Inject, Injectable } from '@nestjs/common';

import type { DeviceClass } from '../gold/contract/common.schema.js';
import { DatasetFreshness, readFreshness } from '../gold/freshness.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { TwoLevelCache } from '../modules/cache/two-level-cache.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import type { Deadline } from '../modules/resilience/deadline.js';
import { ResilienceService } from '../modules/resilience/resilience.service.js';
import { degradedReasonOf } from './degraded-reason.js';
import { emergencyTitles } from './emergency/emergency-titles.js';
import { ContentSource, DegradedReason } from './models/response-meta.model.js';
import { PopularRepository } from './popular.repository.js';

export interface PopularRead {
  titleIds: readonly string[];
  source: ContentSource.POPULAR | ContentSource.EMERGENCY;
  reasons: DegradedReason[];
  snapshotId: string | null;
  dataAgeSeconds: number | null;
}

const listKey = (country: string, device: DeviceClass) => `popular:{${country}}:${device}`;

/**
 * Steps 4–5 of the fallback chain: the popular list for a country and device from gold (cached),
 * else its last good copy, else the emergency list held in memory — refreshed from every good load
 * and seeded from the list bundled with the service, so even a cold start with nothing reachable
 * answers.
 */
@Injectable()
export class PopularTitlesService {
  private readonly emergency = new Map<string, readonly string[]>();

  constructor(
    private readonly popular: PopularRepository,
    private readonly snapshots: SnapshotRegistry,
    private readonly cache: TwoLevelCache,
    private readonly resilience: ResilienceService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async read(country: string, device: DeviceClass, deadline: Deadline): Promise<PopularRead> {
    const active = this.snapshots.get('popular');
    const reasons: DegradedReason[] = [];
    if (active !== undefined) {
      const { status, ageSeconds } = readFreshness(active.completedAt, this.config.freshness.popular);
      if (status !== DatasetFreshness.EXPIRED) {
        const key = listKey(country, device);
        try {
          const read = await this.cache.getOrLoad(
            `${key}:${active.snapshotId}`,
            () =>
              this.resilience.run('cosmos', deadline, (signal) =>
                this.popular.get(active.snapshotId, country, device, signal),
              ),
            { lastGoodKey: key },
          );
          if (read.cacheUnavailable) reasons.push(DegradedReason.CACHE_UNAVAILABLE);
          if (read.value !== null) {
            this.emergency.set(key, read.value);
            if (status === DatasetFreshness.STALE) reasons.push(DegradedReason.PIPELINE_LAG);
            return {
              titleIds: read.value,
              source: ContentSource.POPULAR,
              reasons,
              snapshotId: active.snapshotId,
              dataAgeSeconds: ageSeconds,
            };
          }
        } catch (error) {
          const reason = degradedReasonOf(error);
          if (reason === undefined) throw error;
          reasons.push(reason);
          const { copy: lastGood, cacheUnavailable } = await this.cache.lastGoodRead<
            readonly string[] | null
          >(key);
          if (cacheUnavailable) reasons.push(DegradedReason.CACHE_UNAVAILABLE);
          if (lastGood?.value) {
            return {
              titleIds: lastGood.value,
              source: ContentSource.POPULAR,
              reasons,
              snapshotId: null,
              dataAgeSeconds: null,
            };
          }
        }
      } else {
        reasons.push(DegradedReason.PIPELINE_LAG);
      }
    }
    return {
      titleIds: this.emergencyList(country, device),
      source: ContentSource.EMERGENCY,
      reasons,
      snapshotId: null,
      dataAgeSeconds: null,
    };
  }

  /** The last good list this process loaded for the country and device, else the bundled one. */
  private emergencyList(country: string, device: DeviceClass): readonly string[] {
    const bundled = emergencyTitles();
    return this.emergency.get(listKey(country, device)) ?? bundled.byCountry[country] ?? bundled.global;
  }
}
