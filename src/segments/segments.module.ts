import { Module } from '@nestjs/common';

import { GoldModule } from '../gold/gold.module.js';
import { SegmentsRepository } from './segments.repository.js';
import { SegmentsResolver } from './segments.resolver.js';
import { SegmentsService } from './segments.service.js';

/** The marketing API over the segments gold. */
@Module({
  imports: [GoldModule],
  providers: [SegmentsRepository, SegmentsService, SegmentsResolver],
})
export class SegmentsModule {}
