import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { catalogRecordOf } from '../catalog/testing/catalog-records.js';
import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import type { ProfileRecord } from '../gold/contract/profiles.schema.js';
import {
  COMPLETED_FRACTION,
  isServable,
  mergeProgress,
  PageFilter,
  serveContextOf,
  type PlaybackProgress,
  type ServeContext,
} from './serve-rules.js';

const DAY = '2026-03-15';
const COUNTRIES = ['US', 'FR', 'JP'];
const IDS = Array.from({ length: 24 }, (_, i) => `t${i}`);

const windowArb = fc
  .record({
    country: fc.constantFrom(...COUNTRIES),
    from: fc.constantFrom('2026-03-14', '2026-03-15', '2026-03-16'),
    to: fc.constantFrom(null, '2026-03-14', '2026-03-15', '2026-03-16'),
  })
  .filter((window) => window.to === null || window.to >= window.from);

/** A catalogue of some of IDS (the rest are unknown ids) with random levels and licences. */
const catalogueArb = fc
  .uniqueArray(
    fc.record({
      titleId: fc.constantFrom(...IDS),
      maturityLevel: fc.integer({ min: 1, max: 4 }),
      availability: fc.array(windowArb, { maxLength: 3 }),
    }),
    { selector: (record) => record.titleId, maxLength: IDS.length },
  )
  .map((fields) => fields.map((field): CatalogRecord => catalogRecordOf(field)));

const contextArb: fc.Arbitrary<ServeContext> = fc.record({
  country: fc.constantFrom(...COUNTRIES, 'DE'),
  day: fc.constantFrom('2026-03-14', '2026-03-15', '2026-03-16', '2026-03-17'),
  maturityLevel: fc.integer({ min: 1, max: 4 }),
  watched: fc.uniqueArray(fc.constantFrom(...IDS), { maxLength: 8 }).map((ids) => new Set(ids)),
});

const profileOf = (fields: Partial<ProfileRecord>): ProfileRecord => ({
  profileId: 'p1',
  accountId: 'a1',
  country: 'US',
  language: 'en',
  kids: false,
  maturityLevel: 3,
  marketingConsent: false,
  watched: [],
  continueWatching: [],
  recommendations: [],
  tasteGenres: [],
  segments: [],
  ...fields,
});

describe(PageFilter.name, () => {
  it('takes, row after row, exactly the titles the rules allow and no title twice', () => {
    fc.assert(
      fc.property(
        catalogueArb,
        contextArb,
        fc.array(fc.record({ ids: fc.array(fc.constantFrom(...IDS, 'unknown')), limit: fc.nat(10) }), {
          maxLength: 5,
        }),
        fc.uniqueArray(fc.constantFrom(...IDS), { maxLength: 4 }),
        (records, context, rows, alsoWatched) => {
          const catalog = CatalogSnapshot.build('c', records);
          const filter = new PageFilter(catalog, context, new Set(alsoWatched));
          const byId = new Map(records.map((record) => [record.titleId, record]));
          const seen = new Set<string>();
          for (const { ids, limit } of rows) {
            const expected: string[] = [];
            for (const id of ids) {
              const record = byId.get(id);
              const allowed =
                record !== undefined &&
                !seen.has(id) &&
                !context.watched.has(id) &&
                !alsoWatched.includes(id) &&
                record.maturityLevel <= context.maturityLevel &&
                record.availability.some(
                  (w) =>
                    w.country === context.country &&
                    w.from <= context.day &&
                    (w.to === null || context.day <= w.to),
                );
              if (allowed && expected.length < limit) {
                expected.push(id);
                seen.add(id);
              }
            }
            expect(filter.takeIds(ids, limit).map((title) => title.id)).toEqual(expected);
          }
          for (const id of IDS) expect(filter.has(id)).toBe(seen.has(id));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('counts licence windows inclusively at both ends', () => {
    const catalog = CatalogSnapshot.build('c', [
      catalogRecordOf({ titleId: 'starts', availability: [{ country: 'US', from: DAY, to: null }] }),
      catalogRecordOf({ titleId: 'ends', availability: [{ country: 'US', from: '2026-01-01', to: DAY }] }),
      catalogRecordOf({ titleId: 'later', availability: [{ country: 'US', from: '2026-03-16', to: null }] }),
      catalogRecordOf({
        titleId: 'ended',
        availability: [{ country: 'US', from: '2026-01-01', to: '2026-03-14' }],
      }),
      catalogRecordOf({
        titleId: 'elsewhere',
        availability: [{ country: 'FR', from: '2026-01-01', to: null }],
      }),
      catalogRecordOf({
        titleId: 'relicensed',
        availability: [
          { country: 'US', from: '2025-01-01', to: '2025-06-30' },
          { country: 'US', from: '2026-03-01', to: null },
        ],
      }),
    ]);
    const filter = new PageFilter(catalog, { country: 'US', day: DAY, maturityLevel: 4, watched: new Set() });
    expect(
      filter
        .takeIds(['starts', 'ends', 'later', 'ended', 'elsewhere', 'relicensed'], 10)
        .map((title) => title.id),
    ).toEqual(['starts', 'ends', 'relicensed']);
  });

  it('refuses a title above the maturity level and a watched one', () => {
    const catalog = CatalogSnapshot.build('c', [
      catalogRecordOf({ titleId: 'kids', maturityLevel: 1 }),
      catalogRecordOf({ titleId: 'teens', maturityLevel: 3 }),
      catalogRecordOf({ titleId: 'adults', maturityLevel: 4 }),
    ]);
    const context = { country: 'US', day: DAY, maturityLevel: 3, watched: new Set(['kids']) };
    expect(isServable(catalog.get('adults')!, context)).toBe(false);
    expect(isServable(catalog.get('kids')!, context)).toBe(false);
    expect(
      new PageFilter(catalog, context).takeIds(['adults', 'teens', 'kids'], 10).map((t) => t.id),
    ).toEqual(['teens']);
  });
});

const progressArb = fc.record({
  titleId: fc.constantFrom('a', 'b', 'c', 'd'),
  positionSeconds: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(-1, Number.NaN)),
  durationSeconds: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 1000 }) }, fc.constant(0)),
  updatedAt: fc.oneof(
    fc.integer({ min: 0, max: 5 }).map((hour) => `2026-03-14T0${hour}:00:00Z`),
    fc.integer({ min: 0, max: 5 }).map((hour) => new Date(Date.UTC(2026, 2, 14, hour))),
    // The same instants in another offset, and an unreadable date.
    fc.integer({ min: 2, max: 5 }).map((hour) => `2026-03-14T0${hour}:00:00+02:00`),
    fc.constant('yesterday'),
  ),
});

describe(mergeProgress.name, () => {
  const timeOf = (entry: PlaybackProgress): number =>
    typeof entry.updatedAt === 'string' ? Date.parse(entry.updatedAt) : entry.updatedAt.getTime();
  const valid = (entry: PlaybackProgress): boolean =>
    !Number.isNaN(timeOf(entry)) && entry.durationSeconds > 0 && entry.positionSeconds >= 0;

  it('keeps per title the newest valid entry, live winning ties, and splits finished from in progress', () => {
    fc.assert(
      fc.property(
        fc.array(progressArb, { maxLength: 8 }),
        fc.array(progressArb, { maxLength: 8 }),
        (gold, live) => {
          const { inProgress, completed } = mergeProgress(gold, live);
          const all = [...gold, ...live];
          const titles = new Set(all.filter(valid).map((entry) => entry.titleId));
          expect(new Set([...inProgress.map((entry) => entry.titleId), ...completed])).toEqual(titles);
          for (const titleId of titles) {
            const candidates = all.filter((entry) => entry.titleId === titleId && valid(entry));
            const newest = Math.max(...candidates.map(timeOf));
            // Among equally new entries the last one given wins (live comes after gold).
            const winner = candidates.filter((entry) => timeOf(entry) === newest).at(-1)!;
            const finished = winner.positionSeconds > COMPLETED_FRACTION * winner.durationSeconds;
            expect(completed.has(titleId)).toBe(finished);
            if (!finished) expect(inProgress.find((entry) => entry.titleId === titleId)).toBe(winner);
          }
          const times = inProgress.map(timeOf);
          expect(times).toEqual([...times].sort((a, b) => b - a));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps exactly 95 % in progress and moves anything past it to finished', () => {
    const at = (titleId: string, positionSeconds: number): PlaybackProgress => ({
      titleId,
      positionSeconds,
      durationSeconds: 2000,
      updatedAt: '2026-03-14T00:00:00Z',
    });
    const { inProgress, completed } = mergeProgress([at('a', 1900), at('b', 1901)], [at('c', 2000)]);
    expect(inProgress.map((entry) => entry.titleId)).toEqual(['a']);
    expect([...completed].sort()).toEqual(['b', 'c']);
  });
});

describe(serveContextOf.name, () => {
  it('takes the profile level and counts finished progress as watched', () => {
    const profile = profileOf({
      maturityLevel: 2,
      watched: ['w'],
      continueWatching: [
        { titleId: 'g', positionSeconds: 99, durationSeconds: 100, updatedAt: '2026-03-01T00:00:00Z' },
      ],
    });
    const live = [
      { titleId: 'l', positionSeconds: 100, durationSeconds: 100, updatedAt: '2026-03-14T00:00:00Z' },
    ];
    const context = serveContextOf({
      country: 'US',
      day: DAY,
      profile,
      progress: live,
      maturityLevelWhenUnknown: 4,
    });
    expect(context).toEqual({ country: 'US', day: DAY, maturityLevel: 2, watched: new Set(['w', 'g', 'l']) });
  });

  it('uses the caller policy and no watched titles without a profile', () => {
    expect(serveContextOf({ country: 'FR', day: DAY, profile: null, maturityLevelWhenUnknown: 2 })).toEqual({
      country: 'FR',
      day: DAY,
      maturityLevel: 2,
      watched: new Set(),
    });
  });
});
