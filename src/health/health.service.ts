import { Inject, Injectable } from '@nestjs/common';

import { CatalogService } from '../catalog/catalog.service.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { ShutdownState } from './shutdown-state.js';

export interface Readiness {
  ready: boolean;
  /** Shutting down: not ready whatever the checks say, so the load balancer stops sending requests. */
  draining: boolean;
  checks: { catalog: 'loaded' | 'loading'; cosmos: 'reachable' | 'unreachable' };
}

/** Manifest reads missed in a row before Cosmos counts as unreachable. */
const MISSED_REFRESHES = 3;

@Injectable()
export class HealthService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly snapshots: SnapshotRegistry,
    private readonly shutdown: ShutdownState,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  readiness(): Readiness {
    const sinceManifests = this.snapshots.staleness();
    const cosmosReachable =
      sinceManifests !== undefined && sinceManifests <= MISSED_REFRESHES * this.config.manifestRefreshMs;
    const catalogLoaded = this.catalog.isReady();
    const draining = this.shutdown.draining;
    // Cosmos being unreachable is reported, not a reason to leave the rotation: every replica sees the
    // same outage, and taking them all out would turn degraded answers (last good copies, popular
    // titles) into no answer at all. Only a replica without a catalogue, or shutting down, steps out.
    return {
      ready: !draining && catalogLoaded,
      draining,
      checks: {
        catalog: catalogLoaded ? 'loaded' : 'loading',
        cosmos: cosmosReachable ? 'reachable' : 'unreachable',
      },
    };
  }
}
