import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ProfileRecord } from '../../src/gold/contract/profiles.schema.js';
import { GoldStoreRepository } from '../../src/gold/gold-store.repository.js';
import { ManifestRepository } from '../../src/gold/manifest.repository.js';
import { GoldPublisher } from '../../src/gold/publisher/gold-publisher.js';
import { todayUtc } from '../../src/gold/sample/sample-dates.js';
import { ACCOUNTS_FILE, type SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * A new profiles snapshot goes live while devices keep asking: every answer comes wholly from the
 * snapshot its meta names, the new snapshot is served within the manifest refresh interval (plus
 * slack for the load) after the publish, and nothing fails on the way.
 *
 * The second snapshot is the first with every profile's recommendations in reverse order, so any
 * two titles of a row, in the order served, tell which snapshot they came from.
 */

const DATABASE = 'snapshot-switch-e2e';
const REFRESH_MS = 200;
/** Room for the registry's read, the first loads of the new snapshot's documents, a busy CPU. */
const LOAD_SLACK_MS = 1_000;
const WORKERS = 4;
const quiet = { info: () => undefined, warn: () => undefined, badRecord: () => undefined };

const HOME = /* GraphQL */ `
  query Home($profileId: ID!) {
    home(profileId: $profileId, device: TV) {
      rows {
        kind
        because {
          id
        }
        titles {
          id
        }
      }
      meta {
        source
        degraded
        reasons
        snapshotId
      }
    }
  }
`;
const RECOMMENDATIONS = /* GraphQL */ `
  query Recommendations($profileId: ID!) {
    recommendations(profileId: $profileId, first: 20) {
      edges {
        node {
          title {
            id
          }
        }
      }
      meta {
        source
        degraded
        reasons
        snapshotId
      }
    }
  }
`;

interface Meta {
  source: string;
  degraded: boolean;
  reasons: string[];
  snapshotId: string | null;
}
interface HomeData {
  home: { rows: { kind: string; because: { id: string } | null; titles: { id: string }[] }[]; meta: Meta };
}
interface RecommendationsData {
  recommendations: { edges: { node: { title: { id: string } } }[]; meta: Meta };
}

interface Observation {
  operation: 'home' | 'recommendations';
  profileId: string;
  status: number;
  errors: unknown;
  meta: Meta | undefined;
  /** Title id lists that must each follow the ranking of the snapshot named in meta. */
  ranked: { what: string; titleIds: string[]; becauseOf?: string }[];
  startedAt: number;
  endedAt: number;
}

/** Per profile, its ranked title ids and its "because you watched" groups, as one snapshot has them. */
interface Ranking {
  titleIds: string[];
  because: Map<string, string[]>;
}

const rankingOf = (profile: ProfileRecord): Ranking => {
  const because = new Map<string, string[]>();
  for (const { titleId, reason } of profile.recommendations) {
    if (reason.sourceTitleId === null) continue;
    if (reason.kind !== 'BECAUSE_YOU_WATCHED' && reason.kind !== 'CAST' && reason.kind !== 'DIRECTOR')
      continue;
    because.set(reason.sourceTitleId, [...(because.get(reason.sourceTitleId) ?? []), titleId]);
  }
  return { titleIds: profile.recommendations.map((item) => item.titleId), because };
};

/** `items` appear in `list` in this order (not necessarily next to each other). */
const isSubsequence = (items: readonly string[], list: readonly string[]): boolean => {
  let position = 0;
  for (const item of items) {
    while (position < list.length && list[position] !== item) position++;
    if (position === list.length) return false;
    position++;
  }
  return true;
};

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let oldSnapshotId: string;
let reversedFile: string;
const tokens = new Map<string, string>();
/** Rankings per snapshot id, per profile. */
const rankings = new Map<string, Map<string, Ranking>>();

const readProfiles = async (file: string): Promise<ProfileRecord[]> =>
  gunzipSync(await readFile(file))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ProfileRecord);

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 200,
    datasets: ['catalog', 'profiles', 'popular'],
    // Licences are generated around this day: today, so that pages have titles.
    asOf: todayUtc(),
  });
  const published = gold.published.profiles;
  oldSnapshotId = published.snapshotId;
  const profiles = await readProfiles(join(gold.dir, 'profiles.jsonl.gz'));
  rankings.set(oldSnapshotId, new Map(profiles.map((profile) => [profile.profileId, rankingOf(profile)])));
  const reversed = profiles.map((profile) => ({
    ...profile,
    recommendations: [...profile.recommendations].reverse(),
  }));
  reversedFile = join(gold.dir, 'reversed', 'profiles.jsonl.gz');
  await mkdir(join(gold.dir, 'reversed'));
  await writeFile(
    reversedFile,
    gzipSync(reversed.map((profile) => JSON.stringify(profile)).join('\n') + '\n'),
  );

  const accounts = JSON.parse(await readFile(join(gold.dir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
  for (const account of accounts.slice(0, 30)) {
    const token = await issuer.tokenFor('device', {
      account_id: account.accountId,
      profile_ids: account.profileIds,
      country: account.country,
    });
    for (const profileId of account.profileIds) tokens.set(profileId, token);
  }
  api = await startTestApp({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    GOLD_MANIFEST_REFRESH_MS: String(REFRESH_MS),
    // About consistency, not latency: the in-process store shares two cores with the publisher and
    // the service, so a generous budget keeps every answer personal and attributable.
    REQUEST_BUDGET_MS: '3000',
    COSMOS_CALL_TIMEOUT_MS: '2000',
  });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 30_000, 'readiness');
}, 120_000);

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await cosmos?.close();
  await gold?.remove();
});

const observe = async (operation: Observation['operation'], profileId: string): Promise<Observation> => {
  const token = tokens.get(profileId)!;
  const startedAt = performance.now();
  if (operation === 'home') {
    const response = await api.gql<HomeData>(HOME, { token, variables: { profileId } });
    const endedAt = performance.now();
    const rows = response.data?.home.rows ?? [];
    return {
      operation,
      profileId,
      status: response.status,
      errors: response.errors,
      meta: response.data?.home.meta,
      ranked: rows
        .filter((row) => row.kind === 'TOP_PICKS' || row.kind === 'BECAUSE_YOU_WATCHED')
        .map((row) => ({
          what: row.kind,
          titleIds: row.titles.map((title) => title.id),
          ...(row.because === null ? {} : { becauseOf: row.because.id }),
        })),
      startedAt,
      endedAt,
    };
  }
  const response = await api.gql<RecommendationsData>(RECOMMENDATIONS, { token, variables: { profileId } });
  const endedAt = performance.now();
  return {
    operation,
    profileId,
    status: response.status,
    errors: response.errors,
    meta: response.data?.recommendations.meta,
    ranked: [
      {
        what: 'recommendations',
        titleIds: (response.data?.recommendations.edges ?? []).map((edge) => edge.node.title.id),
      },
    ],
    startedAt,
    endedAt,
  };
};

/** Which snapshots' rankings the lists of `observation` follow (each list checked on its own). */
const snapshotsMatching = (observation: Observation): string[] =>
  [...rankings].flatMap(([snapshotId, byProfile]) => {
    const ranking = byProfile.get(observation.profileId)!;
    const follows = observation.ranked.every(({ titleIds, becauseOf }) =>
      isSubsequence(
        titleIds,
        becauseOf === undefined ? ranking.titleIds : (ranking.because.get(becauseOf) ?? []),
      ),
    );
    return follows ? [snapshotId] : [];
  });

describe('a new profiles snapshot while devices keep asking', () => {
  it('serves each answer wholly from the snapshot its meta names, switches within the refresh interval, and fails nothing', async () => {
    // Profiles whose top picks have at least two titles: their order tells the snapshots apart.
    const profiles: string[] = [];
    for (const profileId of tokens.keys()) {
      const before = await observe('home', profileId);
      expect(before.errors).toBeUndefined();
      expect(before.meta).toMatchObject({ source: 'PERSONALIZED', snapshotId: oldSnapshotId, reasons: [] });
      const topPicks = before.ranked.find((list) => list.what === 'TOP_PICKS');
      if (topPicks !== undefined && topPicks.titleIds.length >= 2) profiles.push(profileId);
      if (profiles.length === 24) break;
    }
    expect(profiles.length).toBeGreaterThanOrEqual(12);

    const observations: Observation[] = [];
    let stop = false;
    let next = 0;
    const worker = async (index: number) => {
      // Bounded: stopped when told, or after this many requests each.
      for (let count = 0; !stop && count < 5_000; count++) {
        const operation = (index + count) % 2 === 0 ? 'home' : 'recommendations';
        observations.push(await observe(operation, profiles[next++ % profiles.length]!));
      }
    };
    const workers = Promise.all(Array.from({ length: WORKERS }, (_, index) => worker(index)));
    let newSnapshotId = '';
    let publishedAt = Number.NaN;
    try {
      await waitFor(() => observations.length >= 40, 10_000, 'answers before the publish');
      const database = cosmos.database(DATABASE);
      const result = await new GoldPublisher({
        store: new GoldStoreRepository(database),
        manifests: new ManifestRepository(database),
        reporter: quiet,
      }).publish({
        dataset: 'profiles',
        inputs: [reversedFile],
        maxBad: 0,
        concurrency: 8,
        modelVersion: null,
      });
      publishedAt = performance.now();
      expect(result.outcome).toBe('published');
      newSnapshotId = result.snapshotId;
      expect(newSnapshotId).not.toBe(oldSnapshotId);
      const reversed = await readProfiles(reversedFile);
      rankings.set(
        newSnapshotId,
        new Map(reversed.map((profile) => [profile.profileId, rankingOf(profile)])),
      );
      // Until a good number of answers started after the switch had to be visible.
      await waitFor(
        () =>
          observations.filter(
            (observation) => observation.startedAt > publishedAt + REFRESH_MS + LOAD_SLACK_MS,
          ).length >= 80,
        20_000,
        'answers after the switch',
      );
    } finally {
      stop = true;
      await workers;
    }

    for (const observation of observations) {
      const where = `${observation.operation} ${observation.profileId}: ${JSON.stringify(observation.meta)}`;
      expect(observation.status, where).toBe(200);
      expect(observation.errors, where).toBeUndefined();
      expect(observation.meta, where).toMatchObject({ source: 'PERSONALIZED', degraded: false, reasons: [] });
      expect([oldSnapshotId, newSnapshotId], where).toContain(observation.meta!.snapshotId);
      expect(observation.ranked.length, where).toBeGreaterThan(0);
      // Every personal list follows the named snapshot's ranking, and not the other one's.
      expect(snapshotsMatching(observation), where).toEqual([observation.meta!.snapshotId]);
    }

    const first = observations
      .filter((observation) => observation.meta!.snapshotId === newSnapshotId)
      .sort((a, b) => a.endedAt - b.endedAt)[0];
    expect(first, 'an answer from the new snapshot').toBeDefined();
    const switchMs = Math.max(0, first!.endedAt - publishedAt);
    console.log(
      `[snapshot-switch] first answer from the new snapshot ${Math.round(switchMs)} ms after the publish completed ` +
        `(${observations.length} answers, ${observations.filter((o) => o.meta!.snapshotId === oldSnapshotId).length} from the old snapshot)`,
    );
    expect(switchMs).toBeLessThan(REFRESH_MS + LOAD_SLACK_MS);
    // One process, one registry: once an answer named the new snapshot, no later request gets the old one.
    const afterFirst = observations.filter((observation) => observation.startedAt > first!.endedAt);
    expect(afterFirst.length).toBeGreaterThanOrEqual(80);
    for (const observation of afterFirst) expect(observation.meta!.snapshotId).toBe(newSnapshotId);
  });
});
