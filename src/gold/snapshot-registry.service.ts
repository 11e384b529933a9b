import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import type { GoldDatasetName } from './contract/gold-datasets.js';
import type { ManifestDocument } from './contract/manifest.schema.js';
import { ManifestRepository } from './manifest.repository.js';

export interface ActiveSnapshot {
  dataset: GoldDatasetName;
  snapshotId: string;
  completedAt: string;
}

export type SnapshotListener = (snapshot: ActiveSnapshot) => void;

/**
 * Which snapshot of each dataset is active, re-read from the manifests every few seconds. Readers
 * take snapshot ids from here, so one request sees one snapshot; when Cosmos is unreachable the
 * last known manifests keep serving.
 */
@Injectable()
export class SnapshotRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SnapshotRegistry.name);
  private readonly active = new Map<GoldDatasetName, ActiveSnapshot>();
  private readonly listeners = new Set<SnapshotListener>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastSuccessAt: number | undefined;

  constructor(
    private readonly manifests: ManifestRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.manifestRefreshMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  get(dataset: GoldDatasetName): ActiveSnapshot | undefined {
    return this.active.get(dataset);
  }

  /**
   * Whether the documents of `snapshotId` may still be read: listed as COMPLETE in the dataset's
   * manifest as it is now (one point read, not the periodic copy). A snapshot being pruned or gone
   * is not. Throws the store's error when the manifest cannot be read.
   */
  async isReadable(dataset: GoldDatasetName, snapshotId: string): Promise<boolean> {
    const current = await this.manifests.get(dataset);
    return (
      current?.manifest.snapshots.some(
        (entry) => entry.snapshotId === snapshotId && entry.state === 'COMPLETE',
      ) ?? false
    );
  }

  /** Milliseconds since the manifests were last read successfully, undefined if never. */
  staleness(now = Date.now()): number | undefined {
    return this.lastSuccessAt === undefined ? undefined : now - this.lastSuccessAt;
  }

  /** Calls `listener` now for every active snapshot and on every later change. */
  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    for (const snapshot of this.active.values()) listener(snapshot);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the manifests; concurrent calls share one read. */
  refresh(): Promise<void> {
    this.inFlight ??= this.readManifests().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readManifests(): Promise<void> {
    let manifests: ManifestDocument[];
    try {
      manifests = await this.manifests.getAll();
    } catch (error) {
      this.logger.warn(
        `manifests not refreshed, keeping the last known snapshots: ${(error as Error).message}`,
      );
      return;
    }
    this.lastSuccessAt = Date.now();
    for (const manifest of manifests) {
      if (manifest.activeSnapshotId === null || manifest.completedAt === null) continue;
      const dataset = manifest.dataset as GoldDatasetName;
      const current = this.active.get(dataset);
      if (current?.snapshotId === manifest.activeSnapshotId && current.completedAt === manifest.completedAt)
        continue;
      const snapshot = { dataset, snapshotId: manifest.activeSnapshotId, completedAt: manifest.completedAt };
      this.active.set(dataset, snapshot);
      this.logger.log(`${dataset}: snapshot ${snapshot.snapshotId} is active`);
      for (const listener of this.listeners) listener(snapshot);
    }
  }
}
