import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';

import type { GoldDatasetName } from '../gold/contract/gold-datasets.js';
import { DatasetFreshness, readFreshness } from '../gold/freshness.js';
import { SnapshotRegistry } from '../gold/snapshot-registry.service.js';
import { EpisodeLog, RedisUnavailableError } from '../modules/cache/episode-log.js';
import { APP_CONFIG, type AppConfig } from '../modules/config/app-config.js';
import { ResilienceService } from '../modules/resilience/resilience.service.js';
import { Counters, type CounterLabels } from '../modules/telemetry/counters.service.js';
import { dependencyOf } from './episode-dependency.js';
import { EpisodeTracker, type Episode, type EpisodeEvent } from './episode-tracker.js';
import { mergeEpisodes, parseLogEntry, toLogEntry } from './timeline-entries.js';

export interface OpsOptions {
  /** This replica's name in the timeline; by default the host name and a random suffix. */
  replica?: string;
  /** Wall clock (milliseconds since the epoch): episodes of all replicas are compared on it. */
  now?: () => number;
}

/** Injection token of {@link OpsOptions}; OpsModule provides none. */
export const OPS_OPTIONS = Symbol('OPS_OPTIONS');

/**
 * The host (a pod or container replica name) plus a random suffix: two processes on one host, or
 * one host's process before and after a restart, are different replicas.
 */
export const defaultReplicaName = (): string => `${hostname()}-${randomBytes(3).toString('hex')}`;

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(value)));

/** The cadences of the timeline, from the quiet period that ends an episode. */
export const timelineCadence = (quietMs: number) => {
  const flushEveryMs = clamp(quietMs / 2, 250, 5000);
  const heartbeatMs = quietMs;
  return {
    /** How often episodes are checked for quiet and due writes. */
    tickMs: clamp(quietMs / 4, 100, 1000),
    flushEveryMs,
    heartbeatMs,
    /** Three heartbeats missed, and then some: that replica is gone. */
    abandonedAfterMs: 3 * heartbeatMs + flushEveryMs,
  };
};

/**
 * The degradation timeline: this replica's episodes, tracked from the degraded responses counted in
 * `device_degraded_reasons_total` and from its circuit breakers, written to the shared episode log
 * (Redis; in process without it) on start, every few seconds while open, and on end; read back
 * merged with every other replica's.
 *
 * While the log does not answer, episodes are kept in memory (ended ones up to
 * DEGRADATION_TIMELINE_MAX_EPISODES) and written once it answers; reads then list this replica's
 * episodes only.
 */
@Injectable()
export class DegradationTimeline implements OnModuleInit, BeforeApplicationShutdown {
  readonly replica: string;
  private readonly logger = new Logger(DegradationTimeline.name);
  private readonly now: () => number;
  private readonly cadence: ReturnType<typeof timelineCadence>;
  private readonly tracker: EpisodeTracker;
  private readonly maxEpisodes: number;
  private readonly subscriptions: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushQueued = false;
  /** False from a failed write until one succeeds: one log line per outage. */
  private writable = true;

  constructor(
    private readonly counters: Counters,
    private readonly resilience: ResilienceService,
    private readonly log: EpisodeLog,
    private readonly snapshots: SnapshotRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(OPS_OPTIONS) options: OpsOptions | null = null,
  ) {
    this.replica = options?.replica ?? defaultReplicaName();
    this.now = options?.now ?? Date.now;
    const { episodeQuietMs, timelineMaxEpisodes } = config.operations;
    this.cadence = timelineCadence(episodeQuietMs);
    this.maxEpisodes = timelineMaxEpisodes;
    this.tracker = new EpisodeTracker({
      replica: this.replica,
      quietMs: episodeQuietMs,
      flushEveryMs: this.cadence.flushEveryMs,
      heartbeatMs: this.cadence.heartbeatMs,
      maxPending: timelineMaxEpisodes,
      now: this.now,
      dependencyOf: (reason, operation) =>
        dependencyOf(reason, operation, (datasets) => this.lagging(datasets)),
      onEvent: (event, episode) => this.logEvent(event, episode),
    });
  }

  onModuleInit(): void {
    this.subscriptions.push(this.counters.onIncrement((name, labels, by) => this.counted(name, labels, by)));
    const breakers = this.resilience.onBreakerStateChange(({ dependency, state }) => {
      if (this.tracker.breakerChanged(dependency, state)) this.flushSoon();
    });
    this.subscriptions.push(() => breakers.dispose());
    this.timer = setInterval(() => void this.flush(), this.cadence.tickMs);
    this.timer.unref();
  }

  /** The replica stops: its open episodes end now, and get one last chance to reach the log. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
    this.tracker.endAll();
    await this.flushing;
    await this.flush();
  }

  /** The newest `first` episodes of every replica, newest start first. */
  async recent(first: number): Promise<Episode[]> {
    let logged: string[] = [];
    try {
      logged = await this.log.latest(first);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.logger.warn(`episode log not readable, listing this replica's episodes only: ${error.message}`);
    }
    const episodes = mergeEpisodes(
      logged.flatMap((data) => parseLogEntry(data) ?? []),
      this.tracker.current(),
      { now: this.now(), abandonedAfterMs: this.cadence.abandonedAfterMs },
    );
    return episodes.slice(0, first);
  }

  /** Ends quiet episodes and writes what is due; concurrent calls share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private counted(name: string, labels: CounterLabels, by: number): void {
    if (name === 'device_responses_total') {
      this.tracker.responseServed();
    } else if (name === 'device_degraded_reasons_total') {
      const reason = labels['reason'];
      if (reason !== undefined && by > 0 && this.tracker.degraded(reason, labels['operation'], by)) {
        this.flushSoon();
      }
    }
  }

  /** A start or an end is written right after the request that caused it, not on the next tick. */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  private async write(): Promise<void> {
    const due = this.tracker.collect();
    if (due.length === 0) return;
    const writtenAt = this.now();
    try {
      await this.log.write(
        due.map((episode) => toLogEntry(episode, writtenAt)),
        this.maxEpisodes,
      );
      this.tracker.settle(due, true);
      if (!this.writable) this.logger.log('episode log written again');
      this.writable = true;
    } catch (error) {
      this.tracker.settle(due, false);
      if (this.writable) {
        this.logger.warn(
          `episode log not written, keeping ${due.length} episode state(s) to write later: ${String(error)}`,
        );
      }
      this.writable = false;
    }
  }

  /** Which of `datasets` this replica serves past their freshness objective. */
  private lagging(datasets: readonly GoldDatasetName[]): GoldDatasetName[] {
    const now = this.now();
    return datasets.filter((dataset) => {
      const { status } = readFreshness(
        this.snapshots.get(dataset)?.completedAt ?? null,
        this.config.freshness[dataset],
        now,
      );
      return status === DatasetFreshness.STALE || status === DatasetFreshness.EXPIRED;
    });
  }

  private logEvent(event: EpisodeEvent, episode: Readonly<Episode>): void {
    const what = `degradation episode ${episode.reason} (${episode.dependency})`;
    if (event === 'started') {
      this.logger.warn(`${what} started at ${new Date(episode.startedAt).toISOString()}`);
    } else {
      const seconds = Math.round(((episode.endedAt ?? episode.lastAt) - episode.startedAt) / 1000);
      this.logger.log(
        `${what} ended after ${seconds} s and ${episode.responses} degraded response(s), started at ${new Date(episode.startedAt).toISOString()}`,
      );
    }
  }
}
