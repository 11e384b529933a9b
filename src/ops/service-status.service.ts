import { Inject, Injectable } from '@nestjs/common';

import { goldDatasetNames } from '../gold/contract/gold-datasets.js';
import { readFreshness } from '../gold/freshness.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { ResilienceService } from '../modules/resilience/resilience.service.js';
import { DegradationTimeline } from './degradation-timeline.service.js';
import {
  BreakerStateValue,
  type DegradationEpisode,
  type DependencyBreaker,
  type ServedDataset,
} from './models/service-status.model.js';

/**
 * What `serviceStatus` reports. Breakers and datasets are this replica's own view, from memory,
 * so the answer needs neither Cosmos nor Redis; the episodes come from the shared log when Redis
 * answers, merged with this replica's own.
 */
@Injectable()
export class ServiceStatusService {
  constructor(
    private readonly resilience: ResilienceService,
    private readonly snapshots: SnapshotRegistry,
    private readonly timeline: DegradationTimeline,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  breakers(): DependencyBreaker[] {
    return this.resilience.breakerStates().map((status) => ({
      dependency: status.dependency,
      state: BreakerStateValue[status.state],
      since: status.since,
    }));
  }

  /** Every dataset of the gold contract with the snapshot this replica serves, its age and status. */
  datasets(now = Date.now()): ServedDataset[] {
    return goldDatasetNames.map((name) => {
      const active = this.snapshots.get(name);
      const policy = this.config.freshness[name];
      const { status, ageSeconds } = readFreshness(active?.completedAt ?? null, policy, now);
      return {
        name,
        activeSnapshotId: active?.snapshotId ?? null,
        ageSeconds,
        objectiveSeconds: policy.objectiveSeconds,
        hardLimitSeconds: policy.hardLimitSeconds,
        status,
      };
    });
  }

  async episodes(first: number): Promise<DegradationEpisode[]> {
    return (await this.timeline.recent(first)).map((episode) => ({
      reason: episode.reason,
      dependency: episode.dependency,
      replica: episode.replica,
      startedAt: new Date(episode.startedAt),
      endedAt: episode.endedAt === null ? null : new Date(episode.endedAt),
      responses: episode.responses,
    }));
  }
}
