import { describe, expect, it } from 'vitest';

import { episodeId, type Episode } from './episode-tracker.js';
import { mergeEpisodes, parseLogEntry, toLogEntry, type LoggedEpisode } from './timeline-entries.js';

const T = Date.parse('2026-03-01T10:00:00Z');

const episode = (overrides: Partial<Episode> = {}): Episode => ({
  reason: 'TIMEOUT',
  dependency: 'cosmos',
  replica: 'api-1',
  startedAt: T,
  endedAt: null,
  responses: 1,
  lastAt: T,
  rev: 1,
  ...overrides,
});

const logged = (overrides: Partial<LoggedEpisode> = {}): LoggedEpisode => ({
  ...episode(overrides),
  writtenAt: overrides.writtenAt ?? T,
});

const options = { now: T + 1_000, abandonedAfterMs: 100_000 };

describe('timeline entries', () => {
  it('writes an episode as a log entry that reads back the same, with its id, start and rev', () => {
    const state = episode({ responses: 7, rev: 4, lastAt: T + 500 });
    const entry = toLogEntry(state, T + 600);
    expect(entry).toMatchObject({ id: episodeId(state), startedAt: T, rev: 4 });
    expect(parseLogEntry(entry.data)).toEqual({ ...state, writtenAt: T + 600 });
  });

  it('skips entries it cannot read', () => {
    expect(parseLogEntry('not json')).toBeUndefined();
    expect(parseLogEntry('{"reason":"TIMEOUT"}')).toBeUndefined();
    expect(parseLogEntry(JSON.stringify({ ...logged(), responses: -1 }))).toBeUndefined();
  });

  it('keeps one state per episode, the highest rev, and lists the newest start first', () => {
    const merged = mergeEpisodes(
      [
        logged({ replica: 'api-2', rev: 3, responses: 30 }),
        logged({ replica: 'api-2', rev: 5, responses: 50 }),
        logged({ replica: 'api-2', rev: 4, responses: 40 }),
        logged({ replica: 'api-3', startedAt: T + 10, lastAt: T + 10 }),
        logged({
          replica: 'api-1',
          reason: 'NO_PROFILE_DATA',
          dependency: 'gold:profiles',
          startedAt: T - 10,
        }),
      ],
      [],
      options,
    );
    expect(merged.map((item) => [item.replica, item.reason, item.responses])).toEqual([
      ['api-3', 'TIMEOUT', 1],
      ['api-2', 'TIMEOUT', 50],
      ['api-1', 'NO_PROFILE_DATA', 1],
    ]);
  });

  it("prefers this replica's own state unless the log holds a newer one", () => {
    const own = episode({ rev: 6, responses: 60 });
    expect(mergeEpisodes([logged({ rev: 6, responses: 59 })], [own], options)).toEqual([own]);
    expect(mergeEpisodes([logged({ rev: 7, responses: 70, endedAt: T + 1 })], [own], options)).toEqual([
      episode({ rev: 7, responses: 70, endedAt: T + 1 }),
    ]);
  });

  it('shows an open episode its replica stopped writing as ended at its last response', () => {
    const stale = logged({ replica: 'api-2', lastAt: T + 200, writtenAt: T + 300 });
    expect(
      mergeEpisodes([stale], [], { now: T + 300 + 100_000, abandonedAfterMs: 100_000 })[0]!.endedAt,
    ).toBeNull();
    expect(
      mergeEpisodes([stale], [], { now: T + 300 + 100_001, abandonedAfterMs: 100_000 })[0]!.endedAt,
    ).toBe(T + 200);
  });
});
