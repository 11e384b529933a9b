import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

import { profileRecord, type ProfileRecord } from '../contract/profiles.schema.js';
import { CatalogIndex } from './catalog-index.js';
import { parseNetflixCsv } from './netflix-csv.js';
import { buildSampleCatalog, type SampleCatalog } from './sample-catalog.js';
import { isoMidnightOf, parseIsoDate } from './sample-dates.js';
import { SAMPLE_COUNTRIES, SAMPLE_MARKETS } from './sample-markets.js';
import {
  CONTINUE_WATCHING_DAYS,
  EPISODE_SECONDS,
  MAX_CONTINUE_WATCHING,
  MAX_WATCHED,
  ProfileGenerator,
  type GeneratedProfile,
} from './sample-profiles.js';
import { SAMPLE_SEGMENTS, segmentsOf } from './sample-segments.js';

const AS_OF = '2021-10-01';
const AS_OF_DAY = parseIsoDate(AS_OF) as number;
const CSV_PATH = new URL('../../../data/netflix_titles.csv', import.meta.url);

let catalog: SampleCatalog;
let index: CatalogIndex;
let titleById: Map<string, SampleCatalog['records'][number]>;

beforeAll(() => {
  const { titles } = parseNetflixCsv(readFileSync(CSV_PATH));
  catalog = buildSampleCatalog(titles, { seed: 42, asOf: AS_OF });
  index = new CatalogIndex(catalog.records, catalog.popularity, SAMPLE_COUNTRIES, AS_OF_DAY);
  titleById = new Map(catalog.records.map((record) => [record.titleId, record]));
});

const availableOn = (titleId: string, country: string, day: string): boolean =>
  titleById
    .get(titleId)!
    .availability.some((w) => w.country === country && w.from <= day && (w.to === null || day <= w.to));
const everAvailable = (titleId: string, country: string): boolean =>
  titleById.get(titleId)!.availability.some((w) => w.country === country && w.from <= AS_OF);

/** Every rule a generated profile must follow. */
const checkProfile = (profile: GeneratedProfile): void => {
  const record: ProfileRecord = profile.record;
  expect(profileRecord.parse(record)).toEqual(record);
  const market = SAMPLE_MARKETS.find((m) => m.country === record.country)!;
  expect(market.languages.map(([tag]) => tag)).toContain(record.language);
  if (record.kids) {
    expect([1, 2]).toContain(record.maturityLevel);
    expect(record.marketingConsent).toBe(false);
  } else {
    expect([3, 4]).toContain(record.maturityLevel);
  }

  const watched = new Set(record.watched);
  expect(watched.size).toBe(record.watched.length);
  expect(record.watched.length).toBeLessThanOrEqual(MAX_WATCHED);
  for (const titleId of record.watched) {
    expect(titleById.get(titleId)!.maturityLevel).toBeLessThanOrEqual(record.maturityLevel);
    expect(everAvailable(titleId, record.country)).toBe(true);
  }

  expect(record.continueWatching.length).toBeLessThanOrEqual(MAX_CONTINUE_WATCHING);
  const earliest = isoMidnightOf(AS_OF_DAY - CONTINUE_WATCHING_DAYS);
  const asOfMidnight = isoMidnightOf(AS_OF_DAY);
  record.continueWatching.forEach((entry, i) => {
    const title = titleById.get(entry.titleId)!;
    expect(watched.has(entry.titleId)).toBe(false);
    expect(title.maturityLevel).toBeLessThanOrEqual(record.maturityLevel);
    expect(availableOn(entry.titleId, record.country, AS_OF)).toBe(true);
    expect(entry.durationSeconds).toBe(title.kind === 'SHOW' ? EPISODE_SECONDS : title.durationMinutes! * 60);
    expect(entry.positionSeconds).toBeLessThan(entry.durationSeconds);
    expect(entry.updatedAt >= earliest && entry.updatedAt < asOfMidnight).toBe(true);
    if (i > 0) expect(entry.updatedAt <= record.continueWatching[i - 1]!.updatedAt).toBe(true);
  });
  expect(new Set(record.continueWatching.map((entry) => entry.titleId)).size).toBe(
    record.continueWatching.length,
  );

  expect(record.recommendations.length).toBeGreaterThan(0);
  expect(record.recommendations.length).toBeLessThanOrEqual(100);
  record.recommendations.forEach((rec, i) => {
    expect(watched.has(rec.titleId)).toBe(false);
    expect(titleById.get(rec.titleId)!.maturityLevel).toBeLessThanOrEqual(record.maturityLevel);
    expect(availableOn(rec.titleId, record.country, AS_OF)).toBe(true);
    if (i > 0) expect(rec.score).toBeLessThanOrEqual(record.recommendations[i - 1]!.score);
    if (rec.reason.sourceTitleId !== null) expect(watched.has(rec.reason.sourceTitleId)).toBe(true);
  });
  if (record.watched.length === 0) {
    expect(record.recommendations.every((rec) => rec.reason.kind === 'POPULAR')).toBe(true);
  }

  const watchedGenres = new Set(record.watched.flatMap((titleId) => titleById.get(titleId)!.genres));
  expect(record.tasteGenres.every((genre) => watchedGenres.has(genre))).toBe(true);
  expect(record.tasteGenres.length).toBe(Math.min(5, watchedGenres.size));

  expect(profile.facts.watchedCount).toBe(record.watched.length);
  expect(profile.facts.kids).toBe(record.kids);
  expect(record.segments).toEqual(segmentsOf(profile.facts));
  if (record.segments.includes('lapsed-viewers')) expect(record.continueWatching).toEqual([]);
};

describe('ProfileGenerator', () => {
  it('generates valid, rule-abiding accounts for any seed (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (seed, accountIndex) => {
          const account = new ProfileGenerator(index, { seed }).account(accountIndex);
          expect(account.profiles.length).toBeGreaterThanOrEqual(1);
          expect(account.profiles.length).toBeLessThanOrEqual(5);
          expect(account.profiles.every((p) => p.record.accountId === account.accountId)).toBe(true);
          expect(account.profiles.every((p) => p.record.country === account.country)).toBe(true);
          expect(account.profiles[0]!.record.kids).toBe(false); // the account holder
          const hasKids = account.profiles.some((p) => p.record.kids);
          for (const profile of account.profiles) {
            checkProfile(profile);
            expect(profile.record.segments.includes('kids-households')).toBe(hasKids);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is deterministic per (seed, account) and depends on the seed', () => {
    const a = new ProfileGenerator(index, { seed: 42 });
    const b = new ProfileGenerator(index, { seed: 42 });
    const c = new ProfileGenerator(index, { seed: 43 });
    // Account 7 does not depend on which accounts were generated before it.
    a.account(3);
    expect(a.account(7)).toEqual(b.account(7));
    const records = (seed: number) =>
      Array.from(
        { length: 20 },
        (_, i) => new ProfileGenerator(index, { seed }).account(i).profiles[0]!.record,
      );
    expect(records(42)).toEqual(records(42));
    expect(c.account(7)).not.toEqual(b.account(7));
    expect(records(43).map((r) => r.watched)).not.toEqual(records(42).map((r) => r.watched));
  });

  it('cuts the last account short without changing its first profiles', () => {
    const generator = new ProfileGenerator(index, { seed: 42 });
    const full = Array.from({ length: 30 }, (_, i) => generator.account(i)).find(
      (a) => a.profiles.length >= 3,
    )!;
    const accountIndex = Number(full.accountId.slice('account-'.length)) - 1;
    const cut = generator.account(accountIndex, 2);
    expect(cut.profiles).toHaveLength(2);
    expect(cut.profiles.map((p) => p.record.profileId)).toEqual(
      full.profiles.slice(0, 2).map((p) => p.record.profileId),
    );
  });

  it('produces a realistic population', () => {
    const generator = new ProfileGenerator(index, { seed: 42 });
    const profiles: GeneratedProfile[] = [];
    for (let i = 0; profiles.length < 3000; i++) profiles.push(...generator.account(i).profiles);
    const share = (predicate: (p: GeneratedProfile) => boolean): number =>
      profiles.filter(predicate).length / profiles.length;

    expect(share((p) => p.record.kids)).toBeGreaterThan(0.1);
    expect(share((p) => p.record.kids)).toBeLessThan(0.2);
    expect(share((p) => p.record.marketingConsent)).toBeGreaterThan(0.55);
    expect(share((p) => p.record.marketingConsent)).toBeLessThan(0.75);
    expect(share((p) => p.record.watched.length === 0)).toBeGreaterThan(0.01);
    expect(share((p) => p.record.watched.length === 0)).toBeLessThan(0.08);
    expect(share((p) => p.record.country === 'US')).toBeGreaterThan(0.25);
    expect(share((p) => p.record.continueWatching.length > 0)).toBeGreaterThan(0.3);
    // The broad segment must hold ≥ 80 % of profiles (so 25,000 profiles give ≥ 20,000 members).
    expect(share((p) => p.record.segments.includes('active-viewers'))).toBeGreaterThanOrEqual(0.8);
    // Every segment has members, with and without consent.
    for (const segment of SAMPLE_SEGMENTS) {
      const members = profiles.filter((p) => p.record.segments.includes(segment.segmentId));
      expect(members.length, segment.segmentId).toBeGreaterThan(10);
      expect(
        members.some((p) => !p.record.marketingConsent),
        segment.segmentId,
      ).toBe(true);
    }

    // Popularity skew: the most watched title is watched far more often than the median watched title.
    const counts = new Map<string, number>();
    for (const p of profiles) for (const t of p.record.watched) counts.set(t, (counts.get(t) ?? 0) + 1);
    const sorted = [...counts.values()].sort((x, y) => y - x);
    expect(sorted[0]!).toBeGreaterThan(20 * sorted[Math.floor(sorted.length / 2)]!);

    // Recommendations draw on the watch history, not only on popularity.
    const kinds = new Set(profiles.flatMap((p) => p.record.recommendations.map((r) => r.reason.kind)));
    expect([...kinds].sort()).toEqual(['BECAUSE_YOU_WATCHED', 'CAST', 'DIRECTOR', 'GENRE', 'POPULAR']);
  });
});
