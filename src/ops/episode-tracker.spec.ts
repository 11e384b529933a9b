import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { dependencyOf } from './episode-dependency.js';
import { EpisodeTracker, episodeId, type Episode, type EpisodeTrackerOptions } from './episode-tracker.js';

const QUIET_MS = 30_000;
const START = Date.parse('2026-03-01T10:00:00Z');

/** A tracker on a fake clock, with the production mapping of reasons to dependencies. */
const build = (options: Partial<EpisodeTrackerOptions> = {}) => {
  let now = START;
  const events: string[] = [];
  const sut = new EpisodeTracker({
    replica: 'api-1',
    quietMs: QUIET_MS,
    flushEveryMs: 5_000,
    heartbeatMs: QUIET_MS,
    maxPending: 100,
    now: () => now,
    dependencyOf: (reason, operation) => dependencyOf(reason, operation, () => ['profiles']),
    onEvent: (event, episode) => events.push(`${event} ${episode.reason}`),
    ...options,
  });
  /** One device response degraded for `reasons`, as HomeService.meta counts it. */
  const respond = (...reasons: string[]) => {
    sut.responseServed();
    return reasons.map((reason) => sut.degraded(reason, 'home'));
  };
  return {
    sut,
    events,
    respond,
    advance: (ms: number) => void (now += ms),
    now: () => now,
    /** Collects what is due and reports it written. */
    write: (): Episode[] => {
      const due = sut.collect();
      sut.settle(due, true);
      return due;
    },
  };
};

const summary = (episodes: Episode[]) =>
  episodes.map(({ reason, dependency, startedAt, endedAt, responses }) => ({
    reason,
    dependency,
    startedAt: startedAt - START,
    endedAt: endedAt === null ? null : endedAt - START,
    responses,
  }));

describe(EpisodeTracker.name, () => {
  it('starts an episode with the first degraded response, counts the next ones, and ends it after the quiet period at the last one', () => {
    const { sut, respond, advance, events } = build();
    expect(respond('NO_PROFILE_DATA')).toEqual([true]);
    advance(1_000);
    expect(respond('NO_PROFILE_DATA')).toEqual([false]);
    advance(2_000);
    respond('NO_PROFILE_DATA');
    expect(summary(sut.current())).toEqual([
      { reason: 'NO_PROFILE_DATA', dependency: 'gold:profiles', startedAt: 0, endedAt: null, responses: 3 },
    ]);

    advance(QUIET_MS - 1);
    sut.collect();
    expect(sut.current()[0]!.endedAt).toBeNull();
    advance(1);
    sut.collect();
    expect(summary(sut.current())).toEqual([
      { reason: 'NO_PROFILE_DATA', dependency: 'gold:profiles', startedAt: 0, endedAt: 3_000, responses: 3 },
    ]);
    expect(events).toEqual(['started NO_PROFILE_DATA', 'ended NO_PROFILE_DATA']);
  });

  it('starts a new episode for a response after the quiet period, even before anything ended the old one', () => {
    const { sut, respond, advance } = build();
    respond('TIMEOUT');
    advance(QUIET_MS);
    expect(respond('TIMEOUT')).toEqual([true]);
    expect(summary(sut.current())).toEqual([
      { reason: 'TIMEOUT', dependency: 'cosmos', startedAt: 0, endedAt: 0, responses: 1 },
      { reason: 'TIMEOUT', dependency: 'cosmos', startedAt: QUIET_MS, endedAt: null, responses: 1 },
    ]);
  });

  it('keeps one episode per reason, each with its own dependency, start, count and end', () => {
    const { sut, respond, advance } = build();
    respond('TIMEOUT', 'CACHE_UNAVAILABLE');
    advance(1_000);
    respond('CACHE_UNAVAILABLE');
    advance(1_000);
    respond('PIPELINE_LAG');
    advance(QUIET_MS - 1_500);
    sut.collect();
    expect(summary(sut.current())).toEqual([
      { reason: 'TIMEOUT', dependency: 'cosmos', startedAt: 0, endedAt: 0, responses: 1 },
      { reason: 'CACHE_UNAVAILABLE', dependency: 'redis', startedAt: 0, endedAt: null, responses: 2 },
      { reason: 'PIPELINE_LAG', dependency: 'gold:profiles', startedAt: 2_000, endedAt: null, responses: 1 },
    ]);
    advance(1_000);
    sut.collect();
    expect(summary(sut.current()).map((episode) => episode.endedAt)).toEqual([0, 1_000, null]);
  });

  it('makes a breaker opening an episode that counts the responses its dependency degraded, once each, until it closes', () => {
    const { sut, respond, advance, events } = build();
    respond('TIMEOUT');
    advance(500);
    expect(sut.breakerChanged('cosmos', 'OPEN')).toBe(true);
    respond('STORE_UNAVAILABLE', 'TIMEOUT');
    respond('STORE_UNAVAILABLE', 'CACHE_UNAVAILABLE');
    advance(2_000);
    expect(sut.breakerChanged('cosmos', 'HALF_OPEN')).toBe(false);
    expect(sut.breakerChanged('cosmos', 'OPEN')).toBe(false);
    respond('STORE_UNAVAILABLE');
    advance(2_000);
    sut.breakerChanged('cosmos', 'HALF_OPEN');
    expect(sut.breakerChanged('cosmos', 'CLOSED')).toBe(true);
    expect(sut.breakerChanged('redis', 'CLOSED')).toBe(false);
    expect(sut.breakerChanged('redis', 'HALF_OPEN')).toBe(false);
    const breaker = sut.current().filter((episode) => episode.reason === 'BREAKER_OPEN');
    expect(summary(breaker)).toEqual([
      { reason: 'BREAKER_OPEN', dependency: 'cosmos', startedAt: 500, endedAt: 4_500, responses: 3 },
    ]);
    expect(events.filter((event) => event.endsWith('BREAKER_OPEN'))).toEqual([
      'started BREAKER_OPEN',
      'ended BREAKER_OPEN',
    ]);
  });

  it('writes a new episode at once, its counts at most every flushEveryMs, its end at once, then forgets it', () => {
    const { sut, respond, advance, write } = build();
    expect(write()).toEqual([]);
    respond('TIMEOUT');
    expect(summary(write())).toEqual([
      { reason: 'TIMEOUT', dependency: 'cosmos', startedAt: 0, endedAt: null, responses: 1 },
    ]);
    advance(1_000);
    respond('TIMEOUT');
    expect(write()).toEqual([]);
    advance(4_000);
    expect(write().map((episode) => episode.responses)).toEqual([2]);
    // Unchanged: nothing to write until the heartbeat.
    advance(5_000);
    expect(write()).toEqual([]);
    advance(QUIET_MS - 9_000);
    const ended = write();
    expect(summary(ended)).toEqual([
      { reason: 'TIMEOUT', dependency: 'cosmos', startedAt: 0, endedAt: 1_000, responses: 2 },
    ]);
    expect(sut.current()).toEqual([]);
    advance(QUIET_MS * 2);
    expect(write()).toEqual([]);
  });

  it('rewrites an open episode at least every heartbeatMs, a breaker with its latest sighting', () => {
    const { sut, advance, write } = build({ heartbeatMs: 10_000 });
    sut.breakerChanged('redis', 'OPEN');
    expect(write().map((episode) => episode.lastAt - START)).toEqual([0]);
    advance(9_999);
    expect(write()).toEqual([]);
    advance(1);
    expect(write().map((episode) => episode.lastAt - START)).toEqual([10_000]);
  });

  it('writes each rev once, and again after a failed write, never two writes of one episode at a time', () => {
    const { sut, respond, advance } = build();
    respond('TIMEOUT');
    const first = sut.collect();
    expect(first).toHaveLength(1);
    // In flight: not collected again.
    expect(sut.collect()).toEqual([]);
    sut.settle(first, false);
    const retry = sut.collect();
    expect(retry.map(episodeId)).toEqual(first.map(episodeId));
    sut.settle(retry, true);
    advance(QUIET_MS);
    const end = sut.collect();
    sut.settle(end, false);
    expect(sut.current()).toHaveLength(1);
    sut.settle(sut.collect(), true);
    expect(sut.current()).toEqual([]);
  });

  it('keeps at most maxPending ended episodes while they cannot be written, the newest', () => {
    const { sut, respond, advance } = build({ maxPending: 3 });
    for (let index = 0; index < 5; index++) {
      respond('TIMEOUT');
      advance(QUIET_MS);
      sut.settle(sut.collect(), false);
    }
    expect(sut.current().map((episode) => (episode.startedAt - START) / QUIET_MS)).toEqual([2, 3, 4]);
  });

  it('ends every open episode when the replica stops', () => {
    const { sut, respond, advance } = build();
    respond('TIMEOUT');
    sut.breakerChanged('cosmos', 'OPEN');
    advance(700);
    sut.endAll();
    expect(summary(sut.current())).toEqual([
      { reason: 'TIMEOUT', dependency: 'cosmos', startedAt: 0, endedAt: 0, responses: 1 },
      { reason: 'BREAKER_OPEN', dependency: 'cosmos', startedAt: 0, endedAt: 700, responses: 0 },
    ]);
  });

  it('counts every degraded response in exactly one episode of its reason, split by the quiet period', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('TIMEOUT', 'NO_PROFILE_DATA'), fc.nat(2 * QUIET_MS)), {
          maxLength: 40,
        }),
        (steps) => {
          const { sut, advance, write } = build();
          const written = new Map<string, Episode>();
          for (const [reason, pause] of steps) {
            advance(pause);
            for (const episode of write()) written.set(episodeId(episode), episode);
            sut.responseServed();
            sut.degraded(reason, 'home');
          }
          advance(QUIET_MS);
          for (const episode of write()) written.set(episodeId(episode), episode);
          const episodes = [...written.values()];
          for (const reason of ['TIMEOUT', 'NO_PROFILE_DATA']) {
            const mine = episodes.filter((episode) => episode.reason === reason);
            expect(mine.reduce((sum, episode) => sum + episode.responses, 0)).toBe(
              steps.filter(([r]) => r === reason).length,
            );
            for (const episode of mine) {
              expect(episode.endedAt).not.toBeNull();
              expect(episode.endedAt!).toBeGreaterThanOrEqual(episode.startedAt);
            }
            // Episodes of one reason never overlap, and are at least a quiet period apart.
            const sorted = mine.sort((a, b) => a.startedAt - b.startedAt);
            for (let index = 1; index < sorted.length; index++) {
              expect(sorted[index]!.startedAt - sorted[index - 1]!.endedAt!).toBeGreaterThanOrEqual(QUIET_MS);
            }
          }
        },
      ),
    );
  });
});
