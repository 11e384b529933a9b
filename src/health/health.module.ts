import { Module } from '@nestjs/common';

import { CatalogModule } from '../catalog/catalog.module.js';
import { GoldModule } from '../gold/gold.module.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';

@Module({
  imports: [CatalogModule, GoldModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
