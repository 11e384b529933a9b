import { Query, Resolver } from '@nestjs/graphql';

import { Roles } from '../modules/auth/roles.decorator.js';
import { GoldService } from './gold.service.js';
import { GoldDataset } from './models/gold-dataset.model.js';

@Resolver(() => GoldDataset)
export class GoldResolver {
  constructor(private readonly gold: GoldService) {}

  @Roles('ops')
  @Query(() => [GoldDataset], { description: 'Every gold dataset with its snapshots, age and counts.' })
  goldDatasets(): Promise<GoldDataset[]> {
    return this.gold.listDatasets();
  }
}
