import { Module } from '@nestjs/common';

import { CatalogModule } from '../catalog/catalog.module.js';
import { GoldModule } from '../gold/gold.module.js';
import { AuthModule } from '../modules/auth/auth.module.js';
import { HomeResponseCachePlugin } from './home-response-cache.plugin.js';
import { HomeService } from './home.service.js';
import { PersonalGoldService } from './personal-gold.service.js';
import { PlaybackService } from './playback.service.js';
import { PopularTitlesService } from './popular-titles.service.js';
import { PopularRepository } from './popular.repository.js';
import { ProfileRepository } from './profile.repository.js';
import { RecommendationsResolver } from './recommendations.resolver.js';

/** The device path: home rows, recommendations, popular lists, the fallback chain, playback progress. */
@Module({
  imports: [GoldModule, CatalogModule, AuthModule],
  providers: [
    ProfileRepository,
    PopularRepository,
    PersonalGoldService,
    PopularTitlesService,
    HomeService,
    HomeResponseCachePlugin,
    PlaybackService,
    RecommendationsResolver,
  ],
})
export class RecommendationsModule {}
