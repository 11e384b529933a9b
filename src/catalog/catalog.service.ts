import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ExponentialBackoff, handleAll, retry, type RetryPolicy } from 'cockatiel';

import { SnapshotRegistry, type ActiveSnapshot } from '../gold/snapshot-registry.service.js';
import type { BrowseFilter } from './catalog-cursor.js';
import { CatalogSnapshot, type TitlePage } from './catalog-snapshot.js';
import { isAvailable, utcDay, type CatalogTitle } from './catalog-title.js';
import { CatalogError, CatalogErrorCode } from './catalog.errors.js';
import { CatalogRepository } from './catalog.repository.js';

export interface CatalogServiceOptions {
  /** First delay before retrying a failed snapshot load; grows (with jitter) up to `maxRetryDelayMs`. */
  initialRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** The clock availability is judged by (its UTC date). */
  now?: () => Date;
}

/**
 * Injection token of {@link CatalogServiceOptions}; CatalogModule provides `{}`, so tests can
 * `overrideProvider(CATALOG_SERVICE_OPTIONS)`, e.g. to fix the date.
 */
export const CATALOG_SERVICE_OPTIONS = Symbol('CATALOG_SERVICE_OPTIONS');

/** Waiter key of `whenReady` (snapshot ids never contain a NUL). */
const ANY_SNAPSHOT = '\u0000any';

type SnapshotSource = Pick<SnapshotRegistry, 'subscribe'>;
type SnapshotLoader = Pick<CatalogRepository, 'loadSnapshot'>;

interface Waiter {
  resolve(snapshot: CatalogSnapshot): void;
  reject(error: Error): void;
}

/**
 * The catalogue in memory. Follows the active `catalog` snapshot of the registry: on a change it
 * loads the new snapshot in the background, builds it, and swaps one reference, so a request holds
 * the snapshot it started with and never sees a half-built one. A failed load keeps the current
 * catalogue and is retried with backoff until it succeeds or another snapshot becomes active.
 *
 * Other features read titles through here (`getTitle`, `getTitles`, `isAvailable`, `current`).
 * Pass a per-request object (the GraphQL context) as `pin` so one request sees one snapshot.
 */
@Injectable()
export class CatalogService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CatalogService.name);
  private readonly retryPolicy: RetryPolicy;
  private readonly now: () => Date;
  private active: CatalogSnapshot | undefined;
  /** The snapshot the registry says is active: being loaded, or loaded. */
  private wanted: string | undefined;
  private loading: AbortController | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly pins = new WeakMap<object, CatalogSnapshot>();

  constructor(
    @Inject(CatalogRepository) private readonly repository: SnapshotLoader,
    @Inject(SnapshotRegistry) private readonly registry: SnapshotSource,
    @Optional() @Inject(CATALOG_SERVICE_OPTIONS) options: CatalogServiceOptions | null = null,
  ) {
    this.now = options?.now ?? (() => new Date());
    this.retryPolicy = retry(handleAll, {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({
        initialDelay: options?.initialRetryDelayMs ?? 1000,
        maxDelay: options?.maxRetryDelayMs ?? 60_000,
      }),
    }).dangerouslyUnref();
  }

  onModuleInit(): void {
    this.unsubscribe = this.registry.subscribe((snapshot) => this.onActiveSnapshot(snapshot));
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.loading?.abort();
    this.rejectWaiters(() => true, 'the catalogue service is shutting down');
  }

  /** Whether a catalogue is loaded (readiness). */
  isReady(): boolean {
    return this.active !== undefined;
  }

  /** Id of the snapshot being served, undefined before the first load. */
  snapshotId(): string | undefined {
    return this.active?.snapshotId;
  }

  /**
   * The snapshot to serve from; with `pin`, the one that object saw first (a request keeps its
   * snapshot across a swap). Throws a CATALOG_NOT_LOADED CatalogError before the first load.
   */
  current(pin?: object): CatalogSnapshot {
    const pinned = pin === undefined ? undefined : this.pins.get(pin);
    if (pinned !== undefined) return pinned;
    const active = this.active;
    if (active === undefined) {
      throw new CatalogError(
        CatalogErrorCode.CATALOG_NOT_LOADED,
        'The catalogue is still loading; retry shortly.',
      );
    }
    if (pin !== undefined) this.pins.set(pin, active);
    return active;
  }

  /**
   * Resolves once `snapshotId` is the snapshot served (at once if it already is); rejects if
   * another snapshot becomes active first or the service shuts down.
   */
  whenLoaded(snapshotId: string): Promise<CatalogSnapshot> {
    if (this.active?.snapshotId === snapshotId) return Promise.resolve(this.active);
    return new Promise((resolve, reject) => {
      const waiters = this.waiters.get(snapshotId) ?? [];
      waiters.push({ resolve, reject });
      this.waiters.set(snapshotId, waiters);
    });
  }

  /** Resolves once any catalogue is loaded. */
  whenReady(): Promise<CatalogSnapshot> {
    if (this.active !== undefined) return Promise.resolve(this.active);
    return new Promise((resolve, reject) => {
      const waiters = this.waiters.get(ANY_SNAPSHOT) ?? [];
      waiters.push({ resolve, reject });
      this.waiters.set(ANY_SNAPSHOT, waiters);
    });
  }

  /** Every partner owning a title of the current catalogue, sorted. */
  partnerIds(): readonly string[] {
    return this.current().partnerIds();
  }

  getTitle(id: string, pin?: object): CatalogTitle | null {
    return this.current(pin).get(id);
  }

  /** Titles in the order of `ids`, null for unknown ids. */
  getTitles(ids: readonly string[], pin?: object): (CatalogTitle | null)[] {
    return this.current(pin).getMany(ids);
  }

  genres(pin?: object): readonly string[] {
    return this.current(pin).genres();
  }

  /** A page of titles matching `filter`, availability judged on today's UTC date. */
  browse(filter: BrowseFilter, first: number, after: string | undefined, pin?: object): TitlePage {
    return this.current(pin).browse(filter, first, after, this.today());
  }

  search(text: string, first: number, pin?: object): CatalogTitle[] {
    return this.current(pin).search(text, first);
  }

  /** Whether the title may be watched in `country` on `day` (default: today, UTC). */
  isAvailable(title: CatalogTitle, country: string, day: string = this.today()): boolean {
    return isAvailable(title, country, day);
  }

  /** Today's date (UTC) as the catalogue judges availability, `YYYY-MM-DD`. */
  today(): string {
    return utcDay(this.now());
  }

  private onActiveSnapshot({ dataset, snapshotId }: ActiveSnapshot): void {
    if (dataset !== 'catalog' || snapshotId === this.wanted) return;
    this.wanted = snapshotId;
    this.loading?.abort();
    this.loading = undefined;
    this.rejectWaiters(
      (id) => id !== snapshotId && id !== ANY_SNAPSHOT,
      `catalogue snapshot ${snapshotId} became active first`,
    );
    if (this.active?.snapshotId === snapshotId) return;
    void this.load(snapshotId);
  }

  private async load(snapshotId: string): Promise<void> {
    const controller = new AbortController();
    this.loading = controller;
    const started = performance.now();
    try {
      const snapshot = await this.retryPolicy.execute(async ({ attempt }) => {
        try {
          controller.signal.throwIfAborted();
          const records = await this.repository.loadSnapshot(snapshotId, { signal: controller.signal });
          controller.signal.throwIfAborted();
          // An empty result means a wrong or cleaned-up snapshot, never a catalogue to serve.
          if (records.length === 0) throw new Error('the snapshot has no titles');
          return await CatalogSnapshot.buildInBackground(snapshotId, records);
        } catch (error) {
          if (!controller.signal.aborted) {
            this.logger.warn(
              `catalogue snapshot ${snapshotId}: load attempt ${attempt + 1} failed, still serving ${this.active?.snapshotId ?? 'nothing'}: ${(error as Error).message}`,
            );
          }
          throw error;
        }
      }, controller.signal);
      if (controller.signal.aborted) return;
      this.swap(snapshot, performance.now() - started);
    } catch (error) {
      if (!controller.signal.aborted) {
        this.logger.error(`catalogue snapshot ${snapshotId} not loaded: ${(error as Error).message}`);
      }
    } finally {
      if (this.loading === controller) this.loading = undefined;
    }
  }

  private swap(snapshot: CatalogSnapshot, elapsedMs: number): void {
    const previous = this.active?.snapshotId;
    this.active = snapshot;
    const { titles, genres, search, buildMs } = snapshot.stats;
    this.logger.log(
      `catalogue snapshot ${snapshot.snapshotId} is served (was ${previous ?? 'none'}): ${titles} titles, ${genres} genres, ` +
        `${search.tokens} tokens, ${search.postings} postings; loaded in ${Math.round(elapsedMs)} ms (build ${buildMs} ms)`,
    );
    for (const key of [snapshot.snapshotId, ANY_SNAPSHOT]) {
      for (const waiter of this.waiters.get(key) ?? []) waiter.resolve(snapshot);
      this.waiters.delete(key);
    }
  }

  private rejectWaiters(matches: (snapshotId: string) => boolean, reason: string): void {
    for (const [snapshotId, waiters] of this.waiters) {
      if (!matches(snapshotId)) continue;
      this.waiters.delete(snapshotId);
      const what = snapshotId === ANY_SNAPSHOT ? 'the catalogue' : `catalogue snapshot ${snapshotId}`;
      for (const waiter of waiters) waiter.reject(new Error(`${what} will not be loaded: ${reason}`));
    }
  }
}
