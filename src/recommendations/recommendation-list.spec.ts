import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { isAvailable } from '../catalog/catalog-title.js';
import { catalogRecordOf } from '../catalog/testing/catalog-records.js';
import type { CatalogRecord } from '../gold/contract/catalog.schema.js';
import type { ProfileRecord } from '../gold/contract/profiles.schema.js';
import { buildSampleGold, SAMPLE_GOLD_FILES } from '../gold/sample/sample-gold.builder.js';
import { SAMPLE_COUNTRIES } from '../gold/sample/sample-markets.js';
import {
  decodeRecommendationCursor,
  encodeRecommendationCursor,
  MAX_RECOMMENDATIONS_PAGE,
  rankedRecommendations,
  reasonText,
  RecommendationPageError,
  recommendationPage,
  type RankedRecommendation,
} from './recommendation-list.js';
import { serveContextOf, type ServeContext } from './serve-rules.js';

const CSV_PATH = fileURLToPath(new URL('../../data/netflix_titles.csv', import.meta.url));
const AS_OF = '2021-10-01';

let workDir: string;
let catalog: CatalogSnapshot;
let profiles: ProfileRecord[];

const readLines = async <T>(dataset: keyof typeof SAMPLE_GOLD_FILES): Promise<T[]> =>
  gunzipSync(await readFile(join(workDir, SAMPLE_GOLD_FILES[dataset])))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'recommendation-list-'));
  await buildSampleGold({ csvPath: CSV_PATH, outDir: workDir, profiles: 200, seed: 7, asOf: AS_OF });
  catalog = CatalogSnapshot.build('catalog-1', await readLines<CatalogRecord>('catalog'));
  profiles = await readLines<ProfileRecord>('profiles');
}, 120_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const dayPlus = (days: number): string =>
  new Date(Date.parse(`${AS_OF}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

const listCaseArb = fc
  .record({
    profile: fc.nat(),
    country: fc.option(fc.constantFrom(...SAMPLE_COUNTRIES), { nil: null }),
    dayOffset: fc.oneof(fc.constant(0), fc.integer({ min: -300, max: 300 })),
    adultContext: fc.boolean(),
  })
  .map(({ profile: index, country, dayOffset, adultContext }) => {
    const profile = profiles[index % profiles.length]!;
    const context: ServeContext = serveContextOf({
      country: country ?? profile.country,
      day: dayPlus(dayOffset),
      profile,
      maturityLevelWhenUnknown: 4,
    });
    return { profile, context: adultContext ? { ...context, maturityLevel: 4 } : context };
  });

describe(rankedRecommendations.name, () => {
  it('is the ranked recommendations the serve-time rules allow, in order, each once', () => {
    fc.assert(
      fc.property(listCaseArb, ({ profile, context }) => {
        const list = rankedRecommendations(catalog, context, profile);
        const seen = new Set<string>();
        const expected = profile.recommendations.flatMap((entry, rank) => {
          const title = catalog.get(entry.titleId);
          if (
            title === null ||
            seen.has(title.id) ||
            profile.watched.includes(title.id) ||
            title.maturityLevel > profile.maturityLevel ||
            !isAvailable(title, context.country, context.day)
          )
            return [];
          seen.add(title.id);
          return [{ id: title.id, score: entry.score, rank }];
        });
        expect(list.map(({ title, score, rank }) => ({ id: title.id, score, rank }))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('explains every recommendation in words', () => {
    const patterns = [
      /^Because you watched .+$/,
      /^Because you like .+$/,
      /^With .+$/,
      /^Directed by .+$/,
      /^Popular in your country$/,
      /^Recommended for you$/,
    ];
    const kinds = new Set<string>();
    for (const profile of profiles) {
      const context = serveContextOf({
        country: profile.country,
        day: AS_OF,
        profile,
        maturityLevelWhenUnknown: 4,
      });
      for (const { reason } of rankedRecommendations(catalog, context, profile)) {
        expect(
          patterns.some((pattern) => pattern.test(reason)),
          reason,
        ).toBe(true);
        kinds.add(patterns.findIndex((pattern) => pattern.test(reason)).toString());
      }
    }
    // The sample has every kind of reason.
    expect(kinds.size).toBeGreaterThanOrEqual(5);
  });

  it('is empty without a profile', () => {
    expect(
      rankedRecommendations(
        catalog,
        { country: 'US', day: AS_OF, maturityLevel: 4, watched: new Set() },
        null,
      ),
    ).toEqual([]);
  });
});

describe(reasonText.name, () => {
  const small = CatalogSnapshot.build('small', [catalogRecordOf({ titleId: 's1', name: 'Stranger Things' })]);

  it('names the watched title, the genre and the person', () => {
    expect(reasonText({ kind: 'BECAUSE_YOU_WATCHED', sourceTitleId: 's1', detail: null }, small)).toBe(
      'Because you watched Stranger Things',
    );
    expect(reasonText({ kind: 'GENRE', sourceTitleId: null, detail: 'Dramas' }, small)).toBe(
      'Because you like Dramas',
    );
    expect(reasonText({ kind: 'CAST', sourceTitleId: 's1', detail: 'Tom Hanks' }, small)).toBe(
      'With Tom Hanks',
    );
    expect(reasonText({ kind: 'DIRECTOR', sourceTitleId: 's1', detail: 'X' }, small)).toBe('Directed by X');
    expect(reasonText({ kind: 'POPULAR', sourceTitleId: null, detail: null }, small)).toBe(
      'Popular in your country',
    );
  });

  it('falls back when the title or the person is missing', () => {
    expect(reasonText({ kind: 'BECAUSE_YOU_WATCHED', sourceTitleId: 'gone', detail: null }, small)).toBe(
      'Recommended for you',
    );
    expect(reasonText({ kind: 'CAST', sourceTitleId: 's1', detail: null }, small)).toBe(
      'Because you watched Stranger Things',
    );
    expect(reasonText({ kind: 'GENRE', sourceTitleId: null, detail: null }, small)).toBe(
      'Recommended for you',
    );
  });
});

describe(recommendationPage.name, () => {
  const listOf = (profile: ProfileRecord, context: ServeContext): RankedRecommendation[] =>
    rankedRecommendations(catalog, context, profile);

  it('pages through the whole list exactly once, whatever the page sizes', () => {
    fc.assert(
      fc.property(
        listCaseArb,
        fc.array(fc.integer({ min: 1, max: MAX_RECOMMENDATIONS_PAGE }), { minLength: 1 }),
        ({ profile, context }, sizes) => {
          const list = listOf(profile, context);
          const read: RankedRecommendation[] = [];
          let after: string | null = null;
          for (let i = 0; ; i++) {
            const page = recommendationPage(list, {
              first: sizes[i % sizes.length]!,
              after,
              snapshotId: 'snap-1',
            });
            expect(page.snapshotChanged).toBe(false);
            read.push(...page.edges.map((edge) => edge.node));
            expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
            if (!page.pageInfo.hasNextPage) break;
            after = page.pageInfo.endCursor;
          }
          expect(read).toEqual(list);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('resumes after the same recommendation when titles drop out between pages', () => {
    fc.assert(
      fc.property(
        listCaseArb,
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        ({ profile, context }, first, drop) => {
          const before = listOf(profile, context);
          const page1 = recommendationPage(before, { first, snapshotId: 'snap-1' });
          fc.pre(page1.pageInfo.hasNextPage);
          // The viewer finishes one title of any page meanwhile.
          const finished = before[drop % before.length]!.title.id;
          const after = listOf(profile, { ...context, watched: new Set([...context.watched, finished]) });
          const page2 = recommendationPage(after, {
            first,
            after: page1.pageInfo.endCursor,
            snapshotId: 'snap-1',
          });
          const lastRank = page1.edges.at(-1)!.node.rank;
          expect(page2.edges.map((edge) => edge.node)).toEqual(
            after.filter((entry) => entry.rank > lastRank).slice(0, first),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('marks a page resumed from another snapshot', () => {
    const list = listOf(
      profiles[0]!,
      serveContextOf({
        country: profiles[0]!.country,
        day: AS_OF,
        profile: profiles[0]!,
        maturityLevelWhenUnknown: 4,
      }),
    );
    const { pageInfo } = recommendationPage(list, { first: 2, snapshotId: 'snap-1' });
    const next = recommendationPage(list, { first: 2, after: pageInfo.endCursor, snapshotId: 'snap-2' });
    expect(next.snapshotChanged).toBe(true);
    expect(next.edges.map((edge) => edge.node)).toEqual(list.slice(2, 4));
  });

  it('rejects a page size outside 1..100', () => {
    for (const first of [0, -1, 101, 1.5, Number.NaN]) {
      expect(() => recommendationPage([], { first, snapshotId: 's' })).toThrow(
        expect.objectContaining({ name: 'RecommendationPageError', code: 'BAD_ARGUMENT', argument: 'first' }),
      );
    }
  });
});

describe(decodeRecommendationCursor.name, () => {
  const cursorArb = fc.record({
    snapshotId: fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/),
    rank: fc.nat({ max: 499 }),
  });

  it('reads back what it wrote', () => {
    fc.assert(
      fc.property(cursorArb, (cursor) => {
        const encoded = encodeRecommendationCursor(cursor);
        expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeRecommendationCursor(encoded)).toEqual(cursor);
      }),
    );
  });

  const rejects = (cursor: string): void => {
    expect(() => decodeRecommendationCursor(cursor)).toThrow(RecommendationPageError);
    try {
      decodeRecommendationCursor(cursor);
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_CURSOR', argument: 'after' });
    }
  };

  it('rejects a tampered cursor: any changed, dropped or added character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    fc.assert(
      fc.property(
        cursorArb,
        fc.nat(),
        fc.constantFrom(...alphabet),
        fc.constantFrom('change', 'drop', 'add'),
        (cursor, at, char, edit) => {
          const encoded = encodeRecommendationCursor(cursor);
          const i = at % encoded.length;
          const tampered =
            edit === 'change'
              ? encoded.slice(0, i) + char + encoded.slice(i + 1)
              : edit === 'drop'
                ? encoded.slice(0, i) + encoded.slice(i + 1)
                : encoded.slice(0, i) + char + encoded.slice(i);
          fc.pre(tampered !== encoded);
          rejects(tampered);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects a re-encoded cursor with another position, and anything that is not a cursor', () => {
    const payload = JSON.parse(
      Buffer.from(encodeRecommendationCursor({ snapshotId: 's', rank: 3 }), 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...payload, r: 30 })).toString('base64url');
    rejects(forged);
    rejects('');
    rejects('not a cursor!');
    rejects(Buffer.from('{"v":2,"s":"s","r":1,"c":"xxxxxxxx"}').toString('base64url'));
    rejects(Buffer.from('[]').toString('base64url'));
    rejects('A'.repeat(600));
    fc.assert(fc.property(fc.string({ minLength: 1 }), rejects));
  });
});
