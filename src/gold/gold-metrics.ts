import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { meter } from '../modules/telemetry/otel.js';
import { goldDatasetNames } from './contract/gold-datasets.js';
import { SnapshotRegistry } from './snapshot-registry.service.js';

/**
 * The age of every gold dataset's active snapshot and its freshness objective, as gauges
 * (`flick_gold_dataset_age_seconds`, `flick_gold_dataset_freshness_objective_seconds`): the
 * GoldDatasetStale alert compares them. A dataset never published has no age series.
 */
@Injectable()
export class GoldMetrics implements OnModuleInit {
  constructor(
    private readonly registry: SnapshotRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const instruments = meter();
    instruments
      .createObservableGauge('flick_gold_dataset_age_seconds', {
        description: 'Seconds since the active snapshot of the gold dataset was completed.',
        unit: 's',
      })
      .addCallback((result) => {
        const now = Date.now();
        for (const dataset of goldDatasetNames) {
          const active = this.registry.get(dataset);
          if (active !== undefined) {
            result.observe(Math.max(0, (now - Date.parse(active.completedAt)) / 1000), { dataset });
          }
        }
      });
    instruments
      .createObservableGauge('flick_gold_dataset_freshness_objective_seconds', {
        description: 'Freshness objective of the gold dataset: older than this, it is stale.',
        unit: 's',
      })
      .addCallback((result) => {
        for (const dataset of goldDatasetNames) {
          result.observe(this.config.freshness[dataset].objectiveSeconds, { dataset });
        }
      });
  }
}
