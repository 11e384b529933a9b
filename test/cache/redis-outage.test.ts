import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ProgressStoreUnavailableError } from '../../src/modules/cache/playback-progress.store.js';
import { startRedis, startRedisCluster, type TestRedis } from '../support/redis.js';
import { captureLogs, eventually, startReplica, timed, type CacheReplica } from './cache-stack.js';

/**
 * Redis going away mid-run never fails a cache call nor slows it beyond the command timeout
 * (50 ms), and is used again on its own once it is back.
 */
const CALL_BUDGET_MS = 100;

const entry = (titleId: string) => ({
  titleId,
  positionSeconds: 60,
  durationSeconds: 3600,
  updatedAt: new Date().toISOString(),
});

describe('TwoLevelCache when standalone Redis fails', () => {
  let redis: TestRedis;
  let replicas: CacheReplica[];
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(async () => {
    logs = captureLogs();
    redis = await startRedis();
    replicas = [];
  });
  afterEach(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await redis.stop();
    vi.restoreAllMocks();
  });
  const replica = async () => {
    const started = await startReplica({ mode: 'standalone', url: redis.url });
    replicas.push(started);
    return started;
  };

  /** Makes `count` calls of fresh keys; each must answer from the source within the budget. */
  const callsDuringOutage = async (replica: CacheReplica, count: number) => {
    for (let index = 0; index < count; index += 1) {
      const { result, ms } = await timed(() =>
        replica.cache.getOrLoad(`k:${randomUUID()}`, () => Promise.resolve(index)),
      );
      expect(result).toEqual({ value: index, level: 'SOURCE', cacheUnavailable: true });
      expect(ms).toBeLessThan(CALL_BUDGET_MS);
    }
  };

  it('answers from the source, quickly, while Redis is killed, and uses L2 again after it restarts', async () => {
    const [first, second] = [await replica(), await replica()];
    const warm = `k:${randomUUID()}`;
    await first.cache.getOrLoad(warm, () => Promise.resolve('warm'));
    await eventually(async () => (await redis.client().exists(`flick:v1:${warm}`)) === 1, 'the L2 write');

    await redis.kill();
    await callsDuringOutage(second, 30);
    // L1 still answers what it holds; the last-good read of what it does not hold gives up fast.
    expect(await first.cache.getOrLoad(warm, () => Promise.resolve('unused'))).toMatchObject({ level: 'L1' });
    const { result: lastGood, ms } = await timed(() => second.cache.lastGood(warm));
    expect(lastGood).toBeUndefined();
    expect(ms).toBeLessThan(CALL_BUDGET_MS);
    const progress = await timed(() =>
      second.progress.record('p-1', entry('t1')).catch((error: unknown) => error),
    );
    expect(progress.result).toBeInstanceOf(ProgressStoreUnavailableError);
    expect(progress.ms).toBeLessThan(CALL_BUDGET_MS);
    expect(second.counters.value('cache_errors_total', { op: 'get' })).toBeGreaterThanOrEqual(1);
    expect(second.counters.value('cache_redis_skipped_total', { op: 'get' })).toBeGreaterThanOrEqual(1);

    await redis.restart();
    await eventually(async () => {
      const key = `k:${randomUUID()}`;
      const written = await first.cache.getOrLoad(key, () => Promise.resolve('after'));
      if (written.cacheUnavailable) return false;
      await eventually(async () => (await redis.client().exists(`flick:v1:${key}`)) === 1, 'the L2 write');
      return (await second.cache.getOrLoad(key, () => Promise.resolve('unused'))).level === 'L2';
    }, 'L2 hits after the restart');
    await second.progress.record('p-1', entry('t1'));
    expect(await second.progress.list('p-1')).toHaveLength(1);

    // One line when Redis went away and one when it came back, per replica.
    const outages = logs.warn.mock.calls.filter(([line]) => String(line).startsWith('Redis unavailable'));
    const recoveries = logs.log.mock.calls.filter(([line]) => String(line).startsWith('Redis answers again'));
    expect(outages).toHaveLength(2);
    expect(recoveries).toHaveLength(2);
  });

  it('answers from the source, quickly, while Redis hangs', async () => {
    const cache = await replica();
    redis.pause();
    try {
      await callsDuringOutage(cache, 30);
      expect(cache.counters.value('cache_errors_total', { op: 'get' })).toBeGreaterThanOrEqual(1);
    } finally {
      redis.resume();
    }
    await eventually(
      async () =>
        !(await cache.cache.getOrLoad(`k:${randomUUID()}`, () => Promise.resolve(1))).cacheUnavailable,
      'Redis answering again',
    );
  });

  it('starts and serves while Redis is down, and takes Redis up when it comes', async () => {
    await redis.kill();
    const { result: cache, ms } = await timed(() => replica());
    expect(ms).toBeLessThan(3000);
    expect(logs.warn).toHaveBeenCalledWith(
      expect.stringMatching(/^standalone Redis redis:\/\/127\.0\.0\.1:\d+ not reachable yet/),
    );
    await callsDuringOutage(cache, 5);
    await redis.restart();
    await eventually(
      async () =>
        !(await cache.cache.getOrLoad(`k:${randomUUID()}`, () => Promise.resolve(1))).cacheUnavailable,
      'Redis in use',
    );
  });
});

describe('TwoLevelCache when a cluster node fails', () => {
  afterAll(() => vi.restoreAllMocks());

  it('answers every call from the cache or the source, quickly', async () => {
    captureLogs();
    const cluster = await startRedisCluster();
    const replica = await startReplica({ mode: 'cluster', nodes: cluster.nodes, tls: false });
    try {
      const keys = Array.from({ length: 30 }, () => `k:${randomUUID()}`);
      for (const key of keys) await replica.cache.getOrLoad(key, () => Promise.resolve(key));
      await cluster.kill(1);
      const other = await startReplica({ mode: 'cluster', nodes: cluster.nodes, tls: false });
      try {
        const levels = new Set<string>();
        for (const key of keys) {
          const { result, ms } = await timed(() => other.cache.getOrLoad(key, () => Promise.resolve(key)));
          expect(result.value).toBe(key);
          expect(ms).toBeLessThan(CALL_BUDGET_MS);
          levels.add(result.level);
        }
        expect(levels.has('SOURCE')).toBe(true);
      } finally {
        await other.close();
      }
    } finally {
      await replica.close();
      await cluster.stop();
    }
  });
});
