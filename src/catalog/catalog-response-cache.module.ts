import { Module } from '@nestjs/common';

import { AuthModule } from '../modules/auth/auth.module.js';
import { CatalogResponseCachePlugin } from './catalog-response-cache.plugin.js';
import { CatalogModule } from './catalog.module.js';

/** Catalogue answers from the response cache; apart from CatalogModule, which needs no token checks. */
@Module({
  imports: [CatalogModule, AuthModule],
  providers: [CatalogResponseCachePlugin],
})
export class CatalogResponseCacheModule {}
