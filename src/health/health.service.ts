import { Inject, Injectable } from '@nestjs/common';

import { CatalogService } from '../catalog/catalog.service.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';

export interface Readiness {
  ready: boolean;
  checks: { catalog: 'loaded' | 'loading'; cosmos: 'reachable' | 'unreachable' };
}

/** Manifest reads missed in a row before Cosmos counts as unreachable. */
const MISSED_REFRESHES = 3;

@Injectable()
export class HealthService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly snapshots: SnapshotRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  readiness(): Readiness {
    const sinceManifests = this.snapshots.staleness();
    const cosmosReachable =
      sinceManifests !== undefined && sinceManifests <= MISSED_REFRESHES * this.config.manifestRefreshMs;
    const catalogLoaded = this.catalog.isReady();
    return {
      ready: catalogLoaded && cosmosReachable,
      checks: {
        catalog: catalogLoaded ? 'loaded' : 'loading',
        cosmos: cosmosReachable ? 'reachable' : 'unreachable',
      },
    };
  }
}
