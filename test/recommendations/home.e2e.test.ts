import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isAvailable, utcDay } from '../../src/catalog/catalog-title.js';
import type { CatalogRecord } from '../../src/gold/contract/catalog.schema.js';
import type { ProfileRecord } from '../../src/gold/contract/profiles.schema.js';
import type { SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { RedisGateway } from '../../src/modules/cache/redis-gateway.js';
import { ROW_LIMITS } from '../../src/recommendations/row-limits.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * The device path end to end: the real AppModule over HTTP with real tokens, the embedded Cosmos
 * server with sample gold built from the real catalogue, and a 3-node Redis Cluster shared by two
 * service instances (two replicas, two devices).
 */
const DATABASE = 'home-e2e';
const devices = ['TV', 'MOBILE', 'WEB', 'TABLET'] as const;

interface Page {
  home: {
    profileId: string;
    rows: {
      id: string;
      kind: string;
      heading: string;
      titles: { id: string }[];
      continueWatching: { title: { id: string }; positionSeconds: number }[] | null;
    }[];
    meta: { source: string; degraded: boolean; reasons: string[]; snapshotId: string | null };
  };
}

const HOME = `query($profileId: ID!, $device: DeviceClass!, $rows: Int, $titlesPerRow: Int) {
  home(profileId: $profileId, device: $device, rows: $rows, titlesPerRow: $titlesPerRow) {
    profileId
    rows { id kind heading titles { id } continueWatching { title { id } positionSeconds } }
    meta { source degraded reasons snapshotId }
  }
}`;

const RECORD = `mutation($input: PlaybackProgressInput!) {
  recordPlaybackProgress(input: $input) { title { id } positionSeconds durationSeconds updatedAt }
}`;

let cosmos: TestCosmos;
let cluster: TestRedisCluster;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let replica: TestApp;
let titles: Map<string, CatalogRecord>;
let profiles: Map<string, ProfileRecord>;
let accounts: SampleAccount[];
const today = utcDay();

const readJsonLines = async <T>(file: string): Promise<T[]> =>
  gunzipSync(await readFile(join(gold.dir, file)))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as T);

const tokenOf = (account: SampleAccount, claims: Record<string, unknown> = {}) =>
  issuer.tokenFor('device', {
    account_id: account.accountId,
    profile_ids: account.profileIds,
    country: account.country,
    ...claims,
  });

const accountOf = (profileId: string) => accounts.find((account) => account.profileIds.includes(profileId))!;

const home = async (app: TestApp, profileId: string, device: string, token?: string) => {
  const response = await app.gql<Page>(HOME, {
    token: token ?? (await tokenOf(accountOf(profileId))),
    variables: { profileId, device },
  });
  return response;
};

/** A title the profile may be served: licensed in its country today, within its maturity, not watched. */
const servable = (profile: ProfileRecord, titleId: string): boolean => {
  const title = titles.get(titleId);
  return (
    title !== undefined &&
    title.maturityLevel <= profile.maturityLevel &&
    isAvailable(title, profile.country, today) &&
    !profile.watched.includes(titleId)
  );
};

beforeAll(async () => {
  [cosmos, cluster, issuer] = await Promise.all([startTestCosmos(), startRedisCluster(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 150,
    asOf: today,
    datasets: ['catalog', 'profiles', 'popular'],
  });
  titles = new Map(
    (await readJsonLines<CatalogRecord>('catalog.jsonl.gz')).map((title) => [title.titleId, title]),
  );
  profiles = new Map(
    (await readJsonLines<ProfileRecord>('profiles.jsonl.gz')).map((profile) => [profile.profileId, profile]),
  );
  accounts = JSON.parse(await readFile(join(gold.dir, 'accounts.json'), 'utf8')) as SampleAccount[];
  const env = {
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(','),
    // Content, not latency, is under test: generous budgets so a loaded CI machine never degrades.
    REQUEST_BUDGET_MS: '5000',
    COSMOS_CALL_TIMEOUT_MS: '2000',
    REDIS_COMMAND_TIMEOUT_MS: '1000',
  };
  [api, replica] = await Promise.all([startTestApp(env), startTestApp(env)]);
  for (const app of [api, replica]) {
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).ok, 60_000, 'readiness');
    // Readiness does not wait for Redis (the service runs without it); these tests need it up.
    expect(await app.app.get(RedisGateway).ready(20_000)).toBe(true);
  }
});

afterAll(async () => {
  await Promise.all([api?.close(), replica?.close()]);
  await Promise.all([issuer?.close(), cosmos?.close(), cluster?.stop(), gold?.remove()]);
});

describe('home page content on the sample gold', () => {
  it('holds the serve-time rules for every profile and device', async () => {
    const profileIds = [...profiles.keys()];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...profileIds),
        fc.constantFrom(...devices),
        async (profileId, device) => {
          const profile = profiles.get(profileId)!;
          const { data, errors } = await home(api, profileId, device);
          expect(errors).toBeUndefined();
          const page = data!.home;
          expect(page.meta).toMatchObject({ source: 'PERSONALIZED', degraded: false, reasons: [] });
          const ids = page.rows.flatMap((row) => row.titles.map((title) => title.id));
          expect(new Set(ids).size, 'no title twice on a page').toBe(ids.length);
          for (const id of ids) expect(servable(profile, id), `${id} servable to ${profileId}`).toBe(true);
          expect(page.rows.length).toBeLessThanOrEqual(ROW_LIMITS[device].default.rows);
          for (const row of page.rows) {
            expect(row.titles.length).toBeGreaterThan(0);
            expect(row.titles.length).toBeLessThanOrEqual(ROW_LIMITS[device].default.titlesPerRow);
          }
          const topPicks = page.rows.find((row) => row.kind === 'TOP_PICKS');
          if (topPicks !== undefined) {
            // Ranked order kept: top picks are a subsequence of the profile's ranked list.
            const ranked = profile.recommendations.map((recommendation) => recommendation.titleId);
            const positions = topPicks.titles.map((title) => ranked.indexOf(title.id));
            expect(positions.every((position) => position >= 0)).toBe(true);
            expect([...positions].sort((a, b) => a - b)).toEqual(positions);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('never shows a kids profile a title above its maturity level', async () => {
    const kids = [...profiles.values()].filter((profile) => profile.kids);
    expect(kids.length).toBeGreaterThan(3);
    for (const profile of kids) {
      const { data } = await home(api, profile.profileId, 'TV');
      const levels = data!.home.rows.flatMap((row) =>
        row.titles.map((title) => titles.get(title.id)!.maturityLevel),
      );
      expect(Math.max(...levels)).toBeLessThanOrEqual(profile.maturityLevel);
    }
  });

  it('serves a profile without gold popular titles, marked NO_PROFILE_DATA', async () => {
    const account = accounts[0]!;
    const token = await tokenOf(account, { profile_ids: [...account.profileIds, 'profile-brand-new'] });
    const { data, errors } = await home(api, 'profile-brand-new', 'MOBILE', token);
    expect(errors).toBeUndefined();
    expect(data!.home.meta).toMatchObject({
      source: 'POPULAR',
      degraded: true,
      reasons: ['NO_PROFILE_DATA'],
    });
    expect(data!.home.rows.map((row) => row.kind)).not.toContain('TOP_PICKS');
    expect(data!.home.rows.length).toBeGreaterThan(0);
  });

  it("refuses another account's profile and bad row limits", async () => {
    const [mine, theirs] = [accounts[0]!, accounts[1]!];
    const forbidden = await home(api, theirs.profileIds[0]!, 'TV', await tokenOf(mine));
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    for (const rows of [0, 1000]) {
      const bad = await api.gql<Page>(HOME, {
        token: await tokenOf(mine),
        variables: { profileId: mine.profileIds[0], device: 'TV', rows },
      });
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(bad.errors?.[0]?.message).toMatch(/rows/);
    }
    const marketing = await api.gql<Page>(HOME, {
      token: await issuer.tokenFor('marketing'),
      variables: { profileId: mine.profileIds[0], device: 'TV' },
    });
    expect(marketing.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('pages through recommendations with reasons, each title once and servable', async () => {
    const profile = [...profiles.values()].find((candidate) => candidate.recommendations.length > 40)!;
    const token = await tokenOf(accountOf(profile.profileId));
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 30; page++) {
      const response: Awaited<ReturnType<typeof api.gql<RecommendationsPage>>> =
        await api.gql<RecommendationsPage>(
          `query($p: ID!, $after: String) { recommendations(profileId: $p, first: 7, after: $after) {
          edges { cursor node { title { id } reason } } pageInfo { hasNextPage endCursor } meta { source } } }`,
          { token, variables: { p: profile.profileId, after } },
        );
      expect(response.errors).toBeUndefined();
      const connection = response.data!.recommendations;
      for (const edge of connection.edges) {
        expect(edge.node.reason).toMatch(/\w/);
        seen.push(edge.node.title.id);
      }
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    const expected = profile.recommendations.map((r) => r.titleId).filter((id) => servable(profile, id));
    expect(seen).toEqual([...new Set(expected)]);
  });
});

interface RecommendationsPage {
  recommendations: {
    edges: { cursor: string; node: { title: { id: string }; reason: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

describe('cross-device continue watching', () => {
  const pickTitle = (profile: ProfileRecord) =>
    [...titles.values()].find(
      (title) =>
        title.kind === 'MOVIE' &&
        servable(profile, title.titleId) &&
        !profile.continueWatching.some((entry) => entry.titleId === title.titleId),
    )!;

  it('puts progress reported on one replica first in continue watching on the other', async () => {
    const profile = [...profiles.values()].find((candidate) => !candidate.kids)!;
    const token = await tokenOf(accountOf(profile.profileId));
    const title = pickTitle(profile);
    const duration = title.durationMinutes! * 60;
    const recorded = await api.gql(RECORD, {
      token,
      variables: {
        input: {
          profileId: profile.profileId,
          titleId: title.titleId,
          positionSeconds: 600,
          durationSeconds: duration,
        },
      },
    });
    expect(recorded.errors).toBeUndefined();

    const { data } = await home(replica, profile.profileId, 'TV', token);
    const row = data!.home.rows[0]!;
    expect(row.kind).toBe('CONTINUE_WATCHING');
    expect(row.titles[0]!.id).toBe(title.titleId);
    expect(row.continueWatching![0]).toEqual({ title: { id: title.titleId }, positionSeconds: 600 });

    // Past 95 % the title is finished: it leaves continue watching and every other row.
    await api.gql(RECORD, {
      token,
      variables: {
        input: {
          profileId: profile.profileId,
          titleId: title.titleId,
          positionSeconds: Math.ceil(duration * 0.97),
          durationSeconds: duration,
        },
      },
    });
    const after = await home(replica, profile.profileId, 'TV', token);
    const ids = after.data!.home.rows.flatMap((r) => r.titles.map((t) => t.id));
    expect(ids).not.toContain(title.titleId);
  });

  it('refuses bad progress with a clear error and changes nothing', async () => {
    const profile = [...profiles.values()].filter((candidate) => !candidate.kids)[1]!;
    const account = accountOf(profile.profileId);
    const token = await tokenOf(account);
    const title = pickTitle(profile);
    const before = (await home(api, profile.profileId, 'WEB', token)).data!.home.rows;
    const other = accounts.find((candidate) => candidate.accountId !== account.accountId)!;
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ titleId: 'no-such-title' }, 'BAD_USER_INPUT', /titleId/],
      [{ positionSeconds: -5 }, 'BAD_USER_INPUT', /positionSeconds/],
      [{ positionSeconds: 5000, durationSeconds: 4000 }, 'BAD_USER_INPUT', /positionSeconds/],
      [{ durationSeconds: 0 }, 'BAD_USER_INPUT', /durationSeconds/],
      [{ durationSeconds: 10 * 24 * 3600 }, 'BAD_USER_INPUT', /durationSeconds/],
      [{ profileId: other.profileIds[0] }, 'FORBIDDEN', /profile/i],
    ];
    for (const [override, code, message] of cases) {
      const response = await api.gql(RECORD, {
        token,
        variables: {
          input: {
            profileId: profile.profileId,
            titleId: title.titleId,
            positionSeconds: 100,
            durationSeconds: 3600,
            ...override,
          },
        },
      });
      expect(response.errors?.[0]?.extensions?.code, JSON.stringify(override)).toBe(code);
      expect(response.errors?.[0]?.message).toMatch(message);
    }
    const after = (await home(api, profile.profileId, 'WEB', token)).data!.home.rows;
    expect(after).toEqual(before);
  });
});

describe('popular', () => {
  it("lists popular titles for the token's country, licensed there", async () => {
    const account = accounts[2]!;
    const { data, errors } = await api.gql<{
      popular: { country: string; titles: { id: string }[]; meta: { source: string } };
    }>('{ popular(device: TV, first: 15) { country titles { id } meta { source } } }', {
      token: await tokenOf(account),
    });
    expect(errors).toBeUndefined();
    expect(data!.popular.country).toBe(account.country);
    expect(data!.popular.meta.source).toBe('POPULAR');
    expect(data!.popular.titles.length).toBe(15);
    for (const { id } of data!.popular.titles)
      expect(isAvailable(titles.get(id)!, account.country, today)).toBe(true);
  });
});
