import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import { parseNetflixCsv } from '../gold/sample/netflix-csv.js';
import type { BrowseFilter } from './catalog-cursor.js';
import { CatalogSnapshot, type TitlePage } from './catalog-snapshot.js';
import { isAvailable, type CatalogTitle } from './catalog-title.js';
import { CatalogError, CatalogErrorCode } from './catalog.errors.js';
import { catalogRecordOf } from './testing/catalog-records.js';

const TODAY = '2026-03-15';
const GENRES = ['Comedies', 'Dramas', 'Documentaries', 'Horror'];
const COUNTRIES = ['US', 'FR', 'JP'];

// Few distinct dates (and nulls) so that ties on addedAt are common and the id tiebreak matters.
const addedAtArb = fc.option(
  fc.constantFrom(
    '2020-01-01T00:00:00Z',
    '2021-06-30T12:00:00Z',
    '2021-06-30T12:00:00+02:00',
    '2025-12-31T23:59:59Z',
  ),
  {
    nil: null,
  },
);
const windowArb = fc.record({
  country: fc.constantFrom(...COUNTRIES),
  from: fc.constantFrom('2026-03-14', '2026-03-15', '2026-03-16'),
  to: fc.constantFrom(null, '2026-03-14', '2026-03-15', '2026-03-16'),
});
const recordArb = (titleId: string): fc.Arbitrary<CatalogRecord> =>
  fc
    .record({
      kind: fc.constantFrom('MOVIE' as const, 'SHOW' as const),
      genres: fc.subarray(GENRES),
      addedAt: addedAtArb,
      availability: fc.array(windowArb, { maxLength: 3 }),
    })
    .map(({ kind, genres, addedAt, availability }) =>
      catalogRecordOf({
        titleId,
        kind,
        genres,
        addedAt,
        availability: availability.filter((window) => window.to === null || window.to >= window.from),
        durationMinutes: kind === 'MOVIE' ? 90 : null,
        seasonCount: kind === 'SHOW' ? 2 : null,
      }),
    );
const catalogueArb = (ids: readonly string[]): fc.Arbitrary<CatalogRecord[]> =>
  fc.tuple(...ids.map((id) => recordArb(id)));
const idsArb = fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,4}$/), { maxLength: 40 });
const filterArb: fc.Arbitrary<BrowseFilter> = fc.record(
  {
    genre: fc.constantFrom(...GENRES, 'Unknown genre'),
    kind: fc.constantFrom('MOVIE' as const, 'SHOW' as const),
    availableIn: fc.constantFrom(...COUNTRIES, 'DE'),
  },
  { requiredKeys: [] },
);

/** Browse order and filters, written out naively. */
const expectedBrowse = (records: readonly CatalogRecord[], filter: BrowseFilter, today = TODAY): string[] =>
  records
    .filter(
      (record) =>
        (filter.genre === undefined || record.genres.includes(filter.genre)) &&
        (filter.kind === undefined || record.kind === filter.kind) &&
        (filter.availableIn === undefined || isAvailable(record, filter.availableIn, today)),
    )
    .map((record) => ({
      id: record.titleId,
      time: record.addedAt === null ? -Infinity : Date.parse(record.addedAt),
    }))
    .sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(({ id }) => id);

const idsOf = (page: TitlePage): string[] => page.edges.map((edge) => edge.node.id);

/** Every page from `after` on, checking the page invariants on the way. */
const pageThrough = (
  snapshot: CatalogSnapshot,
  filter: BrowseFilter,
  first: number,
  after?: string,
): string[] => {
  const seen: string[] = [];
  let cursor = after;
  // A page that does not move on would loop forever: no listing has more pages than titles.
  for (let pages = 0; pages <= snapshot.size; pages++) {
    const page = snapshot.browse(filter, first, cursor, TODAY);
    expect(page.edges.length).toBeLessThanOrEqual(first);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
    seen.push(...idsOf(page));
    if (!page.pageInfo.hasNextPage) return seen;
    expect(page.edges).toHaveLength(first);
    cursor = page.pageInfo.endCursor ?? undefined;
  }
  throw new Error('paging did not come to an end');
};

describe(CatalogSnapshot.name, () => {
  describe('titles', () => {
    const snapshot = CatalogSnapshot.build('s1', [
      catalogRecordOf({ titleId: 'b', name: 'Bravo', genres: ['Dramas', 'Comedies', 'Dramas'] }),
      catalogRecordOf({
        titleId: 'a',
        name: 'Alpha',
        genres: ['comedy', 'Ánime'],
        addedAt: '2021-06-30T14:00:00+02:00',
      }),
      catalogRecordOf({ titleId: 'a', name: 'Alpha again' }),
    ]);

    it('gets a title by id, with addedAt as a UTC instant, and null for an unknown id', () => {
      expect(snapshot.get('a')).toMatchObject({
        id: 'a',
        name: 'Alpha',
        addedAt: new Date('2021-06-30T12:00:00Z'),
      });
      expect(snapshot.get('zzz')).toBeNull();
      expect(snapshot.size).toBe(2);
    });

    it('gets many titles in the order asked, null for unknown ids', () => {
      expect(snapshot.getMany(['b', 'x', 'a', 'b']).map((title) => title?.name ?? null)).toEqual([
        'Bravo',
        null,
        'Alpha',
        'Bravo',
      ]);
    });

    it('lists distinct genres alphabetically', () => {
      expect(snapshot.genres()).toEqual(['Ánime', 'Comedies', 'comedy', 'Dramas']);
    });

    it('lists a title once under a genre its record repeats', () => {
      expect(idsOf(snapshot.browse({ genre: 'Dramas' }, 10, undefined, TODAY))).toEqual(['b']);
    });

    it('refuses empty or whitespace-only search text as a bad argument', () => {
      for (const text of ['', '   ', '\t\n']) {
        expect(() => snapshot.search(text, 10)).toThrow(
          expect.objectContaining({ code: CatalogErrorCode.BAD_ARGUMENT, argument: 'text' }),
        );
      }
      expect(snapshot.search('alp', 10).map((title) => title.id)).toEqual(['a']);
      expect(snapshot.search('?!', 10)).toEqual([]);
    });

    it('ranks equal search matches by title id whatever the order of the records', () => {
      fc.assert(
        fc.property(fc.shuffledSubarray(['t3', 't1', 't2', 't10', 't0'], { minLength: 5 }), (ids) => {
          const shuffled = CatalogSnapshot.build(
            's',
            ids.map((titleId) => catalogRecordOf({ titleId, name: 'Same' })),
          );
          expect(shuffled.search('same', 10).map((title) => title.id)).toEqual([
            't0',
            't1',
            't10',
            't2',
            't3',
          ]);
        }),
      );
    });
  });

  describe('availability', () => {
    const title = (availability: CatalogRecord['availability']) => ({ availability });

    it.each([
      ['2026-03-09', false],
      ['2026-03-10', true],
      ['2026-03-15', true],
      ['2026-03-20', true],
      ['2026-03-21', false],
    ])('a window from 2026-03-10 to 2026-03-20 on %s: %s', (day, expected) => {
      expect(isAvailable(title([{ country: 'US', from: '2026-03-10', to: '2026-03-20' }]), 'US', day)).toBe(
        expected,
      );
    });

    it('a window of one day holds on that day only', () => {
      const oneDay = title([{ country: 'US', from: '2026-03-10', to: '2026-03-10' }]);
      expect(['2026-03-09', '2026-03-10', '2026-03-11'].map((day) => isAvailable(oneDay, 'US', day))).toEqual(
        [false, true, false],
      );
    });

    it('an open-ended window starts on its first day and never ends', () => {
      const open = title([{ country: 'US', from: '2026-03-10', to: null }]);
      expect(isAvailable(open, 'US', '2026-03-09')).toBe(false);
      expect(isAvailable(open, 'US', '2026-03-10')).toBe(true);
      expect(isAvailable(open, 'US', '9999-12-31')).toBe(true);
    });

    it('is judged per country and holds in any of several windows, not in the gap between them', () => {
      const split = title([
        { country: 'US', from: '2026-01-01', to: '2026-01-31' },
        { country: 'US', from: '2026-03-01', to: null },
        { country: 'FR', from: '2026-02-01', to: '2026-02-28' },
      ]);
      expect(isAvailable(split, 'US', '2026-01-31')).toBe(true);
      expect(isAvailable(split, 'US', '2026-02-15')).toBe(false);
      expect(isAvailable(split, 'FR', '2026-02-15')).toBe(true);
      expect(isAvailable(split, 'US', '2026-03-01')).toBe(true);
      expect(isAvailable(split, 'JP', '2026-03-01')).toBe(false);
      expect(isAvailable(title([]), 'US', '2026-03-01')).toBe(false);
    });

    it('filters browse by the day it is given', () => {
      const snapshot = CatalogSnapshot.build('s1', [
        catalogRecordOf({
          titleId: 'ends',
          availability: [{ country: 'US', from: '2026-01-01', to: '2026-03-14' }],
        }),
        catalogRecordOf({
          titleId: 'starts',
          availability: [{ country: 'US', from: '2026-03-15', to: null }],
        }),
      ]);
      expect(idsOf(snapshot.browse({ availableIn: 'US' }, 10, undefined, '2026-03-14'))).toEqual(['ends']);
      expect(idsOf(snapshot.browse({ availableIn: 'US' }, 10, undefined, '2026-03-15'))).toEqual(['starts']);
      expect(snapshot.browse({ availableIn: 'FR' }, 10, undefined, '2026-03-15').totalCount).toBe(0);
    });
  });

  describe('browse', () => {
    it('pages through every matching title exactly once, in order, for any filters and page size', () => {
      fc.assert(
        fc.property(
          idsArb.chain((ids) => catalogueArb(ids)),
          filterArb,
          fc.integer({ min: 1, max: 12 }),
          (records, filter, first) => {
            const snapshot = CatalogSnapshot.build('s1', records);
            const expected = expectedBrowse(records, filter);
            expect(pageThrough(snapshot, filter, first)).toEqual(expected);
            expect(snapshot.browse(filter, first, undefined, TODAY).totalCount).toBe(expected.length);
          },
        ),
      );
    });

    it('continues after the last title seen when a new snapshot added and removed titles', () => {
      fc.assert(
        fc.property(
          idsArb.chain((ids) => catalogueArb(ids)),
          fc
            .uniqueArray(fc.stringMatching(/^[a-z0-9]{5}$/), { maxLength: 10 })
            .chain((ids) => catalogueArb(ids)),
          fc.func(fc.boolean()),
          filterArb,
          fc.integer({ min: 1, max: 5 }),
          (before, added, removed, filter, first) => {
            const old = CatalogSnapshot.build('s1', before);
            const firstPage = old.browse(filter, first, undefined, TODAY);
            fc.pre(firstPage.pageInfo.endCursor !== null);
            const lastSeen = old.get(firstPage.edges.at(-1)?.node.id ?? '') as CatalogTitle;
            const after = [...before.filter((record) => !removed(record.titleId)), ...added];
            const next = CatalogSnapshot.build('s2', after);

            const rest = pageThrough(next, filter, first, firstPage.pageInfo.endCursor ?? undefined);
            // Exactly the titles of the new snapshot that sort after the last title seen.
            const order = expectedBrowse(
              [...after.filter((record) => record.titleId !== lastSeen.id), toRecord(lastSeen)],
              filter,
            );
            expect(order).toContain(lastSeen.id);
            expect(rest).toEqual(order.slice(order.indexOf(lastSeen.id) + 1));
          },
        ),
      );
    });

    it('rejects a cursor issued for other filters, and a malformed one', () => {
      const snapshot = CatalogSnapshot.build('s1', [
        catalogRecordOf({ titleId: 'a' }),
        catalogRecordOf({ titleId: 'b' }),
      ]);
      const page = snapshot.browse({ kind: 'MOVIE' }, 1, undefined, TODAY);
      const cursor = page.pageInfo.endCursor ?? '';
      expect(() => snapshot.browse({ kind: 'SHOW' }, 1, cursor, TODAY)).toThrow(CatalogError);
      expect(() => snapshot.browse({ kind: 'MOVIE' }, 1, 'nope', TODAY)).toThrow(
        expect.objectContaining({ code: CatalogErrorCode.INVALID_CURSOR }),
      );
      expect(idsOf(snapshot.browse({ kind: 'MOVIE' }, 1, cursor, TODAY))).toEqual(['b']);
    });
  });

  describe('built from the real catalogue', () => {
    const { titles } = parseNetflixCsv(
      readFileSync(new URL('../../data/netflix_titles.csv', import.meta.url)),
    );
    const records = titles.map((title) =>
      catalogRecordOf({
        titleId: title.showId,
        kind: title.kind,
        name: title.name,
        genres: title.genres,
        cast: title.cast,
        directors: title.directors,
        durationMinutes: title.durationMinutes,
        seasonCount: title.seasonCount,
        addedAt: title.addedAt === null ? null : `${title.addedAt}T00:00:00Z`,
      }),
    );

    it('builds in the background to the same catalogue as at once', async () => {
      const snapshot = await CatalogSnapshot.buildInBackground('netflix', records, 500);
      const atOnce = CatalogSnapshot.build('netflix', records);
      expect(snapshot.size).toBe(titles.length);
      expect(snapshot.genres()).toEqual(atOnce.genres());
      for (const text of ['pokemon', 'dugun', 'tom hanks', 'the', 'a']) {
        expect(snapshot.search(text, 20)).toEqual(atOnce.search(text, 20));
      }
    });

    it('finds titles by name without accents, and by cast', () => {
      const snapshot = CatalogSnapshot.build('netflix', records);
      expect(snapshot.search('pokemon', 50).every((title) => title.name.startsWith('Pokémon'))).toBe(true);
      expect(snapshot.search('dugun dernek', 5).map((title) => title.name)).toEqual([
        'Düğün Dernek',
        'Dügün Dernek 2: Sünnet',
      ]);
      expect(snapshot.search('tom hanks', 5)[0]?.cast).toContain('Tom Hanks');
      expect(snapshot.search('blood & wa', 5)[0]?.name).toBe('Blood & Water');
    });
  });
});

/** The record a title came from, enough for browse order and filters. */
const toRecord = (title: CatalogTitle): CatalogRecord =>
  catalogRecordOf({
    titleId: title.id,
    kind: title.kind,
    genres: [...title.genres],
    addedAt: title.addedAt?.toISOString() ?? null,
    availability: [...title.availability],
  });
