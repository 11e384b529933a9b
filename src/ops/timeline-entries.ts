import { z } from 'zod';

import type { EpisodeLogEntry } from '../modules/cache/episode-log.js';
import { episodeId, type Episode } from './episode-tracker.js';

/** An episode as the shared log holds it: its state, and when its replica wrote that state. */
export interface LoggedEpisode extends Episode {
  writtenAt: number;
}

const time = z.number().finite();
const loggedEpisode = z.object({
  reason: z.string().min(1),
  dependency: z.string().min(1),
  replica: z.string().min(1),
  startedAt: time,
  endedAt: time.nullable(),
  responses: z.number().int().nonnegative(),
  lastAt: time,
  rev: z.number().int().positive(),
  writtenAt: time,
});

/** The log entry of one state of an episode, written at `writtenAt`. */
export const toLogEntry = (episode: Episode, writtenAt: number): EpisodeLogEntry => {
  const logged: LoggedEpisode = {
    reason: episode.reason,
    dependency: episode.dependency,
    replica: episode.replica,
    startedAt: episode.startedAt,
    endedAt: episode.endedAt,
    responses: episode.responses,
    lastAt: episode.lastAt,
    rev: episode.rev,
    writtenAt,
  };
  return {
    id: episodeId(episode),
    startedAt: episode.startedAt,
    rev: episode.rev,
    data: JSON.stringify(logged),
  };
};

/** The episode of a log entry; undefined for one this version cannot read (another version wrote it). */
export const parseLogEntry = (data: string): LoggedEpisode | undefined => {
  try {
    const parsed = loggedEpisode.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

export interface MergeOptions {
  now: number;
  /**
   * An open episode of another replica not written for this long is taken as over: its replica
   * stopped (or cannot reach the log) without saying so. It is shown ended at its last response.
   */
  abandonedAfterMs: number;
}

/**
 * One list of the episodes of the shared log and this replica's own (fresher) states: one entry per
 * episode, its newest state (highest rev; on a tie this replica's own), newest start first.
 */
export const mergeEpisodes = (
  logged: readonly LoggedEpisode[],
  own: readonly Episode[],
  { now, abandonedAfterMs }: MergeOptions,
): Episode[] => {
  const merged = new Map<string, Episode>();
  for (const episode of logged) {
    const open = episode.endedAt === null;
    const { writtenAt: _writtenAt, ...state } = episode;
    void _writtenAt;
    const abandoned = open && now - episode.writtenAt > abandonedAfterMs;
    const candidate = abandoned ? { ...state, endedAt: Math.max(state.lastAt, state.startedAt) } : state;
    const id = episodeId(candidate);
    const current = merged.get(id);
    if (current === undefined || candidate.rev > current.rev) merged.set(id, candidate);
  }
  for (const episode of own) {
    const id = episodeId(episode);
    const current = merged.get(id);
    if (current === undefined || episode.rev >= current.rev) merged.set(id, { ...episode });
  }
  return [...merged.entries()]
    .sort(([idA, a], [idB, b]) => b.startedAt - a.startedAt || (idA < idB ? -1 : idA > idB ? 1 : 0))
    .map(([, episode]) => episode);
};
