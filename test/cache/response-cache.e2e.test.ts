import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { utcDay } from '../../src/catalog/catalog-title.js';
import type { SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { RedisGateway } from '../../src/modules/cache/redis-gateway.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * The response cache over HTTP: two instances on the same Redis and Cosmos, one with the cache and
 * one without; whatever clients do (home pages of any shape, playback progress, catalogue queries,
 * other tokens), the cached instance answers exactly what the uncached one does, and repeated
 * requests are hits.
 */
const DATABASE = 'response-cache';

const PAGE = `query($profileId: ID!, $device: DeviceClass!, $rows: Int) {
  home(profileId: $profileId, device: $device, rows: $rows) {
    profileId
    rows { id kind heading titles { id name artwork(size: SMALL) { url } } continueWatching { title { id } positionSeconds } }
    meta { source degraded reasons snapshotId }
  }
}`;
const WITH_AGE = `query($profileId: ID!) {
  home(profileId: $profileId, device: TV) { rows { id } meta { source dataAgeSeconds } }
}`;
const CATALOG = {
  title: `query($id: ID!) { title(id: $id) { id name kind genres cast(first: 3) availableIn(country: "US") artwork(size: LARGE) { url } } }`,
  browse: `query($genre: String, $first: Int, $after: String) {
    browse(genre: $genre, availableIn: "GB", first: $first, after: $after) { edges { cursor node { id releaseYear } } pageInfo { hasNextPage endCursor } }
  }`,
  search: `query($text: String!) { search(text: $text, first: 5) { id name } genres }`,
};
const RECORD = `mutation($input: PlaybackProgressInput!) {
  recordPlaybackProgress(input: $input) { positionSeconds }
}`;

let cosmos: TestCosmos;
let redis: TestRedis;
let issuer: TestIssuer;
let gold: TestGold;
let cached: TestApp;
let plain: TestApp;
let accounts: SampleAccount[];
let titleIds: string[];

const tokenOf = (account: SampleAccount, options?: { expires: string }) =>
  issuer.tokenFor(
    'device',
    { account_id: account.accountId, profile_ids: account.profileIds, country: account.country },
    options,
  );

const hits = (kind = 'home') =>
  cached.app.get(Counters).value('response_cache_total', { kind, result: 'hit' });

/** The raw body of a POST, so that bytes are compared, not parsed values. */
const post = async (app: TestApp, token: string, query: string, variables: Record<string, unknown>) => {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.text() };
};

beforeAll(async () => {
  [cosmos, redis, issuer] = await Promise.all([startTestCosmos(), startRedis(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 60,
    asOf: utcDay(),
    datasets: ['catalog', 'profiles', 'popular'],
  });
  accounts = JSON.parse(await readFile(join(gold.dir, 'accounts.json'), 'utf8')) as SampleAccount[];
  const env = {
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    REDIS_URL: redis.url,
    REQUEST_BUDGET_MS: '5000',
    COSMOS_CALL_TIMEOUT_MS: '2000',
    REDIS_COMMAND_TIMEOUT_MS: '1000',
  };
  [cached, plain] = await Promise.all([
    startTestApp(env),
    startTestApp({ ...env, RESPONSE_CACHE_MAX_MB: '0' }),
  ]);
  for (const app of [cached, plain]) {
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).ok, 60_000, 'readiness');
    expect(await app.app.get(RedisGateway).ready(20_000)).toBe(true);
  }
  const first = accounts[0]!;
  const { body } = await post(plain, await tokenOf(first), PAGE, {
    profileId: first.profileIds[0],
    device: 'TV',
  });
  const page = JSON.parse(body) as { data: { home: { rows: { titles: { id: string }[] }[] } } };
  titleIds = [...new Set(page.data.home.rows.flatMap((row) => row.titles.map((title) => title.id)))];
  expect(titleIds.length).toBeGreaterThan(10);
});

afterAll(async () => {
  await Promise.all([cached?.close(), plain?.close()]);
  await Promise.all([issuer?.close(), cosmos?.close(), redis?.stop(), gold?.remove()]);
});

type Step =
  | { kind: 'page'; account: number; profile: number; device: string; rows: number | null }
  | { kind: 'progress'; account: number; profile: number; title: number; position: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('page' as const),
      account: fc.nat(4),
      profile: fc.nat(3),
      device: fc.constantFrom('TV', 'MOBILE', 'WEB'),
      rows: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('progress' as const),
      account: fc.nat(4),
      profile: fc.nat(3),
      title: fc.nat(30),
      position: fc.integer({ min: 60, max: 3000 }),
    }),
  },
);

describe('response cache', () => {
  it('answers every home request with the bytes an uncached instance answers', async () => {
    const before = hits();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        for (const next of steps) {
          const account = accounts[next.account % accounts.length]!;
          const profileId = account.profileIds[next.profile % account.profileIds.length]!;
          const token = await tokenOf(account);
          if (next.kind === 'progress') {
            const { status } = await post(cached, token, RECORD, {
              input: {
                profileId,
                titleId: titleIds[next.title % titleIds.length],
                positionSeconds: next.position,
                durationSeconds: 3600,
              },
            });
            expect(status).toBe(200);
            continue;
          }
          const variables = { profileId, device: next.device, rows: next.rows };
          const fromCache = await post(cached, token, PAGE, variables);
          const executed = await post(plain, token, PAGE, variables);
          expect(fromCache).toEqual(executed);
          expect(fromCache.body).toContain('"degraded":false');
        }
      }),
      { numRuns: 25 },
    );
    expect(hits() - before, 'repeated requests are served from the cache').toBeGreaterThan(20);
  });

  it('still refuses a profile of another account, an expired token and a wrong role once cached', async () => {
    const [owner, other] = [accounts[0]!, accounts[1]!];
    const variables = { profileId: owner.profileIds[0], device: 'TV', rows: null };
    await post(cached, await tokenOf(owner), PAGE, variables);
    const again = await post(cached, await tokenOf(owner), PAGE, variables);
    expect(again.body).toContain('"degraded":false');

    const foreign = JSON.parse((await post(cached, await tokenOf(other), PAGE, variables)).body) as {
      errors?: { extensions?: { code?: string } }[];
    };
    expect(foreign.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const expired = await tokenOf(owner, { expires: '-1h' });
    const late = JSON.parse((await post(cached, expired, PAGE, variables)).body) as {
      errors?: { extensions?: { code?: string } }[];
    };
    expect(late.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const marketing = await issuer.tokenFor('marketing');
    const refused = JSON.parse((await post(cached, marketing, PAGE, variables)).body) as {
      errors?: { extensions?: { code?: string } }[];
    };
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers catalogue queries with the bytes an uncached instance answers, for any role', async () => {
    const before = hits('catalog');
    const roles = ['device', 'marketing', 'partner', 'ops'] as const;
    const request = fc.oneof(
      fc.record({
        query: fc.constant(CATALOG.title),
        variables: fc.record({ id: fc.constantFrom(...titleIds, 'nope') }),
      }),
      fc.record({
        query: fc.constant(CATALOG.browse),
        variables: fc.record({
          genre: fc.constantFrom('Dramas', 'Comedies', 'Documentaries', 'Nope'),
          first: fc.integer({ min: 1, max: 30 }),
        }),
      }),
      fc.record({
        query: fc.constant(CATALOG.search),
        variables: fc.record({ text: fc.constantFrom('love', 'the', 'war', 'x') }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...roles),
        fc.array(request, { minLength: 1, maxLength: 6 }),
        async (role, requests) => {
          const token = role === 'device' ? await tokenOf(accounts[0]!) : await issuer.tokenFor(role);
          for (const { query, variables } of requests) {
            const fromCache = await post(cached, token, query, variables);
            expect(fromCache).toEqual(await post(plain, token, query, variables));
            expect(fromCache.body).not.toContain('"errors"');
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(hits('catalog') - before).toBeGreaterThan(20);
    // Without a token the catalogue is still refused, cached or not.
    const anonymous = await fetch(`${cached.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: CATALOG.search, variables: { text: 'love' } }),
    });
    expect(await anonymous.text()).toContain('UNAUTHENTICATED');
  });

  it('never serves a page selecting its data age from the cache', async () => {
    const account = accounts[2]!;
    const token = await tokenOf(account);
    const variables = { profileId: account.profileIds[0] };
    const before = hits();
    for (let i = 0; i < 3; i += 1) {
      const { body } = await post(cached, token, WITH_AGE, variables);
      expect(body).toContain('"dataAgeSeconds":');
    }
    expect(hits()).toBe(before);
  });
});
