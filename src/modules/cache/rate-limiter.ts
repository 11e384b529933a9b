import { createHash } from 'node:crypto';

import { Inject, Injectable, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import { Counters } from '../telemetry/counters.service.js';
import { RedisUnavailableError } from './cache.errors.js';
import { NAMESPACE } from './cache-keys.js';
import type { RedisClient } from './redis-client.factory.js';
import { RedisGateway } from './redis-gateway.js';

/** The outcome of counting one request against a budget. */
export interface RateLimitVerdict {
  allowed: boolean;
  /** Requests counted in the current window, this one included (0 when not counted). */
  count: number;
  /** Milliseconds until the current window ends and the budget is whole again. */
  resetInMs: number;
  /** Redis did not answer, so the request was let through without being counted. */
  failedOpen: boolean;
}

export interface RateLimiterOptions {
  /** The clock of the in-process windows (milliseconds). */
  now?: () => number;
}

/** Injection token of {@link RateLimiterOptions}; CacheModule provides none. */
export const RATE_LIMITER_OPTIONS = Symbol('RATE_LIMITER_OPTIONS');

/** Keys kept in process memory without Redis: a few MB at most. */
export const MEMORY_MAX_KEYS = 100_000;

/**
 * The whole key is its own hash tag, so a Redis Cluster places it by the client id alone, and
 * any later per-client key with the same tag lands in the same slot. Braces in the id (a token
 * subject is the issuer's to choose) are percent-encoded so that they cannot move the tag.
 */
export const rateLimitKey = (id: string): string =>
  `${NAMESPACE}{rate:${id.replaceAll('%', '%25').replaceAll('{', '%7B').replaceAll('}', '%7D')}}`;

/**
 * Counts one request in a fixed window that starts with the window's first request, atomically:
 * the first INCR sets the expiry, so every replica sees the same window and the key disappears
 * with it. A key found without an expiry (written by something else) gets one.
 * KEYS[1] counter; ARGV[1] window in ms. Returns { count, ms until the window ends }.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;
const HIT_SCRIPT_SHA = createHash('sha1').update(HIT_SCRIPT).digest('hex');

interface MemoryWindow {
  count: number;
  endsAt: number;
}

/**
 * Request budgets per client and window, shared by every replica through Redis; without Redis
 * configured (the demo, a single replica), the same fixed windows in process memory.
 *
 * When Redis is configured but does not answer, requests are let through uncounted (fail open):
 * a Redis outage must never lock devices out. Each such request is counted in
 * `rate_limit_fail_open_total`.
 */
@Injectable()
export class RateLimiter {
  private readonly now: () => number;
  private readonly memory: LRUCache<string, MemoryWindow> | undefined;

  constructor(
    @Inject(RedisGateway) private readonly redis: RedisGateway,
    @Inject(Counters) private readonly counters: Counters,
    @Optional() @Inject(RATE_LIMITER_OPTIONS) options: RateLimiterOptions | null = null,
  ) {
    this.now = options?.now ?? Date.now;
    this.memory = redis.enabled ? undefined : new LRUCache({ max: MEMORY_MAX_KEYS });
  }

  /** Counts a request of client `id` against `limit` requests per `windowMs`. */
  async hit(id: string, limit: number, windowMs: number): Promise<RateLimitVerdict> {
    if (!(limit >= 1) || !(windowMs >= 1)) {
      throw new RangeError(`rate limit: limit ${limit} and window ${windowMs} ms must be at least 1`);
    }
    if (this.memory !== undefined) return this.hitInMemory(this.memory, id, limit, windowMs);
    try {
      const [count, resetInMs] = await this.redis.run('rate-limit', (client) =>
        runScript(client, rateLimitKey(id), windowMs),
      );
      return { allowed: count <= limit, count, resetInMs, failedOpen: false };
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.counters.increment('rate_limit_fail_open_total');
      return { allowed: true, count: 0, resetInMs: 0, failedOpen: true };
    }
  }

  private hitInMemory(
    memory: LRUCache<string, MemoryWindow>,
    id: string,
    limit: number,
    windowMs: number,
  ): RateLimitVerdict {
    const now = this.now();
    const current = memory.get(id);
    const window =
      current !== undefined && current.endsAt > now ? current : { count: 0, endsAt: now + windowMs };
    window.count += 1;
    memory.set(id, window);
    return {
      allowed: window.count <= limit,
      count: window.count,
      resetInMs: window.endsAt - now,
      failedOpen: false,
    };
  }
}

/** EVALSHA, loading the script on the node that lacks it (each cluster node keeps its own). */
const runScript = async (client: RedisClient, key: string, windowMs: number): Promise<[number, number]> => {
  let reply: unknown;
  try {
    reply = await client.evalsha(HIT_SCRIPT_SHA, 1, key, windowMs);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    reply = await client.eval(HIT_SCRIPT, 1, key, windowMs);
  }
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new Error(`rate limit script answered ${JSON.stringify(reply)}`);
  }
  return [reply[0], reply[1]];
};
