import { Module } from '@nestjs/common';

import { CatalogModule } from '../catalog/catalog.module.js';
import { GoldModule } from '../gold/gold.module.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { ShutdownModule } from './shutdown.module.js';

@Module({
  imports: [CatalogModule, GoldModule, ShutdownModule],
  controllers: [HealthController],
  providers: [HealthService],
  exports: [ShutdownModule],
})
export class HealthModule {}
