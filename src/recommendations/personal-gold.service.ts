import { Inject, Injectable } from '@nestjs/common';

import type { ProfileRecord } from '../gold/contract/profiles.schema.js';
import { DatasetFreshness, readFreshness } from '../gold/freshness.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { TwoLevelCache } from '../modules/cache/two-level-cache.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import type { Deadline } from '../modules/resilience/deadline.js';
import { ResilienceService } from '../modules/resilience/resilience.service.js';
import { degradedReasonOf } from './degraded-reason.js';
import { ContentSource, DegradedReason } from './models/response-meta.model.js';
import { ProfileRepository } from './profile.repository.js';

/** A profile's gold as the fallback chain found it (steps 1–3), or why there is none (step 4). */
export interface ProfileRead {
  profile: ProfileRecord | null;
  source: ContentSource;
  reasons: DegradedReason[];
  snapshotId: string | null;
  dataAgeSeconds: number | null;
}

const profileKey = (profileId: string, snapshotId: string) => `profile:{${profileId}}:${snapshotId}`;
/** Last good copies outlive snapshots: after a switch the previous snapshot's copy still helps. */
const lastGoodKey = (profileId: string) => `profile:{${profileId}}`;

/**
 * Steps 1–3 of the fallback chain for a profile: fresh personal data, stale personal data, or the
 * last good copy when Cosmos is slow, throttled, unreachable or its breaker is open. When none of
 * them can be used the caller serves popular titles (step 4) with the reasons given here.
 */
@Injectable()
export class PersonalGoldService {
  constructor(
    private readonly profiles: ProfileRepository,
    private readonly snapshots: SnapshotRegistry,
    private readonly cache: TwoLevelCache,
    private readonly resilience: ResilienceService,
    private readonly counters: Counters,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async read(profileId: string, deadline: Deadline): Promise<ProfileRead> {
    const active = this.snapshots.get('profiles');
    if (active === undefined) return this.none([DegradedReason.NO_PROFILE_DATA]);
    const { status, ageSeconds } = readFreshness(active.completedAt, this.config.freshness.profiles);
    if (status === DatasetFreshness.EXPIRED) {
      // Past the hard limit personal data is no longer trusted.
      return this.none([DegradedReason.PIPELINE_LAG], active.snapshotId, ageSeconds);
    }
    const reasons: DegradedReason[] = status === DatasetFreshness.STALE ? [DegradedReason.PIPELINE_LAG] : [];
    try {
      const read = await this.cache.getOrLoad(
        profileKey(profileId, active.snapshotId),
        () =>
          this.resilience.run('cosmos', deadline, (signal) =>
            this.profiles.get(active.snapshotId, profileId, signal),
          ),
        { lastGoodKey: lastGoodKey(profileId) },
      );
      if (read.cacheUnavailable) reasons.push(DegradedReason.CACHE_UNAVAILABLE);
      if (read.value === null) {
        return this.none([...reasons, DegradedReason.NO_PROFILE_DATA], active.snapshotId, ageSeconds);
      }
      return {
        profile: read.value,
        source:
          status === DatasetFreshness.STALE ? ContentSource.PERSONALIZED_STALE : ContentSource.PERSONALIZED,
        reasons,
        snapshotId: active.snapshotId,
        dataAgeSeconds: ageSeconds,
      };
    } catch (error) {
      const reason = degradedReasonOf(error);
      if (reason === undefined) throw error;
      const { copy: lastGood, cacheUnavailable } = await this.cache.lastGoodRead<ProfileRecord | null>(
        lastGoodKey(profileId),
      );
      if (cacheUnavailable) reasons.push(DegradedReason.CACHE_UNAVAILABLE);
      if (lastGood?.value) {
        this.counters.increment('fallback_last_good_total', { dataset: 'profiles' });
        return {
          profile: lastGood.value,
          source: ContentSource.CACHED_COPY,
          reasons: [...reasons, reason],
          snapshotId: null,
          dataAgeSeconds: null,
        };
      }
      return this.none([...reasons, reason], active.snapshotId, ageSeconds);
    }
  }

  private none(
    reasons: DegradedReason[],
    snapshotId: string | null = null,
    dataAgeSeconds: number | null = null,
  ): ProfileRead {
    return { profile: null, source: ContentSource.POPULAR, reasons, snapshotId, dataAgeSeconds };
  }
}
