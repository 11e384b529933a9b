import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadSampleGold } from '../../src/dev/sample-gold.js';
import type { CatalogRecord } from '../../src/gold/contract/catalog.schema.js';
import { GoldStoreRepository } from '../../src/gold/gold-store.repository.js';
import { ManifestRepository } from '../../src/gold/manifest.repository.js';
import { GoldPublisher } from '../../src/gold/publisher/gold-publisher.js';
import { todayUtc } from '../../src/gold/sample/sample-dates.js';
import {
  ACCOUNTS_FILE,
  SAMPLE_GOLD_FILES,
  type SampleAccount,
} from '../../src/gold/sample/sample-gold.builder.js';
import { createCosmosClient } from '../../src/modules/cosmos/cosmos-client.factory.js';
import { waitFor } from '../support/app.js';
import { startTestAzurite, type TestAzurite } from '../support/azurite.js';
import { startCosmosProcess, type CosmosProcess } from '../support/cosmos-process.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';
import { freePort, startRedisCluster, type TestRedisCluster } from '../support/redis.js';
import { startRoundRobinProxy, UPSTREAM_HEADER, type RoundRobinProxy } from './round-robin-proxy.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * Two replicas of the built service (`node dist/main.js`) behind nginx balancing round robin,
 * sharing one Redis Cluster of three nodes, the embedded Cosmos server and Azurite, as a client
 * sees them through nginx:
 * - the daily partner export runs once per partner and day, though both replicas race for it;
 * - a device's rate limit is one budget, whichever replica counts a request;
 * - a new gold snapshot is served by both within the manifest refresh interval (plus slack);
 * - the degradation timeline, read from either replica, holds the episodes of both;
 * - SIGTERM to one replica under load fails no request: it drains, nginx moves on, it exits 0;
 * - SIGKILL to one fails at most the requests in flight, and every later one goes to the other.
 *
 * The cases share the servers and run in order; the last two stop replicas (the first one is
 * started again in between).
 */

const DATABASE = 'scale-out-e2e';
const CONTAINER = 'exports';
const REFRESH_MS = 500;
/** The manifest read, the first loads of the new snapshot's documents, a busy two-core machine. */
const SWITCH_SLACK_MS = 1_000;
const DEVICE_BUDGET = 20;
const QUIET_MS = 2_000;
const GRACE_MS = 3_000;
/** Hooks and process exit on a loaded CI machine. */
const EXIT_MARGIN_MS = 5_000;
const CATCH_UP_DAYS = 1;
const LOOPS = 4;
const NEW_MEMBER = 'p-scale-out-new-member';

const HOME = /* GraphQL */ `
  query Home($profileId: ID!) {
    home(profileId: $profileId, device: TV, rows: 4, titlesPerRow: 5) {
      profileId
      rows {
        id
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

const STATUS = /* GraphQL */ `
  query Status {
    serviceStatus {
      episodes(first: 100) {
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

const EXPORTS = /* GraphQL */ `
  query Exports($after: String) {
    partnerExports(first: 5, after: $after) {
      edges {
        node {
          id
          partnerId
          from
          to
          trigger
          status
        }
      }
      pageInfo {
        hasNextPage
        endCursor
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
  home: { profileId: string; rows: { id: string; titles: { id: string }[] }[]; meta: Meta };
}
interface EpisodeView {
  reason: string;
  dependency: string;
  replica: string;
  startedAt: string;
  endedAt: string | null;
  responses: number;
}
interface ExportView {
  id: string;
  partnerId: string;
  from: string;
  to: string;
  trigger: string;
  status: string;
}
interface ExportsData {
  partnerExports: {
    edges: { node: ExportView }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

interface Answer<T> {
  status: number;
  /** The replicas nginx sent the request to, in order: more than one when it retried. */
  upstreams: string[];
  retryAfter: string | null;
  data: T | null | undefined;
  errors: { message: string; extensions?: { code?: string; [key: string]: unknown } }[] | undefined;
  startedAt: number;
  endedAt: number;
}

/** A device asking for its home page, as the load's loops do. */
interface Device {
  profileId: string;
  token: string;
}

/** One load request: `problem` says what a client would count as a failure. */
interface Outcome {
  startedAt: number;
  endedAt: number;
  status: number;
  upstreams: string[];
  degraded: boolean;
  problem?: string;
}

let cosmos: CosmosProcess;
let cluster: TestRedisCluster;
let issuer: TestIssuer;
let azurite: TestAzurite;
let goldDir: string;
let proxy: RoundRobinProxy;
let env: Record<string, string>;
let a: ServiceProcess;
let b: ServiceProcess;
let oldSnapshotId: string;
let accounts: SampleAccount[];
let partners: string[];
let opsToken: string;
/** Devices whose tokens also carry the marketing role, see beforeAll. */
let devices: Device[];

/** The replica's name (A, B) behind an `address:port` nginx reports. */
const replicaAt = (address: string): string =>
  [a, b].find((service) => address.trim() === `127.0.0.1:${service.port}`)?.name ?? address.trim();

const gql = async <T>(
  base: string,
  query: string,
  token: string,
  variables: Record<string, unknown> = {},
): Promise<Answer<T>> => {
  const startedAt = Date.now();
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: Answer<T>['errors'] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return {
    status: response.status,
    upstreams: (response.headers.get(UPSTREAM_HEADER) ?? '').split(',').filter(Boolean).map(replicaAt),
    retryAfter: response.headers.get('retry-after'),
    data: body.data,
    errors: body.errors,
    startedAt,
    endedAt: Date.now(),
  };
};

const home = (base: string, device: Device) =>
  gql<HomeData>(base, HOME, device.token, { profileId: device.profileId });

/** Loops of home requests through nginx, each waiting for its answer before the next. */
const startLoad = (loops: readonly Device[]) => {
  const outcomes: Outcome[] = [];
  let inFlight = 0;
  let stopped = false;
  const loop = async (device: Device) => {
    while (!stopped) {
      inFlight += 1;
      const startedAt = Date.now();
      let outcome: Outcome;
      try {
        const answer = await home(proxy.url, device);
        const problem =
          answer.status !== 200
            ? `HTTP ${answer.status}: ${JSON.stringify(answer.errors)}`
            : answer.errors !== undefined
              ? JSON.stringify(answer.errors)
              : answer.data?.home.profileId !== device.profileId
                ? 'no home page'
                : undefined;
        outcome = {
          startedAt,
          endedAt: answer.endedAt,
          status: answer.status,
          upstreams: answer.upstreams,
          degraded: answer.data?.home.meta.degraded ?? false,
          ...(problem === undefined ? {} : { problem }),
        };
      } catch (error) {
        outcome = {
          startedAt,
          endedAt: Date.now(),
          status: 0,
          upstreams: [],
          degraded: false,
          problem: String(error),
        };
      } finally {
        inFlight -= 1;
      }
      outcomes.push(outcome);
    }
  };
  const running = Promise.all(loops.map(loop));
  return {
    outcomes,
    inFlight: () => inFlight,
    /** Answers with 200 that `replica` gave (it last, after any retry). */
    servedBy: (replica: string) =>
      outcomes.filter((o) => o.problem === undefined && o.upstreams.at(-1) === replica).length,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
};

/** The GraphQL requests `replica` has answered 429, by its request log. */
const refusals = (replica: ServiceProcess) =>
  replica.lines.filter(
    (line) => line.msg === 'request completed' && line['path'] === '/graphql' && line['status'] === 429,
  ).length;

const readJsonLines = async <T>(file: string): Promise<T[]> =>
  gunzipSync(await readFile(join(goldDir, file)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);

const twoFreePorts = async (): Promise<[number, number]> => {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
};

beforeAll(async () => {
  goldDir = await mkdtemp(join(tmpdir(), 'flick-scale-out-gold-'));
  [cosmos, cluster, issuer, azurite] = await Promise.all([
    startCosmosProcess(),
    startRedisCluster(),
    startTestIssuer(),
    startTestAzurite(),
  ]);
  const load = await loadSampleGold(cosmos.config(DATABASE), {
    csvPath: 'data/netflix_titles.csv',
    outDir: goldDir,
    profiles: 60,
    seed: 11,
    // Licences are generated around this day: today, so that home pages have titles.
    asOf: todayUtc(),
    datasets: ['catalog', 'profiles', 'popular', 'partner_metrics'],
  });
  oldSnapshotId = load.published.profiles.snapshotId;
  accounts = JSON.parse(await readFile(join(goldDir, ACCOUNTS_FILE), 'utf8')) as SampleAccount[];
  partners = [
    ...new Set(
      (await readJsonLines<CatalogRecord>(SAMPLE_GOLD_FILES.catalog)).flatMap((title) =>
        title.partnerId === null ? [] : [title.partnerId],
      ),
    ),
  ];
  opsToken = await issuer.tokenFor('ops', { sub: 'scale-out-ops' });
  // Only the rate-limit case meets the device budget: every other device token also carries the
  // marketing role, and a token with several roles gets the largest budget of its roles.
  devices = await Promise.all(
    accounts.slice(0, LOOPS).map(async (account, index) => ({
      profileId: account.profileIds[0]!,
      token: await issuer.tokenFor('device', {
        sub: `scale-out-device-${index}`,
        roles: ['device', 'marketing'],
        account_id: account.accountId,
        profile_ids: account.profileIds,
        country: account.country,
      }),
    })),
  );

  const [portA, portB] = await twoFreePorts();
  env = {
    ...cosmos.env,
    ...issuer.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    COSMOS_DATABASE: DATABASE,
    REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(','),
    GOLD_MANIFEST_REFRESH_MS: String(REFRESH_MS),
    // A loaded two-core machine: nothing degrades for lack of time.
    REQUEST_BUDGET_MS: '5000',
    COSMOS_CALL_TIMEOUT_MS: '2000',
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    RATE_LIMIT_DEVICE_PER_MINUTE: String(DEVICE_BUDGET),
    RATE_LIMIT_MARKETING_PER_MINUTE: '1000000',
    RATE_LIMIT_PARTNER_PER_MINUTE: '1000000',
    RATE_LIMIT_OPS_PER_MINUTE: '1000000',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
    DEGRADATION_EPISODE_QUIET_MS: String(QUIET_MS),
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    EXPORTS_STORAGE_CONNECTION_STRING: azurite.connectionString,
    EXPORTS_CONTAINER: CONTAINER,
    // Due as soon as the replicas start: both race for it.
    EXPORTS_DAILY_AT: '00:00',
    EXPORTS_CATCH_UP_DAYS: String(CATCH_UP_DAYS),
    EXPORTS_POLL_MS: '100',
    // The same on every replica: a page's cursor from one is read by the other.
    CURSOR_SECRET: 'scale-out-e2e-secret-0123456789abcdef',
  };
  [a, b] = await Promise.all([startServiceProcess('A', portA, env), startServiceProcess('B', portB, env)]);
  proxy = await startRoundRobinProxy([portA, portB]);
}, 180_000);

afterAll(async () => {
  const replicas = [a, b].filter((replica) => replica !== undefined);
  for (const replica of replicas) replica.kill('SIGKILL');
  await Promise.all(replicas.map((replica) => replica.exited));
  await proxy?.close();
  await Promise.all([cosmos?.stop(), cluster?.stop(), issuer?.close(), azurite?.stop()]);
  if (goldDir !== undefined) await rm(goldDir, { recursive: true, force: true });
});

describe('two replicas behind round robin, sharing Redis Cluster and Cosmos', () => {
  it('runs the daily export once per partner and day, though both replicas race the schedule', async () => {
    const days = Array.from({ length: CATCH_UP_DAYS + 1 }, (_, index) =>
      new Date(Date.now() - (index + 1) * 86_400_000).toISOString().slice(0, 10),
    );
    const pagesFrom = new Set<string>();
    /** Every export through nginx, page by page: each page's cursor goes to the other replica. */
    const scheduled = async () => {
      const views: ExportView[] = [];
      let after: string | null = null;
      do {
        const page: Answer<ExportsData> = await gql<ExportsData>(proxy.url, EXPORTS, opsToken, { after });
        expect(page.errors, JSON.stringify(page.errors)).toBeUndefined();
        pagesFrom.add(page.upstreams.at(-1)!);
        views.push(...page.data!.partnerExports.edges.map((edge) => edge.node));
        const { hasNextPage, endCursor } = page.data!.partnerExports.pageInfo;
        after = hasNextPage ? endCursor : null;
      } while (after !== null);
      return views.filter((view) => view.trigger === 'SCHEDULE');
    };
    let views: ExportView[] = [];
    await waitFor(
      async () => {
        views = await scheduled();
        return (
          views.length >= partners.length * days.length && views.every((view) => view.status === 'SUCCEEDED')
        );
      },
      60_000,
      'the daily exports',
    );
    views = await scheduled();

    expect(partners.length).toBeGreaterThan(1);
    expect(views.length).toBe(partners.length * days.length);
    expect(new Set(views.map((view) => `${view.partnerId}|${view.from}|${view.to}`)).size).toBe(views.length);
    expect(new Set(views.map((view) => view.from))).toEqual(new Set(days));
    expect(views.every((view) => view.from === view.to)).toBe(true);
    expect(new Set(views.map((view) => view.partnerId))).toEqual(new Set(partners));
    expect(pagesFrom).toEqual(new Set(['A', 'B']));
    // Between them, the replicas created each export once.
    const created = [a, b].map((replica) =>
      replica.lines
        .map((line) => /^scheduled (\d+) daily partner exports/.exec(line.msg)?.[1])
        .reduce((sum, count) => sum + Number(count ?? 0), 0),
    );
    expect(created[0]! + created[1]!).toBe(views.length);
    console.log(
      `[scale-out] daily exports: ${views.length} (${partners.length} partners × ${days.length} days), ` +
        `scheduled by A: ${created[0]}, by B: ${created[1]}`,
    );
  });

  it("counts one device's requests against one budget, whichever replica serves them", async () => {
    const account = accounts[LOOPS]!;
    const device = {
      profileId: account.profileIds[0]!,
      token: await issuer.tokenFor('device', {
        sub: 'scale-out-rate-limited',
        account_id: account.accountId,
        profile_ids: account.profileIds,
        country: account.country,
      }),
    };
    const refusedBefore = [a, b].map((replica) => refusals(replica));
    const answers: Answer<HomeData>[] = [];
    for (let index = 0; index < DEVICE_BUDGET + 10; index++) answers.push(await home(proxy.url, device));

    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(served.length).toBe(DEVICE_BUDGET);
    expect(refused.length).toBe(10);
    // The budget is spent first, then every request is refused.
    expect(answers.slice(0, DEVICE_BUDGET).every((answer) => answer.status === 200)).toBe(true);
    for (const answer of served) expect(answer.errors).toBeUndefined();
    for (const answer of refused) {
      expect(answer.errors?.map((error) => error.extensions?.code)).toEqual(['RATE_LIMITED']);
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
    }
    // Both replicas served and refused: neither counted its own budget of 20.
    const by = (list: Answer<HomeData>[], replica: string) =>
      list.filter((answer) => answer.upstreams.join() === replica).length;
    for (const replica of ['A', 'B']) {
      expect(by(served, replica), `answered by ${replica}`).toBeGreaterThan(0);
      expect(by(refused, replica), `refused by ${replica}`).toBeGreaterThan(0);
    }
    expect(by(served, 'A') + by(served, 'B')).toBe(DEVICE_BUDGET);
    // Each replica's request log tells the same.
    for (const [index, replica] of [a, b].entries()) {
      await waitFor(
        () => refusals(replica) - refusedBefore[index]! === by(refused, replica.name),
        5_000,
        `${replica.name}'s 429 log lines`,
      );
    }
    console.log(
      `[scale-out] rate limit: A answered ${by(served, 'A')} and refused ${by(refused, 'A')}, ` +
        `B answered ${by(served, 'B')} and refused ${by(refused, 'B')}`,
    );
  });

  it('serves a new gold snapshot from both replicas within the manifest refresh interval', async () => {
    const [device] = devices;
    for (const base of [a.url, b.url, proxy.url]) {
      const answer = await home(base, device!);
      expect(answer.errors).toBeUndefined();
      expect(answer.data!.home.meta.snapshotId).toBe(oldSnapshotId);
    }

    const client = createCosmosClient(cosmos.config(DATABASE));
    let newSnapshotId!: string;
    let publishedAt!: number;
    try {
      const database = client.database(DATABASE);
      const quiet = { info: () => undefined, warn: () => undefined, badRecord: () => undefined };
      // The same profiles under another snapshot id: a new snapshot as far as the replicas know.
      const result = await new GoldPublisher({
        store: new GoldStoreRepository(database),
        manifests: new ManifestRepository(database),
        reporter: quiet,
      }).publish({
        dataset: 'profiles',
        inputs: [join(goldDir, SAMPLE_GOLD_FILES.profiles)],
        maxBad: 0,
        concurrency: 8,
        modelVersion: null,
        snapshotId: `scale-out-${Date.now()}`,
      });
      publishedAt = Date.now();
      expect(result.outcome).toBe('published');
      newSnapshotId = result.snapshotId;
    } finally {
      client.dispose();
    }

    /**
     * Asks `base` until each of `replicas` (the one behind it, or those behind nginx) has served
     * the new snapshot a few times; per replica, the ms from the publish to its first such answer.
     */
    const switchSeen = async (base: string, replicas: readonly string[]) => {
      const seen = new Map(replicas.map((replica) => [replica, [] as { id: string | null; at: number }[]]));
      const done = () =>
        replicas.every((replica) => seen.get(replica)!.filter((s) => s.id === newSnapshotId).length >= 3);
      const deadline = publishedAt + 10_000;
      while (!done() && Date.now() < deadline) {
        const answer = await home(base, device!);
        expect(answer.errors).toBeUndefined();
        seen
          .get(answer.upstreams.at(-1) ?? replicas[0]!)!
          .push({ id: answer.data!.home.meta.snapshotId, at: answer.endedAt });
      }
      return replicas.map((replica) => {
        const ids = seen.get(replica)!.map((s) => s.id);
        const first = ids.indexOf(newSnapshotId);
        expect(first, `${replica} (via ${base}) never served ${newSnapshotId}`).toBeGreaterThanOrEqual(0);
        // Old until it switched, new from then on.
        expect(ids).toEqual(ids.map((_, index) => (index < first ? oldSnapshotId : newSnapshotId)));
        return Math.max(0, seen.get(replica)![first]!.at - publishedAt);
      });
    };
    const [[directA], [directB], [nginxA, nginxB]] = await Promise.all([
      switchSeen(a.url, ['A']),
      switchSeen(b.url, ['B']),
      switchSeen(proxy.url, ['A', 'B']),
    ]);
    console.log(
      `[scale-out] snapshot switch seen after the publish by A in ${directA} ms, by B in ${directB} ms; ` +
        `through nginx from A in ${nginxA} ms, from B in ${nginxB} ms`,
    );
    for (const elapsed of [directA, directB, nginxA, nginxB]) {
      expect(elapsed).toBeLessThan(2 * REFRESH_MS + SWITCH_SLACK_MS);
    }
  });

  it('lists the degradation episodes of both replicas, read through nginx from either', async () => {
    const since = Date.now() - 1_000;
    // A new member: the token names a profile the profiles snapshot has no document for.
    const newMember = {
      profileId: NEW_MEMBER,
      token: await issuer.tokenFor('device', {
        sub: 'scale-out-new-member',
        account_id: 'acc-scale-out-new-member',
        profile_ids: [NEW_MEMBER],
        country: accounts[0]!.country,
      }),
    };
    const noProfileData = (episodes: EpisodeView[]) =>
      episodes.filter(
        (episode) => episode.reason === 'NO_PROFILE_DATA' && Date.parse(episode.startedAt) >= since,
      );
    const episodesFrom = async (base: string) => {
      const answer = await gql<{ serviceStatus: { episodes: EpisodeView[] } }>(base, STATUS, opsToken);
      expect(answer.errors).toBeUndefined();
      return { from: answer.upstreams.at(-1), episodes: noProfileData(answer.data!.serviceStatus.episodes) };
    };

    // Degraded answers on each replica, asked directly; each knows its own open episode at once,
    // which tells its name in the timeline.
    const names = new Map<string, string>();
    for (const [replica, count] of [
      [a, 3],
      [b, 5],
    ] as const) {
      for (let index = 0; index < count; index++) {
        const answer = await home(replica.url, newMember);
        expect(answer.errors).toBeUndefined();
        expect(answer.data!.home.meta).toMatchObject({
          source: 'POPULAR',
          degraded: true,
          reasons: ['NO_PROFILE_DATA'],
        });
      }
      const own = (await episodesFrom(replica.url)).episodes.filter(
        (episode) => ![...names.values()].includes(episode.replica),
      );
      expect(own).toEqual([
        {
          reason: 'NO_PROFILE_DATA',
          dependency: 'gold:profiles',
          replica: expect.any(String),
          startedAt: expect.any(String),
          endedAt: null,
          responses: count,
        },
      ]);
      names.set(replica.name, own[0]!.replica);
    }
    expect(names.get('A')).not.toBe(names.get('B'));

    // Through nginx, whichever replica answers lists both, with every response counted.
    const counted = (episodes: EpisodeView[], replica: string) =>
      episodes
        .filter((episode) => episode.replica === names.get(replica))
        .reduce((sum, episode) => sum + episode.responses, 0);
    const listedBoth = new Set<string>();
    await waitFor(
      async () => {
        const { from, episodes } = await episodesFrom(proxy.url);
        if (counted(episodes, 'A') === 3 && counted(episodes, 'B') === 5) listedBoth.add(from!);
        return listedBoth.size === 2;
      },
      20_000,
      'both replicas to list the episodes of both',
    );
    expect(listedBoth).toEqual(new Set(['A', 'B']));
  });

  it('fails no request when one replica gets SIGTERM under load: it drains and exits 0', async () => {
    const load = startLoad(devices);
    let exit!: Awaited<ServiceProcess['exited']>;
    let sigtermAt!: number;
    try {
      await waitFor(
        () => load.servedBy('A') >= 20 && load.servedBy('B') >= 20,
        30_000,
        'load on both replicas',
      );
      sigtermAt = Date.now();
      a.kill('SIGTERM');
      exit = await a.exited;
      const exitedAt = Date.now();
      await waitFor(
        () => load.outcomes.filter((o) => o.startedAt > exitedAt).length >= 40,
        30_000,
        'load after the exit',
      );
    } finally {
      await load.stop();
    }

    expect(exit, a.stderr.join('\n')).toMatchObject({ code: 0, signal: null });
    const broken = load.outcomes.filter((o) => o.problem !== undefined);
    expect(broken, JSON.stringify(broken.slice(0, 5))).toEqual([]);
    // A answered while it drained, with nothing cut off, and B took over.
    const closed = (await a.line(/^HTTP server closed/)).msg;
    expect(closed).toMatch(/, 0 cut off$/);
    const drainedByA = load.outcomes.filter((o) => o.startedAt > sigtermAt && o.upstreams.at(-1) === 'A');
    expect(drainedByA.length).toBeGreaterThan(0);
    const afterExit = load.outcomes.filter((o) => o.startedAt > exit.at);
    expect(afterExit.every((o) => o.upstreams.at(-1) === 'B')).toBe(true);
    expect(exit.at - sigtermAt).toBeLessThan(GRACE_MS + EXIT_MARGIN_MS);
    console.log(
      `[scale-out] SIGTERM: ${load.outcomes.length} requests, 0 failed, ` +
        `${load.outcomes.filter((o) => o.upstreams.length > 1).length} retried by nginx, ` +
        `${drainedByA.length} answered by A after SIGTERM (${closed}), ` +
        `${load.outcomes.filter((o) => o.degraded).length} degraded; A exited ` +
        `${Math.round(exit.at - sigtermAt)} ms after SIGTERM`,
    );
  });

  it('fails at most the requests in flight when one replica is killed, and sends the rest to the other', async () => {
    a = await startServiceProcess('A', a.port, env);
    const load = startLoad(devices);
    let killedAt!: number;
    let inFlightAtKill!: number;
    let exit!: Awaited<ServiceProcess['exited']>;
    try {
      // nginx left A out after its last failures; it takes it back within fail_timeout.
      await waitFor(
        () => load.servedBy('A') >= 20 && load.servedBy('B') >= 20,
        30_000,
        'load on both replicas',
      );
      inFlightAtKill = load.inFlight();
      killedAt = Date.now();
      b.kill('SIGKILL');
      exit = await b.exited;
      await waitFor(
        () => load.outcomes.filter((o) => o.startedAt > killedAt).length >= 60,
        30_000,
        'load after the kill',
      );
    } finally {
      await load.stop();
    }

    expect(exit.signal).toBe('SIGKILL');
    // Settled: a request sent after the kill has been answered.
    const settledAt = Math.min(...load.outcomes.filter((o) => o.startedAt > killedAt).map((o) => o.endedAt));
    const failed = load.outcomes.filter((o) => o.problem !== undefined);
    expect(failed.length).toBeLessThanOrEqual(inFlightAtKill);
    // Only requests sent to B before things settled can fail.
    for (const outcome of failed) {
      expect(outcome.startedAt, JSON.stringify(outcome)).toBeLessThan(settledAt);
      expect(outcome.upstreams, JSON.stringify(outcome)).toContain('B');
    }
    // From then on, every request is answered by A.
    const later = load.outcomes.filter((o) => o.startedAt > settledAt);
    expect(later.length).toBeGreaterThan(0);
    const wrong = later.filter((o) => o.problem !== undefined || o.upstreams.at(-1) !== 'A');
    expect(wrong, JSON.stringify(wrong.slice(0, 5))).toEqual([]);
    console.log(
      `[scale-out] SIGKILL: ${load.outcomes.length} requests, ${inFlightAtKill} in flight at the kill, ` +
        `${failed.length} failed, ` +
        `${load.outcomes.filter((o) => o.upstreams.length > 1).length} retried by nginx on A, ` +
        `settled ${Math.round(settledAt - killedAt)} ms after the kill`,
    );
  });
});
