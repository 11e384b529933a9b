import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { AvailabilityWindow } from '../contract/catalog.schema.js';
import { CAST_CONSIDERED, CatalogIndex, type IndexableTitle } from './catalog-index.js';
import { isoDateOf } from './sample-dates.js';
import { type Recommendation, Recommender, tasteGenresOf } from './sample-recommender.js';

const AS_OF_DAY = 18_900; // 2021-09-30
const COUNTRIES = ['AA', 'BB'];
const GENRES = ['Dramas', 'Comedies', 'Thrillers', 'Documentaries', "Kids' TV"];
const PEOPLE = ['Ada', 'Ben', 'Cy', 'Dee', 'Eve', 'Fox', 'Gus', 'Hal', 'Ivy', 'Jo'];

type WindowMode = 'none' | 'open' | 'expired' | 'future' | 'fixed';

const windowsFor = (country: string, mode: WindowMode): AvailabilityWindow[] => {
  switch (mode) {
    case 'none':
      return [];
    case 'open':
      return [{ country, from: isoDateOf(AS_OF_DAY - 100), to: null }];
    case 'expired':
      return [{ country, from: isoDateOf(AS_OF_DAY - 300), to: isoDateOf(AS_OF_DAY - 1) }];
    case 'future':
      return [{ country, from: isoDateOf(AS_OF_DAY + 1), to: null }];
    case 'fixed':
      return [{ country, from: isoDateOf(AS_OF_DAY), to: isoDateOf(AS_OF_DAY) }];
  }
};

const titleArb = fc.record({
  kind: fc.constantFrom('MOVIE' as const, 'SHOW' as const),
  genres: fc.uniqueArray(fc.constantFrom(...GENRES), { minLength: 1, maxLength: 3 }),
  cast: fc.uniqueArray(fc.constantFrom(...PEOPLE), { maxLength: 10 }),
  directors: fc.uniqueArray(fc.constantFrom(...PEOPLE), { maxLength: 2 }),
  maturityLevel: fc.integer({ min: 1, max: 4 }),
  windows: fc.tuple(
    fc.constantFrom<WindowMode>('none', 'open', 'open', 'open', 'expired', 'future', 'fixed'),
    fc.constantFrom<WindowMode>('none', 'open', 'open', 'open', 'expired', 'future', 'fixed'),
  ),
  popularity: fc.integer({ min: 1, max: 1000 }),
});

const scenarioArb = fc.array(titleArb, { minLength: 1, maxLength: 40 }).chain((titles) =>
  fc.record({
    titles: fc.constant(titles),
    watched: fc.uniqueArray(fc.integer({ min: 0, max: titles.length - 1 }), { maxLength: titles.length }),
    maturityLevel: fc.integer({ min: 1, max: 4 }),
    countryIndex: fc.integer({ min: 0, max: COUNTRIES.length - 1 }),
    limit: fc.integer({ min: 1, max: 30 }),
  }),
);

type GeneratedTitle = {
  kind: 'MOVIE' | 'SHOW';
  genres: string[];
  cast: string[];
  directors: string[];
  maturityLevel: number;
  windows: [WindowMode, WindowMode];
  popularity: number;
};

const buildIndex = (
  titles: readonly GeneratedTitle[],
): { index: CatalogIndex; catalog: IndexableTitle[] } => {
  const catalog = titles.map((title, i): IndexableTitle => ({
    // Ids deliberately not in index order, so ties by titleId are tested for real.
    titleId: `t${(i * 7) % 41}-${i}`,
    kind: title.kind,
    genres: title.genres,
    cast: title.cast,
    directors: title.directors,
    maturityLevel: title.maturityLevel,
    durationMinutes: title.kind === 'MOVIE' ? 90 : null,
    availability: COUNTRIES.flatMap((country, c) => windowsFor(country, title.windows[c] as WindowMode)),
  }));
  const popularity = Float64Array.from(titles, (title) => title.popularity);
  return { index: new CatalogIndex(catalog, popularity, COUNTRIES, AS_OF_DAY), catalog };
};

const availableNow = (title: IndexableTitle, country: string): boolean =>
  title.availability.some(
    (window) =>
      window.country === country &&
      window.from <= isoDateOf(AS_OF_DAY) &&
      (window.to === null || window.to >= isoDateOf(AS_OF_DAY)),
  );

describe('Recommender (property-based over generated catalogues)', () => {
  it('follows the recommendation rules', () => {
    fc.assert(
      fc.property(scenarioArb, ({ titles, watched, maturityLevel, countryIndex, limit }) => {
        const { index, catalog } = buildIndex(titles);
        const byId = new Map(catalog.map((title) => [title.titleId, title]));
        const country = COUNTRIES[countryIndex] as string;
        const watchedIds = new Set(watched.map((i) => catalog[i]!.titleId));
        const recommender = new Recommender(index);
        const recs = recommender.recommend({ watched, maturityLevel, countryIndex, limit });

        const eligible = catalog.filter(
          (title) =>
            !watchedIds.has(title.titleId) &&
            title.maturityLevel <= maturityLevel &&
            availableNow(title, country),
        );
        // Filler makes the list complete: as many as allowed, up to the limit.
        expect(recs).toHaveLength(Math.min(limit, eligible.length));
        expect(new Set(recs.map((rec) => rec.titleId)).size).toBe(recs.length);

        let seenPopular = false;
        recs.forEach((rec, i) => {
          const title = byId.get(rec.titleId)!;
          expect(watchedIds.has(rec.titleId)).toBe(false);
          expect(title.maturityLevel).toBeLessThanOrEqual(maturityLevel);
          expect(availableNow(title, country)).toBe(true);
          if (i > 0) {
            const previous = recs[i - 1] as Recommendation;
            expect(rec.score).toBeLessThanOrEqual(previous.score);
            if (rec.score === previous.score && rec.reason.kind !== 'POPULAR') {
              expect(previous.titleId < rec.titleId).toBe(true);
            }
          }
          const source = rec.reason.sourceTitleId === null ? undefined : byId.get(rec.reason.sourceTitleId);
          switch (rec.reason.kind) {
            case 'BECAUSE_YOU_WATCHED':
              expect(watchedIds.has(source!.titleId)).toBe(true);
              expect([...source!.genres].sort()).toEqual([...title.genres].sort());
              expect(rec.reason.detail).toBeNull();
              break;
            case 'CAST':
              expect(watchedIds.has(source!.titleId)).toBe(true);
              expect(source!.cast.slice(0, CAST_CONSIDERED)).toContain(rec.reason.detail);
              expect(title.cast.slice(0, CAST_CONSIDERED)).toContain(rec.reason.detail);
              break;
            case 'DIRECTOR':
              expect(watchedIds.has(source!.titleId)).toBe(true);
              expect(source!.directors).toContain(rec.reason.detail);
              expect(title.directors).toContain(rec.reason.detail);
              break;
            case 'GENRE':
              expect(rec.reason.sourceTitleId).toBeNull();
              expect(title.genres).toContain(rec.reason.detail);
              expect(watched.some((w) => catalog[w]!.genres.includes(rec.reason.detail as string))).toBe(
                true,
              );
              break;
            case 'POPULAR':
              expect(rec.reason).toEqual({ kind: 'POPULAR', sourceTitleId: null, detail: null });
              break;
          }
          if (rec.reason.kind === 'POPULAR') seenPopular = true;
          else expect(seenPopular).toBe(false); // filler only after the evidence-based titles
        });
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same answer whatever was recommended before (scratch state does not leak)', () => {
    fc.assert(
      fc.property(scenarioArb, scenarioArb, (first, other) => {
        const { index } = buildIndex(first.titles);
        const fresh = new Recommender(index).recommend(first);
        const reused = new Recommender(index);
        const otherWatched = other.watched.filter((i) => i < index.size);
        reused.recommend({ ...other, watched: otherWatched });
        expect(reused.recommend(first)).toEqual(fresh);
      }),
      { numRuns: 100 },
    );
  });

  it('with no history recommends only popular titles, most popular first', () => {
    const titles = [5, 50, 500].map((popularity, i) => ({
      kind: 'MOVIE' as const,
      genres: ['Dramas'],
      cast: [],
      directors: [],
      maturityLevel: 4,
      windows: ['open', 'open'] as [WindowMode, WindowMode],
      popularity: popularity + i,
    }));
    const { index, catalog } = buildIndex(titles);
    const recs = new Recommender(index).recommend({ watched: [], maturityLevel: 4, countryIndex: 0 });
    expect(recs.map((rec) => rec.titleId)).toEqual([
      catalog[2]!.titleId,
      catalog[1]!.titleId,
      catalog[0]!.titleId,
    ]);
    expect(recs.every((rec) => rec.reason.kind === 'POPULAR')).toBe(true);
  });

  it('prefers a shared director over a shared genre', () => {
    const base = {
      kind: 'MOVIE' as const,
      cast: [],
      maturityLevel: 4,
      windows: ['open', 'open'] as [WindowMode, WindowMode],
    };
    const { index, catalog } = buildIndex([
      { ...base, genres: ['Dramas'], directors: ['Ada'], popularity: 10 }, // watched
      { ...base, genres: ['Comedies'], directors: ['Ada'], popularity: 10 }, // same director
      { ...base, genres: ['Thrillers', 'Dramas'], directors: [], popularity: 10 }, // shares a genre
    ]);
    const recs = new Recommender(index).recommend({ watched: [0], maturityLevel: 4, countryIndex: 0 });
    expect(recs.map((rec) => rec.titleId)).toEqual([catalog[1]!.titleId, catalog[2]!.titleId]);
    expect(recs[0]!.reason).toEqual({ kind: 'DIRECTOR', sourceTitleId: catalog[0]!.titleId, detail: 'Ada' });
    expect(recs[1]!.reason).toEqual({ kind: 'GENRE', sourceTitleId: null, detail: 'Dramas' });
  });

  it('orders taste genres by count, then name', () => {
    const base = {
      kind: 'SHOW' as const,
      cast: [],
      directors: [],
      maturityLevel: 4,
      popularity: 1,
      windows: ['open', 'open'] as [WindowMode, WindowMode],
    };
    const { index } = buildIndex([
      { ...base, genres: ['Thrillers', 'Dramas'] },
      { ...base, genres: ['Dramas'] },
      { ...base, genres: ['Comedies'] },
    ]);
    expect(
      tasteGenresOf(index, [0, 1, 2]).map(({ genre, share }) => [index.genreNames[genre], share]),
    ).toEqual([
      ['Dramas', 0.5],
      ['Comedies', 0.25],
      ['Thrillers', 0.25],
    ]);
  });
});
