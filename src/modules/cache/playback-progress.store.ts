import { createHash } from 'node:crypto';

import { Inject, Injectable, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ProgressStoreUnavailableError, RedisUnavailableError } from './cache.errors.js';
import { progressKey } from './cache-keys.js';
import type { RedisClient } from './redis-client.factory.js';
import { RedisGateway } from './redis-gateway.js';

export { ProgressStoreUnavailableError } from './cache.errors.js';

/** How far a profile got in one title, as reported by a device. */
export interface ProgressEntry {
  titleId: string;
  positionSeconds: number;
  durationSeconds: number;
  /** ISO 8601 instant of the report; stored normalized to `toISOString()`. */
  updatedAt: string;
}

export interface PlaybackProgressStoreOptions {
  /** The clock in-memory expiry is judged by (milliseconds). */
  now?: () => number;
}

/** Injection token of {@link PlaybackProgressStoreOptions}; CacheModule provides none. */
export const PLAYBACK_PROGRESS_STORE_OPTIONS = Symbol('PLAYBACK_PROGRESS_STORE_OPTIONS');

/**
 * Profiles kept in process memory without Redis (a single-replica or demo set-up): at 50 titles
 * of about 150 bytes each, some 75 MB at most.
 */
export const MEMORY_MAX_PROFILES = 10_000;

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Newest report first; equal instants by title id (byte order, as the Redis script compares), so
 * which titles are dropped is never left to chance.
 */
export const newestFirst = (a: ProgressEntry, b: ProgressEntry): number =>
  a.updatedAt === b.updatedAt ? byteOrder(a.titleId, b.titleId) : a.updatedAt < b.updatedAt ? 1 : -1;

/**
 * Records one report atomically: keeps the newer of the stored and the reported progress of the
 * title (a late report from another device does not rewind it), refreshes the hash's TTL, and
 * drops the oldest titles beyond the bound, ordered like {@link newestFirst}.
 * KEYS[1] hash; ARGV: titleId, entry JSON, updatedAt, ttl seconds, max titles.
 */
const RECORD_SCRIPT = `
local function less(x, y)
  local n = math.min(#x, #y)
  for i = 1, n do
    local cx, cy = string.byte(x, i), string.byte(y, i)
    if cx ~= cy then return cx < cy end
  end
  return #x < #y
end
local function updatedAt(json)
  local ok, entry = pcall(cjson.decode, json)
  if ok and type(entry) == 'table' and type(entry.updatedAt) == 'string' then return entry.updatedAt end
  return ''
end
local key, titleId, json, at = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local ttl, max = tonumber(ARGV[4]), tonumber(ARGV[5])
local current = redis.call('HGET', key, titleId)
if not current or not less(at, updatedAt(current)) then
  redis.call('HSET', key, titleId, json)
end
redis.call('EXPIRE', key, ttl)
if redis.call('HLEN', key) > max then
  local all = redis.call('HGETALL', key)
  local items = {}
  for i = 1, #all, 2 do
    items[#items + 1] = { t = all[i], u = updatedAt(all[i + 1]) }
  end
  table.sort(items, function(a, b)
    if a.u ~= b.u then return less(b.u, a.u) end
    return less(a.t, b.t)
  end)
  for i = max + 1, #items do redis.call('HDEL', key, items[i].t) end
end
return 1
`;
const RECORD_SCRIPT_SHA = createHash('sha1').update(RECORD_SCRIPT).digest('hex');

interface MemoryProfile {
  titles: Map<string, ProgressEntry>;
  expiresAt: number;
}

/**
 * Playback progress per profile, newest first, bounded to `progressMaxTitles` titles and kept for
 * `progressTtlSeconds` after the profile's last report.
 *
 * With Redis: one hash per profile (`flick:v1:{progress:<profileId>}`, field = title id, value =
 * the entry as JSON), shared by every replica; when Redis does not answer, both methods throw
 * {@link ProgressStoreUnavailableError} (never a silent fallback to memory, which would split a
 * profile's progress between replicas). Without Redis: the same rules in process memory.
 */
@Injectable()
export class PlaybackProgressStore {
  private readonly ttlSeconds: number;
  private readonly maxTitles: number;
  private readonly now: () => number;
  private readonly memory: LRUCache<string, MemoryProfile> | undefined;

  constructor(
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'cache'>,
    @Inject(RedisGateway) private readonly redis: RedisGateway,
    @Optional() @Inject(PLAYBACK_PROGRESS_STORE_OPTIONS) options: PlaybackProgressStoreOptions | null = null,
  ) {
    this.ttlSeconds = config.cache.progressTtlSeconds;
    this.maxTitles = config.cache.progressMaxTitles;
    this.now = options?.now ?? Date.now;
    this.memory = redis.enabled
      ? undefined
      : new LRUCache({ max: MEMORY_MAX_PROFILES, ttl: this.ttlSeconds * 1000 });
  }

  /** Records a report; an older report of a title than the one stored is ignored. */
  async record(profileId: string, entry: ProgressEntry): Promise<void> {
    const normalized = normalize(profileId, entry);
    if (this.memory !== undefined) {
      this.recordInMemory(this.memory, profileId, normalized);
      return;
    }
    const json = JSON.stringify(normalized);
    const args = [normalized.titleId, json, normalized.updatedAt, this.ttlSeconds, this.maxTitles];
    await this.call('record', (client) => runScript(client, progressKey(profileId), args));
  }

  /** The profile's progress, newest first; empty when it has none (or it expired). */
  async list(profileId: string): Promise<ProgressEntry[]> {
    if (this.memory !== undefined) {
      const profile = this.memory.get(profileId);
      if (profile === undefined) return [];
      if (profile.expiresAt <= this.now()) {
        this.memory.delete(profileId);
        return [];
      }
      return [...profile.titles.values()].sort(newestFirst).map((entry) => ({ ...entry }));
    }
    const fields = await this.call('list', (client) => client.hgetall(progressKey(profileId)));
    return Object.values(fields)
      .map(parseEntry)
      .filter((entry) => entry !== undefined)
      .sort(newestFirst)
      .slice(0, this.maxTitles);
  }

  private recordInMemory(
    memory: LRUCache<string, MemoryProfile>,
    profileId: string,
    entry: ProgressEntry,
  ): void {
    const now = this.now();
    const current = memory.get(profileId);
    const titles =
      current !== undefined && current.expiresAt > now ? current.titles : new Map<string, ProgressEntry>();
    const stored = titles.get(entry.titleId);
    if (stored === undefined || entry.updatedAt >= stored.updatedAt) titles.set(entry.titleId, entry);
    if (titles.size > this.maxTitles) {
      for (const dropped of [...titles.values()].sort(newestFirst).slice(this.maxTitles)) {
        titles.delete(dropped.titleId);
      }
    }
    memory.set(profileId, { titles, expiresAt: now + this.ttlSeconds * 1000 });
  }

  private async call<T>(operation: 'record' | 'list', call: (client: RedisClient) => Promise<T>): Promise<T> {
    try {
      return await this.redis.run(`progress-${operation}`, call);
    } catch (error) {
      if (error instanceof RedisUnavailableError)
        throw new ProgressStoreUnavailableError(operation, { cause: error });
      throw error;
    }
  }
}

/** EVALSHA, loading the script on the node that lacks it (each cluster node keeps its own). */
const runScript = async (client: RedisClient, key: string, args: (string | number)[]): Promise<unknown> => {
  try {
    return await client.evalsha(RECORD_SCRIPT_SHA, 1, key, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.eval(RECORD_SCRIPT, 1, key, ...args);
  }
};

const normalize = (profileId: string, entry: ProgressEntry): ProgressEntry => {
  if (profileId === '') throw new RangeError('playback progress: empty profile id');
  if (entry.titleId === '') throw new RangeError('playback progress: empty title id');
  for (const field of ['positionSeconds', 'durationSeconds'] as const) {
    if (!Number.isFinite(entry[field]) || entry[field] < 0) {
      throw new RangeError(`playback progress: ${field} must be a finite number >= 0`);
    }
  }
  const time = Date.parse(entry.updatedAt);
  const updatedAt = Number.isNaN(time) ? '' : new Date(time).toISOString();
  // Four-digit years keep ISO strings in time order when compared as text.
  if (!/^\d{4}-/.test(updatedAt)) {
    throw new RangeError(`playback progress: updatedAt "${entry.updatedAt}" is not an ISO instant`);
  }
  return {
    titleId: entry.titleId,
    positionSeconds: entry.positionSeconds,
    durationSeconds: entry.durationSeconds,
    updatedAt,
  };
};

const parseEntry = (json: string): ProgressEntry | undefined => {
  try {
    const entry = JSON.parse(json) as Partial<ProgressEntry>;
    if (
      typeof entry.titleId === 'string' &&
      typeof entry.positionSeconds === 'number' &&
      typeof entry.durationSeconds === 'number' &&
      typeof entry.updatedAt === 'string'
    ) {
      return {
        titleId: entry.titleId,
        positionSeconds: entry.positionSeconds,
        durationSeconds: entry.durationSeconds,
        updatedAt: entry.updatedAt,
      };
    }
  } catch {
    // an unreadable field is left out
  }
  return undefined;
};
