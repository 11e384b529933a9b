import { describe, expect, it } from 'vitest';

import type { GoldDatasetName } from '../gold/contract/gold-datasets.js';
import { DegradedReason } from '../recommendations/models/response-meta.model.js';
import { dependencyOf } from './episode-dependency.js';

describe('dependencyOf', () => {
  const none = () => [];

  it('names Cosmos, Redis or the profiles dataset for each degraded reason', () => {
    expect(
      Object.values(DegradedReason)
        .filter((reason) => reason !== DegradedReason.PIPELINE_LAG)
        .map((reason) => [reason, dependencyOf(reason, 'home', none)]),
    ).toEqual([
      ['STORE_UNAVAILABLE', 'cosmos'],
      ['STORE_THROTTLED', 'cosmos'],
      ['CACHE_UNAVAILABLE', 'redis'],
      ['TIMEOUT', 'cosmos'],
      ['NO_PROFILE_DATA', 'gold:profiles'],
    ]);
    expect(dependencyOf('SOMETHING_NEW', 'home', none)).toBe('unknown');
  });

  it('names the lagging datasets among those the operation reads for PIPELINE_LAG', () => {
    const asked: (readonly GoldDatasetName[])[] = [];
    const lagging = (late: GoldDatasetName[]) => (datasets: readonly GoldDatasetName[]) => {
      asked.push(datasets);
      return datasets.filter((dataset) => late.includes(dataset));
    };
    expect(dependencyOf('PIPELINE_LAG', 'home', lagging(['profiles', 'popular']))).toBe(
      'gold:profiles+popular',
    );
    expect(dependencyOf('PIPELINE_LAG', 'recommendations', lagging(['profiles']))).toBe('gold:profiles');
    expect(dependencyOf('PIPELINE_LAG', 'popular', lagging(['profiles']))).toBe('gold');
    expect(dependencyOf('PIPELINE_LAG', 'popular', lagging(['popular']))).toBe('gold:popular');
    expect(asked).toEqual([['profiles', 'popular'], ['profiles', 'popular'], ['popular'], ['popular']]);
  });
});
