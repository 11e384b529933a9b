import { describe, expect, it } from 'vitest';

import type { CatalogService } from '../catalog/catalog.service.js';
import type { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import type { AppConfig } from '../modules/config/app-config.js';
import { HealthService } from './health.service.js';
import { ShutdownState } from './shutdown-state.js';

const REFRESH_MS = 5000;

const build = (options: { catalogLoaded: boolean; sinceManifestsMs: number | undefined }) => {
  const shutdown = new ShutdownState();
  const service = new HealthService(
    { isReady: () => options.catalogLoaded } as unknown as CatalogService,
    { staleness: () => options.sinceManifestsMs } as unknown as SnapshotRegistry,
    shutdown,
    { manifestRefreshMs: REFRESH_MS } as AppConfig,
  );
  return { service, shutdown };
};

describe(HealthService.name, () => {
  it('stays ready while Cosmos is unreachable, and says so', () => {
    for (const sinceManifestsMs of [undefined, 4 * REFRESH_MS, 3_600_000]) {
      expect(build({ catalogLoaded: true, sinceManifestsMs }).service.readiness()).toEqual({
        ready: true,
        draining: false,
        checks: { catalog: 'loaded', cosmos: 'unreachable' },
      });
    }
    expect(build({ catalogLoaded: true, sinceManifestsMs: REFRESH_MS }).service.readiness()).toMatchObject({
      ready: true,
      checks: { cosmos: 'reachable' },
    });
  });

  it('is not ready before the catalogue is loaded or once draining', () => {
    expect(build({ catalogLoaded: false, sinceManifestsMs: 0 }).service.readiness()).toMatchObject({
      ready: false,
      checks: { catalog: 'loading' },
    });
    const { service, shutdown } = build({ catalogLoaded: true, sinceManifestsMs: 0 });
    shutdown.beginDraining();
    expect(service.readiness()).toMatchObject({ ready: false, draining: true });
  });
});
