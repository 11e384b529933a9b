import { createHash } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import { NAMESPACE } from './cache-keys.js';
import type { RedisClient } from './redis-client.factory.js';
import { RedisGateway } from './redis-gateway.js';

export { RedisUnavailableError } from './cache.errors.js';

/** One state of one entry of the log: what the writer knows of it at `rev`. */
export interface EpisodeLogEntry {
  /** Unique per entry, the same for every state of it. */
  id: string;
  /** Orders the log (milliseconds since the epoch); the entries with the lowest are dropped first. */
  startedAt: number;
  /** Grows with every change of the entry; a state older than the one stored is ignored. */
  rev: number;
  /** The entry as its writer serialized it; the log never looks inside. */
  data: string;
}

/**
 * Three keys with one hash tag, so a Redis Cluster keeps them in one slot and one script may
 * touch all three: the ids ordered by start, their latest data, and the revision of that data.
 */
export const episodeLogKeys = {
  order: `${NAMESPACE}{timeline}:order`,
  data: `${NAMESPACE}{timeline}:data`,
  revs: `${NAMESPACE}{timeline}:revs`,
} as const;

/**
 * Upserts entries, then trims the log to its newest ARGV[1] entries by start (rank), atomically.
 * KEYS: order (sorted set), data (hash), revs (hash). ARGV[1] max entries, then per entry
 * id, startedAt, rev, data. A state whose rev is not above the stored one is skipped. Returns the
 * number of entries dropped by the trim.
 */
const UPSERT_SCRIPT = `
local max = tonumber(ARGV[1])
for i = 2, #ARGV, 4 do
  local id = ARGV[i]
  local stored = tonumber(redis.call('HGET', KEYS[3], id) or '-1')
  if tonumber(ARGV[i + 2]) > stored then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], id)
    redis.call('HSET', KEYS[2], id, ARGV[i + 3])
    redis.call('HSET', KEYS[3], id, ARGV[i + 2])
  end
end
local excess = redis.call('ZCARD', KEYS[1]) - max
local dropped = 0
while excess > 0 do
  local batch = math.min(excess, 500)
  local ids = redis.call('ZRANGE', KEYS[1], 0, batch - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, batch - 1)
  redis.call('HDEL', KEYS[2], unpack(ids))
  redis.call('HDEL', KEYS[3], unpack(ids))
  excess = excess - batch
  dropped = dropped + batch
end
return dropped
`;
const UPSERT_SCRIPT_SHA = createHash('sha1').update(UPSERT_SCRIPT).digest('hex');

interface MemoryEntry {
  startedAt: number;
  rev: number;
  data: string;
}

/**
 * A bounded log of entries (the degradation episodes of every replica), newest start first,
 * where each entry is rewritten in place as it changes. With Redis configured it lives in Redis
 * and every replica writes to and reads the same log; without Redis (the demo, a single replica)
 * the same rules hold in process memory.
 *
 * When Redis does not answer, `write` and `latest` throw RedisUnavailableError; the caller keeps
 * what it could not write and tries again later.
 */
@Injectable()
export class EpisodeLog {
  /** True when Redis is configured: the log is shared by all replicas; false: in-process only. */
  readonly shared: boolean;
  private readonly memory = new Map<string, MemoryEntry>();

  constructor(@Inject(RedisGateway) private readonly redis: RedisGateway) {
    this.shared = redis.enabled;
  }

  /** Stores the given states (older revisions than the stored ones are skipped) and keeps the newest `maxEntries`. */
  async write(entries: readonly EpisodeLogEntry[], maxEntries: number): Promise<void> {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`episode log: max entries ${maxEntries} must be a whole number of at least 1`);
    }
    if (entries.length === 0) return;
    if (!this.shared) {
      this.writeInMemory(entries, maxEntries);
      return;
    }
    const args = [
      maxEntries,
      ...entries.flatMap((entry) => [entry.id, entry.startedAt, entry.rev, entry.data]),
    ];
    await this.redis.run('episode-log-write', (client) => runUpsert(client, args));
  }

  /** The data of the newest `count` entries by start, newest first. */
  async latest(count: number): Promise<string[]> {
    if (!Number.isSafeInteger(count) || count < 1) return [];
    if (!this.shared) {
      return [...this.memory.entries()]
        .sort(newestFirst)
        .slice(0, count)
        .map(([, entry]) => entry.data);
    }
    return this.redis.run('episode-log-read', async (client) => {
      const ids = await client.zrevrange(episodeLogKeys.order, 0, count - 1);
      if (ids.length === 0) return [];
      // An id trimmed between the two reads has no data any more: it is left out.
      const data = await client.hmget(episodeLogKeys.data, ...ids);
      return data.filter((value): value is string => value !== null);
    });
  }

  private writeInMemory(entries: readonly EpisodeLogEntry[], maxEntries: number): void {
    for (const entry of entries) {
      const stored = this.memory.get(entry.id);
      if (stored !== undefined && stored.rev >= entry.rev) continue;
      this.memory.set(entry.id, { startedAt: entry.startedAt, rev: entry.rev, data: entry.data });
    }
    if (this.memory.size <= maxEntries) return;
    const oldest = [...this.memory.entries()].sort(newestFirst).slice(maxEntries);
    for (const [id] of oldest) this.memory.delete(id);
  }
}

/** Newest start first; on a tie, the order of ids reversed, as ZREVRANGE has it. */
const newestFirst = ([idA, a]: [string, MemoryEntry], [idB, b]: [string, MemoryEntry]): number =>
  b.startedAt - a.startedAt || (idA < idB ? 1 : idA > idB ? -1 : 0);

/** EVALSHA, loading the script on the node that lacks it (each cluster node keeps its own). */
const runUpsert = async (client: RedisClient, args: (string | number)[]): Promise<unknown> => {
  const keys = [episodeLogKeys.order, episodeLogKeys.data, episodeLogKeys.revs];
  try {
    return await client.evalsha(UPSERT_SCRIPT_SHA, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.eval(UPSERT_SCRIPT, keys.length, ...keys, ...args);
  }
};
