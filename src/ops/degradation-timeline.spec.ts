import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { GoldDatasetName } from '../gold/contract/gold-datasets.js';
import type { ActiveSnapshot, SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { RedisUnavailableError } from '../modules/cache/cache.errors.js';
import { EpisodeLog, type EpisodeLogEntry } from '../modules/cache/episode-log.js';
import { RedisGateway } from '../modules/cache/redis-gateway.js';
import { loadConfig } from '../modules/config/app-config.js';
import type { BreakerStateChange } from '../modules/resilience/dependency-policy.js';
import type { BreakerStateListener, ResilienceService } from '../modules/resilience/resilience.service.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import { DegradationTimeline, timelineCadence } from './degradation-timeline.service.js';
import type { Episode } from './episode-tracker.js';
import { toLogEntry } from './timeline-entries.js';

const QUIET_MS = 10_000;
const MAX_EPISODES = 10;
const START = Date.parse('2026-03-01T10:00:00Z');

const config = loadConfig({
  COSMOS_ENDPOINT: 'https://localhost:8081/',
  COSMOS_KEY: 'secret-key-value',
  AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
  AUTH_AUDIENCE: 'api://flick-api',
  AUTH_JWKS_URL: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys',
  DEGRADATION_EPISODE_QUIET_MS: String(QUIET_MS),
  DEGRADATION_TIMELINE_MAX_EPISODES: String(MAX_EPISODES),
  GOLD_FRESHNESS_OBJECTIVES: 'profiles=1h,popular=1h',
});

/** The episode log without Redis (in process), which the replicas of a test share. */
const memoryLog = () => new EpisodeLog(new RedisGateway(undefined, new Counters(), { commandTimeoutMs: 50 }));

/** A log that fails while `down`, as EpisodeLog does when Redis does not answer. */
class FlakyLog {
  down = false;
  constructor(private readonly log: EpisodeLog) {}
  write(entries: readonly EpisodeLogEntry[], max: number): Promise<void> {
    if (this.down) return Promise.reject(new RedisUnavailableError('episode-log-write', 'ERROR', 'down'));
    return this.log.write(entries, max);
  }
  latest(count: number): Promise<string[]> {
    if (this.down) return Promise.reject(new RedisUnavailableError('episode-log-read', 'ERROR', 'down'));
    return this.log.latest(count);
  }
}

let now = START;
const advance = (ms: number) => void (now += ms);
const running: DegradationTimeline[] = [];

/** One replica: its counters and breakers, its timeline, on the shared fake clock. */
const replica = (
  name: string,
  log: EpisodeLog | FlakyLog,
  snapshots: Partial<Record<GoldDatasetName, string>> = {},
) => {
  const counters = new Counters();
  const breakerListeners = new Set<BreakerStateListener>();
  const resilience = {
    onBreakerStateChange: (listener: BreakerStateListener) => {
      breakerListeners.add(listener);
      return { dispose: () => breakerListeners.delete(listener) };
    },
  } as unknown as ResilienceService;
  const registry = {
    get: (dataset: GoldDatasetName): ActiveSnapshot | undefined => {
      const completedAt = snapshots[dataset];
      return completedAt === undefined ? undefined : { dataset, snapshotId: `${dataset}-1`, completedAt };
    },
  } as unknown as SnapshotRegistry;
  const timeline = new DegradationTimeline(counters, resilience, log as EpisodeLog, registry, config, {
    replica: name,
    now: () => now,
  });
  timeline.onModuleInit();
  running.push(timeline);
  return {
    timeline,
    counters,
    /** One device response of `operation` degraded for `reasons`, counted as HomeService.meta does. */
    respond: (reasons: string[], operation = 'home') => {
      counters.increment('device_responses_total', { operation, source: 'POPULAR' });
      for (const reason of reasons)
        counters.increment('device_degraded_reasons_total', { operation, reason });
    },
    breaker: (change: Pick<BreakerStateChange, 'dependency' | 'state'>) => {
      for (const listener of breakerListeners)
        listener({ ...change, previous: 'CLOSED', since: new Date(now) });
    },
  };
};

const view = (episodes: Episode[]) =>
  episodes.map(({ replica: name, reason, dependency, startedAt, endedAt, responses }) => ({
    replica: name,
    reason,
    dependency,
    startedAt: startedAt - START,
    endedAt: endedAt === null ? null : endedAt - START,
    responses,
  }));

describe(DegradationTimeline.name, () => {
  beforeEach(() => {
    now = START;
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    for (const timeline of running.splice(0)) await timeline.beforeApplicationShutdown();
    vi.restoreAllMocks();
  });

  it("lists every replica's episodes from the shared log, newest first, each with its counts, open until the quiet period ends them", async () => {
    const log = memoryLog();
    const a = replica('api-a', log);
    const b = replica('api-b', log);
    a.respond(['NO_PROFILE_DATA']);
    await a.timeline.flush();
    advance(100);
    b.respond(['NO_PROFILE_DATA']);
    b.respond(['NO_PROFILE_DATA', 'CACHE_UNAVAILABLE']);
    await b.timeline.flush();
    advance(100);
    a.respond(['NO_PROFILE_DATA']);
    a.respond(['NO_PROFILE_DATA']);

    // a's counts are its own, at once; b's as b last wrote them.
    expect(view(await a.timeline.recent(50))).toEqual([
      {
        replica: 'api-b',
        reason: 'CACHE_UNAVAILABLE',
        dependency: 'redis',
        startedAt: 100,
        endedAt: null,
        responses: 1,
      },
      {
        replica: 'api-b',
        reason: 'NO_PROFILE_DATA',
        dependency: 'gold:profiles',
        startedAt: 100,
        endedAt: null,
        responses: 2,
      },
      {
        replica: 'api-a',
        reason: 'NO_PROFILE_DATA',
        dependency: 'gold:profiles',
        startedAt: 0,
        endedAt: null,
        responses: 3,
      },
    ]);
    // b sees a's start, and a's counts once a writes them (at most every flushEveryMs).
    expect(view(await b.timeline.recent(50))[2]).toMatchObject({ replica: 'api-a', responses: 1 });
    advance(timelineCadence(QUIET_MS).flushEveryMs);
    await a.timeline.flush();
    expect(view(await b.timeline.recent(50))[2]).toMatchObject({ replica: 'api-a', responses: 3 });

    advance(QUIET_MS);
    await Promise.all([a.timeline.flush(), b.timeline.flush()]);
    const ended = view(await b.timeline.recent(50));
    expect(
      ended.map((episode) => [episode.replica, episode.reason, episode.endedAt, episode.responses]),
    ).toEqual([
      ['api-b', 'CACHE_UNAVAILABLE', 100, 1],
      ['api-b', 'NO_PROFILE_DATA', 100, 2],
      ['api-a', 'NO_PROFILE_DATA', 200, 3],
    ]);
    expect(await a.timeline.recent(2)).toHaveLength(2);
  });

  it('keeps the newest DEGRADATION_TIMELINE_MAX_EPISODES episodes in the log', async () => {
    const log = memoryLog();
    const a = replica('api-a', log);
    for (let index = 0; index < MAX_EPISODES + 5; index++) {
      a.respond(['TIMEOUT']);
      await a.timeline.flush();
      advance(QUIET_MS);
      await a.timeline.flush();
    }
    const episodes = await a.timeline.recent(1000);
    expect(episodes).toHaveLength(MAX_EPISODES);
    expect(episodes.map((episode) => (episode.startedAt - START) / QUIET_MS)).toEqual([
      14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
    ]);
    expect(await log.latest(1000)).toHaveLength(MAX_EPISODES);
  });

  it('makes a breaker opening an episode of its dependency, counting the responses it degraded, ended when it closes', async () => {
    const a = replica('api-a', memoryLog());
    a.respond(['TIMEOUT']);
    advance(50);
    a.breaker({ dependency: 'cosmos', state: 'OPEN' });
    a.respond(['STORE_UNAVAILABLE', 'TIMEOUT']);
    a.respond(['STORE_UNAVAILABLE']);
    advance(2_000);
    a.breaker({ dependency: 'cosmos', state: 'HALF_OPEN' });
    a.breaker({ dependency: 'cosmos', state: 'CLOSED' });
    await a.timeline.flush();
    const breaker = view(await a.timeline.recent(50)).find((episode) => episode.reason === 'BREAKER_OPEN');
    expect(breaker).toEqual({
      replica: 'api-a',
      reason: 'BREAKER_OPEN',
      dependency: 'cosmos',
      startedAt: 50,
      endedAt: 2_050,
      responses: 2,
    });
  });

  it('names the lagging gold datasets of a PIPELINE_LAG episode', async () => {
    const old = new Date(START - 2 * 3600_000).toISOString();
    const fresh = new Date(START - 60_000).toISOString();
    const a = replica('api-a', memoryLog(), { profiles: old, popular: fresh });
    a.respond(['PIPELINE_LAG'], 'recommendations');
    const b = replica('api-b', memoryLog(), { profiles: fresh, popular: old });
    b.respond(['PIPELINE_LAG'], 'popular');
    expect((await a.timeline.recent(1))[0]!.dependency).toBe('gold:profiles');
    expect((await b.timeline.recent(1))[0]!.dependency).toBe('gold:popular');
  });

  it('keeps episodes while the log does not answer, lists its own meanwhile, and writes them once it answers', async () => {
    const shared = memoryLog();
    const flaky = new FlakyLog(shared);
    const a = replica('api-a', flaky);
    const b = replica('api-b', shared);
    flaky.down = true;
    a.respond(['STORE_THROTTLED']);
    await a.timeline.flush();
    advance(QUIET_MS);
    await a.timeline.flush();
    expect(view(await a.timeline.recent(50))).toEqual([
      {
        replica: 'api-a',
        reason: 'STORE_THROTTLED',
        dependency: 'cosmos',
        startedAt: 0,
        endedAt: 0,
        responses: 1,
      },
    ]);
    expect(await b.timeline.recent(50)).toEqual([]);

    flaky.down = false;
    await a.timeline.flush();
    expect(view(await b.timeline.recent(50))).toEqual(view(await a.timeline.recent(50)));
    expect(await b.timeline.recent(50)).toHaveLength(1);
  });

  it('ends its open episodes when the replica stops, and writes them', async () => {
    const log = memoryLog();
    const a = replica('api-a', log);
    const b = replica('api-b', log);
    a.respond(['TIMEOUT']);
    advance(500);
    a.breaker({ dependency: 'redis', state: 'OPEN' });
    advance(500);
    await a.timeline.beforeApplicationShutdown();
    expect(view(await b.timeline.recent(50))).toEqual([
      {
        replica: 'api-a',
        reason: 'BREAKER_OPEN',
        dependency: 'redis',
        startedAt: 500,
        endedAt: 1_000,
        responses: 0,
      },
      { replica: 'api-a', reason: 'TIMEOUT', dependency: 'cosmos', startedAt: 0, endedAt: 0, responses: 1 },
    ]);
    // Stopped: later counts are not its business any more.
    a.respond(['TIMEOUT']);
    expect(await b.timeline.recent(50)).toHaveLength(2);
  });

  it('shows the open episode of a replica that vanished as ended at its last response', async () => {
    const log = memoryLog();
    const b = replica('api-b', log);
    // What a replica that died mid-episode left: an open episode, never written again.
    const gone: Episode = {
      reason: 'TIMEOUT',
      dependency: 'cosmos',
      replica: 'api-gone',
      startedAt: START,
      endedAt: null,
      responses: 4,
      lastAt: START + 300,
      rev: 5,
    };
    await log.write([toLogEntry(gone, START + 400)], MAX_EPISODES);
    const { abandonedAfterMs } = timelineCadence(QUIET_MS);
    advance(400 + abandonedAfterMs);
    expect((await b.timeline.recent(50))[0]!.endedAt).toBeNull();
    advance(1);
    expect((await b.timeline.recent(50))[0]).toMatchObject({ endedAt: START + 300, responses: 4 });
  });

  it('ignores other counters and responses that were not degraded', async () => {
    const a = replica('api-a', memoryLog());
    a.counters.increment('cache_requests_total', { level: 'L1' });
    a.counters.increment('device_responses_total', { operation: 'home', source: 'PERSONALIZED' });
    a.counters.increment('device_degraded_reasons_total', { operation: 'home' });
    expect(await a.timeline.recent(50)).toEqual([]);
  });
});
