import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Counters } from '../telemetry/counters.service.js';
import { RedisUnavailableError } from './cache.errors.js';
import { freshKey, lastGoodKey } from './cache-keys.js';
import { RedisGateway } from './redis-gateway.js';

export type CacheLevel = 'L1' | 'L2' | 'SOURCE';

export interface CacheResult<T> {
  value: T;
  /** Where the value came from. */
  level: CacheLevel;
  /** Redis is configured but did not answer (or was skipped after a failure), so L2 was not read. */
  cacheUnavailable: boolean;
}

export interface LastGoodCopy<T> {
  value: T;
  level: 'L1' | 'L2';
}

export interface LastGoodRead<T> {
  copy: LastGoodCopy<T> | undefined;
  /** Redis is configured but did not answer, so a copy kept there could not be read. */
  cacheUnavailable: boolean;
}

export interface GetOrLoadOptions {
  /** Lets this caller stop waiting; a load shared with other callers goes on for them. */
  signal?: AbortSignal;
  /**
   * Where a loaded value's last-good copy is kept (default: the key itself). A key without the
   * snapshot id lets the copy outlive a snapshot switch; read it back with {@link TwoLevelCache.lastGood}.
   */
  lastGoodKey?: string;
}

export interface TwoLevelCacheOptions {
  /** The clock L1 expiry is judged by (milliseconds). */
  now?: () => number;
}

/** Injection token of {@link TwoLevelCacheOptions}; CacheModule provides none. */
export const TWO_LEVEL_CACHE_OPTIONS = Symbol('TWO_LEVEL_CACHE_OPTIONS');

interface L1Entry {
  value: unknown;
  /** Serialized length plus key: what the L1 budget is measured in. */
  size: number;
  until: number;
}

/** Stored as `{"v":…}` so that `null` and `undefined` are cacheable answers too. */
interface Envelope {
  v?: unknown;
}

/** L1 holds fresh copies and last-good copies side by side, under these key prefixes. */
const FRESH = 'F:';
const GOOD = 'G:';

/**
 * Cache in front of a source: L1 in process (LRU, short TTL, bounded by the serialized size of its
 * values), then L2 in Redis (shared by the replicas, longer TTL), then the source.
 *
 * - Concurrent misses of one key in this process share one L2 read and one load (single flight);
 *   a failed load reaches every waiter and is not cached.
 * - A load also leaves a last-good copy (in L1 while it fits, in Redis for `lastGoodTtlSeconds`)
 *   for the caller's fallback when the source fails: {@link TwoLevelCache.lastGood}.
 * - Redis never fails a call: a timeout or error is a miss reported as `cacheUnavailable`, and
 *   writes to Redis are sent after the answer, without waiting for them.
 *
 * Values are JSON data: every level hands out the value as it comes back from JSON (a `Date`
 * becomes its ISO string), deep-frozen, because all callers of a key share one object. The L1
 * budget counts a value once per copy (fresh and last-good), so it over-estimates when both are held.
 */
@Injectable()
export class TwoLevelCache {
  private readonly logger = new Logger(TwoLevelCache.name);
  private readonly l1: LRUCache<string, L1Entry>;
  private readonly loads = new Map<string, Promise<CacheResult<unknown>>>();
  private readonly lastGoodReads = new Map<string, Promise<LastGoodRead<unknown>>>();
  private readonly now: () => number;
  private readonly l1TtlMs: number;
  private readonly l2TtlSeconds: number;
  private readonly lastGoodTtlSeconds: number;

  constructor(
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'cache'>,
    @Inject(RedisGateway) private readonly redis: RedisGateway,
    @Inject(Counters) private readonly counters: Counters,
    @Optional() @Inject(TWO_LEVEL_CACHE_OPTIONS) options: TwoLevelCacheOptions | null = null,
  ) {
    this.now = options?.now ?? Date.now;
    this.l1TtlMs = config.cache.l1TtlMs;
    this.l2TtlSeconds = config.cache.l2TtlSeconds;
    this.lastGoodTtlSeconds = config.cache.lastGoodTtlSeconds;
    this.l1 = new LRUCache<string, L1Entry>({
      maxSize: config.cache.l1MaxBytes,
      sizeCalculation: (entry) => entry.size,
      // Expiry is judged by `until`; the TTL only frees the memory of entries nobody reads.
      ttl: config.cache.lastGoodTtlSeconds * 1000,
    });
  }

  /** The value of `key` from L1, else L2, else `load` (whose result is then cached). */
  async getOrLoad<T>(
    key: string,
    load: () => Promise<T>,
    options: GetOrLoadOptions = {},
  ): Promise<CacheResult<T>> {
    options.signal?.throwIfAborted();
    const fresh = this.fromL1(FRESH, key);
    if (fresh !== undefined) {
      this.counters.increment('cache_requests_total', { level: 'L1' });
      return { value: fresh.value as T, level: 'L1', cacheUnavailable: false };
    }
    let shared = this.loads.get(key);
    if (shared === undefined) {
      const flight = this.fill(key, options.lastGoodKey ?? key, load).finally(() => {
        if (this.loads.get(key) === flight) this.loads.delete(key);
      });
      // Every waiter may have stopped waiting; the outcome is then nobody's to handle.
      flight.catch(() => undefined);
      this.loads.set(key, flight);
      shared = flight;
    }
    const result = await untilAborted(shared, options.signal);
    this.counters.increment('cache_requests_total', { level: result.level });
    return { ...(result as CacheResult<T>) };
  }

  /**
   * The last good copy kept under `key` (a `lastGoodKey` given to getOrLoad, or its key), however
   * old, from L1 or else Redis; undefined when there is none or Redis does not answer.
   */
  async lastGood<T>(key: string): Promise<LastGoodCopy<T> | undefined> {
    return (await this.lastGoodRead<T>(key)).copy;
  }

  /** {@link lastGood}, also telling whether Redis failed to answer (so no copy there could be read). */
  async lastGoodRead<T>(key: string): Promise<LastGoodRead<T>> {
    const inL1 = this.fromL1(GOOD, key);
    let read: LastGoodRead<unknown> = { copy: undefined, cacheUnavailable: false };
    if (inL1 !== undefined) {
      read = { copy: { value: inL1.value, level: 'L1' }, cacheUnavailable: false };
    } else if (this.redis.enabled) {
      let shared = this.lastGoodReads.get(key);
      if (shared === undefined) {
        const pending = this.readLastGood(key).finally(() => {
          if (this.lastGoodReads.get(key) === pending) this.lastGoodReads.delete(key);
        });
        this.lastGoodReads.set(key, pending);
        shared = pending;
      }
      read = await shared;
    }
    this.counters.increment('cache_last_good_total', { level: read.copy?.level ?? 'NONE' });
    return {
      copy: read.copy === undefined ? undefined : { ...(read.copy as LastGoodCopy<T>) },
      cacheUnavailable: read.cacheUnavailable,
    };
  }

  private async fill(
    key: string,
    goodKey: string,
    load: () => Promise<unknown>,
  ): Promise<CacheResult<unknown>> {
    let cacheUnavailable = false;
    if (this.redis.enabled) {
      try {
        const raw = await this.redis.run('get', (client) => client.get(freshKey(key)));
        const envelope = raw === null ? undefined : this.decode(raw);
        if (envelope !== undefined) {
          this.toL1(FRESH, key, envelope.v, raw!.length, this.l1TtlMs);
          this.toL1(GOOD, goodKey, envelope.v, raw!.length, this.lastGoodTtlSeconds * 1000);
          return { value: envelope.v, level: 'L2', cacheUnavailable: false };
        }
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error;
        cacheUnavailable = true;
      }
    }
    const loaded = await load();
    const serialized = this.encode(key, loaded);
    if (serialized === undefined) return { value: loaded, level: 'SOURCE', cacheUnavailable };
    const { v: value } = this.decode(serialized)!;
    this.toL1(FRESH, key, value, serialized.length, this.l1TtlMs);
    // "Nothing there" is no good copy to fall back on: it never replaces an earlier one (a store
    // that comes back empty must not erase the copies that would answer while it is refilled).
    const good = value === null || value === undefined ? undefined : goodKey;
    if (good !== undefined) this.toL1(GOOD, good, value, serialized.length, this.lastGoodTtlSeconds * 1000);
    if (this.redis.enabled && !cacheUnavailable) this.toL2(key, good, serialized);
    return { value, level: 'SOURCE', cacheUnavailable };
  }

  private async readLastGood(key: string): Promise<LastGoodRead<unknown>> {
    let raw: string | null;
    try {
      raw = await this.redis.run('last-good', (client) => client.get(lastGoodKey(key)));
    } catch (error) {
      if (error instanceof RedisUnavailableError) return { copy: undefined, cacheUnavailable: true };
      throw error;
    }
    const envelope = raw === null ? undefined : this.decode(raw);
    if (envelope === undefined) return { copy: undefined, cacheUnavailable: false };
    // Held in L1 only as long as a fresh copy: its remaining life in Redis is unknown here.
    this.toL1(GOOD, key, envelope.v, raw!.length, this.l1TtlMs);
    return { copy: { value: envelope.v, level: 'L2' }, cacheUnavailable: false };
  }

  /** Sent after the caller has its answer; failures are counted and logged by the gateway. */
  private toL2(key: string, goodKey: string | undefined, serialized: string): void {
    this.redis
      .run('set', (client) =>
        Promise.all([
          client.set(freshKey(key), serialized, 'EX', this.l2TtlSeconds),
          ...(goodKey === undefined
            ? []
            : [client.set(lastGoodKey(goodKey), serialized, 'EX', this.lastGoodTtlSeconds)]),
        ]),
      )
      .catch(() => undefined);
  }

  private fromL1(prefix: string, key: string): L1Entry | undefined {
    const entry = this.l1.get(prefix + key);
    return entry !== undefined && entry.until > this.now() ? entry : undefined;
  }

  private toL1(prefix: string, key: string, value: unknown, serializedLength: number, ttlMs: number): void {
    this.l1.set(
      prefix + key,
      { value, size: serializedLength + prefix.length + key.length, until: this.now() + ttlMs },
      { ttl: ttlMs },
    );
  }

  private encode(key: string, value: unknown): string | undefined {
    try {
      return JSON.stringify({ v: value } satisfies Envelope);
    } catch (error) {
      this.counters.increment('cache_errors_total', { op: 'encode' });
      this.logger.error(`${key}: value is not JSON-serializable, so not cached: ${(error as Error).message}`);
      return undefined;
    }
  }

  private decode(raw: string): Envelope | undefined {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        return deepFreeze(parsed as Envelope);
      }
    } catch {
      // counted below
    }
    this.counters.increment('cache_errors_total', { op: 'decode' });
    return undefined;
  }
}

/** Applied to parsed JSON only, which has no cycles. */
const deepFreeze = <T>(value: T): T => {
  if (typeof value !== 'object' || value === null) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
};

/** `promise`, or the abort reason as soon as `signal` aborts. */
const untilAborted = <T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> => {
  if (signal === undefined) return promise;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
};
