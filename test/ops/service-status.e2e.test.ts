import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadSampleGold } from '../../src/dev/sample-gold.js';
import { goldDatasetNames, type GoldDatasetName } from '../../src/gold/contract/gold-datasets.js';
import { todayUtc } from '../../src/gold/sample/sample-dates.js';
import { ACCOUNTS_FILE, type SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { APP_CONFIG, type AppConfig } from '../../src/modules/config/app-config.js';
import { DegradationTimeline } from '../../src/ops/degradation-timeline.service.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startCosmosProcess, type CosmosProcess } from '../support/cosmos-process.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';

/**
 * `serviceStatus` over HTTP, asked of two replicas (two apps) sharing one real Redis, with Cosmos
 * as its own process so that it can be paused: both replicas serve degraded responses, and either
 * one lists the episodes of both, with their reasons and counts, ended once no response has been
 * degraded for DEGRADATION_EPISODE_QUIET_MS; breakers and datasets are the answering replica's.
 *
 * The tests run in order; each leaves Cosmos up.
 */

const DATABASE = 'service-status-e2e';
const DATASETS: readonly GoldDatasetName[] = ['catalog', 'profiles', 'popular'];
const QUIET_MS = 3_000;
const STORE_DOWN = ['TIMEOUT', 'STORE_UNAVAILABLE', 'STORE_THROTTLED'];

const STATUS = /* GraphQL */ `
  query Status($first: Int) {
    serviceStatus {
      breakers {
        dependency
        state
        since
      }
      datasets {
        name
        activeSnapshotId
        ageSeconds
        objectiveSeconds
        hardLimitSeconds
        status
      }
      episodes(first: $first) {
        reason
        dependency
        replica
        startedAt
        endedAt
        responses
      }
    }
  }
`;

const HOME = /* GraphQL */ `
  query Home($profileId: ID!) {
    home(profileId: $profileId, device: TV) {
      meta {
        source
        degraded
        reasons
      }
    }
  }
`;

interface Breaker {
  dependency: string;
  state: string;
  since: string;
}
interface Dataset {
  name: string;
  activeSnapshotId: string | null;
  ageSeconds: number | null;
  objectiveSeconds: number;
  hardLimitSeconds: number;
  status: string;
}
interface EpisodeView {
  reason: string;
  dependency: string;
  replica: string;
  startedAt: string;
  endedAt: string | null;
  responses: number;
}
interface Status {
  breakers: Breaker[];
  datasets: Dataset[];
  episodes: EpisodeView[];
}
interface Meta {
  source: string;
  degraded: boolean;
  reasons: string[];
}

let cosmos: CosmosProcess;
let redis: TestRedis;
let issuer: TestIssuer;
let goldDir: string;
let a: TestApp;
let b: TestApp;
let opsToken: string;
let newMemberToken: string;
const NEW_MEMBER = 'p-new-member';
/** Real profiles nobody has asked for yet, with their account's token. */
const unseen: { profileId: string; token: string }[] = [];

const replicaOf = (api: TestApp): string => api.app.get(DegradationTimeline).replica;

const status = async (api: TestApp, first = 50): Promise<Status> => {
  const response = await api.gql<{ serviceStatus: Status }>(STATUS, {
    token: opsToken,
    variables: { first },
  });
  expect(response.errors).toBeUndefined();
  expect(response.status).toBe(200);
  return response.data!.serviceStatus;
};

const home = async (api: TestApp, profileId: string, token: string): Promise<Meta> => {
  const response = await api.gql<{ home: { meta: Meta } }>(HOME, { token, variables: { profileId } });
  expect(response.errors).toBeUndefined();
  return response.data!.home.meta;
};

/** Polls `api`'s serviceStatus until `check` holds for it, and returns that status. */
const statusWhen = async (
  api: TestApp,
  check: (status: Status) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<Status> => {
  let last: Status | undefined;
  await waitFor(
    async () => {
      last = await status(api);
      return check(last);
    },
    timeoutMs,
    what,
  );
  return last!;
};

/** The episodes of `replica` for `reason`, started at or after `since`. */
const episodesOf = (episodes: EpisodeView[], replica: string, reason: string, since: number) =>
  episodes.filter(
    (episode) =>
      episode.replica === replica && episode.reason === reason && Date.parse(episode.startedAt) >= since,
  );

const sumResponses = (episodes: EpisodeView[]) =>
  episodes.reduce((sum, episode) => sum + episode.responses, 0);

beforeAll(async () => {
  goldDir = await mkdtemp(join(tmpdir(), 'flick-status-gold-'));
  [cosmos, redis, issuer] = await Promise.all([startCosmosProcess(), startRedis(), startTestIssuer()]);
  await loadSampleGold(cosmos.config(DATABASE), {
    csvPath: 'data/netflix_titles.csv',
    outDir: goldDir,
    profiles: 60,
    seed: 5,
    asOf: todayUtc(),
    datasets: DATASETS,
  });
  const accounts = JSON.parse(await readFile(join(goldDir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
  for (const account of accounts) {
    const token = await issuer.tokenFor('device', {
      account_id: account.accountId,
      profile_ids: account.profileIds,
      country: account.country,
    });
    for (const profileId of account.profileIds) unseen.push({ profileId, token });
  }
  opsToken = await issuer.tokenFor('ops');
  // A new member: the token names a profile that the profiles snapshot has no document for.
  newMemberToken = await issuer.tokenFor('device', {
    account_id: 'acc-new-member',
    profile_ids: [NEW_MEMBER],
    country: accounts[0]!.country,
  });
  const env = {
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    REDIS_URL: redis.url,
    DEGRADATION_EPISODE_QUIET_MS: String(QUIET_MS),
    BREAKER_HALF_OPEN_AFTER_MS: '500',
    CACHE_L1_TTL_MS: '200',
    CACHE_L2_TTL_SECONDS: '1',
  };
  [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
  for (const api of [a, b]) {
    await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 30_000, 'readiness');
  }
  expect(replicaOf(a)).not.toBe(replicaOf(b));
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await Promise.all([cosmos?.stop(), redis?.stop(), issuer?.close()]);
  if (goldDir !== undefined) await rm(goldDir, { recursive: true, force: true });
});

describe('serviceStatus over HTTP, two replicas sharing Redis', () => {
  it("lists the answering replica's breakers and every gold dataset with its age, objective and status", async () => {
    for (const api of [a, b]) {
      const { breakers, datasets } = await status(api);
      expect(breakers.map(({ dependency, state }) => ({ dependency, state }))).toEqual([
        { dependency: 'cosmos', state: 'CLOSED' },
        { dependency: 'redis', state: 'CLOSED' },
      ]);
      for (const breaker of breakers) expect(Date.parse(breaker.since)).not.toBeNaN();

      const config = api.app.get<AppConfig>(APP_CONFIG);
      expect(datasets.map((dataset) => dataset.name)).toEqual([...goldDatasetNames]);
      for (const dataset of datasets) {
        const policy = config.freshness[dataset.name as GoldDatasetName];
        expect(dataset).toMatchObject({
          objectiveSeconds: policy.objectiveSeconds,
          hardLimitSeconds: policy.hardLimitSeconds,
        });
        if (DATASETS.includes(dataset.name as GoldDatasetName)) {
          expect(dataset.status, dataset.name).toBe('FRESH');
          expect(dataset.activeSnapshotId, dataset.name).toEqual(expect.any(String));
          expect(dataset.ageSeconds, dataset.name).toBeGreaterThanOrEqual(0);
          expect(dataset.ageSeconds!, dataset.name).toBeLessThan(600);
        } else {
          expect(dataset).toMatchObject({ status: 'MISSING', activeSnapshotId: null, ageSeconds: null });
        }
      }
    }
  });

  it('is for operators only: device, marketing and partner tokens get FORBIDDEN, no token UNAUTHENTICATED', async () => {
    for (const role of ['device', 'marketing', 'partner'] as const) {
      const response = await a.gql(STATUS, { token: await issuer.tokenFor(role) });
      expect(response.data ?? null, role).toBeNull();
      expect(
        response.errors?.map((error) => error.extensions?.code),
        role,
      ).toEqual(['FORBIDDEN']);
    }
    const anonymous = await b.gql(STATUS);
    expect(anonymous.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('answers the queries of docs/runbook.md as they are written there', async () => {
    const runbook = await readFile('docs/runbook.md', 'utf8');
    const blocks = [...runbook.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);
    const curlBodies = [...runbook.matchAll(/-d '(\{"query".*?\})'/g)].map(
      (match) => (JSON.parse(match[1]!) as { query: string }).query,
    );
    const queries = [...blocks, ...curlBodies].filter((query) => query.includes('serviceStatus'));
    expect(queries.length).toBeGreaterThanOrEqual(3);
    for (const query of queries) {
      const response = await a.gql<{ serviceStatus: Partial<Status> }>(query, { token: opsToken });
      expect(response.errors, query).toBeUndefined();
      expect(response.data?.serviceStatus.episodes, query).toEqual(expect.any(Array));
    }
  });

  it('takes a null page size as the default, and refuses one out of range', async () => {
    const byDefault = await a.gql(STATUS, { token: opsToken, variables: { first: null } });
    expect(byDefault.errors).toBeUndefined();
    for (const first of [0, 1001]) {
      const response = await a.gql(STATUS, { token: opsToken, variables: { first } });
      expect(
        response.errors?.map((error) => error.extensions?.code),
        String(first),
      ).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('lists the NO_PROFILE_DATA episodes of both replicas with their counts, from either one, ended after the quiet period', async () => {
    const since = Date.now() - 1_000;
    const [replicaA, replicaB] = [replicaOf(a), replicaOf(b)];
    for (const [api, count] of [
      [a, 3],
      [b, 5],
    ] as const) {
      for (let index = 0; index < count; index++) {
        const meta = await home(api, NEW_MEMBER, newMemberToken);
        expect(meta).toMatchObject({ source: 'POPULAR', degraded: true, reasons: ['NO_PROFILE_DATA'] });
      }
    }

    // A replica knows its own open episode at once.
    const own = episodesOf((await status(b)).episodes, replicaB, 'NO_PROFILE_DATA', since);
    expect(own).toEqual([
      {
        reason: 'NO_PROFILE_DATA',
        dependency: 'gold:profiles',
        replica: replicaB,
        startedAt: expect.any(String),
        endedAt: null,
        responses: 5,
      },
    ]);

    // Either replica lists both, with every response counted, through Redis.
    const counted = (episodes: EpisodeView[]) =>
      sumResponses(episodesOf(episodes, replicaA, 'NO_PROFILE_DATA', since)) === 3 &&
      sumResponses(episodesOf(episodes, replicaB, 'NO_PROFILE_DATA', since)) === 5;
    for (const api of [a, b]) await statusWhen(api, (s) => counted(s.episodes), 'both replicas counted');

    // Both end once no response has been degraded for the quiet period, and say so on both.
    const ended = (episodes: EpisodeView[]) =>
      [replicaA, replicaB].every((replica) => {
        const mine = episodesOf(episodes, replica, 'NO_PROFILE_DATA', since);
        return mine.length === 1 && mine[0]!.endedAt !== null;
      });
    const fromA = await statusWhen(a, (s) => ended(s.episodes), 'both episodes ended', 4 * QUIET_MS + 10_000);
    const fromB = await statusWhen(b, (s) => ended(s.episodes), 'both episodes ended', 10_000);
    const mine = (s: Status) => s.episodes.filter((episode) => Date.parse(episode.startedAt) >= since);
    expect(mine(fromB)).toEqual(mine(fromA));
    for (const [replica, responses] of [
      [replicaA, 3],
      [replicaB, 5],
    ] as const) {
      const [episode] = episodesOf(mine(fromA), replica, 'NO_PROFILE_DATA', since);
      expect(episode).toMatchObject({ dependency: 'gold:profiles', responses });
      const [startedAt, endedAt] = [Date.parse(episode!.startedAt), Date.parse(episode!.endedAt!)];
      expect(endedAt).toBeGreaterThanOrEqual(startedAt);
      expect(endedAt - startedAt).toBeLessThan(QUIET_MS);
    }
    // Newest start first.
    const starts = fromA.episodes.map((episode) => Date.parse(episode.startedAt));
    expect(starts).toEqual([...starts].sort((x, y) => y - x));

    // The next degraded response starts a new episode, listed first.
    await home(a, NEW_MEMBER, newMemberToken);
    const again = episodesOf((await status(a)).episodes, replicaA, 'NO_PROFILE_DATA', since);
    expect(again.map(({ endedAt, responses }) => ({ open: endedAt === null, responses }))).toEqual([
      { open: true, responses: 1 },
      { open: false, responses: 3 },
    ]);
  });

  it('records a Cosmos outage on the replica that served it: store episodes and the breaker opening, answered while Cosmos hangs', async () => {
    const since = Date.now() - 1_000;
    const replicaA = replicaOf(a);
    const served: Meta[] = [];
    let next = 0;
    const ask = async () => {
      const { profileId, token } = unseen[next++ % unseen.length]!;
      served.push(await home(a, profileId, token));
    };
    cosmos.pause();
    let resumed = false;
    try {
      // Device requests go on until the breaker opens; serviceStatus answers from memory meanwhile.
      await waitFor(
        async () => {
          await ask();
          return (await status(a)).breakers.some(
            (breaker) => breaker.dependency === 'cosmos' && breaker.state === 'OPEN',
          );
        },
        30_000,
        'the Cosmos breaker of replica A to open',
      );
      for (let index = 0; index < 10; index++) await ask();
      // A half-open probe may be under way: it fails, and the breaker is open again.
      const during = await statusWhen(
        a,
        (s) => s.breakers.some((breaker) => breaker.dependency === 'cosmos' && breaker.state === 'OPEN'),
        'the Cosmos breaker of replica A to be open',
      );
      const breakerEpisodes = episodesOf(during.episodes, replicaA, 'BREAKER_OPEN', since);
      expect(breakerEpisodes.map(({ dependency, endedAt }) => ({ dependency, endedAt }))).toEqual([
        { dependency: 'cosmos', endedAt: null },
      ]);
      expect(during.breakers.find((breaker) => breaker.dependency === 'redis')?.state).toBe('CLOSED');
      // B serves nothing, so its own breaker stays closed; it sees A's episodes through Redis.
      expect((await status(b)).breakers.map((breaker) => breaker.state)).toEqual(['CLOSED', 'CLOSED']);
      await statusWhen(
        b,
        (s) => episodesOf(s.episodes, replicaA, 'BREAKER_OPEN', since).length === 1,
        "A's breaker episode, seen from B",
      );

      cosmos.resume();
      resumed = true;
      // Requests go on until one is personal again: the breaker's probe got through and closed it.
      await waitFor(
        async () => {
          await ask();
          const last = served.at(-1)!;
          return last.source === 'PERSONALIZED' && !last.degraded;
        },
        30_000,
        'a personal answer after Cosmos resumed',
      );
    } finally {
      if (!resumed) cosmos.resume();
    }

    const degraded = served.filter((meta) => meta.reasons.some((reason) => STORE_DOWN.includes(reason)));
    expect(degraded.length).toBeGreaterThan(0);
    // Once open, the breaker fails calls at once: STORE_UNAVAILABLE.
    expect(served.some((meta) => meta.reasons.includes('STORE_UNAVAILABLE'))).toBe(true);
    // Once every episode of the outage has ended, each reason's episodes count exactly the
    // responses that gave it, and the breaker's those degraded by Cosmos while it was open.
    const after = await statusWhen(
      a,
      (s) =>
        s.breakers.every((breaker) => breaker.state === 'CLOSED') &&
        s.episodes
          .filter((episode) => Date.parse(episode.startedAt) >= since)
          .every((e) => e.endedAt !== null),
      'every episode of the outage to end',
      4 * QUIET_MS + 10_000,
    );
    for (const reason of STORE_DOWN) {
      const episodes = episodesOf(after.episodes, replicaA, reason, since);
      expect(sumResponses(episodes), reason).toBe(
        served.filter((meta) => meta.reasons.includes(reason)).length,
      );
      for (const episode of episodes) expect(episode.dependency).toBe('cosmos');
    }
    const [breakerEpisode, ...more] = episodesOf(after.episodes, replicaA, 'BREAKER_OPEN', since);
    expect(more).toEqual([]);
    expect(breakerEpisode).toMatchObject({ dependency: 'cosmos' });
    expect(breakerEpisode!.responses).toBeGreaterThan(0);
    expect(breakerEpisode!.responses).toBeLessThanOrEqual(degraded.length);
    expect(Date.parse(breakerEpisode!.endedAt!)).toBeGreaterThan(Date.parse(breakerEpisode!.startedAt));
    // Nothing of this on B.
    expect(
      after.episodes.filter((e) => e.replica === replicaOf(b) && Date.parse(e.startedAt) >= since),
    ).toEqual([]);
  });
});
