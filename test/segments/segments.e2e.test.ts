import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SegmentRecord } from '../../src/gold/contract/segments.schema.js';
import { GoldStoreRepository } from '../../src/gold/gold-store.repository.js';
import { ManifestRepository } from '../../src/gold/manifest.repository.js';
import { GoldPublisher } from '../../src/gold/publisher/gold-publisher.js';
import { SAMPLE_GOLD_FILES } from '../../src/gold/sample/sample-gold.builder.js';
import { Counters } from '../../src/modules/telemetry/counters.service.js';
import { FILTERED_MEMBERS_METRIC } from '../../src/segments/segments.service.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * The marketing API over HTTP against the embedded Cosmos server, on sample gold published by the
 * real publisher: a segment of 20,000+ members paged to the end (consented members exactly once,
 * also while a new snapshot goes live), cursors that cannot be edited or reused elsewhere, a pruned
 * snapshot, and who may ask.
 */

const BIG_SEGMENT = 'active-viewers';
const quiet = { info: () => undefined, warn: () => undefined, badRecord: () => undefined };

const MEMBERS = /* GraphQL */ `
  query Members($id: ID!, $first: Int, $after: String) {
    segment(id: $id) {
      id
      snapshotId
      size
      reachableSize
      members(first: $first, after: $after) {
        edges {
          cursor
          node {
            profileId
            accountId
            country
            language
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

interface MemberNode {
  profileId: string;
  accountId: string;
  country: string;
  language: string | null;
}
interface MembersData {
  segment: {
    id: string;
    snapshotId: string;
    size: number;
    reachableSize: number;
    members: {
      edges: { cursor: string; node: MemberNode }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  } | null;
}

/** The segment records of a sample gold as published. */
const readSegments = async (gold: TestGold): Promise<SegmentRecord[]> =>
  gunzipSync(await readFile(join(gold.dir, SAMPLE_GOLD_FILES.segments)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as SegmentRecord);

const membersOf = (records: readonly SegmentRecord[], segmentId: string) =>
  records.filter(
    (record): record is Extract<SegmentRecord, { type: 'member' }> =>
      record.type === 'member' && record.segmentId === segmentId,
  );

const snapshotOf = (gold: TestGold): string => gold.published.segments.snapshotId;

/** Waits until the API serves `gold`'s segments snapshot as the active one. */
const waitForActive = (api: TestApp, token: string, gold: TestGold) =>
  waitFor(async () => {
    const response = await api.gql<MembersData>(MEMBERS, {
      token,
      variables: { id: BIG_SEGMENT, first: 1 },
    });
    return response.data?.segment?.snapshotId === snapshotOf(gold);
  });

/** Pages a segment's members from `after` to the end, calling `onPage` after each page. */
const pageAll = async (
  api: TestApp,
  token: string,
  segmentId: string,
  first: number,
  options: { after?: string; onPage?: (page: number) => Promise<void> } = {},
): Promise<{ members: MemberNode[]; pages: number; snapshots: Set<string> }> => {
  const members: MemberNode[] = [];
  const snapshots = new Set<string>();
  let after = options.after ?? null;
  let pages = 0;
  for (;;) {
    const response = await api.gql<MembersData>(MEMBERS, {
      token,
      variables: { id: segmentId, first, after },
    });
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    const connection = response.data!.segment!.members;
    expect(connection.edges.length).toBeLessThanOrEqual(first);
    members.push(...connection.edges.map((edge) => edge.node));
    snapshots.add(response.data!.segment!.snapshotId);
    pages += 1;
    await options.onPage?.(pages);
    if (!connection.pageInfo.hasNextPage) return { members, pages, snapshots };
    after = connection.pageInfo.endCursor;
    expect(after).not.toBeNull();
  }
};

const expectExactlyConsented = (
  served: readonly MemberNode[],
  records: readonly SegmentRecord[],
  segmentId: string,
) => {
  const all = membersOf(records, segmentId);
  const consented = all.filter((member) => member.marketingConsent);
  const ids = served.map((member) => member.profileId);
  expect(new Set(ids).size, 'no member twice').toBe(ids.length);
  expect(ids.length).toBe(consented.length);
  expect(new Set(ids)).toEqual(new Set(consented.map((member) => member.profileId)));
  const byId = new Map(all.map((member) => [member.profileId, member]));
  for (const member of served) {
    const record = byId.get(member.profileId)!;
    expect(member).toEqual({
      profileId: record.profileId,
      accountId: record.accountId,
      country: record.country,
      language: record.language,
    });
  }
};

describe('segments over HTTP', () => {
  let cosmos: TestCosmos;
  let issuer: TestIssuer;
  let api: TestApp;
  let gold: TestGold;
  let records: SegmentRecord[];
  let marketing: string;
  const database = 'segments-e2e';

  beforeAll(async () => {
    [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
    // 23,000 profiles give active-viewers about 20,300 members, 12,500 of them consented.
    gold = await publishTestGold(cosmos, { database, profiles: 23_000, datasets: ['segments'] });
    records = await readSegments(gold);
    api = await startTestApp({ ...cosmos.env, ...issuer.env, COSMOS_DATABASE: database });
    marketing = await issuer.tokenFor('marketing');
    await waitForActive(api, marketing, gold);
  }, 300_000);

  afterAll(async () => {
    await api?.close();
    await gold?.remove();
    await Promise.all([cosmos?.close(), issuer?.close()]);
  });

  it('lists every segment definition, a page at a time, as the gold defines it', async () => {
    const definitions = records.filter((record) => record.type === 'definition');
    const seen: Record<string, unknown>[] = [];
    let after: string | null = null;
    for (;;) {
      const response: Awaited<ReturnType<typeof api.gql<{ segments: never }>>> = await api.gql(
        /* GraphQL */ `
          query List($after: String) {
            segments(first: 3, after: $after) {
              edges {
                node {
                  id
                  name
                  description
                  definition
                  size
                  reachableSize
                  refreshedAt
                }
              }
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        `,
        { token: marketing, variables: { after } },
      );
      expect(response.errors).toBeUndefined();
      const connection = response.data!.segments as {
        edges: { node: Record<string, unknown> }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
      seen.push(...connection.edges.map((edge) => edge.node));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(
      [...definitions]
        .sort((a, b) => (a.segmentId < b.segmentId ? -1 : 1))
        .map((d) => ({
          id: d.segmentId,
          name: d.name,
          description: d.description,
          definition: d.definition,
          size: d.size,
          reachableSize: d.reachableSize,
          refreshedAt: new Date(d.refreshedAt).toISOString(),
        })),
    );
  });

  it('pages a 20,000-member segment in small pages: every consented member once, nobody else', async () => {
    const counters = api.app.get(Counters);
    const filteredBefore = counters.value(FILTERED_MEMBERS_METRIC, {
      operation: 'members',
      reason: 'no_consent',
    });
    const all = membersOf(records, BIG_SEGMENT);
    expect(all.length).toBeGreaterThanOrEqual(20_000);

    const { members, pages } = await pageAll(api, marketing, BIG_SEGMENT, 100);

    expectExactlyConsented(members, records, BIG_SEGMENT);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(members.length / 100));
    // Every member document without consent was read and held back, and counted as such.
    const filtered =
      counters.value(FILTERED_MEMBERS_METRIC, { operation: 'members', reason: 'no_consent' }) -
      filteredBefore;
    expect(filtered).toBe(all.filter((member) => !member.marketingConsent).length);
  }, 240_000);

  it('keeps paging the snapshot a job began on while a new one is published and activated', async () => {
    let next: TestGold | undefined;
    const { members, snapshots } = await pageAll(api, marketing, BIG_SEGMENT, 1000, {
      onPage: async (page) => {
        if (page !== 3) return;
        next = await publishTestGold(cosmos, { database, profiles: 300, datasets: ['segments'] });
        expect(snapshotOf(next)).not.toBe(snapshotOf(gold));
        await waitForActive(api, marketing, next);
      },
    });
    try {
      // The job saw the new snapshot become active (segment.snapshotId) yet read the old one to the end.
      expect(snapshots).toEqual(new Set([snapshotOf(gold), snapshotOf(next!)]));
      expectExactlyConsented(members, records, BIG_SEGMENT);

      // A listing begun now pages the new snapshot.
      const fresh = await pageAll(api, marketing, BIG_SEGMENT, 1000);
      expectExactlyConsented(fresh.members, await readSegments(next!), BIG_SEGMENT);
    } finally {
      await next?.remove();
    }
  }, 240_000);
});

describe('segment cursors and snapshots over HTTP', () => {
  let cosmos: TestCosmos;
  let issuer: TestIssuer;
  let api: TestApp;
  let marketing: string;
  const golds: TestGold[] = [];
  const database = 'segments-cursors-e2e';

  const publish = async (profiles: number): Promise<TestGold> => {
    const gold = await publishTestGold(cosmos, { database, profiles, datasets: ['segments'] });
    golds.push(gold);
    await waitForActive(api, marketing, gold);
    return gold;
  };

  const firstPage = async (segmentId: string, first = 5) => {
    const response = await api.gql<MembersData>(MEMBERS, {
      token: marketing,
      variables: { id: segmentId, first },
    });
    expect(response.errors).toBeUndefined();
    return response.data!.segment!.members;
  };

  const membersAfter = (segmentId: string, after: string, first = 5) =>
    api.gql<MembersData>(MEMBERS, { token: marketing, variables: { id: segmentId, first, after } });

  beforeAll(async () => {
    [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
    await publishTestGold(cosmos, { database, profiles: 400, datasets: ['segments'] }).then((gold) =>
      golds.push(gold),
    );
    api = await startTestApp({ ...cosmos.env, ...issuer.env, COSMOS_DATABASE: database });
    marketing = await issuer.tokenFor('marketing');
    await waitForActive(api, marketing, golds[0]!);
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await Promise.all(golds.map((gold) => gold.remove()));
    await Promise.all([cosmos?.close(), issuer?.close()]);
  });

  it('refuses edited, truncated, foreign and cross-segment cursors with BAD_USER_INPUT', async () => {
    const page = await firstPage(BIG_SEGMENT);
    const cursor = page.pageInfo.endCursor!;
    const [body, signature] = cursor.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    const edited = `${Buffer.from(JSON.stringify({ ...payload, g: 'kids-households' })).toString('base64url')}.${signature}`;
    const other = await firstPage('kids-households');
    const list = await api.gql<{ segments: { pageInfo: { endCursor: string } } }>(
      '{ segments(first: 1) { pageInfo { endCursor } } }',
      { token: marketing },
    );
    const cases: [string, string, string, RegExp][] = [
      ['edited', BIG_SEGMENT, edited, /not a cursor this service issued/],
      ['truncated', BIG_SEGMENT, cursor.slice(0, -3), /not a cursor this service issued/],
      ['not a cursor', BIG_SEGMENT, 'hello', /not a cursor this service issued/],
      ['of another segment', BIG_SEGMENT, other.pageInfo.endCursor!, /cursor of segment "kids-households"/],
      ['of the segment list', BIG_SEGMENT, list.data!.segments.pageInfo.endCursor, /segment list/],
    ];
    for (const [what, segmentId, after, message] of cases) {
      const response = await membersAfter(segmentId, after);
      expect(response.errors?.[0]?.extensions?.code, what).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message, what).toMatch(message);
      expect(response.data?.segment ?? null, what).toBeNull();
    }
  });

  it('refuses page sizes out of range, and answers null for an unknown segment', async () => {
    for (const first of [0, -1, 1001]) {
      const response = await api.gql<MembersData>(MEMBERS, {
        token: marketing,
        variables: { id: BIG_SEGMENT, first },
      });
      expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(/"first" must be between 1 and 1000/);
    }
    const list = await api.gql('{ segments(first: 101) { edges { cursor } } }', { token: marketing });
    expect(list.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await api.gql<MembersData>(MEMBERS, {
      token: marketing,
      variables: { id: 'no-such-segment' },
    });
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data).toEqual({ segment: null });
  });

  it("answers a profile's segments with consent, and none without", async () => {
    const records = await readSegments(golds.at(-1)!);
    const members = records.filter((record) => record.type === 'member');
    const consented = members.find((member) => member.marketingConsent)!;
    const refused = members.find((member) => !member.marketingConsent)!;
    const expected = members
      .filter((member) => member.profileId === consented.profileId)
      .map((member) => member.segmentId)
      .sort();
    const ask = (profileId: string) =>
      api.gql<{ profileSegments: { id: string }[] }>(
        'query P($p: ID!) { profileSegments(profileId: $p) { id } }',
        { token: marketing, variables: { p: profileId } },
      );
    expect((await ask(consented.profileId)).data!.profileSegments.map((s) => s.id)).toEqual(expected);
    expect((await ask(refused.profileId)).data).toEqual({ profileSegments: [] });
    expect((await ask('nobody')).data).toEqual({ profileSegments: [] });
    const bad = await ask('not/an id');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('lets a job finish on a replaced snapshot, then answers SNAPSHOT_EXPIRED once it is pruned', async () => {
    const first = golds.at(-1)!;
    const started = await firstPage(BIG_SEGMENT, 3);
    const listStarted = await api.gql<{ segments: { pageInfo: { endCursor: string } } }>(
      '{ segments(first: 1) { pageInfo { endCursor } } }',
      { token: marketing },
    );

    // B replaces A: A is the previous snapshot, stays readable, and the job ends on it.
    await publish(150);
    const rest = await pageAll(api, marketing, BIG_SEGMENT, 7, { after: started.pageInfo.endCursor! });
    expectExactlyConsented(
      [...started.edges.map((edge) => edge.node), ...rest.members],
      await readSegments(first),
      BIG_SEGMENT,
    );

    // C replaces B, and A is pruned.
    await publish(100);
    const client = cosmos.database(database);
    const publisher = new GoldPublisher({
      store: new GoldStoreRepository(client),
      manifests: new ManifestRepository(client),
      reporter: quiet,
    });
    const [pruned] = await publisher.prune({ dataset: 'segments', graceHours: 0, concurrency: 4 });
    expect(pruned!.pruned.map((entry) => entry.snapshotId)).toEqual([snapshotOf(first)]);

    for (const response of [
      await membersAfter(BIG_SEGMENT, started.pageInfo.endCursor!, 3),
      await api.gql('query L($a: String) { segments(after: $a) { edges { cursor } } }', {
        token: marketing,
        variables: { a: listStarted.data!.segments.pageInfo.endCursor },
      }),
    ]) {
      expect(response.errors?.[0]?.extensions?.code).toBe('SNAPSHOT_EXPIRED');
      expect(response.errors?.[0]?.message).toMatch(/has been pruned; start the listing again/);
    }
  }, 120_000);

  it('lets marketing and ops in, and refuses device and partner tokens', async () => {
    for (const role of ['marketing', 'ops'] as const) {
      const response = await api.gql('{ segments { edges { node { id } } } }', {
        token: await issuer.tokenFor(role),
      });
      expect(response.errors, role).toBeUndefined();
    }
    for (const role of ['device', 'partner'] as const) {
      for (const query of [
        '{ segments { edges { node { id } } } }',
        `{ segment(id: "${BIG_SEGMENT}") { id } }`,
        '{ profileSegments(profileId: "p-test-1") { id } }',
      ]) {
        const response = await api.gql(query, { token: await issuer.tokenFor(role) });
        expect(response.errors?.[0]?.extensions?.code, `${role}: ${query}`).toBe('FORBIDDEN');
        expect(Object.values(response.data ?? {}).every((value) => value === null)).toBe(true);
      }
    }
  });
});
