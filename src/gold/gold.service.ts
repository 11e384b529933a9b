import { Inject, Injectable } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { goldDatasetNames } from './contract/gold-datasets.js';
import { readFreshness } from './freshness.js';
import { ManifestRepository } from './manifest.repository.js';
import type { GoldDataset } from './models/gold-dataset.model.js';

const toDate = (value: string | null): Date | null => (value === null ? null : new Date(value));

@Injectable()
export class GoldService {
  constructor(
    private readonly manifests: ManifestRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Every dataset of the contract, published or not, with its snapshots and freshness. */
  async listDatasets(now = Date.now()): Promise<GoldDataset[]> {
    const manifests = new Map(
      (await this.manifests.getAll()).map((manifest) => [manifest.dataset, manifest]),
    );
    return goldDatasetNames.map((name) => {
      const manifest = manifests.get(name);
      const policy = this.config.freshness[name];
      const { status, ageSeconds } = readFreshness(manifest?.completedAt ?? null, policy, now);
      return {
        name,
        activeSnapshotId: manifest?.activeSnapshotId ?? null,
        previousSnapshotId: manifest?.previousSnapshotId ?? null,
        completedAt: toDate(manifest?.completedAt ?? null),
        ageSeconds,
        freshnessObjectiveSeconds: policy.objectiveSeconds,
        hardLimitSeconds: policy.hardLimitSeconds,
        status,
        documentCount: manifest?.documentCount ?? null,
        modelVersion: manifest?.modelVersion ?? null,
        snapshots: (manifest?.snapshots ?? []).map((snapshot) => ({
          snapshotId: snapshot.snapshotId,
          state: snapshot.state,
          startedAt: new Date(snapshot.startedAt),
          completedAt: toDate(snapshot.completedAt),
          documentCount: snapshot.documentCount,
        })),
      };
    });
  }
}
