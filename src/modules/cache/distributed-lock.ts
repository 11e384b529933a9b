import { createHash, randomUUID } from 'node:crypto';

import { Inject, Injectable, Optional } from '@nestjs/common';

import { NAMESPACE } from './cache-keys.js';
import type { RedisClient } from './redis-client.factory.js';
import { RedisGateway } from './redis-gateway.js';

export { RedisUnavailableError } from './cache.errors.js';

/** A held lock, as returned by {@link DistributedLock.acquire}. */
export interface LockLease {
  readonly name: string;
  /**
   * Fencing token: strictly increasing across every acquisition of this lock name, ever (INCR of
   * a counter stored with the lock, same hash slot). A resource written under the lock should
   * refuse a write that carries a lower fence than one it has already seen.
   */
  readonly fence: number;
  /**
   * True while this lease still holds the lock (same owner value, not expired) — one round trip;
   * false when Redis says otherwise; throws RedisUnavailableError when Redis does not answer.
   */
  isHeld(): Promise<boolean>;
  /**
   * Extends the expiry to `ttlMs` from now if still held (compare-and-pexpire); false if lost.
   * Throws RedisUnavailableError when Redis does not answer.
   */
  extend(ttlMs: number): Promise<boolean>;
  /**
   * Releases if still held (compare-and-delete); never deletes another owner's lock. Throws
   * RedisUnavailableError when Redis does not answer (the lock then lapses at its expiry).
   */
  release(): Promise<void>;
}

export interface DistributedLockOptions {
  /** The clock of the in-process locks (milliseconds). */
  now?: () => number;
}

/** Injection token of {@link DistributedLockOptions}; CacheModule provides none. */
export const DISTRIBUTED_LOCK_OPTIONS = Symbol('DISTRIBUTED_LOCK_OPTIONS');

/**
 * The whole lock key is its own hash tag, and the fence counter carries the same tag, so a Redis
 * Cluster keeps both in one slot and one script may touch both. Braces in the name are
 * percent-encoded so that they cannot move the tag (as in `rateLimitKey`).
 */
export const lockKey = (name: string): string =>
  `${NAMESPACE}{lock:${name.replaceAll('%', '%25').replaceAll('{', '%7B').replaceAll('}', '%7D')}}`;

/** The lock's fence counter: same hash tag as {@link lockKey}, never expires. */
export const fenceKey = (name: string): string => `${lockKey(name)}:fence`;

interface LockScript {
  source: string;
  sha: string;
}

const script = (source: string): LockScript => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});

/**
 * Takes the lock if free and draws the next fence, atomically.
 * KEYS[1] lock, KEYS[2] fence counter; ARGV[1] owner, ARGV[2] ttl in ms. Returns the fence, or 0
 * when another owner holds the lock.
 */
const ACQUIRE_SCRIPT = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
`);

/** Compare-and-pexpire. KEYS[1] lock; ARGV[1] owner, ARGV[2] ttl in ms. Returns 1 if extended. */
const EXTEND_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

/** Compare-and-delete. KEYS[1] lock; ARGV[1] owner. Returns 1 if deleted. */
const RELEASE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/** Where locks are kept: Redis (shared by every replica) or process memory. */
interface LockStore {
  /** The fence of the new lease, or 0 when another owner holds the lock. */
  acquire(name: string, owner: string, ttlMs: number): Promise<number>;
  isHeld(name: string, owner: string): Promise<boolean>;
  extend(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

class RedisLockStore implements LockStore {
  constructor(private readonly redis: RedisGateway) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<number> {
    const reply = await this.redis.run('lock-acquire', (client) =>
      runScript(client, ACQUIRE_SCRIPT, [lockKey(name), fenceKey(name)], [owner, ttlMs]),
    );
    if (typeof reply !== 'number' || !Number.isSafeInteger(reply) || reply < 0) {
      throw new Error(`lock acquire script answered ${JSON.stringify(reply)}`);
    }
    return reply;
  }

  async isHeld(name: string, owner: string): Promise<boolean> {
    return (await this.redis.run('lock-held', (client) => client.get(lockKey(name)))) === owner;
  }

  async extend(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const reply = await this.redis.run('lock-extend', (client) =>
      runScript(client, EXTEND_SCRIPT, [lockKey(name)], [owner, ttlMs]),
    );
    return reply === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.redis.run('lock-release', (client) =>
      runScript(client, RELEASE_SCRIPT, [lockKey(name)], [owner]),
    );
  }
}

interface MemoryLock {
  owner: string;
  expiresAt: number;
}

/**
 * The same rules in process memory, for a single replica without Redis. Each operation runs
 * synchronously, so it is as atomic as the Redis scripts. Fences start at 1 per process.
 */
class MemoryLockStore implements LockStore {
  private readonly locks = new Map<string, MemoryLock>();
  private readonly fences = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  acquire(name: string, owner: string, ttlMs: number): Promise<number> {
    const now = this.now();
    if (this.current(name, now) !== undefined) return Promise.resolve(0);
    const fence = (this.fences.get(name) ?? 0) + 1;
    this.fences.set(name, fence);
    this.locks.set(name, { owner, expiresAt: now + ttlMs });
    return Promise.resolve(fence);
  }

  isHeld(name: string, owner: string): Promise<boolean> {
    return Promise.resolve(this.current(name, this.now())?.owner === owner);
  }

  extend(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const lock = this.current(name, now);
    if (lock?.owner !== owner) return Promise.resolve(false);
    lock.expiresAt = now + ttlMs;
    return Promise.resolve(true);
  }

  release(name: string, owner: string): Promise<void> {
    if (this.current(name, this.now())?.owner === owner) this.locks.delete(name);
    return Promise.resolve();
  }

  /** The unexpired lock of `name`; an expired one is dropped. */
  private current(name: string, now: number): MemoryLock | undefined {
    const lock = this.locks.get(name);
    if (lock === undefined || lock.expiresAt > now) return lock;
    this.locks.delete(name);
    return undefined;
  }
}

class Lease implements LockLease {
  constructor(
    readonly name: string,
    readonly fence: number,
    private readonly owner: string,
    private readonly store: LockStore,
  ) {}

  isHeld(): Promise<boolean> {
    return this.store.isHeld(this.name, this.owner);
  }

  async extend(ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return this.store.extend(this.name, this.owner, ttlMs);
  }

  release(): Promise<void> {
    return this.store.release(this.name, this.owner);
  }
}

/**
 * A named lock with an expiry, for work that must run on one replica at a time (a scheduled job
 * that must run once across all replicas). With Redis configured, the lock lives in Redis
 * (`flick:v1:{lock:<name>}`, value = a random owner per acquisition) and is shared by every
 * replica; without Redis (a single replica), the same rules hold in process memory.
 *
 * A lease can be lost without its holder knowing (expiry, a long GC pause): long work should
 * `extend` before the expiry and pass `fence` to whatever it writes. When Redis does not answer,
 * every call throws RedisUnavailableError and nothing falls back to memory (that would let two
 * replicas hold the lock). An acquire that timed out may still have taken the lock; it then
 * lapses at its expiry.
 */
@Injectable()
export class DistributedLock {
  /** True when Redis is configured: the lock is shared by all replicas; false: in-process only. */
  readonly shared: boolean;
  private readonly store: LockStore;

  constructor(
    @Inject(RedisGateway) redis: RedisGateway,
    @Optional() @Inject(DISTRIBUTED_LOCK_OPTIONS) options: DistributedLockOptions | null = null,
  ) {
    this.shared = redis.enabled;
    this.store = redis.enabled ? new RedisLockStore(redis) : new MemoryLockStore(options?.now ?? Date.now);
  }

  /**
   * Takes lock `name` for `ttlMs` milliseconds. Null when another owner holds it; throws
   * RedisUnavailableError when Redis does not answer.
   */
  async acquire(name: string, ttlMs: number): Promise<LockLease | null> {
    if (name === '') throw new RangeError('lock: empty name');
    checkTtl(ttlMs);
    const owner = `${randomUUID()}:${process.pid}`;
    const fence = await this.store.acquire(name, owner, ttlMs);
    return fence === 0 ? null : new Lease(name, fence, owner, this.store);
  }
}

const checkTtl = (ttlMs: number): void => {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new RangeError(`lock: ttl ${ttlMs} ms must be a whole number of at least 1`);
  }
};

/** EVALSHA, loading the script on the node that lacks it (each cluster node keeps its own). */
const runScript = async (
  client: RedisClient,
  lua: LockScript,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> => {
  try {
    return await client.evalsha(lua.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.eval(lua.source, keys.length, ...keys, ...args);
  }
};
