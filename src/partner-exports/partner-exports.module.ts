import { Module } from '@nestjs/common';

import { CatalogModule } from '../catalog/catalog.module.js';
import { GoldModule } from '../gold/gold.module.js';
import { ExportRecordsRepository } from './export-records.repository.js';
import { ExportScheduler } from './export-scheduler.service.js';
import { ExportWorker } from './export-worker.service.js';
import { PartnerExportsResolver } from './partner-exports.resolver.js';
import { PartnerExportsService } from './partner-exports.service.js';
import { PartnerMetricsRepository } from './partner-metrics.repository.js';

/** Partner exports for Azure Data Share: the API, the worker that writes them, the daily schedule. */
@Module({
  imports: [GoldModule, CatalogModule],
  providers: [
    ExportRecordsRepository,
    PartnerMetricsRepository,
    ExportWorker,
    ExportScheduler,
    PartnerExportsService,
    PartnerExportsResolver,
  ],
})
export class PartnerExportsModule {}
