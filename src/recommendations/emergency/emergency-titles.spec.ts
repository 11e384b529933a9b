import { readFile, stat } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { isAvailable } from '../../catalog/catalog-title.js';
import { catalogRecordOf } from '../../catalog/testing/catalog-records.js';
import { deviceClasses } from '../../gold/contract/common.schema.js';
import type { PopularRecord } from '../../gold/contract/popular.schema.js';
import { SAMPLE_COUNTRIES } from '../../gold/sample/sample-markets.js';
import { buildHomePage, personalRowKinds } from '../home-page.builder.js';
import { resolveRowLimits } from '../row-limits.js';
import {
  buildEmergencyListJson,
  EMERGENCY_LIST_PATH,
  EMERGENCY_SOURCE,
  selectEmergencyList,
} from './build-emergency-list.js';
import { emergencyPopular, emergencyTitles } from './emergency-titles.js';

/** A day long after the bundle was made: its titles must still be licensed. */
const LATER = '2031-06-01';

describe(emergencyTitles.name, () => {
  it('holds about sixty titles for every sample country, in a small file', async () => {
    const { titles, byCountry, global } = emergencyTitles();
    expect((await stat(EMERGENCY_LIST_PATH)).size).toBeLessThan(200_000);
    expect(titles.size).toBeGreaterThanOrEqual(50);
    expect(titles.size).toBeLessThanOrEqual(80);
    expect(new Set(global)).toEqual(new Set(titles.keys()));
    expect(Object.keys(byCountry).sort()).toEqual([...SAMPLE_COUNTRIES].sort());
    for (const country of SAMPLE_COUNTRIES) {
      const list = byCountry[country]!;
      // Enough for the longest default row (WEB, 25).
      expect(list.length, country).toBeGreaterThanOrEqual(25);
      expect(new Set(list).size).toBe(list.length);
      for (const titleId of list)
        expect(isAvailable(titles.get(titleId)!, country, LATER), titleId).toBe(true);
    }
  });

  it('keeps titles for kids profiles', () => {
    const levels = [...emergencyTitles().titles.values()].map((title) => title.maturityLevel);
    expect(levels.filter((level) => level === 1).length).toBeGreaterThanOrEqual(8);
    expect(levels.filter((level) => level <= 2).length).toBeGreaterThanOrEqual(16);
  });

  it('serves a full page of popular rows in every country without any other dependency', () => {
    const { catalog } = emergencyTitles();
    for (const country of SAMPLE_COUNTRIES) {
      for (const device of deviceClasses) {
        const limits = resolveRowLimits(device);
        const page = buildHomePage({
          catalog,
          context: { country, day: LATER, maturityLevel: 4, watched: new Set() },
          profile: null,
          progress: [],
          popular: emergencyPopular(country),
          limits,
        });
        expect(page[0]).toMatchObject({ kind: 'TRENDING' });
        expect(page[0]!.titles.length).toBe(limits.titlesPerRow);
        for (const row of page) expect(personalRowKinds.has(row.kind)).toBe(false);
      }
    }
  });

  it('falls back to the global list for an unknown country', () => {
    expect(emergencyPopular('XX')).toBe(emergencyTitles().global);
  });

  it('is loaded once', () => {
    expect(emergencyTitles()).toBe(emergencyTitles());
  });
});

describe(selectEmergencyList.name, () => {
  const source = { ...EMERGENCY_SOURCE, asOf: '2021-10-01' };
  const open = (titleId: string, countries: string[], maturityLevel = 3) =>
    catalogRecordOf({
      titleId,
      maturityLevel,
      availability: countries.map((country) => ({ country, from: '2020-01-01', to: null })),
    });

  it('ranks by member-weighted popularity, keeps each market its own favourites and skips ending licences', () => {
    const catalog = [
      open('global-1', ['US', 'NZ']),
      open('global-2', ['US', 'NZ']),
      open('kiwi', ['NZ']),
      catalogRecordOf({
        titleId: 'leaving',
        availability: [{ country: 'US', from: '2020-01-01', to: '2021-12-31' }],
      }),
      open('kids', ['US'], 1),
    ];
    const popular: PopularRecord[] = [
      { country: 'US', device: 'TV', titleIds: ['leaving', 'global-1', 'global-2', 'kids'] },
      { country: 'NZ', device: 'TV', titleIds: ['kiwi', 'global-2', 'global-1'] },
    ];
    const list = selectEmergencyList(catalog, popular, source, 3);
    expect(list.global).toEqual(['global-1', 'global-2', 'kids', 'kiwi']);
    expect(list.byCountry).toEqual({
      NZ: ['kiwi', 'global-2', 'global-1'],
      US: ['global-1', 'global-2', 'kids'],
    });
    expect(list.titles.map((record) => record.titleId)).toEqual(list.global);
  });
});

describe(buildEmergencyListJson.name, () => {
  it('makes exactly the bundled file from the sample gold', async () => {
    expect(await buildEmergencyListJson()).toBe(await readFile(EMERGENCY_LIST_PATH, 'utf8'));
  }, 120_000);
});
