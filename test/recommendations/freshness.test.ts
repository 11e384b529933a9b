import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ManifestRepository } from '../../src/gold/manifest.repository.js';
import { todayUtc } from '../../src/gold/sample/sample-dates.js';
import { ACCOUNTS_FILE, type SampleAccount } from '../../src/gold/sample/sample-gold.builder.js';
import { startTestApp, waitFor, type TestApp } from '../support/app.js';
import { startTestCosmos, type TestCosmos } from '../support/cosmos.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { publishTestGold, type TestGold } from '../support/sample-gold.js';

/**
 * The pipeline falls behind: the profiles manifest's `completedAt` is moved back past the freshness
 * objective (1 h), then past the hard limit (2 h), then forward to now. Within the manifest refresh
 * interval a device is told so: stale personal pages with PIPELINE_LAG and the data's age, then
 * popular pages (still with rows) with PIPELINE_LAG, then fresh personal pages again.
 */

const DATABASE = 'freshness-e2e';
const REFRESH_MS = 200;
/** Room for the registry's read and a busy CPU. */
const SLACK_MS = 1_000;
const HOUR_S = 3600;
/** dataAgeSeconds is whole seconds since completedAt, read at serve time. */
const AGE_TOLERANCE_S = 5;
const PERSONAL_ROWS = new Set(['CONTINUE_WATCHING', 'TOP_PICKS', 'BECAUSE_YOU_WATCHED']);

const HOME = /* GraphQL */ `
  query Home($profileId: ID!) {
    home(profileId: $profileId, device: TV) {
      rows {
        kind
        titles {
          id
        }
      }
      meta {
        source
        degraded
        reasons
        snapshotId
        dataAgeSeconds
      }
    }
  }
`;
const RECOMMENDATIONS = /* GraphQL */ `
  query Recommendations($profileId: ID!) {
    recommendations(profileId: $profileId, first: 5) {
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
        dataAgeSeconds
      }
    }
  }
`;

interface Meta {
  source: string;
  degraded: boolean;
  reasons: string[];
  snapshotId: string | null;
  dataAgeSeconds: number | null;
}
interface Page {
  status: number;
  errors: unknown;
  rows: { kind: string; titles: { id: string }[] }[];
  meta: Meta;
}

let cosmos: TestCosmos;
let issuer: TestIssuer;
let gold: TestGold;
let api: TestApp;
let manifests: ManifestRepository;
let profileId: string;
let token: string;

beforeAll(async () => {
  [cosmos, issuer] = await Promise.all([startTestCosmos(), startTestIssuer()]);
  gold = await publishTestGold(cosmos, {
    database: DATABASE,
    profiles: 50,
    datasets: ['catalog', 'profiles', 'popular'],
    // Licences are generated around this day: today, so that pages have titles.
    asOf: todayUtc(),
  });
  manifests = new ManifestRepository(cosmos.database(DATABASE));
  const [account] = JSON.parse(await readFile(join(gold.dir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
  profileId = account!.profileIds[0]!;
  token = await issuer.tokenFor('device', {
    account_id: account!.accountId,
    profile_ids: account!.profileIds,
    country: account!.country,
  });
  api = await startTestApp({
    ...cosmos.env,
    ...issuer.env,
    COSMOS_DATABASE: DATABASE,
    GOLD_MANIFEST_REFRESH_MS: String(REFRESH_MS),
    GOLD_FRESHNESS_OBJECTIVES: 'profiles=1h',
    GOLD_HARD_LIMITS: 'profiles=2h',
  });
  await waitFor(async () => (await fetch(`${api.url}/health/ready`)).ok, 30_000, 'readiness');
}, 120_000);

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await cosmos?.close();
  await gold?.remove();
});

const home = async (): Promise<Page> => {
  const response = await api.gql<{ home: { rows: Page['rows']; meta: Meta } }>(HOME, {
    token,
    variables: { profileId },
  });
  return {
    status: response.status,
    errors: response.errors,
    rows: response.data?.home.rows ?? [],
    meta: response.data?.home.meta as Meta,
  };
};

/** Sets the profiles manifest's completedAt (and its active snapshot entry's) `ageSeconds` ago. */
const completedAgo = async (ageSeconds: number): Promise<{ completedAt: number; writtenAt: number }> => {
  const current = await manifests.get('profiles');
  if (current === null) throw new Error('no profiles manifest');
  const completedAt = Date.now() - ageSeconds * 1000;
  const iso = new Date(completedAt).toISOString();
  const { manifest, etag } = current;
  await manifests.replace(
    {
      ...manifest,
      completedAt: iso,
      snapshots: manifest.snapshots.map((entry) =>
        entry.snapshotId === manifest.activeSnapshotId ? { ...entry, completedAt: iso } : entry,
      ),
    },
    etag,
  );
  return { completedAt, writtenAt: performance.now() };
};

/**
 * Requests the home page until `matches` holds (every page must still be a 200 with rows), and
 * returns that page and how long after `since` it came.
 */
const untilServed = async (
  since: number,
  matches: (page: Page) => boolean,
  what: string,
): Promise<{ page: Page; ms: number }> => {
  let last: Page | undefined;
  await waitFor(
    async () => {
      last = await home();
      expect(last.status).toBe(200);
      expect(last.errors).toBeUndefined();
      expect(last.rows.length).toBeGreaterThan(0);
      return matches(last);
    },
    REFRESH_MS + SLACK_MS + 5_000,
    what,
  );
  return { page: last!, ms: performance.now() - since };
};

const expectAge = (meta: Meta, completedAt: number) => {
  const expected = (Date.now() - completedAt) / 1000;
  expect(meta.dataAgeSeconds).not.toBeNull();
  expect(Math.abs(meta.dataAgeSeconds! - expected)).toBeLessThanOrEqual(AGE_TOLERANCE_S);
};

describe('home as the profiles pipeline falls behind and catches up', () => {
  it('says PERSONALIZED_STALE past the objective, POPULAR past the hard limit, PERSONALIZED once fresh again', async () => {
    const fresh = await home();
    expect(fresh.errors).toBeUndefined();
    expect(fresh.meta).toMatchObject({ source: 'PERSONALIZED', degraded: false, reasons: [] });
    const profilesSnapshotId = fresh.meta.snapshotId;
    expect(profilesSnapshotId).toBe(gold.published.profiles.snapshotId);
    expect(fresh.meta.dataAgeSeconds).toBeLessThan(HOUR_S);
    const switches: Record<string, number> = {};

    // Past the objective, within the hard limit: personal, but marked stale with its age.
    const stale = await completedAgo(1.5 * HOUR_S);
    const staleServed = await untilServed(
      stale.writtenAt,
      (page) => page.meta.source !== 'PERSONALIZED',
      'a stale page',
    );
    switches['objective passed → PERSONALIZED_STALE'] = staleServed.ms;
    expect(staleServed.page.meta).toMatchObject({
      source: 'PERSONALIZED_STALE',
      degraded: true,
      reasons: ['PIPELINE_LAG'],
      snapshotId: profilesSnapshotId,
    });
    expectAge(staleServed.page.meta, stale.completedAt);
    expect(staleServed.page.rows.some((row) => row.kind === 'TOP_PICKS')).toBe(true);
    const recommendations = await api.gql<{ recommendations: { edges: unknown[]; meta: Meta } }>(
      RECOMMENDATIONS,
      { token, variables: { profileId } },
    );
    expect(recommendations.errors).toBeUndefined();
    expect(recommendations.data!.recommendations.meta).toMatchObject({
      source: 'PERSONALIZED_STALE',
      reasons: ['PIPELINE_LAG'],
      snapshotId: profilesSnapshotId,
    });
    expect(recommendations.data!.recommendations.edges.length).toBeGreaterThan(0);

    // Past the hard limit: personal data is not used; popular titles, still with rows.
    const expired = await completedAgo(3 * HOUR_S);
    const expiredServed = await untilServed(
      expired.writtenAt,
      (page) => page.meta.source !== 'PERSONALIZED_STALE',
      'a page past the hard limit',
    );
    switches['hard limit passed → POPULAR'] = expiredServed.ms;
    const { meta, rows } = expiredServed.page;
    expect(meta).toMatchObject({ source: 'POPULAR', degraded: true, reasons: ['PIPELINE_LAG'] });
    // The meta describes the data served: the (fresh) popular snapshot, not the expired profiles.
    expect(meta.snapshotId).toBe(gold.published.popular.snapshotId);
    expect(meta.dataAgeSeconds).toBeLessThan(HOUR_S);
    expect(rows.filter((row) => PERSONAL_ROWS.has(row.kind))).toEqual([]);
    expect(rows.some((row) => row.kind === 'TRENDING')).toBe(true);

    // Caught up: fresh and personal again.
    const caughtUp = await completedAgo(0);
    const freshServed = await untilServed(
      caughtUp.writtenAt,
      (page) => page.meta.source !== 'POPULAR',
      'a fresh page again',
    );
    switches['caught up → PERSONALIZED'] = freshServed.ms;
    expect(freshServed.page.meta).toMatchObject({
      source: 'PERSONALIZED',
      degraded: false,
      reasons: [],
      snapshotId: profilesSnapshotId,
    });
    expectAge(freshServed.page.meta, caughtUp.completedAt);
    expect(freshServed.page.rows.some((row) => row.kind === 'TOP_PICKS')).toBe(true);

    for (const [what, ms] of Object.entries(switches)) {
      console.log(`[freshness] ${what}: ${Math.round(ms)} ms after the manifest write`);
      expect(ms, what).toBeLessThan(REFRESH_MS + SLACK_MS);
    }
  });
});
