import { BREAKER_OPEN } from './episode-dependency.js';

/**
 * A period during which one replica served device responses degraded for one reason (or during
 * which one circuit breaker of it was open). Times are milliseconds since the epoch.
 */
export interface Episode {
  /** A degraded reason of the responses (`TIMEOUT`, `NO_PROFILE_DATA`, …) or `BREAKER_OPEN`. */
  reason: string;
  /** What the episode is about: `cosmos`, `redis`, `gold:profiles`, … (see `dependencyOf`). */
  dependency: string;
  replica: string;
  /** The first degraded response (the breaker opening). */
  startedAt: number;
  /** The last degraded response (the breaker closing); null while the episode is open. */
  endedAt: number | null;
  /** Degraded responses counted in the episode (for a breaker: those degraded by its dependency). */
  responses: number;
  /** The last degraded response so far (for a breaker: the last time it was known open). */
  lastAt: number;
  /** Grows with every change, so that where two states of an episode meet the newest wins. */
  rev: number;
}

/** One episode, whichever replica or copy it comes from: same replica, reason, dependency and start. */
export const episodeId = (
  episode: Pick<Episode, 'replica' | 'reason' | 'dependency' | 'startedAt'>,
): string => `${episode.replica}|${episode.reason}|${episode.dependency}|${episode.startedAt}`;

export type BreakerPhase = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'ISOLATED';

export type EpisodeEvent = 'started' | 'ended';

export interface EpisodeTrackerOptions {
  replica: string;
  /** An episode ends once no response was degraded for its reason for this long. */
  quietMs: number;
  /** Least time between two writes of an open episode whose counts changed. */
  flushEveryMs: number;
  /** Longest time an open episode goes unwritten, changed or not: readers can tell it is alive. */
  heartbeatMs: number;
  /** Most ended episodes kept while they wait to be written (the log does not answer). */
  maxPending: number;
  now: () => number;
  /** The dependency of an episode of `reason` starting now (see `dependencyOf`). */
  dependencyOf: (reason: string, operation: string | undefined) => string;
  /** Told when an episode starts or ends (for the logs). */
  onEvent?: (event: EpisodeEvent, episode: Readonly<Episode>) => void;
}

interface Tracked {
  readonly key: string;
  readonly episode: Episode;
  readonly breaker: boolean;
  /** The rev last written to the log (0: never). */
  writtenRev: number;
  /** The rev of a write in flight. */
  writingRev: number | undefined;
  lastWriteAt: number;
  /** The response last counted in a breaker episode (a response may carry several of its reasons). */
  countedResponse: number;
}

const breakerKey = (dependency: string) => `${BREAKER_OPEN}:${dependency}`;

/**
 * The degradation episodes of one replica, in memory: fed with every degraded response and breaker
 * change, and asked (every tick) which episode states are due to be written to the shared log —
 * a new episode and an ended one at once, an open one's counts at most every `flushEveryMs`, and
 * every open one at least every `heartbeatMs`. Time comes from `now` only; nothing here waits.
 */
export class EpisodeTracker {
  /** Open episodes by reason (`BREAKER_OPEN:<dependency>` for breakers). */
  private readonly open = new Map<string, Tracked>();
  /** Ended episodes not yet written, oldest first. */
  private ended: Tracked[] = [];
  private readonly writing = new Map<string, Tracked>();
  /** Counts device responses, so the reasons of one response count once in a breaker episode. */
  private response = 0;

  constructor(private readonly options: EpisodeTrackerOptions) {}

  /** A device response was served; its degraded reasons, if any, follow. */
  responseServed(): void {
    this.response += 1;
  }

  /**
   * `count` device responses were degraded for `reason` (by `operation`). Returns true when this
   * started an episode.
   */
  degraded(reason: string, operation: string | undefined, count = 1): boolean {
    const now = this.options.now();
    let tracked = this.open.get(reason);
    // Quiet for long enough, even if no tick has ended it yet: that episode is over.
    if (tracked !== undefined && now - tracked.episode.lastAt >= this.options.quietMs) {
      this.end(tracked, tracked.episode.lastAt);
      tracked = undefined;
    }
    const started = tracked === undefined;
    tracked ??= this.start(reason, reason, this.options.dependencyOf(reason, operation), now, false);
    const episode = tracked.episode;
    episode.responses += count;
    episode.lastAt = Math.max(episode.lastAt, now);
    episode.rev += 1;
    const breaker = this.open.get(breakerKey(episode.dependency));
    if (breaker !== undefined && breaker.countedResponse !== this.response) {
      breaker.countedResponse = this.response;
      breaker.episode.responses += count;
      breaker.episode.rev += 1;
    }
    return started;
  }

  /**
   * The breaker of `dependency` changed state: OPEN (or ISOLATED) starts an episode, CLOSED ends it,
   * HALF_OPEN and a reopening keep it going. Returns true when an episode started or ended.
   */
  breakerChanged(dependency: string, state: BreakerPhase): boolean {
    const now = this.options.now();
    const key = breakerKey(dependency);
    const tracked = this.open.get(key);
    if (state === 'CLOSED') {
      if (tracked === undefined) return false;
      this.end(tracked, now);
      return true;
    }
    if (tracked !== undefined) {
      tracked.episode.lastAt = now;
      tracked.episode.rev += 1;
      return false;
    }
    if (state === 'HALF_OPEN') return false;
    this.start(key, BREAKER_OPEN, dependency, now, true);
    return true;
  }

  /**
   * Ends the episodes quiet for `quietMs`, then returns copies of the episode states due to be
   * written, marked in flight until {@link settle} is called with them.
   */
  collect(): Episode[] {
    const now = this.options.now();
    this.endQuiet(now);
    const due: Episode[] = [];
    for (const tracked of [...this.ended, ...this.open.values()]) {
      if (tracked.writingRev !== undefined) continue;
      const { episode } = tracked;
      const sinceWrite = now - tracked.lastWriteAt;
      const open = episode.endedAt === null;
      if (open && tracked.breaker && sinceWrite >= this.options.heartbeatMs) {
        // Still open now: that is news for a reader deciding whether this replica is alive.
        episode.lastAt = now;
        episode.rev += 1;
      }
      const changed = episode.rev > tracked.writtenRev;
      const isDue = open
        ? tracked.writtenRev === 0 ||
          sinceWrite >= this.options.heartbeatMs ||
          (changed && sinceWrite >= this.options.flushEveryMs)
        : changed;
      if (!isDue) continue;
      tracked.writingRev = episode.rev;
      this.writing.set(episodeId(episode), tracked);
      due.push({ ...episode });
    }
    return due;
  }

  /** The states from {@link collect} were written (`ok`) or not (they are due again next time). */
  settle(episodes: readonly Episode[], ok: boolean): void {
    const now = this.options.now();
    for (const written of episodes) {
      const id = episodeId(written);
      const tracked = this.writing.get(id);
      if (tracked === undefined) continue;
      this.writing.delete(id);
      if (ok) {
        tracked.writtenRev = Math.max(tracked.writtenRev, tracked.writingRev ?? 0);
        tracked.lastWriteAt = now;
      }
      tracked.writingRev = undefined;
    }
    this.ended = this.ended.filter((tracked) => tracked.writtenRev < tracked.episode.rev);
  }

  /** Copies of the open episodes and of the ended ones not written yet: this replica's latest word. */
  current(): Episode[] {
    return [...this.ended, ...this.open.values()].map((tracked) => ({ ...tracked.episode }));
  }

  /** Ends every open episode (the replica stops): at its last response, a breaker's now. */
  endAll(): void {
    const now = this.options.now();
    for (const tracked of [...this.open.values()]) {
      this.end(tracked, tracked.breaker ? now : tracked.episode.lastAt);
    }
  }

  private start(key: string, reason: string, dependency: string, now: number, breaker: boolean): Tracked {
    const tracked: Tracked = {
      key,
      episode: {
        reason,
        dependency,
        replica: this.options.replica,
        startedAt: now,
        endedAt: null,
        responses: 0,
        lastAt: now,
        rev: 1,
      },
      breaker,
      writtenRev: 0,
      writingRev: undefined,
      lastWriteAt: Number.NEGATIVE_INFINITY,
      countedResponse: Number.NaN,
    };
    this.open.set(key, tracked);
    this.options.onEvent?.('started', tracked.episode);
    return tracked;
  }

  private end(tracked: Tracked, at: number): void {
    tracked.episode.endedAt = Math.max(at, tracked.episode.startedAt);
    tracked.episode.rev += 1;
    this.open.delete(tracked.key);
    this.ended.push(tracked);
    // Bounded while the log does not answer: the oldest unwritten endings are let go.
    if (this.ended.length > this.options.maxPending) {
      this.ended = this.ended.slice(this.ended.length - this.options.maxPending);
    }
    this.options.onEvent?.('ended', tracked.episode);
  }

  private endQuiet(now: number): void {
    for (const tracked of [...this.open.values()]) {
      if (!tracked.breaker && now - tracked.episode.lastAt >= this.options.quietMs) {
        this.end(tracked, tracked.episode.lastAt);
      }
    }
  }
}
