import { Module } from '@nestjs/common';

import { GoldMetrics } from './gold-metrics.js';
import { GoldResolver } from './gold.resolver.js';
import { GoldService } from './gold.service.js';
import { ManifestRepository } from './manifest.repository.js';
import { SnapshotRegistry } from './snapshot-registry.service.js';

@Module({
  providers: [ManifestRepository, SnapshotRegistry, GoldService, GoldResolver, GoldMetrics],
  exports: [GoldService, SnapshotRegistry],
})
export class GoldModule {}
