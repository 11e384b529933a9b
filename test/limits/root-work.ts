import type { INestApplicationContext } from '@nestjs/common';
import { vi } from 'vitest';

import { CatalogService } from '../../src/catalog/catalog.service.js';
import { GoldService } from '../../src/gold/gold.service.js';
import { HomeService } from '../../src/recommendations/home.service.js';
import { PlaybackService } from '../../src/recommendations/playback.service.js';

/**
 * Watches the service methods the root resolvers call, and returns how many calls they have had:
 * an operation refused before execution leaves the number unchanged.
 */
export const watchRootWork = (app: INestApplicationContext): (() => number) => {
  const spies = [
    ...(['getTitle', 'getTitles', 'browse', 'search', 'genres'] as const).map((method) =>
      vi.spyOn(app.get(CatalogService), method),
    ),
    ...(['home', 'recommendations', 'popularTitles'] as const).map((method) =>
      vi.spyOn(app.get(HomeService), method),
    ),
    vi.spyOn(app.get(PlaybackService), 'record'),
    vi.spyOn(app.get(GoldService), 'listDatasets'),
  ];
  return () => spies.reduce((calls, spy) => calls + spy.mock.calls.length, 0);
};
