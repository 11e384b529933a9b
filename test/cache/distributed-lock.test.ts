import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { RedisUnavailableError } from '../../src/modules/cache/cache.errors.js';
import {
  DistributedLock,
  fenceKey,
  lockKey,
  type LockLease,
} from '../../src/modules/cache/distributed-lock.js';
import { startRedis, startRedisCluster, type TestRedis, type TestRedisCluster } from '../support/redis.js';
import {
  captureLogs,
  eventually,
  startReplica,
  topologies,
  type CacheReplica,
  type Topology,
} from './cache-stack.js';

/**
 * The distributed lock against real Redis, standalone and a 3-node cluster: ten replicas, each
 * with its own connection (gateway) and its own DistributedLock, as ten service instances would.
 */

const REPLICAS = 10;

/** The lease, failing the test when the lock was not free. */
const acquired = async (lock: DistributedLock, name: string, ttlMs: number): Promise<LockLease> => {
  const lease = await lock.acquire(name, ttlMs);
  if (lease === null) throw new Error(`lock ${name} was not free`);
  return lease;
};

const jobName = () => `job-${randomUUID()}`;

describe.each(topologies)('DistributedLock on $name Redis', (topology) => {
  let server: Awaited<ReturnType<Topology['start']>>;
  const replicas: CacheReplica[] = [];
  let locks: DistributedLock[] = [];
  /** The lock of replica `index` (modulo the replica count). */
  const lock = (index: number): DistributedLock => locks[index % locks.length]!;

  beforeAll(async () => {
    captureLogs();
    server = await topology.start();
    // A generous command timeout: these tests are about the lock's rules, not about a slow Redis.
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: REPLICAS }, () => startReplica(server.redis, { commandTimeoutMs: 1000 })),
      )),
    );
    locks = replicas.map((replica) => new DistributedLock(replica.gateway));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await server?.stop();
    vi.restoreAllMocks();
  });

  it('is shared', () => {
    expect(locks.every((each) => each.shared)).toBe(true);
  });

  it(`gives the lock to exactly one of ${REPLICAS} replicas acquiring at once`, async () => {
    for (let round = 0; round < 5; round += 1) {
      const name = jobName();
      const leases = await Promise.all(locks.map((each) => each.acquire(name, 10_000)));
      const winners = leases.filter((lease) => lease !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]!.fence).toBe(1);
      expect(await server.client.get(fenceKey(name))).toBe('1');
      expect(await server.client.pttl(lockKey(name))).toBeGreaterThan(9000);
      expect(await winners[0]!.isHeld()).toBe(true);

      // Released, the next race again has one winner, with the next fence.
      await winners[0]!.release();
      const next = (await Promise.all(locks.map((each) => each.acquire(name, 10_000)))).filter(
        (lease) => lease !== null,
      );
      expect(next).toHaveLength(1);
      expect(next[0]!.fence).toBe(2);
      await next[0]!.release();
    }
  });

  it('draws strictly increasing fences across acquire/release cycles and expiry, on any replica', async () => {
    const name = jobName();
    const fences: number[] = [];
    for (let cycle = 0; cycle < REPLICAS; cycle += 1) {
      const lease = await acquired(lock(cycle), name, 10_000);
      fences.push(lease.fence);
      await lease.release();
      expect(await lease.isHeld()).toBe(false);
    }
    for (let cycle = 0; cycle < 3; cycle += 1) {
      const lease = await acquired(lock(cycle), name, 200);
      fences.push(lease.fence);
      // Not released: the next owner gets the lock only once it has expired.
      expect(await lock(cycle + 1).acquire(name, 200)).toBeNull();
      await eventually(async () => !(await lease.isHeld()), 'the lease to expire', 5000);
    }
    expect(fences).toEqual(fences.map((_fence, index) => index + 1));
    // The counter itself never expires.
    expect(await server.client.pttl(fenceKey(name))).toBe(-1);
  });

  it("reports an expired lease as lost, and its release leaves the next owner's lock alone", async () => {
    const name = jobName();
    const first = await acquired(lock(0), name, 200);
    await eventually(
      async () => (await server.client.pttl(lockKey(name))) === -2,
      'the lock to expire',
      5000,
    );
    expect(await first.isHeld()).toBe(false);

    const second = await acquired(lock(1), name, 10_000);
    expect(second.fence).toBeGreaterThan(first.fence);
    expect(await first.isHeld()).toBe(false);
    expect(await first.extend(10_000)).toBe(false);
    await first.release();

    expect(await second.isHeld()).toBe(true);
    expect(await server.client.exists(lockKey(name))).toBe(1);
    expect(await server.client.pttl(lockKey(name))).toBeGreaterThan(5000);
    expect(await lock(2).acquire(name, 10_000)).toBeNull();
    await second.release();
    expect(await server.client.exists(lockKey(name))).toBe(0);
  });

  it('keeps an extended lease alive past its first expiry', async () => {
    const name = jobName();
    const lease = await acquired(lock(0), name, 200);
    expect(await lease.extend(10_000)).toBe(true);
    expect(await server.client.pttl(lockKey(name))).toBeGreaterThan(5000);
    // Just past the first expiry: still held, still refused to others.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await lease.isHeld()).toBe(true);
    expect(await lock(1).acquire(name, 10_000)).toBeNull();

    // Extending can also shorten, and an extension after the loss fails.
    expect(await lease.extend(200)).toBe(true);
    await eventually(async () => !(await lease.isHeld()), 'the lease to expire', 5000);
    expect(await lease.extend(10_000)).toBe(false);
    expect(await server.client.exists(lockKey(name))).toBe(0);
  });

  it('keeps a name with braces and its fence in one slot, under the encoded name', async () => {
    const name = `}{job:${randomUUID()}}{x}`;
    const lease = await acquired(lock(0), name, 10_000);
    expect(await server.client.get(lockKey(name))).toMatch(/^[0-9a-f-]{36}:\d+$/);
    expect(await server.client.get(fenceKey(name))).toBe(String(lease.fence));
    expect(await lock(1).acquire(name, 10_000)).toBeNull();
    await lease.release();
    expect(await server.client.exists(lockKey(name))).toBe(0);
  });
});

describe('DistributedLock when standalone Redis fails', () => {
  let redis: TestRedis;
  let replica: CacheReplica;
  let lock: DistributedLock;

  beforeEach(async () => {
    captureLogs();
    redis = await startRedis();
    replica = await startReplica({ mode: 'standalone', url: redis.url });
    lock = new DistributedLock(replica.gateway);
  });
  afterEach(async () => {
    await replica.close();
    await redis.stop();
    vi.restoreAllMocks();
  });

  it('throws RedisUnavailableError while Redis is stopped, and locks again once it is back', async () => {
    const name = jobName();
    const held = await acquired(lock, name, 10_000);
    await redis.kill();
    await expect(lock.acquire(name, 10_000)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(lock.acquire(jobName(), 10_000)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(held.isHeld()).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(held.extend(10_000)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(held.release()).rejects.toBeInstanceOf(RedisUnavailableError);

    await redis.restart();
    const leases: LockLease[] = [];
    await eventually(async () => {
      const lease = await lock.acquire(name, 10_000).catch((error: unknown) => {
        if (error instanceof RedisUnavailableError) return null;
        throw error;
      });
      if (lease !== null) leases.push(lease);
      return lease !== null;
    }, 'a lock after the restart');
    expect(await leases[0]!.isHeld()).toBe(true);
  });

  it('throws RedisUnavailableError within the command timeout while Redis hangs', async () => {
    redis.pause();
    try {
      const started = performance.now();
      const error: unknown = await lock.acquire(jobName(), 10_000).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error).toMatchObject({ kind: 'TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      redis.resume();
    }
  });
});

describe('DistributedLock when the Redis cluster fails', () => {
  let cluster: TestRedisCluster;
  let replica: CacheReplica;

  beforeAll(async () => {
    captureLogs();
    cluster = await startRedisCluster();
    replica = await startReplica({ mode: 'cluster', nodes: cluster.nodes, tls: false });
  });
  afterAll(async () => {
    await replica?.close();
    await cluster?.stop();
    vi.restoreAllMocks();
  });

  it('throws RedisUnavailableError once the nodes are stopped', async () => {
    const lock = new DistributedLock(replica.gateway);
    const lease = await acquired(lock, jobName(), 10_000);
    for (const index of cluster.nodes.keys()) await cluster.kill(index);
    await expect(lock.acquire(jobName(), 10_000)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(lease.isHeld()).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});
