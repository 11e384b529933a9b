import { Module } from '@nestjs/common';

import { GoldModule } from '../gold/gold.module.js';
import { CatalogRepository } from './catalog.repository.js';
import { CatalogResolver } from './catalog.resolver.js';
import { CATALOG_SERVICE_OPTIONS, CatalogService } from './catalog.service.js';

/** Titles, browse and search, served from the active catalogue snapshot held in memory. */
@Module({
  imports: [GoldModule],
  providers: [
    { provide: CATALOG_SERVICE_OPTIONS, useValue: {} },
    CatalogRepository,
    CatalogService,
    CatalogResolver,
  ],
  exports: [CatalogService],
})
export class CatalogModule {}
