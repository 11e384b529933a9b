import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { isAvailable, type CatalogTitle } from '../catalog/catalog-title.js';
import { catalogRecordOf } from '../catalog/testing/catalog-records.js';
import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import { deviceClasses, type DeviceClass } from '../gold/contract/common.schema.js';
import type { PopularRecord } from '../gold/contract/popular.schema.js';
import type { ProfileRecord } from '../gold/contract/profiles.schema.js';
import { buildSampleGold, SAMPLE_GOLD_FILES } from '../gold/sample/sample-gold.builder.js';
import { SAMPLE_COUNTRIES } from '../gold/sample/sample-markets.js';
import {
  buildHomePage,
  MAX_BECAUSE_YOU_WATCHED_ROWS,
  personalRowKinds,
  rowKinds,
  type HomePageInput,
  type HomeRow,
} from './home-page.builder.js';
import { resolveRowLimits, ROW_LIMITS } from './row-limits.js';
import {
  COMPLETED_FRACTION,
  serveContextOf,
  type PlaybackProgress,
  type ServeContext,
} from './serve-rules.js';

const CSV_PATH = fileURLToPath(new URL('../../data/netflix_titles.csv', import.meta.url));
const AS_OF = '2021-10-01';
const PROFILES = 300;

let workDir: string;
let catalog: CatalogSnapshot;
let records: CatalogRecord[];
let profiles: ProfileRecord[];
let popular: Map<string, string[]>;
/** Every title, newest `addedAt` first (none last), then by id: the order new releases and genres use. */
let newestFirst: CatalogTitle[];
let catalogueIds: string[];

const readLines = async <T>(dataset: keyof typeof SAMPLE_GOLD_FILES): Promise<T[]> =>
  gunzipSync(await readFile(join(workDir, SAMPLE_GOLD_FILES[dataset])))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'home-page-'));
  await buildSampleGold({ csvPath: CSV_PATH, outDir: workDir, profiles: PROFILES, seed: 42, asOf: AS_OF });
  records = await readLines<CatalogRecord>('catalog');
  profiles = await readLines<ProfileRecord>('profiles');
  popular = new Map(
    (await readLines<PopularRecord>('popular')).map((list) => [
      `${list.country}:${list.device}`,
      list.titleIds,
    ]),
  );
  catalog = CatalogSnapshot.build('catalog-1', records);
  catalogueIds = records.map((record) => record.titleId);
  const time = (title: CatalogTitle): number => title.addedAt?.getTime() ?? -Infinity;
  newestFirst = records
    .map((record) => catalog.get(record.titleId)!)
    .sort((a, b) => time(b) - time(a) || (a.id < b.id ? -1 : 1));
}, 120_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const dayPlus = (day: string, days: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** A home page request over the real sample gold, with everything a caller can vary. */
interface PageCase {
  input: HomePageInput;
  device: DeviceClass;
}

const liveEntryArb = fc.record({
  pool: fc.constantFrom('continueWatching', 'recommendations', 'watched', 'popular', 'catalogue', 'unknown'),
  pick: fc.nat(),
  fraction: fc.oneof(
    fc.constantFrom(0, 0.5, COMPLETED_FRACTION, 0.9501, 0.96, 1),
    fc.double({ min: 0, max: 1, noNaN: true }),
  ),
  durationSeconds: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 20_000 }) }, fc.constant(0)),
  /** Relative to a gold entry of the same title when there is one: older, same time, newer. */
  shiftSeconds: fc.oneof(fc.constantFrom(-3600, 0, 1, 3600), fc.integer({ min: -30 * 86_400, max: 86_400 })),
  form: fc.constantFrom('utc', 'offset', 'date'),
});

const pageCaseArb = fc.record({
  profile: fc.nat(),
  anonymous: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, fc.constant(true)),
  country: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.constantFrom(...SAMPLE_COUNTRIES)),
  dayOffset: fc.oneof(fc.constant(0), fc.integer({ min: -400, max: 400 })),
  device: fc.constantFrom(...deviceClasses),
  rows: fc.option(fc.integer({ min: 1, max: 15 }), { nil: undefined }),
  titlesPerRow: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
  popular: fc.constantFrom('list', 'list', 'list', 'empty', 'noisy'),
  context: fc.constantFrom('serveContextOf', 'profileWatched', 'adultLevel'),
  unknownLevel: fc.integer({ min: 1, max: 4 }),
  live: fc.array(liveEntryArb, { maxLength: 12 }),
});

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type LiveEntry = ValueOf<typeof liveEntryArb>;
type RawCase = ValueOf<typeof pageCaseArb>;

const progressOf = (
  profile: ProfileRecord,
  device: DeviceClass,
  country: string,
  entries: LiveEntry[],
): PlaybackProgress[] =>
  entries.map(({ pool, pick, fraction, durationSeconds, shiftSeconds, form }) => {
    const ids: Record<typeof pool, readonly string[]> = {
      continueWatching: profile.continueWatching.map((entry) => entry.titleId),
      recommendations: profile.recommendations.map((entry) => entry.titleId),
      watched: profile.watched,
      popular: popular.get(`${country}:${device}`) ?? [],
      catalogue: catalogueIds,
      unknown: ['no-such-title'],
    };
    const candidates = ids[pool].length > 0 ? ids[pool] : ids.catalogue;
    const titleId = candidates[pick % candidates.length]!;
    const gold = profile.continueWatching.find((entry) => entry.titleId === titleId);
    const base = gold === undefined ? Date.parse(`${AS_OF}T12:00:00Z`) : Date.parse(gold.updatedAt);
    const time = new Date(base + shiftSeconds * 1000);
    const updatedAt =
      form === 'date'
        ? time
        : form === 'utc'
          ? time.toISOString()
          : // The same instant written in another offset.
            new Date(time.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    return { titleId, positionSeconds: Math.round(fraction * durationSeconds), durationSeconds, updatedAt };
  });

const toCase = (raw: RawCase): PageCase => {
  const profile = profiles[raw.profile % profiles.length]!;
  const country = raw.country ?? profile.country;
  const day = dayPlus(AS_OF, raw.dayOffset);
  const list = popular.get(`${country}:${raw.device}`) ?? [];
  const ranked =
    raw.popular === 'empty'
      ? []
      : raw.popular === 'noisy'
        ? [
            ...list.slice(0, 10),
            'no-such-title',
            ...list.slice(0, 5),
            ...profile.watched.slice(0, 5),
            ...list,
          ]
        : list;
  const progress = raw.anonymous ? [] : progressOf(profile, raw.device, country, raw.live);
  const known = raw.anonymous ? null : profile;
  let context: ServeContext;
  switch (raw.context) {
    case 'serveContextOf':
      context = serveContextOf({
        country,
        day,
        profile: known,
        progress,
        maturityLevelWhenUnknown: raw.unknownLevel,
      });
      break;
    case 'profileWatched':
      // A caller that knows nothing of live progress: the builder must still apply it.
      context = {
        country,
        day,
        maturityLevel: known?.maturityLevel ?? raw.unknownLevel,
        watched: new Set(known?.watched ?? []),
      };
      break;
    case 'adultLevel':
      // A careless caller: the profile's own level must still win.
      context = { country, day, maturityLevel: 4, watched: new Set(known?.watched ?? []) };
      break;
  }
  const max = ROW_LIMITS[raw.device].max;
  const limits = resolveRowLimits(
    raw.device,
    raw.rows === undefined ? undefined : Math.min(raw.rows, max.rows),
    raw.titlesPerRow === undefined ? undefined : Math.min(raw.titlesPerRow, max.titlesPerRow),
  );
  return {
    device: raw.device,
    input: { catalog, context, profile: known, progress, popular: ranked, limits },
  };
};

const casesArb = (): fc.Arbitrary<PageCase> => pageCaseArb.map(toCase);

const RUNS = { numRuns: 300 };

const timeOf = (updatedAt: string | Date): number =>
  typeof updatedAt === 'string' ? Date.parse(updatedAt) : updatedAt.getTime();

/** Continue-watching merge, written out plainly: all entries by time, the last one per title wins. */
const expectedProgress = (
  gold: readonly PlaybackProgress[],
  live: readonly PlaybackProgress[],
): { inProgress: PlaybackProgress[]; completed: Set<string> } => {
  const valid = [...gold, ...live]
    .map((entry, order) => ({ entry, order, time: timeOf(entry.updatedAt) }))
    .filter(
      ({ entry, time }) => !Number.isNaN(time) && entry.durationSeconds > 0 && entry.positionSeconds >= 0,
    )
    .sort((a, b) => a.time - b.time || a.order - b.order);
  const winners = new Map(valid.map((item) => [item.entry.titleId, item]));
  const completed = new Set<string>();
  const inProgress: { entry: PlaybackProgress; time: number }[] = [];
  for (const item of winners.values()) {
    if (item.entry.positionSeconds / item.entry.durationSeconds > COMPLETED_FRACTION)
      completed.add(item.entry.titleId);
    else inProgress.push(item);
  }
  inProgress.sort((a, b) => b.time - a.time || (a.entry.titleId < b.entry.titleId ? -1 : 1));
  return { inProgress: inProgress.map(({ entry }) => entry), completed };
};

const levelOf = ({ context, profile }: HomePageInput): number =>
  Math.min(context.maturityLevel, profile?.maturityLevel ?? 4);

/** Everything the page must never show: watched in gold or in the context, or finished in progress. */
const watchedOn = (input: HomePageInput): Set<string> => {
  const watched = new Set([...input.context.watched, ...(input.profile?.watched ?? [])]);
  if (input.profile !== null) {
    for (const titleId of expectedProgress(input.profile.continueWatching, input.progress).completed)
      watched.add(titleId);
  }
  return watched;
};

interface RowSummary {
  id: string;
  kind: string;
  heading: string;
  because: string | null;
  titles: string[];
  progress?: PlaybackProgress[];
}

const summary = (rows: readonly HomeRow[]): RowSummary[] =>
  rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    heading: row.heading,
    because: row.because?.id ?? null,
    titles: row.titles.map((title) => title.id),
    ...(row.progress === undefined ? {} : { progress: row.progress }),
  }));

/**
 * The page as the rules describe it, written naively: every candidate row in page order, built
 * from full catalogue scans, then the empty ones dropped and the first `rows` kept.
 */
const expectedPage = (input: HomePageInput): RowSummary[] => {
  const { profile, context, limits } = input;
  const level = levelOf(input);
  const watched = watchedOn(input);
  const seen = new Set<string>();
  const take = (titles: readonly (CatalogTitle | null)[]): CatalogTitle[] => {
    const taken: CatalogTitle[] = [];
    for (const title of titles) {
      if (taken.length === limits.titlesPerRow) break;
      if (
        title === null ||
        seen.has(title.id) ||
        watched.has(title.id) ||
        title.maturityLevel > level ||
        !isAvailable(title, context.country, context.day)
      )
        continue;
      seen.add(title.id);
      taken.push(title);
    }
    return taken;
  };
  const rows: RowSummary[] = [];
  const push = (row: Omit<RowSummary, 'titles'>, titles: CatalogTitle[]): void => {
    rows.push({ ...row, titles: titles.map((title) => title.id) });
  };
  if (profile !== null) {
    const cw = expectedProgress(profile.continueWatching, input.progress).inProgress;
    const cwTitles = take(cw.map((entry) => catalog.get(entry.titleId)));
    push(
      {
        id: 'continue-watching',
        kind: 'CONTINUE_WATCHING',
        heading: 'Continue watching',
        because: null,
        progress: cwTitles.map((title) => cw.find((entry) => entry.titleId === title.id)!),
      },
      cwTitles,
    );
    push(
      { id: 'top-picks', kind: 'TOP_PICKS', heading: 'Top picks for you', because: null },
      take(profile.recommendations.map((entry) => catalog.get(entry.titleId))),
    );
    const sources = [
      ...new Set(
        profile.recommendations
          .filter((entry) => ['BECAUSE_YOU_WATCHED', 'CAST', 'DIRECTOR'].includes(entry.reason.kind))
          .map((entry) => entry.reason.sourceTitleId)
          .filter((id) => id !== null),
      ),
    ];
    let because = 0;
    for (const sourceTitleId of sources) {
      const source = catalog.get(sourceTitleId);
      if (because === MAX_BECAUSE_YOU_WATCHED_ROWS || source === null || source.maturityLevel > level)
        continue;
      const titles = take(
        profile.recommendations
          .filter(
            (entry) =>
              entry.reason.sourceTitleId === sourceTitleId &&
              ['BECAUSE_YOU_WATCHED', 'CAST', 'DIRECTOR'].includes(entry.reason.kind),
          )
          .map((entry) => catalog.get(entry.titleId)),
      );
      if (titles.length > 0) because++;
      push(
        {
          id: `because:${sourceTitleId}`,
          kind: 'BECAUSE_YOU_WATCHED',
          heading: `Because you watched ${source.name}`,
          because: sourceTitleId,
        },
        titles,
      );
    }
  }
  push(
    { id: 'trending', kind: 'TRENDING', heading: 'Trending now', because: null },
    take(input.popular.map((id) => catalog.get(id))),
  );
  push(
    { id: 'new-releases', kind: 'NEW_RELEASES', heading: 'New on Flick', because: null },
    take(newestFirst),
  );
  let genres: string[];
  if (profile !== null && profile.tasteGenres.length > 0) genres = [...new Set(profile.tasteGenres)];
  else {
    const top = input.popular.slice(0, 30);
    const weight = new Map<string, number>();
    top.forEach((id, rank) => {
      for (const genre of catalog.get(id)?.genres ?? [])
        weight.set(genre, (weight.get(genre) ?? 0) + top.length - rank);
    });
    genres = [...weight.keys()]
      .sort((a, b) => weight.get(b)! - weight.get(a)! || (a < b ? -1 : 1))
      .slice(0, 3);
  }
  for (const genre of genres.filter((name) => catalog.genres().includes(name))) {
    push(
      { id: `genre:${genre}`, kind: 'GENRE', heading: genre, because: null },
      take(newestFirst.filter((title) => title.genres.includes(genre))),
    );
  }
  return rows.filter((row) => row.titles.length > 0).slice(0, limits.rows);
};

const eachPage = (check: (page: HomeRow[], pageCase: PageCase) => void): void => {
  fc.assert(
    fc.property(casesArb(), (pageCase) => {
      check(buildHomePage(pageCase.input), pageCase);
    }),
    RUNS,
  );
};

describe(buildHomePage.name, () => {
  describe('on the real sample gold, for any profile, country, device, day and live progress', () => {
    it('generates the cases that matter', () => {
      const cases = fc.sample(casesArb(), { numRuns: 1000, seed: 1 });
      const count = (predicate: (pageCase: PageCase) => boolean): number => cases.filter(predicate).length;
      const liveWins = ({ input }: PageCase): boolean => {
        if (input.profile === null) return false;
        const merged = expectedProgress(input.profile.continueWatching, input.progress);
        return merged.inProgress.some((entry) => input.progress.includes(entry));
      };
      const liveFinishes = ({ input }: PageCase): boolean =>
        input.profile !== null &&
        [...expectedProgress(input.profile.continueWatching, input.progress).completed].some((id) =>
          input.profile!.recommendations.some((entry) => entry.titleId === id),
        );
      const licenceDrops = ({ input }: PageCase): boolean =>
        input.profile !== null &&
        input.profile.recommendations.some(
          (entry) => !isAvailable(catalog.get(entry.titleId)!, input.context.country, input.context.day),
        );
      expect(count(({ input }) => input.profile === null)).toBeGreaterThan(50);
      expect(count(({ input }) => input.profile?.kids === true)).toBeGreaterThan(50);
      expect(count(({ input }) => (input.profile?.continueWatching.length ?? 0) > 0)).toBeGreaterThan(50);
      expect(count(liveWins)).toBeGreaterThan(50);
      expect(count(liveFinishes)).toBeGreaterThan(20);
      expect(count(licenceDrops)).toBeGreaterThan(50);
      expect(count(({ input }) => input.limits.titlesPerRow <= 3)).toBeGreaterThan(20);
    });

    it('never shows a title twice on a page', () => {
      eachPage((page) => {
        const ids = page.flatMap((row) => row.titles.map((title) => title.id));
        expect(new Set(ids).size).toBe(ids.length);
      });
    });

    it('shows only catalogue titles licensed in the country on the day', () => {
      eachPage((page, { input }) => {
        for (const title of page.flatMap((row) => row.titles)) {
          expect(catalog.get(title.id)).toBe(title);
          expect(isAvailable(title, input.context.country, input.context.day), title.id).toBe(true);
        }
      });
    });

    it('shows nothing above the maturity level, even to a kids profile with an adult context', () => {
      eachPage((page, { input }) => {
        const level = input.profile?.maturityLevel ?? input.context.maturityLevel;
        for (const row of page) {
          for (const title of [...row.titles, ...(row.because === null ? [] : [row.because])])
            expect(title.maturityLevel, `${row.id} ${title.id}`).toBeLessThanOrEqual(level);
        }
      });
    });

    it('shows no watched title, counting progress past 95 % as watched', () => {
      eachPage((page, { input }) => {
        const watched = watchedOn(input);
        for (const row of page) {
          for (const title of row.titles) expect(watched.has(title.id), `${row.id} ${title.id}`).toBe(false);
        }
      });
    });

    it('keeps within the row limits and leaves out empty rows', () => {
      eachPage((page, { input, device }) => {
        expect(page.length).toBeLessThanOrEqual(input.limits.rows);
        expect(input.limits.rows).toBeLessThanOrEqual(ROW_LIMITS[device].max.rows);
        for (const row of page) {
          expect(row.titles.length).toBeGreaterThan(0);
          expect(row.titles.length).toBeLessThanOrEqual(input.limits.titlesPerRow);
        }
      });
    });

    it('orders rows as defined, with unique ids and at most three "because you watched" rows', () => {
      eachPage((page) => {
        const order = page.map((row) => rowKinds.indexOf(row.kind));
        expect(order).toEqual([...order].sort((a, b) => a - b));
        expect(new Set(page.map((row) => row.id)).size).toBe(page.length);
        expect(page.filter((row) => row.kind === 'BECAUSE_YOU_WATCHED').length).toBeLessThanOrEqual(
          MAX_BECAUSE_YOU_WATCHED_ROWS,
        );
      });
    });

    it('keeps the ranked order: top picks and because-you-watched rows are subsequences of the recommendations', () => {
      const isSubsequence = (ids: string[], ranked: string[]): boolean => {
        let at = 0;
        for (const id of ids) {
          at = ranked.indexOf(id, at);
          if (at === -1) return false;
          at++;
        }
        return true;
      };
      eachPage((page, { input }) => {
        const ranked = input.profile?.recommendations ?? [];
        for (const row of page) {
          const ids = row.titles.map((title) => title.id);
          if (row.kind === 'TOP_PICKS') {
            expect(
              isSubsequence(
                ids,
                ranked.map((entry) => entry.titleId),
              ),
            ).toBe(true);
          }
          if (row.kind === 'BECAUSE_YOU_WATCHED') {
            const fromSource = ranked.filter((entry) => entry.reason.sourceTitleId === row.because!.id);
            expect(
              isSubsequence(
                ids,
                fromSource.map((entry) => entry.titleId),
              ),
            ).toBe(true);
            expect(row.heading).toBe(`Because you watched ${row.because!.name}`);
            expect(row.id).toBe(`because:${row.because!.id}`);
          }
          if (row.kind === 'TRENDING') expect(isSubsequence(ids, [...input.popular])).toBe(true);
        }
      });
    });

    it('fills new releases and genre rows newest first, from the genre', () => {
      eachPage((page) => {
        for (const row of page) {
          if (row.kind !== 'NEW_RELEASES' && row.kind !== 'GENRE') continue;
          const positions = row.titles.map((title) => newestFirst.indexOf(title));
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
          if (row.kind === 'GENRE') {
            expect(row.id).toBe(`genre:${row.heading}`);
            for (const title of row.titles) expect(title.genres).toContain(row.heading);
          }
        }
      });
    });

    it('merges continue watching: the newest entry per title wins, past 95 % leaves, newest first', () => {
      eachPage((page, { input }) => {
        const row = page.find((candidate) => candidate.kind === 'CONTINUE_WATCHING');
        if (input.profile === null) return;
        const { inProgress } = expectedProgress(input.profile.continueWatching, input.progress);
        const shown = new Map(inProgress.map((entry) => [entry.titleId, entry]));
        if (row === undefined) return;
        expect(row.progress!.map((entry) => entry.titleId)).toEqual(row.titles.map((title) => title.id));
        for (const entry of row.progress!) {
          expect(shown.get(entry.titleId)).toBe(entry);
          expect(entry.positionSeconds).toBeLessThanOrEqual(COMPLETED_FRACTION * entry.durationSeconds);
        }
        const times = row.progress!.map((entry) => timeOf(entry.updatedAt));
        expect(times).toEqual([...times].sort((a, b) => b - a));
      });
    });

    it('has only non-personal rows without a profile', () => {
      eachPage((page, { input }) => {
        if (input.profile !== null) return;
        for (const row of page) expect(personalRowKinds.has(row.kind), row.id).toBe(false);
      });
    });

    it('is exactly the page the rules describe, written naively', () => {
      eachPage((page, { input }) => {
        expect(summary(page)).toEqual(expectedPage(input));
      });
    });

    it('fills a TV page for most adult profiles of their own country', () => {
      const limits = resolveRowLimits('TV');
      const full = profiles.filter((profile) => {
        const context = serveContextOf({
          country: profile.country,
          day: AS_OF,
          profile,
          maturityLevelWhenUnknown: 4,
        });
        const page = buildHomePage({
          catalog,
          context,
          profile,
          progress: [],
          popular: popular.get(`${profile.country}:TV`)!,
          limits,
        });
        return page.length === limits.rows && page.some((row) => row.kind === 'NEW_RELEASES');
      });
      expect(full.length / profiles.length).toBeGreaterThan(0.8);
    });
  });

  describe('on a small catalogue', () => {
    const DAY = '2026-03-15';
    const small = (fields: Partial<CatalogRecord> & { titleId: string }): CatalogRecord =>
      catalogRecordOf({ availability: [{ country: 'US', from: '2000-01-01', to: null }], ...fields });
    const smallCatalog = CatalogSnapshot.build('small', [
      small({
        titleId: 'watched-1',
        name: 'The Source',
        genres: ['Dramas'],
        addedAt: '2020-01-01T00:00:00Z',
      }),
      small({ titleId: 'a', genres: ['Dramas'], addedAt: '2026-03-01T00:00:00Z' }),
      small({ titleId: 'b', genres: ['Dramas'], addedAt: '2026-02-01T00:00:00Z' }),
      small({ titleId: 'c', genres: ['Comedies'], addedAt: '2026-01-01T00:00:00Z', maturityLevel: 4 }),
      small({ titleId: 'd', genres: ['Comedies'], availability: [{ country: 'US', from: DAY, to: DAY }] }),
      small({ titleId: 'e', availability: [{ country: 'US', from: '2026-03-16', to: null }] }),
      small({ titleId: 'f', availability: [{ country: 'FR', from: '2000-01-01', to: null }] }),
    ]);
    const profileOf = (fields: Partial<ProfileRecord>): ProfileRecord => ({
      profileId: 'p1',
      accountId: 'a1',
      country: 'US',
      language: 'en',
      kids: false,
      maturityLevel: 4,
      marketingConsent: false,
      watched: ['watched-1'],
      continueWatching: [],
      recommendations: [],
      tasteGenres: [],
      segments: [],
      ...fields,
    });
    const pageOf = (
      profile: ProfileRecord | null,
      extra: Partial<HomePageInput> = {},
      maturityLevelWhenUnknown = 4,
    ): RowSummary[] =>
      summary(
        buildHomePage({
          catalog: smallCatalog,
          context: serveContextOf({
            country: 'US',
            day: DAY,
            profile,
            progress: extra.progress ?? [],
            maturityLevelWhenUnknown,
          }),
          profile,
          progress: [],
          popular: [],
          limits: { rows: 10, titlesPerRow: 10 },
          ...extra,
        }),
      );
    const recommendation = (
      titleId: string,
      reason: Partial<ProfileRecord['recommendations'][0]['reason']>,
    ) => ({
      titleId,
      score: 1,
      reason: { kind: 'BECAUSE_YOU_WATCHED' as const, sourceTitleId: 'watched-1', detail: null, ...reason },
    });

    it('shows licences on their first and last day, not before or elsewhere', () => {
      const page = pageOf(null);
      expect(page.find((row) => row.kind === 'NEW_RELEASES')!.titles).toEqual([
        'a',
        'b',
        'c',
        'd',
        'watched-1',
      ]);
    });

    it('builds every row kind in order for a full profile', () => {
      const profile = profileOf({
        continueWatching: [
          { titleId: 'b', positionSeconds: 60, durationSeconds: 600, updatedAt: '2026-03-14T20:00:00Z' },
        ],
        recommendations: [
          recommendation('a', { kind: 'GENRE', sourceTitleId: null, detail: 'Dramas' }),
          recommendation('c', { kind: 'DIRECTOR', detail: 'Someone' }),
          recommendation('d', {}),
        ],
        tasteGenres: ['Comedies', 'Comedies', 'Unknown genre'],
      });
      expect(
        pageOf(profile, { popular: ['d', 'c', 'a', 'e'], limits: { rows: 10, titlesPerRow: 1 } }),
      ).toEqual([
        {
          id: 'continue-watching',
          kind: 'CONTINUE_WATCHING',
          heading: 'Continue watching',
          because: null,
          titles: ['b'],
          progress: [profile.continueWatching[0]],
        },
        { id: 'top-picks', kind: 'TOP_PICKS', heading: 'Top picks for you', because: null, titles: ['a'] },
        {
          id: 'because:watched-1',
          kind: 'BECAUSE_YOU_WATCHED',
          heading: 'Because you watched The Source',
          because: 'watched-1',
          titles: ['c'],
        },
        { id: 'trending', kind: 'TRENDING', heading: 'Trending now', because: null, titles: ['d'] },
        // Everything newer is already on the page; the genre row has nothing left.
      ]);
    });

    it('lets the newest progress win and moves a title past 95 % to watched', () => {
      const profile = profileOf({
        continueWatching: [
          { titleId: 'a', positionSeconds: 10, durationSeconds: 100, updatedAt: '2026-03-10T00:00:00Z' },
          { titleId: 'b', positionSeconds: 10, durationSeconds: 100, updatedAt: '2026-03-11T00:00:00Z' },
          { titleId: 'c', positionSeconds: 99, durationSeconds: 100, updatedAt: '2026-03-09T00:00:00Z' },
        ],
        recommendations: [recommendation('a', {}), recommendation('b', {}), recommendation('c', {})],
      });
      const progress: PlaybackProgress[] = [
        // a: finished live, newer than gold: watched everywhere.
        { titleId: 'a', positionSeconds: 96, durationSeconds: 100, updatedAt: '2026-03-12T00:00:00Z' },
        // b: older live entry loses to gold.
        { titleId: 'b', positionSeconds: 99, durationSeconds: 100, updatedAt: '2026-03-01T00:00:00Z' },
        // c: rewatched from the start, live and newest.
        {
          titleId: 'c',
          positionSeconds: 5,
          durationSeconds: 100,
          updatedAt: new Date('2026-03-14T00:00:00Z'),
        },
        // d: exactly 95 % is still in progress.
        { titleId: 'd', positionSeconds: 95, durationSeconds: 100, updatedAt: '2026-03-13T00:00:00+01:00' },
      ];
      const page = pageOf(profile, { progress });
      const cw = page.find((row) => row.kind === 'CONTINUE_WATCHING')!;
      expect(cw.titles).toEqual(['c', 'd', 'b']);
      expect(cw.progress).toEqual([progress[2], progress[3], profile.continueWatching[1]]);
      expect(page.flatMap((row) => row.titles)).not.toContain('a');
    });

    it('serves only non-personal rows, within the given maturity level, without a profile', () => {
      const page = pageOf(null, { popular: ['c', 'a'], limits: { rows: 10, titlesPerRow: 1 } }, 2);
      // Genres of the popular titles, by rank: c is a comedy (though too mature), a a drama.
      expect(page.map((row) => [row.id, row.titles])).toEqual([
        ['trending', ['a']],
        ['new-releases', ['b']],
        ['genre:Comedies', ['d']],
        ['genre:Dramas', ['watched-1']],
      ]);
    });

    it('skips a "because" row whose source title is unknown or above the maturity level', () => {
      const kids = profileOf({
        maturityLevel: 2,
        watched: ['c'],
        recommendations: [
          recommendation('a', { sourceTitleId: 'gone' }),
          recommendation('b', { kind: 'CAST', sourceTitleId: 'c', detail: 'Someone' }),
          recommendation('d', { sourceTitleId: 'watched-1' }),
        ],
      });
      const page = pageOf(kids, { limits: { rows: 10, titlesPerRow: 1 } });
      expect(page.filter((row) => row.kind === 'BECAUSE_YOU_WATCHED').map((row) => row.id)).toEqual([
        'because:watched-1',
      ]);
    });

    it('returns nothing for limits below one', () => {
      expect(pageOf(null, { limits: { rows: 0, titlesPerRow: 5 } })).toEqual([]);
      expect(pageOf(null, { limits: { rows: 5, titlesPerRow: 0 } })).toEqual([]);
    });
  });
});
